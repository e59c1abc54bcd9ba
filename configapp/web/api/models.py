"""The model catalogue, the default model and its parameters."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Hashable
from dataclasses import asdict
from typing import Any

from cachetools import TTLCache
from flask import Response, current_app, request
from flask.views import MethodView
from marshmallow import fields

from configapp.catalog.discovery import listing_view, listing_warnings, reachability
from configapp.components import components
from configapp.domain import (
    Catalog,
    ModelConfig,
    ModelInfo,
    ModelNotFoundError,
    normalise_provider,
)
from configapp.web.api.blueprint import TOO_LARGE, ApiBlueprint, fast_path
from configapp.web.api.provider_schemas import LiveCatalogSchema
from configapp.web.api.schemas import (
    ModelConfigSchema,
    ModelQuerySchema,
    ParametersSchema,
)

# What the query schema's Boolean fields read as true and false.
TRUE_WORDS = frozenset(fields.Boolean.truthy)
BOOLEAN_WORDS = TRUE_WORDS | fields.Boolean.falsy

blp = ApiBlueprint("models", __name__, url_prefix="/api/config",
                   description="The model catalogue and the default model")


class CatalogueBodies:
    """Serialised catalogue answers, per filters and configured-provider set, for the
    catalogue's TTL.

    The configured providers are part of the key and are read from the database by every
    request, so a key added or removed by any instance shows at once. Each body keeps the
    catalogue it was made from, and a reloaded catalogue never answers with an older one's.
    """

    MAX_BYTES = 8 * 1024 * 1024

    def __init__(self, ttl_seconds: int) -> None:
        self._cache: TTLCache[Hashable, tuple[Catalog, bytes]] = TTLCache(
            maxsize=self.MAX_BYTES, ttl=ttl_seconds, getsizeof=lambda entry: len(entry[1]))
        self._lock = threading.Lock()

    def get(self, key: Hashable, catalog: Catalog) -> bytes | None:
        with self._lock:
            entry = self._cache.get(key)
        return entry[1] if entry is not None and entry[0] is catalog else None

    def put(self, key: Hashable, catalog: Catalog, body: bytes) -> None:
        if len(body) <= self.MAX_BYTES:
            with self._lock:
                self._cache[key] = (catalog, body)


def catalogue_bodies() -> CatalogueBodies:
    """The current app's cache of catalogue bodies, made on first use."""
    bodies = current_app.extensions.get("configapp.catalogue_bodies")
    if bodies is None:
        bodies = current_app.extensions.setdefault(
            "configapp.catalogue_bodies",
            CatalogueBodies(components().settings.model_cache_ttl))
    return bodies


def model_config_view(model: ModelInfo, config: ModelConfig) -> dict[str, Any]:
    parts = components()
    active = parts.config.storage.active_api_key(model.provider)
    return {"model": model, "is_default": config.is_default, "parameters": config.parameters,
            "bounds": parts.config.bounds(model), "updated_at": config.updated_at,
            "budget_warnings": parts.usage.warnings(model.provider,
                                                    active.id if active else None)}


def curated_entries(models: list[ModelInfo], include_hidden: bool,
                    extra: Callable[[ModelInfo], dict[str, Any]] | None = None,
                    ) -> list[dict[str, Any]]:
    """The catalogue entries as JSON objects: hidden ones left out (or flagged, when asked
    for), and the date a provider stopped listing a model where it did."""
    curation = components().curation
    visibility = curation.visibility()
    withdrawn = curation.withdrawn()
    entries = []
    for model in models:
        hidden = visibility.hides(model.id, model.provider)
        if hidden and not include_hidden:
            continue
        entry = asdict(model)
        if extra is not None:
            entry.update(extra(model))
        if include_hidden:
            entry["hidden"] = hidden
        if model.id in withdrawn:
            entry["withdrawn_at"] = withdrawn[model.id].isoformat()
        entries.append(entry)
    return entries


def live_catalogue_body(provider: str | None, text: str | None,
                        query: dict[str, Any]) -> bytes:
    """The catalogue with each configured provider's live listing (never cached here: the
    listings have their own cache)."""
    parts = components()
    listings = parts.discovery.listings(query["refresh"])
    source, models = parts.config.catalog(provider, text, query["configured"])
    entries = curated_entries(models, query["include_hidden"],
                              lambda model: reachability(model, listings))
    return json.dumps({
        "source": source, "count": len(entries), "models": entries,
        "live": {name: listing_view(item) for name, item in listings.items()},
        "warnings": listing_warnings(listings),
    }, separators=(",", ":")).encode()


@blp.route("/models")
class Models(MethodView):
    # An instance: given the class, webargs builds a schema (deep-copying its fields) per
    # request.
    @blp.arguments(ModelQuerySchema(), location="query")
    @blp.response(200, LiveCatalogSchema)
    def get(self, query: dict[str, Any]) -> Response:
        """The catalogue of chat models, filtered by provider, search text or configured
        providers; `source` says whether it is LiteLLM's metadata or the fallback list.
        With `live`, each configured provider's models endpoint is asked (answers cached for
        the catalogue's TTL) and every entry says whether the key can reach it."""
        provider, text = query.get("provider"), query.get("q")
        if query["live"] or query["refresh"]:
            return Response(live_catalogue_body(provider, text, query),
                            mimetype="application/json")
        return catalogue_response(provider, text, query["configured"], query["include_hidden"])


def catalogue_response(provider: str | None, text: str | None, configured_only: bool,
                       include_hidden: bool) -> Response:
    """The catalogue from LiteLLM's metadata (or the fallback list), its body cached."""
    parts = components()
    configured = frozenset(parts.config.configured_providers()) if configured_only else None
    # The revision moves with every hide, show and withdrawn mark, on any instance.
    key = (provider, text, configured, include_hidden, parts.config.revision())
    catalog = parts.config.catalog_source.catalog()
    body = catalogue_bodies().get(key, catalog)
    if body is None:
        source, models = parts.config.catalog(provider, text)
        if configured is not None:  # the set in the key, so the body matches its key
            models = [model for model in models if model.provider in configured]
        entries = curated_entries(models, include_hidden)
        # Serialised by hand: thousands of entries through marshmallow cost tens of ms.
        body = json.dumps({"source": source, "count": len(entries), "models": entries},
                          separators=(",", ":")).encode()
        catalogue_bodies().put(key, catalog, body)
    return Response(body, mimetype="application/json")


@fast_path(blp, "Models")
def plain_catalogue() -> Response | None:
    """The Playground's and the extension's catalogue request (no filter, or only
    `configured`), answered without flask-smorest's wrappers; any other query goes to
    the documented view, which checks it."""
    args = request.args
    if not args:
        return catalogue_response(None, None, False, False)
    if len(args) == 1:
        flags = args.getlist("configured")
        if len(flags) == 1 and flags[0] in BOOLEAN_WORDS:
            return catalogue_response(None, None, flags[0] in TRUE_WORDS, False)
    return None


@blp.route("/models/selected")
class SelectedModel(MethodView):
    @blp.response(200, ModelConfigSchema)
    @blp.alt_response(404, description="No default model is chosen")
    def get(self) -> dict[str, Any]:
        """The default model (the chat purpose; an alias gives its model) with its
        parameters and their bounds, and warnings about any purpose or alias whose model
        is going away or cannot be used."""
        curation = components().curation
        resolved, config = curation.selected()
        return {**model_config_view(resolved.model, config), "alias": resolved.alias,
                "warnings": curation.warnings()}


@blp.route("/models/<path:model_id>/select")
class SelectModel(MethodView):
    @blp.response(200, ModelConfigSchema)
    @blp.alt_response(404, description="Unknown model")
    @blp.alt_response(422, description="The model is hidden")
    def post(self, model_id: str) -> dict[str, Any]:
        """Make this model (or alias) the default: the chat purpose."""
        parts = components()
        curation = parts.curation
        try:
            resolved, config = curation.select(model_id)
        except ModelNotFoundError:
            # A model only a provider lists is known to the processes that asked it: this
            # worker may not have yet. Ask the provider the name names, if it is configured
            # (cached for the TTL; no other provider's key goes out), then decide.
            parts.discovery.listings(only=normalise_provider(model_id.split("/", 1)[0]))
            resolved, config = curation.select(model_id)
        return {**model_config_view(resolved.model, config), "alias": resolved.alias}


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
