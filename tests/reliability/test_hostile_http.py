"""Hostile requests over real HTTP, through gunicorn: what the test client cannot send.

Chunked bodies (no Content-Length), cut-off bodies, foreign Host headers, a request line
too long for gunicorn. Each is refused with a 4xx and leaves the database as it was; the
server log has no traceback.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from tests.e2e.harness import Server

SELECT = "/api/config/models/openai/gpt-4o-mini/select"
KEYS = "/api/config/api-keys"


@dataclass(frozen=True)
class Raw:
    status: int
    content_type: str
    body: bytes


def send(server: Server, head: str, body: bytes = b"", half_close: bool = False) -> Raw:
    """Write the request as given, byte for byte; read the whole answer."""
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as connection:
        connection.sendall(head.encode("latin-1") + b"\r\n" + body)
        if half_close:
            connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    header, _, content = answer.partition(b"\r\n\r\n")
    lines = header.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return Raw(int(lines[0].split()[1]), fields.get("Content-Type", ""), content)


def head(server: Server, method: str, path: str, *headers: str,
         host: str | None = None) -> str:
    """The request's head, with the server's API token (the refusals tested are others)."""
    host = host or urlsplit(server.url).netloc
    return "\r\n".join([f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close",
                        f"Authorization: Bearer {server.token}", *headers, ""])


def chunked(*pieces: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from tests.e2e.harness import start_server

    started = start_server(tmp_path_factory.mktemp("hostile"), {"CONFIGAPP_WORKERS": "2"})
    yield started
    started.stop()


@pytest.fixture
def unchanged(server: Server) -> Iterator[None]:
    """The test's requests leave the settings and the log as they were."""
    before, tracebacks = server.api("GET", "/api/config/sync"), server.log().count("Traceback")
    yield
    assert server.api("GET", "/api/config/sync") == before
    assert server.log().count("Traceback") == tracebacks


@pytest.mark.parametrize("host", ["attacker.example", "0.0.0.0", "127.0.0.1.nip.io",
                                  "127.0.0.1.nip.io:8000"])
@pytest.mark.usefixtures("unchanged")
def test_foreign_host_headers_are_refused(server, host):
    for method, path in [("GET", "/api/config/sync"), ("POST", SELECT), ("GET", "/")]:
        answer = send(server, head(server, method, path, "Content-Length: 0", host=host))
        assert (answer.status, answer.content_type) == (400, "application/json"), path


@pytest.mark.usefixtures("unchanged")
def test_a_foreign_origin_is_refused(server):
    answer = send(server, head(server, "POST", SELECT, "Origin: http://attacker.example",
                               "Content-Length: 0"))
    assert answer.status == 403


@pytest.mark.usefixtures("unchanged")
def test_a_chunked_text_plain_body_is_refused(server):
    answer = send(server, head(server, "POST", SELECT, "Content-Type: text/plain",
                               "Transfer-Encoding: chunked"), chunked(b"hello"))
    assert (answer.status, answer.content_type) == (415, "application/json")


@pytest.mark.usefixtures("unchanged")
def test_a_malformed_chunked_body_is_a_400(server):
    body = b'{"provider": "openai", "api_key": "sk-chunk-00001234"}'
    answer = send(server, head(server, "POST", KEYS, "Content-Type: application/json",
                               "Transfer-Encoding: chunked"),
                  b"%x\r\n%s\n0\r\n\r\n" % (len(body), body))  # "\n": no chunk terminator
    assert (answer.status, answer.content_type) == (400, "application/json")
    assert b"could not be read" in answer.body  # says why


@pytest.mark.usefixtures("unchanged")
def test_a_body_cut_short_is_a_400(server):
    answer = send(server, head(server, "POST", KEYS, "Content-Type: application/json",
                               "Content-Length: 100"), b'{"provider": "op', half_close=True)
    assert (answer.status, answer.content_type) == (400, "application/json")


BIG = b'{"key_name": "' + b"x" * (2 * 1024 * 1024) + b'"}'


@pytest.mark.usefixtures("unchanged")
def test_an_oversized_body_is_a_413(server):
    answer = send(server, head(server, "POST", KEYS, "Content-Type: application/json",
                               f"Content-Length: {len(BIG)}"), BIG)
    assert (answer.status, answer.content_type) == (413, "application/json")


@pytest.mark.usefixtures("unchanged")
def test_an_oversized_chunked_body_is_a_413_too(server):
    answer = send(server, head(server, "POST", KEYS, "Content-Type: application/json",
                               "Transfer-Encoding: chunked"),
                  chunked(*[BIG[i:i + 65536] for i in range(0, len(BIG), 65536)]))
    assert (answer.status, answer.content_type) == (413, "application/json")


@pytest.mark.usefixtures("unchanged")
def test_gunicorn_refuses_a_request_line_too_long_before_the_app(server):
    """gunicorn's own refusal (HTML, not the API's JSON shape): it never reaches the app."""
    answer = send(server, head(server, "POST", "/api/config/models/" + "x" * 5000 + "/select"))
    assert answer.status == 414


def test_a_chunked_json_body_is_read_like_any_other(server):
    body = b'{"provider": "openai", "api_key": "sk-chunk-00001234", "key_name": "chunked"}'
    answer = send(server, head(server, "POST", KEYS, "Content-Type: application/json",
                               "Transfer-Encoding: chunked"), chunked(body[:20], body[20:]))
    assert answer.status == 201
    assert b'"key_name":"chunked"' in answer.body
