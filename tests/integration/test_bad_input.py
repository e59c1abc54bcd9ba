"""Bad input on every route that takes any: a clear 4xx in the JSON error shape, and the
settings rows and revision exactly as they were.

Bodies that are not JSON the app can read (too big, too deep, not UTF-8, numbers Python
refuses to parse, lone surrogates), values no field takes (NUL bytes, very long strings,
SQL-looking strings where a name is expected, huge numbers), and paths and queries with
the same. SQL-looking text where free text is allowed (a key's name) is stored verbatim.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from configapp.domain import SealedKey
from tests.integration.routes import MODEL, assert_error_shape, settings_state

HUGE_INT = "9" * 5000  # more digits than Python parses by default (4300)
LONG = "x" * 100_000
SQL = "x'); DROP TABLE api_keys; --"
NUL = "open\u0000ai"
JSON_ROUTES = {
    "add a key": ("POST", "/api/config/api-keys"),
    "patch a key": ("PATCH", "/api/config/api-keys/{key_id}"),
    "set parameters": ("PUT", f"/api/config/models/{MODEL}/parameters"),
    "chat": ("POST", "/api/chat"),
}
UNREADABLE_BODIES: dict[str, tuple[bytes, int]] = {
    "oversized": (json.dumps({"key_name": "x" * (1024 * 1024 + 1)}).encode(), 413),
    "deep arrays": (b"[" * 100_000 + b"]" * 100_000, 400),
    "deep objects": (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, 400),
    "invalid UTF-8": (b'{"key_name": "\xff\xfe\xfd"}', 400),
    "truncated": (b'{"key_name": "abc', 400),
    "not an object": (b'["key_name"]', 422),
    "a bare string": (b'"hello"', 422),
}


@dataclass(frozen=True)
class Case:
    label: str
    method: str
    path: str
    body: bytes | None
    status: int | tuple[int, ...]


def field_cases(key_id: int) -> list[Case]:
    """Schema-valid JSON with values no field takes."""
    key = {"provider": "openai", "api_key": "sk-bad-input-1234"}
    chat = {"messages": [{"role": "user", "content": "hello"}]}
    values = {
        ("POST", "/api/config/api-keys"): [
            ({**key, "provider": LONG}, 422),
            ({**key, "provider": SQL}, 422), ({**key, "provider": 10**100}, 422),
            ({**key, "api_key": "sk-" + LONG}, 422),
            ({**key, "key_name": LONG}, 422), ({**key, "api_base": SQL}, 422),
            ({**key, "api_base": "http://" + LONG}, 422), ({**key, "is_active": 10**100}, 422),
        ],
        ("PATCH", f"/api/config/api-keys/{key_id}"): [
            ({"key_name": LONG}, 422),
            ({"is_active": "true"}, 422), ({"is_active": 10**100}, 422),
            ({"key_name": "x", "id": 1}, 422),
        ],
        ("PUT", f"/api/config/models/{MODEL}/parameters"): [
            ({"temperature": 10**100}, 422), ({"max_tokens": 10**100}, 422),
            ({"max_tokens": -(10**100)}, 422), ({"temperature": "0.5"}, 422),
            ({"temperature": SQL}, 422), ({SQL: 1}, 422), ({"top_p": NUL}, 422),
        ],
        ("POST", "/api/chat"): [
            ({**chat, "model": NUL}, 404), ({**chat, "model": SQL}, 404),
            ({**chat, "model": LONG}, 422), ({**chat, "stream": 10**100}, 422),
            ({"messages": [{"role": SQL, "content": "hi"}]}, 422),
            ({"messages": [{"role": "user", "content": "x" * 600_000}]}, 422),
            ({**chat, "parameters": {"max_tokens": 10**100}}, 422),
        ],
    }
    cases = []
    for (method, path), bodies in values.items():
        for number, (body, status) in enumerate(bodies):
            cases.append(Case(f"{method} {path} #{number}", method, path,
                              json.dumps(body).encode(), status))
    cases.append(Case("NaN", "PUT", f"/api/config/models/{MODEL}/parameters",
                      b'{"temperature": NaN}', 422))
    cases.append(Case("Infinity", "PUT", f"/api/config/models/{MODEL}/parameters",
                      b'{"temperature": 1e999}', 422))
    return cases


def path_and_query_cases() -> list[Case]:
    """Paths and queries no route takes: huge or negative ids, NUL, SQL, long names."""
    cases = []
    for key in ("99999999999999999999999", "2147483648", "-1", "0", "1e3", "%00", "1%20OR%201"):
        cases.append(Case(f"delete key {key}", "DELETE", f"/api/config/api-keys/{key}", None,
                          404))
        cases.append(Case(f"patch key {key}", "PATCH", f"/api/config/api-keys/{key}",
                          b'{"key_name": "x"}', 404))
        cases.append(Case(f"test key {key}", "POST", f"/api/config/api-keys/{key}/test", None,
                          404))
    for model in ("open%00ai/gpt-4o-mini", "x'%29%3B%20DROP%20TABLE%20model_configs%3B--",
                  "openai/" + "x" * 3000, "..%2F..%2Fetc%2Fpasswd"):
        cases.append(Case(f"select {model[:20]}", "POST", f"/api/config/models/{model}/select",
                          None, 404))
        cases.append(Case(f"parameters {model[:20]}", "PUT",
                          f"/api/config/models/{model}/parameters", b'{"temperature": 1}', 404))
    for query in ("provider=" + "x" * 5000,):
        cases.append(Case(f"list keys {query[:20]}", "GET", f"/api/config/api-keys?{query}",
                          None, 422))
    for query in ("q=" + "x" * 5000, "configured=maybe",
                  "provider=" + "x" * 5000):
        cases.append(Case(f"models {query[:20]}", "GET", f"/api/config/models?{query}", None,
                          422))
    return cases


def nul_cases(key_id: int) -> list[Case]:
    """NUL bytes in every text the API stores or looks up (PostgreSQL cannot hold them)."""
    key = {"provider": "openai", "api_key": "sk-bad-input-1234"}
    fields = {"provider": NUL, "api_key": "sk-bad\u0000input-1234", "key_name": "a\u0000b",
              "api_base": "http://a\u0000b"}
    cases = [Case(f"add a key, NUL in {field}", "POST", "/api/config/api-keys",
                  json.dumps({**key, field: value}).encode(), 422)
             for field, value in fields.items()]
    cases += [
        Case("rename to a NUL", "PATCH", f"/api/config/api-keys/{key_id}",
             b'{"key_name": "a\\u0000b"}', 422),
        Case("select a NUL model", "POST", "/api/config/models/open%00ai/gpt-4o-mini/select",
             None, 404),
        Case("list keys of a NUL provider", "GET", "/api/config/api-keys?provider=open%00ai",
             None, 422),
        Case("models of a NUL provider", "GET", "/api/config/models?provider=open%00ai", None,
             422),
    ]
    return cases


def body_cases(key_id: int) -> list[Case]:
    return [Case(f"{route}: {name}", method, path.format(key_id=key_id), body, status)
            for route, (method, path) in JSON_ROUTES.items()
            for name, (body, status) in UNREADABLE_BODIES.items()]


@pytest.fixture
def key_id(client) -> int:
    """A stored key, and a default model of another provider: a chat that got through
    would stop at "no key" (409), never reach a provider."""
    response = client.post("/api/config/api-keys", json={
        "provider": "anthropic", "api_key": "sk-ant-bad-input-0000", "key_name": "kept"})
    assert client.post(f"/api/config/models/{MODEL}/select").status_code == 200
    return response.get_json()["id"]


def refused_cleanly(app, client, cases: list[Case]) -> list[str]:
    """Send each case; what went wrong (a wrong status or shape, or a change), by case."""
    before = settings_state(app)
    problems = []
    for case in cases:
        try:  # the test app propagates what would be a 500
            response = client.open(case.path, method=case.method, data=case.body,
                                   content_type="application/json" if case.body else None)
            assert_error_shape(response, case.status)
        except Exception as error:
            problems.append(f"{case.label}: {type(error).__name__}: {str(error)[:160]}")
        if settings_state(app) != before:
            problems.append(f"{case.label}: the settings changed")
            before = settings_state(app)
    return problems


def test_unreadable_bodies_are_refused_on_every_json_route(app, client, key_id):
    problems = refused_cleanly(app, client, body_cases(key_id))
    assert not problems, "\n".join(problems)


def test_a_number_too_long_to_parse_is_a_400_on_every_json_route(app, client, key_id):
    cases = [Case(route, method, path.format(key_id=key_id),
                  b'{"max_tokens": ' + HUGE_INT.encode() + b"}", 400)
             for route, (method, path) in JSON_ROUTES.items()]
    problems = refused_cleanly(app, client, cases)
    assert not problems, "\n".join(problems)


def test_a_lone_surrogate_is_a_400_on_every_json_route(app, client, key_id):
    bodies = {
        "add a key": b'{"provider": "openai", "api_key": "sk-bad-input-1234", '
                     b'"key_name": "a\\ud800b"}',
        "patch a key": b'{"key_name": "a\\udfffb"}',
        "set parameters": b'{"\\ud800": 1}',
        "chat": b'{"messages": [{"role": "user", "content": "a\\ud800b"}]}',
    }
    cases = [Case(route, method, path.format(key_id=key_id), bodies[route], 400)
             for route, (method, path) in JSON_ROUTES.items()]
    problems = refused_cleanly(app, client, cases)
    assert not problems, "\n".join(problems)


def test_nul_bytes_are_refused(app, client, key_id):
    problems = refused_cleanly(app, client, nul_cases(key_id))
    assert not problems, "\n".join(problems)


def test_a_surrogate_pair_is_one_character_and_welcome(client, key_id):
    response = client.patch(f"/api/config/api-keys/{key_id}",
                            data=b'{"key_name": "\\ud83d\\ude00"}',
                            content_type="application/json")
    assert response.status_code == 200 and response.get_json()["key_name"] == "\U0001F600"


def test_values_no_field_takes_are_refused(app, client, key_id):
    problems = refused_cleanly(app, client, field_cases(key_id))
    assert not problems, "\n".join(problems)


def test_paths_and_queries_no_route_takes_are_refused(app, client, key_id):
    problems = refused_cleanly(app, client, path_and_query_cases())
    assert not problems, "\n".join(problems)


def test_sql_looking_filters_match_nothing_and_change_nothing(app, client, key_id):
    before = settings_state(app)
    for query in ("provider=' OR '1'='1", "provider=openai' --", "provider=openai%27%3B"):
        response = client.get(f"/api/config/api-keys?{query}")
        assert response.status_code == 200 and response.get_json() == [], query
    response = client.get("/api/config/models?q=' OR 1=1 --")
    assert response.status_code == 200 and response.get_json()["count"] == 0
    assert settings_state(app) == before


def test_sql_looking_free_text_is_stored_verbatim(app, client, key_id):
    api_key = "sk-';DROP/**/TABLE/**/api_keys;--"
    created = client.post("/api/config/api-keys", json={
        "provider": "openai", "api_key": api_key, "key_name": SQL})
    assert created.status_code == 201
    renamed = client.patch(f"/api/config/api-keys/{key_id}", json={"key_name": SQL + " 2"})
    assert renamed.get_json()["key_name"] == SQL + " 2"
    names = {key["key_name"] for key in client.get("/api/config/api-keys").get_json()}
    assert names == {SQL, SQL + " 2"}
    with app.app_context():
        service = app.extensions["configapp"].config
        record = service.get_api_key(created.get_json()["id"])
        assert service.reveal(record) == api_key
        token = service.storage.get_encrypted_key(record.id)
        assert SealedKey.from_plaintext(service.encryption.decrypt(token)).matches(record)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_document_says_a_body_may_be_too_large(client):
    """Found by `make reliability`'s fuzzing: a chat body within the schema can pass the
    1 MiB limit, and its 413 was an undocumented answer."""
    document = client.get("/api/openapi.json").get_json()
    with_bodies = {f"{method.upper()} {path}": operation["responses"]
                   for path, operations in document["paths"].items()
                   for method, operation in operations.items() if "requestBody" in operation}
    assert {"POST /api/chat", "POST /api/config/api-keys"} <= with_bodies.keys()
    assert [name for name, answers in with_bodies.items() if "413" not in answers] == []
