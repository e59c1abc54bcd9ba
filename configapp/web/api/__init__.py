"""The HTTP API: flask-smorest blueprints, the OpenAPI document, error handlers."""

from __future__ import annotations

from apispec import APISpec
from flask import Flask

from configapp.web.api import chat, clients, curation, health, keys, models, sync, usage
from configapp.web.api.errors import ConfigApi, register_domain_errors
from configapp.web.security import Mount

API_BLUEPRINTS = (keys.blp, models.blp, curation.blp, sync.blp, chat.blp, usage.blp,
                  clients.blp)
# Read by flask-smorest as CONFIGAPP_API_TITLE, ...: a host's own Api keeps its settings.
CONFIG_PREFIX = "CONFIGAPP_"


def api_blueprint_names() -> frozenset[str]:
    return frozenset(blueprint.name for blueprint in (*API_BLUEPRINTS, health.blp))


def register_api(app: Flask, providers: list[str], mount: Mount) -> ConfigApi:
    """Register the blueprints under the mount's prefix; `providers` (known at start)
    become the document's enum."""
    for name, value in (("API_TITLE", "configapp"), ("API_VERSION", "1.0"),
                        ("OPENAPI_VERSION", "3.0.3"), ("OPENAPI_URL_PREFIX", f"{mount.prefix}/api"),
                        ("OPENAPI_JSON_PATH", "openapi.json")):
        app.config.setdefault(CONFIG_PREFIX + name, value)
    api = ConfigApi(app, mount.owns, config_prefix=CONFIG_PREFIX)
    for blueprint in API_BLUEPRINTS:
        api.register_blueprint(blueprint, url_prefix=mount.prefix + blueprint.url_prefix)
    api.then(lambda spec: document_access(spec, providers))
    app.register_blueprint(health.blp, url_prefix=mount.prefix or None)
    register_domain_errors(app)
    return api


def document_access(spec: APISpec, providers: list[str]) -> None:
    """The document's own additions: the providers' enum and how to sign in."""
    spec.components.schemas["ApiKeyCreate"]["properties"]["provider"]["enum"] = providers
    # Locked by default (ADR 0006): every operation needs one of these; 401 otherwise.
    spec.components.security_scheme("bearerAuth", {
        "type": "http", "scheme": "bearer",
        "description": "The API token (CONFIGAPP_API_TOKEN, or the one made at first start)."})
    spec.components.security_scheme("sessionCookie", {
        "type": "apiKey", "in": "cookie", "name": "configapp_session_8000",
        "description": "The Playground's session (POST /login); named after the port."})
    spec.options["security"] = [{"bearerAuth": []}, {"sessionCookie": []}]
