"""Checking and rotating the encryption key (`flask config check-key`, `rotate-key`).

Rotation is crash-safe by its order: the new key is on disk (`.encryption_key.new`, which
`load_keys` reads as a decrypt-only key) before any row is re-encrypted under it; every row
is re-encrypted in one transaction; only after the commit is durable does the new key file
replace the old one, which stays as a dated 0600 backup. Killed at any instant, every row
still opens with the keys on disk, and running `rotate-key` again finishes the job.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from configapp.domain import (
    ApiKeyConfig,
    ConfigurationError,
    InvalidEncryptionKeyError,
    SealedKey,
)
from configapp.keys.fernet import FernetEncryption, read_key_file
from configapp.keys.key_files import KeyFiles, generate_key
from configapp.keys.sql_storage import SqlAlchemyConfigurationStorage


def fingerprint(key: str) -> str:
    """A short name for a key that reveals nothing of it (a SHA-256 prefix)."""
    return hashlib.sha256(key.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class ConfiguredKey:
    """A key the app reads, and where from (ENCRYPTION_KEY, the key file, a pending file)."""

    key: str = field(repr=False)
    source: str
    pending: bool = False

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key)


def configured_keys(env_keys: Sequence[str], key_file: Path) -> list[ConfiguredKey]:
    """The keys in the order `load_keys` gives them to the app: the first encrypts."""
    keys = [ConfiguredKey(key, f"ENCRYPTION_KEY #{number}")
            for number, key in enumerate(env_keys, start=1)]
    if not keys and key_file.is_file():
        keys = [ConfiguredKey(read_key_file(key_file), str(key_file))]
    pending = KeyFiles(key_file).read_pending()
    if pending is not None and pending not in {k.key for k in keys}:
        keys.append(ConfiguredKey(pending, f"{KeyFiles(key_file).pending} "
                                           "(an unfinished rotation's new key)", pending=True))
    return keys


@dataclass(frozen=True)
class RowProblem:
    record: ApiKeyConfig
    problem: str

    def describe(self) -> str:
        r = self.record
        return f"row {r.id} ({r.provider} {r.masked_key} '{r.key_name}'): {self.problem}"


@dataclass(frozen=True)
class KeyCheck:
    """Which configured key opens how many rows, and the rows none of them opens."""

    keys: tuple[ConfiguredKey, ...]
    opened: tuple[int, ...]
    problems: tuple[RowProblem, ...]
    rows: int

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        lines = [f"{self.rows} stored key(s); {len(self.keys)} encryption key(s) configured:"]
        for index, (key, count) in enumerate(zip(self.keys, self.opened, strict=True)):
            role = "encrypts new keys" if index == 0 else "decrypts only"
            lines.append(f"  {key.source} (fingerprint {key.fingerprint}, {role}): "
                         f"opens {count} row(s)")
        lines += [f"  {problem.describe()}" for problem in self.problems]
        if self.ok:
            lines.append("Every stored key opens with the configured encryption key(s).")
            if self.keys and self.opened[0] == self.rows and len(self.keys) > 1:
                lines.append("Every row opens with the first key: the other keys are no "
                             "longer needed for the stored rows.")
        else:
            lines.append(f"{len(self.problems)} row(s) cannot be used: restore the key they "
                         "were saved with (see docs/operators/security/encryption.md), or "
                         "delete them and enter the keys again.")
        if any(key.pending for key in self.keys):
            lines.append("A key rotation has not finished: run `flask --app wsgi config "
                         "rotate-key` to finish it.")
        return lines


def check_keys(storage: SqlAlchemyConfigurationStorage,
               keys: Sequence[ConfiguredKey]) -> KeyCheck:
    """Try every row with every key, and check each token belongs to its row. Read-only."""
    ciphers = [FernetEncryption([key.key]) for key in keys]
    opened = [0] * len(keys)
    problems: list[RowProblem] = []
    rows = storage.list_encrypted_keys()
    for record, token in rows:
        problem = _check_row(record, token, ciphers, opened)
        if problem:
            problems.append(RowProblem(record, problem))
    return KeyCheck(tuple(keys), tuple(opened), tuple(problems), len(rows))


def _check_row(record: ApiKeyConfig, token: str, ciphers: Sequence[FernetEncryption],
               opened: list[int]) -> str | None:
    for index, cipher in enumerate(ciphers):
        try:
            plaintext = cipher.decrypt(token)
        except InvalidEncryptionKeyError:
            continue
        opened[index] += 1
        try:
            sealed = SealedKey.from_plaintext(plaintext)
        except (ValueError, KeyError, TypeError):
            return "opens, but is not a configapp key token; enter the key again"
        if not sealed.matches(record):
            return "belongs to another row or base URL; enter the key again"
        return None
    return "no configured encryption key opens it"


@dataclass(frozen=True)
class Rotation:
    """What a rotation did. `new_key` is for printing only when the operator asks."""

    rows: int
    fingerprint: str
    new_key: str = field(repr=False)
    generated: bool
    resumed: bool
    kept_key: bool
    from_environment: bool
    key_file: Path | None  # the key file replaced by the new key
    backup: Path | None  # the old key file's backup
    pending: Path | None  # a pending key file the configured keys do not hold yet
    stale_pending: Path | None  # a pending key file whose key is configured: deletable
    seconds: float


def rotate_key(storage: SqlAlchemyConfigurationStorage, env_keys: Sequence[str],
               key_file: Path, given_key: str | None = None, keep_key: bool = False,
               progress: Callable[[int, int], None] | None = None) -> Rotation:
    """Re-encrypt every row under a new key (generated, given, or the first configured one
    with `keep_key`), then install it; see the module's docstring for the order."""
    with KeyFiles(key_file).lock():
        return _rotate(storage, env_keys, key_file, given_key, keep_key, progress)


def _rotate(storage: SqlAlchemyConfigurationStorage, env_keys: Sequence[str], key_file: Path,
            given_key: str | None, keep_key: bool,
            progress: Callable[[int, int], None] | None) -> Rotation:
    started = time.monotonic()
    files = KeyFiles(key_file)
    keys = configured_keys(env_keys, key_file)
    if not keys:
        raise InvalidEncryptionKeyError("No encryption key is configured.")
    target, generated, resumed = _target_key(keys, files, given_key, keep_key)
    FernetEncryption([target])  # a given key that is not a Fernet key stops here
    before = check_keys(storage, keys)
    unreadable = [p for p in before.problems if p.problem.startswith("no configured")]
    if unreadable:
        ids = ", ".join(str(p.record.id) for p in unreadable[:20])
        raise InvalidEncryptionKeyError(
            f"No configured key opens row(s) {ids}, so they cannot be re-encrypted; run "
            "`flask --app wsgi config check-key`. Nothing was changed.")
    if target != keys[0].key and files.read_pending() != target:
        files.write_pending(target)
    others = [key.key for key in keys if key.key != target]
    rotator = FernetEncryption([target, *others])
    rows = storage.reencrypt_all(rotator.rotate, progress)
    storage.make_durable()
    from_environment = bool(env_keys)
    backup = installed = None
    if not from_environment and files.read_pending() == target:
        backup = files.install_pending(datetime.now(UTC))
        installed = key_file
    left = files.read_pending()
    primary = set(env_keys) if from_environment else {files.read_main()}
    pending = files.pending if left is not None and left not in primary else None
    stale = files.pending if left is not None and left in primary else None
    return Rotation(rows, fingerprint(target), target, generated, resumed, keep_key,
                    from_environment, installed, backup, pending, stale,
                    time.monotonic() - started)


def _target_key(keys: Sequence[ConfiguredKey], files: KeyFiles, given_key: str | None,
                keep_key: bool) -> tuple[str, bool, bool]:
    """(the key to rotate to, whether it was generated, whether it resumes a rotation)."""
    if keep_key:
        if given_key is not None:
            raise ConfigurationError("Give either a new key or --keep-key, not both.")
        return keys[0].key, False, False
    unfinished = next((key.key for key in keys if key.pending), None)
    if unfinished is not None:
        if given_key is not None and given_key != unfinished:
            raise ConfigurationError(
                f"A rotation to another key has not finished ({files.pending} exists): run "
                "`flask --app wsgi config rotate-key` without a key to finish it first.")
        return unfinished, False, True
    if given_key is not None:
        return given_key, False, False
    return generate_key(), True, False

