"""GET /v1/models and POST /v1/chat/completions: thin translators over ChatService, so
that curation, aliases, purposes, budgets, the ledger and the bounds apply unchanged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, current_app, jsonify, request

from configapp.chat.service import ChatPlan
from configapp.components import components
from configapp.domain import ConfigurationError
from configapp.providers.llm import ProviderError, ProviderStream, Usage
from configapp.web.api.blueprint import SURROGATE_ESCAPE, is_text
from configapp.web.api.chat import event_stream, next_piece
from configapp.web.openai.caller import caller
from configapp.web.openai.errors import OpenAIError, provider_failure
from configapp.web.openai.translate import (
    ChunkWriter,
    CompletionRequest,
    completion,
    data,
    parse_request,
)
from configapp.web.security import NOT_JSON, read_request_body

DROPPED_HEADER = "X-Configapp-Dropped-Params"
FALLBACK_HEADER = "X-Configapp-Fallback-From"
NOT_ALLOWED = "The model `{}` does not exist or you do not have access to it."


def list_models() -> Response:
    """The models the caller may call: the shown models of providers with a key, then
    the aliases that come to one of them."""
    who = caller()
    parts = components()
    configured = parts.config.configured_providers()
    _, catalogue = parts.config.catalog()
    visibility = parts.curation.visibility()
    shown = {m.id: m for m in parts.curation.visible(
        (m for m in catalogue if m.provider in configured), visibility)}
    entries = [(model.id, model.provider) for model in shown.values()]
    aliases = parts.curation.aliases()
    for name in sorted(aliases):
        try:
            target = parts.curation.resolve(name, aliases).model.id
        except ConfigurationError:  # an alias pointing nowhere is left out, not an error
            continue
        if target in shown:
            entries.append((name, "configapp"))
    return jsonify({"object": "list", "data": [
        {"id": name, "object": "model", "created": 0, "owned_by": owner}
        for name, owner in entries if who.allows(name)]})


def request_json() -> Any:
    """The body, read only now that the caller is known (docs/adr/0005); JSON that Python
    cannot read, or text no provider can encode (a lone surrogate), is a 400 as on /api."""
    body = read_request_body(components().settings.security.max_request_bytes)
    if body and not request.is_json:
        raise OpenAIError(415, NOT_JSON)
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        raise OpenAIError(400, "The body is not valid JSON.") from None
    if SURROGATE_ESCAPE.search(body) and not is_text(parsed):
        raise OpenAIError(400, "The body holds half of a character (a lone surrogate).")
    return parsed


def chat_completions() -> Response:
    who = caller()
    asked = parse_request(request_json())
    parts = components()
    if who.limited and not any(map(who.allows, names_asked(asked))):
        raise OpenAIError(404, NOT_ALLOWED.format((asked.model or "default")[:200]),
                          code="model_not_found", param="model")
    if who.client is not None:  # before the provider's and key's budgets, in ChatService
        parts.clients.check_budget(who.client)
    chat = parts.chat
    plan = chat.plan(asked.messages, asked.model, asked.overrides, client_id=who.client_id,
                     extras=asked.extras)
    headers = dropped_header(plan, asked)
    if not asked.stream:
        result = chat.complete(plan)  # result.plan: the model that answered
        response = jsonify(completion(result.plan, result.reply))
        response.headers.update({**headers, **fallback_header(result.plan)})
        return response
    chunks = chat.stream(plan)
    answering = getattr(chunks, "plan", plan)  # a fallback's, if it fell back
    response = event_stream(events(answering, chunks, asked,
                                   current_app._get_current_object()), chunks)
    response.headers.update({**headers, **fallback_header(answering)})
    return response


def fallback_header(plan: ChatPlan) -> dict[str, str]:
    """`X-Configapp-Fallback-From: openai/gpt-4o (503), ...`: the models that did not
    answer before the one that did (docs/architecture.md, "Fallbacks")."""
    if not plan.fallback_from:
        return {}
    shown = (f"{''.join(c for c in note.model[:100] if c.isprintable() and c != ',')} "
             f"({note.reason})" for note in plan.fallback_from)
    return {FALLBACK_HEADER: ", ".join(shown)}


def names_asked(asked: CompletionRequest) -> tuple[str, ...]:
    """The names a client's list may hold for this request: the model id or alias asked
    for; for `default`, the chat purpose's alias and its model."""
    if asked.model is not None:
        return (asked.model,)
    target, _ = components().curation.selected()
    return tuple(name for name in (target.alias, target.model.id) if name)


def dropped_header(plan: ChatPlan, asked: CompletionRequest) -> dict[str, str]:
    names = sorted({*plan.dropped, *asked.ignored})
    return {DROPPED_HEADER: ", ".join(name[:40] for name in names[:20])} if names else {}


def events(plan: ChatPlan, chunks: ProviderStream, asked: CompletionRequest,
           app: Flask) -> Iterator[str]:
    """The chunks, then `[DONE]`. A provider that fails or cuts its stream ends it with an
    error event and no `[DONE]`, so a client does not take a cut answer for a whole one."""
    writer = ChunkWriter(plan, asked.include_usage)
    usage: Usage | None = None
    yield writer.chunk({"role": "assistant", "content": ""})
    try:
        while (piece := next_piece(app, chunks)) is not None:
            delta: dict[str, Any] = {}
            if piece.content:
                delta["content"] = piece.content
            if piece.tool_calls:
                delta["tool_calls"] = list(piece.tool_calls)
            if delta or piece.finish_reason:
                yield writer.chunk(delta, piece.finish_reason)
            usage = piece.usage or usage
    except ProviderError as error:
        yield data(provider_failure(error)[1])
        return
    finally:
        with app.app_context():  # ends the provider's stream and records its use now
            chunks.close()
    if asked.include_usage:
        yield writer.usage(usage)
    yield data("[DONE]")

