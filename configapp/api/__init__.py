"""The HTTP API: flask-smorest blueprints, the OpenAPI document, error handlers."""

from __future__ import annotations

from flask import Flask

from configapp.api import chat, health, keys, models, sync
from configapp.api.errors import ConfigApi, register_domain_errors


def register_api(app: Flask, providers: list[str]) -> ConfigApi:
    """Register the blueprints; `providers` (known at start) become the document's enum."""
    api = ConfigApi(app)
    for module in (keys, models, sync, chat):
        api.register_blueprint(module.blp)
    api.spec.components.schemas["ApiKeyCreate"]["properties"]["provider"]["enum"] = providers
    # Locked by default (ADR 0006): every operation needs one of these; 401 otherwise.
    api.spec.components.security_scheme("bearerAuth", {
        "type": "http", "scheme": "bearer",
        "description": "The API token (CONFIGAPP_API_TOKEN, or the one made at first start)."})
    api.spec.components.security_scheme("sessionCookie", {
        "type": "apiKey", "in": "cookie", "name": "configapp_session_8000",
        "description": "The Playground's session (POST /login); named after the port."})
    api.spec.options["security"] = [{"bearerAuth": []}, {"sessionCookie": []}]
    app.register_blueprint(health.blp)
    register_domain_errors(app)
    return api
