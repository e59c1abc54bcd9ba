"""Fallbacks of aliases and purposes, through the stand-ins: the model that fails is on one
stand-in, its fallback on another, so each test sees which one was called. The rule is
docs/architecture.md's "Fallbacks"."""

from __future__ import annotations

import json
import socket

import pytest
from sqlalchemy import select

from configapp.records import UsageRecord, db
from tests.provider_stub import ProviderStub
from tests.provider_stub.fixtures import MODELS, add_key, quick_settings

HELLO = [{"role": "user", "content": "Say hello"}]
PRIMARY, FALLBACK = MODELS["openai"], MODELS["anthropic"]


@pytest.fixture
def settings(make_settings):
    return quick_settings(make_settings)


@pytest.fixture
def pair(client, stub, other_stub):
    """openai on `stub` (made to fail), anthropic on `other_stub` (answers); the alias
    `main` is openai's model, falling back to anthropic's."""
    add_key(client, stub, "openai")
    add_key(client, other_stub, "anthropic")
    put = client.put("/api/config/aliases/main", json={"model": PRIMARY,
                                                       "fallbacks": [FALLBACK]})
    assert put.status_code == 200, put.get_json()
    assert put.get_json()["fallbacks"] == [FALLBACK]
    return stub, other_stub


def chat(client, **body):
    return client.post("/api/chat", json={"messages": HELLO, **body})


def chat_calls(stub: ProviderStub) -> int:
    return sum(1 for r in stub.requests if r.method == "POST")


def events(response) -> list[tuple[str, dict]]:
    found = []
    for block in response.get_data(as_text=True).strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        found.append((lines["event"], json.loads(lines["data"])))
    return found


def ledger(app) -> list[tuple[str, str, int | None, float | None]]:
    """(model, outcome, completion tokens, cost) of every ledger row, oldest first."""
    with app.app_context():
        rows = [(r.model, r.outcome, r.completion_tokens, r.cost)
                for r in db.session.scalars(select(UsageRecord).order_by(UsageRecord.id))]
        db.session.remove()
    return rows


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(("behaviour", "reason"), [(503, "503"), (429, "429"),
                                                   ("hang", "timeout")])
def test_a_provider_that_is_unavailable_falls_back_to_the_next_model(
        app, client, pair, behaviour, reason, stream):
    primary, fallback = pair
    primary.behave(behaviour)
    response = chat(client, model="main", stream=stream)
    assert response.status_code == 200, response.get_data(as_text=True)
    if stream:
        found = events(response)
        assert [name for name, _ in found][-1] == "done"
        answer = found[-1][1]
        text = "".join(data["content"] for name, data in found if name == "delta")
    else:
        answer = response.get_json()
        text = answer["message"]["content"]
    assert text.startswith("Hello from the anthropic stand-in")
    assert answer["model"] == FALLBACK and answer["provider"] == "anthropic"
    assert answer["fallback_from"] == [{"model": PRIMARY, "reason": reason}]
    assert chat_calls(primary) == 1 and chat_calls(fallback) == 1
    # Every attempt is in the ledger: the failed one with no tokens and nothing spent.
    (failed, answered) = ledger(app)
    assert failed == (PRIMARY, "unavailable", None, 0.0)
    assert answered[:2] == (FALLBACK, "finished") and answered[2] > 0


def test_a_refused_connection_falls_back(client, stub, other_stub):
    add_key(client, other_stub, "anthropic")
    client.post("/api/config/api-keys", json={
        "provider": "openai", "api_key": "sk-stub-openai-0001",
        "api_base": f"http://127.0.0.1:{closed_port()}/v1"})
    client.put("/api/config/purposes/title", json={"model": PRIMARY, "fallbacks": [FALLBACK]})
    response = chat(client, purpose="title")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["model"] == FALLBACK
    assert response.get_json()["fallback_from"] == [{"model": PRIMARY,
                                                     "reason": "connection refused"}]


@pytest.mark.parametrize("status", [400, 401])
def test_a_refused_request_or_key_does_not_fall_back(app, client, pair, status):
    primary, fallback = pair
    primary.behave(status)
    for stream in (False, True):
        response = chat(client, model="main", stream=stream)
        assert response.status_code == 502, response.get_data(as_text=True)
        assert f"HTTP {status}" in response.get_json()["message"]
    assert chat_calls(fallback) == 0
    assert [row[1] for row in ledger(app)] == ["unavailable", "unavailable"]


def test_a_stream_cut_after_its_first_byte_ends_with_an_error_and_no_fallback(client, pair):
    primary, fallback = pair
    primary.behave("stall")  # one piece of text, then silence past the timeout
    response = chat(client, model="main", stream=True)
    found = events(response)
    assert found[0][0] == "delta"
    assert found[-1][0] == "error" and "done" not in [name for name, _ in found]
    assert chat_calls(fallback) == 0 and fallback.requests == []


def test_a_fallback_whose_budget_is_spent_is_skipped_and_named(app, client, pair):
    primary, spent = pair
    third = ProviderStub().start()
    try:
        add_key(client, third, "gemini")
        assert chat(client, model=FALLBACK).status_code == 200  # anthropic spends something
        client.put("/api/config/budgets/provider/anthropic", json={"monthly_limit": 1e-9})
        client.put("/api/config/aliases/main", json={
            "model": PRIMARY, "fallbacks": [FALLBACK, MODELS["gemini"]]})
        primary.behave(503)
        asked = chat_calls(spent)
        response = chat(client, model="main")
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert body["model"] == MODELS["gemini"]
        assert body["fallback_from"] == [{"model": PRIMARY, "reason": "503"},
                                         {"model": FALLBACK, "reason": "budget spent"}]
        assert chat_calls(spent) == asked  # never called
    finally:
        third.stop()


def test_the_first_models_own_spent_budget_is_a_refusal_not_a_fallback(client, pair):
    _, fallback = pair
    assert chat(client, model=PRIMARY).status_code == 200
    client.put("/api/config/budgets/provider/openai", json={"monthly_limit": 1e-9})
    response = chat(client, model="main")
    assert response.status_code == 402
    assert chat_calls(fallback) == 0


def test_at_most_three_attempts(app, client, pair):
    primary, _ = pair
    primary.behave(503)
    others = ["openai/gpt-4o", "openai/gpt-4.1", "openai/gpt-4.1-mini"]
    put = client.put("/api/config/aliases/main", json={"model": PRIMARY, "fallbacks": others})
    assert put.status_code == 200, put.get_json()
    response = chat(client, model="main")
    assert response.status_code == 502
    assert chat_calls(primary) == 3
    assert [row[:2] for row in ledger(app)] == [
        (PRIMARY, "unavailable"), (others[0], "unavailable"), (others[1], "unavailable")]
    # The Usage card's figures: how often each model failed.
    usage = client.get("/api/config/usage?group_by=model").get_json()
    assert usage["total"]["unavailable_requests"] == 3
    assert {g["group"]: g["unavailable_requests"] for g in usage["groups"]} == {
        PRIMARY: 1, others[0]: 1, others[1]: 1}


def test_a_purpose_without_fallbacks_never_tries_another_model(client, pair):
    primary, fallback = pair
    client.put("/api/config/purposes/title", json={"model": PRIMARY})
    primary.behave(503)
    assert chat(client, purpose="title").status_code == 502
    assert chat_calls(fallback) == 0


@pytest.mark.parametrize(("path", "body", "words"), [
    ("aliases/main", {"model": PRIMARY, "fallbacks": ["main"]}, "loop"),
    ("aliases/main", {"model": PRIMARY, "fallbacks": ["other"]}, "loop"),
    ("aliases/main", {"model": PRIMARY, "fallbacks": [PRIMARY]}, "already tried"),
    ("aliases/main", {"model": PRIMARY, "fallbacks": ["openai/no-such-model"]}, "Unknown"),
    ("aliases/main", {"model": PRIMARY, "fallbacks": ["openai/gpt-4o"] * 5}, "fallbacks"),
    ("purposes/title", {"model": PRIMARY, "fallbacks": ["openai/gpt-4o"]}, "hidden"),
    ("purposes/title", {"model": "main", "fallbacks": ["main"]}, "already tried"),
])
def test_bad_fallbacks_are_refused_and_change_nothing(client, pair, path, body, words):
    client.put("/api/config/aliases/other", json={"model": FALLBACK, "fallbacks": ["main"]})
    client.patch("/api/config/curation/openai", json={"hide": ["openai/gpt-4o"]})
    before = (client.get("/api/config/aliases").get_json(),
              client.get("/api/config/purposes").get_json())
    response = client.put(f"/api/config/{path}", json=body)
    assert 400 <= response.status_code < 500, response.get_json()
    assert words in json.dumps(response.get_json())
    assert (client.get("/api/config/aliases").get_json(),
            client.get("/api/config/purposes").get_json()) == before


def test_fallbacks_are_kept_when_left_out_and_an_alias_in_use_as_one_stays(client, pair):
    client.put("/api/config/aliases/backup", json={"model": FALLBACK})
    client.put("/api/config/purposes/title", json={"model": PRIMARY, "fallbacks": ["backup"]})
    client.put("/api/config/aliases/main", json={"model": PRIMARY})  # fallbacks left out
    aliases = {a["name"]: a for a in client.get("/api/config/aliases").get_json()}
    assert aliases["main"]["fallbacks"] == [FALLBACK]
    title = next(p for p in client.get("/api/config/purposes").get_json()["purposes"]
                 if p["name"] == "title")
    assert title["fallbacks"] == ["backup"]
    refused = client.delete("/api/config/aliases/backup")
    assert refused.status_code == 409 and "fallbacks of purpose 'title'" in (
        refused.get_json()["message"])


@pytest.mark.parametrize("stream", [False, True])
def test_v1_falls_back_by_the_same_rule_and_names_it_in_a_header(app, client, pair, stream):
    primary, fallback = pair
    primary.behave(503)
    response = client.post("/v1/chat/completions", json={
        "model": "main", "messages": HELLO, "stream": stream})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["X-Configapp-Fallback-From"] == f"{PRIMARY} (503)"
    if stream:
        chunks = [json.loads(line.removeprefix("data: "))
                  for line in response.get_data(as_text=True).splitlines()
                  if line.startswith("data: {")]
        assert {chunk["model"] for chunk in chunks} == {FALLBACK}
    else:
        assert response.get_json()["model"] == FALLBACK
    assert chat_calls(primary) == 1 and chat_calls(fallback) == 1
    assert [row[:2] for row in ledger(app)] == [(PRIMARY, "unavailable"),
                                                (FALLBACK, "finished")]


def test_v1_does_not_fall_back_on_a_refused_key(client, pair):
    primary, fallback = pair
    primary.behave(401)
    response = client.post("/v1/chat/completions", json={"model": "main", "messages": HELLO})
    assert response.status_code == 502, response.get_data(as_text=True)
    assert "X-Configapp-Fallback-From" not in response.headers
    assert chat_calls(fallback) == 0
