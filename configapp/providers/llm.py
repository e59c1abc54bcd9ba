"""Talking to providers, as the domain sees it: chat values, model listings, failures.

Kept apart from domain.py because none of it is stored: these values live for one request.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from configapp.providers.scrubber import scrub

CHAT_ROLES = ("system", "user", "assistant")
MAX_PROVIDER_MESSAGE = 500
MAX_ERROR_TEXT = 64 * 1024  # what error_detail reads of an error text
# What shown_detail scrubs of a message, of which it shows MAX_PROVIDER_MESSAGE: room for
# the longest forms of a key; a piece of a key cut here is under the scrubber's 8 characters.
MAX_SCRUBBED = 8 * MAX_PROVIDER_MESSAGE

# What a key test answers, besides "valid".
FAILURE_KINDS = ("invalid_key", "forbidden", "rate_limited", "unreachable", "bad_base_url",
                 "provider_error")


@dataclass(frozen=True)
class ChatMessage:
    """`tool_calls` (an assistant's, in OpenAI's shape) and `tool_call_id` (a `tool`
    message's answer to one) carry a tool round trip through, as /v1 receives it."""

    role: str
    content: str = field(repr=False)
    tool_calls: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    tool_call_id: str | None = None

    def wire(self) -> dict[str, Any]:
        """The message as litellm takes it (OpenAI's shape)."""
        message: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = list(self.tool_calls)
        if self.tool_call_id is not None:
            message["tool_call_id"] = self.tool_call_id
        return message


# The most text one answer may hold (a plain answer, or the sum of a stream's pieces):
# past it the answer ends with an error, so one answer cannot fill a worker's memory.
MAX_ANSWER_CHARS = 4 * 1024 * 1024
# The most tokens one call may report per count: five times the largest context window
# offered today (about 2M). A count past it, negative or not a whole number is not believed.
MAX_REPORTED_TOKENS = 10_000_000


@dataclass(frozen=True)
class Usage:
    """Token counts as the provider reported them; a count it did not send is None. All
    three None: it sent counts that could not be believed (UNKNOWN_USAGE)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None

    @property
    def unknown(self) -> bool:
        return self.prompt_tokens is None and self.completion_tokens is None and (
            self.total_tokens is None)


UNKNOWN_USAGE = Usage()


def believable_count(value: object) -> bool:
    """A token count a provider may report: a whole number from 0 to MAX_REPORTED_TOKENS
    (None: not reported)."""
    if value is None:
        return True
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return isinstance(value, int) and not isinstance(value, bool) and (
        0 <= value <= MAX_REPORTED_TOKENS)


def reported_usage(prompt: object, completion: object, total: object) -> Usage:
    """The provider's counts when all of them are believable; else UNKNOWN_USAGE, so that
    a negative count cannot lower the month's spending nor a huge one spend a budget."""
    counts = (prompt, completion, total)
    if not all(map(believable_count, counts)):
        return UNKNOWN_USAGE
    whole = [None if count is None else int(count) for count in counts]  # type: ignore[call-overload]
    return Usage(*whole)


@dataclass(frozen=True)
class ChatReply:
    """A whole answer."""

    content: str
    finish_reason: str | None
    usage: Usage | None
    tool_calls: tuple[dict[str, Any], ...] = ()  # in OpenAI's shape


@dataclass(frozen=True)
class StreamChunk:
    """One piece of a streamed answer: text, and on the last pieces the finish and usage."""

    content: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None
    tool_calls: tuple[dict[str, Any], ...] = ()  # OpenAI's deltas (index, id, function)


class ProviderStream(Iterator[StreamChunk]):
    """A provider's streamed answer: its pieces, read by the thread serving the request,
    and `abort()`, which any thread may call to end the provider's request at once (the
    client went away); the reading thread then stops quietly."""

    def __init__(self, pieces: Iterator[StreamChunk],
                 abort: Callable[[], None] = lambda: None) -> None:
        self._pieces = pieces
        self.abort = abort

    def __next__(self) -> StreamChunk:
        return next(self._pieces)

    def close(self) -> None:
        """By the reading thread, when it is done or its client is gone: the provider's
        request ends, whatever the stream's state."""
        self.abort()
        close = getattr(self._pieces, "close", None)
        if callable(close):
            close()


@dataclass(frozen=True)
class ReachableModel:
    """A model a provider's models endpoint listed for a key, with what it said of it."""

    model_id: str
    display_name: str | None = None
    context_window: int | None = None
    max_output_tokens: int | None = None


class ReachableModels(list[ReachableModel]):
    """A models endpoint's answer: its models, and a warning when a bound cut it short."""

    def __init__(self, models: Iterable[ReachableModel] = (), warning: str | None = None
                 ) -> None:
        super().__init__(models)
        self.warning = warning


@dataclass(frozen=True)
class KeyCheck:
    """The answer to "does this key work?": a refused key is a result, not an error."""

    ok: bool
    result: str
    provider: str
    status_code: int | None
    message: str
    latency_ms: float
    model_count: int | None = None


class ProviderError(Exception):
    """A provider call failed; the message is scrubbed of the key and safe to show."""

    http_status = 502

    def __init__(self, kind: str, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status_code = status_code


class ProviderTimeoutError(ProviderError):
    """The provider did not answer in time."""

    http_status = 504

    def __init__(self, message: str) -> None:
        super().__init__("unreachable", message)


def kind_for_status(status: int, body: Any = None) -> str:
    """The failure class of a provider's HTTP status (Gemini says 400 for a bad key)."""
    if status == 401 or (status == 400 and "API_KEY_INVALID" in json.dumps(body or "")):
        return "invalid_key"
    if status == 403:
        return "forbidden"
    if status == 429:
        return "rate_limited"
    if 300 <= status < 400 or status in (404, 405):
        return "bad_base_url"
    return "provider_error"


KIND_PHRASES = {
    "invalid_key": "refused the API key",
    "forbidden": "does not allow this key to do that",
    "rate_limited": "is rate-limiting this key",
    "bad_base_url": "answered in a way that suggests a wrong base URL",
    "provider_error": "failed",
    "unreachable": "could not be reached",
}


# Provider names as people know them (the Playground's providers.js has the same list).
PROVIDER_NAMES = {
    "openai": "OpenAI", "anthropic": "Anthropic", "gemini": "Google (Gemini)",
    "mistral": "Mistral", "groq": "Groq", "deepseek": "DeepSeek", "cohere_chat": "Cohere",
    "xai": "xAI", "openrouter": "OpenRouter", "together_ai": "Together AI",
    "perplexity": "Perplexity", "fireworks_ai": "Fireworks AI", "ollama": "Ollama",
    "ollama_chat": "Ollama", "hosted_vllm": "vLLM", "lm_studio": "LM Studio",
    "azure": "Azure OpenAI", "azure_ai": "Azure AI", "bedrock": "AWS Bedrock",
    "vertex_ai": "Google Vertex AI",
}


def provider_name(provider: str) -> str:
    """"openai" -> "OpenAI"; a provider not listed keeps LiteLLM's name."""
    return PROVIDER_NAMES.get(provider, provider)


def describe_failure(provider: str, kind: str, status: int | None, detail: str) -> str:
    """A sentence for a person: who failed, how, and what the provider said."""
    status_text = f" (HTTP {status})" if status else ""
    detail = f": {detail}" if detail else "."
    return f"{provider_name(provider)} {KIND_PHRASES.get(kind, 'failed')}{status_text}{detail}"


def host_of(url: str | None) -> str:
    """scheme://host:port of a base URL, for messages (never its path or query)."""
    if not url:
        return "its public address"
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


LITELLM_PREFIX = re.compile(r"^(?:litellm\.\w+:\s*)+(?:\w+Error:\s*)?")
PROVIDER_PREFIX = re.compile(r"^[\w.]*Exception(?:\s+\w+)?\s+-\s+")
LITELLM_SUFFIXES = (" Original exception:", ". Handle with `litellm.", " Received Model Group=",
                    "Traceback (most recent call last)")


def bytes_literal(text: str) -> str:
    """The text of a Python bytes repr (`b'...'`, as litellm quotes some bodies), decoded
    without evaluating anything; the text itself when it is not one."""
    if len(text) < 3 or text[:2] not in ("b'", 'b"') or text[-1] != text[1]:
        return text
    try:
        raw = codecs.escape_decode(text[2:-1].encode("utf-8", "backslashreplace"))[0]
    except (ValueError, UnicodeError):
        return text
    return bytes(raw).decode("utf-8", "replace")


def _provider_words(text: str | bytes) -> tuple[str, str | None]:
    """(the text without litellm's wrapping, the `error.message` of its JSON body or None)."""
    if isinstance(text, bytes):
        text = text[:MAX_ERROR_TEXT].decode("utf-8", "replace")
    text = PROVIDER_PREFIX.sub("", LITELLM_PREFIX.sub("", text[:MAX_ERROR_TEXT].strip()))
    for suffix in LITELLM_SUFFIXES:
        text = text.split(suffix, 1)[0]
    text = bytes_literal(text.strip())
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        return text, None
    return text, json_error_message(body)


def error_detail(text: str | bytes) -> str:
    """The provider's own words from an error text: the `error.message` of a JSON body,
    without litellm's prefixes and advice. Never raises, whatever the text."""
    try:
        text, words = _provider_words(text)
    except Exception:  # a detail is a courtesy: it must never turn a failure into a 500
        return ""
    return words or text


def shown_detail(text: str | bytes, *secrets: str | None) -> str:
    """What may be shown of an answer from a base URL: a provider's JSON error message,
    scrubbed and cut; of anything else (a page of a service that is no provider), only
    its length."""
    try:
        _, words = _provider_words(text)
    except Exception:
        words = None
    if words is None:
        return (f"its answer is not a provider's JSON error ({len(text)} "
                f"{'bytes' if isinstance(text, bytes) else 'characters'}, not shown)")
    return _cut(scrub(words[:MAX_SCRUBBED], *secrets))


def json_error_message(body: Any) -> str | None:
    """`error.message` (OpenAI, Anthropic, Gemini) or `message`/`detail` of an error body."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error["message"]
    if isinstance(error, str):
        return error
    for name in ("message", "detail"):
        if isinstance(body.get(name), str):
            return body[name]
    return None


def _cut(detail: str) -> str:
    if len(detail) > MAX_PROVIDER_MESSAGE:
        detail = detail[:MAX_PROVIDER_MESSAGE].rstrip() + "…"
    return detail

