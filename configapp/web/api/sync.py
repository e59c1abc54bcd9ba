"""The extension's snapshot, with a strong ETag so that an unchanged one costs a 304."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.views import MethodView

from configapp.components import components
from configapp.web.api.blueprint import ApiBlueprint, fast_path
from configapp.web.api.schemas import SyncSchema

blp = ApiBlueprint("sync", __name__, url_prefix="/api/config",
                   description="Snapshot for the browser extension's read-only cache")


@blp.route("/sync")
class Sync(MethodView):
    @blp.response(200, SyncSchema)
    @blp.alt_response(304, description="Not modified (If-None-Match matched)")
    def get(self) -> Response | dict[str, Any]:
        """Masked keys per provider, the selected model and its parameters, the purposes,
        aliases and warnings, the month's spending and budget warnings, a revision (read
        first: it never claims more than the content holds)."""
        parts = components()
        revision = parts.usage.sync_revision()
        if request.if_none_match.contains(revision):
            return not_modified(revision)
        snapshot = {**parts.curation.extend_snapshot(parts.config.snapshot()),
                    "revision": revision, "usage": parts.usage.month_summary(),
                    "budget_warnings": parts.usage.warnings(every=True)}
        return snapshot, 200, {"ETag": f'"{snapshot["revision"]}"',
                               "Cache-Control": "no-cache"}


def not_modified(revision: str) -> Response:
    response = Response(status=304, headers={"Cache-Control": "no-cache"})
    response.set_etag(revision)
    return response


@fast_path(blp, "Sync")
def unchanged_snapshot() -> Response | None:
    """The extension's poll, most often a 304: answered without flask-smorest's wrappers."""
    if request.if_none_match:
        revision = components().usage.sync_revision()
        if request.if_none_match.contains(revision):
            return not_modified(revision)
    return None
