"""Every route of the app as a concrete request, and a snapshot of the settings it may change.

The hostile-request tests walk these: the app's URL map (the OpenAPI document's operations
and the pages), each method, with a valid body for each write, so that when a request is
refused it is the hostile part (host, origin, body type, token, bad input) that was refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import text

from configapp.records import db
from tests.conftest import TEST_API_TOKEN

MODEL = "openai/gpt-4o-mini"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A body each write accepts as it is (so only what a test changes in it can be refused).
VALID_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/config/api-keys"): {"provider": "anthropic",
                                       "api_key": "sk-ant-walk-0000abcd"},
    ("PATCH", "/api/config/api-keys/<key_id>"): {"key_name": "renamed"},
    ("PUT", "/api/config/models/<model_id>/parameters"): {"temperature": 0.5},
    ("POST", "/api/chat"): {"messages": [{"role": "user", "content": "hello"}]},
    ("POST", "/api/chat/count"): {"messages": [{"role": "user", "content": "hello"}],
                                  "reply": "Hello"},
    ("POST", "/login"): {"token": TEST_API_TOKEN},
    ("PATCH", "/api/config/curation/<provider>"): {"show": [MODEL]},
    ("PUT", "/api/config/aliases/<name>"): {"model": MODEL},
    ("PUT", "/api/config/purposes/<name>"): {"model": MODEL},
    ("PUT", "/api/config/budgets/<scope>/<target>"): {"monthly_limit": 20},
    ("POST", "/api/config/clients"): {"name": "walk", "models": [MODEL], "monthly_limit": 5},
    ("PATCH", "/api/config/clients/<client_id>"): {"name": "renamed"},
    ("POST", "/v1/chat/completions"): {"messages": [{"role": "user", "content": "hello"}]},
}


@dataclass(frozen=True)
class Route:
    """One method on one route, with a concrete path and (for writes) a valid body."""

    method: str
    rule: str
    path: str
    body: dict[str, Any] | None = None

    @property
    def writes(self) -> bool:
        return self.method in WRITE_METHODS

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def template(rule: str) -> str:
    """`/api/config/api-keys/<int(max=2147483647):key_id>` -> `/api/config/api-keys/<key_id>`."""
    return re.sub(r"<(?:[^<>]*:)?([a-z_]+)>", r"<\1>", rule)


def every_route(app: Flask, key_id: int, methods: frozenset[str] | None = None) -> list[Route]:
    """Each (method, route) of the URL map, `<key_id>` being `key_id`; writes with a body."""
    values = {"key_id": str(key_id), "client_id": str(key_id), "model_id": MODEL,
              "filename": "css/app.css", "provider": "openai", "name": "fast",
              "scope": "provider", "target": "openai",
              "receipt": "walk"}  # malformed: its 404 does not wait for a row
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        shape = template(rule.rule)
        path = re.sub(r"<([a-z_]+)>", lambda match: values[match.group(1)], shape)
        for method in sorted(rule.methods or ()):
            if methods is None or method in methods:
                routes.append(Route(method, shape, path, VALID_BODIES.get((method, shape))))
    return routes


def documented_operations(document: dict[str, Any]) -> dict[tuple[str, str], bool]:
    """(method, route) of each operation in the OpenAPI document: whether it takes a body."""
    return {(method.upper(), re.sub(r"{([a-z_]+)}", r"<\1>", path)): "requestBody" in operation
            for path, operations in document["paths"].items()
            for method, operation in operations.items() if method != "parameters"}


def settings_state(app: Flask) -> dict[str, Any]:
    """The revision and every settings row (a key's last_used_at aside: using is not
    changing), to show that a refused request changed nothing."""
    with app.app_context():
        try:
            return {
                "revision": tuple(db.session.execute(text(
                    "SELECT store_id, counter FROM settings_revision")).one()),
                "api_keys": [tuple(row) for row in db.session.execute(text(
                    "SELECT id, provider, key_name, encrypted_key, masked_key, api_base, "
                    "is_active, updated_at FROM api_keys ORDER BY id"))],
                "model_configs": [tuple(row) for row in db.session.execute(text(
                    "SELECT model_id, is_default, parameters, updated_at FROM model_configs "
                    "ORDER BY model_id"))],
                "budgets": [tuple(row) for row in db.session.execute(text(
                    "SELECT scope, target, monthly_limit, updated_at FROM budgets "
                    "ORDER BY scope, target"))],
                "clients": [tuple(row) for row in db.session.execute(text(
                    "SELECT id, name, token_hash, models, monthly_limit, updated_at "
                    "FROM clients ORDER BY id"))],
            }
        finally:
            db.session.remove()


def assert_error_shape(response: Any, status: int | tuple[int, ...]) -> dict[str, Any]:
    """The answer is the API's JSON error `{code, status, message}` (on /v1, OpenAI's
    `{"error": {message, type, param, code}}`, returned as the former) with the status."""
    statuses = (status,) if isinstance(status, int) else status
    assert response.status_code in statuses, (response.status_code, response.get_data()[:300])
    body = response.get_json(silent=True)
    assert isinstance(body, dict), response.get_data()[:300]
    if isinstance(body.get("error"), dict):  # /v1 answers in OpenAI's shape
        error = body["error"]
        assert set(error) == {"message", "type", "param", "code"}, error
        body = {"code": response.status_code, "status": error["type"],
                "message": error["message"]}
    assert body["code"] == response.status_code
    assert isinstance(body["status"], str) and body["status"]
    assert isinstance(body["message"], str) and body["message"]
    return body
