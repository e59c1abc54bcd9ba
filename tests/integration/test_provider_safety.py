"""Keys stay bound to their base URL, redirects are not followed, and no key leaks."""

import json
import logging

import pytest

from tests.conftest import CANARY_KEY
from tests.key_echoes import ECHOES
from tests.provider_stub import NOT_A_PROVIDER_PAGE
from tests.provider_stub.fixtures import KEYS, MODELS, add_key, quick_settings

HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture
def settings(make_settings):
    return quick_settings(make_settings)


def test_a_key_saved_for_one_base_url_is_never_sent_to_another(client, stub, other_stub):
    openai_key = add_key(client, stub, "openai")
    anthropic_key = add_key(client, other_stub, "anthropic")
    for key in (openai_key, anthropic_key):
        assert client.post(f"/api/config/api-keys/{key['id']}/test").get_json()["ok"]
    for model in (MODELS["openai"], MODELS["anthropic"]):
        for stream in (False, True):
            response = client.post("/api/chat", json={"messages": HELLO, "model": model,
                                                      "stream": stream})
            assert response.status_code == 200
    assert client.get("/api/config/models?live=true").status_code == 200
    assert stub.keys_seen() == {KEYS["openai"]}
    assert other_stub.keys_seen() == {KEYS["anthropic"]}
    assert all(r.path.startswith("/openai/") for r in stub.requests)
    assert all(r.path.startswith("/anthropic/") for r in other_stub.requests)


def test_a_chat_never_follows_a_redirect_with_the_key(client, stub, other_stub, flavour):
    add_key(client, stub, flavour)
    stub.behave("redirect", redirect_to=other_stub.url)
    for stream in (False, True):
        response = client.post("/api/chat", json={"messages": HELLO, "model": MODELS[flavour],
                                                  "stream": stream})
        assert response.status_code == 502
        body = response.get_json()
        assert body["errors"] == {"provider": ["bad_base_url"]}
        assert "redirect" in body["message"]
    assert other_stub.requests == []


def test_the_base_url_of_a_saved_key_cannot_be_changed_without_the_key(client, stub):
    key = add_key(client, stub, "openai")
    response = client.patch(f"/api/config/api-keys/{key['id']}",
                            json={"api_base": "http://127.0.0.1:1/v1"})
    assert response.status_code == 422
    assert client.get("/api/config/api-keys").get_json()[0]["api_base"] == stub.base("openai")


@pytest.mark.parametrize("api_base", ["file:///etc/passwd", "ftp://example.com/v1",
                                      "javascript:alert(1)", "http://user:pw@host/v1"])
def test_a_base_url_that_is_not_plain_http_is_refused(client, api_base):
    response = client.post("/api/config/api-keys", json={
        "provider": "openai", "api_key": "sk-base-check-1234", "api_base": api_base})
    assert response.status_code == 422
    assert client.get("/api/config/api-keys").get_json() == []


def test_the_canary_key_leaks_from_no_provider_path(client, stub, flavour, caplog):
    caplog.set_level(logging.DEBUG)
    key = add_key(client, stub, flavour, key=CANARY_KEY)
    responses = []
    for behaviour in ("ok", 401, 403, 429, 500, "garbage", "stall"):
        stub.behave(behaviour)
        responses.append(client.post(f"/api/config/api-keys/{key['id']}/test"))
        for stream in (False, True):
            responses.append(client.post("/api/chat", json={
                "messages": HELLO, "model": MODELS[flavour], "stream": stream}))
        responses.append(client.get("/api/config/models?live=true&refresh=true"))
    assert stub.keys_seen() == {CANARY_KEY}
    text = "\n".join(r.get_data(as_text=True) + str(r.headers) for r in responses)
    assert CANARY_KEY not in text and CANARY_KEY[:-4] not in text
    assert CANARY_KEY not in caplog.text and CANARY_KEY[:-4] not in caplog.text


@pytest.mark.parametrize("answer", ["not_a_provider", "not_a_provider_json"])
def test_nothing_of_an_answer_that_is_no_provider_error_comes_back(client, stub, flavour,
                                                                   answer):
    key = add_key(client, stub, flavour)
    stub.behave(answer)
    check = client.post(f"/api/config/api-keys/{key['id']}/test").get_json()
    assert (check["ok"], check["status_code"]) == (False, 500)
    assert "not shown" in check["message"]
    texts = [check["message"]]
    for stream in (False, True):
        response = client.post("/api/chat", json={"messages": HELLO, "model": MODELS[flavour],
                                                  "stream": stream})
        assert response.status_code == 502
        texts.append(response.get_data(as_text=True))
    live = client.get("/api/config/models?live=true&refresh=true").get_json()
    texts.append(live["live"][flavour]["message"])
    for text in texts:
        assert "hunter2" not in text and "Admin console" not in text, text
        assert NOT_A_PROVIDER_PAGE not in text
    assert "not shown" in texts[1]


@pytest.mark.parametrize("api_base", [
    "http://169.254.169.254/v1", "http://2852039166/v1", "http://0xa9fea9fe/v1",
    "http://metadata.google.internal/v1", "http://127.0.0.1:5432/v1?x=", "http://h/v1#f"])
def test_a_base_url_the_outbound_rules_refuse_is_not_saved(client, api_base):
    response = client.post("/api/config/api-keys", json={
        "provider": "openai", "api_key": "sk-base-check-1234", "api_base": api_base})
    assert response.status_code == 422, response.get_json()
    assert client.get("/api/config/api-keys").get_json() == []


def test_a_listed_model_id_with_a_line_break_forges_no_log_line(client, stub, caplog):
    caplog.set_level(logging.INFO)
    forged = "evil\nINFO configapp.audit key deleted id=1 provider=openai"
    stub.extra_openai_models = (forged, "fine-model")
    add_key(client, stub, "openai")
    ids = {m["id"] for m in client.get("/api/config/models?live=true").get_json()["models"]}
    assert "openai/fine-model" in ids and f"openai/{forged}" not in ids
    assert client.post("/api/config/models/openai/fine-model/select").status_code == 200
    response = client.post(f"/api/config/models/openai/{forged}/select")
    assert response.status_code == 404
    assert all("\n" not in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_no_echo_of_the_key_comes_back_in_any_encoding(client, stub):
    """A provider that echoes the key hex- or base32-encoded, reversed, spaced out, as HTML
    entities, all but its last character...: the scrubber masks each (docs/providers.md),
    in the key test's answer (the models endpoint) and in a chat's (through litellm)."""
    key = "sk-proj-" + "Xy7Kp2Qr9Ls4Tv6Wm8Nb3Cd5Fg1Hj0Zq"
    record = add_key(client, stub, "openai", key=key)
    stub.behave(401)
    leaks = []
    for name, echo in ECHOES.items():
        echoed = echo(key, "", "")
        stub.key_echo = lambda sent, echo=echo: echo(sent, "", "")
        answers = [client.post(f"/api/config/api-keys/{record['id']}/test"),
                   client.post("/api/chat", json={"messages": HELLO, "model": MODELS["openai"]})]
        for answer in answers:
            shown = answer.get_data(as_text=True) + json.dumps(answer.get_json(),
                                                               ensure_ascii=False)
            if echoed in shown or "Ls4Tv6Wm" in shown:
                leaks.append((name, answer.request.path, shown))
        assert stub.keys_seen() == {key}
    assert leaks == []
    assert "sk-proj-***" in client.post(f"/api/config/api-keys/{record['id']}/test").get_json()[
        "message"]
