"""`python -m bench.hotpaths [--profile NAME]`: CPU time per request of the hot paths,
in process, through the WSGI callable (no server, no sockets).

CPU time (not wall time) barely moves when other work shares the machine, so it shows what
a change buys when the throughput figures are noisy. `--profile catalogue` (or sync, hello)
adds a cProfile listing of that path.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hotpaths", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--profile", choices=("hello", "catalogue", "sync"))
    parser.add_argument("--sort", default="tottime", help="pstats sort key")
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
