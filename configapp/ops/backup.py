"""Backup and restore of the settings: keys, models, defaults, parameters, budgets, client
tokens (as their hashes) and the usage ledger, table by table.

A table joins the backup with one line in TABLES (e.g. aliases or curation). Keys travel
as their plaintext inside the encrypted file (ops/backup_file.py), never masked and never as
tokens of this instance's ENCRYPTION_KEY: a restore seals them again under the target's
key, bound to their rows. A restore first checks every row with the rules of a save
(ops/backup_rules.py), then replaces the tables' rows with the backup's in one transaction:
all of them, or, whatever fails on the way, none.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, delete, insert, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from configapp.domain import InvalidEncryptionKeyError, SealedKey, mask_key
from configapp.keys.service import ConfigurationService
from configapp.keys.sql_storage import SqlAlchemyConfigurationStorage
from configapp.log_lines import log_text
from configapp.ops.backup_file import BackupError
from configapp.ops.backup_rules import PLAINTEXT, check_tables
from configapp.ports import EncryptionPort
from configapp.records import (
    ApiKeyRecord,
    BudgetRecord,
    ClientRecord,
    DiscoveredModelRecord,
    ModelAliasRecord,
    ModelConfigRecord,
    ModelListingRecord,
    ModelPurposeRecord,
    ModelVisibilityRecord,
    ProviderCurationRecord,
    PurposeFallbackRecord,
    UsageRecord,
)
from configapp.schema import MIGRATIONS_DIR

audit = logging.getLogger("configapp.audit")

FORMAT = "configapp-settings"
VERSION = 1


@dataclass(frozen=True)
class BackupTable:
    """A table in the backup: every column but `skip`, rows identified by `key`."""

    table: Table
    key: tuple[str, ...]
    skip: tuple[str, ...] = ()
    keeps_ids: bool = field(default=False)

    @property
    def name(self) -> str:
        return self.table.name

    def columns(self) -> list[str]:
        return [c.name for c in self.table.columns if c.name not in self.skip]


# In restore order.
TABLES: tuple[BackupTable, ...] = (
    # Ids kept: a key's tokens are bound to its id, budgets and the ledger name it.
    BackupTable(ApiKeyRecord.__table__, ("id",), skip=("encrypted_key", "last_used_at"),
                keeps_ids=True),
    BackupTable(DiscoveredModelRecord.__table__, ("key_id", "model_id")),
    BackupTable(ModelConfigRecord.__table__, ("model_id",), skip=("id",)),
    BackupTable(ProviderCurationRecord.__table__, ("provider",)),
    BackupTable(ModelVisibilityRecord.__table__, ("model_id",)),
    BackupTable(ModelAliasRecord.__table__, ("name",)),
    BackupTable(ModelPurposeRecord.__table__, ("name",)),
    BackupTable(PurposeFallbackRecord.__table__, ("name",)),
    BackupTable(ModelListingRecord.__table__, ("model_id",)),
    BackupTable(BudgetRecord.__table__, ("scope", "target"), skip=("id",)),
    # Ids kept: the ledger names a client by its id. Tokens travel as their hashes only.
    BackupTable(ClientRecord.__table__, ("id",), keeps_ids=True),
    BackupTable(UsageRecord.__table__, ("id",), keeps_ids=True),
)


def _dump_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    return value


@dataclass
class TableChange:
    name: str
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0

    def line(self) -> str:
        return (f"  {self.name}: {self.added} added, {self.changed} changed, "
                f"{self.removed} removed, {self.unchanged} unchanged")

    @property
    def any(self) -> bool:
        return bool(self.added or self.changed or self.removed)


@dataclass
class RestoreReport:
    schema: str | None
    changes: list[TableChange]
    applied: bool
    unreadable_keys: list[int] = field(default_factory=list)

    def lines(self) -> list[str]:
        verb = "Restored" if self.applied else "The restore would change (dry run, nothing "\
            "written)"
        lines = [f"{verb}:", *(change.line() for change in self.changes)]
        if self.unreadable_keys:
            lines.append("  (stored keys " + ", ".join(map(str, self.unreadable_keys))
                         + " do not open with this instance's encryption key: counted as "
                           "changed)")
        if not any(change.any for change in self.changes):
            lines.append("Nothing to change: the database already holds this backup.")
        return lines


class SettingsBackup:
    """Reads the tables into a payload, and writes a payload back in one transaction."""

    def __init__(self, storage: SqlAlchemyConfigurationStorage, encryption: EncryptionPort,
                 schema_head: str | None, rules: ConfigurationService) -> None:
        self.storage = storage
        self.encryption = encryption
        self.schema_head = schema_head
        self.rules = rules

    # ---- backup ------------------------------------------------------------------------

    def payload(self) -> dict[str, Any]:
        """Every table's rows, in key order, keys in plaintext; one read transaction."""
        with self.storage._read() as session:
            tables = {spec.name: self._dump(session, spec, strict=True)[0] for spec in TABLES}
        return {"format": FORMAT, "version": VERSION, "schema": self.schema_head,
                "tables": tables}

    def _dump(self, session: Session, spec: BackupTable,
              strict: bool) -> tuple[dict[str, Any], list[int]]:
        columns = spec.columns()
        order = [spec.table.c[name] for name in spec.key]
        rows, unreadable = [], []
        for row in session.execute(select(spec.table).order_by(*order)).mappings():
            values = {name: _dump_value(row[name]) for name in columns}
            if spec.table is ApiKeyRecord.__table__:
                try:
                    values[PLAINTEXT] = self._plaintext(row)
                except InvalidEncryptionKeyError:
                    if strict:
                        raise
                    values[PLAINTEXT] = None
                    unreadable.append(row["id"])
            rows.append(values)
        names = sorted(rows[0]) if rows else sorted(
            [*columns, PLAINTEXT] if spec.table is ApiKeyRecord.__table__ else columns)
        return {"columns": names, "rows": [[r[name] for name in names] for r in rows]}, unreadable

    def _plaintext(self, row: Any) -> str:
        try:
            sealed = SealedKey.from_plaintext(self.encryption.decrypt(row["encrypted_key"]))
        except (ValueError, KeyError) as error:
            raise InvalidEncryptionKeyError(f"Stored key {row['id']} cannot be read.") from error
        if (sealed.row_id, sealed.provider, sealed.api_base) != (
                row["id"], row["provider"], row["api_base"]):
            raise InvalidEncryptionKeyError(
                f"Stored key {row['id']} does not belong to its row: no backup is written "
                "with it. Enter it again, or delete it, then back up.")
        return sealed.api_key

    # ---- restore -----------------------------------------------------------------------

    def check(self, payload: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        """The payload's rows by table, as dicts ready to write; BackupError for anything
        this version of configapp did not write, or a row a save would have refused."""
        if payload.get("format") != FORMAT or not isinstance(payload.get("tables"), dict):
            raise BackupError("The backup's content is not what configapp writes.")
        if payload.get("version") != VERSION:
            raise BackupError("The backup comes from a newer configapp: upgrade this one "
                              "first. Nothing was changed.")
        check_schema(payload.get("schema"))
        known = {spec.name: spec for spec in TABLES}
        tables: dict[str, list[dict[str, Any]]] = {}
        for name, content in payload["tables"].items():
            spec = known.get(name)
            if spec is None:
                raise BackupError(f"The backup holds a table this configapp does not know "
                                  f"({str(name)[:40]}). Nothing was changed.")
            columns = content.get("columns") if isinstance(content, dict) else None
            allowed = {*spec.columns(), *([PLAINTEXT] if name == "api_keys" else [])}
            rows = content.get("rows", []) if isinstance(content, dict) else None
            if not isinstance(columns, list) or not all(
                    isinstance(column, str) for column in columns) or not set(
                    columns) <= allowed or not isinstance(
                    rows, list) or not all(
                    isinstance(row, list) and len(row) == len(columns) for row in rows):
                raise BackupError(f"The backup's {str(name)[:40]} table is damaged.")
            tables[name] = [dict(zip(columns, row, strict=True)) for row in rows]
        return check_tables(tables, {spec.name: spec.table for spec in TABLES}, self.rules)

    def restore(self, payload: dict[str, Any], dry_run: bool = False) -> RestoreReport:
        """Replace the tables' rows with the backup's in one transaction (none on a dry run)."""
        tables = self.check(payload)
        try:
            changes, unreadable = self._replace(tables, dry_run)
        except SQLAlchemyError as error:
            raise BackupError(f"The backup could not be loaded ({type(error).__name__}); the "
                              "transaction was rolled back, nothing was changed.") from None
        if not dry_run:
            self.storage.make_durable()
            audit.info("settings restored from a backup: %s",
                       log_text("; ".join(c.line().strip() for c in changes), limit=4000))
        return RestoreReport(payload.get("schema"), changes, not dry_run, unreadable)

    def _replace(self, tables: dict[str, list[dict[str, Any]]],
                 dry_run: bool) -> tuple[list[TableChange], list[int]]:
        manner = self.storage._read() if dry_run else self.storage._write()
        with manner as session:
            changes, unreadable = [], []
            for spec in TABLES:
                if spec.name not in tables:
                    continue
                current, missing = self._dump(session, spec, strict=False)
                unreadable += missing
                changes.append(_diff(spec, current, tables[spec.name]))
            if not dry_run:
                for spec in reversed(TABLES):
                    if spec.name in tables:
                        session.execute(delete(spec.table))
                for spec in TABLES:
                    if spec.name in tables:
                        self._insert(session, spec, tables[spec.name])
        return changes, unreadable

    def _insert(self, session: Session, spec: BackupTable, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            values = {name: value for name, value in row.items() if name != PLAINTEXT}
            if spec.table is ApiKeyRecord.__table__:
                key = row.get(PLAINTEXT)
                if not isinstance(key, str) or not key:
                    raise BackupError(f"Key {row.get('id')} of the backup has no key.")
                values["masked_key"] = mask_key(key)
                values["encrypted_key"] = self.encryption.encrypt(SealedKey(
                    values["id"], values["provider"], values.get("api_base"), key,
                ).to_plaintext())
            session.execute(insert(spec.table).values(**values))
        if spec.keeps_ids and session.get_bind().dialect.name == "postgresql":
            _advance_sequence(session, spec.table)


def _diff(spec: BackupTable, current: dict[str, Any],
          incoming: list[dict[str, Any]]) -> TableChange:
    names = current["columns"]
    now = {tuple(row[names.index(k)] for k in spec.key): row for row in current["rows"]}
    change = TableChange(spec.name)
    seen = set()
    for row in incoming:
        identity = tuple(row.get(k) for k in spec.key)
        seen.add(identity)
        before = now.get(identity)
        if before is None:
            change.added += 1
        elif [_dump_value(row.get(name)) for name in names] == before:
            change.unchanged += 1
        else:
            change.changed += 1
    change.removed = len(set(now) - seen)
    return change


def _advance_sequence(session: Session, table: Table) -> None:
    """PostgreSQL: the id sequence past every restored id, never back (ids are not reused)."""
    sequence = session.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"),
                              {"t": table.name})
    if sequence is None:
        return
    highest = session.scalar(text(f"SELECT COALESCE(MAX(id), 0) FROM {table.name}"))  # noqa: S608
    last = session.scalar(text(f"SELECT last_value FROM {sequence}"))  # noqa: S608
    if highest > last:
        session.execute(text("SELECT setval(:s, :v)"), {"s": sequence, "v": highest})


def check_schema(revision: Any) -> None:
    """BackupError unless the backup's schema revision is one this configapp knows."""
    if not _known_revision(revision):
        raise BackupError(f"The backup comes from a newer configapp (schema "
                          f"{str(revision)[:40]}): upgrade this one first. Nothing was changed.")


def _known_revision(revision: Any) -> bool:
    if not isinstance(revision, str):
        return False
    from alembic.script import ScriptDirectory  # only here: a start does not need Alembic

    try:
        return ScriptDirectory(str(MIGRATIONS_DIR)).get_revision(revision) is not None
    except Exception:  # alembic raises its own errors for unknown or malformed ids
        return False

