"""The Playground's pages: Chat at `/`, Settings at `/settings`, their files under `/assets/`.

A browser that is not signed in is sent to `<prefix>/login?next=<page>`, which says how to
sign in; the files under `/assets/` are open (they hold no data).

The files live in the package's `playground/` folder and are served as they are (no build
step, no template): the pages hold no inline script or style, so the app's strict
Content-Security-Policy applies to them unchanged.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, redirect, send_from_directory, url_for

from configapp.components import components
from configapp.web.security import signed_in

PLAYGROUND_DIR = Path(__file__).resolve().parents[1] / "playground"
PAGES = {"chat": "index.html", "settings": "settings.html"}
ASSET_FOLDERS = ("css/", "js/", "img/", "vendor/")

blp = Blueprint("configapp_pages", __name__)


def send_page(filename: str) -> Response:
    # Revalidate every time (ETag / Last-Modified answer 304): an upgrade shows at once.
    response = send_from_directory(PLAYGROUND_DIR, filename, max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


@blp.get("/")
def chat() -> Response:
    """The Chat page."""
    return _page("/", PAGES["chat"])


@blp.get("/settings")
def settings() -> Response:
    """The Settings page: API keys, the default model and its parameters."""
    return _page("/settings", PAGES["settings"])


def _page(path: str, filename: str) -> Response:
    """The page, or (configapp's own sign-in, not signed in) the sign-in page's address.
    Under a host's `authorize` hook the security guard has already asked the hook."""
    gate = components().gate
    if gate.enabled and not signed_in(gate, page=True):
        return redirect(url_for("configapp_signin.login_page") + f"?next={path}", code=303)
    return send_page(filename)


@blp.get("/assets/<path:filename>")
def asset(filename: str) -> Response:
    """The pages' stylesheets, ES modules and images."""
    if not filename.startswith(ASSET_FOLDERS):
        return Response(status=404)
    return send_page(filename)
