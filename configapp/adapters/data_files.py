"""The data folder and its files are the owner's alone, whatever the umask: the folder
0700 (schema.private_folder: a folder the operator filled and chose a mode for keeps it),
the SQLite database (and its -wal, -shm, -journal), the key file, its backups and the lock
files 0600. SQLite gives -wal and -shm the mode of the database file, so the database is
created 0600 before SQLite opens it."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url

from configapp.schema import private_folder

DATA_FILE_MODE = 0o600
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite URL (None for another database or an in-memory one)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def private_file(path: Path) -> None:
    """Create the file 0600 if missing; take group and other rights off if present."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, DATA_FILE_MODE)
    try:
        os.fchmod(fd, os.fstat(fd).st_mode & DATA_FILE_MODE)
    finally:
        os.close(fd)


def secure_data_files(data_dir: Path, database_url: str | None) -> None:
    """Make the data folder and the files in it private (see the module's docstring); the
    database file too when `database_url` names configapp's own SQLite file."""
    private_folder(data_dir)  # made 0700; an existing one only if it holds nothing yet
    database = sqlite_path(database_url) if database_url else None
    if database is not None:
        database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        private_file(database)
        for suffix in SQLITE_COMPANIONS[1:]:
            companion = database.with_name(database.name + suffix)
            if companion.exists():
                os.chmod(companion, DATA_FILE_MODE)
    for entry in data_dir.iterdir():
        if entry.is_file() and not entry.is_symlink():
            os.chmod(entry, entry.stat().st_mode & DATA_FILE_MODE)
