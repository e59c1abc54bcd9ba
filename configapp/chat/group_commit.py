"""GroupCommit: the rows of concurrent callers committed together, each caller back only
once its own row is committed (docs/adr/0007-ledger-write.md).

No thread of its own: the first caller to find no commit under way leads, committing every
row queued by then in its own thread; callers that arrive meanwhile wait, and the first of
them to wake leads the next group. Alone, a caller commits its row at once, as it would
without grouping; sixteen at once share a few commits instead of sixteen.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Row = TypeVar("Row")


class _Ticket(Generic[Row]):
    """One caller's row, and what became of it."""

    __slots__ = ("committed", "done", "error", "row")

    def __init__(self, row: Row) -> None:
        self.row = row
        self.done = False
        self.committed = False
        self.error: BaseException | None = None


class GroupNotCommittedError(RuntimeError):
    """The caller leading the group stopped before its commit ended (the worker is ending)."""


class GroupCommit(Generic[Row]):
    """`submit(row)` returns once `commit` has committed a group holding the row, or raises
    what made its commit fail. A group that fails is committed again row by row, so that a
    row no database accepts fails its own caller alone, and every other caller still gets
    its row committed, or the error that stopped it: never an acknowledgement without one.
    """

    def __init__(self, commit: Callable[[Sequence[Row]], None]) -> None:
        self._commit = commit
        self._turn = threading.Condition()
        self._queued: list[_Ticket[Row]] = []
        self._leading = False

    def submit(self, row: Row) -> None:
        ticket = _Ticket(row)
        with self._turn:
            self._queued.append(ticket)
            while self._leading and not ticket.done:
                self._turn.wait()
            group: list[_Ticket[Row]] | None = None
            if not ticket.done:  # no commit under way: this caller commits the group
                self._leading = True
                group, self._queued = self._queued, []
        if group is not None:
            try:
                self._commit_group(group)
            finally:
                with self._turn:
                    for each in group:
                        each.done = True
                    self._leading = False
                    self._turn.notify_all()
        if not ticket.committed:
            if ticket.error is not None:
                raise ticket.error
            raise GroupNotCommittedError("the group was not committed")

    def _commit_group(self, group: list[_Ticket[Row]]) -> None:
        """Mark each ticket committed, or give it the error that stopped its commit."""
        try:
            self._commit([each.row for each in group])
        except Exception as error:
            if len(group) == 1:
                group[0].error = error
                return
            for each in group:
                try:
                    self._commit([each.row])
                except Exception as own_error:
                    each.error = own_error
                else:
                    each.committed = True
            return
        for each in group:
            each.committed = True
