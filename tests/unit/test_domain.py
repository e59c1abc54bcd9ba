import pytest
from hypothesis import given
from hypothesis import strategies as st

from configapp.domain import (
    PUBLIC_KEY_PREFIXES,
    ModelInfo,
    ParameterOutOfBoundsError,
    SealedKey,
    check_parameters,
    mask_key,
    normalise_provider,
)

GPT = ModelInfo("openai/gpt-4o-mini", "openai", "gpt-4o-mini", 128000, 16384)
CLAUDE = ModelInfo("anthropic/claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5", 200000, 64000)


@pytest.mark.parametrize(("key", "masked"), [
    ("sk-abcdefghijkl1234", "sk-***1234"),
    ("sk-ant-api03-verylongsecretWXYZ", "sk-ant-***WXYZ"),
    ("AIzaSyA-bcdefghijklmnop9876", "AIza***9876"),
    ("plainkeywithoutdash5678", "***5678"),
    ("abcd-efg", "***fg"),  # was shown whole
    ("token-abc123", "***123"),  # was 10 of its 12 characters
    ("gsk_abcdefgh", "gsk_***gh"),
    ("sk-abc", "sk-***"),
])
def test_masking_shows_a_listed_prefix_and_at_most_a_quarter_of_the_rest(key, masked):
    assert mask_key(key) == masked


@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1,
               max_size=200))
def test_a_mask_never_shows_more_than_four_characters_or_a_quarter(key):
    masked = mask_key(key)
    prefix, _, tail = masked.partition("***")
    assert prefix in PUBLIC_KEY_PREFIXES or prefix == ""
    assert key.startswith(prefix) and key.endswith(tail)
    secret = key[len(prefix):]
    assert len(tail) <= 4 and len(tail) <= len(secret) / 4


def test_google_is_another_name_for_gemini():
    assert normalise_provider(" Google ") == "gemini"
    assert normalise_provider("OpenAI") == "openai"


def test_max_tokens_may_not_exceed_the_models_output_limit():
    with pytest.raises(ParameterOutOfBoundsError) as caught:
        check_parameters(GPT, {"max_tokens": 16385})
    assert "between 1 and 16384" in caught.value.errors["max_tokens"][0]
    assert check_parameters(GPT, {"max_tokens": 16384}) == {"max_tokens": 16384}


def test_anthropic_temperature_stops_at_one():
    with pytest.raises(ParameterOutOfBoundsError):
        check_parameters(CLAUDE, {"temperature": 1.5})
    assert check_parameters(GPT, {"temperature": 1.5}) == {"temperature": 1.5}


@pytest.mark.parametrize("params", [
    {"temperature": True}, {"temperature": "hot"}, {"max_tokens": 10.5}, {"seed_of_doom": 1},
    {"top_p": -0.1},
])
def test_bad_parameters_are_refused_with_a_reason(params):
    with pytest.raises(ParameterOutOfBoundsError) as caught:
        check_parameters(GPT, params)
    assert set(caught.value.errors) == set(params)


def test_a_sealed_key_round_trips_and_knows_its_row():
    sealed = SealedKey(7, "openai", None, "sk-secret-1234")
    again = SealedKey.from_plaintext(sealed.to_plaintext())
    assert again == sealed
    assert "sk-secret" not in repr(sealed)
