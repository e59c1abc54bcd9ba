"""Schema migrations on a database that holds keys: rows, ids and rules survive them."""

from __future__ import annotations

import flask_migrate
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from configapp import create_app
from configapp.models import db
from configapp.schema import MIGRATIONS_DIR, current_revision, head_revision
from tests.integration.support import dispose


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_rebuilding_api_keys_keeps_rows_ids_and_the_one_active_key_rule(settings):
    app = create_app(settings)
    client = app.test_client()
    ids = [client.post("/api/config/api-keys", json={
        "provider": provider, "api_key": f"sk-migrate-{n:08d}"}).get_json()["id"]
        for n, provider in enumerate(["openai", "anthropic", "openai"])]
    with app.app_context():
        for target in ("0001_initial", "head", "0001_initial", "head"):  # each way twice
            (flask_migrate.downgrade if target != "head" else flask_migrate.upgrade)(
                directory=str(MIGRATIONS_DIR), revision=target)
        assert current_revision(db.engine) == head_revision()
        with pytest.raises(IntegrityError):  # the partial unique index is back
            db.session.execute(text(
                "INSERT INTO api_keys (provider, key_name, encrypted_key, masked_key, "
                "is_active, created_at, updated_at) VALUES ('openai', 'x', 't', 'm', 1, "
                "'2026-01-01', '2026-01-01')"))
        db.session.rollback()
    listed = client.get("/api/config/api-keys").get_json()
    assert [(key["id"], key["is_active"]) for key in listed] == [
        (ids[1], True), (ids[0], False), (ids[2], True)]
    assert client.get("/readyz").status_code == 200  # every row still opens
    dispose(app)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_existing_rows_get_the_new_mask_by_the_migration(settings):
    app = create_app(settings)
    client = app.test_client()
    for provider, key in (("openai", "token-abc123"), ("anthropic", "sk-ant-api03-abcdefWXYZ")):
        assert client.post("/api/config/api-keys", json={
            "provider": provider, "api_key": key}).status_code == 201
    before = client.get("/api/config/sync").headers["ETag"]
    with app.app_context():
        flask_migrate.downgrade(directory=str(MIGRATIONS_DIR),
                                revision="0006_usage_budgets")
        db.session.execute(text("UPDATE api_keys SET masked_key = CASE provider "
                                "WHEN 'openai' THEN 'token-***c123' ELSE 'sk-***WXYZ' END"))
        db.session.commit()
        flask_migrate.upgrade(directory=str(MIGRATIONS_DIR))
    masks = {k["provider"]: k["masked_key"] for k in client.get("/api/config/api-keys").get_json()}
    assert masks == {"openai": "***123", "anthropic": "sk-ant-***WXYZ"}
    assert client.get("/api/config/sync").headers["ETag"] != before
    dispose(app)
