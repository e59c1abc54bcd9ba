"""The fallback rule's pure parts: which failures let the next model be tried, and the
loops an alias's fallbacks would make."""

import pytest

from configapp.catalog.curation import fallback_loop
from configapp.chat.fallbacks import FellBack, fallback_reason, fallback_view
from configapp.domain import Alias
from configapp.providers.llm import ProviderError, ProviderTimeoutError, describe_failure


def failure(kind: str, status: int | None, detail: str = "no") -> ProviderError:
    return ProviderError(kind, describe_failure("openai", kind, status, detail), status)


@pytest.mark.parametrize(("error", "reason"), [
    (failure("provider_error", 503), "503"),
    (failure("provider_error", 500), "500"),
    (failure("rate_limited", 429), "429"),
    (failure("unreachable", None), "connection refused"),
    (ProviderTimeoutError("OpenAI did not answer within 1 s."), "timeout"),
    (failure("bad_base_url", 404, "The model `gpt-9` does not exist"), "model not found"),
])
def test_an_unavailable_provider_lets_the_next_model_be_tried(error, reason):
    assert fallback_reason(error) == reason


@pytest.mark.parametrize("error", [
    failure("provider_error", 400),
    failure("invalid_key", 401),
    failure("forbidden", 403),
    failure("provider_error", 422),
    failure("bad_base_url", 404, "its answer is not a provider's JSON error (12 bytes)"),
    failure("provider_error", None),  # a garbled answer: not known to be unavailable
    ProviderError("provider_stream_cut", "the stream ended early"),
    ProviderError("answer_too_large", "too large"),
])
def test_a_wrong_request_key_or_answer_is_the_answer(error):
    assert fallback_reason(error) is None


def test_fallbacks_that_lead_back_to_the_alias_are_a_loop():
    aliases = {"fast": Alias("fast", "openai/gpt-4o-mini", {}, ("slow",)),
               "slow": Alias("slow", "anthropic/claude-haiku-4-5", {}, ("cheap",)),
               "cheap": Alias("cheap", "fast")}
    assert fallback_loop("fast", aliases) == ["fast", "slow", "cheap", "fast"]
    assert fallback_loop("fast", {**aliases, "cheap": Alias("cheap", "gemini/x")}) is None
    assert fallback_loop("solo", {"solo": Alias("solo", "m", {}, ("solo",))}) == ["solo",
                                                                                 "solo"]


def test_the_answer_names_each_model_that_did_not_answer():
    assert fallback_view((FellBack("openai/gpt-4o", "503"),
                          FellBack("anthropic/claude-haiku-4-5", "budget spent"))) == [
        {"model": "openai/gpt-4o", "reason": "503"},
        {"model": "anthropic/claude-haiku-4-5", "reason": "budget spent"}]
