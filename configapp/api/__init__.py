"""The HTTP API: flask-smorest blueprints, the OpenAPI document, error handlers."""

from __future__ import annotations

from flask import Flask

from configapp.api import chat, health, keys, models, sync, usage
from configapp.api.errors import ConfigApi, register_domain_errors


def register_api(app: Flask, providers: list[str]) -> ConfigApi:
    """Register the blueprints; `providers` (known at start) become the document's enum."""
    api = ConfigApi(app)
    for module in (keys, models, sync, chat, usage):
        api.register_blueprint(module.blp)
    api.spec.components.schemas["ApiKeyCreate"]["properties"]["provider"]["enum"] = providers
    app.register_blueprint(health.blp)
    register_domain_errors(app)
    return api
