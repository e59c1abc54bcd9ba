"""SIGKILL gunicorn workers in the middle of writes, 50 times, then the whole app.

Clients write without pause (add, rename, (de)activate, delete keys; select models; set
parameters) while workers are killed at random instants, each kill waiting for gunicorn
to replace the last one. A killed request gets no answer, so its write may or may not
have happened; every write answered 2xx must be there. At the end the whole app (master
and workers) is killed too, and the database is opened cold: it passes its integrity
check, every key row opens bound to its row, the ledgers hold, and the app starts on it.
CONFIGAPP_KILLS scales the count (`make reliability`); CONFIGAPP_KILL_SEED replays one.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

from tests.e2e.harness import Server
from tests.reliability.load import WRITES, Team, check_ledgers, owned_models, summary

KILLS = int(os.environ.get("CONFIGAPP_KILLS", "50"))
WORKERS = 4
CLIENTS = 6
RESPAWN_TIMEOUT_S = 30


def alive(pid: int) -> bool:
    """Whether the process runs (a killed worker stays a zombie until gunicorn reaps it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):  # gone, or going
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def workers_of(server: Server) -> list[int]:
    """The pids of the master's live children (its workers)."""
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children if alive(int(child))]


def wait_for_workers(server: Server, count: int, killed: set[int]) -> list[int]:
    """The workers not killed yet, once gunicorn has `count` of them again."""
    deadline = time.monotonic() + RESPAWN_TIMEOUT_S
    while len(pids := [p for p in workers_of(server) if p not in killed]) < count:
        assert time.monotonic() < deadline, f"gunicorn has {len(pids)} of {count} workers"
        time.sleep(0.02)
    return pids


def kill_app(server: Server) -> None:
    """SIGKILL the master and every worker at once: a crash of the whole app."""
    pids = workers_of(server)
    server.process.send_signal(signal.SIGKILL)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    server.process.wait(timeout=10)


def test_workers_killed_mid_write_lose_no_acknowledged_write(database, launch):
    seed = int(os.environ.get("CONFIGAPP_KILL_SEED") or random.SystemRandom().randrange(10**6))
    chance = random.Random(seed)
    server = launch(database, workers=WORKERS)
    models = owned_models(server.url, CLIENTS)
    before = database.store.revision()
    started = time.monotonic()
    killed: set[int] = set()
    team = Team(server.url, CLIENTS, str(seed), WRITES, models).start()
    try:
        while len(killed) < KILLS:
            victim = chance.choice(wait_for_workers(server, WORKERS, killed))
            time.sleep(chance.uniform(0.05, 0.3))
            os.kill(victim, signal.SIGKILL)
            killed.add(victim)
        wait_for_workers(server, WORKERS, killed)
        time.sleep(0.2)
    finally:
        clients = team.stop()
    kill_app(server)
    seconds = time.monotonic() - started
    figures = summary(clients)
    integrity = database.store.integrity()
    problems = check_ledgers(database.store, clients, before)
    print(f"\nseed {seed}: {KILLS} workers killed in {seconds:.1f} s, then the whole app; "
          f"{figures['requests']} requests, {figures['acknowledged_writes']} writes "
          f"acknowledged, {figures['no_answer']} cut by a kill, statuses "
          f"{figures['by_status']}; integrity {integrity}; {len(problems)} problems")
    assert integrity in ("ok", "n/a")
    assert problems == []
    assert figures["5xx"] == 0 and figures["unexpected"] == []
    # A killed gthread worker cuts every request it was serving: at most one per client,
    # since each client has one request in flight at a time.
    assert figures["no_answer"] <= KILLS * CLIENTS
    again = launch(database, workers=2)
    assert again.api("GET", "/readyz")[0] == 200
    listed = again.api("GET", "/api/config/api-keys")[1]
    assert len(listed) == len(database.store.rows())
