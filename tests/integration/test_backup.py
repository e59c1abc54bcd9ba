"""Backup and restore through the CLI: keys in plaintext inside the encrypted file only,
round trips between SQLite and PostgreSQL, and every refusal leaves the database as it was."""

from __future__ import annotations

import base64
import errno
import json
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import Connection, create_engine, text

from configapp import create_app
from configapp.ops import backup_file
from configapp.ops.backup import TABLES as BACKUP_TABLES
from configapp.settings import SecuritySettings, Settings
from tests.conftest import TEST_API_TOKEN, fresh_postgres_database, upgrade_postgres
from tests.integration.support import dispose
from tests.provider_stub.fixtures import KEYS, MODELS, TEST_TIMEOUT, add_key

PASSPHRASE = "correct horse battery staple"
TABLES = ("api_keys", "model_configs", "budgets", "usage_records", "settings_revision")
INACTIVE_KEY = "sk-stub-openai-older-0009"


def instance(tmp_path: Path, name: str, database_url: str = "") -> Flask:
    """An app on its own data folder (SQLite) or database, with its own encryption key."""
    settings = Settings(
        data_dir=tmp_path / name / "data", database_url=database_url,
        env_file=tmp_path / name / ".env", config_file=tmp_path / name / "default.yaml",
        provider_env={}, security=SecuritySettings(api_token=TEST_API_TOKEN),
        provider_timeout=TEST_TIMEOUT,
        provider_check_timeout=TEST_TIMEOUT,
        encryption_keys=(Fernet.generate_key().decode(),) if database_url else ())
    if database_url:
        upgrade_postgres(settings)
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


def rows(app: Flask) -> dict[str, list[tuple]]:
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.connect() as connection:
            return {table: [tuple(row) for row in connection.execute(
                text(f"SELECT * FROM {table} ORDER BY 1"))] for table in TABLES}  # noqa: S608
    finally:
        engine.dispose()


def cli(app: Flask, *args: str, input: str | None = PASSPHRASE + "\n"):
    return app.test_cli_runner().invoke(args=["config", *args], input=input)


def fill(app: Flask, stub) -> None:
    """Keys (one inactive, one with a base URL), a default with parameters, a budget, the
    active keys' discovered models, a client token, and the ledger of two chats."""
    client = app.test_client()
    add_key(client, stub, "openai", key=INACTIVE_KEY, key_name="old")
    key = add_key(client, stub, "openai", key_name="work")
    add_key(client, stub, "anthropic")
    client.post(f"/api/config/models/{MODELS['openai']}/select")
    client.put(f"/api/config/models/{MODELS['openai']}/parameters", json={"temperature": 0.3})
    client.put(f"/api/config/models/{MODELS['anthropic']}/parameters", json={"top_p": 0.5})
    client.put("/api/config/budgets/provider/openai", json={"monthly_limit": 20})
    assert client.get("/api/config/models?live=true").status_code == 200  # discoveries
    client.put(f"/api/config/budgets/key/{key['id']}", json={"monthly_limit": 2.5})
    made = client.post("/api/config/clients", json={"name": "scripts", "monthly_limit": 5})
    assert made.status_code == 201, made.get_json()
    for flavour in ("openai", "anthropic"):
        answer = client.post("/api/chat", json={"model": MODELS[flavour], "messages": [
            {"role": "user", "content": "Say hello"}]})
        assert answer.status_code == 200


def without_revision(snapshot: dict) -> dict:
    return {name: value for name, value in snapshot.items() if name != "revision"}


def sync(app: Flask) -> dict:
    return app.test_client().get("/api/config/sync").get_json()


def opened(path: Path) -> bytes:
    return backup_file.canonical(backup_file.open_backup(path.read_bytes(), PASSPHRASE).payload)


def test_a_round_trip_between_sqlite_and_postgresql_keeps_the_snapshot_and_the_keys(
        tmp_path, stub, postgres_server):
    source = instance(tmp_path, "sqlite")
    fill(source, stub)
    first = tmp_path / "settings.configapp-backup"
    made = cli(source, "backup", str(first))
    assert made.exit_code == 0, made.output
    assert "3 api_keys" in made.output and "2 usage_records" in made.output
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    content = first.read_bytes()
    for plaintext in (*KEYS.values(), INACTIVE_KEY):
        assert plaintext[:-4].encode() not in content  # the secret watch also reads the file
    payload = json.loads(opened(first))
    keys = payload["tables"]["api_keys"]
    plaintexts = {row[keys["columns"].index("api_key")] for row in keys["rows"]}
    assert plaintexts == {KEYS["openai"], KEYS["anthropic"], INACTIVE_KEY}  # never masked

    target = instance(tmp_path, "postgresql", fresh_postgres_database(postgres_server))
    restored = cli(target, "restore", str(first))
    assert restored.exit_code == 0, restored.output
    assert "api_keys: 3 added, 0 changed, 0 removed" in restored.output
    assert "discovered_models: 6 added, 0 changed, 0 removed" in restored.output
    assert "clients: 1 added, 0 changed, 0 removed" in restored.output
    assert without_revision(sync(target)) == without_revision(sync(source))
    assert target.test_client().get("/api/config/clients").get_json() == \
        source.test_client().get("/api/config/clients").get_json()
    assert [b["spent"] for b in target.test_client().get("/api/config/budgets").get_json()] == [
        b["spent"] for b in source.test_client().get("/api/config/budgets").get_json()]
    # The keys work: sealed again under the target's own encryption key.
    answer = target.test_client().post("/api/chat", json={"messages": [
        {"role": "user", "content": "again"}]})
    assert answer.status_code == 200 and stub.last("/chat/completions").key == KEYS["openai"]

    # And back: PostgreSQL to a new SQLite instance.
    second = tmp_path / "back.configapp-backup"
    assert cli(target, "backup", str(second)).exit_code == 0
    again = instance(tmp_path, "sqlite-again")
    assert cli(again, "restore", str(second)).exit_code == 0
    assert without_revision(sync(again)) == without_revision(sync(target))
    for app in (source, target, again):
        dispose(app)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_same_state_backed_up_twice_decrypts_to_the_same_content(app, stub, tmp_path):
    fill(app, stub)
    one, two = tmp_path / "one.configapp-backup", tmp_path / "two.configapp-backup"
    assert cli(app, "backup", str(one)).exit_code == 0
    assert cli(app, "backup", str(two)).exit_code == 0
    assert one.read_bytes() != two.read_bytes()  # a new salt and nonce each time
    assert opened(one) == opened(two)


def test_wrong_passphrase_damage_truncation_and_newer_schemas_change_nothing(
        app, stub, tmp_path):
    fill(app, stub)
    good = tmp_path / "good.configapp-backup"
    assert cli(app, "backup", str(good)).exit_code == 0
    app.test_client().delete("/api/config/budgets/provider/openai")  # differ from the backup
    before = rows(app)
    data = good.read_bytes()
    magic, header, body = data.rstrip(b"\n").split(b"\n")
    sealed = bytearray(base64.b64decode(body))
    sealed[len(sealed) // 2] ^= 0x01
    future = json.loads(header)
    future["schema"] = "0099_from_the_future"
    newer_inside = backup_file.seal(
        {**json.loads(opened(good)), "schema": "0099_from_the_future"}, "0006_usage_budgets",
        PASSPHRASE)
    cases = {
        "wrong passphrase": (data, "not the passphrase\n", "wrong passphrase"),
        "flipped bit": (b"\n".join([magic, header, base64.b64encode(sealed)]), None,
                        "damaged or truncated"),
        "truncated": (data[: len(data) * 2 // 3], None, "damaged"),
        "empty": (b"", None, "not a configapp backup"),
        "header edited": (b"\n".join([magic, header.replace(b'"r":8', b'"r":4'), body]), None,
                          "damaged or truncated"),
        "newer schema in the header": (b"\n".join(
            [magic, json.dumps(future).encode(), body]), None, "newer configapp"),
        "newer schema inside": (newer_inside, None, "newer configapp"),
    }
    for name, (content, passphrase, message) in cases.items():
        path = tmp_path / f"{name}.configapp-backup"
        path.write_bytes(content)
        for dry in ((), ("--dry-run",)):
            result = cli(app, "restore", str(path), *dry,
                         input=passphrase or PASSPHRASE + "\n")
            assert result.exit_code == 1, (name, result.output)
            assert message in result.output and "Traceback" not in result.output, name
        assert rows(app) == before, name
    missing = cli(app, "restore", str(tmp_path / "nowhere"))
    assert missing.exit_code == 1 and "cannot be read" in missing.output
    assert rows(app) == before


def test_a_dry_run_says_what_would_change_and_the_restore_does_it(app, stub, tmp_path):
    fill(app, stub)
    path = tmp_path / "settings.configapp-backup"
    assert cli(app, "backup", str(path)).exit_code == 0
    client = app.test_client()
    snapshot = sync(app)
    client.delete("/api/config/budgets/provider/openai")
    client.put("/api/config/budgets/provider/gemini", json={"monthly_limit": 1})
    client.post(f"/api/config/models/{MODELS['anthropic']}/select")
    newest = client.post("/api/config/api-keys", json={"provider": "gemini",
                                                       "api_key": "AIzaSy-new-key-0042"})
    before = rows(app)
    dry = cli(app, "restore", str(path), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "dry run, nothing written" in dry.output
    assert "api_keys: 0 added, 0 changed, 1 removed, 3 unchanged" in dry.output
    assert "model_configs: 0 added, 2 changed, 0 removed, 0 unchanged" in dry.output
    assert "budgets: 1 added, 0 changed, 1 removed, 1 unchanged" in dry.output
    assert rows(app) == before
    done = cli(app, "restore", str(path))
    assert done.exit_code == 0 and done.output.startswith("Restored:")
    assert without_revision(sync(app)) == without_revision(snapshot)
    assert sync(app)["revision"] != snapshot["revision"]
    # A deleted key's id is not given to the next key.
    later = client.post("/api/config/api-keys", json={"provider": "gemini",
                                                      "api_key": "AIzaSy-later-key-0043"})
    assert later.get_json()["id"] > newest.get_json()["id"]
    same = cli(app, "restore", str(path), "--dry-run")
    assert "api_keys: 1 added" not in same.output and "1 removed, 3 unchanged" in same.output


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_backup_refuses_a_short_passphrase_and_a_key_that_does_not_open(app, stub,
                                                                          tmp_path):
    fill(app, stub)
    path = tmp_path / "x.configapp-backup"
    short = cli(app, "backup", str(path), input="short\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    assert not path.exists()
    with app.app_context():  # a token moved to another row no longer opens
        from configapp.records import db

        db.session.execute(text("UPDATE api_keys SET encrypted_key = (SELECT encrypted_key "
                                "FROM api_keys WHERE id = 1) WHERE id = 2"))
        db.session.commit()
        db.session.remove()
    refused = cli(app, "backup", str(path))
    assert refused.exit_code == 1 and "does not belong to its row" in refused.output
    assert not path.exists()
    assert not list(tmp_path.glob(".x.configapp-backup*"))


def test_restoring_twice_into_the_same_database_is_idempotent(app, stub, tmp_path):
    fill(app, stub)
    path = tmp_path / "same.configapp-backup"
    assert cli(app, "backup", str(path)).exit_code == 0
    before = sync(app)
    for _ in range(2):
        result = cli(app, "restore", str(path))
        assert result.exit_code == 0 and "Nothing to change" in result.output, result.output
    assert without_revision(sync(app)) == without_revision(before)
    assert app.test_client().get("/readyz").status_code == 200


def test_backup_file_unit_rules():
    with pytest.raises(backup_file.BackupError):
        backup_file.open_backup(b"configapp-backup 1\n{}\n\n", PASSPHRASE)
    sealed = backup_file.seal({"a": 1}, None, PASSPHRASE)
    assert backup_file.open_backup(sealed, PASSPHRASE).payload == {"a": 1}


def dump(app: Flask) -> dict[str, list[tuple]]:
    """Every row of every table a restore writes, and the revision: the whole picture."""
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.connect() as connection:
            # Sorted here: PostgreSQL cannot order by a json column.
            return {name: sorted((tuple(row) for row in connection.execute(
                text(f"SELECT * FROM {name}"))), key=repr)  # noqa: S608
                for name in [*(spec.name for spec in BACKUP_TABLES), "settings_revision"]}
    finally:
        engine.dispose()


def edited(path: Path, table: str, row: int, **changes) -> bytes:
    """The backup at `path` with columns of one row changed, sealed again with the
    passphrase: authentic, as anyone holding the passphrase can make it."""
    payload = json.loads(opened(path))
    content = payload["tables"][table]
    for column, value in changes.items():
        content["rows"][row][content["columns"].index(column)] = value
    return backup_file.seal(payload, payload["schema"], PASSPHRASE)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_backup_never_replaces_a_file_unasked_nor_writes_into_the_data_folder(
        app, stub, tmp_path):
    fill(app, stub)
    data_dir = app.extensions["configapp"].settings.data_dir
    before = {path: path.read_bytes() for path in data_dir.iterdir() if path.is_file()}
    kept = tmp_path / "kept.txt"
    kept.write_text("not a backup")
    refused = cli(app, "backup", str(kept))
    assert refused.exit_code == 1 and "exists" in refused.output and "--force" in refused.output
    assert kept.read_text() == "not a backup"
    forced = cli(app, "backup", str(kept), "--force")
    assert forced.exit_code == 0, forced.output
    assert opened(kept)
    (tmp_path / "link").symlink_to(data_dir)
    (tmp_path / "key-link").symlink_to(data_dir / ".encryption_key")
    targets = [data_dir / ".encryption_key", data_dir / "configapp.db", data_dir / "new.bak",
               tmp_path / "link" / "configapp.db", tmp_path / "link" / "new.bak",
               tmp_path / "key-link"]
    for target in targets:
        for force in ((), ("--force",)):
            result = cli(app, "backup", str(target), *force)
            assert result.exit_code == 1, (target, result.output)
            assert "inside the data folder" in result.output, (target, result.output)
            assert "Traceback" not in result.output
    after = {path: path.read_bytes() for path in data_dir.iterdir() if path.is_file()}
    assert after.keys() == before.keys()
    assert after[data_dir / ".encryption_key"] == before[data_dir / ".encryption_key"]
    assert app.test_client().get("/readyz").status_code == 200


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("no_link", [errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV])
def test_a_backup_is_written_where_the_file_system_has_no_hard_links(
        app, stub, tmp_path, monkeypatch, no_link):
    """FAT, exFAT and some SMB or NFS shares refuse os.link (it failed "Operation not
    permitted"): the backup is created in place instead, still 0600, still never over a
    file, even one that appears after the check."""
    fill(app, stub)

    def no_hard_links(source, target, **_):
        raise OSError(no_link, os.strerror(no_link))

    monkeypatch.setattr(os, "link", no_hard_links)  # a FAT mount cannot be made here
    target = tmp_path / "usb" / "settings.configapp-backup"
    target.parent.mkdir()
    made = cli(app, "backup", str(target))
    assert made.exit_code == 0, made.output
    assert opened(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [path.name for path in target.parent.iterdir()] == [target.name]
    refused = cli(app, "backup", str(target))
    assert refused.exit_code == 1 and "exists" in refused.output
    late = tmp_path / "usb" / "late.configapp-backup"
    late.write_text("appeared after the check")
    with pytest.raises(backup_file.BackupError, match="exists"):
        backup_file.write_private(late, b"backup")
    assert late.read_text() == "appeared after the check"
    assert sorted(path.name for path in target.parent.iterdir()) == [late.name, target.name]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_header_asking_for_a_costly_key_derivation_is_refused_before_deriving(
        app, stub, tmp_path):
    fill(app, stub)
    good = tmp_path / "good.configapp-backup"
    assert cli(app, "backup", str(good)).exit_code == 0
    before = dump(app)
    magic, header, body = good.read_bytes().rstrip(b"\n").split(b"\n")
    for kdf in ({"n": 2**17}, {"r": 16}, {"p": 2}, {"n": 2**15 + 1}, {"n": 0}):
        changed = json.loads(header)
        changed["kdf"].update(kdf)
        path = tmp_path / "costly.configapp-backup"
        path.write_bytes(b"\n".join([magic, json.dumps(changed).encode(), body]))
        started = time.monotonic()
        result = cli(app, "restore", str(path), "--dry-run")
        assert time.monotonic() - started < 2, kdf
        assert result.exit_code == 1, (kdf, result.output)
        assert "never writes" in result.output and "refused before deriving" in result.output
    huge_salt = json.loads(header)
    huge_salt["kdf"]["salt"] = base64.b64encode(b"s" * 4096).decode()
    path.write_bytes(b"\n".join([magic, json.dumps(huge_salt).encode(), body]))
    assert "damaged" in cli(app, "restore", str(path)).output
    assert dump(app) == before


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_restore_refuses_every_row_a_save_would_refuse_and_names_it(app, stub, tmp_path):
    fill(app, stub)
    client = app.test_client()
    for name, target in (("fast", MODELS["anthropic"]), ("work/fast", "fast")):
        assert client.put(f"/api/config/aliases/{name}", json={
            "model": target, "parameters": {"temperature": 0.5}}).status_code == 200
    assert client.patch("/api/config/curation/openai", json={
        "hide": ["openai/gpt-4o"]}).status_code == 200
    good = tmp_path / "good.configapp-backup"
    assert cli(app, "backup", str(good)).exit_code == 0
    app.test_client().delete("/api/config/budgets/provider/openai")  # differ from the backup
    before = dump(app)
    metadata = "http://169.254.169.254/latest"
    cases = {
        "unsupported provider, metadata URL": (
            "api_keys", 0, {"provider": "nowhere-ai", "api_base": metadata, "is_active": True},
            "api_keys table, row 1"),
        "metadata URL": ("api_keys", 1, {"api_base": metadata}, "Keys are never sent there"),
        "a key with a space": ("api_keys", 2, {"api_key": "sk bad key 0000"}, "API key must"),
        "a bad date": ("budgets", 0, {"created_at": "the day before yesterday"},
                       "budgets table, row 1 (scope 'key', target '2'): created_at is not a "
                       "date ('the day before yesterday')."),
        "a parameter out of bounds": ("model_configs", 0, {"parameters": {"temperature": 9}},
                                      "temperature: Must be between"),
        "an alias loop": ("model_aliases", 0, {"target": "work/fast"}, "aliases loop"),
        "an alias's parameter out of the bounds of the model it comes to": (
            "model_aliases", 1, {"parameters": {"temperature": 1.5}},
            "model_aliases table, row 2 (name 'work/fast'): temperature: Must be between 0.0 "
            "and 1.0"),
        "a visibility for no provider": ("model_visibility", 0, {"provider": "nowhere-ai"},
                                         "not a supported provider"),
        "a budget for no key": ("budgets", 0, {"scope": "key", "target": "999"},
                                "names no key"),
        "a negative limit": ("budgets", 1, {"monthly_limit": -5}, "monthly_limit"),
        "a string for a number": ("usage_records", 1, {"prompt_tokens": "many"},
                                  "usage_records table, row 2"),
        "an unknown outcome, last table, last row": (
            "usage_records", 1, {"outcome": "exploded"}, "usage_records table, row 2 (id 2)"),
    }
    for name, (table, row, changes, message) in cases.items():
        path = tmp_path / "edited.configapp-backup"
        path.write_bytes(edited(good, table, row, **changes))
        for dry in ((), ("--dry-run",)):
            result = cli(app, "restore", str(path), *dry)
            assert result.exit_code == 1, (name, result.output)
            assert message in result.output, (name, result.output)
            assert "Nothing was changed" in result.output and "Traceback" not in result.output
        assert dump(app) == before, name
    assert cli(app, "restore", str(good)).exit_code == 0  # the unedited backup still restores
    assert dump(app) != before


def fail_inserts_into(app: Flask, table: str, row_id: int | None = None) -> None:
    """A rule in the database itself (not in configapp) that refuses the insert of one
    row of `table` (by id), or of any row. On PostgreSQL a trigger, not a CHECK: a CHECK's
    error puts the failing row (a key's Fernet token) in the server's log."""
    when = f"WHEN (NEW.id = {int(row_id)})" if row_id is not None else ""
    with database(app) as connection:
        if connection.dialect.name == "sqlite":
            connection.execute(text(
                f"CREATE TRIGGER injected_failure BEFORE INSERT ON {table} {when} "
                "BEGIN SELECT RAISE(ABORT, 'injected'); END"))
        else:
            connection.execute(text(
                "CREATE FUNCTION injected_failure() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'injected'; END $$"))
            connection.execute(text(
                f"CREATE TRIGGER injected_failure BEFORE INSERT ON {table} FOR EACH ROW "
                f"{when} EXECUTE FUNCTION injected_failure()"))


def allow_inserts_into(app: Flask, table: str) -> None:
    with database(app) as connection:
        if connection.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER injected_failure"))
        else:
            connection.execute(text(f"DROP TRIGGER injected_failure ON {table}"))
            connection.execute(text("DROP FUNCTION injected_failure()"))


@contextmanager
def database(app: Flask) -> Iterator[Connection]:
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        engine.dispose()


def test_a_restore_that_fails_in_any_table_leaves_every_table_as_it_was(app, stub, tmp_path):
    """All or nothing, whichever table the failure hits: the first insert of each table
    the backup fills, and the very last insert. A restore that committed some tables
    before others (per table, the ledger first, the keys first) leaves one changed."""
    fill(app, stub)
    path = tmp_path / "settings.configapp-backup"
    assert cli(app, "backup", str(path)).exit_code == 0
    client = app.test_client()  # so that the restore would change every kind of row
    client.delete("/api/config/budgets/provider/openai")
    client.put("/api/config/budgets/provider/gemini", json={"monthly_limit": 1})
    client.post(f"/api/config/models/{MODELS['anthropic']}/select")
    client.post("/api/config/api-keys", json={"provider": "gemini",
                                              "api_key": "AIzaSy-new-key-0042"})
    assert client.post("/api/chat", json={"model": MODELS["openai"], "messages": [
        {"role": "user", "content": "Say hello"}]}).status_code == 200  # a ledger row more
    tables = json.loads(opened(path))["tables"]
    filled = [spec.name for spec in BACKUP_TABLES if tables[spec.name]["rows"]]
    assert filled[0] == "api_keys" and filled[-1] == BACKUP_TABLES[-1].name == "usage_records"
    last = tables["usage_records"]
    failures = [(name, None) for name in filled] + [
        ("usage_records", last["rows"][-1][last["columns"].index("id")])]
    before = dump(app)
    for table, row_id in failures:
        fail_inserts_into(app, table, row_id)
        try:
            result = cli(app, "restore", str(path))
        finally:
            allow_inserts_into(app, table)
        assert result.exit_code == 1, (table, row_id, result.output)
        assert "rolled back, nothing was changed" in result.output, (table, result.output)
        assert dump(app) == before, (table, row_id)
    assert cli(app, "restore", str(path)).exit_code == 0  # the same backup, no failure
    assert dump(app) != before


def test_a_backup_is_never_written_over_a_sqlite_database_outside_the_data_folder(tmp_path):
    database = tmp_path / "elsewhere" / "settings.db"
    database.parent.mkdir()
    database.write_bytes(b"")
    link = tmp_path / "link.db"
    link.symlink_to(database)
    for target in (database, tmp_path / "elsewhere" / "settings.db-wal", link):
        with pytest.raises(backup_file.BackupError, match="the database's own file"):
            backup_file.check_target(target, tmp_path / "data", database, replace=True)
    backup_file.check_target(tmp_path / "elsewhere" / "other.bak", tmp_path / "data", database)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_restoring_the_backup_just_taken_changes_nothing_for_a_model_without_parameters(
        app, stub, tmp_path):
    """A model chosen without parameters is stored with none (`{}`), so its own backup
    restores, as unchanged (sql_storage `_config_row` with `parameters=None` stores a JSON
    null, and the restore refuses its own backup: "parameters is empty")."""
    client = app.test_client()
    add_key(client, stub, "openai")
    assert client.post(f"/api/config/models/{MODELS['openai']}/select").status_code == 200
    path = tmp_path / "plain.configapp-backup"
    assert cli(app, "backup", str(path)).exit_code == 0
    dry = cli(app, "restore", str(path), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "model_configs: 0 added, 0 changed, 0 removed, 1 unchanged" in dry.output


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_backup_model_whose_id_names_no_provider_is_restored_and_shown(app, stub, tmp_path):
    """A model row outside the catalogue whose id has no `provider/` part (as anyone holding
    the passphrase can write) is restored and shown by its id, not a crash (keys/service.py
    `model_info_for` 17, `split("/", 1)[+1]`, called equivalent, raised IndexError)."""
    client = app.test_client()
    add_key(client, stub, "openai")
    assert client.post(f"/api/config/models/{MODELS['openai']}/select").status_code == 200
    path = tmp_path / "plain.configapp-backup"
    assert cli(app, "backup", str(path)).exit_code == 0
    odd = tmp_path / "odd.configapp-backup"
    odd.write_bytes(edited(path, "model_configs", 0, model_id="plainmodel"))
    dry = cli(app, "restore", str(odd), "--dry-run")
    assert dry.exit_code == 0 and dry.exception is None, (dry.output, dry.exception)
    assert "model_configs: 1 added, 0 changed, 1 removed" in dry.output
    done = cli(app, "restore", str(odd))
    assert done.exit_code == 0 and done.exception is None, (done.output, done.exception)
    snapshot = client.get("/api/config/sync")
    assert snapshot.status_code == 200
    assert snapshot.get_json()["selected"]["model"]["display_name"] == "plainmodel"
