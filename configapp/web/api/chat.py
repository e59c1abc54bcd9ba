"""POST /api/chat: the selected (or named) model, as JSON or as Server-Sent Events."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from flask import Flask, Response, current_app, request
from flask.views import MethodView

from configapp.chat.fallbacks import fallback_view
from configapp.chat.pricing import reply_cost
from configapp.chat.service import AnsweringStream, ChatPlan, ChatResult, elapsed_ms
from configapp.components import components
from configapp.providers.llm import (
    ChatMessage,
    ProviderError,
    StreamChunk,
    Usage,
)
from configapp.web.api.blueprint import TOO_LARGE, ApiBlueprint
from configapp.web.api.client_watch import ClientWatch
from configapp.web.api.errors import error_payload
from configapp.web.api.provider_schemas import (
    SSE_DOC,
    ChatCountRequestSchema,
    ChatCountSchema,
    ChatReceiptSchema,
    ChatReplySchema,
    ChatRequestSchema,
)

blp = ApiBlueprint("chat", __name__, url_prefix="/api",
                   description="Chat with the selected model, through the configured key")
# One per process: it watches the clients of the streams in flight (its thread starts on
# first use, in the worker).
CLIENT_WATCH = ClientWatch()
# How long a receipt's reading waits for its stream's row (a stopped stream's is written as
# soon as its server sees the client gone).
RECEIPT_WAIT_SECONDS = 5.0


def summary(plan: ChatPlan, finish_reason: str | None, usage: Usage | None,
            latency_ms: float) -> dict[str, Any]:
    cost = reply_cost(plan.model, usage.prompt_tokens, usage.completion_tokens) if usage \
        else None
    return {"model": plan.model.id, "provider": plan.model.provider,
            "finish_reason": finish_reason, "usage": asdict(usage) if usage else None,
            "cost": cost,
            "parameters": plan.parameters, "key_source": plan.key.source,
            "latency_ms": latency_ms, "fallback_from": fallback_view(plan.fallback_from)}


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
        provider's configured key. Only an alias's or a purpose's own fallbacks are tried
        when its model is unavailable (docs/architecture.md, Fallbacks): `model` names the
        model that answered and `fallback_from` those that did not."""
        started = time.perf_counter()
        chat = components().chat
        plan = chat.plan([ChatMessage(**message) for message in body["messages"]],
                         body.get("model"), body["parameters"], body.get("purpose"))
        if not body["stream"]:
            return reply_view(chat.complete(plan))
        chunks = chat.stream(plan)
        plan = chunks.plan  # the model answering: a fallback's, if it fell back
        return event_stream(events(plan, chunks, started, current_app._get_current_object()),
                            chunks)


def event_stream(body: Iterator[str], chunks: AnsweringStream) -> Response:
    """The answer that sends `body` (which reads `chunks`) as Server-Sent Events. The
    ledger is written when the stream ends, in an app context of its own."""
    response = Response(body, mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no",
                                 "X-Chat-Receipt": chunks.receipt})
    # However the answer ends (the client gone included: the server then closes the
    # response), the provider's request ends with it.
    client = request.environ.get("gunicorn.socket")
    if client is not None:
        response.call_on_close(CLIENT_WATCH.watch(client, chunks.abort))
    response.call_on_close(chunks.close)
    return response


@blp.route("/chat/count")
class ChatCount(MethodView):
    @blp.arguments(ChatCountRequestSchema())
    @blp.response(200, ChatCountSchema)
    @blp.alt_response(404, description="Unknown model, or no model selected")
    @blp.alt_response(413, description=TOO_LARGE)
    @blp.alt_response(422, description="Invalid messages, or a hidden model")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """The tokens and cost of a reply that ended without the provider's usage (stopped,
        or cut short when its page was left), counted as the usage ledger counts it: the
        page shows what the ledger holds. Changes nothing and calls no provider."""
        model, prompt, completion, cost = components().chat.count_reply(
            [ChatMessage(**message) for message in body["messages"]], body["reply"],
            body.get("model"), body.get("purpose"))
        return {"model": model.id, "cost": cost,
                "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                          "total_tokens": prompt + completion}}


@blp.route("/chat/receipts/<receipt>")
class ChatReceipt(MethodView):
    @blp.response(200, ChatReceiptSchema)
    @blp.alt_response(404, description="No ledger row under this receipt within 5 s")
    def get(self, receipt: str) -> dict[str, Any]:
        """The ledger row of a streamed chat, by the `X-Chat-Receipt` its answer carried:
        a page left, or stopped, mid-answer shows the tokens and cost the ledger counted,
        which may include a piece that was still on its way when it stopped reading. The
        row is written when the stream ends: asked for before, the answer waits for it
        (at most RECEIPT_WAIT_SECONDS), then 404."""
        entry = components().usage.by_receipt(receipt, wait=RECEIPT_WAIT_SECONDS)
        prompt, completion = entry.prompt_tokens, entry.completion_tokens
        usage = None if prompt is None or completion is None else {
            "prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}
        return {"receipt": entry.receipt, "model": entry.model, "outcome": entry.outcome,
                "usage": usage, "cost": entry.cost, "tokens_counted": entry.tokens_counted}
