"""`python -m bench.hotpaths [--profile NAME] [--chat]`: CPU time per request of the hot
paths, in process, through the WSGI callable (no server, no sockets); with `--chat`, where a
chat's CPU goes.

CPU time (not wall time) barely moves when other work shares the machine, so it shows what
a change buys when the throughput figures are noisy. `--profile catalogue` (or sync, hello)
adds a cProfile listing of that path.

The chat's breakdown (`chat_breakdown`, also a `make bench` row set: bench_chat_cpu.py) times
the chat's public call points, not their insides (other work changes those): the request
thread's CPU in ChatService.plan, in the usage ledger's record call and in the gateway's
complete (litellm and the provider's HTTP), the rest of the request thread (Flask, the
guards, JSON, the view) as "HTTP", and the CPU other threads of the process spent meanwhile
(litellm's logging pool). The provider stand-in runs in its own process.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.bench_core import BENCH_KEY, CATALOGUE_PATH, SYNC_PATH
from bench.harness import API_TOKEN

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def environ(path_and_query: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    path, _, query = path_and_query.partition("?")
    env = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": path,
           "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
           "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "127.0.0.1:8000",
           "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
           "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False}
    env.update({f"HTTP_{name.upper().replace('-', '_')}": value
                for name, value in {"Authorization": f"Bearer {API_TOKEN}",
                                    **(headers or {})}.items()})
    return env


def call(app: Wsgi, env: dict[str, Any]) -> tuple[str, bytes]:
    statuses = []

    def start_response(status: str, _headers: Any, _exc_info: Any = None) -> None:
        statuses.append(status)

    answer = app({**env, "wsgi.input": io.BytesIO()}, start_response)
    try:
        body = b"".join(answer)
    finally:
        getattr(answer, "close", lambda: None)()
    return statuses[0], body


def targets(data_dir: Path) -> dict[str, tuple[Wsgi, dict[str, Any], str]]:
    """name -> (app, environ, expected status) for the three paths bench_core loads."""
    from bench.hello import app as hello
    from configapp import create_app
    from configapp.settings import SecuritySettings, Settings

    app = create_app(Settings(data_dir=data_dir, env_file=data_dir / "absent.env",
                              config_file=data_dir / "absent.yaml", provider_env={},
                              security=SecuritySettings(api_token=API_TOKEN)))
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {API_TOKEN}"
    assert client.post("/api/config/api-keys", json=BENCH_KEY).status_code == 201
    etag = client.get(SYNC_PATH).headers["ETag"]
    return {"hello": (hello, environ("/"), "200 OK"),
            "catalogue": (app, environ(CATALOGUE_PATH), "200 OK"),
            "sync": (app, environ(SYNC_PATH, {"If-None-Match": etag}), "304 NOT MODIFIED")}


def cpu_per_request(app: Wsgi, env: dict[str, Any], requests: int) -> float:
    """Microseconds of this process's CPU per request (best of five batches)."""
    for _ in range(requests // 10):
        call(app, env)
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for _ in range(requests):
            call(app, env)
        best = min(best, (time.process_time() - started) / requests)
    return best * 1e6


# ---- where a chat's CPU goes -----------------------------------------------------------

CHAT_BODY = b'{"messages": [{"role": "user", "content": "Say hello"}]}'
CHAT_MODEL = "openai/gpt-4o-mini"
# The call points timed, by part: (component, attribute holding the object, method).
CALL_POINTS = {"plan": ("chat", None, "plan"), "ledger": ("chat", "usage", "record"),
               "gateway": ("chat", "gateway", "complete")}


@dataclass
class ThreadCpu:
    """CPU seconds the request thread spent inside each timed call point."""

    seconds: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, part: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return method(*args, **kwargs)
            finally:
                spent = time.thread_time() - started
                with self._lock:
                    self.seconds[part] = self.seconds.get(part, 0.0) + spent
        return wrapper


@contextmanager
def chat_app(base: str, data_dir: Path) -> Iterator[tuple[Wsgi, dict[str, Any], ThreadCpu]]:
    """configapp with one OpenAI key on the stand-in at `base`, its model selected, the
    call points timed; the WSGI app, a chat's environ and the timings."""
    from configapp import create_app
    from configapp.settings import SecuritySettings, Settings

    app = create_app(Settings(data_dir=data_dir, env_file=data_dir / "absent.env",
                              config_file=data_dir / "absent.yaml", provider_env={},
                              security=SecuritySettings(api_token=API_TOKEN)))
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {API_TOKEN}"
    assert client.post("/api/config/api-keys", json={
        "provider": "openai", "api_key": "sk-bench-key-00000001",
        "api_base": base}).status_code == 201
    assert client.post(f"/api/config/models/{CHAT_MODEL}/select").status_code == 200
    cpu = ThreadCpu()
    parts = app.extensions["configapp"]
    for part, (component, holder, method) in CALL_POINTS.items():
        owner = getattr(parts, component)
        owner = getattr(owner, holder) if holder else owner
        setattr(owner, method, cpu.timed(part, getattr(owner, method)))
    env = {**environ("/api/chat"), "REQUEST_METHOD": "POST",
           "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(CHAT_BODY))}
    yield app, env, cpu


def post(app: Wsgi, env: dict[str, Any]) -> tuple[str, bytes]:
    statuses = []

    def start_response(status: str, _headers: Any, _exc_info: Any = None) -> None:
        statuses.append(status)

    answer = app({**env, "wsgi.input": io.BytesIO(CHAT_BODY)}, start_response)
    try:
        body = b"".join(answer)
    finally:
        getattr(answer, "close", lambda: None)()
    return statuses[0], body


def settle(seconds: float = 0.3) -> None:
    """Let litellm's logging pool finish the success handlers the chats queued."""
    time.sleep(seconds)


def chat_breakdown(base: str, chats: int = 300) -> dict[str, float]:
    """Milliseconds of CPU per chat, by part (plan, ledger, gateway, http, other threads,
    whole), and a direct litellm.completion's (all its threads) beside them; best of three
    batches by the whole."""
    with tempfile.TemporaryDirectory(prefix="configapp-chat-cpu-") as tmp, \
            chat_app(base, Path(tmp)) as (app, env, cpu):
        status, body = post(app, env)
        assert status == "200 OK", (status, body[:300])
        for _ in range(max(10, chats // 10)):
            post(app, env)
        best: dict[str, float] = {}
        for _ in range(3):
            settle()
            cpu.seconds.clear()
            thread_started, process_started = time.thread_time(), time.process_time()
            for _ in range(chats):
                post(app, env)
            thread = time.thread_time() - thread_started
            settle()
            process = time.process_time() - process_started
            parts = {part: cpu.seconds.get(part, 0.0) for part in CALL_POINTS}
            batch = {**parts, "http": thread - sum(parts.values()),
                     "other threads": process - thread, "whole": process}
            batch = {part: seconds / chats * 1e3 for part, seconds in batch.items()}
            if not best or batch["whole"] < best["whole"]:
                best = batch
        best["direct litellm.completion"] = direct_completion_cpu(app, base, chats)
    return best


def direct_completion_cpu(app: Any, base: str, calls: int) -> float:
    """Milliseconds of CPU (all threads) per litellm.completion to the same stand-in, the
    way the gateway imports litellm; best of three batches."""
    litellm = app.extensions["configapp"].gateway.litellm()

    def call() -> None:
        litellm.completion(model=CHAT_MODEL, messages=[{"role": "user", "content": "Say hello"}],
                           api_key="sk-bench-key-00000001", api_base=base, max_retries=0,
                           timeout=30)

    for _ in range(max(10, calls // 10)):
        call()
    best = float("inf")
    for _ in range(3):
        settle()
        started = time.process_time()
        for _ in range(calls):
            call()
        settle()
        best = min(best, (time.process_time() - started) / calls * 1e3)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hotpaths", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--profile", choices=("hello", "catalogue", "sync"))
    parser.add_argument("--sort", default="tottime", help="pstats sort key")
    parser.add_argument("--chat", action="store_true",
                        help="also where a chat's CPU goes (a provider stand-in is started)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="configapp-hotpaths-") as tmp:
        paths = targets(Path(tmp))
        for name, (app, env, expected) in paths.items():
            status, body = call(app, env)
            assert status == expected, (name, status)
            micros = cpu_per_request(app, env, args.requests)
            print(f"{name:10} {micros:8.0f} us CPU/request  ({len(body)} bytes)")
        if args.profile:
            app, env, _ = paths[args.profile]
            profiler = cProfile.Profile()
            profiler.runcall(lambda: [call(app, env) for _ in range(args.requests)])
            pstats.Stats(profiler).sort_stats(args.sort).print_stats(40)
    if args.chat:
        from bench.bench_chat import stand_in

        with stand_in() as base:
            for part, millis in chat_breakdown(base).items():
                print(f"chat, {part:28} {millis:7.2f} ms CPU/chat")
    return 0


if __name__ == "__main__":
    sys.exit(main())
