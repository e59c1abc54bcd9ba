"""POST /api/chat: litellm talks real HTTP to the stand-in, in each wire format."""

import json
import logging

import pytest

from configapp import create_app
from configapp.providers.llm import provider_name
from tests.provider_stub.fixtures import KEYS, MODELS, TEST_TIMEOUT, add_key, quick_settings

HELLO = [{"role": "user", "content": "Say hello"}]


@pytest.fixture
def settings(make_settings):
    return quick_settings(make_settings)


def chat(client, **body):
    return client.post("/api/chat", json={"messages": HELLO, **body})


def events(response) -> list[tuple[str, dict]]:
    """The (event, data) pairs of a text/event-stream body."""
    found = []
    for block in response.get_data(as_text=True).strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        found.append((lines["event"], json.loads(lines["data"])))
    return found


def test_chat_answers_with_the_selected_model_and_its_stored_parameters(client, stub, flavour):
    add_key(client, stub, flavour)
    model = MODELS[flavour]
    client.post(f"/api/config/models/{model}/select")
    client.put(f"/api/config/models/{model}/parameters", json={"temperature": 0.2,
                                                                "max_tokens": 100})
    response = chat(client, parameters={"max_tokens": 50})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["message"] == {"role": "assistant",
                               "content": f"Hello from the {flavour} stand-in. "
                                          "You said: Say hello"}
    assert body["model"] == model and body["provider"] == flavour
    assert body["finish_reason"] == "stop" and body["key_source"] == "database"
    assert body["usage"] == {"prompt_tokens": 2, "completion_tokens": 7, "total_tokens": 9}
    assert body["parameters"] == {"temperature": 0.2, "max_tokens": 50}
    assert body["latency_ms"] > 0
    sent = stub.last(":generateContent" if flavour == "gemini" else "")
    assert sent.key == KEYS[flavour]
    if flavour == "gemini":
        assert sent.body["generationConfig"] == {"temperature": 0.2, "max_output_tokens": 50}
    else:
        assert (sent.body["temperature"], sent.body["max_tokens"]) == (0.2, 50)
    assert client.get("/api/config/api-keys").get_json()[0]["last_used_at"] is not None


def test_chat_streams_deltas_then_a_final_event(client, stub, flavour):
    add_key(client, stub, flavour)
    response = chat(client, model=MODELS[flavour], stream=True)
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    found = events(response)
    deltas = [data["content"] for name, data in found if name == "delta"]
    assert len(deltas) >= 2
    assert "".join(deltas) == f"Hello from the {flavour} stand-in. You said: Say hello"
    name, done = found[-1]
    assert name == "done"
    assert done["model"] == MODELS[flavour] and done["finish_reason"] == "stop"
    assert done["usage"]["total_tokens"] == 9 and done["latency_ms"] > 0
    if flavour == "gemini":
        assert stub.last("streamGenerateContent").query == {"alt": "sse"}
    else:
        assert stub.last().body["stream"] is True


def test_a_change_of_model_in_settings_applies_to_the_next_message(client, stub):
    add_key(client, stub, "openai")
    add_key(client, stub, "anthropic")
    client.post("/api/config/models/openai/gpt-4o-mini/select")
    assert "openai stand-in" in chat(client).get_json()["message"]["content"]
    client.post("/api/config/models/anthropic/claude-haiku-4-5/select")
    body = chat(client).get_json()
    assert body["model"] == "anthropic/claude-haiku-4-5"
    assert stub.last().body["model"] == "claude-haiku-4-5"


def test_a_new_key_or_base_url_applies_to_the_next_message(client, stub, other_stub):
    """The gateway reuses an SDK client per key and base URL: never another key's."""
    add_key(client, stub, "openai", key="sk-first-key-0000000000000001")
    assert chat(client, model="openai/gpt-4o-mini").status_code == 200
    add_key(client, stub, "openai", key="sk-second-key-000000000000002")
    assert chat(client, model="openai/gpt-4o-mini").status_code == 200
    assert [r.key for r in stub.requests] == ["sk-first-key-0000000000000001",
                                              "sk-second-key-000000000000002"]
    add_key(client, other_stub, "openai", key="sk-second-key-000000000000002")
    assert chat(client, model="openai/gpt-4o-mini").status_code == 200
    assert len(stub.requests) == 2
    assert [r.key for r in other_stub.requests] == ["sk-second-key-000000000000002"]


def test_no_key_for_the_provider_is_a_409_that_says_where_to_add_one(client, stub):
    add_key(client, stub, "openai")
    response = chat(client, model="gemini/gemini-2.5-flash")
    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == 409 and "add one in Settings" in body["message"]
    assert stub.requests == []


def test_a_model_of_a_provider_configapp_does_not_offer_is_a_422_that_names_it(client, stub):
    """A catalogue model whose provider configapp's provider tests do not cover (ai21): no
    key is looked for, no provider is called, and the refusal says which and where to read."""
    add_key(client, stub, "openai")
    response = chat(client, model="ai21/jamba-1.5")
    assert response.status_code == 422
    message = response.get_json()["message"]
    assert message.startswith("Provider 'ai21' is not offered") and "docs/providers.md" in message
    assert stub.requests == []


def test_the_environment_key_is_used_with_a_warning_and_its_base_url(make_settings, stub,
                                                                    caplog):
    env_key = "sk-from-the-environment-77"
    settings = quick_settings(make_settings, provider_env={"OPENAI_API_KEY": env_key},
                              env_key_base_urls={"openai": stub.base("openai")})
    client = create_app(settings).test_client()
    with caplog.at_level(logging.WARNING):
        response = chat(client, model="openai/gpt-4o-mini")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["key_source"] == "environment"
    assert stub.last().key == env_key
    assert ("Using OPENAI_API_KEY from the environment for openai; add the key in Settings, "
            "the environment variable is deprecated.") in caplog.messages
    assert env_key not in caplog.text


@pytest.mark.parametrize(("behaviour", "kind"), [
    (401, "invalid_key"), (403, "forbidden"), (429, "rate_limited"), (500, "provider_error"),
    ("garbage", "provider_error"),
])
def test_a_provider_failure_is_a_502_with_its_message_and_no_key(client, stub, flavour,
                                                                 behaviour, kind, caplog):
    key = add_key(client, stub, flavour)
    stub.behave(behaviour)
    with caplog.at_level(logging.DEBUG):
        for stream in (False, True):
            response = chat(client, model=MODELS[flavour], stream=stream)
            text = response.get_data(as_text=True)
            assert KEYS[flavour] not in text
            assert response.status_code == 502, text
            body = response.get_json()
            assert body["code"] == 502 and body["status"] == "Bad Gateway"
            assert body["errors"] == {"provider": [kind]}
            assert body["message"].startswith(provider_name(flavour))  # "OpenAI", not "openai"
            if isinstance(behaviour, int):
                assert f"Stand-in refuses with {behaviour}" in body["message"]
                assert f"HTTP {behaviour}" in body["message"]
                if flavour == "openai":  # only OpenAI's path leaves the echo unmasked
                    assert key["masked_key"] in body["message"]
    assert KEYS[flavour] not in caplog.text


def test_a_hanging_provider_is_a_504_that_says_so(client, stub, flavour):
    add_key(client, stub, flavour)
    stub.behave("hang")
    for stream in (False, True):
        response = chat(client, model=MODELS[flavour], stream=stream)
        assert response.status_code == 504
        assert f"did not answer within {TEST_TIMEOUT:g} s" in response.get_json()["message"]


def test_a_stream_that_stalls_ends_with_an_error_event(client, stub, flavour):
    add_key(client, stub, flavour)
    stub.behave("stall")
    response = chat(client, model=MODELS[flavour], stream=True)
    assert response.status_code == 200
    name, error = events(response)[-1]
    assert name == "error" and error["code"] in (502, 504)
    assert provider_name(flavour) in error["message"]


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"messages": []}, 422, "messages"),
    ({"messages": [{"role": "wizard", "content": "hi"}]}, 422, "messages"),
    ({"messages": [{"role": "user", "content": ""}]}, 422, "messages"),
    ({"messages": [{"role": "user"}]}, 422, "messages"),
    ({"messages": "hello"}, 422, "messages"),
    ({}, 422, "messages"),
    ({"messages": HELLO, "stream": "maybe"}, 422, "stream"),
    ({"messages": HELLO, "extra": 1}, 422, "extra"),
    ({"messages": HELLO, "parameters": {"temperature": 9}}, 422, "temperature"),
    ({"messages": HELLO, "parameters": {"max_tokens": 16385}}, 422, "max_tokens"),
    ({"messages": HELLO, "parameters": {"seed": 1}}, 422, "parameters"),
    ({"messages": HELLO, "model": "openai/gpt-99"}, 404, None),
    ({"messages": HELLO, "model": ""}, 422, "model"),
])
def test_bad_chat_input_is_a_clear_error_and_changes_nothing(client, stub, body, status, field):
    add_key(client, stub, "openai")
    client.post("/api/config/models/openai/gpt-4o-mini/select")
    before = client.get("/api/config/sync").headers["ETag"]
    response = client.post("/api/chat", json=body)
    assert response.status_code == status
    payload = response.get_json()
    assert payload["code"] == status and payload["message"]
    if field:
        assert field in json.dumps(payload["errors"])
    assert stub.requests == []
    assert client.get("/api/config/sync").headers["ETag"] == before
    assert client.get("/api/config/api-keys").get_json()[0]["last_used_at"] is None


def test_a_one_megabyte_message_is_refused_before_anything_happens(client, stub):
    add_key(client, stub, "openai")
    huge = {"messages": [{"role": "user", "content": "x" * (1024 * 1024)}],
            "model": "openai/gpt-4o-mini"}
    response = client.post("/api/chat", json=huge)
    assert response.status_code == 413 and response.get_json()["code"] == 413
    assert stub.requests == []


def test_no_selected_model_and_none_named_is_a_404_that_says_what_to_do(client, stub):
    add_key(client, stub, "openai")
    response = chat(client)
    assert response.status_code == 404
    assert "choose one in Settings > Models" in response.get_json()["message"]


def test_a_local_openai_compatible_server_works_through_its_base_url(client, stub):
    client.post("/api/config/api-keys", json={
        "provider": "hosted_vllm", "api_key": "local-key-123456",
        "api_base": stub.base("openai")})
    response = client.get("/api/config/models?live=true&provider=hosted_vllm")
    assert response.status_code == 200
    ids = [m["id"] for m in response.get_json()["models"]]
    assert "hosted_vllm/stub-local-llama" in ids
    reply = chat(client, model="hosted_vllm/stub-local-llama")
    assert reply.status_code == 200, reply.get_json()
    assert stub.last().path == "/openai/v1/chat/completions"
    assert stub.last().key == "local-key-123456"


def test_each_reply_says_what_it_cost_from_the_catalogue_prices(client, stub):
    add_key(client, stub, "openai")
    model = next(m for m in client.get("/api/config/models?q=gpt-4o-mini").get_json()["models"]
                 if m["id"] == MODELS["openai"])
    expected = (2 * model["input_price_per_million"] + 7 * model["output_price_per_million"]) / 1e6
    assert expected > 0
    answer = chat(client, model=MODELS["openai"]).get_json()
    assert answer["cost"] == pytest.approx(expected)
    done = events(chat(client, model=MODELS["openai"], stream=True))[-1][1]
    assert done["usage"]["prompt_tokens"] == 2 and done["cost"] == pytest.approx(expected)


def test_a_reply_of_a_model_without_a_price_costs_null_not_zero(client, stub):
    add_key(client, stub, "openai")
    assert client.post("/api/config/models/openai/stub-local-llama/select").status_code == 200
    answer = chat(client).get_json()
    assert answer["usage"]["completion_tokens"] == 7 and answer["cost"] is None
    done = events(chat(client, stream=True))[-1][1]
    assert done["usage"]["completion_tokens"] == 7 and done["cost"] is None


def test_the_openapi_document_describes_the_cost_of_a_reply(client):
    schemas = client.get("/api/openapi.json").get_json()["components"]["schemas"]
    cost = schemas["ChatReply"]["properties"]["cost"]
    assert cost["type"] == "number" and cost["nullable"] is True
    assert "unknown" in cost["description"]
