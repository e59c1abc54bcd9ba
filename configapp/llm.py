"""Talking to providers, as the domain sees it: chat values, model listings, failures.

Kept apart from domain.py because none of it is stored: these values live for one request.
"""

from __future__ import annotations

import ast
import contextlib
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from configapp.domain import mask_key

CHAT_ROLES = ("system", "user", "assistant")
MAX_PROVIDER_MESSAGE = 500

# What a key test answers, besides "valid".
FAILURE_KINDS = ("invalid_key", "forbidden", "rate_limited", "unreachable", "bad_base_url",
                 "provider_error")


@dataclass(frozen=True)
class ChatMessage:
    role: str
    content: str = field(repr=False)


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


@dataclass(frozen=True)
class ChatReply:
    """A whole answer."""

    content: str
    finish_reason: str | None
    usage: Usage | None


@dataclass(frozen=True)
class StreamChunk:
    """One piece of a streamed answer: text, and on the last pieces the finish and usage."""

    content: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None


@dataclass(frozen=True)
class ReachableModel:
    """A model a provider's models endpoint listed for a key, with what it said of it."""

    model_id: str
    display_name: str | None = None
    context_window: int | None = None
    max_output_tokens: int | None = None


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


def scrub(text: str, *secrets: str | None) -> str:
    """The text with every secret (also URL-encoded) replaced by its masked form."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            for form in {secret, quote(secret, safe=""), json.dumps(secret)[1:-1]}:
                text = text.replace(form, mask_key(secret))
    return text


LITELLM_PREFIX = re.compile(r"^(?:litellm\.\w+:\s*)+(?:\w+Error:\s*)?")
PROVIDER_PREFIX = re.compile(r"^[\w.]*Exception(?:\s+\w+)?\s+-\s+")
LITELLM_SUFFIXES = (" Original exception:", ". Handle with `litellm.", " Received Model Group=",
                    "Traceback (most recent call last)")


def error_detail(text: str | bytes) -> str:
    """The provider's own words from an error text: the `error.message` of a JSON body,
    without litellm's prefixes and advice."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = PROVIDER_PREFIX.sub("", LITELLM_PREFIX.sub("", text.strip()))
    for suffix in LITELLM_SUFFIXES:
        text = text.split(suffix, 1)[0]
    text = text.strip()
    if text[:2] in ("b'", 'b"'):
        with contextlib.suppress(ValueError, SyntaxError, AttributeError):
            text = ast.literal_eval(text).decode("utf-8", "replace")
    try:
        body = json.loads(text)
    except ValueError:
        return text
    return json_error_message(body) or text


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


def safe_detail(text: str | bytes, *secrets: str | None) -> str:
    """error_detail, scrubbed of the secrets, cut to a readable length."""
    detail = scrub(error_detail(text), *secrets)
    if len(detail) > MAX_PROVIDER_MESSAGE:
        detail = detail[:MAX_PROVIDER_MESSAGE].rstrip() + "…"
    return detail
