"""The HTTP API: flask-smorest blueprints, the OpenAPI document, error handlers."""

from __future__ import annotations

from flask import Flask

from configapp.api import chat, health, keys, models, sync
from configapp.api.errors import ConfigApi, register_domain_errors


def register_api(app: Flask) -> ConfigApi:
    api = ConfigApi(app)
    for module in (keys, models, sync, chat):
        api.register_blueprint(module.blp)
    app.register_blueprint(health.blp)
    register_domain_errors(app)
    return api
