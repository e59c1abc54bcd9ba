"""SqlAlchemyDiscoveryStorage: each key's discovered models, in the `discovered_models` table.

A listing is compared with the key's rows first, in a read: an unchanged listing (the usual
case, every TTL, on every worker) writes nothing. The sync revision does not move: these
rows change no setting.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select

from configapp.catalog.discovery import StoredListing
from configapp.keys.sql_storage import SqlAlchemyConfigurationStorage, _aware
from configapp.providers.llm import ReachableModel
from configapp.records import ApiKeyRecord, DiscoveredModelRecord, utcnow

TABLE = DiscoveredModelRecord.__table__
COLUMNS = ("model_id", "display_name", "context_window", "max_output_tokens")
# What a provider says of a model is stored cut to the columns' sizes and ranges.
MAX_NAME = 255
MAX_INT = 2**31 - 1


def _stored(model: ReachableModel) -> tuple[str, str | None, int | None, int | None]:
    def number(value: int | None) -> int | None:
        return value if value is not None and 0 < value <= MAX_INT else None

    name = model.display_name
    # PostgreSQL refuses a NUL in text: a name with control characters is not kept.
    shown = name[:MAX_NAME] if isinstance(name, str) and name.isprintable() else None
    return (model.model_id[:MAX_NAME], shown, number(model.context_window),
            number(model.max_output_tokens))


class SqlAlchemyDiscoveryStorage:
    """The DiscoveryStoragePort, in the configuration's database and transactions."""

    def __init__(self, storage: SqlAlchemyConfigurationStorage) -> None:
        self.storage = storage

    def keep_discoveries(self, key_id: int, models: list[ReachableModel],
                         complete: bool = True) -> bool:
        """Make the key's rows the listing's models (of a cut listing, `complete` False: add
        and update rows, delete none); False (and no write) when they already are."""
        listed = {row[0]: row for row in map(_stored, models)}
        query = select(*(TABLE.c[name] for name in COLUMNS)).where(TABLE.c.key_id == key_id)
        with self.storage._read() as session:
            known = {row.model_id: tuple(row) for row in session.execute(query)}
        wanted = listed if complete else {**known, **listed}
        if known == wanted:
            return False
        with self.storage._write(bump_revision=False) as session:
            if session.get(ApiKeyRecord, key_id) is None:
                return False  # deleted meanwhile
            known = {row.model_id: tuple(row) for row in session.execute(query)}
            wanted = listed if complete else {**known, **listed}
            stale = [model_id for model_id, row in known.items() if wanted.get(model_id) != row]
            if stale:
                session.execute(delete(TABLE).where(TABLE.c.key_id == key_id,
                                                    TABLE.c.model_id.in_(stale)))
            now = utcnow()
            new = [dict(zip(COLUMNS, row, strict=True), key_id=key_id, listed_at=now)
                   for model_id, row in wanted.items() if known.get(model_id) != row]
            if new:
                session.execute(insert(TABLE), new)
        return True

    def discoveries(self) -> list[StoredListing]:
        """Each active key's discoveries, with when they last changed."""
        query = (select(ApiKeyRecord.provider, ApiKeyRecord.id, ApiKeyRecord.api_base,
                        TABLE.c.listed_at, *(TABLE.c[name] for name in COLUMNS))
                 .join(ApiKeyRecord, ApiKeyRecord.id == TABLE.c.key_id)
                 .where(ApiKeyRecord.is_active)
                 .order_by(ApiKeyRecord.id, TABLE.c.model_id))
        keys: dict[int, tuple[str, str | None]] = {}
        models: dict[int, list[ReachableModel]] = {}
        changed: dict[int, datetime] = {}
        with self.storage._read() as session:
            for provider, key_id, base, listed_at, *said in session.execute(query):
                keys[key_id] = (provider, base)
                models.setdefault(key_id, []).append(ReachableModel(*said))
                changed[key_id] = max(changed.get(key_id, _aware(listed_at)),
                                      _aware(listed_at))
        return [StoredListing(provider, key_id, base, changed[key_id], tuple(models[key_id]))
                for key_id, (provider, base) in keys.items()]
