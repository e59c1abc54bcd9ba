"""Host allow-list, same-origin writes, the optional bearer token, CORS, security headers."""

import pytest

from configapp import create_app
from configapp.settings import SecuritySettings
from tests.conftest import upgrade_postgres

KEY = {"provider": "openai", "api_key": "sk-guard-00001234"}


@pytest.mark.parametrize("host", ["attacker.example", "0.0.0.0", "127.0.0.1.nip.io",
                                  "localhost.attacker.example:8000", "[::2]:8000"])
def test_foreign_host_headers_are_refused(client, host):
    response = client.get("/api/config/api-keys", headers={"Host": host})
    assert response.status_code == 400
    assert "host" in response.get_json()["message"].lower()


@pytest.mark.parametrize("host", ["localhost:8000", "127.0.0.1", "[::1]:8000", "LOCALHOST"])
def test_local_host_headers_are_allowed(client, host):
    assert client.get("/healthz", headers={"Host": host}).status_code == 200


def test_writes_from_a_foreign_origin_change_nothing(client):
    response = client.post("/api/config/api-keys", json=KEY,
                           headers={"Origin": "http://attacker.example"})
    assert response.status_code == 403
    response = client.post("/api/config/api-keys", json=KEY,
                           headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403
    assert client.get("/api/config/api-keys").get_json() == []


def test_same_origin_writes_are_allowed(client):
    response = client.post("/api/config/api-keys", json=KEY,
                           headers={"Origin": "http://localhost"})
    assert response.status_code == 201


@pytest.mark.parametrize(("body", "content_type"), [
    ('{"provider": "openai", "api_key": "sk-guard-00001234"}', "text/plain"),
    ("provider=openai&api_key=sk-guard-00001234", "application/x-www-form-urlencoded"),
    ("--b\r\nContent-Disposition: form-data; name=\"provider\"\r\n\r\nopenai\r\n--b--\r\n",
     "multipart/form-data; boundary=b"),
])
def test_non_json_bodies_are_refused(client, body, content_type):
    response = client.post("/api/config/api-keys", data=body, content_type=content_type)
    assert response.status_code == 415
    assert client.get("/api/config/api-keys").get_json() == []


@pytest.fixture
def guarded_client(make_settings, backend):
    settings = make_settings(security=SecuritySettings(
        api_token="t0ken-for-tests",
        extension_origins=("chrome-extension://abcdefghijklmnopabcdefghijklmnop",)))
    if backend == "postgresql":
        upgrade_postgres(settings)
    return create_app(settings).test_client()


def test_the_token_is_needed_on_every_api_call_when_set(guarded_client):
    for method, path in [("get", "/api/config/api-keys"), ("get", "/api/config/sync"),
                         ("post", "/api/config/api-keys"), ("get", "/api/config/models")]:
        response = getattr(guarded_client, method)(path, json=KEY if method == "post" else None)
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = guarded_client.get("/api/config/api-keys",
                               headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    right = guarded_client.post("/api/config/api-keys", json=KEY,
                                headers={"Authorization": "Bearer t0ken-for-tests"})
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
    assert preflight.headers["Access-Control-Allow-Origin"] == extension
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    auth = {"Authorization": "Bearer t0ken-for-tests"}
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
