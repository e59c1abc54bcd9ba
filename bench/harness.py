"""What the benchmarks share: gunicorn servers on free loopback ports, wrk, /proc readings.

Every server runs `gunicorn -c gunicorn.conf.py <app>` from the project root, so configapp
and the hello-world baseline get identical settings (worker class, workers, threads,
preload, access log). Each server is started in its own process group and stopped by its
id.
"""

from __future__ import annotations

import http.client
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from configapp.settings import DEFAULT_WORKERS

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "gunicorn.conf.py"
HOST = "127.0.0.1"
WORKERS = DEFAULT_WORKERS  # as `make run` serves
# configapp is locked by default: the benchmarks' servers get this token and every request
# sends it (the hello-world baseline ignores the header).
API_TOKEN = secrets.token_urlsafe(32)
AUTHORIZATION = {"Authorization": f"Bearer {API_TOKEN}"}


def free_port() -> int:
    """A port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment without anything that would change configapp's answers:
    no CONFIGAPP_* settings, no ENCRYPTION_KEY, no provider keys; the API token is
    API_TOKEN, which `request` and `wrk` send (so the figures include authentication)."""
    from configapp.domain import PROVIDER_ENV_VARS

    dropped = {name for names in PROVIDER_ENV_VARS.values() for name in names}
    dropped |= {"ENCRYPTION_KEY"}
    env = {name: value for name, value in os.environ.items()
           if name not in dropped and not name.startswith("CONFIGAPP_")}
    env["CONFIGAPP_API_TOKEN"] = API_TOKEN
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


def request(port: int, method: str, path: str, body: bytes | None = None,
            headers: Mapping[str, str] | None = None, timeout: float = 10.0) -> Response:
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers={**AUTHORIZATION, **(headers or {})})
        answer = connection.getresponse()
        return Response(answer.status, dict(answer.getheaders()), answer.read())
    finally:
        connection.close()


@dataclass
class Server:
    """A gunicorn master and its workers, started by `start_gunicorn`."""

    process: subprocess.Popen
    port: int
    log_path: Path
    started_at: float  # time.perf_counter() just before the process was started

    def wait_for(self, path: str, timeout: float = 60.0, poll: float = 0.005) -> float:
        """Seconds from the process start to the first 200 answer on `path`."""
        deadline = self.started_at + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; "
                                   f"see {self.log_path}:\n{self.log_tail()}")
            try:
                if request(self.port, "GET", path, timeout=timeout).status == 200:
                    return time.perf_counter() - self.started_at
            except OSError:
                pass
            time.sleep(poll)
        raise TimeoutError(f"no 200 from {path} within {timeout} s; see {self.log_path}")

    def workers(self) -> list[int]:
        """The worker pids (the master's children)."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        if children.exists():
            return sorted(int(part) for part in children.read_text().split())
        return sorted(child for child in _all_pids() if _parent(child) == pid)

    def wait_for_workers(self, count: int = WORKERS, timeout: float = 30.0) -> list[int]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = self.workers()
            if len(pids) >= count:
                return pids
            time.sleep(0.05)
        raise TimeoutError(f"gunicorn has {len(self.workers())} workers, not {count}")

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM to the master (gunicorn's graceful stop); SIGKILL to its group after
        `timeout`."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def start_gunicorn(app: str, env: Mapping[str, str], log_path: Path,
                   workers: int = WORKERS) -> Server:
    """`gunicorn -c gunicorn.conf.py <app>` on a free loopback port, from the project root.

    gunicorn (25.1 and later) opens a control socket at $XDG_RUNTIME_DIR/gunicorn.ctl, else
    ~/.gunicorn/gunicorn.ctl, and replaces whatever socket is there: each server gets its
    own runtime directory next to its log, so that none takes over another's (or a
    developer's) socket.
    """
    port = free_port()
    runtime_dir = log_path.parent / f"runtime-{port}"
    runtime_dir.mkdir(mode=0o700, exist_ok=True)
    full_env = dict(env)
    full_env.update({"CONFIGAPP_BIND": f"{HOST}:{port}", "CONFIGAPP_WORKERS": str(workers),
                     "XDG_RUNTIME_DIR": str(runtime_dir)})
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
    try:
        started_at = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), app],
            cwd=ROOT, env=full_env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True,
        )
    finally:
        log.close()
    return Server(process, port, log_path, started_at)


# ---- memory ----------------------------------------------------------------------------


def _all_pids() -> Iterable[int]:
    return (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit())


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _kib_fields(path: Path) -> dict[str, int]:
    values = {}
    for line in path.read_text().splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if len(parts) == 2 and parts[1] == "kB":
            values[name.strip()] = int(parts[0])
    return values


@dataclass(frozen=True)
class Memory:
    """A process's memory in MiB: resident (RSS), proportional (PSS) and unique (USS)."""

    rss: float
    pss: float | None
    uss: float | None


def memory(pid: int) -> Memory:
    rss = _kib_fields(Path(f"/proc/{pid}/status"))["VmRSS"] / 1024
    try:
        rollup = _kib_fields(Path(f"/proc/{pid}/smaps_rollup"))
    except OSError:
        return Memory(rss, None, None)
    uss = (rollup.get("Private_Clean", 0) + rollup.get("Private_Dirty", 0)) / 1024
    return Memory(rss, rollup["Pss"] / 1024, uss)


def mean_memory(pids: Iterable[int]) -> Memory:
    readings = [memory(pid) for pid in pids]

    def average(values: list[float | None]) -> float | None:
        return None if None in values else statistics.fmean(values)  # type: ignore[arg-type]

    return Memory(statistics.fmean(m.rss for m in readings),
                  average([m.pss for m in readings]), average([m.uss for m in readings]))


# ---- CPU --------------------------------------------------------------------------------


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (/proc/stat, idle and iowait out)."""
    values = [int(part) for part in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, in seconds (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def wait_until_quiet(pids: Iterable[int], window: float = 1.0, busy_share: float = 0.02,
                     timeout: float = 60.0) -> float:
    """Wait until these processes together used under `busy_share` of a core for a whole
    `window`: an idle worker is one whose background work (configapp's import of litellm,
    2 s after it starts, seconds of CPU) is over. Returns the seconds waited."""
    pids = list(pids)
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        before = sum(process_cpu_seconds(pid) for pid in pids)
        time.sleep(window)
        if sum(process_cpu_seconds(pid) for pid in pids) - before < busy_share * window:
            break
    return time.monotonic() - started


class BackgroundMeter:
    """`with BackgroundMeter() as meter: ...`, then `meter.share`: the share of the machine
    that processes other than this one and its children used meanwhile. Children count
    once reaped, so stop every server inside the block."""

    share: float = 0.0

    def __enter__(self) -> BackgroundMeter:
        self._busy, self._ours = machine_busy_seconds(), _own_cpu()
        self._started = time.monotonic()
        return self

    def __exit__(self, *_exc: object) -> None:
        other = (machine_busy_seconds() - self._busy) - (_own_cpu() - self._ours)
        elapsed = time.monotonic() - self._started
        self.share = max(other, 0.0) / (elapsed * (os.cpu_count() or 1)) if elapsed else 0.0


def _own_cpu() -> float:
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def server_cpu_seconds(server: Server) -> float:
    """CPU seconds of a gunicorn master and its live workers."""
    return sum(process_cpu_seconds(pid) for pid in (server.process.pid, *server.workers()))


# ---- load generator ------------------------------------------------------------------


WRK_HINT = "wrk is not installed: `make bench` installs it (apt-get install -y wrk)."
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


@dataclass(frozen=True)
class LoadResult:
    """One wrk run: throughput, latency percentiles (ms), failures, and wrk's own CPU."""

    requests_per_s: float
    requests: int
    seconds: float
    latency_ms: dict[str, float] = field(default_factory=dict)
    socket_errors: int = 0
    bad_statuses: int = 0
    cpu_seconds: float = 0.0
    other_cpu_share: float | None = None  # the machine's share used by neither wrk nor us
    server_cpu_seconds: dict[int, float] = field(default_factory=dict)  # by server port

    def server_cpu_per_request(self, server: Server) -> float | None:
        """Microseconds of the server's CPU (master and workers) per request."""
        cpu = self.server_cpu_seconds.get(server.port)
        return None if cpu is None or not self.requests else cpu / self.requests * 1e6

    @property
    def cpu_share(self) -> float:
        """wrk's CPU time as a share of one core over the run."""
        return self.cpu_seconds / self.seconds if self.seconds else 0.0


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise RuntimeError(WRK_HINT)
    return path


def wrk_version() -> str:
    result = subprocess.run([wrk_path(), "--version"], capture_output=True, text=True,
                            check=False, timeout=10)
    first_line = (result.stdout or result.stderr).splitlines()[0]
    return " ".join(first_line.split()[:2])  # "wrk debian/4.1.0-3+b2"


def wrk(url: str, connections: int, seconds: float, headers: Mapping[str, str] | None = None,
        threads: int = 1, servers: Iterable[Server] = (),
        extra_args: Iterable[str] = ()) -> LoadResult:
    """Run wrk against `url` for `seconds`; parse its report. With `servers`, also measure
    each one's CPU time, and how much of the machine other processes took meanwhile (the
    figures' noise)."""
    servers = list(servers)
    busy_before = machine_busy_seconds()
    cpu_before = {server.port: server_cpu_seconds(server) for server in servers}
    command = [wrk_path(), f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency",
               "--timeout", "10s"]
    for name, value in {**AUTHORIZATION, **(headers or {})}.items():
        command += ["-H", f"{name}: {value}"]
    command += list(extra_args)
    before = _children_cpu()
    process = subprocess.Popen([*command, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    # communicate() reaped wrk, the only child reaped meanwhile: the delta is its CPU time.
    result = _parse_wrk(stdout.decode(), stderr.decode(), process.returncode)
    result = replace(result, cpu_seconds=_children_cpu() - before)
    if servers and result.seconds:
        used = {server.port: server_cpu_seconds(server) - cpu_before[server.port]
                for server in servers}
        other = machine_busy_seconds() - busy_before - sum(used.values()) - result.cpu_seconds
        result = replace(result, server_cpu_seconds=used, other_cpu_share=max(other, 0.0) / (
            result.seconds * (os.cpu_count() or 1)))
    return result


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _parse_wrk(report: str, errors: str, returncode: int) -> LoadResult:
    if returncode != 0:
        raise RuntimeError(f"wrk failed ({returncode}): {errors or report}")
    total = re.search(r"(\d+) requests in ([\d.]+)(\w+),", report)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", report)
    if not total or not rate:
        raise RuntimeError(f"cannot read wrk's report:\n{report}")
    seconds = float(total.group(2)) * _UNITS[total.group(3)] / 1e3
    latency = {
        f"p{percent}": float(value) * _UNITS[unit]
        for percent, value, unit in re.findall(r"^\s+(\d+)%\s+([\d.]+)(\w+)$", report, re.M)
    }
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       report)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    return LoadResult(
        requests_per_s=float(rate.group(1)), requests=int(total.group(1)), seconds=seconds,
        latency_ms=latency,
        socket_errors=sum(int(n) for n in socket.groups()) if socket else 0,
        bad_statuses=int(bad.group(1)) if bad else 0,
    )


# ---- budget ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    """How long to measure: `runs` cold starts, `rounds` of `seconds` of load per target."""

    runs: int = 5
    rounds: int = 5
    seconds: float = 3.0
    connections: int = 4


def budget() -> Budget:
    """The full budget, or a short one when BENCH_QUICK is set (`python -m bench --quick`)."""
    if os.environ.get("BENCH_QUICK"):
        return Budget(runs=2, rounds=1, seconds=2.0)
    return Budget()
