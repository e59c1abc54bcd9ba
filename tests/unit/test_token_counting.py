"""The tiktoken encodings token_counting.py counts with are the ones litellm ships."""

from __future__ import annotations

import os
from importlib import resources

import pytest

from configapp.providers.offline import stay_offline
from configapp.providers.token_counting import BUNDLED_ENCODINGS


@pytest.mark.parametrize("name", sorted(BUNDLED_ENCODINGS))
def test_each_bundled_encoding_loads_from_litellms_own_files(name):
    """Read through tiktoken's loader, past its registry: a file that is not in litellm's
    folder would be fetched, and the network guard would fail this test."""
    stay_offline()  # before litellm's import, as the gateway does
    from litellm.litellm_core_utils import default_encoding  # sets TIKTOKEN_CACHE_DIR
    from tiktoken_ext.openai_public import ENCODING_CONSTRUCTORS

    shipped = str(resources.files("litellm").joinpath("litellm_core_utils/tokenizers"))
    assert default_encoding.cache_dir == os.environ["TIKTOKEN_CACHE_DIR"] == shipped
    assert ENCODING_CONSTRUCTORS[name]()["mergeable_ranks"]
