"""Databases at head without running the migrations for each test (issue 32: suite time).

Alembic's upgrade to head costs about a quarter of a second per SQLite app and, on
PostgreSQL, a whole extra app start (`flask db upgrade`). Each process of the suite
migrates one template per backend, once, the way the app does (tests/conftest.py:
`upgrade_postgres`, or a first start on SQLite), and a test's database is a copy of it:
the SQLite file copied through SQLite's backup API, a PostgreSQL database made with
`CREATE DATABASE ... TEMPLATE`. The one row a migration writes that differs between
databases, `settings_revision.store_id` (0001_initial: a random id, part of the sync
ETag), is drawn afresh for each copy, so a copy is what a migration would have made.
Tests of the migrations themselves do not use these: they start from empty databases.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import tempfile
import uuid
from dataclasses import replace
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from configapp.settings import SecuritySettings, Settings

_TEMPLATES: dict[str, str] = {}  # backend or server URL -> the template's path or name


def _new_store_id() -> str:
    return uuid.uuid4().hex[:12]  # as 0001_initial draws it


def _template_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="configapp-head-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _template_settings(folder: Path, **overrides) -> Settings:
    return Settings(data_dir=folder / "data", env_file=folder / ".env",
                    config_file=folder / "none.yaml", provider_env={},
                    security=SecuritySettings(api_token="t" * 40), cli=True, **overrides)


def _sqlite_template() -> Path:
    if "sqlite" not in _TEMPLATES:
        from configapp import create_app
        from tests.integration.support import dispose

        folder = _template_folder()
        settings = _template_settings(folder)
        dispose(create_app(settings))  # cli=True: the schema only, no start-up import
        _TEMPLATES["sqlite"] = str(settings.data_dir / "configapp.db")
    return Path(_TEMPLATES["sqlite"])


def copy_sqlite_at_head(settings: Settings) -> bool:
    """Put a database at head in `settings`' data folder when the folder does not exist
    yet (a test that prepared it gets the app's own migration); True if it did. The folder
    0700 and the file 0600, as the app makes them."""
    data = settings.data_dir
    if not settings.is_sqlite or data.exists() or (
            make_url(settings.database_url).database != str((data / "configapp.db").resolve())):
        return False
    template = _sqlite_template()
    data.mkdir(mode=0o700, parents=True)
    target = data / "configapp.db"
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    source, copy = sqlite3.connect(template), sqlite3.connect(target)
    try:
        # No fsync for a test's copy (this connection only; the app's set their own):
        # it was 30 to 90 ms of each in-process test's set-up, waiting on the disk.
        copy.execute("PRAGMA synchronous = OFF")
        source.backup(copy)
        copy.execute("UPDATE settings_revision SET store_id = ?", (_new_store_id(),))
        copy.commit()
    finally:
        source.close()
        copy.close()
    return True


def _postgres_template(server_url: str) -> str:
    if server_url not in _TEMPLATES:
        from configapp import create_app
        from tests.integration.support import dispose

        name = f"configapp_head_{uuid.uuid4().hex[:10]}"
        admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        folder = _template_folder()
        # upgrade_postgres's `flask db upgrade`, then no connection left open: PostgreSQL
        # copies a template nobody is connected to.
        app = create_app(replace(_template_settings(folder), database_url=url,
                                 encryption_keys=(Fernet.generate_key().decode(),)))
        result = app.test_cli_runner().invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        dispose(app)
        _TEMPLATES[server_url] = name
    return _TEMPLATES[server_url]


def create_postgres_at_head(server_url: str, name: str) -> None:
    """CREATE DATABASE `name` as a copy of this process's template at head (no rows but
    the revision's: any encryption key opens it)."""
    template = _postgres_template(server_url)
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    finally:
        admin.dispose()
    url = make_url(server_url).set(database=name)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE settings_revision SET store_id = :id"),
                               {"id": _new_store_id()})
    finally:
        engine.dispose()
