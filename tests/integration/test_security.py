"""Host allow-list, same-origin writes, the optional bearer token, CORS, security headers.

The refusals are tried on every route of the app (tests/integration/routes.py walks the URL
map, the OpenAPI document's operations and the pages), each with an otherwise valid
request, and a refused request must leave every settings row and the revision as they were.
"""

import pytest

from configapp import create_app
from configapp.access.auth import FailureLimiter
from configapp.settings import SecuritySettings
from tests.conftest import TEST_API_TOKEN, upgrade_postgres
from tests.integration.routes import (
    assert_error_shape,
    documented_operations,
    every_route,
    settings_state,
)
from tests.provider_stub.fixtures import add_key

KEY = {"provider": "openai", "api_key": "sk-guard-00001234"}
FOREIGN_HOSTS = ["attacker.example", "0.0.0.0", "127.0.0.1.nip.io",
                 "localhost.attacker.example:8000", "[::2]:8000"]
FOREIGN_ORIGINS = ["http://attacker.example", "null", "http://localhost:9999",
                   "https://localhost", "http://127.0.0.1.nip.io"]
NON_JSON_BODIES = [
    ('{"provider": "openai", "api_key": "sk-guard-00001234"}', "text/plain"),
    ("provider=openai&api_key=sk-guard-00001234", "application/x-www-form-urlencoded"),
    ("--b\r\nContent-Disposition: form-data; name=\"provider\"\r\n\r\nopenai\r\n--b--\r\n",
     "multipart/form-data; boundary=b"),
]
TOKEN = "t0ken-for-tests"


@pytest.fixture
def key_id(client, stub) -> int:
    """A stored key, saved for the provider stand-in (so a walk's key test stays local)."""
    return add_key(client, stub, "openai")["id"]


def test_the_walk_covers_every_documented_operation(app, client, key_id):
    walked = {(route.method, route.rule): route.body is not None
              for route in every_route(app, key_id)}
    documented = documented_operations(client.get("/api/openapi.json").get_json())
    assert documented.items() <= walked.items()


@pytest.mark.parametrize("host", FOREIGN_HOSTS)
def test_foreign_host_headers_are_refused_on_every_route(app, client, key_id, host):
    before = settings_state(app)
    for route in every_route(app, key_id):
        response = client.open(route.path, method=route.method, json=route.body,
                               headers={"Host": host})
        if route.method == "HEAD":
            assert response.status_code == 400, route
            continue
        body = assert_error_shape(response, 400)
        assert "host" in body["message"].lower(), route
    assert settings_state(app) == before


@pytest.mark.parametrize("host", ["localhost:8000", "127.0.0.1", "[::1]:8000", "LOCALHOST"])
def test_local_host_headers_are_allowed(client, host):
    assert client.get("/healthz", headers={"Host": host}).status_code == 200


def test_writes_from_a_foreign_origin_change_nothing_on_any_route(app, client, key_id):
    before = settings_state(app)
    # /v1 takes only a Bearer token, which no page can make a browser send: its origin
    # rules are tested in test_openai_face.py.
    writes = [route for route in every_route(app, key_id)
              if route.writes and not route.path.startswith("/v1/")]
    for route in writes:
        for origin in FOREIGN_ORIGINS:
            response = client.open(route.path, method=route.method, json=route.body,
                                   headers={"Origin": origin})
            assert_error_shape(response, 403)
        response = client.open(route.path, method=route.method, json=route.body,
                               headers={"Sec-Fetch-Site": "cross-site"})
        assert_error_shape(response, 403)
    assert settings_state(app) == before
    # The same requests from the app's own origin get through (the DELETE last).
    for route in sorted(writes, key=lambda route: route.method == "DELETE"):
        response = client.open(route.path, method=route.method, json=route.body,
                               headers={"Origin": "http://localhost"})
        assert response.status_code < 300, (route, response.get_json())


@pytest.mark.parametrize(("body", "content_type"), NON_JSON_BODIES)
def test_non_json_bodies_are_refused_on_every_write(app, client, key_id, body, content_type):
    before = settings_state(app)
    for route in every_route(app, key_id):
        if route.writes:
            response = client.open(route.path, method=route.method, data=body,
                                   content_type=content_type)
            error = assert_error_shape(response, 415)
            assert "Send the body as JSON" in error["message"], error
    assert settings_state(app) == before


@pytest.fixture
def guarded_client(make_settings, backend):
    settings = make_settings(security=SecuritySettings(
        api_token=TOKEN,
        extension_origins=("chrome-extension://abcdefghijklmnopabcdefghijklmnop",)))
    if backend == "postgresql":
        upgrade_postgres(settings)
    return create_app(settings).test_client()


def test_the_token_is_needed_on_every_api_call_when_set(guarded_client):
    app = guarded_client.application
    # So many wrong tokens from one address would be limited (429): test_auth.py tests that.
    app.extensions["configapp"].gate.limiter = FailureLimiter(allowed=10_000, allowed_in_all=10_000)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    key_id = guarded_client.post("/api/config/api-keys", json=KEY, headers=auth).get_json()["id"]
    before = settings_state(app)
    guarded = [route for route in every_route(app, key_id)
               if route.path.startswith("/api/") and route.method != "OPTIONS"
               and route.path not in ("/api/openapi.json", "/api/docs")]
    for route in guarded:
        for headers in ({"Authorization": ""}, {"Authorization": "Bearer nope"},
                        {"Authorization": TOKEN},
                        {"Authorization": f"Basic {TOKEN}"}):
            response = guarded_client.open(route.path, method=route.method, json=route.body,
                                           headers=headers)
            assert response.status_code == 401, route
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert settings_state(app) == before
    right = guarded_client.post("/api/config/api-keys", json=KEY, headers=auth)
    assert right.status_code == 201
    assert guarded_client.get("/healthz").status_code == 200
    assert guarded_client.get("/api/openapi.json").status_code == 200


def test_an_unlisted_extension_is_told_how_to_be_allowed_to_write(guarded_client):
    stranger = "chrome-extension://ponmlkjihgfedcbaponmlkjihgfedcba"
    response = guarded_client.post("/api/config/api-keys", json=KEY, headers={
        "Origin": stranger, "Authorization": "Bearer t0ken-for-tests"})
    assert response.status_code == 403
    assert response.get_json()["message"] == (
        f"Cross-origin writes are not allowed: this extension's origin, {stranger}, "
        "is not listed in CONFIGAPP_EXTENSION_ORIGINS on the server.")
    assert guarded_client.get("/api/config/api-keys", headers={
        "Authorization": "Bearer t0ken-for-tests"}).get_json() == []
    # Anything else that is not an extension's origin is not echoed back.
    odd = guarded_client.post("/api/config/api-keys", json=KEY, headers={
        "Origin": "chrome-extension://<script>", "Authorization": "Bearer t0ken-for-tests"})
    assert odd.get_json()["message"] == "Cross-origin writes are not allowed."


def test_cors_answers_only_the_configured_extension(guarded_client):
    extension = "chrome-extension://abcdefghijklmnopabcdefghijklmnop"
    preflight = guarded_client.options("/api/config/sync", headers={
        "Origin": extension, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert preflight.status_code == 204
    # What the extension's writes, token and conditional sync need, and no more.
    assert {name: preflight.headers.get(name) for name in (
        "Access-Control-Allow-Origin", "Access-Control-Allow-Methods",
        "Access-Control-Allow-Headers", "Access-Control-Expose-Headers",
        "Access-Control-Max-Age")} == {
        "Access-Control-Allow-Origin": extension,
        "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE",
        "Access-Control-Allow-Headers": "Authorization, Content-Type, If-None-Match",
        "Access-Control-Expose-Headers": "ETag", "Access-Control-Max-Age": "600"}
    assert "Origin" in preflight.headers.get_all("Vary")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    response = guarded_client.get("/api/config/sync", headers={"Origin": extension, **auth})
    assert response.headers["Access-Control-Allow-Origin"] == extension
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]
    write = guarded_client.post("/api/config/api-keys", json=KEY,
                                headers={"Origin": extension, **auth})
    assert write.status_code == 201
    other = guarded_client.get("/api/config/sync", headers={
        "Origin": "chrome-extension://someoneelse", **auth})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_security_headers_are_on_every_answer(client):
    headers = client.get("/api/config/api-keys").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"


def test_405_answers_carry_allow(client):
    response = client.put("/api/config/api-keys")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert response.get_json()["code"] == 405


@pytest.mark.parametrize("query", ["live=true", "refresh=true", "live=1&refresh=yes",
                                   "live=True"])
@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
    {"Origin": "https://evil.example"}, {"Origin": "null"},
    {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
])
def test_a_foreign_page_cannot_make_the_server_ask_the_providers(client, stub, query,
                                                                 headers):
    add_key(client, stub, "openai")
    # A page of another site has no token to send (and no session cookie: SameSite=Strict).
    response = client.get(f"/api/config/models?{query}",
                          headers={"Authorization": "", **headers})
    assert response.status_code == 403, response.get_json()
    assert "allowed only from this server's own pages" in response.get_json()["message"]
    assert not any("models" in r.path for r in stub.requests)


@pytest.mark.parametrize("headers", [
    {}, {"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"},
    {"Origin": "http://localhost"}, {"Sec-Fetch-Site": "cross-site",
                                     "Authorization": f"Bearer {TEST_API_TOKEN}"},
])
def test_the_own_pages_tools_and_token_holders_may_ask_the_providers(client, stub, headers):
    add_key(client, stub, "openai")
    response = client.get("/api/config/models?live=true&refresh=true", headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["live"]["openai"]["status"] == "fresh"
    plain = client.get("/api/config/models?live=false", headers={"Sec-Fetch-Site": "cross-site"})
    assert plain.status_code == 200
    # Without the token, a foreign page's plain list (live=false, ...) is not the providers
    # guard's business (403) but the sign-in's (401).
    for off in ("false", "0", "no", "OFF", " F ", "n", ""):
        plain = client.get(f"/api/config/models?live={off}&refresh={off}",
                           headers={"Sec-Fetch-Site": "cross-site", "Authorization": ""})
        assert plain.status_code == 401, off


@pytest.mark.parametrize("headers", [
    {"Origin": "http://localhost:9999"}, {"Sec-Fetch-Site": "same-site"},
    {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
])
def test_a_foreign_pages_head_request_cannot_make_the_server_ask_the_providers(
        make_settings, backend, stub, headers):
    """HEAD runs the GET view and needs no preflight: with CONFIGAPP_AUTH=off (or a session
    cookie sent by a same-site page on another port) it must be refused like the GET."""
    settings = make_settings(security=SecuritySettings(auth_enabled=False))
    if backend == "postgresql":
        upgrade_postgres(settings)
    client = create_app(settings).test_client()
    add_key(client, stub, "openai")
    for method in ("GET", "HEAD"):
        response = client.open("/api/config/models?live=true&refresh=true", method=method,
                               headers=headers)
        assert response.status_code == 403, method
    assert not any("models" in r.path for r in stub.requests)
    own = client.head("/api/config/models?live=true", headers={"Sec-Fetch-Site": "same-origin"})
    assert own.status_code == 200


def test_without_the_token_the_providers_guard_still_lets_the_own_origin_and_the_extension_by(
        guarded_client):
    """The guard's own-origin and listed-extension rule, on its own: without the token
    such a request goes on to the sign-in (401), a foreign page's stops at the guard (403)."""
    url = "/api/config/models?live=true"
    for origin in ("http://localhost", "chrome-extension://abcdefghijklmnopabcdefghijklmnop"):
        response = guarded_client.get(url, headers={"Origin": origin, "Authorization": ""})
        assert response.status_code == 401, (origin, response.get_json())
    foreign = guarded_client.get(url, headers={"Origin": "https://evil.example",
                                               "Authorization": ""})
    assert foreign.status_code == 403, foreign.get_json()


def test_an_options_request_needs_no_sign_in(guarded_client):
    """A CORS preflight never carries credentials: OPTIONS is answered (its Allow header)
    without the token, from any origin; the request that follows is the one checked."""
    for headers in ({"Authorization": ""},
                    {"Authorization": "", "Origin": "https://elsewhere.example"}):
        answer = guarded_client.options("/api/config/api-keys", headers=headers)
        assert answer.status_code == 200, answer.get_json()
        assert "POST" in answer.headers["Allow"]
    assert guarded_client.get("/api/config/api-keys",
                              headers={"Authorization": ""}).status_code == 401
