"""Issue 30's figures: configapp beside the LiteLLM Proxy at the same worker count, 1 then 2.

For each count N, configapp is served as `make run` serves it with CONFIGAPP_WORKERS=N
(gunicorn, gthread, 32 threads a worker) and the LiteLLM Proxy from bench/.proxy-venv with
`--num_workers N`, both on the same provider stand-in (its own process, keeping connections
alive as providers do: bench/stand_in.py). Each is timed from its process start to the
first 200 of its liveness route, then gets a first chat; with both up, 8-client
non-streaming chat load goes to each in turn (configapp's /api/chat, the proxy's /v1,
configapp's /v1, the gateway alone), round after round, so that a machine whose speed
drifts moves both sides of each round: the ratios are the medians of the rounds' ratios.
Many short rounds rather than a few long ones: on 2026-12-08 the machine's speed changed
within seconds (one run's 2-worker rounds of 5 s gave ratios from 0.71 to 2.29). Then each
whole server's PSS (every process of it), after the load, so that every worker has served
chats.

The gateway alone (bench/gateway_alone.py: Flask and configapp's LiteLLMGateway, none of
configapp's own work) is served the same way and loaded in the same rounds: the most
configapp's chat could reach with this litellm, beside the same proxy.

Without the proxy (`--quick` does not install it), configapp's figures stand alone and
say why. Run alone with `python -m bench side_by_side`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import harness
from bench.bench_chat import stand_in
from bench.bench_core import app_environment
from bench.bench_serving import KEY, MODEL, chat_body, prepare, whole_pss

PROXY_VENV = Path(os.environ.get("BENCH_PROXY_VENV", harness.ROOT / "bench" / ".proxy-venv"))
WORKER_COUNTS = (1, 2)
# Issue 30's goals, per worker count: chats/s and memory beside the proxy.
THROUGHPUT_TARGET = "ratio >= 1.5"
MEMORY_TARGETS = {1: "ratio <= 0.85", 2: "ratio <= 0.6"}
CLIENTS = 8


@dataclass(frozen=True)
class Plan:
    rounds: int = 9
    seconds: float = 3.0


def plan() -> Plan:
    return Plan(rounds=1, seconds=3.0) if os.environ.get("BENCH_QUICK") else Plan()


def run() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with stand_in() as base, tempfile.TemporaryDirectory(prefix="configapp-sbs-") as tmp:
        for workers in WORKER_COUNTS:
            workdir = Path(tmp) / f"workers-{workers}"
            workdir.mkdir()
            rows += side_by_side(base, workdir, workers, plan())
    return rows


def side_by_side(base: str, workdir: Path, workers: int, budget: Plan) -> list[dict[str, Any]]:
    """Both servers at `workers` workers, up at once, loaded in turns."""
    env = app_environment(workdir / "data", workdir)
    with harness.start_gunicorn("wsgi:app", env, workdir / "configapp.log",
                                workers=workers) as app:
        started = app.wait_for("/healthz")
        prepare(app.port, base)
        app_pids = [app.process.pid, *app.wait_for_workers(workers)]
        harness.wait_until_quiet(app_pids)  # every worker's import of litellm is over
        with gateway_alone(base, workdir, workers) as floor, \
                proxy_server(base, workdir, workers) as proxy:
            rounds = chat_rounds(app.port, floor, proxy, budget)
            ours_pss = whole_pss([app.process.pid, *app.workers()])
            proxy_pids = proxy.pids()
            proxy_pss = whole_pss(proxy_pids) if proxy_pids else None
    return rows_for(workers, started, ours_pss, proxy, (proxy_pss, len(proxy_pids)), rounds,
                    budget)


@contextmanager
def gateway_alone(base: str, workdir: Path, workers: int) -> Iterator[int]:
    """bench/gateway_alone.py at `workers` workers, past its first chat: its port."""
    env = {**harness.clean_environment({}), "BENCH_STAND_IN": base, "BENCH_KEY": KEY}
    with harness.start_gunicorn("bench.gateway_alone:app", env, workdir / "gateway.log",
                                workers=workers) as server:
        deadline = time.monotonic() + 300
        while not answers_a_chat(server.port):
            if time.monotonic() > deadline or server.process.poll() is not None:
                raise RuntimeError("the gateway alone did not answer a chat: "
                                   f"{(workdir / 'gateway.log').read_text()[-300:]}")
            time.sleep(0.2)
        harness.wait_until_quiet([server.process.pid, *server.wait_for_workers(workers)])
        yield server.port


def answers_a_chat(port: int) -> bool:
    try:
        return harness.request(port, "POST", "/v1/chat/completions", openai_body(),
                               {"Content-Type": "application/json"}, timeout=300).status == 200
    except OSError:
        return False


def label(workers: int) -> str:
    return f"{workers} worker{'s' if workers > 1 else ''}"


def rows_for(workers: int, started: float, ours_pss: float, proxy: Proxy,
             proxy_memory: tuple[float | None, int], rounds: Rounds,
             budget: Plan) -> list[dict[str, Any]]:
    at = label(workers)
    ours, ours_v1, floor, theirs = rounds.ours, rounds.ours_v1, rounds.floor, rounds.theirs
    rate, v1_rate, floor_rate = (statistics.median(r.requests_per_s for r in results)
                                 for results in (ours, ours_v1, floor))
    load = (f"non-streaming chats to the stand-in, wrk -c{CLIENTS}, {len(ours)} round(s) of "
            f"{budget.seconds:g} s on each server in turn, medians")
    rows: list[dict[str, Any]] = [
        {"name": f"{at}: chats/s beside the LiteLLM Proxy", "value": rate, "unit": "req/s",
         "target": THROUGHPUT_TARGET, "note": f"POST /api/chat; {load}"},
        {"name": f"{at}: /v1 chats/s beside the LiteLLM Proxy", "value": v1_rate,
         "unit": "req/s", "note": f"POST /v1/chat/completions, the proxy's body; {load}"},
        {"name": f"{at}: whole server PSS beside the LiteLLM Proxy", "value": ours_pss,
         "unit": "MiB", "target": MEMORY_TARGETS.get(workers),
         "note": f"smaps_rollup Pss of every process (gunicorn master and {workers} "
                 "worker(s); the proxy's whole process tree), after the load"},
        {"name": f"{at}: start beside the LiteLLM Proxy", "value": started, "unit": "s",
         "note": "process start to the first 200 from /healthz (the proxy: "
                 "/health/liveliness); before any chat"},
        {"name": f"{at}: the gateway alone beside the LiteLLM Proxy", "value": floor_rate,
         "unit": "req/s",
         "note": f"bench/gateway_alone.py (Flask and LiteLLMGateway, none of configapp's own "
                 f"work), the proxy's body: the ceiling of configapp's ratio; configapp's "
                 f"/api/chat at {rate / floor_rate:.2f} of it; {load}"},
    ]
    if proxy.port is None:
        return [{**row, "note": f"{row['note']}; no baseline: {proxy.missing}"} for row in rows]
    bad = (f"non-2xx: configapp {sum(r.bad_statuses for r in ours)} (/v1 "
           f"{sum(r.bad_statuses for r in ours_v1)}), the gateway alone "
           f"{sum(r.bad_statuses for r in floor)}, proxy {sum(r.bad_statuses for r in theirs)}")
    for row, results in ((rows[0], ours), (rows[1], ours_v1), (rows[4], floor)):
        ratios = [a.requests_per_s / b.requests_per_s
                  for a, b in zip(results, theirs, strict=True)]
        row.update(baseline=statistics.median(r.requests_per_s for r in theirs),
                   ratio=statistics.median(ratios),
                   note=f"{row['note']}; ratio: median of the rounds' "
                        f"{', '.join(f'{r:.2f}' for r in ratios)}; {bad}")
    proxy_pss, processes = proxy_memory
    if proxy_pss:
        rows[2].update(baseline=proxy_pss, ratio=ours_pss / proxy_pss,
                       note=f"{rows[2]['note']}; the proxy: {processes} process(es)")
    rows[3].update(baseline=proxy.started, ratio=started / proxy.started)
    return rows


# ---- loading in turns -------------------------------------------------------------------


POST_SCRIPT = """wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
{auth}"""


def wrk_post(url: str, body: str, seconds: float, workdir: Path,
             token: str | None = None) -> harness.LoadResult:
    script = workdir / f"post-{abs(hash(url))}.lua"
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    script.write_text(POST_SCRIPT.format(body=body, auth=auth))
    return harness.wrk(url, CLIENTS, seconds, extra_args=["-s", str(script)])


def openai_body() -> bytes:
    return json.dumps({"model": MODEL, "messages": [
        {"role": "user", "content": "Tell a story"}]}).encode()


@dataclass
class Rounds:
    """Each server's wrk results, one per round."""

    ours: list[harness.LoadResult] = field(default_factory=list)
    ours_v1: list[harness.LoadResult] = field(default_factory=list)
    floor: list[harness.LoadResult] = field(default_factory=list)
    theirs: list[harness.LoadResult] = field(default_factory=list)


def chat_rounds(port: int, floor_port: int, proxy: Proxy, budget: Plan) -> Rounds:
    """configapp's (/api/chat, then /v1/chat/completions), the proxy's and the gateway
    alone's chat throughput, loaded in turns: the proxy's window next to each of the
    others'."""
    workdir = Path(tempfile.mkdtemp(prefix="configapp-wrk-"))
    rounds = Rounds()
    body = openai_body().decode()
    try:
        for _ in range(budget.rounds):
            rounds.ours.append(wrk_post(f"http://{harness.HOST}:{port}/api/chat",
                                        chat_body(False), budget.seconds, workdir))
            if proxy.port is not None:
                rounds.theirs.append(wrk_post(
                    f"http://{harness.HOST}:{proxy.port}/v1/chat/completions",
                    body, budget.seconds, workdir, proxy.token))
            rounds.ours_v1.append(wrk_post(f"http://{harness.HOST}:{port}/v1/chat/completions",
                                           body, budget.seconds, workdir))
            rounds.floor.append(wrk_post(
                f"http://{harness.HOST}:{floor_port}/v1/chat/completions", body,
                budget.seconds, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return rounds


# ---- the LiteLLM Proxy ------------------------------------------------------------------


PROXY_CONFIG = """model_list:
  - model_name: {model}
    litellm_params:
      model: {model}
      api_key: {key}
      api_base: {base}
"""
PROXY_TOKEN = "sk-bench-proxy-master-0001"
HEALTHCHECK_SECONDS = 300


@dataclass(frozen=True)
class Proxy:
    """The LiteLLM Proxy, up and past its first chat; or why there is none."""

    port: int | None = None
    token: str = PROXY_TOKEN
    started: float = 0.0  # seconds from its process start to its first liveness answer
    root: int | None = None
    missing: str | None = None

    def pids(self) -> list[int]:
        """Its processes now (the workers are the launcher's descendants)."""
        return [] if self.root is None else [self.root, *descendants(self.root)]


@contextmanager
def proxy_server(base: str, workdir: Path, workers: int = 1) -> Iterator[Proxy]:
    """The LiteLLM Proxy (`--num_workers workers`) on the stand-in, after its first chat;
    a Proxy that says why when it is not installed or does not answer."""
    litellm_cli = PROXY_VENV / "bin" / "litellm"
    if not litellm_cli.exists():
        yield Proxy(missing=f"the LiteLLM Proxy is not installed in {PROXY_VENV} "
                            "(scripts/install-bench-deps --proxy installs it)")
        return
    config = workdir / "proxy.yaml"
    config.write_text(PROXY_CONFIG.format(model=MODEL, key=KEY, base=base))
    port = harness.free_port()
    log_path = workdir / "proxy.log"
    log = log_path.open("wb")
    env = harness.clean_environment({"LITELLM_LOCAL_MODEL_COST_MAP": "True",
                                     "LITELLM_MODE": "PRODUCTION",
                                     "LITELLM_MASTER_KEY": PROXY_TOKEN})
    started_at = time.perf_counter()
    command = [str(litellm_cli), "--config", str(config), "--host", harness.HOST, "--port",
               str(port), "--num_workers", str(workers)]
    if workers > 1:  # uvicorn's supervisor kills a worker not up within 5 s, and restarts
        # it: on a busy machine litellm's import takes longer, and the proxy never starts.
        command += ["--timeout_worker_healthcheck", str(HEALTHCHECK_SECONDS)]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log,
                               start_new_session=True, cwd=workdir)
    try:
        started = alive_after(port, process, started_at)
        if started is not None and first_chat(port, process):
            yield Proxy(port, started=started, root=process.pid)
        else:
            tail = log_path.read_text(errors="replace")[-300:]
            yield Proxy(missing=f"the LiteLLM Proxy did not answer: ...{tail}")
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)
        log.close()


def alive_after(port: int, process: subprocess.Popen[bytes], started_at: float,
                timeout: float = 300.0) -> float | None:
    """Seconds from the proxy's process start to its first 200 from /health/liveliness."""
    while time.perf_counter() - started_at < timeout and process.poll() is None:
        try:
            if harness.request(port, "GET", "/health/liveliness", timeout=10).status == 200:
                return time.perf_counter() - started_at
        except OSError:
            pass
        time.sleep(0.05)
    return None


def first_chat(port: int, process: subprocess.Popen[bytes]) -> bool:
    """Whether the proxy answered a chat within 5 minutes."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        try:
            answer = harness.request(port, "POST", "/v1/chat/completions", openai_body(),
                {"Content-Type": "application/json", "Authorization": f"Bearer {PROXY_TOKEN}"},
                timeout=60)
            if answer.status == 200:
                return True
        except OSError:
            pass
        time.sleep(1)
    return False


def descendants(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        found = [int(part) for part in children.read_text().split()]
    except OSError:
        return []
    return found + [grandchild for child in found for grandchild in descendants(child)]


if __name__ == "__main__":
    for row in run():
        print(json.dumps(row))
