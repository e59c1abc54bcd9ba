"""The skip gate (tests/skip_gate.py): under CI=true an unlisted skip fails the run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = '''
import pytest


def test_runs():
    assert True


def test_skips():
    pytest.skip("no such thing here")


@pytest.mark.xfail(reason="a known failure, not a skip", strict=True)
def test_fails_as_expected():
    assert False
'''


def run(folder: Path, ci: bool, allowed: str | None = None) -> subprocess.CompletedProcess:
    (folder / "test_probe.py").write_text(PROBE)
    env = {name: value for name, value in os.environ.items()
           if name not in ("CI", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = str(ROOT)
    if ci:
        env["CI"] = "true"
    if allowed is not None:
        (folder / "allowed.txt").write_text(allowed)
        env["CONFIGAPP_ALLOWED_SKIPS"] = str(folder / "allowed.txt")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "tests.skip_gate",
         "-q", f"--rootdir={folder}", str(folder / "test_probe.py")],
        cwd=folder, env=env, capture_output=True, text=True, timeout=120)


def test_in_ci_an_unlisted_skip_fails_the_run_and_is_named(tmp_path):
    result = run(tmp_path, ci=True, allowed="# nothing allowed\n")
    assert result.returncode == 1, result.stdout
    assert "1 passed, 1 skipped, 1 xfailed" in result.stdout
    assert "test_probe.py::test_skips: no such thing here" in result.stdout


def test_in_ci_a_listed_skip_passes(tmp_path):
    result = run(tmp_path, ci=True, allowed="test_probe.py::test_sk* | needs a thing CI lacks\n")
    assert result.returncode == 0, result.stdout


def test_outside_ci_a_skip_is_only_reported(tmp_path):
    result = run(tmp_path, ci=False)
    assert result.returncode == 0, result.stdout
    assert "skip gate" not in result.stdout


def test_a_listed_skip_must_say_why(tmp_path):
    result = run(tmp_path, ci=True, allowed="test_probe.py::test_skips\n")
    assert result.returncode != 0
    assert "write `<test id> | <why it may skip>`" in result.stderr + result.stdout
