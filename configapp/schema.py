"""The database schema: where the Alembic revisions live, upgrading, and the head check."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import flask_migrate
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_with_lock(lock_dir: Path) -> None:
    """`flask db upgrade`, once at a time across the workers that start together."""
    lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # the database and key live here
    with open(os.open(lock_dir / ".migrate.lock", os.O_WRONLY | os.O_CREAT, 0o600), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        flask_migrate.upgrade(directory=str(MIGRATIONS_DIR))
