"""Under CI=true, a skipped test fails the run unless tests/allowed_skips.txt lists it.

A skip hides a test that did not run; in CI every test must run (PostgreSQL, Chromium and
the provider stand-in are all there), so a skip is allowed only where the file says why.
Outside CI, skips are listed with their reasons at the end; the PostgreSQL half of the
suite, skipped by a bare `pytest`, is named with the command that runs it.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ALLOWED_SKIPS = Path(__file__).with_name("allowed_skips.txt")
ALLOWED_SKIPS_ENV = "CONFIGAPP_ALLOWED_SKIPS"  # another file, for the gate's own test
NO_POSTGRES = "CONFIGAPP_TEST_DATABASE_URL is not set"


@dataclass(frozen=True)
class Allowed:
    pattern: str
    reason: str


def read_allowed(path: Path) -> list[Allowed]:
    """`<node id or fnmatch pattern> | <why it may skip>` per line; # starts a comment."""
    allowed = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        pattern, bar, reason = (part.strip() for part in line.partition("|"))
        if not bar or not pattern or not reason:
            raise pytest.UsageError(f"{path}:{number}: write `<test id> | <why it may skip>`")
        allowed.append(Allowed(pattern, reason))
    return allowed


class SkipGate:
    def __init__(self, config: pytest.Config) -> None:
        self.ci = os.environ.get("CI", "").lower() == "true"
        path = Path(os.environ.get(ALLOWED_SKIPS_ENV) or ALLOWED_SKIPS)
        self.allowed = read_allowed(path) if path.is_file() else []
        self.skipped: dict[str, str] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped and not hasattr(report, "wasxfail"):
            longrepr: Any = report.longrepr
            reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
            self.skipped[report.nodeid] = reason.removeprefix("Skipped: ")

    def unlisted(self) -> dict[str, str]:
        return {node: reason for node, reason in self.skipped.items()
                if not any(fnmatch.fnmatchcase(node, a.pattern) for a in self.allowed)}

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.ci and self.unlisted() and session.exitstatus in (
                pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        write = terminalreporter.write_line
        no_postgres = [node for node, reason in self.skipped.items() if NO_POSTGRES in reason]
        if no_postgres:
            write(f"{len(no_postgres)} PostgreSQL tests skipped: {NO_POSTGRES}. Run them with "
                  "`scripts/with-postgres .venv/bin/python -m pytest ...` (a throwaway "
                  "server) or `make test`.", yellow=True, bold=True)
        unlisted = self.unlisted()
        if self.ci and unlisted:
            write(f"skip gate: {len(unlisted)} skipped test(s) not listed in "
                  f"{ALLOWED_SKIPS.name} fail this CI run:", red=True, bold=True)
            for node, reason in list(unlisted.items())[:50]:
                write(f"  {node}: {reason}", red=True)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(SkipGate(config), "configapp-skip-gate")
