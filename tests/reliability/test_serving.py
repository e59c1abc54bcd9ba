"""Many chats at once through a real gunicorn (gunicorn.conf.py, one worker): streams do not
freeze the app, a client that leaves ends the provider request, a silent provider trips the
idle timeout, a long answer is not cut, and slow clients cannot take every thread.

No timing is asserted but one generous bound: each test checks an order of events (the
third request is answered while both streams are still in flight, the stand-in sees the
close before its stream's end) that the old serving model (sync workers) could not
produce; and /healthz answers within 2 s while forty clients send their heads a byte at a
time (it took 14 s when their heads were read on the threads).
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest

from tests.e2e.harness import Server, start_server
from tests.provider_stub import ProviderStub
from tests.provider_stub.fixtures import KEYS, MODELS

MODEL = MODELS["openai"]


@pytest.fixture
def serve(tmp_path_factory: pytest.TempPathFactory, stopping_servers: list[Server],
          shared_server: Callable[..., Server],
          stub: ProviderStub) -> Iterator[Callable[..., Server]]:
    """serve(**env) -> gunicorn with one worker (the default), an OpenAI key on the
    stand-in and its model selected. With no settings of the test's own, the session's
    shared one (tests/e2e/shared_servers.py: its data put back after the test)."""
    started: list[Server] = []

    def start(**env: str) -> Server:
        if env:
            server = start_server(tmp_path_factory.mktemp("serving"),
                                  {"CONFIGAPP_WORKERS": "1", **env})
            started.append(server)
        else:
            server = shared_server({"CONFIGAPP_WORKERS": "1"})
        status, _ = server.api("POST", "/api/config/api-keys", {
            "provider": "openai", "api_key": KEYS["openai"], "api_base": stub.base("openai")})
        assert status == 201
        assert server.api("POST", f"/api/config/models/{MODEL}/select")[0] == 200
        warm_up(server)
        return server

    yield start
    for server in started:
        server.stop(wait=False)
        stopping_servers.append(server)


def warm_up(server: Server) -> None:
    """One chat, so that the worker has imported litellm (seconds, more on a busy machine)
    before a test's own streams start."""
    connection = http.client.HTTPConnection(*address(server), timeout=300)
    try:
        connection.request("POST", "/api/chat", json.dumps({
            "messages": [{"role": "user", "content": "Hello"}]}), headers(server))
        assert connection.getresponse().status == 200
    finally:
        connection.close()


def headers(server: Server) -> dict[str, str]:
    """A JSON body's, with the server's API token."""
    found = {"Content-Type": "application/json"}
    if server.token:
        found["Authorization"] = f"Bearer {server.token}"
    return found


def address(server: Server) -> tuple[str, int]:
    parts = urlsplit(server.url)
    return parts.hostname or "127.0.0.1", parts.port or 80


@dataclass
class Stream:
    """A chat stream read in a thread: its events as they come."""

    server: Server
    events: list[tuple[str, dict]] = field(default_factory=list)
    first_delta: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    connection: http.client.HTTPConnection | None = None
    refusal: str | None = None

    def start(self) -> Stream:
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        host, port = address(self.server)
        self.connection = http.client.HTTPConnection(host, port, timeout=60)
        try:
            self.connection.request("POST", "/api/chat", json.dumps({
                "messages": [{"role": "user", "content": "Tell a long story"}],
                "stream": True}), headers(self.server))
            response = self.connection.getresponse()
            if response.status != 200:
                self.refusal = f"{response.status} {response.read()!r}"
                return
            name = None
            for raw in response:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: ") and name:
                    self.events.append((name, json.loads(line[6:])))
                    if name == "delta":
                        self.first_delta.set()
        except (OSError, ValueError, AttributeError):
            pass  # the test hung up (http.client then fails in one of these ways)
        finally:
            self.done.set()

    def hang_up(self) -> None:
        assert self.connection is not None and self.connection.sock is not None
        self.connection.sock.shutdown(socket.SHUT_RDWR)
        self.connection.close()

    def text(self) -> str:
        return "".join(data["content"] for name, data in self.events if name == "delta")


def wait_until(condition: Callable[[], bool], seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_two_streams_in_flight_leave_the_app_answering(serve, stub):
    server = serve()
    stub.pace(pieces=300, interval=0.1)  # 30 s each
    streams = [Stream(server).start() for _ in range(2)]
    assert all(stream.first_delta.wait(60) for stream in streams), streams[0].refusal
    for path in ("/healthz", "/api/config/sync", "/api/config/models?configured=true"):
        assert server.api("GET", path)[0] == 200
        assert not any(stream.done.is_set() for stream in streams), path
    assert stub.ends() == []
    for stream in streams:
        stream.hang_up()
    assert wait_until(lambda: stub.ends() == ["closed", "closed"])


def test_a_client_that_leaves_mid_stream_ends_the_provider_request(serve, stub):
    server = serve()
    stub.pace(pieces=300, interval=0.1)  # 30 s
    stream = Stream(server).start()
    assert stream.first_delta.wait(60), stream.refusal
    stream.hang_up()
    assert wait_until(lambda: stub.ends() != [], 20), "the provider request goes on"
    assert stub.ends() == ["closed"]


def test_a_client_that_leaves_while_the_provider_is_silent_ends_it_at_once(serve, stub):
    server = serve()
    stub.pace(pieces=10, interval=0.05, pause_after=2, pause=60)  # thinking for a minute
    stream = Stream(server).start()
    assert stream.first_delta.wait(60), stream.refusal
    stream.hang_up()
    assert wait_until(lambda: stub.ends() != [], 20), "the provider request goes on"
    assert stub.ends() == ["closed"]


def test_a_silent_provider_trips_the_idle_timeout_with_an_error_event(serve, stub):
    server = serve(CONFIGAPP_PROVIDER_TIMEOUT="1")
    stub.pace(pieces=10, interval=0.05, pause_after=4, pause=30)
    stream = Stream(server).start()
    assert stream.done.wait(30)
    name, error = stream.events[-1]
    assert name == "error" and error["code"] == 504
    assert "sent nothing for 1 s" in error["message"]
    assert stream.text().startswith("w0 w1 w2")


def test_a_stream_longer_than_every_timeout_is_not_cut(serve, stub):
    # 4 s of answer: four times the provider timeout (an idle one) and twice gunicorn's.
    server = serve(CONFIGAPP_PROVIDER_TIMEOUT="1", GUNICORN_CMD_ARGS="--timeout 2")
    stub.pace(pieces=40, interval=0.1)
    stream = Stream(server).start()
    assert stream.done.wait(60)
    assert stream.events[-1][0] == "done", stream.events[-1]
    assert stream.text() == "".join(f"w{n} " for n in range(40))
    assert stub.ends() == ["complete"]


def trickle(server: Server, stop: threading.Event, cut: list[str],
            sending: list[str] | None = None) -> None:
    """A client sending its request head a byte every 0.2 s, never finishing it; in
    `sending` once its first two bytes are sent (a thread of the server reads it)."""
    with socket.create_connection(address(server), timeout=30) as connection:
        head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 1000
        for number, byte in enumerate(head):
            if stop.is_set():
                return
            try:
                connection.sendall(bytes([byte]))
            except OSError:
                cut.append("cut")
                return
            if number == 1 and sending is not None:
                sending.append("sending")
            time.sleep(0.2)


def test_idle_and_slow_clients_cannot_take_every_thread(serve):
    server = serve(CONFIGAPP_THREADS="4", CONFIGAPP_REQUEST_TIMEOUT="2")
    idle = [socket.create_connection(address(server)) for _ in range(8)]
    stop, cut, sending = threading.Event(), [], []
    slow = [threading.Thread(target=trickle, args=(server, stop, cut, sending), daemon=True)
            for _ in range(4)]
    try:
        for thread in slow:
            thread.start()
        assert wait_until(lambda: len(sending) == 4)  # as many slow clients as threads
        assert server.api("GET", "/healthz")[0] == 200
        assert cut == [], "answered only once the slow clients were cut"
        assert wait_until(lambda: len(cut) == 4), "slow clients keep their threads"
    finally:
        stop.set()
        for connection in idle:
            connection.close()
    assert "Traceback" not in server.log()


SLOW_HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 1000
POST = "POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" \
       "Content-Length: {}\r\n\r\n"
SLOW_CLIENTS = {
    # what is sent at once, then a byte every 0.1 s, never finishing; the answer expected
    "a head": (b"", SLOW_HEAD, b"HTTP/1.1 408"),
    "a small body, on a route open to all": (
        POST.format("/login", 2000).encode(), b"{" * 2000, b"HTTP/1.1 408"),
    "a large body, not signed in": (
        POST.format("/api/config/api-keys", 1_000_000).encode(), b"{" * 2000,
        b"HTTP/1.1 401"),
    # a whole head, so it goes to a thread, which waits for the body: up to the deadline
    "a chunked head on a route open to all, then silence": (
        b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n", b"", b"HTTP/1.1 400"),
}
REQUEST_SECONDS = 1  # CONFIGAPP_REQUEST_TIMEOUT: the body's deadline on the thread


def send_slowly(server: Server, at_once: bytes, slowly: bytes,
                answers: list[tuple[float, bytes]]) -> None:
    """A client sending `at_once`, then `slowly` a byte every 0.1 s, then nothing; it notes
    when and how the server ended it: (seconds after connecting, the answer's first
    bytes)."""
    with socket.create_connection(address(server), timeout=30) as connection:
        opened = time.monotonic()
        connection.sendall(at_once)
        for byte in [*slowly, None]:
            try:
                if byte is not None:
                    connection.sendall(bytes([byte]))
                wait = 0.1 if byte is not None else 20
                readable, _, _ = select.select([connection], [], [], wait)
                answer = connection.recv(64) if readable else None
            except OSError:
                answer = b""
            if answer is not None:
                answers.append((time.monotonic() - opened, answer))
                return


def healthz_seconds(server: Server) -> float:
    started = time.monotonic()
    connection = http.client.HTTPConnection(*address(server), timeout=60)
    try:
        connection.request("GET", "/healthz")
        assert connection.getresponse().status == 200
    finally:
        connection.close()
    return time.monotonic() - started


@pytest.mark.parametrize("kind", list(SLOW_CLIENTS))
def test_forty_clients_sending_a_byte_at_a_time_do_not_delay_healthz(
        tmp_path_factory, stopping_servers, kind):
    """More slow clients than threads (32), not signed in. A head and a small body wait in
    the worker's poller, not on threads: the oldest make room past
    CONFIGAPP_HEAD_CONNECTIONS, the rest are answered 408 at CONFIGAPP_HEAD_TIMEOUT. A
    large body is not waited for before the sign-in: a 401 at once. A whole head whose
    body never comes holds a thread until CONFIGAPP_REQUEST_TIMEOUT, then a 400: forty of
    them delay /healthz by that deadline at most (they held every thread forever when the
    deadline did not cover the first read from the socket)."""
    at_once, slowly, expected = SLOW_CLIENTS[kind]
    server = start_server(tmp_path_factory.mktemp("slow-clients"), {
        "CONFIGAPP_WORKERS": "1", "CONFIGAPP_HEAD_TIMEOUT": "3",
        "CONFIGAPP_HEAD_CONNECTIONS": "25", "CONFIGAPP_REQUEST_TIMEOUT": str(REQUEST_SECONDS)})
    answers: list[tuple[float, bytes]] = []
    slow = [threading.Thread(target=send_slowly, args=(server, at_once, slowly, answers),
                             daemon=True) for _ in range(40)]
    try:
        for thread in slow:
            thread.start()
        time.sleep(1)  # every slow client has sent a few bytes
        latencies = []
        for _ in range(4):
            latencies.append(healthz_seconds(server))
            time.sleep(0.25)
        for thread in slow:
            thread.join(30)
    finally:
        server.stop(wait=False)
        stopping_servers.append(server)
    silent = not slowly
    assert max(latencies) < 2 + (REQUEST_SECONDS if silent else 0), latencies
    assert len(answers) == 40
    assert all(answer.startswith(expected) for _, answer in answers), answers
    seconds = sorted(seconds for seconds, _ in answers)
    if expected.endswith(b"401"):
        assert seconds[-1] < 2, seconds
    elif silent:  # 32 threads: the first 32 at the deadline, the other 8 one deadline later
        assert seconds[0] >= REQUEST_SECONDS and seconds[-1] < 2 * REQUEST_SECONDS + 2, seconds
    else:
        made_room = [s for s in seconds if s < 2]
        timed_out = [s for s in seconds if s >= 2]
        assert len(made_room) >= 10 and len(timed_out) >= 10, seconds
        assert timed_out[-1] < 3 + 3, seconds  # the deadline, and the loop's second
    assert "Traceback" not in server.log()
