"""Fixtures of the reliability tests: a database, and real gunicorns serving it.

`database` is a fresh SQLite data folder or a fresh PostgreSQL database (schema at head,
ENCRYPTION_KEY set), seen from outside as a `Store`; `launch` starts gunicorn on it through
the end-to-end harness (tests/e2e/harness.py), and every server it started is stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import fresh_postgres_database
from tests.e2e.harness import Server, start_server
from tests.reliability.store import Store


@dataclass
class Database:
    """A database for servers to share: how the tests read it, what a server needs."""

    store: Store
    folder: Path  # on SQLite, the data folder is folder / "data"
    env: dict[str, str] = field(default_factory=dict)


def sqlite_database(folder: Path) -> Database:
    data = folder / "data"
    return Database(Store(f"sqlite:///{data / 'configapp.db'}",
                          key_file=data / ".encryption_key"), folder)


@pytest.fixture
def database(backend: str, tmp_path: Path, request: pytest.FixtureRequest,
             fernet_key: str) -> Iterator[Database]:
    if backend == "sqlite":
        built = sqlite_database(tmp_path)
    else:
        url = fresh_postgres_database(request.getfixturevalue("postgres_server"), at_head=True)
        built = Database(Store(url, encryption_keys=(fernet_key,)), tmp_path,
                         {"CONFIGAPP_DATABASE_URL": url, "ENCRYPTION_KEY": fernet_key})
    yield built
    built.store.dispose()



@pytest.fixture
def launch(tmp_path_factory: pytest.TempPathFactory,
           stopping_servers: list[Server]) -> Iterator[Callable[..., Server]]:
    """launch(database, workers=4, **env) -> gunicorn serving that database."""
    started: list[Server] = []

    def start(database: Database, workers: int = 4, **env: str) -> Server:
        folder = database.folder if database.store.is_sqlite else (
            tmp_path_factory.mktemp("server"))
        server = start_server(folder, {**database.env, "CONFIGAPP_WORKERS": str(workers),
                                       **env})
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop(wait=False)
        stopping_servers.append(server)
