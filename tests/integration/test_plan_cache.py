"""The chat's plan is cached per settings revision (configapp/chat/plan_cache.py): a change
made on another instance of the same database is honoured by this instance's very next
chat, and every setting the plan reads moves the revision. Two apps on one database, on
SQLite and PostgreSQL (under scripts/with-postgres), through the provider stand-in."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask.testing import FlaskClient

from configapp import create_app
from tests.integration.support import dispose
from tests.provider_stub import ProviderStub
from tests.provider_stub.fixtures import KEYS, MODELS, add_key, quick_settings

HELLO = [{"role": "user", "content": "Say hello"}]
MODEL = MODELS["openai"]
OTHER_MODEL = "openai/gpt-4o"
REPLACED_KEY = "sk-replaced-secret-7777"


@pytest.fixture
def settings(make_settings):
    return quick_settings(make_settings)


@pytest.fixture
def other(app, settings) -> Iterator[FlaskClient]:
    """Instance B: a second app on the same database (and encryption key) as `app`."""
    second = create_app(settings)
    yield second.test_client()
    dispose(second)


def chat(client, **body):
    response = client.post("/api/chat", json={"messages": HELLO, **body})
    response.get_data()
    return response


def chat_calls(stub: ProviderStub) -> int:
    return sum(1 for r in stub.requests if r.path.endswith("/chat/completions"))


def ok(response) -> dict:
    assert response.status_code < 300, response.get_data(as_text=True)
    return response.get_json(silent=True)


def answered(stub: ProviderStub) -> tuple[str, str | None, dict]:
    """(model, key, body) of the stand-in's last chat call."""
    last = stub.last("/chat/completions")
    return last.body["model"], last.key, last.body


# Each step is a change made on instance B, then what instance A's very next chat must
# do: its status and, when it answers, (model, key, parameters) the stand-in received.
# A refused chat must call no provider. The steps run in this order, on one pair of apps.
ANOTHER_KEY = "sk-another-secret-8888"


def steps(b: FlaskClient, stub: ProviderStub) -> list[tuple[str, Callable[[], object],
                                                             dict, int, tuple | None]]:
    def key_id() -> int:
        return next(k["id"] for k in ok(b.get("/api/config/api-keys")) if k["is_active"])

    def swap_key() -> object:
        ok(b.delete(f"/api/config/api-keys/{key_id()}"))
        return b.post("/api/config/api-keys", json={
            "provider": "openai", "api_key": ANOTHER_KEY, "api_base": stub.base("openai")})

    fast = {"model": "fast"}
    return [
        ("parameters changed", lambda: b.put(f"/api/config/models/{MODEL}/parameters",
                                             json={"temperature": 0.25}),
         {}, 200, (MODEL, KEYS["openai"], {"temperature": 0.25})),
        ("key replaced", lambda: b.patch(f"/api/config/api-keys/{key_id()}",
                                         json={"api_key": REPLACED_KEY}),
         {}, 200, (MODEL, REPLACED_KEY, {})),
        ("alias retargeted", lambda: b.put("/api/config/aliases/fast",
                                           json={"model": OTHER_MODEL}),
         fast, 200, (OTHER_MODEL, REPLACED_KEY, {})),
        ("default model changed", lambda: b.post(f"/api/config/models/{OTHER_MODEL}/select"),
         {}, 200, (OTHER_MODEL, REPLACED_KEY, {})),
        ("default model back", lambda: b.post(f"/api/config/models/{MODEL}/select"),
         {}, 200, (MODEL, REPLACED_KEY, {"temperature": 0.25})),
        ("model hidden", lambda: b.patch("/api/config/curation/openai", json={"hide": [MODEL]}),
         {}, 422, None),
        ("model shown", lambda: b.patch("/api/config/curation/openai", json={"show": [MODEL]}),
         {}, 200, (MODEL, REPLACED_KEY, {})),
        ("key deactivated", lambda: b.patch(f"/api/config/api-keys/{key_id()}",
                                            json={"is_active": False}),
         {}, 409, None),
        ("key activated", lambda: b.patch(
            f"/api/config/api-keys/{ok(b.get('/api/config/api-keys'))[0]['id']}",
            json={"is_active": True}),
         {}, 200, (MODEL, REPLACED_KEY, {})),
        ("key deleted, another added", swap_key, {}, 200, (MODEL, ANOTHER_KEY, {})),
        ("provider budget lowered", lambda: b.put("/api/config/budgets/provider/openai",
                                                  json={"monthly_limit": 1e-9}),
         {}, 402, None),
        ("provider budget removed", lambda: b.delete("/api/config/budgets/provider/openai"),
         {}, 200, (MODEL, ANOTHER_KEY, {})),
        ("key budget set", lambda: b.put(f"/api/config/budgets/key/{key_id()}",
                                         json={"monthly_limit": 1e-9}),
         {}, 402, None),
    ]


def test_a_change_on_another_instance_is_honoured_by_the_next_chat(client, other, stub):
    add_key(other, stub, "openai")
    ok(other.post(f"/api/config/models/{MODEL}/select"))
    ok(other.put("/api/config/aliases/fast", json={"model": MODEL}))
    for asked in ({}, {}, {"model": "fast"}, {"model": "fast"}):  # each planned twice:
        assert chat(client, **asked).status_code == 200  # the second from A's cache
    assert answered(stub)[:2] == (MODEL.split("/", 1)[1], KEYS["openai"])
    for step, change, asked, status, sent in steps(other, stub):
        ok(change())
        calls = chat_calls(stub)
        response = chat(client, **asked)
        assert response.status_code == status, (step, response.get_data(as_text=True))
        if sent is None:
            assert chat_calls(stub) == calls, f"{step}: a provider was called"
            continue
        model, key, parameters = sent
        sent_model, sent_key, body = answered(stub)
        assert (sent_model, sent_key) == (model.split("/", 1)[1], key), step
        assert {name: body.get(name) for name in parameters} == parameters, step


def revision(app) -> str:
    with app.app_context():
        return app.extensions["configapp"].storage.revision()


def test_every_setting_the_plan_reads_moves_the_revision(app, client, stub, other_stub):
    """Those not already covered by test_storage_rules.py and test_curation_api.py: a key's
    secret and base URL, fallbacks, a provider's only-chosen mode and budgets."""
    key = add_key(client, stub, "openai")
    add_key(client, other_stub, "anthropic")
    writes = [
        lambda: client.patch(f"/api/config/api-keys/{key['id']}",
                             json={"api_key": REPLACED_KEY}),
        lambda: client.patch(f"/api/config/api-keys/{key['id']}",
                             json={"api_key": REPLACED_KEY, "api_base": other_stub.base("openai")}),
        lambda: client.put("/api/config/aliases/main", json={"model": MODEL}),
        lambda: client.put("/api/config/aliases/main",
                           json={"model": MODEL, "fallbacks": [MODELS["anthropic"]]}),
        lambda: client.put("/api/config/purposes/title",
                           json={"model": MODEL, "fallbacks": [MODELS["anthropic"]]}),
        lambda: client.put("/api/config/purposes/title", json={"model": MODEL, "fallbacks": []}),
        lambda: client.patch("/api/config/curation/openai", json={"only": [MODEL]}),
        lambda: client.patch("/api/config/curation/openai", json={"show_all": True}),
        lambda: client.put("/api/config/budgets/provider/openai", json={"monthly_limit": 5}),
        lambda: client.put("/api/config/budgets/provider/openai", json={"monthly_limit": 4}),
        lambda: client.put(f"/api/config/budgets/key/{key['id']}", json={"monthly_limit": 3}),
        lambda: client.delete(f"/api/config/budgets/key/{key['id']}"),
        lambda: client.delete("/api/config/budgets/provider/openai"),
    ]
    seen = [revision(app)]
    for write in writes:
        response = write()
        assert response.status_code < 300, response.get_data(as_text=True)
        seen.append(revision(app))
        assert seen[-1] not in seen[:-1], f"write {len(seen) - 1} did not move the revision"


def test_a_chat_planned_from_the_cache_reads_no_setting_but_the_revision(app, client, stub):
    """What the cache saves: the revision is the one settings statement of a chat (read
    on a DBAPI cursor of its own, so not seen here); no budget applies, so no spending is
    read either."""
    from sqlalchemy import event

    from configapp.records import db

    add_key(client, stub, "openai")
    ok(client.post(f"/api/config/models/{MODEL}/select"))
    assert chat(client).status_code == 200
    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:
        statements.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert chat(client).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    settings_tables = ("api_keys", "model_", "budgets", "purpose_fallbacks",
                       "provider_curation", "usage_records")
    assert statements, "the chat's ledger row was not written"
    assert not [s for s in statements if s.startswith("SELECT")
                and any(f"FROM {table}" in s for table in settings_tables)], statements
