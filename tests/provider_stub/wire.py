"""The three wire formats the stand-in speaks: OpenAI, Anthropic and Gemini (AI Studio)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

OPENAI_MODELS = ("gpt-4o-mini", "gpt-4o", "stub-local-llama")
ANTHROPIC_MODELS = ("claude-sonnet-4-5", "claude-haiku-4-5", "claude-stub-only")
GEMINI_MODELS = ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-stub-only")

ERROR_TYPES = {
    400: ("invalid_request_error", "INVALID_ARGUMENT"),
    401: ("authentication_error", "UNAUTHENTICATED"),
    403: ("permission_error", "PERMISSION_DENIED"),
    404: ("not_found_error", "NOT_FOUND"),
    429: ("rate_limit_error", "RESOURCE_EXHAUSTED"),
    500: ("api_error", "INTERNAL"),
}


def sse(data: dict[str, Any] | str, event: str | None = None) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def reply_text(flavour: str, messages: list[str]) -> str:
    """What the stand-in says: which format answered, and the last thing it was told."""
    last = messages[-1] if messages else ""
    return f"Hello from the {flavour} stand-in. You said: {last[:40]}"


def pieces(text: str, count: int = 3) -> list[str]:
    step = max(1, len(text) // count + 1)
    return [text[i:i + step] for i in range(0, len(text), step)]


# ---- OpenAI --------------------------------------------------------------------------

def openai_error(status: int, message: str) -> dict[str, Any]:
    kind = ERROR_TYPES.get(status, ("api_error", ""))[0]
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def openai_models(dropped: frozenset[str] = frozenset()) -> dict[str, Any]:
    return {"object": "list", "data": [
        {"id": name, "object": "model", "created": 1700000000, "owned_by": "stub"}
        for name in OPENAI_MODELS if name not in dropped]}


def openai_chat(model: str, text: str, prompt_tokens: int) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stub", "object": "chat.completion", "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 7,
                  "total_tokens": prompt_tokens + 7},
    }


def openai_stream(model: str, text: str, prompt_tokens: int, usage: bool, count: int = 3,
                  pace: float = 0.0) -> Iterator[bytes]:
    def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return {"id": "chatcmpl-stub", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    yield sse(chunk({"role": "assistant", "content": ""}, None))
    for piece in pieces(text, count):
        yield sse(chunk({"content": piece}, None))
        time.sleep(pace)
    yield sse(chunk({}, "stop"))
    if usage:
        yield sse({"id": "chatcmpl-stub", "object": "chat.completion.chunk",
                   "created": int(time.time()), "model": model, "choices": [],
                   "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 7,
                             "total_tokens": prompt_tokens + 7}})
    yield sse("[DONE]")


# ---- Anthropic -----------------------------------------------------------------------

def anthropic_error(status: int, message: str) -> dict[str, Any]:
    kind = ERROR_TYPES.get(status, ("api_error", ""))[0]
    return {"type": "error", "error": {"type": kind, "message": message}}


def anthropic_models(after_id: str | None, limit: int,
                     dropped: frozenset[str] = frozenset()) -> dict[str, Any]:
    names = [name for name in ANTHROPIC_MODELS if name not in dropped]
    start = names.index(after_id) + 1 if after_id in names else 0
    page = names[start:start + limit]
    return {"data": [{"type": "model", "id": name, "display_name": name.replace("-", " ").title(),
                      "created_at": "2025-09-29T00:00:00Z"} for name in page],
            "has_more": start + limit < len(names),
            "first_id": page[0] if page else None, "last_id": page[-1] if page else None}


def anthropic_chat(model: str, text: str, prompt_tokens: int) -> dict[str, Any]:
    return {"id": "msg_stub", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": prompt_tokens, "output_tokens": 7}}


def anthropic_stream(model: str, text: str, prompt_tokens: int) -> Iterator[bytes]:
    yield sse({"type": "message_start", "message": {
        "id": "msg_stub", "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": prompt_tokens, "output_tokens": 1}}}, "message_start")
    yield sse({"type": "content_block_start", "index": 0,
               "content_block": {"type": "text", "text": ""}}, "content_block_start")
    for piece in pieces(text):
        yield sse({"type": "content_block_delta", "index": 0,
                   "delta": {"type": "text_delta", "text": piece}}, "content_block_delta")
    yield sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
    yield sse({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
               "usage": {"output_tokens": 7}}, "message_delta")
    yield sse({"type": "message_stop"}, "message_stop")


# ---- Gemini --------------------------------------------------------------------------

def gemini_error(status: int, message: str, reason: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": status, "message": message,
                             "status": ERROR_TYPES.get(status, ("", "UNKNOWN"))[1]}
    if reason:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                             "reason": reason, "domain": "googleapis.com"}]
    return {"error": error}


def gemini_models(page_token: str | None, page_size: int,
                  dropped: frozenset[str] = frozenset()) -> dict[str, Any]:
    entries = [{"name": f"models/{name}", "displayName": name.replace("-", " ").title(),
                "inputTokenLimit": 1048576, "outputTokenLimit": 65536,
                "supportedGenerationMethods": ["generateContent", "countTokens"]}
               for name in GEMINI_MODELS if name not in dropped]
    entries.append({"name": "models/text-embedding-004", "displayName": "Embedding",
                    "supportedGenerationMethods": ["embedContent"]})
    start = int(page_token or 0)
    body: dict[str, Any] = {"models": entries[start:start + page_size]}
    if start + page_size < len(entries):
        body["nextPageToken"] = str(start + page_size)
    return body


def gemini_usage(prompt_tokens: int) -> dict[str, Any]:
    return {"promptTokenCount": prompt_tokens, "candidatesTokenCount": 7,
            "totalTokenCount": prompt_tokens + 7}


def gemini_chat(model: str, text: str, prompt_tokens: int) -> dict[str, Any]:
    return {"candidates": [{"content": {"parts": [{"text": text}], "role": "model"},
                            "finishReason": "STOP", "index": 0}],
            "usageMetadata": gemini_usage(prompt_tokens), "modelVersion": model}


def gemini_stream(model: str, text: str, prompt_tokens: int) -> Iterator[bytes]:
    parts = pieces(text)
    for number, piece in enumerate(parts, 1):
        candidate: dict[str, Any] = {"content": {"parts": [{"text": piece}], "role": "model"},
                                     "index": 0}
        if number == len(parts):
            candidate["finishReason"] = "STOP"
        yield sse({"candidates": [candidate], "usageMetadata": gemini_usage(prompt_tokens),
                   "modelVersion": model})
