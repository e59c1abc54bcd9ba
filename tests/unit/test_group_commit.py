"""GroupCommit's rule (docs/adr/0007-ledger-write.md): no caller is back before the commit
holding its row, and no caller whose row was not committed is back without an error."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import pytest

from configapp.chat.group_commit import GroupCommit, GroupNotCommittedError

WAIT = 10  # seconds, at most, for a thread on a busy machine


class DatabaseError(Exception):
    pass


class WorkerEnding(BaseException):
    """What a worker's end raises in a thread (SystemExit's kind: not an Exception)."""


class StandInDatabase:
    """Commits rows to a list; its first commit waits until `held` is set; a commit that
    `fails` commits nothing."""

    def __init__(self, fails: Callable[[Sequence[str]], bool] = lambda rows: False,
                 error: type[BaseException] = DatabaseError) -> None:
        self.fails, self.error = fails, error
        self.rows: list[str] = []
        self.groups: list[list[str]] = []
        self.started, self.held = threading.Event(), threading.Event()

    def commit(self, rows: Sequence[str]) -> None:
        if not self.groups:
            self.started.set()
            self.held.wait(WAIT)
        self.groups.append(list(rows))
        time.sleep(0.01)
        if self.fails(rows):
            raise self.error("constraint failed")
        self.rows.extend(rows)


def run_together(database: StandInDatabase, rows: Sequence[str]) -> dict[str, object]:
    """rows[0] submitted alone, its commit held while the others queue behind it; each
    caller's outcome: the rows committed when it was back, or its error."""
    group: GroupCommit[str] = GroupCommit(database.commit)
    outcomes: dict[str, object] = {}

    def call(row: str) -> None:
        try:
            group.submit(row)
            outcomes[row] = set(database.rows)
        except (DatabaseError, GroupNotCommittedError, WorkerEnding) as error:
            outcomes[row] = error

    first = threading.Thread(target=call, args=(rows[0],))
    first.start()
    assert database.started.wait(WAIT)
    others = [threading.Thread(target=call, args=(row,)) for row in rows[1:]]
    for thread in others:
        thread.start()
    deadline = time.monotonic() + WAIT
    while len(group._queued) < len(others) and time.monotonic() < deadline:
        time.sleep(0.005)
    database.held.set()
    for thread in [first, *others]:
        thread.join(WAIT)
    return outcomes


def test_each_caller_is_back_only_after_the_commit_that_holds_its_row():
    database = StandInDatabase()
    outcomes = run_together(database, ["a", "b", "c", "d"])
    assert [sorted(group) for group in database.groups] == [["a"], ["b", "c", "d"]]
    assert set(outcomes) == {"a", "b", "c", "d"}
    for row, committed in outcomes.items():
        assert row in committed, f"{row} was back before its commit"


def test_a_failed_group_commit_fails_every_waiting_caller():
    database = StandInDatabase(fails=lambda rows: True)
    outcomes = run_together(database, ["a", "b", "c", "d"])
    assert set(outcomes) == {"a", "b", "c", "d"}
    assert all(isinstance(outcome, DatabaseError) for outcome in outcomes.values()), outcomes
    assert database.rows == []


def test_a_row_no_database_accepts_fails_its_own_caller_alone():
    database = StandInDatabase(fails=lambda rows: "bad" in rows)
    outcomes = run_together(database, ["a", "b", "bad", "d"])
    assert isinstance(outcomes["bad"], DatabaseError)
    assert sorted(database.rows) == ["a", "b", "d"]
    for row in ("a", "b", "d"):
        assert row in outcomes[row]
    assert sorted(database.groups[1]) == ["b", "bad", "d"]  # together, then one by one


def test_a_leader_stopped_mid_commit_leaves_its_group_with_an_error():
    database = StandInDatabase(fails=lambda rows: len(rows) > 1, error=WorkerEnding)
    outcomes = run_together(database, ["a", "b", "c", "d"])
    assert outcomes["a"] == {"a"}
    led = [outcome for outcome in outcomes.values() if isinstance(outcome, WorkerEnding)]
    assert len(led) == 1  # the leader of b, c and d: its own error
    assert sum(isinstance(outcome, GroupNotCommittedError)
               for outcome in outcomes.values()) == 2, outcomes
    assert database.rows == ["a"]


def test_a_caller_alone_commits_its_row_at_once_or_gets_its_error():
    database = StandInDatabase()
    database.held.set()
    GroupCommit(database.commit).submit("only")
    assert database.groups == [["only"]] and database.rows == ["only"]
    failing = StandInDatabase(fails=lambda rows: True)
    failing.held.set()
    with pytest.raises(DatabaseError):
        GroupCommit(failing.commit).submit("refused")
