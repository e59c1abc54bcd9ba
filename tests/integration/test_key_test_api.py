"""POST /api/config/api-keys/{id}/test against the stand-in, in each wire format."""

import logging

import pytest
from sqlalchemy import select

from configapp.records import ApiKeyRecord, db
from tests.provider_stub import closed_port_url
from tests.provider_stub.fixtures import KEYS, TEST_TIMEOUT, add_key, quick_settings


@pytest.fixture
def settings(make_settings):
    return quick_settings(make_settings)


def test_the_latency_is_the_time_the_provider_took(client, stub):
    """A provider that waits 300 ms before answering cannot be reported faster."""
    key = add_key(client, stub, "openai")
    stub.delay_s = 0.3
    result = check(client, key["id"])
    assert result["ok"] is True and result["latency_ms"] >= 300


def check(client, key_id):
    response = client.post(f"/api/config/api-keys/{key_id}/test")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_working_key_is_valid_and_uses_the_models_endpoint(client, app, stub, flavour,
                                                             caplog):
    key = add_key(client, stub, flavour)
    with caplog.at_level(logging.INFO):
        result = check(client, key["id"])
    assert result["ok"] is True and result["result"] == "valid"
    assert result["provider"] == flavour and result["status_code"] == 200
    assert result["model_count"] == 3
    received = stub.last("models")
    assert received.method == "GET" and received.key == KEYS[flavour]
    if flavour == "anthropic":
        assert received.headers["Anthropic-Version"] == "2023-06-01"
        assert received.path == "/anthropic/v1/models"
    elif flavour == "gemini":
        assert "X-Goog-Api-Key" in received.headers and "Authorization" not in received.headers
        assert received.path == "/gemini/v1beta/models"
    else:
        assert received.path == "/openai/v1/models"
    assert not [r for r in stub.requests if r.method == "POST"], "a key test must be free"
    listed = client.get("/api/config/api-keys").get_json()
    assert listed[0]["last_used_at"] is not None
    assert f"key tested id={key['id']} provider={flavour}" in caplog.text
    assert "result=valid" in caplog.text and KEYS[flavour] not in caplog.text


@pytest.mark.parametrize(("behaviour", "result"), [
    (401, "invalid_key"), (403, "forbidden"), (429, "rate_limited"), (500, "provider_error"),
    ("garbage", "bad_base_url"),
])
def test_a_refused_key_is_ok_false_with_the_reason_and_no_key(client, stub, flavour, behaviour,
                                                              result, caplog):
    key = add_key(client, stub, flavour)
    stub.behave(behaviour)
    with caplog.at_level(logging.DEBUG):
        response = client.post(f"/api/config/api-keys/{key['id']}/test")
    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] is False and body["result"] == result
    if isinstance(behaviour, int):
        assert body["status_code"] == behaviour
        assert f"Stand-in refuses with {behaviour}" in body["message"]
        assert key["masked_key"] in body["message"]  # the echoed key, masked
    assert KEYS[flavour] not in response.get_data(as_text=True)
    assert KEYS[flavour] not in caplog.text
    assert f"result={result}" in caplog.text


def test_geminis_400_for_a_bad_key_is_an_invalid_key(client, stub):
    key = add_key(client, stub, "gemini")
    stub.behave("gemini_invalid_key")
    body = check(client, key["id"])
    assert (body["ok"], body["result"], body["status_code"]) == (False, "invalid_key", 400)
    assert "API key not valid" in body["message"]


def test_a_closed_port_is_unreachable(client, flavour):
    base = closed_port_url() + {"openai": "/v1", "anthropic": "", "gemini": "/v1beta"}[flavour]
    key = client.post("/api/config/api-keys", json={
        "provider": flavour, "api_key": KEYS[flavour], "api_base": base}).get_json()
    body = check(client, key["id"])
    assert (body["ok"], body["result"], body["status_code"]) == (False, "unreachable", None)
    assert "could not be reached" in body["message"]


def test_a_hanging_provider_times_out_and_says_so(client, stub, flavour):
    key = add_key(client, stub, flavour)
    stub.behave("hang")
    body = check(client, key["id"])
    assert (body["ok"], body["result"]) == (False, "unreachable")
    assert f"did not answer within {TEST_TIMEOUT:g} s" in body["message"]
    assert body["latency_ms"] < 5000


def test_a_wrong_path_is_a_bad_base_url_with_a_hint(client, stub, flavour):
    key = client.post("/api/config/api-keys", json={
        "provider": flavour, "api_key": KEYS[flavour],
        "api_base": stub.url + "/nothing-here"}).get_json()
    body = check(client, key["id"])
    assert (body["result"], body["status_code"]) == ("bad_base_url", 404)
    assert "base URL" in body["message"]


def test_a_redirect_is_not_followed_with_the_key(client, stub, other_stub, flavour):
    key = add_key(client, stub, flavour)
    stub.behave("redirect", redirect_to=other_stub.url)
    body = check(client, key["id"])
    assert (body["result"], body["status_code"]) == ("bad_base_url", 307)
    assert "redirect" in body["message"]
    assert other_stub.requests == []


def test_unknown_keys_are_404_and_providers_not_offered_422(client, app):
    assert client.post("/api/config/api-keys/999/test").status_code == 404
    response = client.post("/api/config/api-keys", json={
        "provider": "cohere_chat", "api_key": "co-key-12345678"})
    assert response.status_code == 422 and "not offered" in response.get_json()["message"]
    with app.app_context():
        assert db.session.scalar(select(ApiKeyRecord.id)) is None


def test_an_inactive_key_can_be_tested_too(client, stub):
    first = add_key(client, stub, "openai")
    add_key(client, stub, "openai", key="sk-stub-second-0009")
    assert check(client, first["id"])["ok"] is True
    assert stub.last("models").key == KEYS["openai"]
