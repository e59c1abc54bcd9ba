"""/v1: an OpenAI-compatible face for local tools (the `openai` SDK, the `llm` CLI, Open
WebUI), with the same keys, curation, aliases, budgets and ledger as the Playground.

Its own Bearer-only sign-in (caller.py), its own error shape (errors.py), no CORS: it
serves programs, not pages (configapp/web/security.py leaves it to this package).
"""

from __future__ import annotations

from flask import Blueprint, Flask

from configapp.web.openai.errors import install_errors
from configapp.web.openai.views import chat_completions, list_models

blp = Blueprint("v1", __name__)
blp.add_url_rule("/models", "models", list_models, methods=["GET"])
blp.add_url_rule("/chat/completions", "chat_completions", chat_completions, methods=["POST"])
install_errors(blp)


def register_openai(app: Flask, prefix: str = "") -> None:
    """Serve /v1 under the mount's prefix."""
    app.register_blueprint(blp, url_prefix=f"{prefix}/v1")
