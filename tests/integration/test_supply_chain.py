"""The process holds every provider key: what it runs must be exactly what was vetted."""

import re
import site
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCKS = [ROOT / "requirements.lock", ROOT / "requirements-dev.lock"]
# .pth files run code at every interpreter start; only these known ones may exist.
KNOWN_PTH = {"distutils-precedence.pth", "a1_coverage.pth"}
COMPROMISED = {("litellm", "1.82.7"), ("litellm", "1.82.8")}
PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s\\;]+)")


def pins(lock: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) for each requirement of a lock file."""
    found: dict[str, tuple[str, int]] = {}
    name = None
    for line in lock.read_text().splitlines():
        match = PIN.match(line)
        if match:
            name = re.sub(r"\[.*\]", "", match.group(1)).lower().replace("_", "-")
            found[name] = (match.group(2), 0)
        elif name and "--hash=sha256:" in line:
            version, count = found[name]
            found[name] = (version, count + 1)
    return found


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: p.name)
def test_every_requirement_is_pinned_exactly_with_hashes(lock):
    locked = pins(lock)
    assert len(locked) > 10
    assert [name for name, (_, hashes) in locked.items() if hashes == 0] == []
    assert not {(name, version) for name, (version, _) in locked.items()} & COMPROMISED


def test_installed_versions_are_the_locked_ones():
    locked = {**pins(LOCKS[1]), **pins(LOCKS[0])}
    wrong = {}
    for name, (version, _) in locked.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # a platform-specific requirement not installed here
        if installed != version:
            wrong[name] = (installed, version)
    assert wrong == {}
    assert locked["litellm"][0] == metadata.version("litellm")


def test_no_unexpected_pth_file_is_installed():
    found = {path.name for folder in site.getsitepackages() for path in Path(folder).glob("*.pth")}
    assert found - KNOWN_PTH == set()


def test_installs_use_the_hashes_and_only_the_lock():
    """--no-deps: the lock is complete, so pip must not resolve again (a dependency asking
    for an extra, litellm's httpx[http2], otherwise sends it to the index for a newer,
    unhashed release)."""
    makefile = (ROOT / "Makefile").read_text()
    installs = [line for line in makefile.splitlines() if "install" in line and "-r " in line]
    assert installs and all("--require-hashes" in line and "--no-deps" in line
                            for line in installs)
