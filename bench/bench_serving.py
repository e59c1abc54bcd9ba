"""Issue 10's figures: many chats at once under `make run`'s serving model.

- 16 concurrent streaming chats (30 s each) while another client loops on /healthz, the
  304 sync and the cached catalogue: that client's p99 per route, beside the same loop on
  the idle server (the baseline), and the errors;
- 8 idle connections open (nothing sent): the same loop's p99;
- one 300 s stream, running through all of the above, completes with every token;
- the whole server's PSS (master and workers) after the first chat.

Chat throughput, memory and start beside the LiteLLM Proxy, at the same worker count, are
bench_side_by_side.py's.

The provider stand-in (tests/provider_stub) runs in its own process and is paced over its
control endpoint. `--quick` shortens every duration (5 s streams, a 20 s long one).
Run alone with `python -m bench serving`.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import harness
from bench.bench_chat import stand_in
from bench.bench_core import CATALOGUE_PATH, SYNC_PATH, app_environment, check_answers

MODEL = "openai/gpt-4o-mini"
KEY = "sk-bench-key-00000001"
INTERVAL = 0.1  # seconds between two pieces of a paced stream
P99_TARGET = "< 50 ms"


@dataclass(frozen=True)
class Durations:
    streams: int = 16
    stream_seconds: float = 30.0
    long_seconds: float = 300.0
    idle_connections: int = 8
    loop_seconds: float = 20.0


def durations() -> Durations:
    if os.environ.get("BENCH_QUICK"):
        return Durations(stream_seconds=5.0, long_seconds=20.0, loop_seconds=4.0)
    return Durations()


# ---- the stand-in's control ------------------------------------------------------------


def stub_root(base: str) -> str:
    return base.rsplit("/openai/v1", 1)[0]


def control(base: str, method: str, path: str, body: Any = None) -> Any:
    host, port = stub_root(base).removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(method, path, json.dumps(body) if body is not None else None,
                           {"Content-Type": "application/json"})
        answer = connection.getresponse()
        raw = answer.read()
        return json.loads(raw) if raw else None
    finally:
        connection.close()


def pace(base: str, seconds: float) -> int:
    """Streams started from now on last `seconds`; the number of pieces each sends."""
    pieces = max(1, round(seconds / INTERVAL))
    control(base, "POST", "/_stub/pace", {"pieces": pieces, "interval": INTERVAL})
    return pieces


# ---- clients ----------------------------------------------------------------------------


def chat_body(stream: bool) -> str:
    return json.dumps({"messages": [{"role": "user", "content": "Tell a story"}],
                       "stream": stream})


@dataclass
class StreamReader:
    """One streaming chat read to its end in a thread: its deltas and how it ended."""

    port: int
    deltas: int = 0
    ended_with: str | None = None
    error: str | None = None
    started: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)

    def start(self) -> StreamReader:
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        connection = http.client.HTTPConnection(harness.HOST, self.port, timeout=600)
        try:
            connection.request("POST", "/api/chat", chat_body(True),
                               {**harness.AUTHORIZATION, "Content-Type": "application/json"})
            response = connection.getresponse()
            if response.status != 200:
                self.error = f"HTTP {response.status}"
                return
            for raw in response:
                line = raw.decode()
                if line.startswith("event: "):
                    event = line[7:].strip()
                    if event == "delta":
                        self.deltas += 1
                        self.started.set()
                    else:
                        self.ended_with = event
        except OSError as error:
            self.error = type(error).__name__
        finally:
            connection.close()
            self.started.set()
            self.finished.set()


@dataclass
class Loop:
    """A client looping on the three routes over one kept-alive connection."""

    port: int
    etag: str
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: int = 0

    def run(self, seconds: float) -> Loop:
        routes = (("healthz", "/healthz", {}, 200), ("304 sync", SYNC_PATH,
                  {"If-None-Match": self.etag}, 304), ("catalogue", CATALOGUE_PATH, {}, 200))
        connection = http.client.HTTPConnection(harness.HOST, self.port, timeout=30)
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                for name, path, headers, status in routes:
                    started = time.perf_counter()
                    try:
                        connection.request("GET", path,
                                           headers={**harness.AUTHORIZATION, **headers})
                        answer = connection.getresponse()
                        answer.read()
                        ok = answer.status == status
                    except OSError:
                        connection.close()
                        ok = False
                    elapsed = (time.perf_counter() - started) * 1000
                    self.latencies.setdefault(name, []).append(elapsed)
                    self.errors += not ok
        finally:
            connection.close()
        return self

    def p99(self, name: str) -> float:
        values = sorted(self.latencies[name])
        return values[min(len(values) - 1, round(0.99 * (len(values) - 1)))]


# ---- the phases ------------------------------------------------------------------------


def prepare(port: int, base: str) -> None:
    key = json.dumps({"provider": "openai", "api_key": KEY, "api_base": base}).encode()
    for method, path, body, status in (
            ("POST", "/api/config/api-keys", key, 201),
            ("POST", f"/api/config/models/{MODEL}/select", None, 200)):
        answer = harness.request(port, method, path, body,
                                 {"Content-Type": "application/json"})
        if answer.status != status:
            raise RuntimeError(f"{path} answered {answer.status}")
    answer = harness.request(port, "POST", "/api/chat", chat_body(False).encode(),
                             {"Content-Type": "application/json"}, timeout=300)
    if answer.status != 200:
        raise RuntimeError(f"the first chat answered {answer.status}: {answer.body[:200]!r}")


def whole_pss(pids: list[int]) -> float:
    return sum(harness.memory(pid).pss or 0.0 for pid in pids)


def loop_rows(label: str, loop: Loop, baseline: Loop, note: str) -> list[dict[str, Any]]:
    rows = []
    for name in ("healthz", "304 sync", "catalogue"):
        value, base = loop.p99(name), baseline.p99(name)
        rows.append({"name": f"{label}: p99 {name}", "value": value, "unit": "ms",
                     "baseline": base, "ratio": value / base if base else None,
                     "target": P99_TARGET,
                     "note": f"{len(loop.latencies[name])} requests; baseline: the same loop "
                             f"on the idle server; {note}"})
    rows.append({"name": f"{label}: errors", "value": loop.errors, "unit": "answers",
                 "target": "<= 0", "note": "answers that were not the expected status"})
    return rows


def run() -> list[dict[str, Any]]:
    plan = durations()
    rows: list[dict[str, Any]] = []
    with stand_in() as base, tempfile.TemporaryDirectory(prefix="configapp-serving-") as tmp:
        workdir = Path(tmp)
        env = app_environment(workdir / "data", workdir)
        with harness.start_gunicorn("wsgi:app", env, workdir / "configapp.log") as app:
            app.wait_for("/healthz")
            prepare(app.port, base)
            pids = [app.process.pid, *app.wait_for_workers()]
            rows.append({"name": "whole server PSS after the first chat", "unit": "MiB",
                         "value": whole_pss(pids),
                         "note": f"master and {len(pids) - 1} worker(s), smaps_rollup Pss; "
                                 "litellm imported"})
            etag = check_answers(app)
            baseline = Loop(app.port, etag).run(plan.loop_seconds)

            long_pieces = pace(base, plan.long_seconds)
            long_stream = StreamReader(app.port).start()
            long_stream.started.wait(120)

            pieces = pace(base, plan.stream_seconds)
            streams = [StreamReader(app.port).start() for _ in range(plan.streams)]
            for stream in streams:
                stream.started.wait(120)
            loop = Loop(app.port, etag).run(min(plan.loop_seconds, plan.stream_seconds))
            in_flight = sum(not stream.finished.is_set() for stream in streams)
            for stream in streams:
                stream.finished.wait(plan.stream_seconds + 120)
            complete = sum(s.ended_with == "done" and s.deltas == pieces for s in streams)
            rows += loop_rows(f"{plan.streams} streams", loop, baseline,
                              f"{in_flight} of {plan.streams} streams of "
                              f"{plan.stream_seconds:g} s still in flight when the loop ended")
            rows.append({"name": f"{plan.streams} streams: complete", "value": complete,
                         "unit": "streams", "target": f">= {plan.streams}",
                         "note": f"ended with `done` after all {pieces} pieces"})

            # The streams' usage-ledger rows moved the sync revision: a fresh ETag.
            etag = check_answers(app)
            with idle_connections(app.port, plan.idle_connections):
                idle_loop = Loop(app.port, etag).run(plan.loop_seconds)
            rows += loop_rows(f"{plan.idle_connections} idle connections", idle_loop,
                              baseline, "connections opened, nothing sent")

            long_stream.finished.wait(plan.long_seconds + 120)
            rows.append({"name": f"one {plan.long_seconds:g} s stream: pieces delivered",
                         "value": long_stream.deltas, "unit": "pieces",
                         "target": f">= {long_pieces}",
                         "note": f"ended with `{long_stream.ended_with}`"
                                 + (f", {long_stream.error}" if long_stream.error else "")
                                 + "; it ran through every phase above"})
    return rows


@contextmanager
def idle_connections(port: int, count: int) -> Iterator[list[socket.socket]]:
    opened = [socket.create_connection((harness.HOST, port)) for _ in range(count)]
    try:
        yield opened
    finally:
        for connection in opened:
            connection.close()


if __name__ == "__main__":
    for row in run():
        print(json.dumps(row))
