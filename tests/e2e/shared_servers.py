"""Served apps shared between tests: one gunicorn per environment, its database put back as
it was at the start after each test (issue 32: the suite's time).

A gunicorn start costs 1.5 to 5 s (more under load), and each of its workers imports
litellm. A test that needs the app served, but not its first start, takes one from
`SharedServers` by its environment (the end-to-end `server` and `shared_server` fixtures).
After the test, once no request is in flight (tests/served_answers.py counts them: a stopped
stream's ledger row is written by then), the secret watch reads the database and its WAL
as the end of the session does, then every table gets back the rows it had just after the
start, in one write transaction, and the settings revision moves on (never back: it is the
sync ETag), as a second instance's writes would move it. What a worker keeps in memory
follows the database the way it follows another instance's writes (the app is built to
share a database), and ids keep growing (AUTOINCREMENT), so nothing kept by id meets a new
row under an old id. The next use checks that nothing reached the server since (a page
closed after the reset): if something did, the reset runs again.

Retired, and replaced at the next use: a server that was stopped or restarted or whose
settings a test changed, one still busy IDLE_TIMEOUT_S after its test, and one that counted
a wrong API token (the count lives in a worker's memory). Tests of a first start (the login
link, a fresh data folder), of a stopped or restarted backend, or of the whole log keep
their own server (`make_server`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.harness import REQUESTS_FILE, Server
from tests.secret_watch import WATCH, open_rows

IDLE_TIMEOUT_S = 30
# Moved on at each reset, never put back (the sync ETag must not repeat an old value).
REVISION = "settings_revision"
WRONG_TOKEN = "a wrong API token from"  # configapp/access/gate.py's log line

Rows = dict[str, list[tuple[Any, ...]]]


def database_of(server: Server) -> Path:
    return server.data_dir / "configapp.db"


def read_rows(database: Path) -> Rows:
    """Every row of every table but the revision's."""
    with closing(sqlite3.connect(database, timeout=30)) as connection:
        tables = [name for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            if name != REVISION]
        return {name: connection.execute(f'SELECT * FROM "{name}"').fetchall()  # noqa: S608
                for name in tables}


def put_back(database: Path, rows: Rows) -> None:
    """The tables' rows as `rows` holds them, and the revision one step on, in one write
    transaction (BEGIN IMMEDIATE: the app's writers wait, its readers see before or after)."""
    with closing(sqlite3.connect(database, timeout=30, isolation_level=None)) as connection:
        connection.execute("BEGIN IMMEDIATE")
        try:
            for table, content in rows.items():
                connection.execute(f'DELETE FROM "{table}"')  # noqa: S608
                if content:
                    marks = ", ".join("?" * len(content[0]))
                    connection.executemany(
                        f'INSERT INTO "{table}" VALUES ({marks})', content)  # noqa: S608
            connection.execute(f"UPDATE {REVISION} SET counter = counter + 1")  # noqa: S608
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise


def watch_database(database: Path, test: str) -> None:
    """What the end of the session reads of a database (tests/secret_watch.py): the keys
    its rows hold are learnt, and the file and its WAL searched, before a reset deletes
    the rows a test wrote."""
    open_rows(database, WATCH)
    for path in (database, database.with_name(database.name + "-wal")):
        if path.is_file():
            WATCH.counts["files"] += 1
            WATCH.scan(f"{path.name} of a shared server, after {test}",
                       path.read_bytes().decode("latin-1"), tokens=False)


def marks(server: Server) -> int:
    """How many times requests began or ended so far: moves with any request."""
    try:
        return server.log_path.with_name(REQUESTS_FILE).stat().st_size
    except FileNotFoundError:
        return 0


@dataclass
class Shared:
    """A shared server, as it was started, and where it stood at its last reset."""

    server: Server
    env: dict[str, str]
    process_id: int
    rows: Rows
    marks: int  # the request count file's size at the last reset
    log_size: int  # the log's size at the last reset

    def retired_because(self) -> str | None:
        server = self.server
        if server.process.poll() is not None or server.process.pid != self.process_id:
            return "it was stopped or restarted"
        if server.env != self.env:
            return "its settings were changed"
        deadline = time.monotonic() + IDLE_TIMEOUT_S
        while server.requests_in_flight() > 0:
            if time.monotonic() > deadline:
                return f"requests were still in flight {IDLE_TIMEOUT_S} s after the test"
            time.sleep(0.05)
        with server.log_path.open("rb") as log:
            log.seek(self.log_size)
            if WRONG_TOKEN.encode() in log.read():
                return "it counted a wrong API token"
        return None


class SharedServers:
    """The servers of the session, one per environment, started at their first use."""

    def __init__(self, start: Callable[[dict[str, str]], Server],
                 retire: Callable[[Server], None]) -> None:
        self.start = start
        self.retire = retire
        self.servers: dict[tuple[tuple[str, str], ...], Shared] = {}
        self.retired: list[tuple[Server, str]] = []  # and why: shown by the fixture

    def get(self, env: dict[str, str] | None = None) -> Server:
        """The server of this environment, as it was just after its start."""
        key = tuple(sorted((env or {}).items()))
        shared = self.servers.get(key)
        if shared is not None and marks(shared.server) != shared.marks:
            self.reset(shared.server, "(a request after the last reset)")
            shared = self.servers.get(key)
        if shared is None:
            server = self.start(dict(env or {}))
            shared = self.servers[key] = Shared(
                server, dict(server.env), server.process.pid, read_rows(database_of(server)),
                marks(server), server.log_path.stat().st_size)
        return shared.server

    def reset(self, server: Server, test: str) -> None:
        """After a test: the database as it was after the start, or the server retired."""
        key, shared = next((key, shared) for key, shared in self.servers.items()
                           if shared.server is server)
        database = database_of(server)
        reason = shared.retired_because()
        if database.is_file():
            watch_database(database, test)
        if reason is not None:
            del self.servers[key]
            self.retired.append((server, reason))
            self.retire(server)
            return
        put_back(database, shared.rows)
        shared.marks = marks(server)
        shared.log_size = server.log_path.stat().st_size

    def close(self) -> None:
        for shared in self.servers.values():
            self.retire(shared.server)
        self.servers.clear()
