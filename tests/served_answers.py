"""What a server under test sends, recorded for the secret watch (tests/secret_watch.py).

The test harness runs gunicorn on `tests.served_answers:app`: the app named by
CONFIGAPP_TEST_APP (default `wsgi:app`, the real one) behind a WSGI middleware that
appends every answer, status, headers and the whole body, to CONFIGAPP_TEST_ANSWERS (a
`.log` file the watch reads after each test and at the end), and the `api_key` of every
JSON request to CONFIGAPP_TEST_SENT_KEYS (the secrets the watch then looks for, keys
typed in a browser included). It also appends `+` to CONFIGAPP_TEST_REQUESTS when a request
reaches the app and `-` once its answer is closed (the app's own clean-up done): a shared
server is reset only when none is in flight (tests/e2e/shared_servers.py). Test-only:
nothing in configapp/ knows of it.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

ANSWERS = "CONFIGAPP_TEST_ANSWERS"
SENT_KEYS = "CONFIGAPP_TEST_SENT_KEYS"
REQUESTS = "CONFIGAPP_TEST_REQUESTS"
APP = "CONFIGAPP_TEST_APP"
MAX_READ_BODY = 2 * 1024 * 1024
SEPARATOR = b"\n--- answer ---\n"


def append(path: str, data: bytes) -> None:
    """One write in append mode: the workers' records never interleave within one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


class ReadInput:
    """The request body as the app reads it (so nothing changes for the app): what it
    read is kept, to learn the `api_key` it was sent."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.seen = bytearray()

    def read(self, *size: int) -> bytes:
        data = self.stream.read(*size)
        self._keep(data)
        return data

    def readline(self, *size: int) -> bytes:
        data = self.stream.readline(*size)
        self._keep(data)
        return data

    def __iter__(self) -> Iterator[bytes]:
        for line in self.stream:
            self._keep(line)
            yield line

    def _keep(self, data: bytes) -> None:
        if len(self.seen) < MAX_READ_BODY:
            self.seen += data

    def sent_key(self) -> str | None:
        try:
            data = json.loads(bytes(self.seen))
        except (ValueError, RecursionError):
            return None
        key = data.get("api_key") if isinstance(data, dict) else None
        return key if isinstance(key, str) else None


class RecordedAnswer:
    """The body passed through as the server sends it, written out whole when it ends
    or is closed (a client that hung up included)."""

    def __init__(self, body: Iterable[bytes], head: list[bytes], path: str,
                 learn: Callable[[], None], ended: Callable[[], None]) -> None:
        self.body = body
        self.learn = learn
        self.ended = ended
        self.head = head  # the request line, then the status and headers once started
        self.parts: list[bytes] = []
        self.path = path
        self.written = False

    def __iter__(self) -> Iterator[bytes]:
        for part in self.body:
            self.parts.append(part)
            yield part

    def close(self) -> None:
        if not self.written:
            self.written = True
            self.learn()
            append(self.path, SEPARATOR + b"".join(self.head + self.parts))
        close = getattr(self.body, "close", None)
        try:
            if close is not None:
                close()
        finally:
            ended, self.ended = self.ended, lambda: None
            ended()


def recording(wrapped: Callable[..., Any], answers: str, sent_keys: str | None,
              requests: str | None = None) -> Any:
    def count(mark: bytes) -> None:
        if requests is not None:
            append(requests, mark)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        count(b"+")
        body = environ["wsgi.input"] = ReadInput(environ["wsgi.input"])

        def learn() -> None:
            if sent_keys is not None and (key := body.sent_key()):
                append(sent_keys, json.dumps(key).encode() + b"\n")
        head = [f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}\n".encode(
            errors="replace")]

        def start(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            lines = [status, *(f"{name}: {value}" for name, value in headers)]
            head.append(("\n".join(lines) + "\n\n").encode(errors="replace"))
            return start_response(status, headers, *exc_info)

        try:
            answer = wrapped(environ, start)
        except BaseException:
            count(b"-")
            raise
        return RecordedAnswer(answer, head, answers, learn, lambda: count(b"-"))

    app.extensions = getattr(wrapped, "extensions", {})  # gunicorn.conf.py's warm-up
    return app


def load(spec: str) -> Any:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name or "app")


def __getattr__(name: str) -> Any:
    """`app`, built when gunicorn asks for it (the harness imports only the names)."""
    if name != "app":
        raise AttributeError(name)
    built = recording(load(os.environ.get(APP, "wsgi:app")), os.environ[ANSWERS],
                      os.environ.get(SENT_KEYS), os.environ.get(REQUESTS))
    globals()["app"] = built
    return built
