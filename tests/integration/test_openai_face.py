"""/v1 through the official `openai` SDK, against a served instance and the stand-in.

One gunicorn and one stand-in for the module (each test resets the stand-in's behaviour);
the secret watch reads every answer the server sends (tests/served_answers.py).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests.e2e.harness import Server, start_server
from tests.provider_stub import ProviderStub
from tests.provider_stub.fixtures import KEYS

HELLO = [{"role": "user", "content": "Say hello"}]
CLIENTS_DOC = Path(__file__).resolve().parents[2] / "docs" / "clients.md"
SNIPPET = re.compile(r"<!-- snippet: openai-sdk \(tested\) -->\n```python\n(.*?)```", re.S)
EXTENSION = "chrome-extension://" + "a" * 32  # listed: /api answers it with CORS, /v1 never
WEATHER = [{"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}]


@pytest.fixture(scope="module")
def stub() -> Iterator[ProviderStub]:
    server = ProviderStub().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, stub: ProviderStub) -> Iterator[Server]:
    # One worker: it imports litellm once, on the warm-up chat below.
    started = start_server(tmp_path_factory.mktemp("openai-face"),
                           {"CONFIGAPP_PROVIDER_TIMEOUT": "5", "CONFIGAPP_WORKERS": "1",
                            "CONFIGAPP_EXTENSION_ORIGINS": EXTENSION})
    for provider in ("openai", "anthropic"):
        status, body = started.api("POST", "/api/config/api-keys", {
            "provider": provider, "api_key": KEYS[provider], "api_base": stub.base(provider)})
        assert status == 201, body
    assert started.api("PATCH", "/api/config/curation/openai",
                       {"hide": ["openai/gpt-4o"]})[0] == 200
    assert started.api("PUT", "/api/config/aliases/fast", {
        "model": "openai/gpt-4o-mini", "parameters": {"temperature": 0.3}})[0] == 200
    assert started.api("PUT", "/api/config/purposes/chat",
                       {"model": "anthropic/claude-sonnet-4-5"})[0] == 200
    assert raw(started, "POST", "/api/chat", {"messages": HELLO}, {
        "Authorization": f"Bearer {started.token}"}, timeout=120)[0] == 200
    yield started
    started.stop()


@pytest.fixture(autouse=True)
def as_usual(stub: ProviderStub) -> Iterator[None]:
    yield
    stub.behave("ok")
    stub.close_delimited = False


@pytest.fixture
def sdk(server: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=server.token, max_retries=0,
                         timeout=20)


def raw(server: Server, method: str, path: str, body: object = None,
        headers: dict[str, str] | None = None, timeout: float = 20
        ) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of a request sent as given."""
    request = urllib.request.Request(
        server.url + path, method=method, headers={"Content-Type": "application/json",
                                                   **(headers or {})},
        data=None if body is None else json.dumps(body).encode())
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_models_lists_the_shown_models_of_keyed_providers_and_the_aliases(sdk):
    ids = [model.id for model in sdk.models.list()]
    assert {"openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5", "fast"} <= set(ids)
    assert "openai/gpt-4o" not in ids  # hidden
    assert not [name for name in ids if name.startswith("gemini/")]  # no key


def test_a_plain_chat_by_alias_applies_its_parameters_unless_the_request_sets_them(
        sdk, stub):
    reply = sdk.chat.completions.create(model="fast", messages=HELLO)
    assert reply.object == "chat.completion" and reply.model == "openai/gpt-4o-mini"
    assert reply.choices[0].message.content == (
        "Hello from the openai stand-in. You said: Say hello")
    assert reply.choices[0].finish_reason == "stop"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (2, 7)
    assert stub.last("/chat/completions").body["temperature"] == 0.3
    sdk.chat.completions.create(model="fast", messages=HELLO, temperature=0.9)
    assert stub.last("/chat/completions").body["temperature"] == 0.9


def test_a_streamed_chat_by_default_ends_with_the_usage_when_asked(sdk):
    chunks = list(sdk.chat.completions.create(model="default", messages=HELLO, stream=True,
                                              stream_options={"include_usage": True}))
    assert {chunk.object for chunk in chunks} == {"chat.completion.chunk"}
    assert {chunk.model for chunk in chunks} == {"anthropic/claude-sonnet-4-5"}
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from the anthropic stand-in. You said: Say hello"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 7


def test_tools_go_to_the_provider_as_sent_and_its_calls_come_back_in_openai_shape(sdk, stub):
    reply = sdk.chat.completions.create(model="openai/gpt-4o-mini", messages=HELLO,
                                        tools=WEATHER, tool_choice="auto", seed=7)
    sent = stub.last("/chat/completions").body
    assert (sent["tools"], sent["tool_choice"], sent["seed"]) == (WEATHER, "auto", 7)
    call = reply.choices[0].message.tool_calls[0]
    assert reply.choices[0].finish_reason == "tool_calls"
    assert (call.id, call.function.name, json.loads(call.function.arguments)) == (
        "call_stub_1", "get_weather", {"said": "Say hello"})

    streamed = sdk.chat.completions.create(model="openai/gpt-4o-mini", messages=HELLO,
                                           tools=WEATHER, stream=True)
    deltas = [c.choices[0].delta for c in streamed if c.choices]
    calls = [call for delta in deltas for call in delta.tool_calls or ()]
    assert calls[0].function.name == "get_weather"
    assert json.loads("".join(c.function.arguments or "" for c in calls)) == {
        "said": "Say hello"}

    answer = [*HELLO, {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
              {"role": "tool", "tool_call_id": call.id, "content": "sunny"}]
    sdk.chat.completions.create(model="openai/gpt-4o-mini", messages=answer)
    assert stub.last("/chat/completions").body["messages"][-1] == {
        "role": "tool", "tool_call_id": "call_stub_1", "content": "sunny"}


def test_a_parameter_the_model_does_not_take_is_dropped_and_named_in_a_header(sdk, stub):
    response = sdk.chat.completions.with_raw_response.create(
        model="anthropic/claude-sonnet-4-5", messages=HELLO, seed=7,
        extra_body={"api_base": "http://elsewhere.example"})
    assert response.headers["X-Configapp-Dropped-Params"] == "api_base, seed"
    assert response.parse().choices[0].message.content.startswith("Hello from the anthropic")
    sent = stub.last("/v1/messages")
    assert "seed" not in sent.body and sent.path.startswith("/anthropic/")


@pytest.mark.parametrize(("call", "error", "code"), [
    ({"model": "openai/no-such-model"}, openai.NotFoundError, "model_not_found"),
    ({"model": "openai/gpt-4o"}, openai.NotFoundError, "model_not_found"),  # hidden
    ({"model": "gemini/gemini-2.5-flash"}, openai.NotFoundError, "model_not_found"),  # no key
    ({"model": "fast", "n": 2}, openai.BadRequestError, None),
    ({"model": "fast", "temperature": 5}, openai.BadRequestError, None),
    ({"model": "fast", "messages": [{"role": "wizard", "content": "hi"}]},
     openai.BadRequestError, None),
])
def test_refusals_raise_the_sdks_own_classes_and_call_no_provider(sdk, stub, call, error,
                                                                   code):
    before = len(stub.requests)
    with pytest.raises(error) as raised:
        sdk.chat.completions.create(**{"messages": HELLO, **call})
    assert raised.value.code == code and raised.value.body["message"]
    assert len(stub.requests) == before


def test_a_wrong_token_or_the_session_cookie_alone_is_a_401(server):
    wrong = openai.OpenAI(base_url=f"{server.url}/v1", api_key="not-the-token", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as raised:
        wrong.models.list()
    assert raised.value.code == "invalid_api_key"
    status, _, _ = raw(server, "GET", "/v1/models",
                       headers={"Cookie": "configapp_session_8000=anything"})
    assert status == 401


def test_a_provider_failure_is_a_502_without_the_key_or_the_base_url(sdk, stub, server):
    stub.behave(500)
    with pytest.raises(openai.InternalServerError) as raised:
        sdk.chat.completions.create(model="fast", messages=HELLO)
    assert raised.value.status_code == 502
    message = raised.value.body["message"]
    assert "OpenAI failed (HTTP 500)" in message
    assert KEYS["openai"][:-4] not in message and "127.0.0.1" not in message


def test_a_provider_that_does_not_answer_in_time_is_a_504(sdk, stub):
    stub.behave("hang")  # the server's provider timeout is 5 s
    with pytest.raises(openai.APIStatusError) as raised:
        sdk.chat.completions.create(model="fast", messages=HELLO)
    assert raised.value.status_code == 504 and "did not answer within 5 s" in str(
        raised.value)
    assert "127.0.0.1" not in str(raised.value)


def test_a_stream_the_provider_cuts_ends_with_an_error_and_no_done(sdk, stub, server):
    stub.behave("cut")
    stub.close_delimited = True  # the stream ends cleanly, before the provider's finish
    stream = sdk.chat.completions.create(model="fast", messages=HELLO, stream=True)
    with pytest.raises(openai.APIError, match="cut short") as raised:
        list(stream)
    assert "127.0.0.1" not in str(raised.value)
    status, _, body = raw(server, "POST", "/v1/chat/completions",
                          {"model": "fast", "messages": HELLO, "stream": True},
                          {"Authorization": f"Bearer {server.token}"})
    assert status == 200 and b'"content":"Hello' in body
    assert body.endswith(b'"code":"provider_stream_cut"}}\n\n') and b"[DONE]" not in body


def test_v1_sends_no_cors_headers_and_takes_a_cross_origin_bearer_call(server):
    bearer = {"Authorization": f"Bearer {server.token}"}
    for origin in (EXTENSION, "http://attacker.example"):
        status, headers, _ = raw(server, "POST", "/v1/chat/completions",
                                 {"model": "fast", "messages": HELLO},
                                 {"Origin": origin, **bearer})
        assert status == 200
        assert not [name for name in headers if name.lower().startswith("access-control-")]
        status, headers, _ = raw(server, "OPTIONS", "/v1/chat/completions", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST"})
        assert not [name for name in headers if name.lower().startswith("access-control-")]
    # /api answers the listed extension (what /v1 must not copy)
    assert "Access-Control-Allow-Origin" in raw(server, "GET", "/api/config/sync", headers={
        "Origin": EXTENSION, **bearer})[1]


def test_a_spent_budget_is_a_rate_limit_error_with_insufficient_quota(sdk, server):
    sdk.chat.completions.create(model="anthropic/claude-sonnet-4-5", messages=HELLO)
    assert server.api("PUT", "/api/config/budgets/provider/anthropic",
                      {"monthly_limit": 0.000001})[0] == 200
    try:
        with pytest.raises(openai.RateLimitError) as raised:
            sdk.chat.completions.create(model="default", messages=HELLO)
        assert raised.value.code == "insufficient_quota"
    finally:
        server.api("DELETE", "/api/config/budgets/provider/anthropic")


def test_the_sdk_snippet_of_docs_clients_md_runs_as_written(server, monkeypatch, capsys):
    code = SNIPPET.search(CLIENTS_DOC.read_text()).group(1)
    monkeypatch.setenv("CONFIGAPP_URL", server.url)
    monkeypatch.setenv("CONFIGAPP_TOKEN", server.token)
    exec(compile(code, str(CLIENTS_DOC), "exec"), {})  # noqa: S102 - the doc's own code
    printed = capsys.readouterr().out.splitlines()
    assert "'fast'" in printed[0]
    assert printed[1:] == ["Hello from the anthropic stand-in. You said: Say hello"] * 2 + [
        "(9 tokens)"]


def test_a_client_token_lists_and_calls_only_its_models_within_its_budget_until_deleted(
        server, stub):
    status, made = server.api("POST", "/api/config/clients", {
        "name": "script", "models": ["fast"], "monthly_limit": 0.000001})
    assert status == 201, made
    sdk = openai.OpenAI(base_url=f"{server.url}/v1", api_key=made["token"], max_retries=0,
                        timeout=20)
    assert [model.id for model in sdk.models.list()] == ["fast"]
    before = len(stub.requests)
    for name in ("openai/gpt-4o-mini", "default"):  # not in its list: as if unknown
        with pytest.raises(openai.NotFoundError):
            sdk.chat.completions.create(model=name, messages=HELLO)
    assert len(stub.requests) == before
    sdk.chat.completions.create(model="fast", messages=HELLO)
    with pytest.raises(openai.RateLimitError) as spent:  # its own budget, now spent
        sdk.chat.completions.create(model="fast", messages=HELLO)
    assert spent.value.code == "insufficient_quota" and len(stub.requests) == before + 1

    groups = {g["group"]: (g["name"], g["requests"]) for g in server.api(
        "GET", "/api/config/usage?group_by=client")[1]["groups"]}
    assert groups[str(made["id"])] == ("script", 1)
    assert groups["api_token"][1] > 1  # the other tests' calls, with the API token

    assert server.api("DELETE", f"/api/config/clients/{made['id']}")[0] == 204
    with pytest.raises(openai.AuthenticationError):
        sdk.models.list()
