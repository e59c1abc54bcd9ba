"""SIGKILL the app at random instants of its first start: the import is all or nothing.

Each run starts the app (`python -m tests.integration.start_app`) on an empty data folder
with a legacy .env of twelve keys and a default.yaml, and kills it a random delay after it
starts upgrading the schema (stratified from there to a little after the import commits:
schema, key file, reading the legacy files, the import's transaction). The folder then
holds either nothing of the import or all of it, the database passes its integrity
check, and the next start completes the import: every key once, each row opening bound to
its row, the default model chosen.
CONFIGAPP_IMPORT_KILLS scales the count (`make reliability`); CONFIGAPP_KILL_SEED replays.
"""

from __future__ import annotations

import collections
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy.exc import OperationalError

from configapp import create_app
from configapp.domain import PROVIDER_ENV_VARS
from configapp.settings import Settings
from tests.integration.support import ROOT, dispose, subprocess_env
from tests.reliability.conftest import sqlite_database

RUNS = int(os.environ.get("CONFIGAPP_IMPORT_KILLS", "12"))
MARKER = "alembic.runtime.migration: Context impl"  # the schema upgrade begins
RECORDED = "Recorded as plan_09_api_keys"  # the import is committed
LEGACY = {names[0]: f"sk-legacy-{provider}-{number:04d}"
          for number, (provider, names) in enumerate(PROVIDER_ENV_VARS.items())}
YAML = "llm:\n  default_model: openai/gpt-4o-mini\n"


def legacy_folder(root: Path) -> Settings:
    root.mkdir(parents=True)
    (root / ".env").write_text("".join(f"{name}={key}\n" for name, key in LEGACY.items()))
    (root / "default.yaml").write_text(YAML)
    return Settings(data_dir=root / "data", env_file=root / ".env",
                    config_file=root / "default.yaml")


def first_start(settings: Settings, kill_after: float | None) -> tuple[bool, float]:
    """Start the app; kill it `kill_after` s after its schema upgrade begins.
    (killed, seconds from the upgrade's beginning to the import's commit)."""
    child = subprocess.Popen([sys.executable, "-m", "tests.integration.start_app"], cwd=ROOT,
                             env=subprocess_env(settings), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    for line in child.stderr:
        if MARKER in line:
            break
    marked, seconds = time.monotonic(), 0.0
    if kill_after is not None:
        time.sleep(kill_after)
        child.send_signal(signal.SIGKILL)
    else:
        for line in child.stderr:
            if RECORDED in line:
                seconds = time.monotonic() - marked
                break
    output, errors = child.communicate(timeout=60)
    killed = child.returncode == -signal.SIGKILL
    assert killed or '"outcome": "started"' in output, errors
    return killed, seconds


def state_after(settings: Settings) -> str:
    """Where the start stopped, from the files: and the database passes its checks."""
    store = sqlite_database(settings.data_dir.parent).store
    if not store.sqlite_path.exists():
        return "no database yet"
    assert store.integrity() == "ok"
    try:
        recorded, keys = store.import_state()
    except OperationalError as error:
        if "no such table" not in str(error):
            raise
        return "schema not complete"  # killed before the tables were all made
    finally:
        store.dispose()
    assert (recorded, keys) in ((False, 0), (True, len(LEGACY))), (recorded, keys)
    return "imported" if recorded else "schema ready, nothing imported"


def assert_imported_once(settings: Settings) -> None:
    """The next start: every legacy key once, opening bound to its row; the default model."""
    dispose(create_app(settings))
    store = sqlite_database(settings.data_dir.parent).store
    try:
        assert store.integrity() == "ok"
        rows = store.rows()
        assert sorted(row.api_key for row in rows.values()) == sorted(LEGACY.values())
        assert [m for m, (default, _) in store.model_configs().items() if default] == [
            "openai/gpt-4o-mini"]
        assert store.import_state() == (True, len(LEGACY))
    finally:
        store.dispose()
    assert not list(settings.data_dir.glob("*.tmp")), "a key file's temporary copy is left"


def test_a_first_start_killed_at_random_instants_imports_all_or_nothing(tmp_path):
    seed = int(os.environ.get("CONFIGAPP_KILL_SEED") or random.SystemRandom().randrange(10**6))
    chance = random.Random(seed)
    whole_run = legacy_folder(tmp_path / "whole")
    _, until_commit = first_start(whole_run, None)  # a whole first start: the time scale
    assert_imported_once(whole_run)
    whole = until_commit * 1.15
    delays = [chance.uniform(whole * i / RUNS, whole * (i + 1) / RUNS) for i in range(RUNS)]
    chance.shuffle(delays)
    states: collections.Counter[str] = collections.Counter()
    kills = 0
    for run, delay in enumerate(delays):
        settings = legacy_folder(tmp_path / f"run{run}")
        killed, _ = first_start(settings, delay)
        kills += killed
        states[state_after(settings) if killed else "finished"] += 1
        assert_imported_once(settings)
    print(f"\nseed {seed}: the import commits {until_commit:.2f} s after the schema upgrade "
          f"begins; {kills} kills in {RUNS} runs; where each stopped: {dict(states)}")
    assert kills >= RUNS // 2
