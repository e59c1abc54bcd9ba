"""POST /api/chat: the selected (or named) model, as JSON or as Server-Sent Events."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from flask import Flask, Response, current_app, request
from flask.views import MethodView

from configapp.chat.pricing import reply_cost
from configapp.chat.service import ChatPlan, ChatResult, elapsed_ms
from configapp.components import components
from configapp.providers.llm import ChatMessage, ProviderError, StreamChunk, Usage
from configapp.web.api.blueprint import TOO_LARGE, ApiBlueprint
from configapp.web.api.client_watch import ClientWatch
from configapp.web.api.errors import error_payload
from configapp.web.api.provider_schemas import SSE_DOC, ChatReplySchema, ChatRequestSchema

blp = ApiBlueprint("chat", __name__, url_prefix="/api",
                   description="Chat with the selected model, through the configured key")
# One per process: it watches the clients of the streams in flight (its thread starts on
# first use, in the worker).
CLIENT_WATCH = ClientWatch()


def summary(plan: ChatPlan, finish_reason: str | None, usage: Usage | None,
            latency_ms: float) -> dict[str, Any]:
    cost = reply_cost(plan.model, usage.prompt_tokens, usage.completion_tokens) if usage \
        else None
    return {"model": plan.model.id, "provider": plan.model.provider,
            "finish_reason": finish_reason, "usage": asdict(usage) if usage else None,
            "cost": cost,
            "parameters": plan.parameters, "key_source": plan.key.source,
            "latency_ms": latency_ms}


def reply_view(result: ChatResult) -> dict[str, Any]:
    return {**summary(result.plan, result.reply.finish_reason, result.reply.usage,
                      result.latency_ms),
            "message": {"role": "assistant", "content": result.reply.content}}


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def next_piece(app: Flask, chunks: Iterator[StreamChunk]) -> StreamChunk | None:
    """The next piece, read in an app context of its own: the body is sent after the
    request's context is gone, and the ledger writes when the stream ends. Pushed and popped
    within one step, so contexts never interleave between answers."""
    with app.app_context():
        return next(chunks, None)


def events(plan: ChatPlan, chunks: Iterator[StreamChunk], started: float,
           app: Flask) -> Iterator[str]:
    """`delta` per piece of text, then `done`; `error` if the provider fails mid-stream,
    or its stream stops before it said it finished (the gateway tells: provider_stream_cut)."""
    finish: str | None = None
    usage: Usage | None = None
    try:
        while (chunk := next_piece(app, chunks)) is not None:
            if chunk.content:
                yield sse("delta", {"content": chunk.content})
            finish = chunk.finish_reason or finish
            usage = chunk.usage or usage
    except ProviderError as error:
        yield sse("error", error_payload(error.http_status, error.message,
                                         {"provider": [error.kind]}))
        return
    finally:
        close = getattr(chunks, "close", None)
        if callable(close):  # ends the provider's stream and records its use now
            with app.app_context():
                close()
    yield sse("done", summary(plan, finish, usage, elapsed_ms(started)))


@blp.route("/chat")
class Chat(MethodView):
    @blp.arguments(ChatRequestSchema())
    @blp.response(200, ChatReplySchema)
    @blp.alt_response(200, content_type="text/event-stream", success=True, **SSE_DOC)
    @blp.alt_response(402, description="A monthly budget of the provider or key is spent "
                                        "(the figures in `errors.budget`); no provider call")
    @blp.alt_response(404, description="Unknown model, or no model selected")
    @blp.alt_response(409, description="No API key for the model's provider, or no model for "
                                       "the purpose")
    @blp.alt_response(413, description=TOO_LARGE)
    @blp.alt_response(422, description="Invalid messages or parameters, or a hidden model")
    @blp.alt_response(502, description="The provider failed (its message, without the key)")
    @blp.alt_response(504, description="The provider did not answer in time")
    def post(self, body: dict[str, Any]) -> Response | dict[str, Any]:
        """Send messages to the selected model (or `model`, an alias, or a `purpose`'s
        model), with its stored parameters and the request's overrides, using its
        provider's configured key. A purpose never falls back to another model."""
        started = time.perf_counter()
        chat = components().chat
        plan = chat.plan([ChatMessage(**message) for message in body["messages"]],
                         body.get("model"), body["parameters"], body.get("purpose"))
        if not body["stream"]:
            return reply_view(chat.complete(plan))
        chunks = chat.stream(plan)
        # The ledger is written when the stream ends, in an app context of its own.
        response = Response(events(plan, chunks, started, current_app._get_current_object()),
                            mimetype="text/event-stream",
                            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        # However the answer ends (the client gone included: the server then closes the
        # response), the provider's request ends with it.
        client = request.environ.get("gunicorn.socket")
        if client is not None:
            response.call_on_close(CLIENT_WATCH.watch(client, chunks.abort))
        response.call_on_close(chunks.close)
        return response
