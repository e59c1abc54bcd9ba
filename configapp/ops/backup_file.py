"""The backup file's format: the settings as JSON, compressed, encrypted with a passphrase.

    configapp-backup 1
    {"kdf": {"name": "scrypt", "n": ..., "r": 8, "p": 1, "salt": ...}, "nonce": ...,
     "schema": "<alembic revision>", ...}
    <base64 of AES-256-GCM(zlib(payload JSON)), with the header line as associated data>

The key comes from the passphrase by scrypt (cryptography's Scrypt), so a backup opens on
any machine without ENCRYPTION_KEY. GCM's tag covers the payload and the header: a wrong
passphrase, a changed byte or a cut file is refused before anything is read from it.
"""

from __future__ import annotations

import base64
import binascii
import errno
import json
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from configapp.domain import ConfigurationError

MAGIC = b"configapp-backup 1"
# scrypt's cost: 2^15 x 8 x 128 bytes = 32 MiB and about 0.1 s a try (the usual interactive
# setting), so guessing a passphrase costs the same on every try.
SCRYPT = {"n": 2**15, "r": 8, "p": 1}
# The header is read before the file is authenticated: a restore derives a key only with
# costs no higher than a backup writes (32 MiB, 0.1 s), never what a file asks for.
MAX_SALT_BYTES = 64
MAX_HEADER_BYTES = 4096
NONCE_BYTES = 12
MIN_PASSPHRASE = 12
MAX_FILE_BYTES = 512 * 1024 * 1024
# How os.link fails on a file system without hard links (FAT, exFAT, some SMB and NFS).
NO_HARD_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV})


class BackupError(ConfigurationError):
    """A backup that cannot be written or read; nothing was changed."""


@dataclass(frozen=True)
class OpenedBackup:
    header: dict[str, Any]
    payload: dict[str, Any]


def _key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode())


def check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(f"The passphrase must have at least {MIN_PASSPHRASE} characters.")


def seal(payload: dict[str, Any], schema: str | None, passphrase: str) -> bytes:
    """The file's bytes. The payload JSON is canonical (sorted keys), so the same settings
    give the same plaintext; salt and nonce are new every time."""
    check_passphrase(passphrase)
    salt, nonce = os.urandom(16), os.urandom(12)
    header = json.dumps({
        "kdf": {"name": "scrypt", **SCRYPT, "salt": base64.b64encode(salt).decode()},
        "cipher": "AES-256-GCM", "nonce": base64.b64encode(nonce).decode(),
        "compression": "zlib", "schema": schema,
    }, sort_keys=True, separators=(",", ":")).encode()
    plaintext = zlib.compress(canonical(payload), 9)
    sealed = AESGCM(_key(passphrase, salt, **SCRYPT)).encrypt(nonce, plaintext, header)
    return b"\n".join([MAGIC, header, base64.b64encode(sealed)]) + b"\n"


def canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def read_header(data: bytes) -> tuple[dict[str, Any], bytes, bytes]:
    """(header, its bytes, the sealed payload); BackupError for what is not a backup."""
    parts = data.split(b"\n")
    if len(parts) < 3 or parts[0] != MAGIC:
        raise BackupError("This is not a configapp backup (or its first line is damaged).")
    try:
        if len(parts[1]) > MAX_HEADER_BYTES:
            raise ValueError("header too long")
        header = json.loads(parts[1])
        sealed = base64.b64decode(parts[2], validate=True)
        kdf = header["kdf"]
        valid = (kdf["name"] == "scrypt" and header["cipher"] == "AES-256-GCM"
                 and all(type(kdf[k]) is int for k in ("n", "r", "p"))
                 and len(base64.b64decode(kdf["salt"], validate=True)) <= MAX_SALT_BYTES
                 and len(base64.b64decode(header["nonce"], validate=True)) == NONCE_BYTES)
    except (ValueError, KeyError, TypeError, binascii.Error):
        valid = False
    if not valid:
        raise BackupError("The backup is damaged (its header or its body cannot be read).")
    check_cost(kdf)
    return header, parts[1], sealed


def check_cost(kdf: dict[str, Any]) -> None:
    """BackupError unless scrypt's cost is at most what `seal` uses: a header asking for
    more (gigabytes, minutes) is refused before any key is derived."""
    n, r, p = kdf["n"], kdf["r"], kdf["p"]
    if not (2 <= n <= SCRYPT["n"] and n & (n - 1) == 0 and 1 <= r <= SCRYPT["r"]
            and 1 <= p <= SCRYPT["p"]):
        raise BackupError(
            f"The backup asks for a key derivation configapp never writes (scrypt n={n}, "
            f"r={r}, p={p}; at most n={SCRYPT['n']}, r={SCRYPT['r']}, p={SCRYPT['p']}): "
            "refused before deriving. Nothing was changed.")


def open_backup(data: bytes, passphrase: str) -> OpenedBackup:
    header, header_bytes, sealed = read_header(data)
    kdf = header["kdf"]
    try:
        key = _key(passphrase, base64.b64decode(kdf["salt"]), kdf["n"], kdf["r"], kdf["p"])
        plaintext = AESGCM(key).decrypt(base64.b64decode(header["nonce"]), sealed,
                                        header_bytes)
        payload = json.loads(zlib.decompress(plaintext))
    except (InvalidTag, ValueError, binascii.Error, zlib.error):
        raise BackupError("The backup does not open: a wrong passphrase, or a damaged or "
                          "truncated file. Nothing was changed.") from None
    if not isinstance(payload, dict):
        raise BackupError("The backup's content is not what configapp writes.")
    return OpenedBackup(header, payload)


def check_target(path: Path, data_dir: Path, database: Path | None = None,
                 replace: bool = False) -> None:
    """BackupError for a file a backup may not be written to: one inside the data folder
    (the database, the encryption key) or a SQLite database's own files wherever they are,
    symbolic links resolved; or one that exists, unless `replace`."""
    target, data = path.resolve(), data_dir.resolve()
    if target == data or data in target.parents:
        raise BackupError(f"{path} is inside the data folder ({data_dir}), which holds the "
                          "database and the encryption key: write the backup elsewhere. "
                          "Nothing was written.")
    if database is not None and target in {database.resolve().with_name(
            database.resolve().name + suffix) for suffix in ("", "-wal", "-shm", "-journal")}:
        raise BackupError(f"{path} is the database's own file: write the backup elsewhere. "
                          "Nothing was written.")
    if (path.exists() or path.is_symlink()) and not replace:
        raise BackupError(f"{path} exists: choose a new name, or add --force to replace it. "
                          "Nothing was written.")
    if path.is_dir():
        raise BackupError(f"{path} is a folder. Nothing was written.")


def write_private(path: Path, data: bytes, replace: bool = False) -> None:
    """Write the file with mode 0600 from its first byte (a temporary file, renamed; or
    linked, or created in place where there are no hard links, which fails if a file of
    that name appeared meanwhile, unless `replace`)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        descriptor = _create(temporary)
    except OSError as error:
        raise BackupError(f"{path} cannot be written: {error.strerror}.") from None
    try:
        _write(descriptor, data)
        if replace:
            os.replace(temporary, path)
        else:
            _link_or_create(temporary, path, data)
    except FileExistsError:
        raise BackupError(f"{path} exists: choose a new name, or add --force to replace it. "
                          "Nothing was written.") from None
    except OSError as error:
        raise BackupError(f"{path} cannot be written: {error.strerror}.") from None
    finally:
        temporary.unlink(missing_ok=True)


def _create(path: Path) -> int:
    """A new file, mode 0600; FileExistsError if there is one."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


def _write(descriptor: int, data: bytes) -> None:
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _link_or_create(temporary: Path, path: Path, data: bytes) -> None:
    """Link the written file into place, never over another; where the file system has no
    hard links, create the file itself, just as exclusively, and write it there (a write
    cut short removes it)."""
    try:
        os.link(temporary, path)
        return
    except OSError as error:
        if error.errno not in NO_HARD_LINKS:
            raise
    descriptor = _create(path)
    try:
        _write(descriptor, data)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def read_file(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise BackupError(f"{path} is larger than any backup configapp writes.")
        return path.read_bytes()
    except OSError as error:
        raise BackupError(f"{path} cannot be read: {error.strerror}.") from None
