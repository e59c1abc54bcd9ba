"""The usage ledger's totals and the monthly budgets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from marshmallow import fields, validate

from configapp.chat.usage import GROUPS, MAX_LIMIT, SCOPES, parse_moment
from configapp.components import components
from configapp.web.api.blueprint import TOO_LARGE, ApiBlueprint
from configapp.web.api.schemas import BudgetWarningSchema as BudgetStatusSchema
from configapp.web.api.schemas import JsonNumber, StrictSchema

blp = ApiBlueprint("usage", __name__, url_prefix="/api/config",
                   description="What the keys cost: the usage ledger, and monthly budgets")


class Moment(fields.Field):
    """An ISO 8601 date (midnight UTC) or date-time (UTC when it names no zone)."""

    default_error_messages = {"invalid": "Not a date or date-time; use e.g. 2026-12-01 or "
                                         "2026-12-01T08:00:00Z."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            return parse_moment(value)
        except ValueError:
            raise self.make_error("invalid") from None


class UsageQuerySchema(StrictSchema):
    since = Moment(metadata={"description": "From (inclusive); default: the month's start",
                             "type": "string", "example": "2026-12-01"})
    until = Moment(metadata={"description": "To (exclusive); default: now",
                             "type": "string", "example": "2026-12-31T23:59:59Z"})
    group_by = fields.String(validate=validate.OneOf(GROUPS))

    @ma.validates_schema
    def since_before_until(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise ma.ValidationError("`since` is after `until`.", "since")


class UsageTotalsSchema(ma.Schema):
    group = fields.String(allow_none=True, metadata={
        "description": "The model, provider, key id (`environment` for keys from the "
                       "environment), day (YYYY-MM-DD, UTC) or client id (`api_token` for "
                       "calls without a client token); null for the total"})
    name = fields.String(allow_none=True, metadata={
        "description": "Grouped by client: its name (null once it is deleted)"})
    requests = fields.Integer()
    prompt_tokens = fields.Integer()
    completion_tokens = fields.Integer()
    cost = fields.Float(metadata={"description": "Dollars, from the catalogue's prices"})
    unpriced_requests = fields.Integer(metadata={
        "description": "Requests whose model has no price: not in `cost`"})
    unavailable_requests = fields.Integer(metadata={
        "description": "Of `requests`, provider calls that failed before any text (outcome "
                       "`unavailable`: a 5xx, 429, refused connection, timeout...): how "
                       "often the model was unavailable"})


class UsageReportSchema(ma.Schema):
    since = fields.DateTime()
    until = fields.DateTime()
    group_by = fields.String(allow_none=True)
    total = fields.Nested(UsageTotalsSchema)
    groups = fields.List(fields.Nested(UsageTotalsSchema))


class BudgetLimitSchema(StrictSchema):
    monthly_limit = JsonNumber(required=True, allow_nan=False,
                               validate=validate.Range(0, MAX_LIMIT, min_inclusive=False),
                               # OpenAPI 3.0's form; apispec does not derive it.
                               metadata={"description": "Dollars per calendar month (UTC)",
                                         "exclusiveMinimum": True})


SCOPE_PATH = "/budgets/<any(" + ", ".join(SCOPES) + "):scope>/<string(maxlength=64):target>"


@blp.route("/usage")
class Usage(MethodView):
    @blp.arguments(UsageQuerySchema(), location="query")
    @blp.response(200, UsageReportSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Totals of tokens and cost from the ledger (every chat, finished, stopped, cut or
        failed after text flowed), over a time range, optionally grouped."""
        return components().usage.totals(query.get("since"), query.get("until"),
                                         query.get("group_by"))


@blp.route("/budgets")
class Budgets(MethodView):
    @blp.response(200, BudgetStatusSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Every budget with this month's spending against it."""
        return [status.view() for status in components().usage.budgets()]


@blp.route(SCOPE_PATH)
class BudgetItem(MethodView):
    @blp.arguments(BudgetLimitSchema)
    @blp.response(200, BudgetStatusSchema)
    @blp.alt_response(404, description="No such provider or key")
    @blp.alt_response(413, description=TOO_LARGE)
    @blp.alt_response(422, description="A limit that is not more than $0")
    def put(self, body: dict[str, Any], scope: str, target: str) -> dict[str, Any]:
        """Set the monthly limit, in dollars, of a provider (`provider/openai`) or of one
        key (`key/3`). At 80% the pages warn; at 100% chats through it answer 402."""
        return components().usage.set_budget(scope, target, body["monthly_limit"]).view()

    @blp.response(204)
    @blp.alt_response(404, description="No such budget")
    def delete(self, scope: str, target: str) -> None:
        """Remove a budget."""
        components().usage.delete_budget(scope, target)
