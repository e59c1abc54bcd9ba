"""Token counts for a reply whose provider sent none, from tokenizers installed with the
packages: never a download.

litellm's token_counter picks a tokenizer by the model's name. For some names (any with
"llama-3" in it, codellama-34b included; "llama-2"; "replicate"; Cohere's command-r; a bare
claude name, which configapp never uses: its ids are provider/name) it picks a Hugging Face
tokenizer and fetches it from the hub at run time, retrying for about 24 s when the machine is
offline, and again at the next call. With `litellm.disable_hf_tokenizer_download` set (the
gateway sets it, for litellm's own counting inside streams too) it counts those with tiktoken's
cl100k instead, which is not their tokenizer. So they are estimated here, about four characters
a token. The rest are counted as litellm counts them, by a tiktoken encoding litellm ships
(litellm_core_utils/tokenizers, which it makes TIKTOKEN_CACHE_DIR).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import ModuleType

# The .tiktoken files litellm ships (tests/unit/test_token_counting.py loads each under the
# network guard): tiktoken would fetch any other encoding from openaipublic.blob.core.windows.net.
BUNDLED_ENCODINGS = frozenset({"cl100k_base", "o200k_base", "p50k_base"})


def estimate_tokens(text: str) -> int:
    """About four characters a token: OpenAI's rule of thumb for English text."""
    return -(-len(text) // 4)


def bundled_encoding(model_id: str) -> str | None:
    """The installed tiktoken encoding litellm counts `model_id` with, or None when
    litellm's own choice for it is a tokenizer it would have to download."""
    from litellm.litellm_core_utils.token_counter import openai_tokenizer_encoding_name
    from litellm.utils import huggingface_tokenizer_kind

    if huggingface_tokenizer_kind(model_id) is not None:
        return None
    encoding = openai_tokenizer_encoding_name(model_id)
    return encoding if encoding in BUNDLED_ENCODINGS else None


def count_tokens(litellm: ModuleType, model_id: str, messages: list[dict[str, str]],
                 text: str) -> tuple[int, int]:
    """(prompt tokens, reply tokens): by the installed encoding litellm picks, else
    estimated."""
    if bundled_encoding(model_id) is None:
        return (estimate_tokens(" ".join(m["content"] for m in messages)),
                estimate_tokens(text))
    return (litellm.token_counter(model=model_id, messages=messages),
            litellm.token_counter(model=model_id, text=text) if text else 0)
