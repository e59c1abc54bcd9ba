"""SqlAlchemyCurationStorage: hidden models, aliases, purposes and withdrawn models, in SQL.

The same transactions as the configuration's (BEGIN IMMEDIATE on SQLite, the advisory
lock on PostgreSQL), and each write moves the sync revision with it. The chat purpose is
the default model (`model_configs.is_default`); a `chat` row in model_purposes exists only
while it points at an alias, so the old select route and the purpose never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from configapp.domain import (
    Alias,
    ModelConfig,
    ModelNotFoundError,
    Visibility,
    VisibilityChange,
)
from configapp.keys.sql_storage import SqlAlchemyConfigurationStorage, _aware
from configapp.records import (
    ModelAliasRecord,
    ModelConfigRecord,
    ModelListingRecord,
    ModelPurposeRecord,
    ModelVisibilityRecord,
    ProviderCurationRecord,
    PurposeFallbackRecord,
    utcnow,
)

CHAT = "chat"


# Every chat's plan reads these: built once (see SqlAlchemyConfigurationStorage._rows).
ALIASES = select(ModelAliasRecord.__table__.c["name", "target", "parameters", "fallbacks"])
PURPOSES = select(ModelPurposeRecord.__table__.c["name", "target"])
PURPOSE_FALLBACKS = select(PurposeFallbackRecord.__table__.c["name", "models"])
DEFAULT_MODEL_ID = (select(ModelConfigRecord.__table__.c.model_id)
                    .where(ModelConfigRecord.__table__.c.is_default).limit(1))
ONLY_CHOSEN = (select(ProviderCurationRecord.__table__.c.provider)
               .where(ProviderCurationRecord.__table__.c.only_chosen))
VISIBILITY = select(ModelVisibilityRecord.__table__.c["model_id", "shown"])


def _aliases(session: Session) -> dict[str, Alias]:
    return {name: Alias(name, target, dict(parameters or {}), tuple(fallbacks or ()))
            for name, target, parameters, fallbacks in session.execute(ALIASES)}


def _purposes(session: Session) -> dict[str, str]:
    purposes = dict(session.execute(PURPOSES).all())
    if CHAT not in purposes:
        default = session.execute(DEFAULT_MODEL_ID).scalar()
        if default is not None:
            purposes[CHAT] = default
    return purposes


class SqlAlchemyCurationStorage(SqlAlchemyConfigurationStorage):
    """The configuration storage plus the CurationStoragePort."""

    def select_model(self, model_id: str, provider: str) -> ModelConfig:
        """The old select route is the chat purpose: it also forgets a chat alias."""
        with self._write() as session:
            session.execute(delete(ModelPurposeRecord).where(ModelPurposeRecord.name == CHAT))
            return self._make_default(session, model_id, provider)

    # ---- visibility ------------------------------------------------------------------

    def visibility(self) -> Visibility:
        with self._read() as session:
            only = frozenset(session.execute(ONLY_CHOSEN).scalars())
            rows = session.execute(VISIBILITY).all()
        return Visibility(only, frozenset(m for m, shown in rows if shown),
                          frozenset(m for m, shown in rows if not shown))

    def change_visibility(self, change: VisibilityChange) -> None:
        provider = change.provider
        with self._write() as session:
            mode = session.get(ProviderCurationRecord, provider)
            if change.show_all:
                session.execute(delete(ModelVisibilityRecord)
                                .where(ModelVisibilityRecord.provider == provider))
                if mode is not None:
                    session.delete(mode)
                    mode = None
            if change.only is not None:
                session.execute(delete(ModelVisibilityRecord)
                                .where(ModelVisibilityRecord.provider == provider))
                if mode is None:
                    mode = ProviderCurationRecord(provider=provider, only_chosen=True)
                    session.add(mode)
                session.flush()
                for model_id in dict.fromkeys(change.only):
                    self._mark(session, model_id, provider, shown=True)
            only_chosen = mode is not None and mode.only_chosen
            for model_id in dict.fromkeys(change.hide):
                if only_chosen:
                    self._forget(session, model_id)
                else:
                    self._mark(session, model_id, provider, shown=False)
            for model_id in dict.fromkeys(change.show):
                if only_chosen:
                    self._mark(session, model_id, provider, shown=True)
                else:
                    self._forget(session, model_id)

    @staticmethod
    def _mark(session: Session, model_id: str, provider: str, shown: bool) -> None:
        row = session.get(ModelVisibilityRecord, model_id)
        if row is None:
            session.add(ModelVisibilityRecord(model_id=model_id, provider=provider,
                                              shown=shown))
        else:
            row.shown, row.updated_at = shown, utcnow()
        session.flush()

    @staticmethod
    def _forget(session: Session, model_id: str) -> None:
        session.execute(delete(ModelVisibilityRecord)
                        .where(ModelVisibilityRecord.model_id == model_id))

    # ---- aliases ---------------------------------------------------------------------

    def aliases(self) -> dict[str, Alias]:
        with self._read() as session:
            return _aliases(session)

    def put_alias(self, alias: Alias,
                  check: Callable[[dict[str, Alias]], tuple[str, str]]) -> Alias:
        with self._write() as session:
            # A model only a provider lists is pinned by a row, so every process knows it.
            self._config_row(session, *check(_aliases(session)))
            row = session.get(ModelAliasRecord, alias.name)
            fallbacks = list(alias.fallbacks) or None
            if row is None:
                session.add(ModelAliasRecord(name=alias.name, target=alias.target,
                                             parameters=alias.parameters, fallbacks=fallbacks))
            else:
                row.target, row.parameters, row.fallbacks, row.updated_at = (
                    alias.target, alias.parameters, fallbacks, utcnow())
            session.flush()
            return alias

    def delete_alias(self, name: str,
                     check: Callable[[dict[str, Alias], dict[str, str]], None]) -> None:
        with self._write() as session:
            row = session.get(ModelAliasRecord, name)
            if row is None:
                raise ModelNotFoundError(f"No alias named '{name[:100]}'.")
            check(_aliases(session), _purposes(session))
            session.delete(row)

    # ---- purposes --------------------------------------------------------------------

    def purposes(self) -> dict[str, str]:
        with self._read() as session:
            return _purposes(session)

    def purpose_fallbacks(self) -> dict[str, tuple[str, ...]]:
        with self._read() as session:
            return {name: tuple(models) for name, models in session.execute(PURPOSE_FALLBACKS)}

    def set_purpose(self, name: str, target: str, provider: str | None,
                    check: Callable[[dict[str, Alias]], None],
                    fallbacks: tuple[str, ...] | None = None) -> None:
        """`fallbacks` None keeps the purpose's; () forgets them."""
        with self._write() as session:
            check(_aliases(session))
            if fallbacks is not None:
                self._put_fallbacks(session, name, fallbacks)
            if name == CHAT and provider is not None:
                session.execute(delete(ModelPurposeRecord).where(ModelPurposeRecord.name == CHAT))
                self._make_default(session, target, provider)
                return
            if name == CHAT:
                session.execute(update(ModelConfigRecord).where(ModelConfigRecord.is_default)
                                .values(is_default=False))
            if provider is not None:
                self._config_row(session, target, provider)
            row = session.get(ModelPurposeRecord, name)
            if row is None:
                session.add(ModelPurposeRecord(name=name, target=target))
            else:
                row.target, row.updated_at = target, utcnow()
            session.flush()

    @staticmethod
    def _put_fallbacks(session: Session, name: str, fallbacks: tuple[str, ...]) -> None:
        row = session.get(PurposeFallbackRecord, name)
        if not fallbacks:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(PurposeFallbackRecord(name=name, models=list(fallbacks)))
        else:
            row.models, row.updated_at = list(fallbacks), utcnow()

    def clear_purpose(self, name: str) -> None:
        with self._write() as session:
            session.execute(delete(PurposeFallbackRecord)
                            .where(PurposeFallbackRecord.name == name))
            session.execute(delete(ModelPurposeRecord).where(ModelPurposeRecord.name == name))
            if name == CHAT:
                session.execute(update(ModelConfigRecord).where(ModelConfigRecord.is_default)
                                .values(is_default=False))

    # ---- listings --------------------------------------------------------------------

    def _listing_rows(self, session: Session, provider: str) -> dict[str, datetime | None]:
        rows = session.execute(select(ModelListingRecord.model_id,
                                      ModelListingRecord.withdrawn_at)
                               .where(ModelListingRecord.provider == provider)).all()
        return dict(rows)

    def record_listing(self, provider: str, listed: frozenset[str]) -> list[str]:
        with self._read() as session:
            known = self._listing_rows(session, provider)
        if not _differs(known, listed):
            return []  # the usual case: no write, every TTL, on every instance
        with self._write(bump_revision=False) as session:
            known = self._listing_rows(session, provider)
            now = utcnow()
            gone = sorted(m for m, when in known.items() if when is None and m not in listed)
            back = [m for m in listed if m in known and known[m] is not None]
            for model_id in listed - known.keys():
                session.add(ModelListingRecord(model_id=model_id, provider=provider,
                                               first_listed_at=now, last_listed_at=now))
            if gone:
                session.execute(update(ModelListingRecord)
                                .where(ModelListingRecord.model_id.in_(gone))
                                .values(withdrawn_at=now))
            if back:
                session.execute(update(ModelListingRecord)
                                .where(ModelListingRecord.model_id.in_(back))
                                .values(withdrawn_at=None, last_listed_at=now))
            if gone or back:  # what the snapshot's warnings show changed
                self._bump_revision(session)
            return gone

    def listed_models(self) -> dict[str, str]:
        """Every model a live listing ever named, on any instance: model id -> provider."""
        with self._read() as session:
            return dict(session.execute(select(ModelListingRecord.model_id,
                                               ModelListingRecord.provider)).all())

    def withdrawn(self) -> dict[str, datetime]:
        with self._read() as session:
            rows = session.execute(select(ModelListingRecord.model_id,
                                          ModelListingRecord.withdrawn_at)
                                   .where(ModelListingRecord.withdrawn_at.is_not(None))).all()
        return {model_id: _aware(when) for model_id, when in rows}


def _differs(known: dict[str, datetime | None], listed: frozenset[str]) -> bool:
    """Whether a listing adds a model, brings one back, or leaves one out."""
    if listed - known.keys():
        return True
    return any((when is None) != (model_id in listed) for model_id, when in known.items())
