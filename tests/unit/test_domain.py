from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from configapp.domain import (
    PUBLIC_KEY_PREFIXES,
    ApiKeyConfig,
    ModelInfo,
    ParameterOutOfBoundsError,
    SealedKey,
    check_parameters,
    mask_key,
    normalise_provider,
    parameter_bounds,
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


# Keys whose beginning is no provider's public prefix: random heads of 6 to 12 characters,
# with and without a dash after them. Whatever the masking shows of such a key comes from
# its secret part, so at most four of its characters may show.
UNLISTED_HEADS = ["Xk7Qp9", "abcdef", "BIzaSyA", "q1w2e3r4t5y6", "ZZtop9"]


@pytest.mark.parametrize("head", UNLISTED_HEADS)
@pytest.mark.parametrize("dash", ["-", "_", ""])
def test_masking_shows_at_most_four_characters_of_a_keys_secret_part(head, dash):
    key = f"{head}{dash}9f8e7d6c5b4a3210WXYZ"
    masked = mask_key(key)
    shown = [char for char in masked if char.isalnum()]
    assert len(shown) <= 4, masked
    assert head not in masked and head[:5] not in masked
    assert masked.endswith(key[-len(shown):]) if shown else True


@pytest.mark.parametrize("name", ["temperature", "top_p", "max_tokens", "presence_penalty",
                                  "frequency_penalty"])
def test_every_bound_includes_both_of_its_ends(name):
    bound = parameter_bounds(GPT)[name]
    for end in (bound.low, bound.high):
        value = int(end) if bound.integer else end
        assert check_parameters(GPT, {name: value}) == {name: value}
    step = 1 if bound.integer else 0.001
    for outside in (bound.low - step, bound.high + step):
        with pytest.raises(ParameterOutOfBoundsError):
            check_parameters(GPT, {name: outside})


def test_temperature_zero_is_allowed_for_every_provider():
    assert check_parameters(CLAUDE, {"temperature": 0}) == {"temperature": 0.0}
    assert check_parameters(GPT, {"temperature": 0.0, "top_p": 0}) == {
        "temperature": 0.0, "top_p": 0.0}


@pytest.mark.parametrize("changed", [
    {"row_id": 8}, {"provider": "anthropic"}, {"api_base": "http://127.0.0.1:1/v1"},
])
def test_a_sealed_key_belongs_only_to_its_own_row_provider_and_base_url(changed):
    sealed = SealedKey(7, "openai", "https://gw.example/v1", "sk-secret-1234")
    now = datetime.now(UTC)
    record = ApiKeyConfig(7, "openai", "", "sk-***1234", "https://gw.example/v1", True, now, now)
    assert sealed.matches(record)
    assert not replace(sealed, **changed).matches(record)
    fields = {"row_id": "id"}
    other = replace(record, **{fields.get(name, name): value for name, value in changed.items()})
    assert not sealed.matches(other)


# The providers' own limits, the rule the bounds follow (OpenAI's and Anthropic's API
# references); written here, not read back from parameter_bounds.
PROVIDER_LIMITS = {"temperature": (0, 2), "top_p": (0, 1), "presence_penalty": (-2, 2),
                   "frequency_penalty": (-2, 2)}


@pytest.mark.parametrize(("name", "limits"), PROVIDER_LIMITS.items())
def test_the_bounds_are_the_providers_limits(name, limits):
    low, high = limits
    assert check_parameters(GPT, {name: low}) == {name: low}
    assert check_parameters(GPT, {name: high}) == {name: high}
    for outside in (low - 0.5, high + 0.5):
        with pytest.raises(ParameterOutOfBoundsError):
            check_parameters(GPT, {name: outside})


def test_whole_number_parameters_stay_whole_numbers():
    """max_tokens goes to the provider as 50, not 50.0 (some refuse a float)."""
    checked = check_parameters(GPT, {"max_tokens": 50.0, "temperature": 1})
    assert type(checked["max_tokens"]) is int and type(checked["temperature"]) is float


@pytest.mark.parametrize("params", [
    {"temperature": 5}, {"temperature": "hot"}, {"max_tokens": 10.5}, {"seed_of_doom": 1},
])
def test_every_refusal_says_why_in_words(params):
    with pytest.raises(ParameterOutOfBoundsError) as caught:
        check_parameters(GPT, params)
    assert len(str(caught.value)) > 20 and str(caught.value) != "None"
    for messages in caught.value.errors.values():
        assert messages and all(isinstance(m, str) and len(m) > 10 for m in messages)
