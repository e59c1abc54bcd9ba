"""A pytest plugin that watches the whole suite for secrets where none may be.

What it reads:
- every answer of an app served in the test process (the Flask test client, schemathesis):
  status line, headers and body, streamed ones as far as the test read them;
- every log record emitted in the test process: all of configapp's (its loggers are set to
  DEBUG for the session), other libraries' at the levels in force;
- at the end of the session, under its temporary folder: every `*.log` file (the gunicorn
  servers' logs) and every SQLite database file with its WAL (the databases of every test
  that used tmp_path, the servers' included).

What it looks for:
- any Fernet token (`gAAAAA...`), in answers and logs (databases hold them by design);
- the API tokens: the suite's TEST_API_TOKEN, every app's configured one, and those that
  first starts made (tests/e2e/harness.py learns them from the login link): in a log file
  only the login link line the start printed may hold one (docs/adr/0006 lists where the
  token lives);
- every secret the suite used: API keys as the app seals them for storage or receives them
  as `api_key`, provider keys in an app's settings, the API token, every Fernet key any
  FernetEncryption was built with, the canary; at the end also the keys found by opening
  the databases with the key files next to them (the keys browser tests sent to gunicorn),
  and those key files' keys. API keys are looked for without their last four characters
  (the masked form shows those), and only secrets with at least eight distinct characters.
  Keys a fuzzer sends (schemathesis's requests) are not learnt: it puts the same strings in
  other fields too (a model id, a name), where the app rightly echoes them; the fuzz test
  looks for its own canary key.

A leak in an answer or log fails the test it happened in (at its teardown); a leak in a
file fails the session (at the teardown of its last test). Not read: output of processes
the tests read themselves (CLI runs, start_app), PostgreSQL databases, and the extension's
storage (its own end-to-end test checks that).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from configapp.adapters.fernet import FernetEncryption
from configapp.domain import InvalidEncryptionKeyError, SealedKey
from tests.conftest import CANARY_KEY, TEST_API_TOKEN

FERNET_TOKEN = re.compile(r"gAAAAA[A-Za-z0-9_-]{20,}")
# The one line where a first start (or `config token`) shows the API token, by design.
# The extension's chrome.storage.local in a Chromium profile: where ADR 0006 keeps the token.
EXTENSION_STORAGE = "Local Extension Settings"
LOGIN_LINK_LINE = re.compile(r"^ *http://\S+/login#token=\S+$", re.MULTILINE)
MIN_DISTINCT = 8
MAX_READ_BODY = 2 * 1024 * 1024


class Watch:
    """The secrets known so far, what was read, and the leaks found."""

    def __init__(self) -> None:
        self.needles: dict[str, str] = {}  # what to look for -> what it is
        self.order: list[str] = []
        self.checked: dict[tuple[int, str], int] = {}  # text digest -> needles checked
        self.leaks: list[str] = []
        self.test = "(outside a test)"
        self.counts = {"answers": 0, "log records": 0, "files": 0}
        self.apps: weakref.WeakSet[Flask] = weakref.WeakSet()
        self.fuzzing = threading.local()  # in a fuzzer's request: learn no key from it
        self.summary = ""
        self.api_tokens: set[str] = set()  # allowed where ADR 0006 says the token lives

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

    def scan(self, where: str, text: str, tokens: bool = True,
             api_tokens_allowed: bool = False) -> None:
        """Look for every needle not yet looked for in this very text (answers repeat).
        api_tokens_allowed: a place where ADR 0006 keeps the API token (the extension's
        storage): every other secret is still looked for."""
        digest = (len(text), hashlib.blake2b(text.encode(errors="replace"),
                                             digest_size=16).hexdigest())
        start = self.checked.get(digest, 0)
        if start == 0 and tokens and FERNET_TOKEN.search(text):
            self.leaks.append(f"{self.test}: a Fernet token in {where}")
        for needle in self.order[start:]:
            if api_tokens_allowed and needle in self.api_tokens:
                continue
            if needle in text:
                self.leaks.append(f"{self.test}: {self.needles[needle]} in {where}")
        self.checked[digest] = len(self.order)

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


class Recorded:
    """An answer's body, passed through as it is read; scanned when done or closed."""

    def __init__(self, body: Iterable[bytes], done: Callable[[str], None]) -> None:
        self.body = body
        self.done = done
        self.parts: list[bytes] | None = []

    def __iter__(self) -> Iterator[bytes]:
        for part in self.body:
            if self.parts is not None:
                self.parts.append(part)
            yield part
        self.finish()

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
        self.watch.scan(f"a log record of {record.name}", text)


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
        try:
            body = serve(app, environ, start)
        finally:
            watch.fuzzing.on = False
        return Recorded(body, lambda text: watch.scan(where, text))

    seal = SealedKey.to_plaintext

    def sealed(self: SealedKey) -> str:
        watch.add(self.api_key, "an API key the app stored", masked_tail=True)
        return seal(self)

    build = FernetEncryption.__init__

    def built(self: FernetEncryption, keys: Any) -> None:
        for key in keys:
            watch.add(key, "an encryption key")
        build(self, keys)

    monkeypatch.setattr(Flask, "__call__", watched)
    monkeypatch.setattr(SealedKey, "to_plaintext", sealed)
    monkeypatch.setattr(FernetEncryption, "__init__", built)
    watch.add(CANARY_KEY, "the canary key", masked_tail=True)
    watch.add(TEST_API_TOKEN, "the suite's API token", api_token=True)


def open_rows(database: Path, watch: Watch) -> None:
    """Learn the keys a database holds, with the key files next to it."""
    folder = database.parent
    keys = [path.read_text().strip() for path in folder.glob(".encryption_key*")
            if path.is_file() and not path.name.endswith((".lock", ".tmp"))]
    for key in keys:
        watch.add(key, f"the key of {folder.name}/{database.name}")
    ciphers = []
    for key in keys:
        try:
            ciphers.append(FernetEncryption([key]))
        except InvalidEncryptionKeyError:
            continue
    try:
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        tokens = [row[0] for row in connection.execute("SELECT encrypted_key FROM api_keys")]
        connection.close()
    except sqlite3.Error:
        return
    for token in tokens:
        for cipher in ciphers:
            try:
                watch.add(SealedKey.from_plaintext(cipher.decrypt(token)).api_key,
                          f"an API key stored in {database.name}", masked_tail=True)
            except (InvalidEncryptionKeyError, ValueError, KeyError, TypeError):
                continue


def scan_files(root: Path, watch: Watch) -> None:
    """The logs and SQLite files under the session's temporary folder."""
    databases = sorted(root.rglob("*.db"))
    for database in databases:
        open_rows(database, watch)
    watch.test = "(end of session)"
    for path in sorted(root.rglob("*.log")):
        watch.counts["files"] += 1
        text = LOGIN_LINK_LINE.sub("(the login link)", path.read_bytes().decode(errors="replace"))
        watch.scan(str(path.relative_to(root)), text,
                   api_tokens_allowed=EXTENSION_STORAGE in path.parts)
    for path in databases + sorted(root.rglob("*.db-wal")):
        watch.counts["files"] += 1
        # Tokens are what a database holds by design; plaintext and keys are not.
        watch.scan(str(path.relative_to(root)), path.read_bytes().decode("latin-1"),
                   tokens=False)


UNDO = pytest.MonkeyPatch()
HANDLER = ScanningHandler(WATCH)


def pytest_configure(config: pytest.Config) -> None:
    """Watch from the start (the fuzz module builds its apps while being collected)."""
    install(WATCH, UNDO)
    logging.getLogger("configapp").setLevel(logging.DEBUG)
    logging.getLogger().addHandler(HANDLER)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if WATCH.summary:
        terminalreporter.write_line(WATCH.summary)


def pytest_unconfigure(config: pytest.Config) -> None:
    logging.getLogger().removeHandler(HANDLER)
    logging.getLogger("configapp").setLevel(logging.NOTSET)
    UNDO.undo()


@pytest.fixture(scope="session", autouse=True)
def _secret_watch_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Watch]:
    """After the last test: the files, and the figures."""
    yield WATCH
    before = len(WATCH.leaks)
    scan_files(tmp_path_factory.getbasetemp(), WATCH)
    WATCH.summary = (
        f"secret watch: {WATCH.counts['answers']} answers, {WATCH.counts['log records']} "
        f"log records and {WATCH.counts['files']} files read for {len(WATCH.order)} secrets "
        f"and any Fernet token; {len(WATCH.leaks)} leaks")
    found = WATCH.leaks[before:]
    assert not found, "secrets found in files:\n" + "\n".join(found[:50])


@pytest.fixture(autouse=True)
def _no_secret_leaks(_secret_watch_session: Watch,
                     request: pytest.FixtureRequest) -> Iterator[None]:
    watch = _secret_watch_session
    watch.test = request.node.nodeid
    before = len(watch.leaks)
    yield
    found = watch.leaks[before:]
    watch.test = "(between tests)"
    assert not found, "secrets where none may be:\n" + "\n".join(found[:20])
