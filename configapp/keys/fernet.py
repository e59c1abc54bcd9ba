"""FernetEncryption and the encryption key's loading: ENCRYPTION_KEY or the key file."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from configapp.domain import InvalidEncryptionKeyError

WRONG_KEY_HELP = (
    "The encryption key cannot decrypt the stored API keys. Restore the key they were "
    "saved with (ENCRYPTION_KEY, or the backup of data/.encryption_key); run "
    "`flask --app wsgi config check-key` to see which rows are affected, and see "
    "docs/operators/security/encryption.md (rotation and recovery). Nothing was changed."
)
PENDING_SUFFIX = ".new"


class FernetEncryption:
    """The EncryptionPort on MultiFernet: the first key encrypts, every key decrypts."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise InvalidEncryptionKeyError("No encryption key is configured.")
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError:
            raise InvalidEncryptionKeyError(
                "ENCRYPTION_KEY (or the key file) is not a valid Fernet key: it must be 32 "
                "url-safe base64-encoded bytes, as made by Fernet.generate_key()."
            ) from None

    def __repr__(self) -> str:
        return "FernetEncryption(<keys hidden>)"

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise InvalidEncryptionKeyError(WRONG_KEY_HELP) from None

    def rotate(self, token: str) -> str:
        """The token re-encrypted under the first key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise InvalidEncryptionKeyError(WRONG_KEY_HELP) from None


def read_key_file(path: Path) -> str:
    return path.read_text().strip()


def create_key_file(path: Path) -> str:
    """Write a new Fernet key, readable by the owner only; never overwrite one.

    The key is written whole to a private temporary file, then linked to its name: a
    worker starting at the same moment sees either no key file or a complete one.
    FileExistsError when another process made it first. The folder exists: the start made
    it private before (keys/data_files.py).
    """
    key = Fernet.generate_key()
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return key.decode()


def pending_key_file(key_file: Path) -> Path:
    """Where a rotation keeps its new key until it is installed: `.encryption_key.new`."""
    return key_file.with_name(key_file.name + PENDING_SUFFIX)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_temporaries(key_file: Path) -> None:
    """Remove the temporary key files of starts killed before they linked theirs (see
    create_key_file): each holds a key that opens nothing. A running process's is kept."""
    prefix = f"{key_file.name}."
    for temporary in key_file.parent.glob(f"{prefix}*.tmp"):
        pid = temporary.name.removeprefix(prefix).removesuffix(".tmp")
        if pid.isdigit() and not process_alive(int(pid)):
            temporary.unlink(missing_ok=True)


def load_keys(env_keys: Sequence[str], key_file: Path, stored_rows: int) -> list[str]:
    """The configured keys, then the key of an unfinished rotation (decrypt-only), so that
    every row opens whichever instant a rotation stopped at."""
    remove_stale_temporaries(key_file)
    keys = _configured_keys(env_keys, key_file, stored_rows)
    pending = pending_key_file(key_file)
    if pending.is_file() and (key := read_key_file(pending)) not in keys:
        keys.append(key)
    return keys


def _configured_keys(env_keys: Sequence[str], key_file: Path, stored_rows: int) -> list[str]:
    """ENCRYPTION_KEY's keys, else the key file's, else a new key file (only while no
    encrypted row exists, so a lost key is never silently replaced)."""
    if env_keys:
        return list(env_keys)
    if key_file.is_file():
        return [read_key_file(key_file)]
    if stored_rows:
        raise InvalidEncryptionKeyError(
            f"{stored_rows} encrypted API key(s) are stored but {key_file} is missing and "
            "ENCRYPTION_KEY is not set. Restore the key file from your backup (or set "
            "ENCRYPTION_KEY); a new key would not open them. Nothing was changed."
        )
    try:
        return [create_key_file(key_file)]
    except FileExistsError:  # another worker made it first
        return [read_key_file(key_file)]
