"""SqlAlchemyConfigurationStorage: keys, model configs and the revision, in SQL.

Every method is one transaction. Writes are serialised: on SQLite by `BEGIN IMMEDIATE`
(see `configure_engine`), on PostgreSQL by one transaction-scoped advisory lock, so the
read-then-write swaps (active key, default model) never race across workers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import (
    Dialect,
    Engine,
    Row,
    Select,
    bindparam,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from configapp.domain import (
    ApiKeyConfig,
    ApiKeyNotFoundError,
    ImportedSettings,
    ModelConfig,
    NewApiKey,
    NewKeySecret,
)
from configapp.records import (
    ApiKeyRecord,
    MigrationVersionRecord,
    ModelConfigRecord,
    SettingsRevisionRecord,
    utcnow,
)

# A key to import: what to store, its masked form, and `seal(row_id)` giving its token.
KeyToImport = tuple[NewApiKey, str, Callable[[int], str]]

WRITE_LOCK_ID = 0x636F6E66  # "conf": the advisory lock that serialises writes on PostgreSQL
IMMEDIATE = "configapp_immediate"
# A connection whose one statement SQLite commits on its own (autocommit): no BEGIN, so one
# round of locking instead of three statements (the ledger's insert, docs/adr/0007).
SINGLE_STATEMENT = "configapp_single_statement"

# The reads behind every sync and `?configured=true` request: one statement each, with
# no parameters, run on a DBAPI cursor (see `_fetch`). Built once, on the tables' columns,
# and compiled once per dialect.
REVISION = select(SettingsRevisionRecord.__table__.c.store_id,
                  SettingsRevisionRecord.__table__.c.counter)
ACTIVE_PROVIDERS = (select(ApiKeyRecord.__table__.c.provider)
                    .where(ApiKeyRecord.__table__.c.is_active).distinct())
# The reads behind every chat's plan (see `_rows`), built once: building a statement and
# its cache key costs about 120 us of CPU per read, three times what running it costs.
API_KEYS = ApiKeyRecord.__table__
MODEL_CONFIGS = ModelConfigRecord.__table__
ACTIVE_KEY = (select(API_KEYS)
              .where(API_KEYS.c.provider == bindparam("provider"), API_KEYS.c.is_active)
              .limit(1))
ENCRYPTED_KEY = select(API_KEYS.c.encrypted_key).where(API_KEYS.c.id == bindparam("key_id"))
DEFAULT_MODEL = select(MODEL_CONFIGS).where(MODEL_CONFIGS.c.is_default).limit(1)
MODEL_CONFIG = select(MODEL_CONFIGS).where(MODEL_CONFIGS.c.model_id == bindparam("model_id"))


# Set in a session's info while its reads share one transaction.
READS_TOGETHER = "configapp.reads_together"
WRITES_TOGETHER = "configapp.writes_together"


@lru_cache(maxsize=32)
def _sql(statement: Select, dialect: Dialect) -> str:
    return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def configure_engine(engine: Engine) -> None:
    """SQLite: WAL, a busy timeout, and BEGIN IMMEDIATE for write transactions."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        options = connection.get_execution_options()
        if options.get(SINGLE_STATEMENT):
            return
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get(IMMEDIATE) else "BEGIN")


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _key_config(row: ApiKeyRecord | Row[Any]) -> ApiKeyConfig:
    return ApiKeyConfig(
        id=row.id, provider=row.provider, key_name=row.key_name, masked_key=row.masked_key,
        api_base=row.api_base, is_active=row.is_active, created_at=_aware(row.created_at),
        updated_at=_aware(row.updated_at), last_used_at=_aware(row.last_used_at),
    )


def _model_config(row: ModelConfigRecord | Row[Any]) -> ModelConfig:
    return ModelConfig(model_id=row.model_id, provider=row.provider,
                       is_default=row.is_default, parameters=dict(row.parameters or {}),
                       updated_at=_aware(row.updated_at))


class Database(Protocol):
    """What the storage needs of a database: a Flask-SQLAlchemy `db` has both (the
    standalone app's, or a host app's), and so has configapp.database.OwnDatabase."""

    @property
    def engine(self) -> Engine: ...

    @property
    def session(self) -> Any: ...  # a scoped session: call it for the current one


class SqlAlchemyConfigurationStorage:
    """The ConfigurationStoragePort on the app context's session of `database`, but for
    select_model: the app uses SqlAlchemyCurationStorage, which adds it and the curation."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @property
    def session(self) -> Session:
        return self.database.session()

    def _fetch(self, statement: Select) -> list[tuple[Any, ...]]:
        """The rows of one parameterless read, on a pooled connection's DBAPI cursor.

        About 12 us of CPU, against 55 us on a Core connection and 195 us through the ORM
        session, whose transaction and result machinery a single SELECT does not need.
        Closing the connection rolls it back and returns it to the pool (on SQLite, where
        BEGIN is ours to issue, the SELECT runs on its own, in autocommit mode).
        """
        if self.session.info.get(WRITES_TOGETHER):  # see the transaction's own writes
            return [tuple(row) for row in self.session.execute(statement)]
        engine = self.database.engine
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(_sql(statement, engine.dialect))
                return cursor.fetchall()
            finally:
                cursor.close()
        finally:
            connection.close()

    def _rows(self, statement: Select, **params: Any) -> Sequence[Row[Any]]:
        """The rows of one prebuilt read, as Core rows (named tuples), in a read of its own
        or in the `reads_together` around it: about 45 us of CPU in a shared transaction,
        against 150 to 220 us for a statement built per call that loads ORM objects, which
        a read that builds a dataclass from each row does not need."""
        with self._read() as session:
            return session.execute(statement, params).all()

    @contextmanager
    def _read(self) -> Iterator[Session]:
        """The session, for one read, rolled back after it (no read transaction is kept
        open between reads: a WAL checkpoint or a PostgreSQL vacuum would wait on it),
        unless it is one of `reads_together`."""
        session = self.session
        if session.info.get(READS_TOGETHER) or session.info.get(WRITES_TOGETHER):
            yield session
            return
        try:
            yield session
        finally:
            session.rollback()

    @contextmanager
    def reads_together(self) -> Iterator[None]:
        """One BEGIN and one ROLLBACK for the reads inside, instead of one pair each:
        about 130 us of CPU per read on SQLite, where BEGIN is a statement of ours. The
        transaction is a new one, so the reads see every commit made before they began
        (the chat's plan cache relies on it: chat/plan_cache.py)."""
        session = self.session
        if session.info.get(WRITES_TOGETHER):
            yield
            return
        if session.in_transaction():
            session.rollback()
        session.info[READS_TOGETHER] = True
        try:
            yield
        finally:
            del session.info[READS_TOGETHER]
            session.rollback()

    @contextmanager
    def writes_together(self) -> Iterator[None]:
        """One transaction for every write (and read) inside: committed at the end, or
        rolled back whole when anything inside raises (an import is all or nothing)."""
        with self._write() as session:
            session.info[WRITES_TOGETHER] = True
            try:
                yield
            finally:
                del session.info[WRITES_TOGETHER]

    @contextmanager
    def _write(self, bump_revision: bool = True) -> Iterator[Session]:
        session = self.session
        if session.info.get(WRITES_TOGETHER):  # a part of writes_together: it commits
            yield session
            session.flush()
            return
        if session.in_transaction():
            session.rollback()
        connection = session.connection(execution_options={IMMEDIATE: True})
        try:
            if connection.dialect.name == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:id)"),
                                {"id": WRITE_LOCK_ID})
            yield session
            if bump_revision:
                self._bump_revision(session)
            session.commit()
        except BaseException:
            session.rollback()
            raise

    @staticmethod
    def _bump_revision(session: Session) -> None:
        session.execute(update(SettingsRevisionRecord)
                        .values(counter=SettingsRevisionRecord.counter + 1))

    def _key_row(self, session: Session, key_id: int) -> ApiKeyRecord:
        row = session.get(ApiKeyRecord, key_id)
        if row is None:
            raise ApiKeyNotFoundError(f"No API key with id {key_id}.")
        return row

    # ---- keys --------------------------------------------------------------------------

    def add_api_key(self, new: NewApiKey, masked_key: str,
                    seal: Callable[[int], str]) -> ApiKeyConfig:
        with self._write() as session:
            if new.is_active:
                self._deactivate_provider(session, new.provider)
            return _key_config(self._insert_key(session, new, masked_key, seal))

    @staticmethod
    def _insert_key(session: Session, new: NewApiKey, masked_key: str,
                    seal: Callable[[int], str]) -> ApiKeyRecord:
        row = ApiKeyRecord(provider=new.provider, key_name=new.key_name,
                           encrypted_key="", masked_key=masked_key,
                           api_base=new.api_base, is_active=new.is_active)
        session.add(row)
        session.flush()
        row.encrypted_key = seal(row.id)
        session.flush()
        return row

    def _deactivate_provider(self, session: Session, provider: str) -> None:
        session.execute(update(ApiKeyRecord)
                        .where(ApiKeyRecord.provider == provider, ApiKeyRecord.is_active)
                        .values(is_active=False, updated_at=utcnow()))

    def list_api_keys(self, provider: str | None = None) -> list[ApiKeyConfig]:
        query = select(ApiKeyRecord).order_by(ApiKeyRecord.provider, ApiKeyRecord.id)
        if provider:
            query = query.where(ApiKeyRecord.provider == provider)
        with self._read() as session:
            return [_key_config(row) for row in session.scalars(query)]

    def get_api_key(self, key_id: int) -> ApiKeyConfig:
        with self._read() as session:
            return _key_config(self._key_row(session, key_id))

    def get_encrypted_key(self, key_id: int) -> str:
        rows = self._rows(ENCRYPTED_KEY, key_id=key_id)
        if not rows:
            raise ApiKeyNotFoundError(f"No API key with id {key_id}.")
        return rows[0].encrypted_key

    def active_api_key(self, provider: str) -> ApiKeyConfig | None:
        rows = self._rows(ACTIVE_KEY, provider=provider)
        return _key_config(rows[0]) if rows else None

    def providers_with_active_keys(self) -> set[str]:
        return {provider for (provider,) in self._fetch(ACTIVE_PROVIDERS)}

    def update_api_key(self, key_id: int, key_name: str | None, is_active: bool | None,
                       secret: NewKeySecret | None = None) -> ApiKeyConfig:
        with self._write() as session:
            row = self._key_row(session, key_id)
            if is_active and not row.is_active:
                self._deactivate_provider(session, row.provider)
            if key_name is not None:
                row.key_name = key_name
            if is_active is not None:
                row.is_active = is_active
            if secret is not None:
                row.api_base = secret.api_base
                row.masked_key = secret.masked_key
                row.encrypted_key = secret.seal(row.id)
            row.updated_at = utcnow()
            session.flush()
            return _key_config(row)

    def delete_api_key(self, key_id: int) -> ApiKeyConfig:
        with self._write() as session:
            row = self._key_row(session, key_id)
            gone = _key_config(row)
            session.delete(row)
            return gone

    def touch_api_key(self, key_id: int) -> None:
        with self._write(bump_revision=False) as session:
            session.execute(update(ApiKeyRecord).where(ApiKeyRecord.id == key_id)
                            .values(last_used_at=utcnow()))

    def sample_encrypted_key(self) -> str | None:
        query = select(ApiKeyRecord.encrypted_key).order_by(ApiKeyRecord.id.desc()).limit(1)
        with self._read() as session:
            return session.scalars(query).first()

    def key_exists(self, key_id: int) -> bool:
        with self._read() as session:
            return session.get(ApiKeyRecord, key_id) is not None

    def count_api_keys(self) -> int:
        with self._read() as session:
            return session.scalar(select(func.count()).select_from(ApiKeyRecord)) or 0

    # ---- models ------------------------------------------------------------------------

    def _config_row(self, session: Session, model_id: str, provider: str) -> ModelConfigRecord:
        row = session.scalars(select(ModelConfigRecord)
                              .where(ModelConfigRecord.model_id == model_id)).first()
        if row is None:
            row = ModelConfigRecord(model_id=model_id, provider=provider, is_default=False,
                                    parameters={})
            session.add(row)
        return row

    def _make_default(self, session: Session, model_id: str, provider: str) -> ModelConfig:
        """The one default model (select_model is the curation storage's: it also forgets
        the chat purpose's alias)."""
        session.execute(update(ModelConfigRecord)
                        .where(ModelConfigRecord.is_default,
                               ModelConfigRecord.model_id != model_id)
                        .values(is_default=False))
        row = self._config_row(session, model_id, provider)
        row.is_default = True
        row.updated_at = utcnow()
        session.flush()
        return _model_config(row)

    def selected_model(self) -> ModelConfig | None:
        rows = self._rows(DEFAULT_MODEL)
        return _model_config(rows[0]) if rows else None

    def get_model_config(self, model_id: str) -> ModelConfig | None:
        rows = self._rows(MODEL_CONFIG, model_id=model_id)
        return _model_config(rows[0]) if rows else None

    def set_parameters(self, model_id: str, provider: str,
                       parameters: dict[str, Any]) -> ModelConfig:
        with self._write() as session:
            row = self._config_row(session, model_id, provider)
            row.parameters = parameters
            row.updated_at = utcnow()
            session.flush()
            return _model_config(row)

    # ---- revision ----------------------------------------------------------------------

    def revision(self) -> str:
        ((store_id, counter),) = self._fetch(REVISION)
        return f"{store_id}-{counter}"

    # ---- one-time imports --------------------------------------------------------------

    def migration_applied(self, version: str) -> datetime | None:
        """When the one-time data migration `version` ran, or None if it has not."""
        with self._read() as session:
            row = session.get(MigrationVersionRecord, version)
            return _aware(row.applied_at) if row else None

    def import_once(self, version: str, keys: Sequence[KeyToImport],
                    default_model: tuple[str, str] | None,
                    details: str) -> ImportedSettings | None:
        """Import keys and a default model, recorded as `version`, in one transaction.

        None when `version` is already recorded (another process got there first). The
        database wins: a provider that has any stored key keeps it, and a chosen default
        model stays chosen.
        """
        with self._write(bump_revision=False) as session:
            if session.get(MigrationVersionRecord, version) is not None:
                return None
            stored = set(session.scalars(select(ApiKeyRecord.provider).distinct()))
            added: list[ApiKeyConfig] = []
            kept: list[str] = []
            for new, masked_key, seal in keys:
                if new.provider in stored:
                    kept.append(new.provider)
                    continue
                added.append(_key_config(self._insert_key(session, new, masked_key, seal)))
            chosen = session.scalars(select(ModelConfigRecord.model_id)
                                     .where(ModelConfigRecord.is_default)).first()
            selected = None
            if default_model is not None and chosen is None:
                row = self._config_row(session, *default_model)
                row.is_default = True
                selected = default_model[0]
            session.add(MigrationVersionRecord(version=version, details=details))
            session.flush()
            if added or selected:
                self._bump_revision(session)
            return ImportedSettings(
                keys=tuple(added), kept_providers=tuple(kept), default_model=selected,
                kept_default_model=chosen if default_model is not None else None,
            )

    # ---- encryption --------------------------------------------------------------------

    def list_encrypted_keys(self) -> list[tuple[ApiKeyConfig, str]]:
        """Every stored key with its token, by id: for checking and rotating the key."""
        query = select(ApiKeyRecord).order_by(ApiKeyRecord.id)
        with self._read() as session:
            return [(_key_config(row), row.encrypted_key) for row in session.scalars(query)]

    def reencrypt_all(self, transform: Callable[[str], str],
                      progress: Callable[[int, int], None] | None = None) -> int:
        """Replace every token by `transform(token)`, all in one transaction.

        The revision does not move: the settings are the same, only their ciphertext is new.
        """
        with self._write(bump_revision=False) as session:
            rows = session.execute(select(ApiKeyRecord.id, ApiKeyRecord.encrypted_key)
                                   .order_by(ApiKeyRecord.id)).all()
            changes = []
            for done, (row_id, token) in enumerate(rows, start=1):
                changes.append({"id": row_id, "encrypted_key": transform(token)})
                if progress is not None:
                    progress(done, len(rows))
            if changes:
                session.execute(update(ApiKeyRecord), changes)
            return len(changes)

    def make_durable(self) -> None:
        """Make the last commit survive a power cut before files that depend on it change.

        SQLite in WAL mode with synchronous=NORMAL syncs the log only at a checkpoint;
        PostgreSQL's commit is already durable.
        """
        engine = self.session.get_bind()
        if engine.dialect.name != "sqlite":
            return
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("PRAGMA wal_checkpoint(FULL)")
            cursor.close()
        finally:
            connection.close()
