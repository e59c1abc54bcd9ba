"""/v1's sign-in and refusals in process (the served, SDK-level tests are in
test_openai_face.py): what needs no provider and no gunicorn."""

from __future__ import annotations

import pytest

from configapp import create_app
from configapp.settings import SecuritySettings
from tests.conftest import TEST_API_TOKEN, upgrade_postgres
from tests.provider_stub.fixtures import add_key

HELLO = [{"role": "user", "content": "Say hello"}]


@pytest.fixture
def open_app(make_settings, backend):
    """CONFIGAPP_AUTH=off, with an API token: the Playground is open, /v1 is not."""
    settings = make_settings(security=SecuritySettings(auth_enabled=False,
                                                       api_token=TEST_API_TOKEN))
    if backend == "postgresql":
        upgrade_postgres(settings)
    return create_app(settings)


def test_with_auth_off_v1_still_refuses_no_token_and_an_unknown_one(open_app):
    client = open_app.test_client()
    assert client.get("/api/config/sync").status_code == 200  # the Playground is open
    for headers in ({}, {"Authorization": "Bearer not-the-token"},
                    {"Authorization": f"Basic {TEST_API_TOKEN}"}):
        refused = client.get("/v1/models", headers=headers)
        assert refused.status_code == 401, headers
        assert refused.get_json()["error"]["code"] == "invalid_api_key"
    known = client.get("/v1/models", headers={"Authorization": f"Bearer {TEST_API_TOKEN}"})
    assert known.status_code == 200 and known.get_json() == {"object": "list", "data": []}


@pytest.mark.parametrize(("body", "param"), [
    ({"model": "fast"}, "messages"),
    ({"messages": "hello"}, "messages"),
    ({"messages": HELLO, "n": 3}, "n"),
    ({"messages": HELLO, "stream": "yes"}, "stream"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "messages"),
    ({"messages": HELLO, "model": 7}, "model"),
])
def test_a_malformed_request_is_a_400_in_openais_shape(client, body, param):
    refused = client.post("/v1/chat/completions", json=body,
                          headers={"Authorization": f"Bearer {TEST_API_TOKEN}"})
    assert refused.status_code == 400
    error = refused.get_json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", param)
    assert error["message"]


def test_a_body_that_is_not_json_is_a_415_in_openais_shape(client):
    refused = client.post("/v1/chat/completions", data="hello", content_type="text/plain",
                          headers={"Authorization": f"Bearer {TEST_API_TOKEN}"})
    assert refused.status_code == 415 and "JSON" in refused.get_json()["error"]["message"]


def test_a_body_key_with_a_line_break_is_never_written_into_a_header(client, stub):
    add_key(client, stub, "openai")
    answer = client.post("/v1/chat/completions", json={
        "messages": [{"role": "user", "content": "hi"}], "model": "openai/gpt-4o-mini",
        "x\r\nSet-Cookie: a=b": 1, "metadata": {}},
        headers={"Authorization": f"Bearer {TEST_API_TOKEN}"})
    assert answer.status_code == 200 and "Set-Cookie" not in answer.headers
    assert answer.headers["X-Configapp-Dropped-Params"] == "(unnamed), metadata"
    assert not {"metadata", "x\r\nSet-Cookie: a=b"} & set(stub.last("/chat/completions").body)


@pytest.mark.parametrize(("name", "value"), [
    ("tools", {"type": "function"}), ("seed", "7"), ("seed", True), ("response_format", "json"),
    ("stop", 3)])
def test_openais_other_parameters_of_the_wrong_type_are_a_400(client, name, value):
    refused = client.post("/v1/chat/completions", json={
        "messages": HELLO, "model": "openai/gpt-4o-mini", name: value},
        headers={"Authorization": f"Bearer {TEST_API_TOKEN}"})
    assert refused.status_code == 400 and refused.get_json()["error"]["param"] == name
