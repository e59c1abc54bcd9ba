"""A model only the provider lists is kept per key in the database: it outlives a restart,
as a catalogue entry, the default and a purpose, until a later listing leaves it out."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from configapp import create_app
from configapp.catalog.sql_discovery import SqlAlchemyDiscoveryStorage
from configapp.providers.llm import ReachableModel
from configapp.records import db
from configapp.schema import current_revision, head_revision
from tests.integration.support import dispose
from tests.provider_stub.fixtures import add_key, quick_settings

LOCAL = "openai/stub-local-llama"  # listed by the stand-in, unknown to LiteLLM


@pytest.fixture
def settings(make_settings):
    return quick_settings(make_settings)


def catalogue_ids(client, **query) -> set[str]:
    params = "&".join(f"{k}={v}" for k, v in {"provider": "openai", **query}.items())
    response = client.get(f"/api/config/models?{params}")
    assert response.status_code == 200, response.get_json()
    return {m["id"] for m in response.get_json()["models"]}


def stored(app) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(text(
            "SELECT key_id, model_id, listed_at FROM discovered_models ORDER BY model_id")).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def test_a_model_only_the_provider_lists_outlives_a_restart_as_default_and_purpose(
        settings, app, client, stub):
    add_key(client, stub, "openai")
    assert LOCAL in catalogue_ids(client, live="true")

    stub.behave(500)  # the provider is down when the new process starts
    restarted = create_app(settings)
    other = restarted.test_client()
    assert LOCAL in catalogue_ids(other)
    assert LOCAL in catalogue_ids(other, configured="true")
    assert other.post(f"/api/config/models/{LOCAL}/select").status_code == 200
    assert other.put("/api/config/purposes/title", json={"model": LOCAL}).status_code == 200
    live = other.get("/api/config/models?live=true&provider=openai").get_json()
    assert live["live"]["openai"]["status"] == "stale"
    entry = next(m for m in live["models"] if m["id"] == LOCAL)
    assert entry["reachable"] is True and entry["stale"] is True

    stub.behave("ok")
    reply = other.post("/api/chat", json={"messages": [{"role": "user", "content": "hi"}]})
    assert reply.status_code == 200 and reply.get_json()["model"] == LOCAL
    purposes = other.get("/api/config/purposes").get_json()
    assert {p["name"]: (p["model"] or {}).get("id") for p in purposes["purposes"]}[
        "title"] == LOCAL
    assert [w for w in purposes["warnings"] if w["model"] == LOCAL] == []

    # A later listing without it: gone from the stored listing, withdrawn where it is used.
    stub.stop_listing("stub-local-llama")
    other.get("/api/config/models?live=true&refresh=true&provider=openai")
    assert LOCAL not in {row[1] for row in stored(restarted)}
    warned = {(w["name"], w["kind"]) for w in other.get("/api/config/sync").get_json()[
        "warnings"] if w["model"] == LOCAL}
    assert warned == {("chat", "withdrawn"), ("title", "withdrawn")}
    dispose(restarted)


def test_an_unchanged_listing_writes_nothing_and_a_deleted_key_takes_its_models(
        app, client, stub):
    key_id = add_key(client, stub, "openai")["id"]
    client.get("/api/config/models?live=true&provider=openai")
    rows = stored(app)
    assert {row[:2] for row in rows} >= {(key_id, "stub-local-llama")}
    client.get("/api/config/models?live=true&refresh=true&provider=openai")
    assert client.post(f"/api/config/api-keys/{key_id}/test").get_json()["result"] == "valid"
    assert stored(app) == rows  # the same rows, not written again
    assert client.delete(f"/api/config/api-keys/{key_id}").status_code in (200, 204)
    assert stored(app) == []


def test_the_discovered_models_migration_runs_both_ways_twice(settings, app, client, stub):
    add_key(client, stub, "openai")
    client.get("/api/config/models?live=true&provider=openai")
    runner = app.test_cli_runner()
    for command, target in (("downgrade", "0007_key_masks"), ("upgrade", "head")) * 2:
        result = runner.invoke(args=["db", command, target])
        assert result.exit_code == 0, result.output
    with app.app_context():
        assert current_revision(db.engine) == head_revision()
        db.session.remove()
    assert stored(app) == []  # the table was dropped and made again
    client.get("/api/config/models?live=true&refresh=true&provider=openai")
    assert len(stored(app)) == 3


def test_what_a_provider_says_of_a_model_is_stored_within_the_columns(app, client, stub):
    """A NUL in a name (PostgreSQL refuses it), a name too long, numbers out of range."""
    key_id = add_key(client, stub, "openai")["id"]
    said = [ReachableModel("m", "bad\x00name", 10**12, -1),
            ReachableModel("n", "x" * 400, 8192, 4096)]
    with app.app_context():
        store = SqlAlchemyDiscoveryStorage(app.extensions["configapp"].storage)
        assert store.keep_discoveries(key_id, said) is True
        assert store.keep_discoveries(key_id, said) is False  # unchanged: nothing written
        kept = store.discoveries()
    assert [item.key_id for item in kept] == [key_id]
    assert kept[0].models == (ReachableModel("m", None, None, None),
                              ReachableModel("n", "x" * 255, 8192, 4096))
