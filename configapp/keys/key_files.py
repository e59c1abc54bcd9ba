"""The key files of a rotation: the pending new key, its atomic install, the dated backup.

Order on disk, so that at every instant each row opens with the keys `load_keys` reads:
the new key is written durably to `.encryption_key.new` before any row is re-encrypted
under it; once the rows are committed, the old key file is hard-linked to
`.encryption_key.<UTC time>.bak` (0600) and the new file replaces it with one rename.
"""

from __future__ import annotations

import fcntl
import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.fernet import Fernet

from configapp.keys.fernet import pending_key_file, read_key_file


def generate_key() -> str:
    return Fernet.generate_key().decode()


def fsync_dir(path: Path) -> None:
    """Make a rename or a new name in `path` survive a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class KeyFiles:
    """`.encryption_key`, its pending successor and its backups, in one folder."""

    main: Path

    @property
    def pending(self) -> Path:
        return pending_key_file(self.main)

    def read_main(self) -> str | None:
        return read_key_file(self.main) if self.main.is_file() else None

    def read_pending(self) -> str | None:
        return read_key_file(self.pending) if self.pending.is_file() else None

    def backups(self) -> list[Path]:
        return sorted(self.main.parent.glob(f"{self.main.name}.*.bak"))

    @contextmanager
    def lock(self) -> Iterator[None]:
        """One rotation at a time on this folder: two would overwrite each other's key."""
        self.main.parent.mkdir(parents=True, exist_ok=True)
        lock = self.main.with_name(self.main.name + ".lock")
        with open(os.open(lock, os.O_WRONLY | os.O_CREAT, 0o600), "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def write_pending(self, key: str) -> None:
        """The new key beside the old one, whole and synced, before a row depends on it."""
        self.main.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.main.with_name(self.pending.name + ".tmp")
        temporary.unlink(missing_ok=True)  # left by a crash; never read as a key
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.pending)
        fsync_dir(self.main.parent)

    def install_pending(self, now: datetime) -> Path | None:
        """Make the pending key the key file; the old one is kept as a dated backup."""
        backup = self._backup(now) if self.main.is_file() else None
        os.replace(self.pending, self.main)
        fsync_dir(self.main.parent)
        return backup

    def _backup(self, now: datetime) -> Path:
        """A second name for the old key file (a hard link: never half-written), mode 0600.
        A backup left by an interrupted install of the same file is reused."""
        for existing in self.backups():
            if existing.samefile(self.main):
                return existing
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        for attempt in itertools.count():
            suffix = f"-{attempt}" if attempt else ""
            backup = self.main.with_name(f"{self.main.name}.{stamp}{suffix}.bak")
            try:
                os.link(self.main, backup)
                break
            except FileExistsError:
                continue
        os.chmod(backup, 0o600)
        fsync_dir(self.main.parent)
        return backup
