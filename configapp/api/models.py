"""The model catalogue, the default model and its parameters."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from flask import Response
from flask.views import MethodView

from configapp.api.blueprint import TOO_LARGE, ApiBlueprint
from configapp.api.provider_schemas import LiveCatalogSchema
from configapp.api.schemas import (
    ModelConfigSchema,
    ModelQuerySchema,
    ParametersSchema,
)
from configapp.components import components
from configapp.discovery import listing_view, reachability
from configapp.domain import ModelConfig, ModelInfo

blp = ApiBlueprint("models", __name__, url_prefix="/api/config",
                   description="The model catalogue and the default model")


def model_config_view(model: ModelInfo, config: ModelConfig) -> dict[str, Any]:
    return {"model": model, "is_default": config.is_default, "parameters": config.parameters,
            "bounds": components().config.bounds(model), "updated_at": config.updated_at}


@blp.route("/models")
class Models(MethodView):
    @blp.arguments(ModelQuerySchema, location="query")
    @blp.response(200, LiveCatalogSchema)
    def get(self, query: dict[str, Any]) -> Response:
        """The catalogue of chat models, filtered by provider, search text or configured
        providers; `source` says whether it is LiteLLM's metadata or the fallback list.
        With `live`, each configured provider's models endpoint is asked (answers cached for
        the catalogue's TTL) and every entry says whether the key can reach it."""
        live = query["live"] or query["refresh"]
        listings = components().discovery.listings(query["refresh"]) if live else {}
        source, models = components().config.catalog(
            query.get("provider"), query.get("q"), query["configured"])
        # Serialised by hand: thousands of entries through marshmallow cost tens of ms.
        payload: dict[str, Any] = {"source": source, "count": len(models)}
        if live:
            payload["models"] = [{**asdict(model), **reachability(model, listings)}
                                 for model in models]
            payload["live"] = {name: listing_view(item) for name, item in listings.items()}
        else:
            payload["models"] = [asdict(model) for model in models]
        body = json.dumps(payload, separators=(",", ":"))
        return Response(body, mimetype="application/json")


@blp.route("/models/selected")
class SelectedModel(MethodView):
    @blp.response(200, ModelConfigSchema)
    @blp.alt_response(404, description="No default model is chosen")
    def get(self) -> dict[str, Any]:
        """The default model with its parameters and their bounds."""
        model, config = components().config.selected_model()
        return model_config_view(model, config)


@blp.route("/models/<path:model_id>/select")
class SelectModel(MethodView):
    @blp.response(200, ModelConfigSchema)
    @blp.alt_response(404, description="Unknown model")
    def post(self, model_id: str) -> dict[str, Any]:
        """Make this model the default."""
        service = components().config
        config = service.select_model(model_id)
        return model_config_view(service.model_info_for(config), config)


@blp.route("/models/<path:model_id>/parameters")
class ModelParameters(MethodView):
    @blp.arguments(ParametersSchema)
    @blp.response(200, ModelConfigSchema)
    @blp.alt_response(404, description="Unknown model")
    @blp.alt_response(413, description=TOO_LARGE)
    @blp.alt_response(422, description="A parameter outside the model's limits")
    def put(self, body: dict[str, Any], model_id: str) -> dict[str, Any]:
        """Replace the model's parameters, checked against its limits."""
        service = components().config
        config = service.set_parameters(model_id, body)
        return model_config_view(service.model_info_for(config), config)
