import pytest

from configapp.domain import (
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
    ("sk-abcdefgh1234", "sk-***1234"),
    ("sk-ant-api03-verylongsecretWXYZ", "sk-***WXYZ"),
    ("AIzaSyA-bcdefghijklmnop9876", "***9876"),  # a prefix of 6 or more chars is not shown
    ("plainkeywithoutdash5678", "***5678"),
])
def test_masking_shows_only_the_prefix_and_the_last_four(key, masked):
    assert mask_key(key) == masked


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
