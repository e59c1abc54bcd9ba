"""The data folder and its files are the owner's alone, whatever the umask: the folder
0700 (one found open to other users is made 0700, with a warning; one that is not ours and
that others may write in stops the start; a container volume's is used, with a warning),
the SQLite database (and its -wal, -shm, -journal), the key file, its backups and the lock
files 0600. SQLite gives -wal and -shm the mode of the database file, so the database is
created 0600 before SQLite opens it."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

from configapp.domain import ConfigurationError

log = logging.getLogger("configapp")
DATA_FILE_MODE = 0o600
DATA_FOLDER_MODE = 0o700


class DataFolderError(ConfigurationError):
    """The data folder is open to other users and configapp cannot close it."""


def private_folder(folder: Path, owner: int | None = None) -> None:
    """Make the data folder, mode 0700. One that exists open to the group or to others (a
    checkout's `data/` made by git with the umask's 0755, or a 0777 one) is made 0700 with
    a warning, since it holds the database and the key file; when it is not `owner`'s (this
    process's user) and others may write in it, or cannot be changed, the start stops,
    saying why. One that is not ours and that others cannot write in is a container's
    volume (Kubernetes' fsGroup, 2775; OpenShift's group 0, 0775): its files are still
    made 0600, and it is used, with a warning."""
    folder.mkdir(mode=DATA_FOLDER_MODE, parents=True, exist_ok=True)
    status = folder.stat()
    if not status.st_mode & 0o077:
        return
    mode = f"{stat.S_IMODE(status.st_mode):04o}"
    owner = os.getuid() if owner is None else owner
    if status.st_uid != owner and not status.st_mode & stat.S_IWOTH:
        log.warning("The data folder %s belongs to user %s, not to this one (%s), and is "
                    "open to its group or others (mode %s): a container volume's; its files "
                    "are kept 0600.", folder, status.st_uid, owner, mode)
        return
    if status.st_uid != owner:
        raise DataFolderError(
            f"The data folder {folder} is open to other users (mode {mode}) and belongs to "
            f"user {status.st_uid}, not to this one ({owner}): run `chmod 700 {folder}` as "
            "its owner, or point CONFIGAPP_DATA_DIR at a folder of this user's.")
    try:
        folder.chmod(DATA_FOLDER_MODE)
    except OSError as error:
        raise DataFolderError(
            f"The data folder {folder} is open to other users (mode {mode}) and could not "
            f"be made 0700 ({error.strerror}): run `chmod 700 {folder}`.") from None
    log.warning("The data folder %s was open to other users (mode %s); it is now 0700, "
                "since it holds the database and the encryption key.", folder, mode)
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
    private_folder(data_dir)
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
