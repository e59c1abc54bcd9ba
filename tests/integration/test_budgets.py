"""Monthly budgets, through the stand-in: the warning at 80%, the 402 at 100% with no
provider call, and the overshoot of concurrent chats (at most one per worker in flight)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from configapp.records import UsageRecord, db
from tests.provider_stub.fixtures import MODELS, add_key, quick_settings

HELLO = [{"role": "user", "content": "Say hello"}]
MODEL = MODELS["openai"]
# What the stand-in's answer to HELLO costs: 2 prompt and 7 completion tokens of gpt-4o-mini.
CHAT_COST = 2 * 0.15e-6 + 7 * 0.6e-6


@pytest.fixture
def settings(make_settings):
    """No test here stages a silent provider: a long provider timeout keeps sixteen chats
    at once on a loaded machine from turning into 504s, which are not what is tested."""
    return quick_settings(make_settings, provider_timeout=30.0)


def chat(client, stream: bool = False):
    response = client.post("/api/chat", json={"messages": HELLO, "model": MODEL,
                                              "stream": stream})
    response.get_data()  # a stream is recorded when it has been read to its end
    return response


def chat_requests(stub) -> int:
    return sum(1 for r in stub.requests if r.path.endswith("/chat/completions"))


def test_at_80_percent_the_api_warns_and_at_100_the_chat_is_refused_without_a_provider_call(
        client, stub):
    key = add_key(client, stub, "openai")
    client.post(f"/api/config/models/{MODEL}/select")
    budget = client.put("/api/config/budgets/provider/openai",
                        json={"monthly_limit": 5 * CHAT_COST * 0.999})
    assert budget.status_code == 200 and budget.get_json()["level"] == "ok"
    etag = client.get("/api/config/sync").headers["ETag"]
    for _ in range(3):
        assert chat(client).status_code == 200
    assert client.get("/api/config/models/selected").get_json()["budget_warnings"] == []
    assert chat(client, stream=True).status_code == 200
    warned = client.get("/api/config/models/selected").get_json()["budget_warnings"]
    assert [(w["scope"], w["target"], w["level"]) for w in warned] == [
        ("provider", "openai", "warning")]
    assert warned[0]["spent"] == pytest.approx(4 * CHAT_COST) and warned[0]["ratio"] >= 0.8
    synced = client.get("/api/config/sync", headers={"If-None-Match": etag})
    assert synced.status_code == 200  # the chats moved the snapshot's revision
    snapshot = synced.get_json()
    assert snapshot["budget_warnings"] == warned
    assert snapshot["usage"]["requests"] == 4
    assert snapshot["usage"]["cost"] == pytest.approx(4 * CHAT_COST)

    assert chat(client).status_code == 200  # the fifth reaches the limit
    asked = chat_requests(stub)
    for stream in (False, True):
        refused = chat(client, stream=stream)
        assert refused.status_code == 402, refused.get_data(as_text=True)
        body = refused.get_json()
        assert body["errors"]["budget"]["level"] == "exceeded"
        assert body["errors"]["budget"]["spent"] == pytest.approx(5 * CHAT_COST)
        assert "$" in body["message"] and "openai" in body["message"]
    assert chat_requests(stub) == asked  # no provider call
    listed = client.get("/api/config/budgets").get_json()
    assert [(b["scope"], b["target"], b["level"]) for b in listed] == [
        ("provider", "openai", "exceeded")]
    # A key's own budget counts only that key's spending.
    assert client.delete("/api/config/budgets/provider/openai").status_code == 204
    assert chat(client).status_code == 200
    assert client.put(f"/api/config/budgets/key/{key['id']}",
                      json={"monthly_limit": 6 * CHAT_COST}).status_code == 200
    assert chat(client).status_code == 402
    other = add_key(client, stub, "openai", key="sk-stub-openai-0002")
    assert other["is_active"] and chat(client).status_code == 200  # the new key is not spent


def test_sixteen_concurrent_chats_overshoot_by_at_most_one_request_per_worker(app, client,
                                                                               stub):
    add_key(client, stub, "openai")
    allowed = 10  # sequential chats the budget lets through
    client.put("/api/config/budgets/provider/openai",
               json={"monthly_limit": (allowed - 0.5) * CHAT_COST})
    workers = 16
    answered: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(workers)

    def worker() -> None:
        own = app.test_client()
        start.wait()
        for _ in range(8):
            status = chat(own).status_code
            with lock:
                answered.append(status)
            if status != 200:
                return

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    served = answered.count(200)
    assert set(answered) == {200, 402}
    overshoot = served - allowed
    print(f"\n{workers} workers, budget for {allowed} chats: {served} served, "
          f"overshoot {overshoot} request(s) (${overshoot * CHAT_COST:.7f})")
    assert allowed <= served <= allowed + workers - 1
    with app.app_context():
        recorded = db.session.scalar(select(func.count()).select_from(UsageRecord))
        spent = db.session.scalar(select(func.sum(UsageRecord.cost)))
        db.session.remove()
    assert recorded == served  # no lost rows
    assert spent == pytest.approx(served * CHAT_COST)
    asked = chat_requests(stub)
    assert chat(client).status_code == 402 and chat_requests(stub) == asked


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/api/config/budgets/provider/no-such-provider", {"monthly_limit": 5}, 404),
    ("/api/config/budgets/key/999", {"monthly_limit": 5}, 404),
    ("/api/config/budgets/key/abc", {"monthly_limit": 5}, 404),
    ("/api/config/budgets/provider/openai", {"monthly_limit": 0}, 422),
    ("/api/config/budgets/provider/openai", {"monthly_limit": -3}, 422),
    ("/api/config/budgets/provider/openai", {"monthly_limit": "5"}, 422),
    ("/api/config/budgets/provider/openai", {}, 422),
    ("/api/config/budgets/provider/openai", {"monthly_limit": 5, "extra": 1}, 422),
    ("/api/config/budgets/team/openai", {"monthly_limit": 5}, 404),
])
def test_bad_budgets_are_refused_with_a_message_and_change_nothing(client, path, body, status):
    response = client.put(path, json=body)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["message"]
    assert client.get("/api/config/budgets").get_json() == []


def test_removing_a_budget_that_does_not_exist_is_a_404(client):
    response = client.delete("/api/config/budgets/provider/openai")
    assert response.status_code == 404 and "openai" in response.get_json()["message"]


def test_the_cli_sets_lists_and_removes_budgets_and_shows_usage(app, client, stub, runner):
    add_key(client, stub, "openai")
    assert chat(client).status_code == 200
    result = runner.invoke(args=["config", "budgets", "set", "provider", "google", "12.5"])
    assert result.exit_code == 0, result.output
    assert "gemini" in result.output
    listed = runner.invoke(args=["config", "budgets", "list"]).output
    assert "gemini" in listed and "$12.5000" in listed and "ok" in listed
    bad = runner.invoke(args=["config", "budgets", "set", "provider", "nope", "1"])
    assert bad.exit_code == 1 and "Unknown provider" in bad.output
    assert runner.invoke(args=["config", "budgets", "delete", "provider",
                               "gemini"]).exit_code == 0
    assert "No budgets." in runner.invoke(args=["config", "budgets", "list"]).output
    usage = runner.invoke(args=["config", "usage", "--group-by", "model"])
    assert usage.exit_code == 0 and MODEL in usage.output and "TOTAL" in usage.output
    assert f"${CHAT_COST:,.4f}" in usage.output
    wrong = runner.invoke(args=["config", "usage", "--since", "last week"])
    assert wrong.exit_code == 2 and "not a date" in wrong.output
