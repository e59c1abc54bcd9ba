"""The Playground's pages: Chat at `/`, Settings at `/settings`, their files under `/assets/`.

The files live in the package's `playground/` folder and are served as they are (no build
step, no template): the pages hold no inline script or style, so the app's strict
Content-Security-Policy applies to them unchanged.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, send_from_directory

PLAYGROUND_DIR = Path(__file__).resolve().parent / "playground"
PAGES = {"chat": "index.html", "settings": "settings.html"}
ASSET_FOLDERS = ("css/", "js/", "img/", "vendor/")

blp = Blueprint("configapp_pages", __name__)


def _send(filename: str) -> Response:
    # Revalidate every time (ETag / Last-Modified answer 304): an upgrade shows at once.
    response = send_from_directory(PLAYGROUND_DIR, filename, max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


@blp.get("/")
def chat() -> Response:
    """The Chat page."""
    return _send(PAGES["chat"])


@blp.get("/settings")
def settings() -> Response:
    """The Settings page: API keys, the default model and its parameters."""
    return _send(PAGES["settings"])


@blp.get("/assets/<path:filename>")
def asset(filename: str) -> Response:
    """The pages' stylesheets, ES modules and images."""
    if not filename.startswith(ASSET_FOLDERS):
        return Response(status=404)
    return _send(filename)
