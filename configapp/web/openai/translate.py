"""OpenAI's chat wire format to and from ChatService's values: no rule of its own beyond
the shape (the rules, bounds and budgets are ChatService's)."""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from configapp.chat.service import ChatPlan
from configapp.providers.llm import ChatMessage, ChatReply, Usage
from configapp.web.openai.errors import OpenAIError

# The parameters the model's bounds check (domain.parameter_bounds).
BOUNDED = ("temperature", "top_p", "max_tokens", "presence_penalty", "frequency_penalty")
# OpenAI's other parameters, sent on when the model takes them (litellm's list); never
# anything else of the body: a name such as `api_base` must not reach litellm.
# Each with the JSON type OpenAI gives it: a value of another is a 400 here, not a 502
# from the provider.
PASSED: dict[str, type | tuple[type, ...]] = {
    "tools": list, "tool_choice": (str, dict), "parallel_tool_calls": bool,
    "response_format": dict, "seed": int, "stop": (str, list), "user": str,
    "logit_bias": dict, "logprobs": bool, "top_logprobs": int, "reasoning_effort": str}
HANDLED = ("model", "messages", "stream", "stream_options", "n", "max_completion_tokens")
ROLES = {"developer": "system"}
PARAMETER_NAME = re.compile(r"[A-Za-z0-9_.-]{1,40}")  # OpenAI's newer name for the system prompt


@dataclass(frozen=True)
class CompletionRequest:
    model: str | None
    messages: list[ChatMessage]
    overrides: dict[str, Any]
    extras: dict[str, Any]
    stream: bool = False
    include_usage: bool = False
    ignored: tuple[str, ...] = field(default=())  # names not OpenAI's chat parameters


def bad(message: str, param: str | None = None) -> OpenAIError:
    return OpenAIError(400, message, param=param)


def text_of(content: Any, index: int) -> str:
    """A message's text: a string, or OpenAI's list of text parts joined."""
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list) and all(
            isinstance(part, dict) and part.get("type") == "text"
            and isinstance(part.get("text"), str) for part in content):
        return "".join(part["text"] for part in content)
    raise bad(f"messages[{index}].content: only text (a string or text parts) is "
              "supported here.", "messages")


def message_of(raw: Any, index: int) -> ChatMessage:
    if not isinstance(raw, dict) or not isinstance(raw.get("role"), str):
        raise bad(f"messages[{index}] must be an object with a `role`.", "messages")
    calls = raw.get("tool_calls") or ()
    if not isinstance(calls, list | tuple) or not all(isinstance(c, dict) for c in calls):
        raise bad(f"messages[{index}].tool_calls must be a list of objects.", "messages")
    call_id = raw.get("tool_call_id")
    if call_id is not None and not isinstance(call_id, str):
        raise bad(f"messages[{index}].tool_call_id must be a string.", "messages")
    return ChatMessage(ROLES.get(raw["role"], raw["role"]), text_of(raw.get("content"), index),
                       tuple(calls), call_id)


def parse_request(body: Any) -> CompletionRequest:
    """The request, or a 400 that names what is wrong (and nothing is called)."""
    if not isinstance(body, dict):
        raise bad("The body must be a JSON object.")
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise bad("`model` must be a string.", "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad("`messages` must be a non-empty list.", "messages")
    if body.get("n") not in (None, 1):
        raise bad("Only one choice per request is supported here: leave `n` out or send 1.",
                  "n")
    stream = body.get("stream") or False
    options = body.get("stream_options") or {}
    if not isinstance(stream, bool) or not isinstance(options, dict):
        raise bad("`stream` must be true or false, `stream_options` an object.", "stream")
    overrides = {name: body[name] for name in BOUNDED if body.get(name) is not None}
    if body.get("max_completion_tokens") is not None:
        overrides.setdefault("max_tokens", body["max_completion_tokens"])
    extras = {name: body[name] for name in PASSED if body.get(name) is not None}
    for name, value in extras.items():
        kind = PASSED[name]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise bad(f"`{name}` has the wrong type.", name)
    # Named in a header: only names that are names (a body's key may hold a line break).
    ignored = tuple(sorted(name if PARAMETER_NAME.fullmatch(name) else "(unnamed)"
                           for name in set(body) - {*BOUNDED, *PASSED, *HANDLED}))
    return CompletionRequest(
        None if model in (None, "", "default") else model,
        [message_of(raw, index) for index, raw in enumerate(messages)], overrides, extras,
        stream, bool(options.get("include_usage")), ignored)


def completion_id() -> str:
    return "chatcmpl-" + secrets.token_hex(12)


def usage_view(usage: Usage | None) -> dict[str, int] | None:
    if usage is None or usage.unknown:
        return None
    prompt, completion = usage.prompt_tokens or 0, usage.completion_tokens or 0
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": usage.total_tokens or prompt + completion}


def completion(plan: ChatPlan, reply: ChatReply) -> dict[str, Any]:
    """A `chat.completion` object."""
    message: dict[str, Any] = {"role": "assistant",
                               "content": reply.content or (None if reply.tool_calls else "")}
    if reply.tool_calls:
        message["tool_calls"] = list(reply.tool_calls)
    return {"id": completion_id(), "object": "chat.completion", "created": int(time.time()),
            "model": plan.model.id,
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": reply.finish_reason}],
            "usage": usage_view(reply.usage)}


class ChunkWriter:
    """`chat.completion.chunk` events of one answer, as SSE `data:` lines."""

    def __init__(self, plan: ChatPlan, include_usage: bool) -> None:
        self.head = {"id": completion_id(), "object": "chat.completion.chunk",
                     "created": int(time.time()), "model": plan.model.id}
        self.include_usage = include_usage

    def chunk(self, delta: dict[str, Any], finish: str | None = None) -> str:
        body: dict[str, Any] = {**self.head, "choices": [
            {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        if self.include_usage:  # as OpenAI: null on every chunk but the last
            body["usage"] = None
        return data(body)

    def usage(self, usage: Usage | None) -> str:
        return data({**self.head, "choices": [], "usage": usage_view(usage)})


def data(body: dict[str, Any] | str) -> str:
    text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    return f"data: {text}\n\n"
