"""/v1's errors in OpenAI's shape and statuses, so that OpenAI's SDKs raise their own classes.

`{"error": {"message", "type", "param", "code"}}`: 401 invalid_api_key, 404 model_not_found,
429 insufficient_quota, 400 for a bad request, 502/504 for a provider's failure. A message
never names a base URL (the provider's messages say where they failed: not to a client)
nor a key (the gateway scrubs the provider's words).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, jsonify
from werkzeug.exceptions import HTTPException

from configapp.catalog.curation import ModelHiddenError, ModelUnavailableError
from configapp.chat.usage import BudgetExceededError
from configapp.domain import (
    ConfigurationError,
    InvalidEncryptionKeyError,
    ModelNotFoundError,
    ParameterOutOfBoundsError,
    ProviderKeyMissingError,
)
from configapp.providers.llm import ProviderError

# " at http://host:port" / " from https://host" as the gateway words them, then any other URL.
WHERE = re.compile(r"\s+(?:at|from)\s+[a-z][a-z0-9+.-]*://[^\s]+?(?=[.:,;)]?(?:\s|$))", re.I)
URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s]+", re.I)
# A model the caller may not use is, to the caller, a model that does not exist.
NOT_FOUND = (ModelNotFoundError, ModelHiddenError, ModelUnavailableError,
             ProviderKeyMissingError)


class OpenAIError(Exception):
    """A refusal /v1 makes itself (a wrong token, `n` > 1, a malformed body)."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.code, self.param = (
            status, message, kind, code, param)


def without_urls(message: str) -> str:
    return URL.sub("its base URL", WHERE.sub("", message))


def error_response(status: int, message: str, kind: str, code: str | None = None,
                   param: str | None = None, headers: dict[str, str] | None = None
                   ) -> Response:
    response = jsonify(error_body(message, kind, code, param))
    response.status_code = status
    response.headers.update(headers or {})
    return response


def error_body(message: str, kind: str, code: str | None = None,
               param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": without_urls(message), "type": kind, "param": param,
                      "code": code}}


def provider_failure(error: ProviderError) -> tuple[int, dict[str, Any]]:
    """(status, body) of a provider's failure: 504 when it did not answer in time, else 502."""
    return error.http_status, error_body(error.message, "api_error", error.kind)


def domain_error(error: ConfigurationError) -> Response:
    if isinstance(error, BudgetExceededError):
        return error_response(429, str(error), "insufficient_quota", "insufficient_quota")
    if isinstance(error, NOT_FOUND):
        return error_response(404, str(error), "invalid_request_error", "model_not_found",
                              "model")
    if isinstance(error, InvalidEncryptionKeyError):
        return error_response(503, str(error), "api_error")
    param = None
    if isinstance(error, ParameterOutOfBoundsError):
        name, problems = next(iter(error.errors.items()))
        param, message = name, f"{name}: {problems[0]}"
    else:
        message = str(error)
    return error_response(400, message, "invalid_request_error", None, param)


def http_error(error: HTTPException) -> Response:
    """Werkzeug's and the safety net's refusals (413, 415, a wrong Host...), reshaped."""
    data = getattr(error, "data", None) or {}
    message = data.get("message") or error.description or error.name
    status = error.code or 500
    kind = "rate_limit_exceeded" if status == 429 else (
        "invalid_request_error" if status < 500 else "api_error")
    headers = {name: value for name, value in error.get_headers() if name == "Retry-After"}
    headers.update(data.get("headers") or {})
    return error_response(status, str(message), kind, None, None, headers)


def install_errors(blp: Blueprint) -> None:
    """Register the handlers on /v1's blueprint: they come before the app's."""
    blp.register_error_handler(OpenAIError, lambda e: error_response(
        e.status, e.message, e.kind, e.code, e.param))
    blp.register_error_handler(ConfigurationError, domain_error)
    blp.register_error_handler(ProviderError, lambda e: _provider_response(e))
    blp.register_error_handler(HTTPException, http_error)


def _provider_response(error: ProviderError) -> Response:
    status, body = provider_failure(error)
    response = jsonify(body)
    response.status_code = status
    return response
