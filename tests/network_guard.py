"""The suite's network guard: nothing leaves the machine (docs/architecture.md, "Outbound
destinations").

In the test process: a connection to an address that is not loopback, or a lookup of a name
that is not local, from any thread or library, is refused at once and fails the test that
made it (at its teardown, naming the destination). Unix sockets, loopback (the provider
stand-in, the gunicorns under test) and IP literals given to getaddrinfo (no lookup leaves the
machine: configapp's own outbound rules refuse link-local and metadata addresses before any
connection) pass. What no test owns (an import, a thread outliving its test) fails the
session's last test.

In the servers the suite starts (tests/e2e/harness.py: server_environment): every library's
proxy variables point at a loopback recorder, loopback excepted. A library in gunicorn that
tries to reach out connects there instead, and the session fails at its end if the recorder
saw anything. It is a net under the server, not a wall: a client that ignores the proxy
variables (configapp's own provider client does, on purpose) is not seen by it.

Only Python's sockets are watched: native code that opens its own (a Rust or C library, the
browser) is not.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

LOCAL_NAMES = ("localhost", "localhost.", "ip6-localhost", "ip6-loopback")
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
NO_PROXY = "127.0.0.1,localhost,::1"


@dataclass(frozen=True)
class Attempt:
    destination: str
    thread: str

    def __str__(self) -> str:
        return f"{self.destination} (thread {self.thread})"


class Watch:
    """The attempts seen, in order; a test owns those made while it runs."""

    def __init__(self) -> None:
        self.attempts: list[Attempt] = []
        self.lock = threading.Lock()

    def note(self, destination: str) -> None:
        with self.lock:
            self.attempts.append(Attempt(destination, threading.current_thread().name))

    def since(self, mark: int) -> list[Attempt]:
        with self.lock:
            return self.attempts[mark:]

    def mark(self) -> int:
        with self.lock:
            return len(self.attempts)


WATCH = Watch()
_original = {"connect": socket.socket.connect, "connect_ex": socket.socket.connect_ex,
             "getaddrinfo": socket.getaddrinfo}


def is_local_address(host: str) -> bool:
    """Loopback (v4, v6, v4 mapped in v6) or unspecified (Linux connects it to loopback)."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host.lower() in LOCAL_NAMES
    mapped = getattr(address, "ipv4_mapped", None)
    address = mapped or address
    return address.is_loopback or address.is_unspecified


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def refused_destination(address: Any) -> str | None:
    """The destination, when a connection to `address` would leave the machine."""
    if not isinstance(address, tuple) or not address:  # a unix socket's path
        return None
    host = address[0].decode() if isinstance(address[0], bytes) else str(address[0])
    if is_local_address(host):
        return None
    port = address[1] if len(address) > 1 else "?"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _connect(self: socket.socket, address: Any) -> None:
    destination = refused_destination(address)
    if destination is not None:
        WATCH.note(destination)
        raise ConnectionRefusedError(errno.ECONNREFUSED,
                                     f"network guard: no connection to {destination}")
    return _original["connect"](self, address)


def _connect_ex(self: socket.socket, address: Any) -> int:
    destination = refused_destination(address)
    if destination is not None:
        WATCH.note(destination)
        return errno.ECONNREFUSED
    return _original["connect_ex"](self, address)


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else host
    if name is not None and not _is_ip_literal(name) and name.lower() not in LOCAL_NAMES:
        WATCH.note(f"{name} (name lookup)")
        raise socket.gaierror(socket.EAI_NONAME, f"network guard: no lookup of {name}")
    return _original["getaddrinfo"](host, *args, **kwargs)


def install() -> None:
    socket.socket.connect = _connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _getaddrinfo


def uninstall() -> None:
    socket.socket.connect = _original["connect"]  # type: ignore[method-assign]
    socket.socket.connect_ex = _original["connect_ex"]  # type: ignore[method-assign]
    socket.getaddrinfo = _original["getaddrinfo"]


class ProxyRecorder:
    """A loopback server that plays every proxy of the served apps and records each
    connection made to it (its first line: `CONNECT host:443 HTTP/1.1`, or `GET http://...`),
    answering 403."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="proxy-recorder", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.getsockname()[1]}"

    def environment(self) -> dict[str, str]:
        """Proxy variables, upper and lower case, that send everything but loopback here."""
        env = {}
        for name in PROXY_VARIABLES:
            env[name] = env[name.lower()] = self.url
        env["NO_PROXY"] = env["no_proxy"] = NO_PROXY
        return env

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            with client:
                client.settimeout(2)
                try:
                    first = client.recv(4096).split(b"\r\n", 1)[0].decode(errors="replace")
                except OSError:
                    first = ""
                with self._lock:
                    self.seen.append(first or "(a connection that sent nothing)")
                with contextlib.suppress(OSError):
                    client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")

    def connections(self) -> list[str]:
        with self._lock:
            return list(self.seen)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(2)
        self._server.close()


_recorder: ProxyRecorder | None = None
_recorder_lock = threading.Lock()


def proxy_recorder() -> ProxyRecorder:
    """The session's recorder, started on first use (by the first served test)."""
    global _recorder
    with _recorder_lock:
        if _recorder is None:
            _recorder = ProxyRecorder()
        return _recorder


def served_environment() -> dict[str, str]:
    """The variables a server the suite starts gets: its proxies are the recorder."""
    return proxy_recorder().environment()


def pytest_configure(config: pytest.Config) -> None:
    install()


def pytest_unconfigure(config: pytest.Config) -> None:
    uninstall()


@pytest.fixture(scope="session", autouse=True)
def _nothing_leaves_the_session() -> Iterator[None]:
    """What no test owns (an import before the first, a thread after the last), and what
    the servers' proxy recorder saw, fails the session's last test."""
    yield
    unowned = [a for number, a in enumerate(WATCH.since(0)) if number not in _owned]
    recorded = _recorder.connections() if _recorder is not None else []
    if _recorder is not None:
        _recorder.stop()
    problems = [f"network guard: tried to reach {a}" for a in unowned] + [
        f"network guard: a served app tried to reach out through its proxy: {line}"
        for line in recorded]
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


_owned: set[int] = set()  # the numbers of the attempts a test was failed for


@pytest.fixture(autouse=True)
def _nothing_leaves_the_test() -> Iterator[None]:
    """The attempts made while this test ran (by any thread) fail it, naming each."""
    mark = WATCH.mark()
    yield
    made = WATCH.since(mark)
    _owned.update(range(mark, mark + len(made)))
    if made:
        pytest.fail("network guard: this test tried to reach "
                    + ", ".join(dict.fromkeys(map(str, made))), pytrace=False)
