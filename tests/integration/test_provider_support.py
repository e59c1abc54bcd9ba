"""Every provider Settings offers, end to end through the stand-in: key test, discovery,
chat (JSON and stream), and no redirect followed with its key on any of those paths."""

import json

import pytest

from configapp.domain import ResolvedKey
from configapp.providers.litellm_gateway import LiteLLMGateway
from configapp.providers.llm import ChatMessage, ProviderError
from configapp.providers.outbound_http import GuardedBackend
from configapp.providers.support import SUPPORTED
from tests.fakes import fake_resolver
from tests.provider_stub.fixtures import quick_settings

HELLO = [{"role": "user", "content": "Say hello"}]
# The model each wire format's listing offers that LiteLLM's metadata does not know: chat
# with it works only if discovery really read the provider's listing.
LISTED_ONLY = {"openai": "stub-local-llama", "azure": "stub-local-llama",
               "anthropic": "claude-stub-only", "gemini": "gemini-stub-only"}


@pytest.fixture
def backend():
    """The provider paths do not depend on the database: SQLite is enough here."""
    return "sqlite"


@pytest.fixture
def settings(make_settings):
    return quick_settings(make_settings)


@pytest.fixture(params=sorted(SUPPORTED))
def provider(request) -> str:
    return request.param


def key_for(provider: str) -> str:
    return f"sk-stub-{provider}-key-0001"


def add(client, stub, provider: str) -> dict:
    wire = SUPPORTED[provider].wire
    response = client.post("/api/config/api-keys", json={
        "provider": provider, "api_key": key_for(provider), "api_base": stub.base(wire)})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def events(response) -> list[tuple[str, dict]]:
    found = []
    for block in response.get_data(as_text=True).strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        found.append((lines["event"], json.loads(lines["data"])))
    return found


def test_every_offered_provider_works_end_to_end(client, stub, provider):
    wire = SUPPORTED[provider].wire
    key = add(client, stub, provider)

    check = client.post(f"/api/config/api-keys/{key['id']}/test").get_json()
    assert (check["ok"], check["result"], check["model_count"]) == (True, "valid", 3), check

    model = f"{provider}/{LISTED_ONLY[wire]}"
    live = client.get(f"/api/config/models?live=true&provider={provider}").get_json()
    assert live["live"][provider]["status"] == "fresh", live["live"]
    assert {m["id"]: m["reachable"] for m in live["models"]}.get(model) is True

    reply = client.post("/api/chat", json={"messages": HELLO, "model": model})
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["message"]["content"] == (
        f"Hello from the {wire} stand-in. You said: Say hello")

    streamed = client.post("/api/chat", json={"messages": HELLO, "model": model,
                                              "stream": True})
    assert streamed.status_code == 200
    found = events(streamed)
    assert "".join(data["content"] for name, data in found if name == "delta") == (
        f"Hello from the {wire} stand-in. You said: Say hello")
    assert found[-1][0] == "done"

    assert stub.keys_seen() == {key_for(provider)}
    prefix = stub.base(wire).removeprefix(stub.url)
    assert all(r.path.startswith(prefix + "/") for r in stub.requests)
    chats = [r for r in stub.requests if r.method == "POST"]
    assert len(chats) == 2 and all(LISTED_ONLY[wire] in (r.path + json.dumps(r.body))
                                   for r in chats)


def test_no_offered_provider_follows_a_redirect_with_its_key(client, stub, other_stub,
                                                              provider):
    key = add(client, stub, provider)
    model = f"{provider}/{LISTED_ONLY[SUPPORTED[provider].wire]}"
    client.get(f"/api/config/models?live=true&provider={provider}")  # learn the model
    stub.behave("redirect", redirect_to=other_stub.url)

    check = client.post(f"/api/config/api-keys/{key['id']}/test").get_json()
    assert (check["ok"], check["result"]) == (False, "bad_base_url"), check
    for stream in (False, True):
        response = client.post("/api/chat", json={"messages": HELLO, "model": model,
                                                  "stream": stream})
        assert response.status_code == 502, response.get_data(as_text=True)
        assert response.get_json()["errors"] == {"provider": ["bad_base_url"]}
    live = client.get(f"/api/config/models?live=true&refresh=true&provider={provider}")
    assert live.get_json()["live"][provider]["status"] == "stale"
    assert other_stub.requests == []
    assert len([r for r in stub.requests if r.method == "POST"]) == 2


@pytest.mark.parametrize("provider", ["openai", "azure"])
def test_models_litellm_sends_to_the_responses_api_work_too(client, stub, provider):
    stub.extra_openai_models = ("gpt-5-pro",)
    add(client, stub, provider)
    client.get(f"/api/config/models?live=true&provider={provider}")
    wire = SUPPORTED[provider].wire
    reply = client.post("/api/chat", json={"messages": HELLO, "model": f"{provider}/gpt-5-pro"})
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["message"]["content"] == (
        f"Hello from the {wire} stand-in. You said: Say hello")
    streamed = client.post("/api/chat", json={"messages": HELLO, "stream": True,
                                              "model": f"{provider}/gpt-5-pro"})
    found = events(streamed)
    assert "".join(data["content"] for name, data in found if name == "delta") == (
        f"Hello from the {wire} stand-in. You said: Say hello")
    assert found[-1][0] == "done"
    assert [r.path.rsplit("/", 1)[-1] for r in stub.requests if r.method == "POST"] == [
        "responses", "responses"]
    assert stub.keys_seen() == {key_for(provider)}


@pytest.mark.parametrize("provider", ["openai", "azure"])
def test_models_litellm_sends_to_the_responses_api_follow_no_redirect_either(
        client, stub, other_stub, provider):
    """gpt-5-pro and the codex models go through litellm's Responses API bridge, which
    builds its own, redirect-following client unless given the guarded one."""
    stub.extra_openai_models = ("gpt-5-pro",)
    add(client, stub, provider)
    client.get(f"/api/config/models?live=true&provider={provider}")
    stub.behave("redirect", redirect_to=other_stub.url)
    for stream in (False, True):
        response = client.post("/api/chat", json={
            "messages": HELLO, "model": f"{provider}/gpt-5-pro", "stream": stream})
        assert response.status_code == 502, response.get_data(as_text=True)
    assert [r.path.rsplit("/", 1)[-1] for r in stub.requests if r.method == "POST"] == [
        "responses", "responses"]
    assert other_stub.requests == []


def test_a_local_server_provider_needs_its_base_url(client):
    response = client.post("/api/config/api-keys", json={
        "provider": "hosted_vllm", "api_key": "local-key-123456"})
    assert response.status_code == 422
    assert "need the base URL" in response.get_json()["message"]
    assert client.get("/api/config/api-keys").get_json() == []


@pytest.mark.parametrize(("provider", "reason"), [
    ("replicate", "public host whatever the base URL"), ("sagemaker", "cloud credentials"),
    ("github_copilot", "device login"), ("cohere_chat", "follows redirects"),
    ("ollama", "http://localhost:11434/v1"), ("gigachat", "public host"),
])
def test_providers_that_cannot_be_held_to_their_base_url_are_refused_with_the_reason(
        client, provider, reason):
    response = client.post("/api/config/api-keys", json={
        "provider": provider, "api_key": "some-key-123456", "api_base": "http://127.0.0.1:9/v1"})
    assert response.status_code == 422
    assert reason in response.get_json()["message"]
    assert provider not in {p["name"] for p in client.get("/api/config/providers").get_json()}


def test_the_settings_list_and_the_documents_enum_are_the_offered_providers(client):
    names = [p["name"] for p in client.get("/api/config/providers").get_json()]
    assert sorted(names) == sorted(SUPPORTED)
    document = client.get("/api/openapi.json").get_json()
    enum = document["components"]["schemas"]["ApiKeyCreate"]["properties"]["provider"]["enum"]
    assert sorted(enum) == sorted([*SUPPORTED, "google"])


def test_a_chat_with_a_provider_not_offered_is_refused_before_any_key_is_read(client):
    catalogue = client.get("/api/config/models?provider=bedrock").get_json()["models"]
    assert catalogue, "LiteLLM's metadata lists bedrock models"
    response = client.post("/api/chat", json={"messages": HELLO,
                                              "model": catalogue[0]["id"]})
    assert response.status_code == 422
    assert "not offered" in response.get_json()["message"]


@pytest.mark.parametrize("provider", ["openai", "groq", "perplexity", "azure", "anthropic",
                                      "gemini"])
def test_every_path_checks_the_resolved_address_when_it_connects(stub, provider):
    """A name that resolves to a metadata address (DNS is faked here: the rule, not DNS, is
    under test) is refused at connect time on each client kind's chat, stream and listing;
    nothing reaches the stand-in the name would have led to."""
    gateway = LiteLLMGateway(5, 5, GuardedBackend(fake_resolver("169.254.169.254")))
    wire = SUPPORTED[provider].wire
    port = stub.url.rsplit(":", 1)[1]
    base = f"http://provider.test:{port}" + stub.base(wire).removeprefix(stub.url)
    key = ResolvedKey(provider, key_for(provider), base, "database", 1)
    model = f"{provider}/{LISTED_ONLY[wire]}"
    said = [ChatMessage("user", "hi")]
    for call, args in ((gateway.complete, (model, said, {}, key)),
                       (gateway.stream, (model, said, {}, key)),
                       (gateway.list_models, (key,))):
        with pytest.raises(ProviderError) as refused:
            call(*args)
        assert refused.value.kind == "bad_base_url", refused.value.message
        assert "169.254.169.254 is a cloud metadata address" in refused.value.message
    assert stub.requests == []
