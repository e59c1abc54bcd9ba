"""Live model discovery: the catalogue says what each configured key can reach."""

import pytest

from tests.provider_stub import closed_port_url
from tests.provider_stub.fixtures import MODELS, add_key, quick_settings

ONLY_THE_PROVIDER_KNOWS = {"openai": "openai/stub-local-llama",
                           "anthropic": "anthropic/claude-stub-only",
                           "gemini": "gemini/gemini-stub-only"}


@pytest.fixture
def settings(make_settings):
    return quick_settings(make_settings)


def live(client, flavour, **query):
    params = "&".join(f"{k}={v}" for k, v in {"live": "true", "provider": flavour,
                                              **query}.items())
    response = client.get(f"/api/config/models?{params}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return body, {m["id"]: m for m in body["models"]}


def models_asked(stub) -> int:
    return sum(1 for r in stub.requests if r.path.endswith("/models"))


def test_the_live_catalogue_marks_what_the_key_reaches_and_adds_what_only_the_provider_knows(
        client, stub, flavour):
    add_key(client, stub, flavour)
    body, models = live(client, flavour)
    assert body["source"] == "litellm"
    assert body["live"][flavour]["status"] == "fresh"
    assert body["live"][flavour]["count"] == 3
    assert models[MODELS[flavour]]["reachable"] is True
    extra = models[ONLY_THE_PROVIDER_KNOWS[flavour]]
    assert extra["reachable"] is True and extra["stale"] is False
    assert extra["input_price_per_million"] is None
    unreachable = [m for m in models.values() if m["reachable"] is False]
    assert unreachable, "catalogue models the key cannot reach say so"
    if flavour == "gemini":
        assert extra["context_window"] == 1048576  # what the provider said of it
        assert "gemini/text-embedding-004" not in models
        assert models_asked(stub) == 2  # two pages of two


def test_a_model_only_the_provider_knows_can_be_selected_and_used(client, stub, flavour):
    add_key(client, stub, flavour)
    live(client, flavour)
    model = ONLY_THE_PROVIDER_KNOWS[flavour]
    assert client.post(f"/api/config/models/{model}/select").status_code == 200
    reply = client.post("/api/chat", json={"messages": [{"role": "user", "content": "hi"}]})
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["model"] == model


def test_listings_are_cached_for_the_ttl_and_refresh_asks_again(client, stub):
    add_key(client, stub, "openai")
    live(client, "openai")
    live(client, "openai")
    assert models_asked(stub) == 1
    live(client, "openai", refresh="true")
    assert models_asked(stub) == 2
    plain = client.get("/api/config/models?provider=openai").get_json()
    assert "live" not in plain and "reachable" not in plain["models"][0]
    assert models_asked(stub) == 2


def test_testing_the_active_key_fills_the_live_catalogue_without_asking_again(client, stub):
    """A key test's answer is the listing of that key: the live catalogue right after it
    reuses it (the same key, by id and base URL) instead of asking the provider again."""
    key_id = add_key(client, stub, "openai")["id"]
    tested = client.post(f"/api/config/api-keys/{key_id}/test")
    assert tested.status_code == 200 and tested.get_json()["result"] == "valid"
    assert models_asked(stub) == 1
    _body, models = live(client, "openai")
    assert models[ONLY_THE_PROVIDER_KNOWS["openai"]]["reachable"] is True
    assert models_asked(stub) == 1


def test_the_search_reads_ids_and_the_names_providers_give(client, stub):
    """The search text matches a model's id or its display name, whatever the case: the
    name Anthropic gives a model it lists ("Claude Stub Only") is found by its words."""
    add_key(client, stub, "anthropic")
    live(client, "anthropic")
    for text, expected in (("Stub%20Only", "anthropic/claude-stub-only"),
                           ("ANTHROPIC/CLAUDE-STUB", "anthropic/claude-stub-only")):
        found = client.get(f"/api/config/models?provider=anthropic&q={text}").get_json()
        assert [m["id"] for m in found["models"]] == [expected], text


def test_when_the_provider_fails_the_last_good_answer_stays_marked_stale(client, stub):
    add_key(client, stub, "anthropic")
    live(client, "anthropic")
    stub.behave(500)
    body, models = live(client, "anthropic", refresh="true")
    assert body["live"]["anthropic"]["status"] == "stale"
    assert "HTTP 500" in body["live"]["anthropic"]["message"]
    assert body["live"]["anthropic"]["fetched_at"] is not None
    extra = models["anthropic/claude-stub-only"]
    assert extra["reachable"] is True and extra["stale"] is True
    stub.behave("ok")
    body, models = live(client, "anthropic", refresh="true")
    assert body["live"]["anthropic"]["status"] == "fresh"
    assert models["anthropic/claude-stub-only"]["stale"] is False


def test_a_provider_never_reached_is_failed_and_says_nothing_about_reachability(client):
    client.post("/api/config/api-keys", json={
        "provider": "openai", "api_key": "sk-nowhere-12345678",
        "api_base": closed_port_url() + "/v1"})
    body, models = live(client, "openai")
    assert body["live"]["openai"]["status"] == "failed"
    assert "could not be reached" in body["live"]["openai"]["message"]
    assert models["openai/gpt-4o-mini"]["reachable"] is None


def test_a_new_key_gets_a_new_look(client, stub, other_stub):
    add_key(client, stub, "openai")
    live(client, "openai")
    add_key(client, other_stub, "openai", key="sk-other-key-00099")
    live(client, "openai")
    assert models_asked(stub) == 1 and models_asked(other_stub) == 1


def test_discovery_uses_the_key_and_sets_last_used_at(client, stub):
    add_key(client, stub, "gemini")
    live(client, "gemini")
    assert client.get("/api/config/api-keys").get_json()[0]["last_used_at"] is not None


def test_an_unknown_model_asks_only_the_provider_it_names(client, stub, other_stub):
    """Selecting a model this worker does not know asks the provider the model id names
    (a model only it lists may be there), never the others: no key goes out to a provider
    for a name that is not its own, and a name of no configured provider asks none."""
    add_key(client, stub, "openai")
    add_key(client, other_stub, "anthropic")
    for unknown in ("nope", "gemini/unknown", "open%00ai/unknown"):
        assert client.post(f"/api/config/models/{unknown}/select").status_code == 404
    assert (models_asked(stub), models_asked(other_stub)) == (0, 0)
    assert client.post("/api/config/models/anthropic/unknown/select").status_code == 404
    assert (models_asked(stub), models_asked(other_stub)) == (0, 1)
    assert client.post("/api/config/models/openai/stub-local-llama/select").status_code == 200
    assert (models_asked(stub), models_asked(other_stub)) == (1, 1)
