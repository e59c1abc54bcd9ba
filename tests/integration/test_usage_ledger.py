"""The usage ledger, through the stand-in: every chat's tokens and cost, however it ended."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select, text

from configapp.catalog.litellm_catalog import litellm_metadata_path
from configapp.records import UsageRecord, db
from tests.provider_stub.fixtures import MODELS, add_key, quick_settings

HELLO = [{"role": "user", "content": "Say hello to the ledger please"}]


@pytest.fixture
def settings(make_settings):
    return quick_settings(make_settings)


def prices(model_id: str) -> tuple[float, float]:
    """(input, output) dollars a token, read straight from LiteLLM's price table."""
    table = json.loads(litellm_metadata_path().read_text())
    name = model_id.split("/", 1)[1]
    entry = table.get(model_id) or table[name]
    return entry["input_cost_per_token"], entry["output_cost_per_token"]


def rows(app) -> list[UsageRecord]:
    with app.app_context():
        found = list(db.session.scalars(select(UsageRecord).order_by(UsageRecord.id)))
        db.session.expunge_all()
        db.session.remove()
        return found


def chat(client, **body):
    return client.post("/api/chat", json={"messages": HELLO, **body})


def test_the_ledger_matches_the_stand_ins_usage_and_the_price_table(app, client, stub,
                                                                    flavour):
    key = add_key(client, stub, flavour)
    model = MODELS[flavour]
    assert chat(client, model=model).status_code == 200
    streamed = chat(client, model=model, stream=True)
    assert streamed.status_code == 200 and "event: done" in streamed.get_data(as_text=True)
    sent = stub.usage_sent
    assert len(sent) == 2
    recorded = rows(app)
    assert [(r.model, r.provider, r.key_id, r.key_source, r.outcome, r.purpose)
            for r in recorded] == [(model, flavour, key["id"], "database", "finished", None)] * 2
    assert [(r.prompt_tokens, r.completion_tokens) for r in recorded] == sent
    assert not any(r.tokens_counted for r in recorded)
    per_in, per_out = prices(model)
    cost = sum(p * per_in + c * per_out for p, c in sent)
    assert sum(r.cost for r in recorded) == pytest.approx(cost, rel=1e-9)

    totals = client.get("/api/config/usage?group_by=model").get_json()
    assert totals["total"]["requests"] == 2
    assert totals["total"]["prompt_tokens"] == sum(p for p, _ in sent)
    assert totals["total"]["completion_tokens"] == sum(c for _, c in sent)
    assert totals["total"]["cost"] == pytest.approx(cost, rel=1e-6)
    assert [group["group"] for group in totals["groups"]] == [model]
    by_key = client.get("/api/config/usage?group_by=key").get_json()["groups"]
    assert [(g["group"], g["requests"]) for g in by_key] == [(str(key["id"]), 2)]


def test_usage_groups_by_provider_and_day_within_the_range(client, stub):
    add_key(client, stub, "openai")
    add_key(client, stub, "anthropic")
    for flavour in ("openai", "anthropic", "anthropic"):
        assert chat(client, model=MODELS[flavour]).status_code == 200
    by_provider = client.get("/api/config/usage?group_by=provider").get_json()["groups"]
    assert [(g["group"], g["requests"]) for g in by_provider] == [("anthropic", 2),
                                                                 ("openai", 1)]
    by_day = client.get("/api/config/usage?group_by=day&since=2020-01-01").get_json()
    assert len(by_day["groups"]) == 1 and by_day["groups"][0]["requests"] == 3
    assert by_day["groups"][0]["group"] == by_day["until"][:10]
    before = client.get("/api/config/usage?since=2020-01-01&until=2020-02-01").get_json()
    assert before["total"]["requests"] == 0 and before["total"]["cost"] == 0


def test_a_stopped_stream_records_what_was_delivered(app, client, stub):
    add_key(client, stub, "openai")  # its stream tells the usage only after the last text
    response = client.post("/api/chat", json={"messages": HELLO, "model": MODELS["openai"],
                                              "stream": True}, buffered=False)
    delivered = ""
    for block in response.response:
        text_block = block.decode() if isinstance(block, bytes) else block
        if text_block.startswith("event: delta"):
            delivered += json.loads(text_block.split("data: ", 1)[1])["content"]
            break
    response.close()  # the client goes away after the first piece
    (row,) = rows(app)
    assert row.outcome == "stopped" and row.tokens_counted
    gateway = app.extensions["configapp"].gateway
    litellm = gateway.litellm()
    assert delivered and row.completion_tokens == litellm.token_counter(
        model=MODELS["openai"], text=delivered)
    full = "Hello from the openai stand-in. You said: Say hello to the ledger please"
    assert row.completion_tokens < litellm.token_counter(model=MODELS["openai"], text=full)
    assert row.prompt_tokens == litellm.token_counter(model=MODELS["openai"], messages=HELLO)
    per_in, per_out = prices(MODELS["openai"])
    assert row.cost == pytest.approx(row.prompt_tokens * per_in + row.completion_tokens * per_out)


def test_a_streams_receipt_reads_back_its_ledger_row_once_it_ended(app, client, stub,
                                                                    monkeypatch):
    monkeypatch.setattr("configapp.web.api.chat.RECEIPT_WAIT_SECONDS", 0.3)
    add_key(client, stub, "openai")
    response = client.post("/api/chat", json={"messages": HELLO, "model": MODELS["openai"],
                                              "stream": True}, buffered=False)
    receipt = response.headers["X-Chat-Receipt"]
    other = chat(client, model=MODELS["openai"], stream=True)  # a second row, not this one
    assert "event: done" in other.get_data(as_text=True)
    assert other.headers["X-Chat-Receipt"] != receipt
    blocks = iter(response.response)
    next(block for block in blocks if block.startswith(b"event: delta"))
    assert client.get(f"/api/chat/receipts/{receipt}").status_code == 404  # not ended yet
    response.close()  # the client goes away after the first piece
    read = client.get(f"/api/chat/receipts/{receipt}")
    assert read.status_code == 200, read.json
    (row,) = [r for r in rows(app) if r.receipt == receipt]
    assert read.json == {
        "receipt": receipt, "model": MODELS["openai"], "outcome": "stopped",
        "tokens_counted": True, "cost": pytest.approx(row.cost),
        "usage": {"prompt_tokens": row.prompt_tokens,
                  "completion_tokens": row.completion_tokens,
                  "total_tokens": row.prompt_tokens + row.completion_tokens}}
    finished = client.get(f"/api/chat/receipts/{other.headers['X-Chat-Receipt']}").json
    assert finished["outcome"] == "finished" and not finished["tokens_counted"]


@pytest.mark.parametrize("receipt", ["A" * 22, "short", "x" * 33, "a.b" * 8, "%00" * 8])
def test_an_unknown_or_malformed_receipt_is_a_404_that_says_why(client, receipt, monkeypatch):
    monkeypatch.setattr("configapp.web.api.chat.RECEIPT_WAIT_SECONDS", 0.3)
    response = client.get(f"/api/chat/receipts/{receipt}")
    assert response.status_code == 404
    assert "No usage is recorded under this receipt" in response.json["message"]


def test_the_count_of_a_stopped_reply_is_the_ledgers_and_records_nothing(app, client, stub):
    add_key(client, stub, "openai")
    response = client.post("/api/chat", json={"messages": HELLO, "model": MODELS["openai"],
                                              "stream": True}, buffered=False)
    delivered = ""
    for block in response.response:
        text_block = block.decode() if isinstance(block, bytes) else block
        if text_block.startswith("event: delta"):
            delivered += json.loads(text_block.split("data: ", 1)[1])["content"]
            break
    response.close()
    (row,) = rows(app)
    counted = client.post("/api/chat/count", json={"messages": HELLO, "reply": delivered,
                                                   "model": MODELS["openai"]})
    assert counted.status_code == 200, counted.json
    assert counted.json["usage"]["prompt_tokens"] == row.prompt_tokens
    assert counted.json["usage"]["completion_tokens"] == row.completion_tokens
    assert counted.json["cost"] == pytest.approx(row.cost)
    assert len(rows(app)) == 1  # counting is not a use
    refused = client.post("/api/chat/count", json={"messages": HELLO})
    assert refused.status_code == 422 and "reply" in refused.json["errors"], refused.json


def test_a_stream_that_fails_after_text_flowed_is_recorded_as_failed(app, client, stub):
    add_key(client, stub, "openai")
    stub.behave("stall")  # one piece of text, then silence until the timeout
    response = chat(client, model=MODELS["openai"], stream=True)
    assert "event: error" in response.get_data(as_text=True)
    (row,) = rows(app)
    assert row.outcome == "failed" and row.completion_tokens > 0 and row.cost > 0


def test_a_refused_chat_records_its_attempt_as_unavailable_with_nothing_spent(app, client,
                                                                              stub):
    add_key(client, stub, "openai")
    stub.behave(500)
    assert chat(client, model=MODELS["openai"]).status_code == 502
    assert chat(client, model=MODELS["openai"], stream=True).status_code == 502
    assert [(r.outcome, r.prompt_tokens, r.completion_tokens, r.cost) for r in rows(app)] == [
        ("unavailable", None, None, 0.0)] * 2


def test_a_failed_ledger_write_does_not_break_the_chat(app, client, stub, caplog):
    add_key(client, stub, "openai")
    with app.app_context():  # the real failure: the table is gone
        db.session.execute(text("DROP TABLE usage_records"))
        db.session.commit()
        db.session.remove()
    with caplog.at_level(logging.ERROR, logger="configapp.chat.usage"):
        answer = chat(client, model=MODELS["openai"])
        streamed = chat(client, model=MODELS["openai"], stream=True)
    assert answer.status_code == 200 and answer.get_json()["message"]["content"]
    assert "event: done" in streamed.get_data(as_text=True)
    failures = [r for r in caplog.records if "usage not recorded" in r.getMessage()]
    assert len(failures) == 2


@pytest.mark.parametrize(("query", "field"), [
    ("group_by=week", "group_by"), ("since=yesterday", "since"), ("until=2026-13-01", "until"),
    ("since=2026-12-02&until=2026-12-01", "since"), ("since=" + "9" * 50, "since")])
def test_bad_usage_queries_are_refused_with_a_message(client, query, field):
    response = client.get(f"/api/config/usage?{query}")
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert field in body["errors"] and body["message"].startswith("The request is not valid")
