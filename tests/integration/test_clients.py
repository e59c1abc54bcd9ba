"""Client tokens on the database (SQLite and PostgreSQL): the rows, the rules the database
holds, a revocation seen by another instance at once, and the ledger per client through
the provider stand-in."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from configapp import create_app
from configapp.access.clients import ClientNameTakenError, ClientNotFoundError
from configapp.chat.usage import BudgetExceededError
from configapp.providers.llm import ChatMessage
from configapp.records import ClientRecord, UsageRecord, db
from tests.integration.support import dispose
from tests.provider_stub.fixtures import MODELS, add_key, quick_settings
from tests.secret_watch import WATCH

HELLO = [ChatMessage("user", "Say hello to the client ledger")]


@pytest.fixture
def settings(make_settings):
    return quick_settings(make_settings)


@pytest.fixture
def parts(app):
    with app.app_context():
        yield app.extensions["configapp"]


def test_a_client_is_kept_with_its_tokens_hash_only(parts, client):
    made, token = parts.clients.create("open-webui", ["openai/gpt-4o-mini"], 2.5)
    row = db.session.scalars(select(ClientRecord)).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr([row.name, row.models, row.token_hash])
    db.session.rollback()
    assert parts.clients.authenticate(token) == made
    assert (made.name, made.models, made.monthly_limit) == (
        "open-webui", ("openai/gpt-4o-mini",), 2.5)
    assert parts.clients.authenticate(token[:-1]) is None
    (listed,) = parts.clients.clients()
    assert listed["id"] == made.id and listed["spent"] == 0 and listed["models"] == [
        "openai/gpt-4o-mini"]


def test_names_are_unique_by_the_database(parts):
    first, _ = parts.clients.create("ide")
    other, _ = parts.clients.create("scripts")
    with pytest.raises(ClientNameTakenError):
        parts.clients.create("ide")
    with pytest.raises(ClientNameTakenError):
        parts.clients.update(other.id, {"name": "ide"})
    assert [c["name"] for c in parts.clients.clients()] == ["ide", "scripts"]
    with pytest.raises(ClientNotFoundError):
        parts.clients.update(999, {"name": "x"})
    with pytest.raises(ClientNotFoundError):
        parts.clients.delete(999)
    assert parts.clients.update(first.id, {"models": None, "monthly_limit": None}).id == first.id


def test_a_write_moves_the_settings_revision(parts):
    before = parts.storage.revision()
    made, _ = parts.clients.create("ide")
    after_create = parts.storage.revision()
    parts.clients.update(made.id, {"monthly_limit": 3})
    after_update = parts.storage.revision()
    parts.clients.delete(made.id)
    assert len({before, after_create, after_update, parts.storage.revision()}) == 4


def test_a_deleted_token_stops_working_on_another_instance_at_once(settings, app):
    other = create_app(settings)
    try:
        with app.app_context():
            made, token = app.extensions["configapp"].clients.create("shared")
        with other.app_context():
            assert other.extensions["configapp"].clients.authenticate(token) == made
        with app.app_context():
            app.extensions["configapp"].clients.delete(made.id)
        with other.app_context():
            assert other.extensions["configapp"].clients.authenticate(token) is None
    finally:
        dispose(other)


def test_a_deleted_clients_id_is_never_given_again(parts):
    first, _ = parts.clients.create("first")
    parts.clients.delete(first.id)
    second, _ = parts.clients.create("second")
    assert second.id > first.id


def ledger(app) -> list[tuple[int | None, str]]:
    with app.app_context():
        found = [(r.client_id, r.outcome) for r in db.session.scalars(
            select(UsageRecord).order_by(UsageRecord.id))]
        db.session.remove()
        return found


def test_the_ledger_records_the_client_and_its_budget_reads_its_month(app, client, stub):
    add_key(client, stub, "openai")
    with app.app_context():
        parts = app.extensions["configapp"]
        capped, _ = parts.clients.create("capped", monthly_limit=0.000001)
        free, _ = parts.clients.create("free")
        parts.clients.check_budget(capped)
        parts.chat.complete(parts.chat.plan(HELLO, MODELS["openai"], client_id=capped.id))
        stream = parts.chat.stream(parts.chat.plan(HELLO, MODELS["openai"], client_id=free.id))
        assert "".join(chunk.content or "" for chunk in stream)
        with pytest.raises(BudgetExceededError) as refused:
            parts.clients.check_budget(capped)
        assert refused.value.errors["budget"]["scope"] == "client"
        parts.clients.check_budget(free)
        db.session.remove()
    assert client.post("/api/chat", json={"messages": [{"role": "user", "content": "hi"}],
                                          "model": MODELS["openai"]}).status_code == 200
    assert ledger(app) == [(capped.id, "finished"), (free.id, "finished"), (None, "finished")]

    report = client.get("/api/config/usage?group_by=client").get_json()
    groups = {g["group"]: (g["name"], g["requests"]) for g in report["groups"]}
    assert groups == {str(capped.id): ("capped", 1), str(free.id): ("free", 1),
                      "api_token": ("Playground / API token", 1)}
    with app.app_context():
        spent = {c["name"]: c["spent"] for c in app.extensions["configapp"].clients.clients()}
    assert spent["capped"] > 0 and spent["free"] > 0
    with app.app_context():
        app.extensions["configapp"].clients.delete(capped.id)
    groups = {g["group"]: g["name"] for g in
              client.get("/api/config/usage?group_by=client").get_json()["groups"]}
    assert groups[str(capped.id)] is None  # its spending stays, its name is gone


def test_the_api_makes_lists_changes_and_deletes_clients(client):
    etag = client.get("/api/config/sync").headers["ETag"]
    made = client.post("/api/config/clients", json={
        "name": "open-webui", "models": ["openai/gpt-4o-mini"], "monthly_limit": 5})
    assert made.status_code == 201
    body = made.get_json()
    token = body["token"]
    assert token.startswith("cfgc_") and body["spent"] == 0 and body["monthly_limit"] == 5
    assert token in WATCH.needles  # any other answer or log line holding it fails the test
    assert client.get("/api/config/sync").headers["ETag"] != etag
    listed = client.get("/api/config/clients")
    assert token not in listed.get_data(as_text=True)
    assert [(c["id"], c["name"], c["models"]) for c in listed.get_json()] == [
        (body["id"], "open-webui", ["openai/gpt-4o-mini"])]
    changed = client.patch(f"/api/config/clients/{body['id']}",
                           json={"name": "webui", "models": None, "monthly_limit": None})
    assert changed.status_code == 200 and token not in changed.get_data(as_text=True)
    assert (changed.get_json()["name"], changed.get_json()["models"],
            changed.get_json()["monthly_limit"]) == ("webui", None, None)
    assert client.delete(f"/api/config/clients/{body['id']}").status_code == 204
    assert client.get("/api/config/clients").get_json() == []
    assert client.delete(f"/api/config/clients/{body['id']}").status_code == 404
    assert client.patch(f"/api/config/clients/{body['id']}", json={"name": "x"}).status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "ok", "models": ["openai/no-such-model"]}, "models"),
    ({"name": "ok", "models": []}, "models"),
    ({"name": "   "}, "name"),
    ({"name": ""}, "name"),
    ({"name": "x" * 65}, "name"),
    ({"name": "ok", "monthly_limit": 0}, "monthly_limit"),
    ({"name": "ok", "monthly_limit": "5"}, "monthly_limit"),
    ({"name": "ok", "token": "cfgc_mine"}, "token"),
    ({"models": None}, "name"),
])
def test_bad_clients_are_refused_clearly_and_nothing_is_made(client, body, field):
    refused = client.post("/api/config/clients", json=body)
    assert refused.status_code == 422, refused.get_json()
    answer = refused.get_json()
    assert field in answer["errors"] and answer["message"] and answer["code"] == 422
    assert client.get("/api/config/clients").get_json() == []


def test_a_taken_name_is_a_conflict(client):
    assert client.post("/api/config/clients", json={"name": "ide"}).status_code == 201
    other = client.post("/api/config/clients", json={"name": "scripts"}).get_json()
    for refused in (client.post("/api/config/clients", json={"name": "ide"}),
                    client.patch(f"/api/config/clients/{other['id']}", json={"name": "ide"})):
        assert refused.status_code == 409 and "ide" in refused.get_json()["message"]


def test_models_are_checked_like_curation_targets(client):
    assert client.put("/api/config/aliases/fast",
                      json={"model": "openai/gpt-4o-mini"}).status_code == 200
    assert client.patch("/api/config/curation/openai",
                        json={"hide": ["openai/gpt-4o"]}).status_code == 200
    hidden = client.post("/api/config/clients", json={"name": "ide", "models": ["openai/gpt-4o"]})
    assert hidden.status_code == 422 and "hidden" in hidden.get_json()["errors"]["models"][0]
    made = client.post("/api/config/clients", json={"name": "ide", "models": ["fast"]})
    assert made.status_code == 201 and made.get_json()["models"] == ["fast"]
