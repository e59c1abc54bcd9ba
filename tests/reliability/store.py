"""The database as the tests see it from outside the app: sampled, opened, checked.

A `Store` is one database (an SQLite file, or a PostgreSQL database) and the Fernet keys
that open its rows. The tests read it directly, never through the app, so that what they
find is what is on disk.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

from configapp.domain import InvalidEncryptionKeyError, SealedKey
from configapp.keys.fernet import FernetEncryption

DEFAULT_MODELS = text("SELECT count(*) FROM model_configs WHERE is_default")


@dataclass(frozen=True)
class Row:
    """A key row, opened: its columns and the plaintext its token holds."""

    id: int
    provider: str
    key_name: str
    api_base: str | None
    is_active: bool
    api_key: str


@dataclass
class Store:
    """One database and where its encryption keys are (ENCRYPTION_KEY or a key file)."""

    url: str
    encryption_keys: tuple[str, ...] = ()
    key_file: Path | None = None
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path:
        return Path(self.url.removeprefix("sqlite:///"))

    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine(self.url, pool_size=1, max_overflow=0) if (
                not self.is_sqlite) else create_engine(self.url)
        return self._engine

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def keys(self) -> list[str]:
        if self.encryption_keys:
            return list(self.encryption_keys)
        assert self.key_file is not None
        return [self.key_file.read_text().strip()]

    def default_models(self) -> int:
        with self.engine().connect() as connection:
            return int(connection.execute(DEFAULT_MODELS).scalar())

    def revision(self) -> int:
        with self.engine().connect() as connection:
            return int(connection.execute(text("SELECT counter FROM settings_revision")).scalar())

    def integrity(self) -> str:
        """`PRAGMA integrity_check` on a new connection to the file (so after any crash
        recovery); PostgreSQL has no such check: its rows are checked instead."""
        if not self.is_sqlite:
            return "n/a"
        connection = sqlite3.connect(self.sqlite_path, timeout=30)
        try:
            return "; ".join(row[0] for row in connection.execute("PRAGMA integrity_check"))
        finally:
            connection.close()

    def rows(self) -> dict[int, Row]:
        """Every key row, opened with the keys; AssertionError naming any row that does not
        open, or opens bound to another row, provider or base URL (a half-written row)."""
        cipher = FernetEncryption(self.keys())
        opened: dict[int, Row] = {}
        bad: list[str] = []
        with self.engine().connect() as connection:
            result = connection.execute(text(
                "SELECT id, provider, key_name, api_base, is_active, encrypted_key "
                "FROM api_keys ORDER BY id"))
            for row_id, provider, name, base, active, token in result:
                try:
                    sealed = SealedKey.from_plaintext(cipher.decrypt(token))
                except (InvalidEncryptionKeyError, ValueError, KeyError, TypeError) as error:
                    bad.append(f"row {row_id}: does not open ({type(error).__name__})")
                    continue
                if (sealed.row_id, sealed.provider, sealed.api_base) != (row_id, provider, base):
                    bad.append(f"row {row_id}: its token is bound to another row")
                opened[row_id] = Row(row_id, provider, name, base, bool(active), sealed.api_key)
        assert not bad, "; ".join(bad)
        return opened

    def model_configs(self) -> dict[str, tuple[bool, dict[str, Any]]]:
        """model id -> (is default, parameters)."""
        with self.engine().connect() as connection:
            result = connection.execute(text(
                "SELECT model_id, is_default, parameters FROM model_configs"))
            return {model: (bool(default), params if isinstance(params, dict) else
                            json.loads(params or "{}"))
                    for model, default, params in result}

    def import_state(self) -> tuple[bool, int]:
        """(whether the one-time import is recorded, how many key rows there are)."""
        with self.engine().connect() as connection:
            recorded = connection.execute(text(
                "SELECT count(*) FROM migration_versions WHERE version = 'plan_09_api_keys'"
            )).scalar()
            keys = connection.execute(text("SELECT count(*) FROM api_keys")).scalar()
        return bool(recorded), int(keys)
