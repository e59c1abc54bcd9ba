"""Client tokens: the tools that call /v1, each with its own token, models and budget."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from marshmallow import fields, validate

from configapp.access.clients import (
    MAX_LIMIT,
    MAX_MODEL_NAME,
    MAX_MODELS,
    MAX_NAME_LENGTH,
    view,
)
from configapp.components import components
from configapp.web.api.blueprint import TOO_LARGE, ApiBlueprint
from configapp.web.api.schemas import TEXT, JsonNumber, StrictSchema

blp = ApiBlueprint("clients", __name__, url_prefix="/api/config",
                   description="Client tokens: tools that call the OpenAI-compatible /v1")


def _name(required: bool) -> fields.String:
    return fields.String(required=required, validate=[
        validate.Length(1, MAX_NAME_LENGTH), TEXT], metadata={"example": "open-webui"})


def _models() -> fields.List:
    return fields.List(
        fields.String(validate=[validate.Length(1, MAX_MODEL_NAME), TEXT]),
        allow_none=True, validate=validate.Length(1, MAX_MODELS), metadata={
            "description": "Model ids or aliases it may call and list; null: every model",
            "example": ["openai/gpt-4o-mini", "fast"]})


def _limit() -> JsonNumber:
    return JsonNumber(allow_none=True, allow_nan=False,
                      validate=validate.Range(0, MAX_LIMIT, min_inclusive=False),
                      metadata={"description": "Its own budget, dollars per calendar month "
                                               "(UTC), on top of the provider and key budgets; "
                                               "null: none", "exclusiveMinimum": True})


class ClientCreateSchema(StrictSchema):
    name = _name(required=True)
    models = _models()
    monthly_limit = _limit()


class ClientUpdateSchema(StrictSchema):
    name = _name(required=False)
    models = _models()
    monthly_limit = _limit()


class ClientSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    models = fields.List(fields.String(), allow_none=True)
    monthly_limit = fields.Float(allow_none=True)
    created_at = fields.DateTime()
    spent = fields.Float(metadata={"description": "Dollars spent this month (UTC)"})


class ClientCreatedSchema(ClientSchema):
    token = fields.String(metadata={
        "description": "The client's token (`cfgc_...`): shown only in this answer, kept "
                       "only as its hash. Send it as `Authorization: Bearer` to /v1."})


@blp.route("/clients")
class Clients(MethodView):
    @blp.response(200, ClientSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Every client with this month's spending (never a token)."""
        return components().clients.clients()

    @blp.arguments(ClientCreateSchema)
    @blp.response(201, ClientCreatedSchema)
    @blp.alt_response(409, description="Another client has that name")
    @blp.alt_response(413, description=TOO_LARGE)
    @blp.alt_response(422, description="A name, model or limit that cannot be used")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Make a client and its token; the token is in this answer only."""
        client, token = components().clients.create(**body)
        return {**view(client, 0.0), "token": token}


@blp.route("/clients/<int(max=2147483647):client_id>")
class ClientById(MethodView):
    @blp.arguments(ClientUpdateSchema)
    @blp.response(200, ClientSchema)
    @blp.alt_response(404, description="No such client")
    @blp.alt_response(409, description="Another client has that name")
    @blp.alt_response(413, description=TOO_LARGE)
    @blp.alt_response(422, description="A name, model or limit that cannot be used")
    def patch(self, body: dict[str, Any], client_id: int) -> dict[str, Any]:
        """Rename a client, or change its models or monthly limit (null removes them)."""
        clients = components().clients
        return clients.client(clients.update(client_id, body).id)

    @blp.response(204)
    @blp.alt_response(404, description="No such client")
    def delete(self, client_id: int) -> None:
        """Delete a client: its token is refused from the next call on."""
        components().clients.delete(client_id)
