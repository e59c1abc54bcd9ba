"""Model curation through the API and the provider stand-in: hidden models, aliases, a
default per purpose, and models a provider stops listing. On SQLite and PostgreSQL."""

import pytest

from configapp import create_app
from tests.provider_stub.fixtures import KEYS, MODELS, add_key, quick_settings

HELLO = [{"role": "user", "content": "Say hello"}]


@pytest.fixture
def settings(make_settings):
    return quick_settings(make_settings)


def chat(client, **body):
    return client.post("/api/chat", json={"messages": HELLO, **body})


def chat_calls(stub) -> int:
    return sum(1 for r in stub.requests if r.method == "POST")


def revision(client) -> str:
    return client.get("/api/config/sync").headers["ETag"]


def catalogue(client, **query) -> dict[str, dict]:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    response = client.get(f"/api/config/models?{params}")
    assert response.status_code == 200, response.get_json()
    return {m["id"]: m for m in response.get_json()["models"]}


def curate(client, provider, **body):
    return client.patch(f"/api/config/curation/{provider}", json=body)


def counts(client, provider) -> dict:
    body = client.get(f"/api/config/curation?provider={provider}").get_json()
    return body["providers"][0]


# ---- visibility ------------------------------------------------------------------------

def test_a_hidden_model_leaves_the_catalogue_and_the_counts_say_so(client):
    before = counts(client, "openai")
    assert before["shown"] == before["total"] > 10 and before["only_chosen"] is False
    response = curate(client, "openai", hide=["openai/gpt-4o"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {**before, "shown": before["total"] - 1}
    assert "openai/gpt-4o" not in catalogue(client, provider="openai")
    every = catalogue(client, provider="openai", include_hidden="true")
    assert every["openai/gpt-4o"]["hidden"] is True
    assert every["openai/gpt-4o-mini"]["hidden"] is False
    assert "openai/gpt-4o" not in catalogue(client, q="gpt-4o")  # the cached body follows
    curate(client, "openai", show=["openai/gpt-4o"])
    assert "openai/gpt-4o" in catalogue(client, provider="openai")
    assert counts(client, "openai") == before


def test_all_of_a_providers_models_but_a_chosen_few_in_one_request(client):
    total = counts(client, "openai")["total"]
    response = curate(client, "openai", only=["openai/gpt-4o-mini", "openai/gpt-4o"])
    assert response.get_json() == {"provider": "openai", "total": total, "shown": 2,
                                   "only_chosen": True}
    assert set(catalogue(client, provider="openai")) == {"openai/gpt-4o-mini",
                                                         "openai/gpt-4o"}
    assert "anthropic/claude-sonnet-4-5" in catalogue(client, provider="anthropic")
    curate(client, "openai", hide=["openai/gpt-4o"], show=["openai/gpt-4.1"])
    assert set(catalogue(client, provider="openai")) == {"openai/gpt-4o-mini",
                                                         "openai/gpt-4.1"}
    assert curate(client, "openai", show_all=True).get_json()["shown"] == total


def test_an_unknown_provider_is_a_404(client):
    response = curate(client, "nosuchprovider", hide=[])
    assert response.status_code == 404
    assert response.get_json()["message"] == "Unknown provider 'nosuchprovider'."


@pytest.mark.parametrize(("provider", "body", "field"), [
    ("openai", {"hide": ["openai/no-such-model"]}, "hide"),
    ("openai", {"only": ["anthropic/claude-sonnet-4-5"]}, "only"),
    ("openai", {"hide": ["openai/gpt-4o"], "show": ["openai/nope"]}, "show"),
    ("openai", {"hide": "openai/gpt-4o"}, "hide"),
    ("openai", {"show_all": "yes"}, "show_all"),
])
def test_a_bad_visibility_change_is_a_422_and_changes_nothing(client, provider, body, field):
    etag = revision(client)
    response = curate(client, provider, **body)
    assert response.status_code == 422, response.get_json()
    payload = response.get_json()
    assert payload["message"]
    if field:
        assert field in payload["errors"]
    assert revision(client) == etag
    assert counts(client, "openai")["shown"] == counts(client, "openai")["total"]


def test_a_hidden_model_is_refused_by_chat_with_no_provider_call(client, stub):
    add_key(client, stub, "openai")
    assert chat(client, model=MODELS["openai"]).status_code == 200
    calls = chat_calls(stub)
    assert client.post(f"/api/config/models/{MODELS['openai']}/select").status_code == 200
    client.put("/api/config/aliases/fast", json={"model": MODELS["openai"]})
    client.put("/api/config/purposes/title", json={"model": MODELS["openai"]})
    curate(client, "openai", hide=[MODELS["openai"]])
    for body in ({"model": MODELS["openai"]}, {}, {"model": "fast"}, {"purpose": "title"},
                 {"model": MODELS["openai"], "stream": True}):
        response = chat(client, **body)
        assert response.status_code == 422, (body, response.get_json())
        message = response.get_json()["message"]
        assert "hidden" in message and "Settings > Curation > Shown models (openai)" in message
        assert "flask" not in message
    assert chat_calls(stub) == calls
    kinds = {(w["name"], w["kind"]) for w in client.get("/api/config/sync").get_json()[
        "warnings"]}
    assert {("chat", "hidden"), ("title", "hidden"), ("fast", "hidden")} <= kinds
    response = client.post("/api/config/models/openai/gpt-4o-mini/select")
    assert response.status_code == 422 and "hidden" in response.get_json()["message"]


# ---- aliases ---------------------------------------------------------------------------

def test_an_alias_is_used_by_chat_with_its_own_parameters(client, stub, flavour):
    add_key(client, stub, flavour)
    model = MODELS[flavour]
    client.put(f"/api/config/models/{model}/parameters", json={"temperature": 0.9,
                                                                "top_p": 0.5})
    response = client.put("/api/config/aliases/work/fast",
                          json={"model": model, "parameters": {"temperature": 0.25,
                                                               "max_tokens": 40}})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["model"]["id"] == model
    reply = chat(client, model="work/fast")
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    assert body["model"] == model
    assert body["parameters"] == {"temperature": 0.25, "top_p": 0.5, "max_tokens": 40}
    sent = stub.last(":generateContent" if flavour == "gemini" else "")
    assert sent.key == KEYS[flavour]
    if flavour == "gemini":
        assert sent.body["generationConfig"]["temperature"] == 0.25
        assert sent.body["generationConfig"]["max_output_tokens"] == 40
    else:
        assert (sent.body["temperature"], sent.body["max_tokens"]) == (0.25, 40)


def test_select_and_the_snapshot_accept_an_alias(client, stub):
    add_key(client, stub, "anthropic")
    client.put("/api/config/aliases/fast", json={"model": MODELS["anthropic"],
                                                 "parameters": {"temperature": 0.3}})
    client.put("/api/config/aliases/quick", json={"model": "fast",
                                                  "parameters": {"max_tokens": 30}})
    selected = client.post("/api/config/models/quick/select")
    assert selected.status_code == 200, selected.get_json()
    assert selected.get_json()["alias"] == "quick"
    shown = client.get("/api/config/models/selected").get_json()
    assert shown["model"]["id"] == MODELS["anthropic"] and shown["alias"] == "quick"
    assert shown["parameters"] == {"temperature": 0.3, "max_tokens": 30}
    reply = chat(client)
    assert reply.get_json()["model"] == MODELS["anthropic"]
    assert reply.get_json()["parameters"] == {"temperature": 0.3, "max_tokens": 30}
    sync = client.get("/api/config/sync").get_json()
    assert sync["selected"]["alias"] == "quick"
    assert sync["selected"]["model"]["id"] == MODELS["anthropic"]
    assert sync["purposes"]["chat"] == {"target": "quick", "alias": "quick",
                                        "model": MODELS["anthropic"],
                                        "parameters": {"temperature": 0.3, "max_tokens": 30}}
    assert sync["aliases"]["fast"] == {"target": MODELS["anthropic"],
                                       "parameters": {"temperature": 0.3}}
    # The old route takes the chat purpose back to a plain model.
    client.post(f"/api/config/models/{MODELS['openai']}/select")
    assert client.get("/api/config/models/selected").get_json()["alias"] is None
    assert client.get("/api/config/sync").get_json()["purposes"]["chat"]["target"] == (
        MODELS["openai"])


@pytest.mark.parametrize(("name", "body", "status"), [
    ("openai/gpt-4o", {"model": "openai/gpt-4o-mini"}, 422),      # a real model id
    ("openai/my-fast", {"model": "openai/gpt-4o-mini"}, 422),     # a provider's name
    ("google/fast", {"model": "openai/gpt-4o-mini"}, 422),        # a provider's other name
    ("Fast!", {"model": "openai/gpt-4o-mini"}, 422),              # not a slug
    ("a" * 65, {"model": "openai/gpt-4o-mini"}, 422),
    ("fast", {"model": "openai/no-such-model"}, 404),
    ("fast", {"model": "openai/gpt-4o-mini", "parameters": {"max_tokens": 10 ** 9}}, 422),
    ("fast", {"model": "openai/gpt-4o-mini", "parameters": {"temperature": "hot"}}, 422),
    ("fast", {}, 422),
])
def test_a_bad_alias_is_refused_and_changes_nothing(client, name, body, status):
    etag = revision(client)
    response = client.put(f"/api/config/aliases/{name}", json=body)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["message"]
    assert client.get("/api/config/aliases").get_json() == []
    assert revision(client) == etag


def test_alias_loops_are_refused(client):
    client.put("/api/config/aliases/a", json={"model": "openai/gpt-4o-mini"})
    client.put("/api/config/aliases/b", json={"model": "a"})
    etag = revision(client)
    for name, target in (("a", "b"), ("a", "a")):
        response = client.put(f"/api/config/aliases/{name}", json={"model": target})
        assert response.status_code == 422
        assert "loop" in response.get_json()["message"]
    assert revision(client) == etag
    aliases = {a["name"]: a["target"] for a in client.get("/api/config/aliases").get_json()}
    assert aliases == {"a": "openai/gpt-4o-mini", "b": "a"}


def test_an_alias_in_use_cannot_be_deleted_and_a_free_one_can(client):
    client.put("/api/config/aliases/fast", json={"model": "openai/gpt-4o-mini"})
    client.put("/api/config/aliases/faster", json={"model": "fast"})
    client.put("/api/config/purposes/title", json={"model": "fast"})
    response = client.delete("/api/config/aliases/fast")
    assert response.status_code == 409
    assert "purpose 'title'" in response.get_json()["message"]
    assert "alias 'faster'" in response.get_json()["message"]
    assert client.delete("/api/config/aliases/faster").status_code == 204
    assert client.delete("/api/config/aliases/faster").status_code == 404


def test_deleting_the_target_models_key_keeps_the_alias_and_chat_answers_409(client, stub):
    key = add_key(client, stub, "openai")
    client.put("/api/config/aliases/fast", json={"model": MODELS["openai"]})
    assert chat(client, model="fast").status_code == 200
    calls = chat_calls(stub)
    assert client.delete(f"/api/config/api-keys/{key['id']}").status_code == 204
    assert [a["name"] for a in client.get("/api/config/aliases").get_json()] == ["fast"]
    response = chat(client, model="fast")
    assert response.status_code == 409
    assert "add one in Settings" in response.get_json()["message"]
    assert chat_calls(stub) == calls
    warning = next(w for w in client.get("/api/config/sync").get_json()["warnings"]
                   if w["name"] == "fast")
    assert warning["kind"] == "no_key" and "Add a key for openai" in warning["action"]


# ---- purposes --------------------------------------------------------------------------

def test_a_purpose_uses_its_model_and_answers_409_once_its_key_is_deleted(client, stub):
    add_key(client, stub, "openai")
    anthropic = add_key(client, stub, "anthropic")
    client.post(f"/api/config/models/{MODELS['openai']}/select")
    response = client.put("/api/config/purposes/title", json={"model": MODELS["anthropic"]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["model"]["id"] == MODELS["anthropic"]
    reply = chat(client, purpose="title")
    assert reply.status_code == 200 and reply.get_json()["model"] == MODELS["anthropic"]
    assert chat(client).get_json()["model"] == MODELS["openai"]
    calls = chat_calls(stub)
    client.delete(f"/api/config/api-keys/{anthropic['id']}")
    for stream in (False, True):
        response = chat(client, purpose="title", stream=stream)
        assert response.status_code == 409, response.get_json()
        assert "anthropic" in response.get_json()["message"]
    assert chat_calls(stub) == calls  # never another model instead


def test_a_purpose_with_no_model_answers_409_and_says_where_to_set_one(client, stub):
    add_key(client, stub, "openai")
    client.post(f"/api/config/models/{MODELS['openai']}/select")
    for purpose in ("title", "extension", "summaries"):
        response = chat(client, purpose=purpose)
        assert response.status_code == 409
        message = response.get_json()["message"]
        assert f"No model is set for the purpose '{purpose}'" in message
        assert "Settings > Curation > Purposes" in message and "flask" not in message
    assert chat_calls(stub) == 0


@pytest.mark.parametrize("body", [
    {"purpose": "Not A Slug"}, {"purpose": "title", "model": "openai/gpt-4o-mini"},
    {"purpose": ""}, {"purpose": 3},
])
def test_a_bad_purpose_in_a_chat_is_a_422(client, stub, body):
    add_key(client, stub, "openai")
    response = chat(client, **body)
    assert response.status_code == 422, response.get_json()
    assert chat_calls(stub) == 0


def test_purposes_are_listed_with_the_builtin_ones_and_more_by_name(client):
    names = [p["name"] for p in client.get("/api/config/purposes").get_json()["purposes"]]
    assert names == ["chat", "title", "extension"]
    client.put("/api/config/purposes/code-review", json={"model": "openai/gpt-4o"})
    client.put("/api/config/purposes/chat", json={"model": "openai/gpt-4o-mini"})
    purposes = {p["name"]: p for p in client.get("/api/config/purposes").get_json()[
        "purposes"]}
    assert list(purposes) == ["chat", "title", "extension", "code-review"]
    assert purposes["code-review"]["model"]["id"] == "openai/gpt-4o"
    assert purposes["title"]["model"] is None and purposes["title"]["builtin"] is True
    selected = client.get("/api/config/models/selected").get_json()
    assert selected["model"]["id"] == "openai/gpt-4o-mini"  # chat is the default model
    assert client.delete("/api/config/purposes/code-review").status_code == 204
    assert client.delete("/api/config/purposes/code-review").status_code == 404
    assert client.delete("/api/config/purposes/chat").status_code == 204
    assert client.get("/api/config/models/selected").status_code == 404


@pytest.mark.parametrize(("name", "body", "status"), [
    ("Title", {"model": "openai/gpt-4o"}, 422),
    ("no spaces", {"model": "openai/gpt-4o"}, 422),
    ("a" * 41, {"model": "openai/gpt-4o"}, 422),
    ("title", {"model": "openai/nope"}, 404),
    ("title", {"model": "nope-alias"}, 404),
    ("title", {"model": 5}, 422),
])
def test_a_bad_purpose_is_refused_and_changes_nothing(client, name, body, status):
    etag = revision(client)
    response = client.put(f"/api/config/purposes/{name}", json=body)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["message"]
    assert revision(client) == etag


# ---- models going away -----------------------------------------------------------------

def test_a_model_the_stand_in_stops_listing_is_withdrawn_and_sync_warns(
        client, stub, settings):
    add_key(client, stub, "openai")
    client.get("/api/config/models?live=true&provider=openai")
    client.post("/api/config/models/openai/gpt-4o/select")
    client.put("/api/config/aliases/local", json={"model": "openai/stub-local-llama"})
    first = client.get("/api/config/sync")
    assert [w for w in first.get_json()["warnings"] if w["kind"] == "withdrawn"] == []

    stub.stop_listing("gpt-4o", "stub-local-llama")
    client.get("/api/config/models?live=true&refresh=true&provider=openai")
    again = client.get("/api/config/sync", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200 and again.headers["ETag"] != first.headers["ETag"]
    warnings = {(w["source"], w["name"]): w for w in again.get_json()["warnings"]
                if w["kind"] == "withdrawn"}
    assert set(warnings) == {("purpose", "chat"), ("alias", "local")}
    chat_warning = warnings[("purpose", "chat")]
    assert chat_warning["model"] == "openai/gpt-4o" and chat_warning["date"]
    assert "stopped listing" in chat_warning["message"]
    assert "Settings > Curation > Purposes" in chat_warning["action"]
    entry = catalogue(client, provider="openai")["openai/gpt-4o"]
    assert entry["withdrawn_at"].startswith(chat_warning["date"])
    selected = client.get("/api/config/models/selected").get_json()
    assert {w["kind"] for w in selected["warnings"]} >= {"withdrawn"}

    # The mark is stored: a new process (another instance) shows it without asking.
    asked = len(stub.requests)
    other = create_app(settings).test_client()
    restarted = other.get("/api/config/sync").get_json()
    assert restarted["revision"] == again.get_json()["revision"]
    assert {w["name"] for w in restarted["warnings"] if w["kind"] == "withdrawn"} == {
        "chat", "local"}
    assert len(stub.requests) == asked

    # Listed again: the mark goes, and the ETag moves with it.
    stub.stop_listing()
    client.get("/api/config/models?live=true&refresh=true&provider=openai")
    back = client.get("/api/config/sync")
    assert back.headers["ETag"] != again.headers["ETag"]
    assert [w for w in back.get_json()["warnings"] if w["kind"] == "withdrawn"] == []


def test_an_unchanged_listing_writes_nothing(client, stub):
    add_key(client, stub, "anthropic")
    client.get("/api/config/models?live=true&provider=anthropic")
    etag = revision(client)
    client.get("/api/config/models?live=true&refresh=true&provider=anthropic")
    assert revision(client) == etag


def test_deprecation_dates_are_shown_and_warned_about(client):
    entry = catalogue(client, q="gpt-4o-2024-08-06")["openai/gpt-4o-2024-08-06"]
    assert entry["deprecation_date"] == "2027-01-14"
    client.put("/api/config/purposes/title", json={"model": "openai/gpt-4o-2024-08-06"})
    warnings = client.get("/api/config/purposes").get_json()["warnings"]
    deprecated = [w for w in warnings if w["kind"] == "deprecated"]
    assert deprecated == [{
        "source": "purpose", "name": "title", "kind": "deprecated",
        "model": "openai/gpt-4o-2024-08-06", "date": "2027-01-14",
        "message": "The purpose 'title' uses openai/gpt-4o-2024-08-06, which openai "
                   "deprecates on 2027-01-14 (LiteLLM's metadata).",
        "action": "Choose another model for the purpose 'title' in Settings > Curation > "
                  "Purposes before then."}]
    assert {w["kind"] for w in warnings} == {"deprecated", "no_key"}


def test_every_curation_write_moves_the_sync_etag(client):
    writes = [
        lambda: curate(client, "openai", hide=["openai/gpt-4o"]),
        lambda: curate(client, "openai", show=["openai/gpt-4o"]),
        lambda: client.put("/api/config/aliases/fast", json={"model": "openai/gpt-4o"}),
        lambda: client.put("/api/config/aliases/fast",
                           json={"model": "openai/gpt-4o", "parameters": {"top_p": 0.5}}),
        lambda: client.put("/api/config/purposes/title", json={"model": "fast"}),
        lambda: client.post("/api/config/models/fast/select"),
        lambda: client.post("/api/config/models/openai/gpt-4o/select"),
        lambda: client.delete("/api/config/purposes/title"),
        lambda: client.delete("/api/config/aliases/fast"),
    ]
    seen = {revision(client)}
    for write in writes:
        response = write()
        assert response.status_code < 300, response.get_json()
        etag = revision(client)
        assert etag not in seen
        seen.add(etag)
