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

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from configapp.models import Base

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "configapp_alembic_version"
STANDALONE_VERSION_TABLE = "alembic_version"
TABLES = frozenset(Base.metadata.tables)


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def current_revision(engine: Engine, version_table: str = STANDALONE_VERSION_TABLE) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(
            connection, opts={"version_table": version_table}).get_current_revision()


def upgrade(engine: Engine, version_table: str) -> None:
    """Alembic's `upgrade head` on `engine`, recorded in `version_table`."""
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as connection:
        config.attributes.update(connection=connection, version_table=version_table)
        command.upgrade(config, "head")


def upgrade_with_lock(lock_dir: Path, engine: Engine, version_table: str) -> None:
    """The upgrade, once at a time across the workers that start together."""
    with _locked(lock_dir):
        upgrade(engine, version_table)


@contextmanager
def _locked(lock_dir: Path) -> Iterator[None]:
    private_folder(lock_dir)  # the database and key live here
    with open(lock_dir / ".migrate.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def private_folder(folder: Path) -> None:
    """Make the data folder, mode 0700. The checkout's `data/` (only its README, made by git
    with the umask's mode, often 0755) is tightened the same way on the first start."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    status = folder.stat()
    if (status.st_mode & 0o077 and status.st_uid == os.getuid()
            and {path.name for path in folder.iterdir()} <= {"README.md"}):
        folder.chmod(0o700)


def include_name(name: str | None, type_: str, _parents: dict[str, str | None]) -> bool:
    """For a host app's Alembic `include_name`: leave configapp's tables and its version
    table out of the host's autogenerate, which would otherwise propose to drop them."""
    return not (type_ == "table" and (name in TABLES or name == VERSION_TABLE))
