"""The three wire formats the stand-in speaks: OpenAI, Anthropic and Gemini (AI Studio)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

OPENAI_MODELS = ("gpt-4o-mini", "gpt-4o", "stub-local-llama")
ANTHROPIC_MODELS = ("claude-sonnet-4-5", "claude-haiku-4-5", "claude-stub-only")
GEMINI_MODELS = ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-stub-only")

COMPLETION_TOKENS = 7  # what every answer (and the last piece of a stream) says it cost

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


def openai_models(dropped: frozenset[str] = frozenset(), extra: tuple[str, ...] = ()
                  ) -> dict[str, Any]:
    return {"object": "list", "data": [
        {"id": name, "object": "model", "created": 1700000000, "owned_by": "stub"}
        for name in (*OPENAI_MODELS, *extra) if name not in dropped]}


def tool_call(tools: list[Any], said: str) -> dict[str, Any] | None:
    """The call of the first function offered, with what was said as its argument."""
    function = (tools[0] or {}).get("function") if tools and isinstance(tools[0], dict) \
        else None
    if not isinstance(function, dict):
        return None
    return {"id": "call_stub_1", "type": "function",
            "function": {"name": str(function.get("name")),
                         "arguments": json.dumps({"said": said[:40]})}}


def openai_chat(model: str, text: str, prompt_tokens: int,
                completion_tokens: int = COMPLETION_TOKENS,
                tool: dict[str, Any] | None = None) -> dict[str, Any]:
    """`tool`: the answer is that call (content null, finish_reason tool_calls)."""
    message = {"role": "assistant", "content": None, "tool_calls": [tool]} if tool else {
        "role": "assistant", "content": text}
    return {
        "id": "chatcmpl-stub", "object": "chat.completion", "created": int(time.time()),
        "model": model, "service_tier": "default",  # as OpenAI and Groq send it
        "choices": [{"index": 0, "message": message,
                     "finish_reason": "tool_calls" if tool else "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def openai_stream(model: str, text: str, prompt_tokens: int, usage: bool,
                  parts: list[str] | None = None, count: int = 3, pace: float = 0.0,
                  completion_tokens: int = COMPLETION_TOKENS,
                  finished: bool = True, tool: dict[str, Any] | None = None) -> Iterator[bytes]:
    """The chunks; `finished=False` stops after the text: no finish_reason, no [DONE].
    `tool`: the call instead of text, its arguments in two pieces, as OpenAI streams it."""
    def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return {"id": "chatcmpl-stub", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    yield sse(chunk({"role": "assistant", "content": ""}, None))
    if tool:
        arguments = tool["function"]["arguments"]
        half = len(arguments) // 2
        yield sse(chunk({"tool_calls": [{"index": 0, "id": tool["id"], "type": "function",
                                         "function": {"name": tool["function"]["name"],
                                                      "arguments": arguments[:half]}}]}, None))
        yield sse(chunk({"tool_calls": [{"index": 0, "function": {
            "arguments": arguments[half:]}}]}, None))
    for piece in () if tool else parts or pieces(text, count):
        yield sse(chunk({"content": piece}, None))
        time.sleep(pace)
    if not finished:
        return
    yield sse(chunk({}, "tool_calls" if tool else "stop"))
    if usage:
        yield sse({"id": "chatcmpl-stub", "object": "chat.completion.chunk",
                   "created": int(time.time()), "model": model, "choices": [],
                   "usage": {"prompt_tokens": prompt_tokens,
                             "completion_tokens": completion_tokens,
                             "total_tokens": prompt_tokens + completion_tokens}})
    yield sse("[DONE]")


def azure_models(extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """Azure OpenAI's `GET /openai/models`: the resource's models, with what each can do."""
    return {"object": "list", "data": [
        {"id": name, "object": "model", "status": "succeeded",
         "capabilities": {"chat_completion": True, "completion": False, "embeddings": False}}
        for name in (*OPENAI_MODELS, *extra)] + [
        {"id": "text-embedding-3-small", "object": "model", "status": "succeeded",
         "capabilities": {"chat_completion": False, "embeddings": True}}]}


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


def anthropic_chat(model: str, text: str, prompt_tokens: int,
                   completion_tokens: int = COMPLETION_TOKENS) -> dict[str, Any]:
    return {"id": "msg_stub", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": prompt_tokens, "output_tokens": completion_tokens}}


def anthropic_stream(model: str, text: str, prompt_tokens: int,
                     parts: list[str] | None = None, completion_tokens: int = COMPLETION_TOKENS,
                     finished: bool = True) -> Iterator[bytes]:
    """The events; `finished=False` stops after the text: no message_delta, no
    message_stop."""
    yield sse({"type": "message_start", "message": {
        "id": "msg_stub", "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": prompt_tokens, "output_tokens": 1}}}, "message_start")
    yield sse({"type": "content_block_start", "index": 0,
               "content_block": {"type": "text", "text": ""}}, "content_block_start")
    for piece in parts or pieces(text):
        yield sse({"type": "content_block_delta", "index": 0,
                   "delta": {"type": "text_delta", "text": piece}}, "content_block_delta")
    if not finished:
        return
    yield sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
    yield sse({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
               "usage": {"output_tokens": completion_tokens}}, "message_delta")
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


def gemini_usage(prompt_tokens: int, completion_tokens: int = COMPLETION_TOKENS
                 ) -> dict[str, Any]:
    return {"promptTokenCount": prompt_tokens, "candidatesTokenCount": completion_tokens,
            "totalTokenCount": prompt_tokens + completion_tokens}


def gemini_chat(model: str, text: str, prompt_tokens: int,
                completion_tokens: int = COMPLETION_TOKENS) -> dict[str, Any]:
    return {"candidates": [{"content": {"parts": [{"text": text}], "role": "model"},
                            "finishReason": "STOP", "index": 0}],
            "usageMetadata": gemini_usage(prompt_tokens, completion_tokens),
            "modelVersion": model}


def gemini_stream(model: str, text: str, prompt_tokens: int,
                  parts: list[str] | None = None, completion_tokens: int = COMPLETION_TOKENS,
                  finished: bool = True) -> Iterator[bytes]:
    """The chunks; `finished=False`: the last one carries no finishReason."""
    parts = parts or pieces(text)
    for number, piece in enumerate(parts, 1):
        candidate: dict[str, Any] = {"content": {"parts": [{"text": piece}], "role": "model"},
                                     "index": 0}
        if number == len(parts) and finished:
            candidate["finishReason"] = "STOP"
        yield sse({"candidates": [candidate],
                   "usageMetadata": gemini_usage(prompt_tokens, completion_tokens),
                   "modelVersion": model})


# ---- OpenAI Responses API (models litellm bridges there: gpt-5-pro, codex) -----------

def responses_said(body: dict[str, Any]) -> list[str]:
    """The texts of a Responses API request's input."""
    given = body.get("input")
    if isinstance(given, str):
        return [given]
    texts: list[str] = []
    for item in given or []:
        content = item.get("content") if isinstance(item, dict) else None
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.extend(part.get("text", "") for part in content if isinstance(part, dict))
    return texts


def responses_answer(model: str, text: str, prompt_tokens: int, status: str = "completed"
                     ) -> dict[str, Any]:
    done = status == "completed"
    return {
        "id": "resp_stub", "object": "response", "created_at": int(time.time()),
        "status": status, "model": model, "error": None, "incomplete_details": None,
        "instructions": None, "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
        "text": {"format": {"type": "text"}},
        "output": [{"type": "message", "id": "msg_stub", "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": text, "annotations": []}]}]
        if done else [],
        "usage": {"input_tokens": prompt_tokens, "output_tokens": 7,
                  "total_tokens": prompt_tokens + 7} if done else None,
    }


def responses_stream(model: str, text: str, prompt_tokens: int,
                     finished: bool = True) -> Iterator[bytes]:
    def event(kind: str, **data: Any) -> bytes:
        return sse({"type": kind, **data}, kind)

    yield event("response.created", response=responses_answer(model, "", 0, "in_progress"))
    item = {"type": "message", "id": "msg_stub", "status": "in_progress", "role": "assistant",
            "content": []}
    yield event("response.output_item.added", output_index=0, item=item)
    part = {"type": "output_text", "text": "", "annotations": []}
    yield event("response.content_part.added", item_id="msg_stub", output_index=0,
                content_index=0, part=part)
    for piece in pieces(text):
        yield event("response.output_text.delta", item_id="msg_stub", output_index=0,
                    content_index=0, delta=piece)
    yield event("response.output_text.done", item_id="msg_stub", output_index=0,
                content_index=0, text=text)
    yield event("response.content_part.done", item_id="msg_stub", output_index=0,
                content_index=0, part={**part, "text": text})
    yield event("response.output_item.done", output_index=0, item={
        **item, "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}]})
    if finished:
        yield event("response.completed", response=responses_answer(model, text, prompt_tokens))
