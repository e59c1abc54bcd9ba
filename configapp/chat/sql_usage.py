"""SqlAlchemyUsageLedger: the ledger and the budgets, in the same SQL transactions as the
settings (BEGIN IMMEDIATE on SQLite, the advisory lock on PostgreSQL); the ledger's rows by
group commit (docs/adr/0007-ledger-write.md)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, delete, func, insert, select, text

from configapp.chat.group_commit import GroupCommit
from configapp.chat.usage import NO_CLIENT, NO_CLIENT_NAME, Budget, UsageEntry, UsageTotals
from configapp.keys.sql_storage import (
    IMMEDIATE,
    SINGLE_STATEMENT,
    WRITE_LOCK_ID,
    SqlAlchemyConfigurationStorage,
)
from configapp.records import (
    BudgetRecord,
    ClientRecord,
    SettingsRevisionRecord,
    UsageRecord,
    utcnow,
)

# The sync's revision: the settings' counter and the ledger's last row, in one statement.
SYNC_REVISION = select(
    SettingsRevisionRecord.__table__.c.store_id, SettingsRevisionRecord.__table__.c.counter,
    select(func.coalesce(func.max(UsageRecord.__table__.c.id), 0)).scalar_subquery())
# Every chat checks the budgets and writes a row: built once (see `_rows` of the storage).
BUDGETS = (select(BudgetRecord.__table__.c["scope", "target", "monthly_limit"])
           .order_by(BudgetRecord.__table__.c.scope, BudgetRecord.__table__.c.target))
NEW_ROW = insert(UsageRecord.__table__)
WRITE_LOCK = text(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_ID})")


def row_values(entry: UsageEntry) -> dict[str, Any]:
    """The ledger row of one entry, as NEW_ROW's parameters."""
    return {"created_at": entry.created_at, "model": entry.model, "provider": entry.provider,
            "key_id": entry.key_id, "key_source": entry.key_source, "purpose": entry.purpose,
            "outcome": entry.outcome, "prompt_tokens": entry.prompt_tokens,
            "completion_tokens": entry.completion_tokens,
            "tokens_counted": entry.tokens_counted, "cost": entry.cost,
            "client_id": entry.client_id, "receipt": entry.receipt}


def _group_column(group_by: str | None, dialect: str) -> ColumnElement[Any] | None:
    if group_by is None:
        return None
    if group_by == "day":
        if dialect == "postgresql":
            return func.to_char(func.timezone("UTC", UsageRecord.created_at), "YYYY-MM-DD")
        return func.substr(UsageRecord.created_at, 1, 10)  # stored as UTC text
    return {"model": UsageRecord.model, "provider": UsageRecord.provider,
            "key": UsageRecord.key_id, "client": UsageRecord.client_id}[group_by]


class SqlAlchemyUsageLedger:
    """The UsageLedgerPort on the configuration storage's session and write lock."""

    def __init__(self, storage: SqlAlchemyConfigurationStorage) -> None:
        self.storage = storage
        self._group: GroupCommit[dict[str, Any]] = GroupCommit(self._insert)

    def sync_revision(self) -> tuple[str, int, int]:
        """(store id, settings counter, last ledger row id)."""
        ((store_id, counter, last_usage),) = self.storage._fetch(SYNC_REVISION)
        return store_id, int(counter), int(last_usage)

    def record(self, entry: UsageEntry) -> None:
        """Back once the row is committed, so a chat's answer (its `done`) always follows
        its row's commit; the rows of chats ending together share one commit
        (docs/adr/0007-ledger-write.md). The ledger is not a setting: the sync revision's
        counter does not move with it."""
        self._group.submit(row_values(entry))

    def _insert(self, rows: Sequence[dict[str, Any]]) -> None:
        """One Core INSERT of the group on a pooled connection of the leading request's
        own. On SQLite one row commits itself (no BEGIN: the write lock is taken once),
        more go in one BEGIN IMMEDIATE; on PostgreSQL the group holds the write lock the
        settings' writes take, so rows commit in id order (the sync revision counts the
        last one) and never between a restore's delete and its inserts."""
        with self.storage.database.engine.connect() as connection:
            begin = SINGLE_STATEMENT if len(rows) == 1 else IMMEDIATE
            connection.execution_options(**{begin: True})
            if connection.dialect.name == "postgresql":
                connection.execute(WRITE_LOCK)
            connection.execute(NEW_ROW, list(rows))
            connection.commit()

    def by_receipt(self, receipt: str) -> UsageEntry | None:
        with self.storage._read() as session:
            row = session.scalars(select(UsageRecord).where(UsageRecord.receipt == receipt)
                                  .limit(1)).first()
            if row is None:
                return None
            return UsageEntry(
                model=row.model, provider=row.provider, key_id=row.key_id,
                key_source=row.key_source, purpose=row.purpose, outcome=row.outcome,
                prompt_tokens=row.prompt_tokens, completion_tokens=row.completion_tokens,
                tokens_counted=row.tokens_counted, cost=row.cost, created_at=row.created_at,
                client_id=row.client_id, receipt=row.receipt)

    def totals(self, since: datetime, until: datetime,
               group_by: str | None) -> list[UsageTotals]:
        with self.storage._read() as session:
            group = _group_column(group_by, session.get_bind().dialect.name)
            columns = [func.count(), func.coalesce(func.sum(UsageRecord.prompt_tokens), 0),
                       func.coalesce(func.sum(UsageRecord.completion_tokens), 0),
                       func.coalesce(func.sum(UsageRecord.cost), 0.0),
                       func.count(UsageRecord.cost),
                       func.count(case((UsageRecord.outcome == "unavailable", 1)))]
            query = select(*([group] if group is not None else []), *columns).where(
                UsageRecord.created_at >= since, UsageRecord.created_at < until)
            if group is not None:
                query = query.group_by(group).order_by(group)
            rows = session.execute(query).all()
            names = (dict(session.execute(select(ClientRecord.id, ClientRecord.name)).all())
                     if group_by == "client" else {})
        result = []
        for row in rows:
            label, name = None, None
            if group is not None:
                label, row = row[0], row[1:]
                if group_by == "client":
                    name = NO_CLIENT_NAME if label is None else names.get(label)
                    label = NO_CLIENT if label is None else str(label)
                elif group_by == "key":
                    label = "environment" if label is None else str(label)
            requests, prompt, completion, cost, priced, unavailable = row
            result.append(UsageTotals(label, int(requests), int(prompt), int(completion),
                                      float(cost), int(requests) - int(priced), name,
                                      int(unavailable)))
        return result

    def spent(self, since: datetime, provider: str | None = None,
              key_id: int | None = None, client_id: int | None = None) -> float:
        query = select(func.coalesce(func.sum(UsageRecord.cost), 0.0)).where(
            UsageRecord.created_at >= since)
        if provider is not None:
            query = query.where(UsageRecord.provider == provider)
        if key_id is not None:
            query = query.where(UsageRecord.key_id == key_id)
        if client_id is not None:
            query = query.where(UsageRecord.client_id == client_id)
        with self.storage._read() as session:
            return float(session.scalar(query) or 0.0)

    def budgets(self) -> list[Budget]:
        return [Budget(*row) for row in self.storage._rows(BUDGETS)]

    def set_budget(self, budget: Budget) -> Budget:
        with self.storage._write() as session:
            row = session.scalars(select(BudgetRecord).where(
                BudgetRecord.scope == budget.scope, BudgetRecord.target == budget.target)).first()
            if row is None:
                row = BudgetRecord(scope=budget.scope, target=budget.target)
                session.add(row)
            row.monthly_limit = budget.monthly_limit
            row.updated_at = utcnow()
            session.flush()
            return Budget(row.scope, row.target, row.monthly_limit)

    def delete_budget(self, scope: str, target: str) -> bool:
        with self.storage._write() as session:
            gone = session.execute(delete(BudgetRecord).where(
                BudgetRecord.scope == scope, BudgetRecord.target == target))
            return bool(gone.rowcount)
