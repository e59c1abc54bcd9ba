"""Issue 30's ledger write, measured in process: the CPU and latency of one usage row, at 1
and 16 concurrent writers, on SQLite and (when CONFIGAPP_TEST_DATABASE_URL names a server,
as scripts/with-postgres sets it) PostgreSQL; then whole chats through the app on SQLite,
1 and 16 at once, with the write's own CPU per chat. Each figure is a ratio to the ORM
write the ledger used before (storage._write: a session, BEGIN IMMEDIATE or the advisory
lock, a commit), measured in the same run, interleaved with it. The variant that lost (one
Core INSERT per row) and the figures that decided are in docs/adr/0007-ledger-write.md.

CPU is this process's (every thread's): a PostgreSQL server's own work is not in it.
Run alone with `python -m bench.bench_ledger`; `run()` is what the bench runner calls.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import create_engine, make_url, text

from bench.bench_chat import BODY, KEY, MODEL, stand_in
from bench.harness import API_TOKEN, AUTHORIZATION

WRITERS = (1, 16)
ROWS = {1: 600, 16: 1_200}  # rows per measure, shared among the writers
QUICK_ROWS = {1: 150, 16: 320}
CHATS = {1: 300, 16: 640}  # whole chats in process, through the app, per measure
QUICK_CHATS = {1: 60, 16: 160}
ROUNDS = 6
Write = Callable[[Any], None]
BASELINE = "orm write (baseline)"
KEPT = "group commit (kept)"


@dataclass(frozen=True)
class Measure:
    cpu_us: float  # process CPU per row
    p50_ms: float
    p99_ms: float
    rows_per_s: float


def run() -> list[dict[str, Any]]:
    quick = bool(os.environ.get("BENCH_QUICK"))
    rows: list[dict[str, Any]] = []
    with sqlite_app() as app:
        rows += measure_backend(app, "sqlite", QUICK_ROWS if quick else ROWS)
        with stand_in() as base:
            rows += measure_chats(app, base, QUICK_CHATS if quick else CHATS)
    server = os.environ.get("CONFIGAPP_TEST_DATABASE_URL")
    if server:
        with postgres_app(server) as app:
            rows += measure_backend(app, "postgresql", QUICK_ROWS if quick else ROWS)
    else:
        rows.append({"name": "ledger: postgresql", "value": None, "unit": "",
                     "note": "skipped: no CONFIGAPP_TEST_DATABASE_URL (run under "
                             "scripts/with-postgres)"})
    return rows


def measure_backend(app: Flask, backend: str, counts: dict[int, int]) -> list[dict[str, Any]]:
    from configapp.chat.sql_usage import SqlAlchemyUsageLedger

    ledger: SqlAlchemyUsageLedger = app.extensions["configapp"].usage.ledger
    variants: dict[str, Write] = {BASELINE: orm_write(ledger), KEPT: ledger.record}
    rows = []
    for writers in WRITERS:
        results = compare(app, variants, writers, counts[writers])
        baseline = results[BASELINE]
        for name, result in results.items():
            rows += figures(f"ledger {backend} {writers} writer(s): {name}", result, baseline)
    return rows


def measure_chats(app: Flask, base: str, counts: dict[int, int]) -> list[dict[str, Any]]:
    """Whole chats (POST /api/chat, JSON) through the app in process, on SQLite, with each
    ledger write in turn: what the write does to a chat's CPU and to chats/s."""
    client = app.test_client()
    assert client.post("/api/config/api-keys", headers=AUTHORIZATION, json={
        "provider": "openai", "api_key": KEY, "api_base": base}).status_code == 201
    assert client.post(f"/api/config/models/{MODEL}/select",
                       headers=AUTHORIZATION).status_code == 200
    ledger = app.extensions["configapp"].usage.ledger
    commits = CountedCommits(ledger)
    metered = {BASELINE: Metered(orm_write(ledger)), KEPT: Metered(ledger.record)}
    headers = {**AUTHORIZATION, "Content-Type": "application/json"}

    def chat(_entry: Any) -> None:
        answer = client.post("/api/chat", data=BODY, headers=headers)
        assert answer.status_code == 200, answer.get_data()

    rows = []
    try:
        for clients in WRITERS:
            results = compare(app, {name: swapped(ledger, write, chat)
                                    for name, write in metered.items()},
                              clients, counts[clients])
            baseline = results[BASELINE]
            base_cpu = metered[BASELINE].per_call()
            for name, result in results.items():
                label = f"chat sqlite {clients} client(s): {name}"
                rows += figures(label, result, baseline, "chat")
                cpu = metered[name].per_call()
                rows.append({"name": f"{label}: the write's CPU per chat", "value": cpu,
                             "unit": "us", "baseline": base_cpu, "ratio": cpu / base_cpu})
                metered[name].reset()
            rows.append({"name": f"chat sqlite {clients} client(s): {KEPT}: rows per commit",
                         "value": commits.rows / max(1, commits.commits), "unit": "rows",
                         "baseline": None, "ratio": None})
            commits.commits = commits.rows = 0
    finally:
        del ledger.record
    return rows


class Metered:
    """A write that counts its own CPU (its caller's thread: a group's commit runs in the
    thread of the request leading it): the write's share of a chat, apart from the rest of
    the chat and from the machine's noise."""

    def __init__(self, write: Write) -> None:
        self.write = write
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.cpu, self.calls = 0.0, 0

    def __call__(self, entry: Any) -> None:
        began = time.thread_time()
        self.write(entry)
        spent = time.thread_time() - began
        with self.lock:
            self.cpu, self.calls = self.cpu + spent, self.calls + 1

    def per_call(self) -> float:
        """Microseconds of CPU per write."""
        return self.cpu / max(1, self.calls) * 1e6


class CountedCommits:
    """The ledger's group commits, counted with the rows they held."""

    def __init__(self, ledger: Any) -> None:
        self.commits = self.rows = 0
        group = ledger._group
        commit = group._commit

        def counted(rows: Any) -> None:
            commit(rows)
            self.commits, self.rows = self.commits + 1, self.rows + len(rows)
        group._commit = counted


def swapped(ledger: Any, write: Write, chat: Write) -> Write:
    """`chat`, with the ledger writing through `write`."""
    def call(entry: Any) -> None:
        ledger.record = write
        chat(entry)
    return call


def figures(label: str, result: Measure, baseline: Measure,
            unit: str = "row") -> list[dict[str, Any]]:
    return [
        {"name": f"{label}: CPU per {unit}", "value": result.cpu_us, "unit": "us",
         "baseline": baseline.cpu_us, "ratio": result.cpu_us / baseline.cpu_us},
        {"name": f"{label}: latency p50", "value": result.p50_ms, "unit": "ms",
         "baseline": baseline.p50_ms, "ratio": result.p50_ms / baseline.p50_ms},
        {"name": f"{label}: latency p99", "value": result.p99_ms, "unit": "ms",
         "baseline": baseline.p99_ms, "ratio": result.p99_ms / baseline.p99_ms},
        {"name": f"{label}: {unit}s/s", "value": result.rows_per_s, "unit": f"{unit}s/s",
         "baseline": baseline.rows_per_s, "ratio": result.rows_per_s / baseline.rows_per_s},
    ]


def orm_write(ledger: Any) -> Write:
    """The write the ledger used before: the storage's ORM session and write lock."""
    from configapp.chat.sql_usage import NEW_ROW, row_values

    def write(entry: Any) -> None:
        with ledger.storage._write(bump_revision=False) as session:
            session.execute(NEW_ROW, row_values(entry))
    return write


def compare(app: Flask, variants: dict[str, Write], writers: int, calls: int,
            rounds: int = ROUNDS) -> dict[str, Measure]:
    """Each variant making `calls` calls from `writers` threads at once, in `rounds` turns
    interleaved with the others' (so that the shared machine's noise falls on all alike),
    after one turn each to warm up."""
    for write in variants.values():
        timed_calls(app, write, writers, max(writers, calls // rounds // 2))
    totals: dict[str, list[Any]] = {name: [0.0, 0.0, []] for name in variants}
    for _ in range(rounds):
        for name, write in variants.items():
            cpu, wall, latencies = timed_calls(app, write, writers, calls // rounds)
            totals[name][0] += cpu
            totals[name][1] += wall
            totals[name][2] += latencies
    result = {}
    for name, (cpu, wall, latencies) in totals.items():
        ordered = sorted(latencies)
        result[name] = Measure(cpu / len(ordered) * 1e6, statistics.median(ordered) * 1e3,
                               ordered[int(len(ordered) * 0.99) - 1] * 1e3, len(ordered) / wall)
    return result


def timed_calls(app: Flask, write: Write, writers: int,
                calls: int) -> tuple[float, float, list[float]]:
    """(process CPU, wall time, each call's latency) of `calls` calls from `writers`
    threads at once, each in an app context of its own (as a request's)."""
    from configapp.chat.usage import UsageEntry

    each = max(1, calls // writers)
    latencies: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(writers + 1)

    def writer() -> None:
        own: list[float] = []
        with app.app_context():
            start.wait()
            for _ in range(each):
                entry = UsageEntry("openai/gpt-4o-mini", "openai", 1, "database", None,
                                   "finished", 12, 34, False, 0.0001, datetime.now(UTC))
                began = time.perf_counter()
                write(entry)
                own.append(time.perf_counter() - began)
        with lock:
            latencies.extend(own)

    threads = [threading.Thread(target=writer) for _ in range(writers)]
    for thread in threads:
        thread.start()
    start.wait()
    cpu, wall = time.process_time(), time.perf_counter()
    for thread in threads:
        thread.join()
    return time.process_time() - cpu, time.perf_counter() - wall, latencies


def make_app(data_dir: Path, database_url: str,
             encryption_keys: tuple[str, ...] = ()) -> Flask:
    from configapp import create_app
    from configapp.settings import SecuritySettings, Settings

    return create_app(Settings(
        data_dir=data_dir / "data", database_url=database_url, env_file=data_dir / ".env",
        config_file=data_dir / "default.yaml", provider_env={},
        encryption_keys=encryption_keys,
        security=SecuritySettings(api_token=API_TOKEN)))


@contextmanager
def sqlite_app() -> Iterator[Flask]:
    with tempfile.TemporaryDirectory(prefix="configapp-bench-ledger-") as folder:
        yield make_app(Path(folder), "")


@contextmanager
def postgres_app(server_url: str) -> Iterator[Flask]:
    """A fresh database on the server, migrated as an operator would, dropped after."""
    name = f"configapp_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        with tempfile.TemporaryDirectory(prefix="configapp-bench-ledger-") as folder:
            keys = (Fernet.generate_key().decode(),)  # a shared database's rule
            app = make_app(Path(folder), url, keys)
            result = app.test_cli_runner().invoke(args=["db", "upgrade"])
            assert result.exit_code == 0, result.output
            app = make_app(Path(folder), url, keys)
            yield app
            with app.app_context():
                app.extensions["configapp"].database.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    for row in run():
        print(row)
