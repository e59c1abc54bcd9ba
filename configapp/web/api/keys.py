"""API keys: add, list (masked), rename, (de)activate, delete."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask.views import MethodView

from configapp.components import components
from configapp.domain import ApiKeyConfig, NewApiKey
from configapp.providers.llm import KeyCheck
from configapp.web.api.blueprint import TOO_LARGE, ApiBlueprint
from configapp.web.api.provider_schemas import AddedKeySchema, KeyCheckSchema
from configapp.web.api.schemas import (
    ApiKeyCreateSchema,
    ApiKeySchema,
    ApiKeyUpdateSchema,
    ProviderQuerySchema,
    ProviderSchema,
)

blp = ApiBlueprint("api_keys", __name__, url_prefix="/api/config",
                   description="Provider API keys, stored encrypted and shown masked")


@blp.route("/api-keys")
class ApiKeys(MethodView):
    @blp.arguments(ProviderQuerySchema, location="query")
    @blp.response(200, ApiKeySchema(many=True))
    def get(self, query: dict[str, Any]) -> list[ApiKeyConfig]:
        """List the stored keys, masked."""
        return components().config.list_api_keys(query.get("provider"))

    @blp.arguments(ApiKeyCreateSchema)
    @blp.response(201, AddedKeySchema)
    @blp.alt_response(413, description=TOO_LARGE)
    @blp.alt_response(422, description="Invalid input")
    def post(self, body: dict[str, Any]) -> ApiKeyConfig | dict[str, Any]:
        """Add a key; it becomes its provider's active key unless is_active is false, or
        unless test is true and the key fails the test: a failing key never replaces a
        working one."""
        if not body.pop("test"):
            return components().config.add_api_key(NewApiKey(**body))
        record, check = components().discovery.add_tested_key(NewApiKey(**body))
        return {**asdict(record), "test": check}


@blp.route("/api-keys/<int(max=2147483647):key_id>")
class ApiKeyById(MethodView):
    # The body is optional: none (or {}) changes nothing and answers the key as it is.
    @blp.arguments(ApiKeyUpdateSchema, required=False)
    @blp.response(200, ApiKeySchema)
    @blp.alt_response(404, description="No such key")
    @blp.alt_response(413, description=TOO_LARGE)
    def patch(self, body: dict[str, Any], key_id: int) -> ApiKeyConfig:
        """Rename a key, (de)activate it (activating deactivates the provider's others), or
        give it a new secret or base URL, checked like an add: the id, its budgets and its
        ledger stay."""
        return components().config.update_api_key(key_id, **body)

    @blp.response(204)
    @blp.alt_response(404, description="No such key")
    def delete(self, key_id: int) -> None:
        """Delete a key."""
        components().config.delete_api_key(key_id)


@blp.route("/api-keys/<int(max=2147483647):key_id>/test")
class ApiKeyTest(MethodView):
    @blp.response(200, KeyCheckSchema)
    @blp.alt_response(404, description="No such key")
    @blp.alt_response(422, description="Keys of this provider cannot be tested")
    def post(self, key_id: int) -> KeyCheck:
        """Ask the provider's models endpoint (free) whether the key works. A refused key
        is a 200 with ok=false and the reason in `result`."""
        return components().discovery.test_key(key_id)


@blp.route("/providers")
class Providers(MethodView):
    @blp.response(200, ProviderSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Known providers, and where each one's effective key comes from."""
        return components().config.provider_overview()
