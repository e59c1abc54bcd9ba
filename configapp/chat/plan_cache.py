"""PlanCache: what the settings say a chat uses, kept per settings revision.

A chat reads the revision once (one statement); every change of a setting, on any
instance, moves it in the change's own transaction (keys/sql_storage.py `_write`). An entry
is served only to a chat that read the very revision it was built under, and it was built
from reads made after that revision was read: so it is never older than what the chat
read, and a moved revision drops the lot. The process's catalogue is part of the
generation too (compared by identity: a new object when LiteLLM's metadata is reloaded or a
provider's listing changes), since a model's prices and bounds come from it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
MAX_ENTRIES = 256  # model ids, aliases and purposes asked for, and providers


@dataclass(frozen=True, eq=False)
class Generation:
    """The settings revision and the catalogue object that a chat's plan read."""

    revision: str
    catalog: object

    def same(self, other: Generation | None) -> bool:
        return (other is not None and self.revision == other.revision
                and self.catalog is other.catalog)

    def __repr__(self) -> str:
        return f"Generation({self.revision!r})"


class PlanCache:
    """Entries of one generation at a time, at most `max_entries` (the oldest goes first).
    Thread-safe; a build runs outside the lock (two threads may build the same entry, and
    both results are equally fresh). Errors are never kept: a refused chat is asked again."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._generation: Generation | None = None
        self._entries: dict[Hashable, Any] = {}

    def entry(self, generation: Generation, key: Hashable, build: Callable[[], T]) -> T:
        """The entry `key` built under `generation`, else `build()`, kept under it. Call
        `build` only with reads made after the generation's revision was read."""
        with self._lock:
            if generation.same(self._generation) and key in self._entries:
                return self._entries[key]  # type: ignore[no-any-return]
        value = build()
        with self._lock:
            if not generation.same(self._generation):
                self._generation, self._entries = generation, {}
            if key not in self._entries and len(self._entries) >= self.max_entries:
                del self._entries[next(iter(self._entries))]
            self._entries[key] = value
        return value

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:  # entries hold key rows and Fernet tokens: never shown
        return f"PlanCache({len(self._entries)} entries of {self._generation!r})"
