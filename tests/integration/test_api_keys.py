"""The keys API on a real database file (and PostgreSQL), real Fernet, real migrations."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from configapp.records import ApiKeyRecord, db


def add(client, provider="openai", key="sk-test-abcd1234", **extra):
    return client.post("/api/config/api-keys", json={"provider": provider, "api_key": key,
                                                    **extra})


def key_rows(app):
    with app.app_context():
        rows = db.session.scalars(select(ApiKeyRecord).order_by(ApiKeyRecord.id)).all()
        return [(r.id, r.provider, r.is_active, r.key_name) for r in rows]


def test_a_key_goes_in_once_and_comes_out_masked(client):
    response = add(client, key_name="work")
    assert response.status_code == 201
    body = response.get_json()
    assert body["masked_key"] == "sk-***234"  # a quarter of "test-abcd1234" at most
    assert body["is_active"] is True and body["key_name"] == "work"
    assert "api_key" not in body and "encrypted_key" not in body
    listed = client.get("/api/config/api-keys").get_json()
    assert [k["masked_key"] for k in listed] == ["sk-***234"]
    added = datetime.fromisoformat(listed[0]["created_at"])
    assert added.tzinfo is not None and abs(datetime.now(UTC) - added) < timedelta(minutes=5)
    changed = datetime.fromisoformat(listed[0]["updated_at"])
    assert timedelta(0) <= changed - added < timedelta(seconds=1)
    assert listed[0]["last_used_at"] is None
    assert "sk-test-abcd1234" not in client.get("/api/config/api-keys").get_data(as_text=True)


def test_list_filters_by_provider_and_accepts_google(client):
    add(client, "openai")
    add(client, "google", "AIzaSyTESTKEY0000gemini")
    gemini = client.get("/api/config/api-keys?provider=google").get_json()
    assert [k["provider"] for k in gemini] == ["gemini"]


def test_rename_and_activation_through_patch(client, app):
    first = add(client, key="sk-first-11111111").get_json()
    second = add(client, key="sk-second-22222222").get_json()
    response = client.patch(f"/api/config/api-keys/{first['id']}",
                            json={"is_active": True, "key_name": "back"})
    assert response.status_code == 200
    assert key_rows(app) == [(first["id"], "openai", True, "back"),
                             (second["id"], "openai", False, "")]


def test_delete_removes_the_key(client, app):
    key = add(client).get_json()
    assert client.delete(f"/api/config/api-keys/{key['id']}").status_code == 204
    assert key_rows(app) == []
    assert client.delete(f"/api/config/api-keys/{key['id']}").status_code == 404


def test_a_deleted_keys_id_is_never_given_to_another_key(client):
    """A late or retried DELETE or PATCH by id (its first answer lost, or sent from a stale
    list) must find nothing, not a key added since."""
    add(client, key="sk-first-11111111")
    second = add(client, key="sk-second-22222222").get_json()
    assert client.delete(f"/api/config/api-keys/{second['id']}").status_code == 204
    third = add(client, key="sk-third-33333333").get_json()
    assert third["id"] > second["id"]
    assert client.delete(f"/api/config/api-keys/{second['id']}").status_code == 404


@pytest.mark.parametrize(("payload", "field"), [
    ({"provider": "nonsense", "api_key": "sk-test-abcd1234"}, None),
    ({"provider": "openai", "api_key": ""}, "api_key"),
    ({"provider": "openai", "api_key": "sk-" + "x" * 10_000}, "api_key"),
    ({"provider": "openai"}, "api_key"),
    ({"provider": "openai", "api_key": "sk-test-abcd1234", "extra": 1}, "extra"),
    ({"provider": "openai", "api_key": "sk-test-abcd1234", "key_name": "n" * 101}, "key_name"),
    ({"provider": "openai", "api_key": "sk-test-abcd1234", "api_base": "file:///etc/passwd"},
     None),
    ({"provider": "openai", "api_key": 12345678}, "api_key"),
])
def test_bad_input_is_a_clear_422_and_changes_nothing(client, app, payload, field):
    before = client.get("/api/config/sync").headers["ETag"]
    response = client.post("/api/config/api-keys", json=payload)
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == 422 and body["status"] == "Unprocessable Entity"
    assert body["message"]
    if field:
        assert field in body["errors"]
    assert key_rows(app) == []
    assert client.get("/api/config/sync").headers["ETag"] == before


def test_malformed_json_wrong_type_and_oversized_bodies_are_refused(client, app):
    headers = {"Content-Type": "application/json"}
    assert client.post("/api/config/api-keys", data="{nope", headers=headers).status_code == 400
    assert client.post("/api/config/api-keys", data="provider=openai",
                       content_type="application/x-www-form-urlencoded").status_code == 415
    big = '{"provider": "openai", "api_key": "' + "x" * (2 * 1024 * 1024) + '"}'
    response = client.post("/api/config/api-keys", data=big, headers=headers)
    assert response.status_code == 413 and response.get_json()["code"] == 413
    deep = "[" * 100_000 + "]" * 100_000
    assert client.post("/api/config/api-keys", data=deep, headers=headers).status_code == 400
    assert key_rows(app) == []


def test_unknown_ids_are_404(client):
    assert client.patch("/api/config/api-keys/999", json={"key_name": "x"}).status_code == 404
    assert client.patch("/api/config/api-keys/1", json={}).status_code == 404
    assert client.delete("/api/config/api-keys/99999999999999999999").status_code == 404


def test_the_database_holds_one_active_key_per_provider(app):
    """The partial unique index refuses a second active key even if code forgot."""
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        for name in ("a", "b"):
            db.session.add(ApiKeyRecord(provider="openai", key_name=name, encrypted_key="t",
                                        masked_key="m", is_active=True))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(ApiKeyRecord)) == 0


def test_providers_say_where_each_key_comes_from(make_settings, backend):
    from configapp import create_app
    from tests.conftest import upgrade_postgres

    settings = make_settings(provider_env={"ANTHROPIC_API_KEY": "sk-ant-env-1234"})
    if backend == "postgresql":
        upgrade_postgres(settings)
    client = create_app(settings).test_client()
    add(client)
    providers = {p["name"]: p for p in client.get("/api/config/providers").get_json()}
    assert providers["openai"]["key_source"] == "database"
    assert providers["anthropic"]["key_source"] == "environment"
    assert providers["anthropic"]["env_var"] == "ANTHROPIC_API_KEY"
    assert providers["gemini"]["key_source"] is None
    assert providers["gemini"]["env_var"] is None
    # The variables an operator could set, in the order they are read.
    assert providers["gemini"]["env_vars"] == ["GEMINI_API_KEY", "GOOGLE_API_KEY"]


def test_a_patch_without_a_body_is_documented_and_changes_nothing(client):
    key = add(client, key_name="work").get_json()
    operation = client.get("/api/openapi.json").get_json()["paths"][
        "/api/config/api-keys/{key_id}"]["patch"]
    assert operation["requestBody"]["required"] is False
    response = client.patch(f"/api/config/api-keys/{key['id']}")
    assert response.status_code == 200
    assert response.get_json() == key
