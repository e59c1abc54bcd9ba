"""Schema migrations on a database that holds keys: rows, ids and rules survive them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from configapp import create_app
from configapp.records import db
from configapp.schema import MIGRATIONS_DIR, current_revision, head_revision
from tests.integration.support import dispose

ROOT = Path(__file__).resolve().parents[2]


def flask_db(app, command: str, revision: str = "head") -> None:
    """`flask db <command> <revision>`, as an operator runs it."""
    result = app.test_cli_runner().invoke(args=["db", command, revision])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_rebuilding_api_keys_keeps_rows_ids_and_the_one_active_key_rule(settings):
    app = create_app(settings)
    client = app.test_client()
    ids = [client.post("/api/config/api-keys", json={
        "provider": provider, "api_key": f"sk-migrate-{n:08d}"}).get_json()["id"]
        for n, provider in enumerate(["openai", "anthropic", "openai"])]
    for target in ("0001_initial", "head", "0001_initial", "head"):  # each way twice
        flask_db(app, "downgrade" if target != "head" else "upgrade", target)
    with app.app_context():
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
    flask_db(app, "downgrade", "0006_usage_budgets")
    with app.app_context():
        db.session.execute(text("UPDATE api_keys SET masked_key = CASE provider "
                                "WHEN 'openai' THEN 'token-***c123' ELSE 'sk-***WXYZ' END"))
        db.session.commit()
    flask_db(app, "upgrade")
    masks = {k["provider"]: k["masked_key"] for k in client.get("/api/config/api-keys").get_json()}
    assert masks == {"openai": "***123", "anthropic": "sk-ant-***WXYZ"}
    assert client.get("/api/config/sync").headers["ETag"] != before
    dispose(app)


def test_the_head_revision_is_alembics_reading_of_the_migrations():
    from alembic.script import ScriptDirectory

    assert head_revision() == ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


START_AND_REPORT = """
import sys
from configapp import create_app
app = create_app()
ready = app.test_client().get("/readyz", headers={"Host": "127.0.0.1"})
print(ready.status_code, sorted(name for name in sys.modules if name.split(".")[0] == "alembic"))
"""


def test_a_start_on_a_database_at_head_leaves_alembic_unimported(tmp_path):
    """Alembic costs about 0.35 s of a start: only a database below head needs it."""
    env = {name: value for name, value in os.environ.items()
           if not name.endswith("_API_KEY") and not name.startswith("CONFIGAPP_")}
    env.update(CONFIGAPP_DATA_DIR=str(tmp_path), CONFIGAPP_ENV_FILE=str(tmp_path / "none.env"),
               CONFIGAPP_CONFIG_FILE=str(tmp_path / "none.yaml"), CONFIGAPP_API_TOKEN="t" * 40)

    def start() -> str:
        done = subprocess.run([sys.executable, "-c", START_AND_REPORT], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    first = start()  # a fresh data folder: Alembic builds the schema
    assert first.startswith("200 ") and "'alembic'" in first
    assert start() == "200 []"
