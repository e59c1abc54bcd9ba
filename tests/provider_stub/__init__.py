"""A provider stand-in: a real HTTP server on 127.0.0.1 speaking the OpenAI, Anthropic,
Gemini and Azure OpenAI wire formats (models listing and chat, streaming included).

Each format lives under its own prefix, so one server plays all three; `base(format)` is
the base URL a key is saved with. Every request is recorded with its headers and the key
it carried; `behave()` makes the server fail on demand (401, 403, 429, 500, garbage, a
redirect, or hanging until the test ends). `pace()` makes streams long and slow (a piece
every so often, with an optional silence in the middle), and `stream_ends` records how
each stream ended: "complete", or "closed" when the client went away first.
`close_delimited` answers as HTTP/1.0 servers and many proxies do: no Content-Length, no
chunks, the body ends when the connection closes; with `behave("cut")` the body so ends
before the provider said it finished. `report_usage()` makes every answer report the
given token counts.
An OpenAI-format chat offered `tools` answers with a call of the first one (plain, or
streamed in pieces as OpenAI does).
`usage_in_streams = False` leaves the usage out of OpenAI-format streams even when it is
asked for, as some OpenAI-compatible providers do.

`POST /_stub/pace` (a JSON body of pace()'s arguments) and `GET /_stub/stream-ends` do
the same from another process (the benchmarks run the stand-in in its own).
"""

from __future__ import annotations

import json
import re
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from tests.provider_stub import wire

FORMATS = ("openai", "anthropic", "gemini", "azure")
BASE_PATHS = {"openai": "/openai/v1", "anthropic": "/anthropic", "gemini": "/gemini/v1beta",
              "azure": "/azure"}
GEMINI_CALL = re.compile(r"^/gemini/v1beta/models/(?P<model>[^:]+):(?P<verb>\w+)$")
# Azure: the deployment is in the path, the API version in the query, the key in `api-key`.
AZURE_CHAT = re.compile(r"^/azure/openai/deployments/(?P<deployment>[^/]+)/chat/completions$")
HANG_LIMIT_SECONDS = 60
# What a service that is no provider answers: none of it may come back to the caller.
NOT_A_PROVIDER_PAGE = "<html><h1>Admin console</h1><p>db password: hunter2-PRIVATE</p></html>"
# "stall": the number of events sent (the first piece of text included) before hanging.
STALL_AT = {"openai": 2, "anthropic": 3, "gemini": 1, "azure": 2}


@dataclass(frozen=True)
class Pace:
    """How streams are sent: `pieces` pieces of text, one every `interval` seconds, and,
    after `pause_after` pieces, a silence of `pause` seconds."""

    pieces: int
    interval: float
    pause_after: int | None = None
    pause: float = 0.0

    def parts(self) -> list[str]:
        return [f"w{number} " for number in range(self.pieces)]


@dataclass
class Received:
    """One request as the stand-in saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    key: str | None = field(repr=False)


class _QuietHandler(WSGIRequestHandler):
    def run_wsgi(self) -> None:
        if getattr(self.server, "close_delimited", False):
            self.protocol_version = "HTTP/1.0"  # no chunks: the close ends the body
        super().run_wsgi()

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """No access log: the tests read `requests` instead."""


def sent_key(request: Request) -> str | None:
    """The API key a request carried, whichever header its format uses."""
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:]
    return (request.headers.get("x-api-key") or request.headers.get("x-goog-api-key")
            or request.headers.get("api-key") or request.args.get("key"))


def said(flavour: str, body: Any) -> list[str]:
    """The texts of the messages a chat request carried."""
    texts: list[str] = []
    if not isinstance(body, dict):
        return texts
    if flavour == "gemini":
        for content in body.get("contents", []):
            texts.extend(part.get("text", "") for part in content.get("parts", []))
        return texts
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.extend(block.get("text", "") for block in content if isinstance(block, dict))
    return texts


class ProviderStub:
    """The stand-in server; start() it, point keys at base(format), stop() it."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        # The usage each chat answer reported: (prompt tokens, completion tokens).
        self.usage_sent: list[tuple[int, int]] = []
        self.behaviour: str | int = "ok"
        self.redirect_to: str | None = None
        self.gemini_page_size = 2
        self.stream_pace: Pace | None = None
        self.stream_ends: list[str] = []
        self.delay_s = 0.0  # how long every answer waits before it is sent
        self.extra_openai_models: tuple[str, ...] = ()  # listed after the usual ones
        self.reply: str | None = None
        self.reply_pieces = 3
        self.reply_pace = 0.0
        self.usage_in_streams = True  # False: OpenAI streams carry no usage, asked or not
        self.dropped: frozenset[str] = frozenset()  # model names the listings leave out
        self.key_echo: Callable[[str], str] = str  # how error messages echo the key
        self.reported: tuple[int, int] | None = None  # (prompt, completion) tokens claimed
        # answer_with(): what an OpenAI-format path answers instead, by path ("/models",
        # "/chat/completions"), and the bytes each such answer had handed over when it
        # ended (done, or the client went away).
        self.answers: dict[str, tuple[Callable[[], Iterable[bytes]], int]] = {}
        self.answer_sent: list[int] = []
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self.wsgi, threaded=True,
                                   request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        daemon=True, name="provider-stub")

    # ---- control -------------------------------------------------------------------

    @property
    def close_delimited(self) -> bool:
        return bool(getattr(self._server, "close_delimited", False))

    @close_delimited.setter
    def close_delimited(self, value: bool) -> None:
        self._server.close_delimited = value  # type: ignore[attr-defined]

    def report_usage(self, prompt_tokens: int, completion_tokens: int) -> None:
        """Make every answer claim these token counts (negative or huge ones included)."""
        self.reported = (prompt_tokens, completion_tokens)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def base(self, flavour: str) -> str:
        return self.url + BASE_PATHS[flavour]

    def start(self) -> ProviderStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def behave(self, behaviour: str | int, redirect_to: str | None = None) -> None:
        """"ok", an HTTP status, "gemini_invalid_key", "garbage", "hang", "stall" (stream
        one piece, then hang), "cut" (a stream ends after its text, before the provider
        says it finished: closed when `close_delimited`, else dropped mid-chunks; a plain
        answer's body ends half-way; the Responses API's too), "unended" (a stream whose
        last line, the end marker or the finish, has no line end: litellm reads it all the
        same), "redirect" (307
        to redirect_to + the same path), or "not_a_provider" / "not_a_provider_json" (a
        500 page of a service that is no provider, as HTML or JSON)."""
        self.behaviour = behaviour
        self.redirect_to = redirect_to

    def pace(self, pieces: int, interval: float, pause_after: int | None = None,
             pause: float = 0.0) -> None:
        """Stream `pieces` pieces, one every `interval` s, silent for `pause` s after
        `pause_after` of them."""
        self.stream_pace = Pace(pieces, interval, pause_after, pause)

    def ends(self) -> list[str]:
        with self._lock:
            return list(self.stream_ends)

    def say(self, text: str | None, pieces: int = 3, pace: float = 0.0) -> None:
        """Answer every chat with `text` (None: the usual echo); an OpenAI stream sends it in
        `pieces`, `pace` seconds apart."""
        self.reply, self.reply_pieces, self.reply_pace = text, pieces, pace

    def stop_listing(self, *names: str) -> None:
        """Leave these models (names without the provider, e.g. gpt-4o) out of listings,
        as a provider does when it withdraws them."""
        self.dropped = frozenset(names)

    def answer_with(self, chunks: Callable[[], Iterable[bytes]], status: int = 200,
                    path: str = "/models") -> None:
        """Answer an OpenAI-format path (its models list unless told) with these chunks,
        made anew for each request: a huge answer, a slow one, a malformed one."""
        self.answers[path] = (chunks, status)

    def trickled(self, body: bytes, every: float) -> Iterator[bytes]:
        """The body a byte at a time, `every` seconds apart (until the stand-in stops)."""
        for byte in body:
            if self._release.wait(every):
                return
            yield bytes([byte])

    def keys_seen(self) -> set[str]:
        with self._lock:
            return {r.key for r in self.requests if r.key}

    def last(self, path_part: str = "") -> Received:
        with self._lock:
            return next(r for r in reversed(self.requests) if path_part in r.path)

    # ---- the WSGI app --------------------------------------------------------------

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        return self.answer(request)(environ, start_response)

    def answer(self, request: Request) -> Response:
        body = request.get_json(silent=True)
        if request.path.startswith("/_stub/"):
            return self.control(request, body)
        with self._lock:
            self.requests.append(Received(request.method, request.path, dict(request.args),
                                          dict(request.headers), body, sent_key(request)))
        flavour = next((f for f in FORMATS if request.path.startswith(BASE_PATHS[f] + "/")),
                       None)
        if flavour is None:
            return Response("no such path", status=404)
        behaviour = self.behaviour
        if self.delay_s:
            self._release.wait(self.delay_s)
        if behaviour == "redirect":
            return Response(status=307, headers={"Location": f"{self.redirect_to}{request.path}"})
        if behaviour == "hang":
            self._release.wait(HANG_LIMIT_SECONDS)
        if behaviour == "garbage":
            return Response("<html><body>502 gateway says hi</body></html>", status=200,
                            mimetype="text/html")
        if behaviour == "not_a_provider":  # a local service that is no provider
            return Response(NOT_A_PROVIDER_PAGE, status=500, mimetype="text/html")
        if behaviour == "not_a_provider_json":
            return Response(json.dumps({"rows": [NOT_A_PROVIDER_PAGE]}), status=500,
                            mimetype="application/json")
        if isinstance(behaviour, int) or behaviour == "gemini_invalid_key":
            return self.error(flavour, behaviour, sent_key(request))
        return self.route(flavour, request, body)

    def control(self, request: Request, body: Any) -> Response:
        if request.path == "/_stub/pace" and request.method == "POST":
            self.pace(**body)
            return Response(status=204)
        if request.path == "/_stub/stream-ends":
            return Response(json.dumps(self.ends()), mimetype="application/json")
        return Response("no such control", status=404)

    def error(self, flavour: str, behaviour: str | int, key: str | None) -> Response:
        # Like the real ones, the messages echo the key they were sent (the app must scrub).
        if behaviour == "gemini_invalid_key":
            payload = wire.gemini_error(400, "API key not valid. Please pass a valid API key.",
                                        "API_KEY_INVALID")
            return Response(json.dumps(payload), status=400, mimetype="application/json")
        status = int(behaviour)
        message = f"Stand-in refuses with {status}; the key was {self.key_echo(key or '')}."
        payload = {"openai": wire.openai_error, "anthropic": wire.anthropic_error,
                   "gemini": wire.gemini_error, "azure": wire.openai_error}[flavour](status,
                                                                                    message)
        headers = {"Retry-After": "1"} if status == 429 else {}
        return Response(json.dumps(payload), status=status, mimetype="application/json",
                        headers=headers)

    def route(self, flavour: str, request: Request, body: Any) -> Response:
        path = request.path[len(BASE_PATHS[flavour]):]
        if flavour == "openai" and path in self.answers:
            chunks, status = self.answers[path]
            return Response(self._counted(chunks()), status=status,
                            mimetype="application/json")
        client = request.environ.get("werkzeug.socket") or request.environ.get("gunicorn.socket")
        if request.method == "GET" and path in ("/models", "/v1/models", "/openai/models"):
            return self.models(flavour, request, path)
        if flavour in ("openai", "azure") and request.method == "POST" and path in (
                "/responses", "/openai/responses"):
            return self.responses(flavour, body or {})
        if flavour == "openai" and request.method == "POST" and path == "/chat/completions":
            return self.chat(flavour, body, bool(body.get("stream")),
                             bool((body.get("stream_options") or {}).get("include_usage")),
                             client)
        if flavour == "anthropic" and request.method == "POST" and path == "/v1/messages":
            return self.chat(flavour, body, bool(body.get("stream")), True, client)
        azure = AZURE_CHAT.match(request.path)
        if flavour == "azure" and request.method == "POST" and azure and (
                request.args.get("api-version")):
            body = dict(body or {}, model=azure["deployment"])
            return self.chat("azure", body, bool(body.get("stream")),
                             bool((body.get("stream_options") or {}).get("include_usage")),
                             client)
        match = GEMINI_CALL.match(request.path)
        if flavour == "gemini" and request.method == "POST" and match:
            body = dict(body or {}, model=match["model"])
            return self.chat(flavour, body, match["verb"] == "streamGenerateContent", True,
                             client)
        return Response(json.dumps({"error": {"message": "not found"}}), status=404,
                        mimetype="application/json")

    def models(self, flavour: str, request: Request, path: str) -> Response:
        if flavour == "openai" and path == "/models":
            payload = wire.openai_models(self.dropped, self.extra_openai_models)
        elif flavour == "anthropic" and path == "/v1/models":
            payload = wire.anthropic_models(request.args.get("after_id"),
                                            int(request.args.get("limit", 2)), self.dropped)
        elif flavour == "gemini" and path == "/models":
            payload = wire.gemini_models(request.args.get("pageToken"), self.gemini_page_size,
                                         self.dropped)
        elif flavour == "azure" and path == "/openai/models" and request.args.get("api-version"):
            payload = wire.azure_models(self.extra_openai_models)
        else:
            return Response("not found", status=404)
        return Response(json.dumps(payload), mimetype="application/json")

    def chat(self, flavour: str, body: Any, stream: bool, usage: bool,
             client: socket.socket | None = None) -> Response:
        model = str(body.get("model", "unknown"))
        texts = said(flavour, body)
        text = self.reply if self.reply is not None else wire.reply_text(flavour, texts)
        flavour = "openai" if flavour == "azure" else flavour  # Azure speaks OpenAI's format
        usage = usage and (flavour != "openai" or self.usage_in_streams)
        prompt_tokens, completion_tokens = self.reported or (
            sum(len(t.split()) for t in texts), wire.COMPLETION_TOKENS)
        cut = self.behaviour == "cut"
        if (not stream or usage) and not cut:
            with self._lock:
                self.usage_sent.append((prompt_tokens, completion_tokens))
        # An OpenAI-format chat offered tools calls the first one.
        tool = wire.tool_call(body.get("tools") or [], texts[-1] if texts else "") \
            if flavour == "openai" else None
        if not stream:
            payload = {"openai": wire.openai_chat, "anthropic": wire.anthropic_chat,
                       "gemini": wire.gemini_chat}[flavour](model, text, prompt_tokens,
                                                            completion_tokens)
            if tool:
                payload = wire.openai_chat(model, text, prompt_tokens, completion_tokens, tool)
            answer = json.dumps(payload).encode()
            if cut:  # an iterable: no Content-Length, so the short body is the whole of it
                return Response([answer[:len(answer) // 2]], mimetype="application/json")
            return Response(answer, mimetype="application/json")
        pace = self.stream_pace
        parts = pace.parts() if pace else None
        if flavour == "openai":
            events = wire.openai_stream(model, text, prompt_tokens, usage, parts,
                                        self.reply_pieces, self.reply_pace, completion_tokens,
                                        finished=not cut, tool=tool)
        elif flavour == "anthropic":
            events = wire.anthropic_stream(model, text, prompt_tokens, parts, completion_tokens,
                                           finished=not cut)
        else:
            events = wire.gemini_stream(model, text, prompt_tokens, parts, completion_tokens,
                                        finished=not cut)
        if cut and not self.close_delimited:
            events = _dropped_after(events)
        if self.behaviour == "unended":
            events = _last_line_unended(events)
        return Response(self._recorded(self._paced(self._maybe_stall(
            events, STALL_AT[flavour]), pace, client)), mimetype="text/event-stream")

    def responses(self, flavour: str, body: Any) -> Response:
        """The Responses API, where litellm sends gpt-5-pro and the codex models."""
        model = str(body.get("model", "unknown"))
        texts = wire.responses_said(body)
        text = wire.reply_text(flavour, texts)
        prompt_tokens = sum(len(t.split()) for t in texts)
        cut = self.behaviour == "cut"
        if body.get("stream"):
            events = wire.responses_stream(model, text, prompt_tokens, finished=not cut)
            if cut and not self.close_delimited:
                events = _dropped_after(events)
            return Response(self._maybe_stall(events, STALL_AT["openai"]),
                            mimetype="text/event-stream")
        answer = json.dumps(wire.responses_answer(model, text, prompt_tokens)).encode()
        if cut:  # an iterable: no Content-Length, so the short body is the whole of it
            return Response([answer[:len(answer) // 2]], mimetype="application/json")
        return Response(answer, mimetype="application/json")

    def _maybe_stall(self, events: Iterator[bytes], stall_at: int) -> Iterator[bytes]:
        for number, event in enumerate(events):
            if self.behaviour == "stall" and number == stall_at:
                self._release.wait(HANG_LIMIT_SECONDS)
                return
            yield event

    def _paced(self, events: Iterator[bytes], pace: Pace | None,
               client: socket.socket | None) -> Iterator[bytes]:
        for number, event in enumerate(events):
            if pace is not None and number:
                self._wait(pace.interval, client)
                if number == pace.pause_after:
                    self._wait(pace.pause, client)
            yield event

    def _wait(self, seconds: float, client: socket.socket | None) -> None:
        """Sleep, watching the client: one that hangs up meanwhile ends the stream now (a
        silent provider sees a close at once too)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and not self._release.is_set():
            if client is None or not select.select([client], [], [], min(left, 0.05))[0]:
                if client is None:
                    self._release.wait(left)
                continue
            try:
                gone = client.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
            except BlockingIOError:
                gone = False
            except OSError:
                gone = True
            if gone:
                raise ConnectionResetError("the client went away")
            self._release.wait(left)

    def _counted(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        sent = 0
        try:
            for chunk in chunks:
                yield chunk
                sent += len(chunk)
        finally:
            with self._lock:
                self.answer_sent.append(sent)

    def _recorded(self, events: Iterator[bytes]) -> Iterator[bytes]:
        """The events; how the stream ended goes to `stream_ends` (the server closes this
        generator when a write to a client that went away fails)."""
        try:
            yield from events
        except (GeneratorExit, ConnectionError):
            with self._lock:
                self.stream_ends.append("closed")
            raise
        with self._lock:
            self.stream_ends.append("complete")


def _dropped_after(events: Iterator[bytes]) -> Iterator[bytes]:
    """The events, then the connection dropped: a chunked body without its last chunk."""
    yield from events
    raise ConnectionAbortedError("the stand-in drops the connection mid-stream")


def _last_line_unended(events: Iterator[bytes]) -> Iterator[bytes]:
    """The events, the last without the line ends after it."""
    last = None
    for event in events:
        if last is not None:
            yield last
        last = event
    if last is not None:
        yield last.rstrip(b"\r\n")


def closed_port_url() -> str:
    """A loopback URL nobody listens on (a port bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
