"""Marshmallow schemas: what the API takes and gives, and the OpenAPI document's source."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from configapp.domain import API_KEY_PATTERN, BASE_URL_PATTERN, MAX_KEY_LENGTH, MIN_KEY_LENGTH

# Names and filters are text without control characters: PostgreSQL cannot store a NUL
# (it was a 500 there, and stored as it was on SQLite), and a line break has no place in
# a name. A trailing line break still matches `$`; the service strips it.
TEXT = validate.Regexp(r"^[^\x00-\x1f\x7f]*$",
                       error="Control characters (NUL, tab, line breaks) are not allowed.")
PROVIDER = fields.String(required=True, validate=[validate.Length(1, 64), TEXT],
                         metadata={"example": "openai"})


class JsonBoolean(fields.Boolean):
    """true or false, not 0, 1 or "yes": what the OpenAPI document promises."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class JsonNumber(fields.Float):
    """A JSON number, not a numeric string or a boolean."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class JsonInteger(fields.Integer):
    """A JSON integer, not a string, a float or a boolean."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE


def secret_field(**extra: Any) -> fields.String:
    return fields.String(load_only=True, validate=[
        validate.Length(MIN_KEY_LENGTH, MAX_KEY_LENGTH),
        validate.Regexp(API_KEY_PATTERN, error="Printable characters only, no spaces.")],
        **extra)


def base_url_field(**extra: Any) -> fields.String:
    return fields.String(allow_none=True, validate=[
        validate.Length(max=2048),
        validate.Regexp(BASE_URL_PATTERN, error="An http:// or https:// URL with a host.")],
        metadata={"description": "OpenAI-compatible base URL"}, **extra)


class ApiKeyCreateSchema(StrictSchema):
    provider = PROVIDER
    api_key = secret_field(required=True)
    key_name = fields.String(load_default="", validate=[validate.Length(max=100), TEXT])
    api_base = base_url_field(load_default=None)
    is_active = JsonBoolean(load_default=True)
    test = JsonBoolean(load_default=False, metadata={
        "description": "test the key first: a key that fails is saved inactive, and the "
                       "answer's `test` says why"})


class ApiKeyUpdateSchema(StrictSchema):
    key_name = fields.String(validate=[validate.Length(max=100), TEXT])
    is_active = JsonBoolean()
    api_key = secret_field(metadata={"description": "a new secret for the same key id"})
    api_base = base_url_field()


class ApiKeySchema(ma.Schema):
    id = fields.Integer()
    provider = fields.String()
    key_name = fields.String()
    masked_key = fields.String(metadata={"example": "sk-***1234"})
    api_base = fields.String(allow_none=True)
    is_active = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)


class ProviderQuerySchema(StrictSchema):
    provider = fields.String(validate=[validate.Length(1, 64), TEXT])


class ProviderSchema(ma.Schema):
    name = fields.String()
    key_source = fields.String(allow_none=True,
                               metadata={"description": "database, environment or null"})
    env_var = fields.String(allow_none=True)
    env_vars = fields.List(fields.String())


class ModelQuerySchema(StrictSchema):
    provider = fields.String(validate=[validate.Length(1, 64), TEXT])
    q = fields.String(validate=[validate.Length(max=200), TEXT])
    configured = fields.Boolean(load_default=False)
    live = fields.Boolean(load_default=False, metadata={
        "description": "also ask each configured provider which models its key can reach"})
    refresh = fields.Boolean(load_default=False, metadata={
        "description": "with live: ask now, even if the last answer is younger than the TTL"})
    include_hidden = fields.Boolean(load_default=False, metadata={
        "description": "also the models hidden in Settings (each then says `hidden`)"})


class ModelSchema(ma.Schema):
    id = fields.String(metadata={"example": "openai/gpt-4o-mini"})
    provider = fields.String()
    display_name = fields.String()
    context_window = fields.Integer(allow_none=True)
    max_output_tokens = fields.Integer(allow_none=True)
    input_price_per_million = fields.Float(allow_none=True)
    output_price_per_million = fields.Float(allow_none=True)
    deprecation_date = fields.String(allow_none=True, metadata={
        "description": "the provider's announced deprecation date (LiteLLM's metadata)",
        "example": "2027-01-14"})


class CatalogSchema(ma.Schema):
    source = fields.String(metadata={"description": "litellm or fallback"})
    count = fields.Integer()
    models = fields.List(fields.Nested(ModelSchema))


class ParametersSchema(StrictSchema):
    """The widest bounds of any model; each model's own (e.g. its max output) are checked
    by the service and answered with a 422 that names them."""

    temperature = JsonNumber(allow_nan=False, validate=validate.Range(0, 2))
    top_p = JsonNumber(allow_nan=False, validate=validate.Range(0, 1))
    max_tokens = JsonInteger(validate=validate.Range(min=1))
    presence_penalty = JsonNumber(allow_nan=False, validate=validate.Range(-2, 2))
    frequency_penalty = JsonNumber(allow_nan=False, validate=validate.Range(-2, 2))


class BoundSchema(ma.Schema):
    low = fields.Float()
    high = fields.Float()
    integer = fields.Boolean()


class MonthUsageSchema(ma.Schema):
    month = fields.String(metadata={"example": "2026-12"})
    requests = fields.Integer()
    cost = fields.Float(metadata={"description": "Dollars so far this month (UTC)"})
    unpriced = fields.Integer(metadata={"description": "Requests of unpriced models"})


class BudgetWarningSchema(ma.Schema):
    """A budget with this month's spending against it."""

    scope = fields.String(metadata={"description": "provider or key"})
    target = fields.String(metadata={"description": "The provider's name, or the key's id"})
    monthly_limit = fields.Float(metadata={"description": "Dollars per calendar month (UTC)"})
    month = fields.String(metadata={"example": "2026-12"})
    spent = fields.Float()
    ratio = fields.Float()
    level = fields.String(metadata={"description": "ok, warning (80% or more) or exceeded"})
    message = fields.String()


class ModelConfigSchema(ma.Schema):
    model = fields.Nested(ModelSchema)
    is_default = fields.Boolean()
    parameters = fields.Dict(keys=fields.String())
    bounds = fields.Dict(keys=fields.String(), values=fields.Nested(BoundSchema))
    updated_at = fields.DateTime()
    alias = fields.String(allow_none=True, metadata={
        "description": "the alias the chat purpose points at, when it does"})
    warnings = fields.List(fields.Dict(), metadata={
        "description": "purposes and aliases whose model is going away or cannot be used "
                       "(see the Warning schema)"})
    budget_warnings = fields.List(fields.Nested(BudgetWarningSchema), metadata={
        "description": "Budgets of the model's provider and active key at 80% or more"})


class SyncKeySchema(ma.Schema):
    id = fields.Integer()
    key_name = fields.String()
    masked_key = fields.String()
    api_base = fields.String(allow_none=True)
    is_active = fields.Boolean()


class SyncSelectedSchema(ma.Schema):
    model = fields.Nested(ModelSchema)
    parameters = fields.Dict(keys=fields.String())
    alias = fields.String(allow_none=True)


class SyncSchema(ma.Schema):
    revision = fields.String()
    keys = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(SyncKeySchema)))
    selected = fields.Nested(SyncSelectedSchema, allow_none=True)
    purposes = fields.Dict(keys=fields.String(), values=fields.Dict(), metadata={
        "description": "each purpose's {target, alias, model, parameters}"})
    aliases = fields.Dict(keys=fields.String(), values=fields.Dict(), metadata={
        "description": "each alias's {target, parameters}"})
    warnings = fields.List(fields.Dict(), metadata={
        "description": "what to do about purposes and aliases whose model is going away"})
    usage = fields.Nested(MonthUsageSchema)
    budget_warnings = fields.List(fields.Nested(BudgetWarningSchema))


class HealthSchema(ma.Schema):
    status = fields.String()
    checks = fields.Dict(keys=fields.String(), values=fields.String())
