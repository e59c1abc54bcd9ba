"""The extension's snapshot, with a strong ETag so that an unchanged one costs a 304."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.views import MethodView

from configapp.api.blueprint import ApiBlueprint
from configapp.api.schemas import SyncSchema
from configapp.components import components

blp = ApiBlueprint("sync", __name__, url_prefix="/api/config",
                   description="Snapshot for the browser extension's read-only cache")


@blp.route("/sync")
class Sync(MethodView):
    @blp.response(200, SyncSchema)
    @blp.alt_response(304, description="Not modified (If-None-Match matched)")
    def get(self) -> Response | dict[str, Any]:
        """Masked keys per provider, the selected model and its parameters, the purposes,
        aliases and warnings, a revision."""
        service = components().config
        revision = service.revision()
        if request.if_none_match.contains(revision):
            response = Response(status=304, headers={"Cache-Control": "no-cache"})
            response.set_etag(revision)
            return response
        snapshot = components().curation.extend_snapshot(service.snapshot())
        return snapshot, 200, {"ETag": f'"{snapshot["revision"]}"',
                               "Cache-Control": "no-cache"}
