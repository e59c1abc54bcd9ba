"""A failing key never replaces a working one, and keys are edited in place: through the
API, against the provider stand-in, on SQLite and PostgreSQL with real Fernet."""

import pytest
from sqlalchemy import select

from configapp.records import ApiKeyRecord, db
from tests.provider_stub import closed_port_url
from tests.provider_stub.fixtures import KEYS, MODELS, add_key, quick_settings


@pytest.fixture
def settings(make_settings):
    return quick_settings(make_settings)


def active_ids(client) -> list[int]:
    return [k["id"] for k in client.get("/api/config/api-keys").get_json() if k["is_active"]]


def stored(app, key_id: int) -> ApiKeyRecord:
    with app.app_context():
        return db.session.scalars(select(ApiKeyRecord).where(ApiKeyRecord.id == key_id)).one()


def chat(client):
    return client.post("/api/chat", json={"messages": [{"role": "user", "content": "Hi"}],
                                          "model": MODELS["openai"]})


def test_a_key_that_fails_its_test_on_adding_is_saved_inactive_and_the_working_one_stays(
        client, stub):
    working = add_key(client, stub, "openai")
    for refused in ({"api_base": closed_port_url() + "/v1"}, {"behaviour": 401}):
        stub.behave(refused.pop("behaviour", "ok"))
        response = client.post("/api/config/api-keys", json={
            "provider": "openai", "api_key": "sk-wrong-00000000", "test": True,
            "api_base": stub.base("openai"), **refused})
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        assert body["is_active"] is False
        assert body["test"]["ok"] is False
        assert body["test"]["result"] in ("unreachable", "invalid_key")
        assert "sk-wrong-00000000" not in response.get_data(as_text=True)
        assert active_ids(client) == [working["id"]]
    stub.behave("ok")
    assert chat(client).status_code == 200  # still the working key's
    good = client.post("/api/config/api-keys", json={
        "provider": "openai", "api_key": "sk-stub-openai-0099", "test": True,
        "api_base": stub.base("openai")}).get_json()
    assert good["is_active"] is True and good["test"]["result"] == "valid"
    assert active_ids(client) == [good["id"]]


def test_a_key_is_edited_in_place_its_id_budget_and_ledger_stay(client, app, stub):
    key = add_key(client, stub, "openai", key_name="work")
    assert client.put(f"/api/config/budgets/key/{key['id']}",
                      json={"monthly_limit": 5}).status_code == 200
    assert chat(client).status_code == 200
    token_before = stored(app, key["id"]).encrypted_key

    response = client.patch(f"/api/config/api-keys/{key['id']}", json={
        "api_key": "sk-replaced-secret-7777", "key_name": "renamed"})
    assert response.status_code == 200, response.get_json()
    edited = response.get_json()
    assert (edited["id"], edited["key_name"], edited["is_active"]) == (key["id"], "renamed", True)
    assert edited["masked_key"] != key["masked_key"] and edited["masked_key"].endswith("777")
    assert "sk-replaced-secret-7777" not in response.get_data(as_text=True)
    row = stored(app, key["id"])
    assert row.encrypted_key != token_before and row.masked_key == edited["masked_key"]
    assert chat(client).status_code == 200
    assert stub.last("chat").key == "sk-replaced-secret-7777"

    # A new base URL needs the key itself: a saved key is never sent to a new address.
    other = closed_port_url() + "/v1"
    refused = client.patch(f"/api/config/api-keys/{key['id']}", json={"api_base": other})
    assert refused.status_code == 422
    assert "Enter the key again" in refused.get_json()["message"]
    assert stored(app, key["id"]).api_base == stub.base("openai")
    moved = client.patch(f"/api/config/api-keys/{key['id']}", json={
        "api_base": other, "api_key": "sk-replaced-secret-7777"})
    assert moved.status_code == 200 and moved.get_json()["api_base"] == other
    back = client.patch(f"/api/config/api-keys/{key['id']}", json={
        "api_base": stub.base("openai"), "api_key": "sk-replaced-secret-7777"}).get_json()
    assert back["masked_key"] == edited["masked_key"]
    same = client.patch(f"/api/config/api-keys/{key['id']}",
                        json={"api_base": stub.base("openai")})  # unchanged: no key needed
    assert same.status_code == 200, same.get_json()
    assert chat(client).status_code == 200
    assert stub.last("chat").key == "sk-replaced-secret-7777"

    budgets = client.get("/api/config/budgets").get_json()
    assert [(b["scope"], b["target"]) for b in budgets] == [("key", str(key["id"]))]
    assert budgets[0]["spent"] > 0  # the ledger still counts the key's chats
    assert [k["id"] for k in client.get("/api/config/api-keys").get_json()] == [key["id"]]


@pytest.mark.parametrize(("change", "words"), [
    ({"api_base": "http://169.254.169.254/v1"}, "never sent there"),
    ({"api_base": "https://example.com/v1?x=1"}, "query"),
    ({"api_key": "has a space in it"}, "Printable"),
    ({"api_key": "short"}, "Length"),
])
def test_an_edit_is_checked_like_an_add_and_a_refused_one_changes_nothing(
        client, app, stub, change, words):
    key = add_key(client, stub, "openai")
    before = stored(app, key["id"])
    response = client.patch(f"/api/config/api-keys/{key['id']}", json=change)
    assert response.status_code == 422, response.get_json()
    assert words.lower() in str(response.get_json()).lower()
    after = stored(app, key["id"])
    assert (after.encrypted_key, after.masked_key, after.api_base) == (
        before.encrypted_key, before.masked_key, before.api_base)
    assert KEYS["openai"] not in response.get_data(as_text=True)
