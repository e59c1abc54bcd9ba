"""SqlAlchemyUsageLedger: the ledger and the budgets, in the same SQL transactions as the
settings (BEGIN IMMEDIATE on SQLite, the advisory lock on PostgreSQL)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select

from configapp.chat.usage import Budget, UsageEntry, UsageTotals
from configapp.keys.sql_storage import SqlAlchemyConfigurationStorage
from configapp.records import BudgetRecord, SettingsRevisionRecord, UsageRecord, utcnow

# The sync's revision: the settings' counter and the ledger's last row, in one statement.
SYNC_REVISION = select(
    SettingsRevisionRecord.__table__.c.store_id, SettingsRevisionRecord.__table__.c.counter,
    select(func.coalesce(func.max(UsageRecord.__table__.c.id), 0)).scalar_subquery())
# Every chat checks the budgets and writes a row: built once (see `_rows` of the storage).
BUDGETS = (select(BudgetRecord.__table__.c["scope", "target", "monthly_limit"])
           .order_by(BudgetRecord.__table__.c.scope, BudgetRecord.__table__.c.target))
NEW_ROW = insert(UsageRecord.__table__)


def _group_column(group_by: str | None, dialect: str) -> ColumnElement[Any] | None:
    if group_by is None:
        return None
    if group_by == "day":
        if dialect == "postgresql":
            return func.to_char(func.timezone("UTC", UsageRecord.created_at), "YYYY-MM-DD")
        return func.substr(UsageRecord.created_at, 1, 10)  # stored as UTC text
    return {"model": UsageRecord.model, "provider": UsageRecord.provider,
            "key": UsageRecord.key_id}[group_by]


class SqlAlchemyUsageLedger:
    """The UsageLedgerPort on the configuration storage's session and write lock."""

    def __init__(self, storage: SqlAlchemyConfigurationStorage) -> None:
        self.storage = storage

    def sync_revision(self) -> tuple[str, int, int]:
        """(store id, settings counter, last ledger row id)."""
        ((store_id, counter, last_usage),) = self.storage._fetch(SYNC_REVISION)
        return store_id, int(counter), int(last_usage)

    def record(self, entry: UsageEntry) -> None:
        # The ledger is not a setting: the sync revision does not move with it.
        with self.storage._write(bump_revision=False) as session:
            session.execute(NEW_ROW, {
                "created_at": entry.created_at, "model": entry.model,
                "provider": entry.provider, "key_id": entry.key_id,
                "key_source": entry.key_source, "purpose": entry.purpose,
                "outcome": entry.outcome, "prompt_tokens": entry.prompt_tokens,
                "completion_tokens": entry.completion_tokens,
                "tokens_counted": entry.tokens_counted, "cost": entry.cost})

    def totals(self, since: datetime, until: datetime,
               group_by: str | None) -> list[UsageTotals]:
        with self.storage._read() as session:
            group = _group_column(group_by, session.get_bind().dialect.name)
            columns = [func.count(), func.coalesce(func.sum(UsageRecord.prompt_tokens), 0),
                       func.coalesce(func.sum(UsageRecord.completion_tokens), 0),
                       func.coalesce(func.sum(UsageRecord.cost), 0.0),
                       func.count(UsageRecord.cost)]
            query = select(*([group] if group is not None else []), *columns).where(
                UsageRecord.created_at >= since, UsageRecord.created_at < until)
            if group is not None:
                query = query.group_by(group).order_by(group)
            rows = session.execute(query).all()
        result = []
        for row in rows:
            label = None
            if group is not None:
                label, row = row[0], row[1:]
                label = ("environment" if label is None else str(label)) if (
                    group_by == "key") else label
            requests, prompt, completion, cost, priced = row
            result.append(UsageTotals(label, int(requests), int(prompt), int(completion),
                                      float(cost), int(requests) - int(priced)))
        return result

    def spent(self, since: datetime, provider: str | None = None,
              key_id: int | None = None) -> float:
        query = select(func.coalesce(func.sum(UsageRecord.cost), 0.0)).where(
            UsageRecord.created_at >= since)
        if provider is not None:
            query = query.where(UsageRecord.provider == provider)
        if key_id is not None:
            query = query.where(UsageRecord.key_id == key_id)
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
