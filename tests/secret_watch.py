"""A pytest plugin that watches the whole suite for secrets where none may be.

What it reads:
- every answer of an app served in the test process (the Flask test client, schemathesis):
  status line, headers and the whole body, read or not: what a test left unread is read
  to its end when the test is over (streams included);
- every answer a gunicorn under test sent: the harness runs it behind a recording
  middleware (tests/served_answers.py), whose file is read after each test;
- every log record emitted in the test process: all of configapp's (its loggers are set to
  DEBUG for the session), other libraries' at the levels in force;
- at the end of the session, under its temporary folder: every `*.log` file (the gunicorn
  servers' logs and answers), every settings backup (`*.configapp-backup`: encrypted, no key
  in it) and every SQLite database file with its WAL; the PostgreSQL test server's log and
  every row of each of its databases (under pytest-xdist, of those the worker made). Log
  records and answers are read again then, for the secrets learnt after them (up to
  MAX_KEPT bytes of them). A shared server's database file and WAL are also read after
  each of its tests, before their reset deletes what the test wrote
  (tests/e2e/shared_servers.py).

What it looks for:
- any Fernet token (`gAAAAA...`), in answers and logs (databases hold them by design);
- the API tokens: the suite's TEST_API_TOKEN, every app's configured one, and those that
  first starts made (tests/e2e/harness.py learns them from the login link): in a log file
  only the login link line the start printed may hold one (docs/adr/0006 lists where the
  token lives);
- the client tokens (`cfgc_...`) any in-process app made: allowed only in the answer to the
  request that made it (POST /api/config/clients shows it once);
- every secret the suite used: API keys as the app seals them for storage or receives them
  as `api_key` (in process, and through the recording middleware: keys a browser typed,
  keys since deleted), provider keys in an app's settings, the API token, every Fernet key
  any FernetEncryption was built with, the canary; at the end also the keys found by
  opening the databases (SQLite files and PostgreSQL databases) with every Fernet key
  known, and the key files' keys. API keys are looked for without their last four
  characters (the masked form shows those), and only secrets with at least eight distinct
  characters. Keys a fuzzer sends (schemathesis's requests) are not learnt: it puts the
  same strings in other fields too (a model id, a name), where the app rightly echoes
  them; the fuzz test looks for its own canary key (nor are keys learnt from the fuzzer's
  PostgreSQL databases, named configapp_fuzz_*).

A leak in an answer or log fails the test it happened in (at its teardown); a leak found
at the end fails the session (at the teardown of its last test). Not read: output of
processes the tests read themselves (CLI runs, start_app), and the extension's storage
(its own end-to-end test checks that).
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import os
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import ahocorasick
import psycopg
import pytest
from flask import Flask
from psycopg import sql
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from configapp.access.clients import ClientService
from configapp.domain import InvalidEncryptionKeyError, SealedKey
from configapp.keys.fernet import FernetEncryption
from tests.conftest import (
    CANARY_KEY,
    CREATED_DATABASES,
    FUZZ_DATABASE_PREFIX,
    TEST_API_TOKEN,
)

FERNET_TOKEN = re.compile(r"gAAAAA[A-Za-z0-9_-]{20,}")
# The one line where a first start (or `config token`) shows the API token, by design.
# The extension's chrome.storage.local in a Chromium profile: where ADR 0006 keeps the token.
EXTENSION_STORAGE = "Local Extension Settings"
LOGIN_LINK_LINE = re.compile(r"^ *http://\S+/login#token=\S+$", re.MULTILINE)
MIN_DISTINCT = 8
MAX_READ_BODY = 2 * 1024 * 1024
MAX_KEPT = 64 * 1024 * 1024  # answers and log records kept to be read again at the end
# Needles learnt since the automaton was built are looked for one by one; past this many,
# it is built again (a build costs about 5 ms per thousand needles).
REBUILD_AFTER = 200


class Watch:
    """The secrets known so far, what was read, and the leaks found."""

    def __init__(self) -> None:
        self.needles: dict[str, str] = {}  # what to look for -> what it is
        self.order: list[str] = []
        self.checked: dict[tuple[int, str], int] = {}  # text digest -> needles checked
        self.leaky: dict[tuple[int, str], list[str]] = {}  # text digest -> what it leaks
        self.leaks: list[str] = []
        self.test = "(outside a test)"
        self.counts = {"answers": 0, "served answers": 0, "log records": 0, "files": 0,
                       "PostgreSQL databases": 0}
        self.apps: weakref.WeakSet[Flask] = weakref.WeakSet()
        self.fuzzing = threading.local()  # in a fuzzer's request: learn no key from it
        self.summary = ""
        self.fernet_keys: set[str] = set()  # to open the databases at the end
        self.unread: list[Recorded] = []  # in-process answers not yet read to their end
        self.served: dict[Path, int] = {}  # a gunicorn's answers file -> bytes read
        self.sent_keys: dict[Path, int] = {}  # a gunicorn's received keys -> bytes read
        # digest -> (where, text, the secrets allowed in it)
        self.kept: dict[tuple[int, str], tuple[str, str, frozenset[str]]] = {}
        self.answer = threading.local()  # `made`: the client tokens this request made
        self.kept_bytes = 0
        self.api_tokens: set[str] = set()  # allowed where ADR 0006 says the token lives
        # An automaton of the first `built` needles: one tuple, replaced whole, so that a
        # thread scanning a log record never meets one half built.
        self.search: tuple[ahocorasick.Automaton | None, int] = (None, 0)

    def add(self, secret: Any, what: str, masked_tail: bool = False,
            api_token: bool = False) -> None:
        if not isinstance(secret, str) or getattr(self.fuzzing, "on", False):
            return
        if api_token:
            self.api_tokens.add(secret)
        needle = secret[:-4] if masked_tail and len(secret) >= 12 else secret
        if len(set(needle)) >= MIN_DISTINCT and needle not in self.needles:
            self.needles[needle] = what
            self.order.append(needle)

    def found_in(self, text: str, start: int = 0) -> list[str]:
        """The needles learnt from the `start`-th on that `text` holds, in the order they
        were learnt. One pass of an Aho-Corasick automaton finds them all: the end of the
        session reads tens of megabytes for thousands of needles."""
        automaton, built = self.search
        order = self.order[:]
        if len(order) - built > REBUILD_AFTER:
            automaton, built = ahocorasick.Automaton(), len(order)
            for index, needle in enumerate(order):
                automaton.add_word(needle, index)
            automaton.make_automaton()
            self.search = automaton, built
        found = {index for _, index in automaton.iter(text) if index >= start} \
            if automaton is not None and start < built else set()
        found.update(index for index in range(max(start, built), len(order))
                     if order[index] in text)
        return [order[index] for index in sorted(found)]

    def scan(self, where: str, text: str, tokens: bool = True, keep: bool = False,
             api_tokens_allowed: bool = False, allowed: frozenset[str] = frozenset()) -> None:
        """Look for every needle not yet looked for in this very text (answers repeat).
        A kept text is read again at the end, for the needles learnt after it.
        api_tokens_allowed: a place where ADR 0006 keeps the API token (the extension's
        storage): every other secret is still looked for. allowed: secrets this text may
        hold (the client token in the answer that made it)."""
        digest = (len(text), hashlib.blake2b(text.encode(errors="replace"),
                                             digest_size=16).hexdigest())
        start = self.checked.get(digest, 0)
        if keep and start == 0 and self.kept_bytes + len(text) <= MAX_KEPT:
            self.kept[digest] = (f"{where}, in {self.test}", text, allowed)
            self.kept_bytes += len(text)
        found = list(self.leaky.get(digest, ()))  # a leak seen before, seen again here
        if start == 0 and tokens and FERNET_TOKEN.search(text):
            found.append("a Fernet token")
        found += [self.needles[needle] for needle in self.found_in(text, start)
                  if not (api_tokens_allowed and needle in self.api_tokens)
                  and needle not in allowed]
        if found:
            self.leaky[digest] = list(dict.fromkeys(found))
            self.leaks += [f"{self.test}: {what} in {where}" for what in self.leaky[digest]]
        self.checked[digest] = len(self.order)

    def rescan_kept(self) -> None:
        """The answers and log records read so far, for the needles learnt since."""
        for digest, (where, kept, allowed) in self.kept.items():
            start = self.checked.get(digest, 0)
            text = LOGIN_LINK_LINE.sub("(the login link)", kept)
            self.leaks += [f"{self.test}: {self.needles[needle]} in {where}"
                           for needle in self.found_in(text, start) if needle not in allowed]
            self.checked[digest] = len(self.order)

    def read_unread(self) -> None:
        """The in-process answers a test did not read to their end: read the rest now."""
        while self.unread:
            self.unread.pop().drain()

    def watch_server(self, answers: Path, sent_keys: Path) -> None:
        """A gunicorn's recording files (tests/served_answers.py), read after each test."""
        self.served.setdefault(answers, 0)
        self.sent_keys.setdefault(sent_keys, 0)

    def read_servers(self) -> None:
        """Learn the keys the servers received, then read what they sent since last time."""
        for path, offset in self.sent_keys.items():
            data = _read_from(path, offset)
            self.sent_keys[path] = offset + len(data)
            for line in data.decode(errors="replace").splitlines():
                try:
                    self.add(json.loads(line), "an API key sent to a server",
                             masked_tail=True)
                except ValueError:
                    continue
        for path, offset in self.served.items():
            data = _read_from(path, offset)
            self.served[path] = offset + len(data)
            if data:
                self.counts["served answers"] += data.count(b"\n--- answer ---\n")
                self.scan(f"the answers of the server in {path.parent.name}",
                          data.decode(errors="replace"))

    def register_app(self, app: Flask) -> None:
        if app in self.apps:
            return
        self.apps.add(app)
        parts = app.extensions.get("configapp")
        if parts is None:
            return
        for value in parts.settings.provider_env.values():
            self.add(value, "a provider key from the environment", masked_tail=True)
        self.add(parts.settings.security.api_token, "the API token", api_token=True)

    def register_request(self, environ: dict[str, Any]) -> None:
        """The `api_key` of a JSON body, before the app sees it (a refused key counts)."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return
        if not 0 < length <= MAX_READ_BODY or "json" not in environ.get("CONTENT_TYPE", ""):
            return
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # the app answers those; no key to learn
            return
        if isinstance(data, dict):
            self.add(data.get("api_key"), "an API key sent to the app", masked_tail=True)


def _read_from(path: Path, offset: int) -> bytes:
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            return handle.read()
    except FileNotFoundError:
        return b""


class Recorded:
    """An answer's body, passed through as it is read; scanned when it ends, is closed, or
    is drained at the end of the test that left it unread."""

    def __init__(self, body: Iterable[bytes], done: Callable[[str], None]) -> None:
        self.body = body
        self.done = done
        self.parts: list[bytes] | None = []
        self.reading: Iterator[bytes] | None = None
        self.lock = threading.Lock()

    def __iter__(self) -> Iterator[bytes]:
        if self.reading is None:
            self.reading = self._read()
        return self.reading

    def _read(self) -> Iterator[bytes]:
        for part in self.body:
            if self.parts is not None:
                self.parts.append(part)
            yield part
        self.finish()

    def drain(self) -> None:
        """Read what is left of the body (a stream the test stopped reading included)."""
        if self.parts is None or not self.lock.acquire(blocking=False):
            return
        try:
            for _part in self:
                if self.parts is None or sum(map(len, self.parts)) > MAX_READ_BODY:
                    break
        except ValueError:  # being read by another thread right now
            return
        except Exception as error:  # the app's own failure; what it sent is read
            if self.parts is not None:
                self.parts.append(f"\n(ended by {type(error).__name__})".encode())
        finally:
            self.lock.release()
        self.close()

    def finish(self) -> None:
        if self.parts is not None:
            self.done(b"".join(self.parts).decode(errors="replace"))
            self.parts = None

    def close(self) -> None:
        self.finish()
        close = getattr(self.body, "close", None)
        if close is not None:
            close()


class ScanningHandler(logging.Handler):
    def __init__(self, watch: Watch) -> None:
        super().__init__(logging.NOTSET)
        self.watch = watch

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.watch.counts["log records"] += 1
        self.watch.scan(f"a log record of {record.name}", text, keep=True)


WATCH = Watch()


def install(watch: Watch, monkeypatch: pytest.MonkeyPatch) -> None:
    """Wrap the app's WSGI entry and the two places secrets pass; add the log handler."""
    serve = Flask.__call__

    def watched(app: Flask, environ: dict[str, Any], start_response: Any) -> Any:
        watch.register_app(app)
        watch.fuzzing.on = environ.get("HTTP_USER_AGENT", "").startswith("schemathesis/")
        watch.register_request(environ)
        where = f"the answer to {environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"

        def start(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            watch.scan(f"{where} (headers)", f"{status}\n{headers}")
            return start_response(status, headers, *exc_info)

        watch.counts["answers"] += 1
        made: set[str] = set()
        watch.answer.made = made
        try:
            body = serve(app, environ, start)
        finally:
            watch.fuzzing.on = False
            watch.answer.made = None
        recorded = Recorded(body, lambda text: watch.scan(where, text, keep=True,
                                                          allowed=frozenset(made)))
        watch.unread.append(recorded)
        return recorded

    seal = SealedKey.to_plaintext

    def sealed(self: SealedKey) -> str:
        watch.add(self.api_key, "an API key the app stored", masked_tail=True)
        return seal(self)

    make_client = ClientService.create

    def made_client(self: ClientService, *args: Any, **kwargs: Any) -> Any:
        client, token = make_client(self, *args, **kwargs)
        made = getattr(watch.answer, "made", None)
        if made is not None:  # in a request: its answer may show it, no other
            made.add(token)
        watch.add(token, "a client token")
        return client, token

    build = FernetEncryption.__init__

    def built(self: FernetEncryption, keys: Any) -> None:
        for key in keys:
            watch.add(key, "an encryption key")
            if isinstance(key, str):
                watch.fernet_keys.add(key)
        build(self, keys)

    monkeypatch.setattr(Flask, "__call__", watched)
    monkeypatch.setattr(SealedKey, "to_plaintext", sealed)
    monkeypatch.setattr(FernetEncryption, "__init__", built)
    monkeypatch.setattr(ClientService, "create", made_client)
    watch.add(CANARY_KEY, "the canary key", masked_tail=True)
    watch.add(TEST_API_TOKEN, "the suite's API token", api_token=True)


def open_rows(database: Path, watch: Watch) -> None:
    """Learn the keys a database holds, with the key files next to it."""
    folder = database.parent
    keys = [path.read_text().strip() for path in folder.glob(".encryption_key*")
            if path.is_file() and not path.name.endswith((".lock", ".tmp"))]
    for key in keys:
        watch.add(key, f"the key of {folder.name}/{database.name}")
    try:
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        tokens = [row[0] for row in connection.execute("SELECT encrypted_key FROM api_keys")]
        connection.close()
    except sqlite3.Error:
        return
    learn_tokens(tokens, [*keys, *watch.fernet_keys], f"{folder.name}/{database.name}", watch)


@functools.cache
def cipher_of(key: str) -> FernetEncryption | None:
    """One cipher per Fernet key for the whole session (thousands of databases are opened
    with thousands of keys), or None for a string that is not one."""
    try:
        return FernetEncryption([key])
    except InvalidEncryptionKeyError:
        return None


def learn_tokens(tokens: Iterable[str], keys: Iterable[str], where: str,
                 watch: Watch) -> None:
    """The API keys that these tokens hold, opened with any of these Fernet keys (tried in
    this order: a database's own key files first)."""
    ciphers = [cipher for key in dict.fromkeys(keys) if (cipher := cipher_of(key))]
    for token in tokens:
        for cipher in ciphers:
            try:
                watch.add(SealedKey.from_plaintext(cipher.decrypt(token)).api_key,
                          f"an API key stored in {where}", masked_tail=True)
                break
            except (InvalidEncryptionKeyError, ValueError, KeyError, TypeError):
                continue


def postgres_databases(server_url: str) -> list[str]:
    """The databases to read: under pytest-xdist, the ones this worker made (each worker
    reads its own, with the secrets it knows) and `postgres`; otherwise every one."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return ["postgres", *CREATED_DATABASES]
    engine = create_engine(server_url)
    try:
        with engine.connect() as connection:
            return list(connection.scalars(text(
                "SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY datname")))
    finally:
        engine.dispose()


TABLES = """SELECT table_schema, table_name, array_agg(column_name::text ORDER BY ordinal_position)
FROM information_schema.columns
WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
GROUP BY table_schema, table_name"""


# What else of a database a pg_dump would show that could hold text: column defaults,
# comments, function bodies and views (FirstNormalObjectId, 16384: not the system's own).
DEFINITIONS = """SELECT column_default FROM information_schema.columns
WHERE column_default IS NOT NULL AND table_schema NOT IN ('pg_catalog', 'information_schema')
UNION ALL SELECT description FROM pg_description WHERE objoid >= 16384
UNION ALL SELECT prosrc FROM pg_proc WHERE oid >= 16384
UNION ALL SELECT definition FROM pg_views
WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"""


def read_postgres(url: URL, database: str) -> str:
    """Every value of every row of every table of `database`, cast to text one by one (a
    dump's text, without the escaping of its COPY lines), a line per row; then its
    DEFINITIONS. One connection and a query per table: a tenth of a pg_dump process."""
    host = url.query.get("host") or url.host
    with psycopg.connect(host=host if isinstance(host, str) else host[0],
                         port=url.port or 5432, user=url.username or "postgres",
                         password=url.password or "", dbname=database) as connection:
        rows = []
        for schema, table, columns in connection.execute(TABLES).fetchall():
            values = sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(column))
                                        for column in columns)
            query = sql.SQL("SELECT {} FROM {}").format(values, sql.Identifier(schema, table))
            rows += [" ".join(value or "" for value in row)
                     for row in connection.execute(query)]
        rows += [text for (text,) in connection.execute(DEFINITIONS)]
    return "\n".join(rows)


def scan_postgres(server_url: str, watch: Watch) -> None:
    """The test server's databases, read four at a time: the keys their tokens hold are
    learnt (opened with every Fernet key the suite used), then each one's rows are read;
    and the server's own log."""
    url = make_url(server_url)

    def read(database: str) -> tuple[str, str | Exception]:
        try:
            return database, read_postgres(url, database)
        except psycopg.Error as error:
            return database, error

    with ThreadPoolExecutor(max_workers=4) as pool:
        contents = list(pool.map(read, postgres_databases(server_url)))
    for database, rows in contents:
        if isinstance(rows, Exception):
            watch.leaks.append(f"(end of session): reading {database} failed: {rows}")
            continue
        # The fuzzer's keys are not learnt (see the module's doc).
        if not database.startswith(FUZZ_DATABASE_PREFIX):
            tokens = set(re.findall(FERNET_TOKEN.pattern + "={0,2}", rows))
            learn_tokens(tokens, watch.fernet_keys, "PostgreSQL", watch)
        watch.counts["PostgreSQL databases"] += 1
        watch.scan(f"the rows of the PostgreSQL database {database}", rows, tokens=False)
    host = url.query.get("host") or url.host or ""
    server_log = Path(host if isinstance(host, str) else host[0]) / "server.log"
    if server_log.is_absolute() and server_log.is_file():
        watch.counts["files"] += 1
        watch.scan("the PostgreSQL server's log", server_log.read_text(errors="replace"))


def scan_files(root: Path, watch: Watch) -> dict[str, float]:
    """The logs, backups and SQLite files under the session's temporary folder, the PostgreSQL
    databases, and again every answer and log record, for the secrets learnt since. Returns
    the seconds each part took (the end of the session is on the suite's critical path)."""
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(part: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[part] = round(now - clock, 1)
        clock = now

    watch.test = "(end of session)"
    watch.read_unread()
    watch.read_servers()
    lap("answers")
    databases = sorted(root.rglob("*.db"))
    for database in databases:
        open_rows(database, watch)
    lap("SQLite keys")
    server_url = os.environ.get("CONFIGAPP_TEST_DATABASE_URL")
    if server_url:
        scan_postgres(server_url, watch)
    lap("PostgreSQL")
    watch.rescan_kept()
    lap("kept texts")
    for path in sorted(root.rglob("*.log")) + sorted(root.rglob("*.configapp-backup")):
        watch.counts["files"] += 1
        text = LOGIN_LINK_LINE.sub("(the login link)", path.read_bytes().decode(errors="replace"))
        watch.scan(str(path.relative_to(root)), text,
                   api_tokens_allowed=EXTENSION_STORAGE in path.parts)
    lap("logs")
    for path in databases + sorted(root.rglob("*.db-wal")):
        watch.counts["files"] += 1
        # Tokens are what a database holds by design; plaintext and keys are not.
        watch.scan(str(path.relative_to(root)), path.read_bytes().decode("latin-1"),
                   tokens=False)
    lap("SQLite files")
    return seconds


UNDO = pytest.MonkeyPatch()
HANDLER = ScanningHandler(WATCH)


def pytest_configure(config: pytest.Config) -> None:
    """Watch from the start (the fuzz module builds its apps while being collected)."""
    install(WATCH, UNDO)
    logging.getLogger("configapp").setLevel(logging.DEBUG)
    logging.getLogger().addHandler(HANDLER)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """The answers the test left unread, read before its fixtures (the app) go away."""
    try:
        return (yield)
    finally:
        WATCH.read_unread()


def summary(figures: dict[str, int], workers: int = 0) -> str:
    return (f"secret watch{f' ({workers} workers)' if workers else ''}: {figures['answers']} "
            f"answers in process, {figures['served answers']} served by gunicorn, "
            f"{figures['log records']} log records, {figures['files']} files and "
            f"{figures['PostgreSQL databases']} PostgreSQL databases read for {figures['secrets']} "
            f"secrets and any Fernet token; {figures['leaks']} leaks")


# Under pytest-xdist each worker watches its own tests, files and servers (and dumps the
# whole PostgreSQL server); the controller adds up their figures.
WORKERS_FIGURES: list[dict[str, int]] = []


WORKERS_SECONDS: list[dict[str, float]] = []


def end_timings(runs: list[dict[str, float]]) -> str:
    return "secret watch, end of session: " + "; ".join(
        f"{sum(seconds.values()):.1f} s (" + ", ".join(f"{part} {value}"
                                                     for part, value in seconds.items()) + ")"
        for seconds in runs)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    output = getattr(node, "workeroutput", {})
    if output.get("secret watch") is not None:
        WORKERS_FIGURES.append(output["secret watch"])
        WORKERS_SECONDS.append(output["secret watch seconds"])


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if WORKERS_FIGURES:
        total = {name: sum(figures[name] for figures in WORKERS_FIGURES)
                 for name in WORKERS_FIGURES[0]}
        terminalreporter.write_line(summary(total, len(WORKERS_FIGURES)))
        terminalreporter.write_line(end_timings(WORKERS_SECONDS))
    elif WATCH.summary:
        terminalreporter.write_line(WATCH.summary)


def pytest_unconfigure(config: pytest.Config) -> None:
    logging.getLogger().removeHandler(HANDLER)
    logging.getLogger("configapp").setLevel(logging.NOTSET)
    UNDO.undo()


@pytest.fixture(scope="session", autouse=True)
def _secret_watch_session(tmp_path_factory: pytest.TempPathFactory,
                          pytestconfig: pytest.Config) -> Iterator[Watch]:
    """After the last test: the files, and the figures."""
    yield WATCH
    before = len(WATCH.leaks)
    seconds = scan_files(tmp_path_factory.getbasetemp(), WATCH)
    figures = {**WATCH.counts, "secrets": len(WATCH.order), "leaks": len(WATCH.leaks)}
    WATCH.summary = summary(figures) + "\n" + end_timings([seconds])
    worker_output = getattr(pytestconfig, "workeroutput", None)  # under pytest-xdist
    if worker_output is not None:
        worker_output["secret watch"] = figures
        worker_output["secret watch seconds"] = seconds
    found = WATCH.leaks[before:]
    assert not found, "secrets found in files:\n" + "\n".join(found[:50])


@pytest.fixture(autouse=True)
def _no_secret_leaks(_secret_watch_session: Watch,
                     request: pytest.FixtureRequest) -> Iterator[None]:
    watch = _secret_watch_session
    watch.test = request.node.nodeid
    before = len(watch.leaks)
    yield
    watch.read_unread()
    watch.read_servers()
    found = watch.leaks[before:]
    watch.test = "(between tests)"
    assert not found, "secrets where none may be:\n" + "\n".join(found[:20])
