"""The database schema: where the Alembic revisions live, upgrading, and the head check.

configapp keeps its revision in its own version table, so that in a host app's database
(`ConfigApp(app, db=host_db)`) its migrations and the host's never see each other's
revisions. The standalone app keeps Alembic's default name, `alembic_version`, which its
databases have had from the start.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, column, inspect, select, table

from configapp.records import Base

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "configapp_alembic_version"
STANDALONE_VERSION_TABLE = "alembic_version"
TABLES = frozenset(Base.metadata.tables)
# The newest revision in migrations/versions (a test checks it against Alembic's reading):
# known without importing Alembic, which costs about 0.35 s of a start that does not need
# it (a database already at head).
HEAD_REVISION = "0011_usage_receipts"


def head_revision() -> str:
    return HEAD_REVISION


def current_revision(engine: Engine, version_table: str = STANDALONE_VERSION_TABLE) -> str | None:
    """The revision recorded in `version_table`, None when there is none (Alembic's own
    reading, without importing Alembic)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(version_table):
            return None
        versions = connection.execute(select(column("version_num"))
                                      .select_from(table(version_table))).scalars().all()
    if len(versions) > 1:
        raise RuntimeError(f"{version_table} records several revisions: {versions}.")
    return versions[0] if versions else None


def upgrade(engine: Engine, version_table: str) -> None:
    """Alembic's `upgrade head` on `engine`, recorded in `version_table`."""
    from alembic import command
    from alembic.config import Config

    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as connection:
        config.attributes.update(connection=connection, version_table=version_table)
        command.upgrade(config, "head")


def upgrade_with_lock(lock_dir: Path, engine: Engine, version_table: str) -> None:
    """The upgrade, once at a time across the workers that start together; nothing (and no
    Alembic) when the database is at head already."""
    if current_revision(engine, version_table) == HEAD_REVISION:
        return
    with _locked(lock_dir):
        upgrade(engine, version_table)


@contextmanager
def _locked(lock_dir: Path) -> Iterator[None]:
    # The composition root made the folder private before (keys/data_files.py).
    lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(os.open(lock_dir / ".migrate.lock", os.O_WRONLY | os.O_CREAT, 0o600), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def include_name(name: str | None, type_: str, _parents: dict[str, str | None]) -> bool:
    """For a host app's Alembic `include_name`: leave configapp's tables and its version
    table out of the host's autogenerate, which would otherwise propose to drop them."""
    return not (type_ == "table" and (name in TABLES or name == VERSION_TABLE))
