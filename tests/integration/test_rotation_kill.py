"""SIGKILL a real `flask --app wsgi config rotate-key` at random instants: no key is lost.

The test holds the rotation's lock file while the child starts (start-up takes about a
second), releases it once the child has said it is about to rotate, and kills it after a
random delay drawn over the length of a whole rotation (stratified, so
that the short steps are hit too). After every run the database passes
`PRAGMA integrity_check` and every row opens, bound to its row, with the keys the app itself
would load (`load_keys`: the key file plus an unfinished rotation's pending key).
"""

from __future__ import annotations

import collections
import fcntl
import os
import random
import re
import signal
import sqlite3
import stat
import subprocess
import time

import pytest

from configapp import create_app
from configapp.adapters.fernet import FernetEncryption, load_keys, pending_key_file
from configapp.domain import InvalidEncryptionKeyError
from tests.integration.support import FLASK, ROOT, dispose, subprocess_env
from tests.integration.test_key_rotation import fill, opened_by

ROWS = 300
RUNS = int(os.environ.get("CONFIGAPP_ROTATION_RUNS", "24"))  # at least this many runs
KILLS = RUNS * 5 // 6  # at least this many runs killed mid-rotation
MAX_RUNS = RUNS * 2 - 3
MARKER = "Rotating the encryption key"


def rotate_in_child(settings, env, kill_after: float | None) -> tuple[bool, str]:
    """Run rotate-key; kill it `kill_after` seconds into the rotation. (killed, stderr)."""
    lock_path = settings.key_file.with_name(settings.key_file.name + ".lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        child = subprocess.Popen([FLASK, "--app", "wsgi", "config", "rotate-key"], cwd=ROOT,
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        for line in child.stderr:
            if MARKER in line:
                break
        time.sleep(0.05)  # the child reaches the lock and waits there
        fcntl.flock(lock, fcntl.LOCK_UN)
    if kill_after is not None:
        time.sleep(kill_after)
        child.send_signal(signal.SIGKILL)
    _, errors = child.communicate(timeout=60)
    killed = child.returncode == -signal.SIGKILL
    assert killed or child.returncode == 0, errors
    return killed, errors


def rows_open_with(settings, key: str) -> bool:
    connection = sqlite3.connect(settings.data_dir / "configapp.db")
    token = connection.execute("SELECT encrypted_key FROM api_keys LIMIT 1").fetchone()[0]
    connection.close()
    try:
        FernetEncryption([key]).decrypt(token)
    except InvalidEncryptionKeyError:
        return False
    return True


def state_on_disk(settings, main_before: str) -> str:
    """Where the rotation stopped, from the key files and the rows."""
    main = settings.key_file.read_text().strip()
    if main != main_before:
        return "installed"
    if not pending_key_file(settings.key_file).exists():
        return "not started"
    if rows_open_with(settings, main):
        return "new key pending, rows not re-encrypted"
    return "rows committed, new key not installed"


def assert_every_row_opens(settings, expected) -> None:
    connection = sqlite3.connect(settings.data_dir / "configapp.db")
    assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    connection.close()
    assert stat.S_IMODE(settings.key_file.stat().st_mode) == 0o600
    keys = load_keys((), settings.key_file, stored_rows=len(expected))
    assert opened_by(settings, keys, expected) == len(expected)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_rotation_killed_at_random_instants_never_loses_a_key(make_settings):
    settings = make_settings()
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
        main_before = settings.key_file.read_text().strip()
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
    main = settings.key_file.read_text().strip()
    assert not pending_key_file(settings.key_file).exists()
    assert opened_by(settings, [main], expected) == ROWS
    dispose(create_app(settings))  # and the app starts on it
