"""Chat answers tell the truth, through the stand-in: `done` only when the provider said
it finished, usage believed only within bounds, an answer bounded in memory."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select

from configapp.providers.llm import MAX_ANSWER_CHARS
from configapp.records import UsageRecord, db
from tests.provider_stub.fixtures import MODELS, add_key, quick_settings

HELLO = [{"role": "user", "content": "Say hello"}]
SAID = "Hello from the {} stand-in. You said: Say hello"


@pytest.fixture
def settings(make_settings):
    return quick_settings(make_settings)


def chat(client, flavour: str, stream: bool):
    return client.post("/api/chat", json={"messages": HELLO, "model": MODELS[flavour],
                                          "stream": stream})


def events(response) -> list[tuple[str, dict]]:
    found = []
    for block in response.get_data(as_text=True).strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        found.append((lines["event"], json.loads(lines["data"])))
    return found


def rows(app) -> list[UsageRecord]:
    with app.app_context():
        found = list(db.session.scalars(select(UsageRecord).order_by(UsageRecord.id)))
        db.session.expunge_all()
        db.session.remove()
        return found


def text_of(found: list[tuple[str, dict]]) -> str:
    return "".join(data["content"] for name, data in found if name == "delta")


# ---- a stream is done only when the provider said so ---------------------------------

# Each wire format family the stand-in speaks; Azure speaks OpenAI's. litellm sends
# gpt-5-pro to the Responses API, and asks it for a plain answer even for a streamed chat.
FAMILIES = {**MODELS, "responses": "openai/gpt-5-pro"}


@pytest.fixture(params=list(FAMILIES))
def family(request: pytest.FixtureRequest) -> str:
    return request.param


def ask(client, stub, family: str, stream: bool):
    """A key for the family's provider, then one chat with its model."""
    if family == "responses":
        stub.extra_openai_models = ("gpt-5-pro",)
    add_key(client, stub, "openai" if family == "responses" else family)
    if family == "responses":  # known once the key's listing named it
        assert client.get("/api/config/models?live=true&provider=openai").status_code == 200
    return client.post("/api/chat", json={"messages": HELLO, "model": FAMILIES[family],
                                          "stream": stream})


@pytest.mark.parametrize("close_delimited", [True, False], ids=["closed", "dropped"])
def test_a_stream_that_stops_before_its_finish_ends_cut_short(app, client, stub, flavour,
                                                              close_delimited):
    """The text, then the end of the body before the provider said it finished: closed
    (HTTP/1.0: the close ends the body) or dropped (a chunked body without its last chunk).
    Never `done`, never a `finished` row: an error provider_stream_cut, a `cut` row."""
    stub.close_delimited = close_delimited
    stub.behave("cut")
    response = ask(client, stub, flavour, stream=True)
    assert response.status_code == 200
    found = events(response)
    assert text_of(found) == SAID.format(flavour)  # every delta that came, then the error
    name, error = found[-1]
    assert name == "error" and [n for n, _ in found].count("error") == 1
    assert "done" not in [n for n, _ in found]
    assert error["code"] == 502 and error["errors"] == {"provider": ["provider_stream_cut"]}
    assert "cut short" in error["message"]
    (row,) = rows(app)
    assert row.outcome == "cut" and row.tokens_counted and row.completion_tokens > 0


def test_a_close_delimited_stream_that_finishes_is_done(client, stub, flavour):
    stub.close_delimited = True
    add_key(client, stub, flavour)
    found = events(chat(client, flavour, stream=True))
    assert text_of(found) == SAID.format(flavour)
    name, done = found[-1]
    assert name == "done" and done["finish_reason"] == "stop"


@pytest.mark.parametrize("close_delimited", [True, False])
def test_a_stream_whose_last_line_has_no_line_end_is_done(app, client, stub, flavour,
                                                          close_delimited):
    stub.close_delimited = close_delimited
    add_key(client, stub, flavour)
    stub.behave("unended")  # `data: [DONE]` (or the finish) with no newline after it
    found = events(chat(client, flavour, stream=True))
    assert text_of(found) == SAID.format(flavour)
    name, done = found[-1]
    assert name == "done" and done["finish_reason"] == "stop"
    (row,) = rows(app)
    assert row.outcome != "cut"


@pytest.mark.parametrize("close_delimited", [True, False], ids=["closed", "dropped"])
def test_a_plain_answer_cut_part_way_is_a_502_that_says_so(app, client, stub, family,
                                                          close_delimited):
    stub.close_delimited = close_delimited
    stub.behave("cut")  # half the JSON body, then its end
    response = ask(client, stub, family, stream=False)
    assert response.status_code == 502
    body = response.get_json()
    assert body["errors"] == {"provider": ["provider_answer_cut"]}
    assert "stops part-way" in body["message"]
    # The attempt is in the ledger as a failure before the first byte: no tokens (issue 28).
    assert [(r.outcome, r.completion_tokens) for r in rows(app)] == [("unavailable", None)]


@pytest.mark.parametrize("close_delimited", [True, False], ids=["closed", "dropped"])
def test_a_streamed_chat_whose_responses_api_answer_is_cut_is_a_502(app, client, stub,
                                                                    close_delimited):
    """litellm asks the Responses API for a plain answer even when the chat streams: cut
    part-way, it is a 502 provider_answer_cut before any event, and a ledger row of an
    attempt that failed before its first byte (no tokens)."""
    stub.close_delimited = close_delimited
    stub.behave("cut")
    response = ask(client, stub, "responses", stream=True)
    assert response.status_code == 502
    assert response.get_json()["errors"] == {"provider": ["provider_answer_cut"]}
    assert [r.body.get("stream") for r in stub.requests if r.path.endswith("/responses")] == [
        None]
    assert [(r.outcome, r.completion_tokens) for r in rows(app)] == [("unavailable", None)]


# ---- usage is believed only within bounds --------------------------------------------

@pytest.mark.parametrize("counts", [(-5000, -100000), (10**15, 10**15), (12, 10_000_001)])
def test_unbelievable_usage_is_recorded_as_unknown(app, client, stub, counts, caplog):
    add_key(client, stub, "openai")
    assert chat(client, "openai", stream=False).status_code == 200  # a believable one first
    spent = client.get("/api/config/usage").get_json()["total"]["cost"]
    assert spent > 0
    stub.report_usage(*counts)
    with caplog.at_level(logging.WARNING, logger="configapp.providers.litellm_gateway"):
        plain = chat(client, "openai", stream=False)
        streamed = chat(client, "openai", stream=True)
    assert plain.status_code == 200 and plain.get_json()["cost"] is None
    assert set(plain.get_json()["usage"].values()) == {None}
    name, done = events(streamed)[-1]
    assert name == "done" and done["cost"] is None and set(done["usage"].values()) == {None}
    unknown = rows(app)[1:]
    assert [(r.prompt_tokens, r.completion_tokens, r.cost, r.tokens_counted)
            for r in unknown] == [(None, None, None, False)] * 2
    total = client.get("/api/config/usage").get_json()["total"]
    assert total["cost"] == spent and total["requests"] == 3
    assert total["unpriced_requests"] == 2
    assert sum("usage not believed" in r.getMessage() for r in caplog.records) == 2


def test_a_huge_usage_does_not_spend_a_budget_at_once(client, stub):
    add_key(client, stub, "openai")
    assert client.put("/api/config/budgets/provider/openai",
                      json={"monthly_limit": 1}).status_code == 200
    stub.report_usage(10**12, 10**12)  # $750,000 at gpt-4o-mini's prices
    assert chat(client, "openai", stream=False).status_code == 200
    (budget,) = client.get("/api/config/budgets").get_json()
    assert budget["spent"] == 0 and budget["level"] == "ok"
    assert chat(client, "openai", stream=False).status_code == 200  # not refused with 402


# ---- an answer is bounded in memory --------------------------------------------------

def test_an_answer_past_the_bound_ends_with_an_error(app, client, stub):
    add_key(client, stub, "openai")
    stub.say("x" * (MAX_ANSWER_CHARS + 1), pieces=64)
    plain = chat(client, "openai", stream=False)
    assert plain.status_code == 502
    assert plain.get_json()["errors"] == {"provider": ["answer_too_large"]}
    assert f"{MAX_ANSWER_CHARS:,} characters" in plain.get_json()["message"]
    found = events(chat(client, "openai", stream=True))
    name, error = found[-1]
    assert name == "error" and error["errors"] == {"provider": ["answer_too_large"]}
    assert 0 < len(text_of(found)) <= MAX_ANSWER_CHARS
    plain_row, row = rows(app)
    assert (plain_row.outcome, plain_row.completion_tokens) == ("unavailable", None)
    assert row.outcome == "failed" and row.completion_tokens > 0
