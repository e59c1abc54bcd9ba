"""Model curation: which models are shown, aliases, and a default model per purpose."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask.views import MethodView

from configapp.catalog.curation import ModelCuration
from configapp.components import components
from configapp.domain import Alias, ConfigurationError, VisibilityChange
from configapp.web.api.blueprint import TOO_LARGE, ApiBlueprint
from configapp.web.api.curation_schemas import (
    AliasInputSchema,
    AliasSchema,
    CurationQuerySchema,
    CurationSchema,
    ProviderVisibilitySchema,
    PurposeInputSchema,
    PurposeSchema,
    PurposesSchema,
    VisibilityChangeSchema,
)

blp = ApiBlueprint("curation", __name__, url_prefix="/api/config",
                   description="Hidden models, aliases and a default model per purpose")


def alias_view(curation: ModelCuration, alias: Alias) -> dict[str, Any]:
    try:
        model = asdict(curation.resolve(alias.name).model)
    except ConfigurationError:
        model = None
    return {"name": alias.name, "target": alias.target, "parameters": alias.parameters,
            "fallbacks": list(alias.fallbacks), "model": model}


def purpose_view(curation: ModelCuration, name: str) -> dict[str, Any]:
    return next(p for p in curation.purposes() if p["name"] == name)


@blp.route("/curation")
class Curation(MethodView):
    @blp.arguments(CurationQuerySchema, location="query")
    @blp.response(200, CurationSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Per provider, how many of its models are shown ("12 of 400")."""
        return {"providers": components().curation.counts(query.get("provider"))}


@blp.route("/curation/<string(maxlength=64):provider>")
class ProviderCuration(MethodView):
    @blp.arguments(VisibilityChangeSchema)
    @blp.response(200, ProviderVisibilitySchema)
    @blp.alt_response(404, description="Unknown provider")
    @blp.alt_response(413, description=TOO_LARGE)
    @blp.alt_response(422, description="A model unknown or of another provider (nothing is "
                                       "changed)")
    def patch(self, body: dict[str, Any], provider: str) -> dict[str, Any]:
        """Hide or show models of a provider, or all of them but a chosen few (`only`), in
        one request; applied in the order show_all, only, hide, show."""
        only = body["only"]
        return components().curation.change_visibility(VisibilityChange(
            provider, tuple(body["hide"]), tuple(body["show"]),
            tuple(only) if only is not None else None, body["show_all"]))


@blp.route("/aliases")
class Aliases(MethodView):
    @blp.response(200, AliasSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Every alias, with the model it comes to."""
        curation = components().curation
        return [alias_view(curation, alias)
                for alias in sorted(curation.aliases().values(), key=lambda a: a.name)]


@blp.route("/aliases/<path:name>")
class AliasByName(MethodView):
    @blp.arguments(AliasInputSchema)
    @blp.response(200, AliasSchema)
    @blp.alt_response(404, description="The target is not a known model or alias")
    @blp.alt_response(413, description=TOO_LARGE)
    @blp.alt_response(422, description="Not a slug, shadows a model id, loops, points at a "
                                       "hidden model, or parameters out of bounds")
    def put(self, body: dict[str, Any], name: str) -> dict[str, Any]:
        """Create or change an alias: a name for a model (or another alias) with its own
        parameters, which win over the model's stored ones, and its fallbacks (no loops,
        no hidden models)."""
        curation = components().curation
        alias = curation.set_alias(name, body["model"], body["parameters"], body["fallbacks"])
        return alias_view(curation, alias)

    @blp.response(204)
    @blp.alt_response(404, description="No such alias")
    @blp.alt_response(409, description="A purpose or another alias points at it")
    def delete(self, name: str) -> None:
        """Delete an alias no purpose or alias points at."""
        components().curation.delete_alias(name)


@blp.route("/purposes")
class Purposes(MethodView):
    @blp.response(200, PurposesSchema)
    def get(self) -> dict[str, Any]:
        """Each purpose (chat, title, extension, and those added) with its model, and the
        warnings about purposes and aliases whose model is going away."""
        curation = components().curation
        return {"purposes": curation.purposes(), "warnings": curation.warnings()}


@blp.route("/purposes/<string(maxlength=100):name>")
class PurposeByName(MethodView):
    @blp.arguments(PurposeInputSchema)
    @blp.response(200, PurposeSchema)
    @blp.alt_response(404, description="Unknown model or alias")
    @blp.alt_response(413, description=TOO_LARGE)
    @blp.alt_response(422, description="Not a slug, or the model is hidden")
    def put(self, body: dict[str, Any], name: str) -> dict[str, Any]:
        """Point a purpose at a model or an alias (`chat` is the default model), with its
        fallbacks."""
        curation = components().curation
        curation.set_purpose(name, body["model"], body["fallbacks"])
        return purpose_view(curation, name)

    @blp.response(204)
    @blp.alt_response(404, description="No such purpose")
    @blp.alt_response(422, description="Not a slug")
    def delete(self, name: str) -> None:
        """Unset a purpose (a built-in one stays listed, with no model)."""
        components().curation.clear_purpose(name)
