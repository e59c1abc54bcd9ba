"""SIGKILL a real `flask --app wsgi config rotate-key` at random instants: no key is lost.

The test holds the rotation's lock file while the child starts (start-up takes about a
second), releases it once the child has said it is about to rotate, and kills it after a
random delay drawn over the length of a whole rotation (stratified, so
that the short steps are hit too). After every run the database passes
`PRAGMA integrity_check` and every row opens, bound to its row, with the keys the app itself
would load (`load_keys`: the key file or ENCRYPTION_KEY, plus an unfinished rotation's
pending key). On SQLite with the key file, and on PostgreSQL, where every instance needs
ENCRYPTION_KEY: there a rotation re-encrypts the rows under the pending key and leaves
the operator to put it in ENCRYPTION_KEY, so a run after a kill resumes the same rotation.
"""

from __future__ import annotations

import collections
import fcntl
import os
import random
import re
import signal
import stat
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from configapp import create_app
from configapp.domain import InvalidEncryptionKeyError
from configapp.keys.fernet import FernetEncryption, load_keys, pending_key_file
from tests.conftest import upgrade_postgres
from tests.integration.support import FLASK, ROOT, dispose, subprocess_env, wait_for
from tests.integration.test_key_rotation import fill, opened_by

ROWS = 300
# At least this many runs: 12 in `make test` (each a `flask` start, about 2.5 s: issue 32 cut
# 24), 100 in `make reliability`; one kill instant in each of RUNS slices of a rotation.
RUNS = int(os.environ.get("CONFIGAPP_ROTATION_RUNS", "12"))
KILLS = RUNS * 5 // 6  # at least this many runs killed mid-rotation
MAX_RUNS = RUNS * 2 - 3
MARKER = "Rotating the encryption key"


def rotate_in_child(settings, env, kill_after: float | None) -> tuple[bool, str]:
    """Run rotate-key; kill it `kill_after` seconds into the rotation. (killed, stderr)."""
    lock_path = settings.key_file.with_name(settings.key_file.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        child = subprocess.Popen([FLASK, "--app", "wsgi", "config", "rotate-key"], cwd=ROOT,
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        for line in child.stderr:
            if MARKER in line:
                break
        assert wait_for(lambda: waits_for_a_lock(child.pid)), "the child never reached the lock"
        fcntl.flock(lock, fcntl.LOCK_UN)
    if kill_after is not None:
        time.sleep(kill_after)
        child.send_signal(signal.SIGKILL)
    _, errors = child.communicate(timeout=60)
    killed = child.returncode == -signal.SIGKILL
    assert killed or child.returncode == 0, errors
    return killed, errors


def waits_for_a_lock(pid: int) -> bool:
    """The process is blocked on a file lock: /proc/locks lists it as a waiter (`->`)."""
    waiting = (line.split() for line in Path("/proc/locks").read_text().splitlines())
    return any(fields[1] == "->" and fields[5] == str(pid) for fields in waiting
               if len(fields) > 5)


def query(settings, statement: str) -> tuple:
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            return tuple(connection.execute(text(statement)).first())
    finally:
        engine.dispose()


def rows_open_with(settings, key: str) -> bool:
    (token,) = query(settings, "SELECT encrypted_key FROM api_keys ORDER BY id LIMIT 1")
    try:
        FernetEncryption([key]).decrypt(token)
    except InvalidEncryptionKeyError:
        return False
    return True


def main_key(settings) -> str:
    """The key that encrypts: ENCRYPTION_KEY's first, else the key file's."""
    if settings.encryption_keys:
        return settings.encryption_keys[0]
    return settings.key_file.read_text().strip()


def state_on_disk(settings, main_before: str) -> str:
    """Where the rotation stopped, from the key files and the rows."""
    main = main_key(settings)
    if main != main_before:
        return "installed"
    if not pending_key_file(settings.key_file).exists():
        return "not started"
    if rows_open_with(settings, main):
        return "new key pending, rows not re-encrypted"
    return "rows committed, new key not installed"


def assert_every_row_opens(settings, expected) -> None:
    if settings.is_sqlite:
        assert query(settings, "PRAGMA integrity_check") == ("ok",)
    if settings.key_file.exists():
        assert stat.S_IMODE(settings.key_file.stat().st_mode) == 0o600
    keys = load_keys(settings.encryption_keys, settings.key_file, stored_rows=len(expected))
    assert opened_by(settings, keys, expected) == len(expected)


@pytest.mark.timeout(1800)  # dozens of `flask` processes: minutes on a loaded machine
def test_a_rotation_killed_at_random_instants_never_loses_a_key(make_settings):
    settings = make_settings()
    if not settings.is_sqlite:
        upgrade_postgres(settings)
    app = create_app(settings)
    expected = fill(app, ROWS)
    dispose(app)
    env = subprocess_env(settings)
    seed = int(os.environ.get("CONFIGAPP_KILL_SEED") or random.SystemRandom().randrange(10**6))
    chance = random.Random(seed)
    _, output = rotate_in_child(settings, env, None)  # a whole rotation sets the time scale
    whole = float(re.search(r"in (\d+\.\d+) s", output).group(1)) + 0.01
    assert_every_row_opens(settings, expected)
    # One random instant in each of RUNS equal slices of a rotation, in a random order, so
    # that the short steps (the commit, the install) get their share of kills.
    delays = [chance.uniform(whole * i / RUNS, whole * (i + 1) / RUNS) for i in range(RUNS)]
    chance.shuffle(delays)
    delays += [chance.uniform(0, whole) for _ in range(MAX_RUNS - RUNS)]
    kills, runs, states = 0, 0, collections.Counter()
    started = time.monotonic()
    while runs < RUNS or (kills < KILLS and runs < MAX_RUNS):
        main_before = main_key(settings)
        killed, _ = rotate_in_child(settings, env, delays[runs])
        runs += 1
        kills += killed
        states[state_on_disk(settings, main_before) if killed else "finished"] += 1
        assert_every_row_opens(settings, expected)
    print(f"\nseed {seed}: {ROWS} rows, a rotation takes {whole:.3f} s; {kills} kills in "
          f"{runs} runs ({time.monotonic() - started:.1f} s); where each run stopped: "
          f"{dict(states)}")
    assert kills >= KILLS, f"only {kills} of {runs} runs were killed mid-rotation (seed {seed})"
    rotate_in_child(settings, env, None)  # a last run finishes whatever was left
    if settings.is_sqlite:
        main = settings.key_file.read_text().strip()
        assert not pending_key_file(settings.key_file).exists()
    else:  # every row is under the pending key, which the operator now puts first
        main = pending_key_file(settings.key_file).read_text().strip()
        settings = replace(settings, encryption_keys=(main,))
        pending_key_file(settings.key_file).unlink()
    assert opened_by(settings, [main], expected) == ROWS
    dispose(create_app(settings))  # and the app starts on it
