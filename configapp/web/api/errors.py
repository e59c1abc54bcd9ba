"""Every error as JSON `{code, status, message, errors}`; domain exceptions mapped once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from configapp.access.clients import ClientNameTakenError, ClientNotFoundError
from configapp.catalog.curation import ModelUnavailableError
from configapp.chat.usage import BudgetExceededError, BudgetNotFoundError, UsageNotFoundError
from configapp.domain import (
    ApiKeyNotFoundError,
    ConfigurationError,
    InvalidEncryptionKeyError,
    ModelNotFoundError,
    ProviderKeyMissingError,
)
from configapp.providers.llm import ProviderError
from configapp.web.api.lazy_doc import LazyDocApi

# Most specific first: the first match wins.
DOMAIN_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (BudgetExceededError, 402),
    (BudgetNotFoundError, 404),
    (UsageNotFoundError, 404),
    (ClientNotFoundError, 404),
    (ClientNameTakenError, 409),
    (ProviderKeyMissingError, 409),
    (ModelUnavailableError, 409),
    (ApiKeyNotFoundError, 404),
    (ModelNotFoundError, 404),
    (InvalidEncryptionKeyError, 503),
    (ConfigurationError, 422),
)
LOCATIONS = ("json", "query", "path", "headers", "form", "files", "cookies", "view_args")


def error_payload(code: int, message: str,
                  errors: dict[str, Any] | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"code": code, "status": HTTP_STATUS_CODES.get(code, "Error"),
                               "message": message}
    if errors:
        payload["errors"] = errors
    return payload


def flatten_errors(messages: dict[str, Any]) -> dict[str, Any]:
    """webargs nests errors by location ({"json": {"field": [...]}}); a person wants fields."""
    flat: dict[str, Any] = {}
    for key, value in messages.items():
        if key in LOCATIONS and isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    return flat


def _summary(errors: dict[str, Any]) -> str:
    parts = []
    for field, problems in list(errors.items())[:3]:
        text = problems[0] if isinstance(problems, list) and problems else problems
        label = "body" if field == "_schema" else field
        parts.append(f"{label}: {text}" if isinstance(text, str) else f"{label} is invalid")
    return "The request is not valid. " + "; ".join(parts)


class ConfigApi(LazyDocApi):
    """flask-smorest's Api with a message on every error and the Allow header on 405 (and
    its OpenAPI document written on its first read: lazy_doc.py).

    `owns()` says whether the current request is configapp's: in a host app, the host's
    own routes keep their error pages (or the host's handler, if it has one).
    """

    def __init__(self, app: Flask, owns: Callable[[], bool], *, config_prefix: str) -> None:
        self.owns = owns
        super().__init__(app, config_prefix=config_prefix)

    def _register_error_handlers(self) -> None:
        hosts = self._app.error_handler_spec[None][None].get(HTTPException)

        def handle(error: HTTPException) -> Any:
            if self.owns():
                return self.handle_http_exception(error)
            return hosts(error) if hosts is not None else error

        self._app.register_error_handler(HTTPException, handle)

    def handle_http_exception(self, error: HTTPException) -> tuple[dict[str, Any], int, dict]:
        code = error.code or 500
        data = getattr(error, "data", None) or {}
        headers = dict(data.get("headers") or {})
        errors = data.get("errors") or data.get("messages")
        errors = flatten_errors(errors) if isinstance(errors, dict) else None
        message = data.get("message") or (_summary(errors) if errors else error.description)
        if code == 405 and getattr(error, "valid_methods", None):
            headers["Allow"] = ", ".join(error.valid_methods)
        if code == 401:
            headers.setdefault("WWW-Authenticate", 'Bearer realm="configapp"')
        return error_payload(code, message or error.name, errors), code, headers


def register_domain_errors(app: Flask) -> None:
    def handle(error: ConfigurationError) -> tuple[dict[str, Any], int]:
        code = next(status for kind, status in DOMAIN_STATUS if isinstance(error, kind))
        errors = getattr(error, "errors", None)  # ParameterOutOfBounds, CurationInput
        return error_payload(code, str(error), errors), code

    def too_deep(_error: RecursionError) -> tuple[dict[str, Any], int]:
        return error_payload(400, "The JSON body is nested too deeply."), 400

    def provider_failed(error: ProviderError) -> tuple[dict[str, Any], int]:
        code = error.http_status
        return error_payload(code, error.message, {"provider": [error.kind]}), code

    app.register_error_handler(ConfigurationError, handle)
    app.register_error_handler(ProviderError, provider_failed)
    app.register_error_handler(RecursionError, too_deep)
