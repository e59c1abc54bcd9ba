"""Schemas of the calls that reach a provider: key test, live catalogue, chat."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from configapp.providers.llm import CHAT_ROLES, FAILURE_KINDS
from configapp.web.api.schemas import (
    ApiKeySchema,
    CatalogSchema,
    JsonBoolean,
    ModelSchema,
    ParametersSchema,
    StrictSchema,
)

MAX_MESSAGES = 500
MAX_MESSAGE_CHARS = 500_000
MAX_MODEL_ID = 200


class KeyCheckSchema(ma.Schema):
    ok = fields.Boolean(metadata={"description": "false when the provider refused the key"})
    result = fields.String(validate=validate.OneOf(("valid", *FAILURE_KINDS)))
    provider = fields.String()
    status_code = fields.Integer(allow_none=True,
                                 metadata={"description": "the provider's HTTP status"})
    message = fields.String(metadata={"description": "what the provider said, without the key"})
    latency_ms = fields.Float()
    model_count = fields.Integer(allow_none=True)


class AddedKeySchema(ApiKeySchema):
    test = fields.Nested(KeyCheckSchema, allow_none=True, metadata={
        "description": "with test=true: the test's result (null when this provider's keys "
                       "cannot be tested); a key that failed it is saved inactive"})


class CatalogModelSchema(ModelSchema):
    reachable = fields.Boolean(allow_none=True, metadata={
        "description": "with live=true: whether the provider's key can reach the model "
                       "(null when its provider was not asked)"})
    stale = fields.Boolean(metadata={
        "description": "with live=true: the provider could not be asked just now; "
                       "`reachable` is from its last good answer"})
    hidden = fields.Boolean(metadata={
        "description": "with include_hidden=true: the model is hidden in Settings"})
    withdrawn_at = fields.DateTime(metadata={
        "description": "present when the provider's live listing stopped naming the model"})


class ListingSchema(ma.Schema):
    status = fields.String(validate=validate.OneOf(("fresh", "stale", "failed")))
    count = fields.Integer()
    fetched_at = fields.DateTime(allow_none=True)
    message = fields.String(allow_none=True)
    warning = fields.String(allow_none=True, metadata={
        "description": "the listing was cut at a bound: only its first models were read"})


class ListingWarningSchema(ma.Schema):
    provider = fields.String()
    kind = fields.String(metadata={"description": "listing_cut, listing_stale or "
                                                  "listing_failed"})
    message = fields.String()


class LiveCatalogSchema(CatalogSchema):
    models = fields.List(fields.Nested(CatalogModelSchema))
    live = fields.Dict(keys=fields.String(), values=fields.Nested(ListingSchema), metadata={
        "description": "with live=true: each asked provider's listing, by provider"})
    warnings = fields.List(fields.Nested(ListingWarningSchema), metadata={
        "description": "with live=true: listings cut at a bound, or failed"})


class ChatMessageSchema(StrictSchema):
    role = fields.String(required=True, validate=validate.OneOf(CHAT_ROLES))
    content = fields.String(required=True, validate=validate.Length(1, MAX_MESSAGE_CHARS))


class ChatRequestSchema(StrictSchema):
    messages = fields.List(fields.Nested(ChatMessageSchema), required=True,
                           validate=validate.Length(1, MAX_MESSAGES))
    model = fields.String(validate=validate.Length(1, MAX_MODEL_ID), metadata={
        "description": "LiteLLM's `provider/model`, or an alias; the selected model when "
                       "left out",
        "example": "openai/gpt-4o-mini"})
    purpose = fields.String(validate=validate.Length(1, 40), metadata={
        "description": "use this purpose's model (409 when it has none); not with `model`",
        "example": "title"})
    parameters = fields.Nested(ParametersSchema, load_default=dict, metadata={
        "description": "overrides of the model's stored parameters, within its bounds"})
    stream = JsonBoolean(load_default=False, metadata={
        "description": "answer as text/event-stream: `delta` events, then `done` or `error`"})


class ChatCountRequestSchema(StrictSchema):
    messages = fields.List(fields.Nested(ChatMessageSchema), required=True,
                           validate=validate.Length(1, MAX_MESSAGES),
                           metadata={"description": "the messages the reply answered"})
    reply = fields.String(required=True, validate=validate.Length(0, MAX_MESSAGE_CHARS),
                          metadata={"description": "the text of the reply as it arrived"})
    model = fields.String(validate=validate.Length(1, MAX_MODEL_ID), metadata={
        "description": "as the chat request named it (a model or an alias); the selected "
                       "model when left out"})
    purpose = fields.String(validate=validate.Length(1, 40))


class UsageSchema(ma.Schema):
    prompt_tokens = fields.Integer(allow_none=True)
    completion_tokens = fields.Integer(allow_none=True)
    total_tokens = fields.Integer(allow_none=True)


class FellBackSchema(ma.Schema):
    model = fields.String()
    reason = fields.String(metadata={
        "description": "503, 429 (any 5xx or 429 status), connection refused, timeout, "
                       "model not found, budget spent (skipped, never called), no key",
        "example": "503"})


class ChatReplySchema(ma.Schema):
    model = fields.String()
    provider = fields.String()
    message = fields.Nested(ChatMessageSchema)
    finish_reason = fields.String(allow_none=True)
    usage = fields.Nested(UsageSchema, allow_none=True)
    cost = fields.Float(allow_none=True, metadata={
        "description": "What this reply cost in US dollars, from the catalogue's prices per "
                       "million prompt and completion tokens; null when a price or a token "
                       "count is unknown (never 0 for unknown)."})
    parameters = fields.Dict(keys=fields.String())
    key_source = fields.String(metadata={"description": "database or environment"})
    latency_ms = fields.Float()
    fallback_from = fields.List(fields.Nested(FellBackSchema), metadata={
        "description": "the models of the alias or purpose tried before `model` answered, "
                       "and why each did not (docs/architecture.md, Fallbacks); empty when "
                       "the first answered"})


class ChatCountSchema(ma.Schema):
    model = fields.String()
    usage = fields.Nested("UsageSchema")
    cost = fields.Float(allow_none=True, metadata={
        "description": "US dollars from the catalogue's prices; null when unpriced"})


class ChatReceiptSchema(ChatCountSchema):
    receipt = fields.String()
    outcome = fields.String(metadata={
        "description": "finished, stopped (the client went away), cut (the provider's stream "
                       "stopped early) or failed"})
    tokens_counted = fields.Boolean(metadata={
        "description": "true when configapp counted the tokens (the provider sent none)"})


SSE_EXAMPLE = (
    'event: delta\ndata: {"content": "Hel"}\n\n'
    'event: delta\ndata: {"content": "lo"}\n\n'
    'event: done\ndata: {"model": "openai/gpt-4o-mini", "provider": "openai", '
    '"finish_reason": "stop", "usage": {"prompt_tokens": 5, "completion_tokens": 2, '
    '"total_tokens": 7}, "cost": 0.00000195, "parameters": {}, "key_source": "database", '
    '"latency_ms": 812.4, "fallback_from": []}\n\n'
)
SSE_DOC = {
    "description": "JSON, or with stream=true Server-Sent Events: one `delta` event per "
                   "piece of text, then one `done` event (model, finish_reason, usage, "
                   "cost, latency_ms: the JSON answer's fields but `message`) only when the "
                   "provider said it finished; else an `error` event ({code, status, message, "
                   "errors: {provider: [kind]}}) after the pieces that came: kind "
                   "`provider_stream_cut` when its stream just stopped, `answer_too_large` "
                   "past 4 MiB of text, or the provider's failure. A refusal before the first "
                   "piece is a 502/504 JSON answer. The `X-Chat-Receipt` header names the "
                   "stream's ledger row: GET /api/chat/receipts/{receipt} reads it once the "
                   "stream ended (a stopped one included).",
    "schema": {  # one Server-Sent Event; `data` is the event's JSON, as text
        "type": "object",
        "required": ["event", "data"],
        "properties": {"event": {"type": "string", "enum": ["delta", "done", "error"]},
                       "data": {"type": "string"}},
    },
    "example": SSE_EXAMPLE,
}
