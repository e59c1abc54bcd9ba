"""Chat overhead: POST /api/chat (the app under gunicorn, over one kept-alive connection)
minus a direct litellm.completion to the same provider stand-in, measured in one run,
interleaved; and POST /v1/chat/completions (the OpenAI-compatible face) beside /api/chat,
in the same loop. The three take turns at going first: each call leaves litellm's success
handler running on a pool thread (in the app's worker, or here after a direct call), and
the call right after it shares the two cores with that work (in a fixed order, /api/chat,
always after the direct call, took 1 ms more than /v1).

Run alone with `python -m bench.bench_chat`; `run()` is what the bench runner calls.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.harness import API_TOKEN

ROOT = Path(__file__).resolve().parent.parent
MODEL = "openai/gpt-4o-mini"
KEY = "sk-bench-key-00000001"
BODY = json.dumps({"messages": [{"role": "user", "content": "Say hello"}]}).encode()
V1_BODY = json.dumps({"model": "default",
                      "messages": [{"role": "user", "content": "Say hello"}]}).encode()
QUICK = bool(os.environ.get("BENCH_QUICK"))
SAMPLES = int(os.environ.get("BENCH_CHAT_SAMPLES", "100" if QUICK else "1000"))
WARM_UP = 10 if QUICK else 50
TARGETS = {"p50": "<= 2.5 ms", "p99": "< 10 ms"}  # issue 30
V1_TARGETS = {"p50": "< 0.5 ms", "p99": None}  # /v1 minus /api/chat


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def request(port: int, method: str, path: str, body: bytes | None = None,
            timeout: float = 30) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        headers["Authorization"] = f"Bearer {API_TOKEN}"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()




@contextmanager
def stand_in() -> Iterator[str]:
    """The provider stand-in in its own process (so that neither side's threads slow it
    down), keeping connections alive as providers do (bench/stand_in.py); its OpenAI base
    URL."""
    server = subprocess.Popen([sys.executable, "-m", "bench.stand_in"], cwd=ROOT, text=True,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None
        yield server.stdout.readline().strip()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)


@contextmanager
def gunicorn_app(data_dir: Path) -> Iterator[int]:
    """The app under gunicorn (the project's gunicorn.conf.py, one worker) on a free port."""
    port = free_port()
    env = {**os.environ, "CONFIGAPP_DATA_DIR": str(data_dir),
           "CONFIGAPP_ENV_FILE": str(data_dir / "absent.env"),
           "CONFIGAPP_CONFIG_FILE": str(data_dir / "absent.yaml"),
           "CONFIGAPP_BIND": f"127.0.0.1:{port}", "CONFIGAPP_WORKERS": "1"}
    for name in ("OPENAI_API_KEY", "CONFIGAPP_DATABASE_URL", "ENCRYPTION_KEY"):
        env.pop(name, None)
    env["CONFIGAPP_API_TOKEN"] = API_TOKEN
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "wsgi:app"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if request(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)


class KeptConnection:
    """One connection to the app, kept alive between requests, as the Playground's browser
    and the OpenAI SDK keep theirs: the overhead is the chat's, not a TCP connect's."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        self.connection.request("POST", path, body=body, headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {API_TOKEN}"})
        response = self.connection.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self.connection.close()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def run(samples: int = SAMPLES) -> list[dict[str, Any]]:
    """p50/p99 of POST /api/chat and of litellm.completion to the same stand-in, and the
    difference (the app's overhead)."""
    sys.path.insert(0, str(ROOT))
    from configapp.providers.litellm_gateway import LiteLLMGateway

    litellm = LiteLLMGateway().litellm()  # imported the way the app imports it
    with stand_in() as base, tempfile.TemporaryDirectory() as folder, \
            gunicorn_app(Path(folder)) as port:
        key = json.dumps({"provider": "openai", "api_key": KEY, "api_base": base}).encode()
        assert request(port, "POST", "/api/config/api-keys", key)[0] == 201
        assert request(port, "POST", f"/api/config/models/{MODEL}/select")[0] == 200

        client = KeptConnection(port)

        def through_app() -> None:
            status, answer = client.post("/api/chat", BODY)
            assert status == 200, answer

        def through_v1() -> None:
            status, answer = client.post("/v1/chat/completions", V1_BODY)
            assert status == 200, answer

        def direct() -> None:
            litellm.completion(model=MODEL, messages=[{"role": "user", "content": "Say hello"}],
                               api_key=KEY, api_base=base, max_retries=0, timeout=30)

        # The worker imports litellm after it starts: seconds, minutes on a busy machine.
        status, answer = request(port, "POST", "/api/chat", BODY, timeout=600)
        assert status == 200, answer
        for _ in range(WARM_UP):
            through_app()
            through_v1()
            direct()
        app_ms: list[float] = []
        v1_ms: list[float] = []
        direct_ms: list[float] = []
        calls = [(through_app, app_ms), (through_v1, v1_ms), (direct, direct_ms)]
        for sample in range(samples):
            turn = sample % len(calls)
            for call, times in calls[turn:] + calls[:turn]:
                times.append(timed(call))
        client.close()
    results: list[dict[str, Any]] = []
    for name, fraction in (("p50", 0.5), ("p99", 0.99)):
        app, baseline = percentile(app_ms, fraction), percentile(direct_ms, fraction)
        results.append({"name": f"chat_{name}_latency", "value": round(app, 3), "unit": "ms",
                        "baseline": round(baseline, 3), "ratio": round(app / baseline, 3)})
        results.append({"name": f"chat_{name}_overhead", "value": round(app - baseline, 3),
                        "unit": "ms", "target": TARGETS[name]})
    for name, fraction in (("p50", 0.5), ("p99", 0.99)):
        v1, api = percentile(v1_ms, fraction), percentile(app_ms, fraction)
        results.append({"name": f"v1_chat_{name}_latency", "value": round(v1, 3),
                        "unit": "ms", "baseline": round(api, 3), "ratio": round(v1 / api, 3),
                        "note": "POST /v1/chat/completions; baseline: POST /api/chat"})
        results.append({"name": f"v1_chat_{name}_overhead_vs_api_chat",
                        "value": round(v1 - api, 3), "unit": "ms",
                        **({"target": V1_TARGETS[name]} if V1_TARGETS[name] else {})})
    results.append({"name": "chat_samples", "value": samples, "unit": "requests"})
    results.append({"name": "chat_mean_overhead",
                    "value": round(statistics.fmean(app_ms) - statistics.fmean(direct_ms), 3),
                    "unit": "ms"})
    return results


if __name__ == "__main__":
    for row in run():
        print(json.dumps(row))
