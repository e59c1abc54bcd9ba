"""Schemas of model curation: visibility, aliases, purposes and their warnings."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from configapp.catalog.curation import MAX_BATCH, MAX_FALLBACKS
from configapp.web.api.schemas import TEXT, JsonBoolean, ModelSchema, ParametersSchema, StrictSchema

MODEL_ID = fields.String(validate=[validate.Length(1, 255), TEXT])


def fallbacks_field() -> fields.List:
    return fields.List(MODEL_ID, load_default=None, validate=validate.Length(max=MAX_FALLBACKS),
                       metadata={"description": "model ids or aliases tried in order when the "
                                                "model is unavailable (docs/architecture.md, "
                                                "Fallbacks); left out: kept; []: none",
                                 "example": ["anthropic/claude-haiku-4-5"]})


class WarningSchema(ma.Schema):
    source = fields.String(metadata={"description": "what the warning is about: purpose, "
                                                    "alias (other kinds may be added)"})
    name = fields.String(metadata={"description": "the purpose's or alias's name"})
    kind = fields.String(metadata={
        "description": "hidden, withdrawn, deprecated, no_key or unknown_model"})
    model = fields.String(allow_none=True)
    date = fields.String(allow_none=True, metadata={
        "description": "withdrawn: the day it was no longer listed; deprecated: the date"})
    message = fields.String()
    action = fields.String(metadata={"description": "what to do, for a person"})


class VisibilityChangeSchema(StrictSchema):
    hide = fields.List(MODEL_ID, load_default=list, validate=validate.Length(max=MAX_BATCH),
                       metadata={"description": "models to hide"})
    show = fields.List(MODEL_ID, load_default=list, validate=validate.Length(max=MAX_BATCH),
                       metadata={"description": "models to show again"})
    only = fields.List(MODEL_ID, load_default=None, allow_none=True,
                       validate=validate.Length(max=MAX_BATCH), metadata={
                           "description": "hide all of the provider's models but these"})
    show_all = JsonBoolean(load_default=False, metadata={
        "description": "forget every choice for the provider first: all shown"})


class ProviderVisibilitySchema(ma.Schema):
    provider = fields.String()
    total = fields.Integer(metadata={"description": "models of the provider in the catalogue"})
    shown = fields.Integer()
    only_chosen = fields.Boolean(metadata={
        "description": "all of the provider's models are hidden but the chosen ones"})


class CurationSchema(ma.Schema):
    providers = fields.List(fields.Nested(ProviderVisibilitySchema))


class CurationQuerySchema(StrictSchema):
    provider = fields.String(validate=[validate.Length(1, 64), TEXT])


class AliasInputSchema(StrictSchema):
    model = fields.String(required=True, validate=[validate.Length(1, 255), TEXT], metadata={
        "description": "a model id or another alias", "example": "anthropic/claude-haiku-4-5"})
    parameters = fields.Nested(ParametersSchema, load_default=dict)
    fallbacks = fallbacks_field()


class AliasSchema(ma.Schema):
    name = fields.String(metadata={"example": "fast"})
    target = fields.String()
    parameters = fields.Dict(keys=fields.String())
    fallbacks = fields.List(fields.String())
    model = fields.Nested(ModelSchema, allow_none=True,
                          metadata={"description": "the model it comes to"})


class PurposeInputSchema(StrictSchema):
    model = fields.String(required=True, validate=[validate.Length(1, 255), TEXT], metadata={
        "description": "a model id or an alias", "example": "openai/gpt-4o-mini"})
    fallbacks = fallbacks_field()


class PurposeSchema(ma.Schema):
    name = fields.String(metadata={"example": "title"})
    builtin = fields.Boolean()
    target = fields.String(allow_none=True, metadata={"description": "model id or alias"})
    alias = fields.String(allow_none=True)
    model = fields.Nested(ModelSchema, allow_none=True)
    parameters = fields.Dict(keys=fields.String())
    fallbacks = fields.List(fields.String())


class PurposesSchema(ma.Schema):
    purposes = fields.List(fields.Nested(PurposeSchema))
    warnings = fields.List(fields.Nested(WarningSchema))


class SyncPurposeSchema(ma.Schema):
    target = fields.String(allow_none=True)
    alias = fields.String(allow_none=True)
    model = fields.String(allow_none=True)
    parameters = fields.Dict(keys=fields.String())


class SyncAliasSchema(ma.Schema):
    target = fields.String()
    parameters = fields.Dict(keys=fields.String())
