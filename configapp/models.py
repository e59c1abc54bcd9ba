"""SQLAlchemy rows. The domain never sees these; the storage adapter converts them.

The rows are mapped on configapp's own declarative base, not on a Flask-SQLAlchemy `db`,
so that any session can hold them: the standalone app's (`db` below) or a host app's
(`ConfigApp(app, db=host_db)`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, Boolean, DateTime, Index, Integer, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """configapp's tables (the Alembic revisions in configapp/migrations build them)."""


# The standalone app's database (create_app); a host app brings its own.
db = SQLAlchemy()


def utcnow() -> datetime:
    return datetime.now(UTC)


class ApiKeyRecord(Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        # One active key per provider, held by the database itself.
        Index("uq_api_keys_active_provider", "provider", unique=True,
              sqlite_where=text("is_active"), postgresql_where=text("is_active")),
        # A deleted key's id is never given to another key (migration 0002).
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(64), index=True)
    key_name: Mapped[str] = mapped_column(String(100), default="")
    encrypted_key: Mapped[str] = mapped_column(Text)
    masked_key: Mapped[str] = mapped_column(String(32))
    api_base: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                          nullable=True)


class ModelConfigRecord(Base):
    __tablename__ = "model_configs"
    __table_args__ = (
        # One default model, held by the database itself.
        Index("uq_model_configs_one_default", "is_default", unique=True,
              sqlite_where=text("is_default"), postgresql_where=text("is_default")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[str] = mapped_column(String(255), unique=True)
    provider: Mapped[str] = mapped_column(String(64))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MigrationVersionRecord(Base):
    """One-time data migrations that have run (the .env import is `plan_09_api_keys`)."""

    __tablename__ = "migration_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    details: Mapped[str] = mapped_column(Text, default="")


class SettingsRevisionRecord(Base):
    """A single row whose counter moves with every change: the sync ETag."""

    __tablename__ = "settings_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[str] = mapped_column(String(32))
    counter: Mapped[int] = mapped_column(Integer, default=0)


# ---- model curation (migration 0005) ----------------------------------------------------

class ProviderCurationRecord(Base):
    """A provider whose models are all hidden but the ones marked shown."""

    __tablename__ = "provider_curation"

    provider: Mapped[str] = mapped_column(String(64), primary_key=True)
    only_chosen: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ModelVisibilityRecord(Base):
    """A model hidden (shown=False) or, under only_chosen, one of the chosen few."""

    __tablename__ = "model_visibility"

    model_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    provider: Mapped[str] = mapped_column(String(64), index=True)
    shown: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ModelAliasRecord(Base):
    __tablename__ = "model_aliases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    target: Mapped[str] = mapped_column(String(255))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ModelPurposeRecord(Base):
    """A purpose's model or alias (`chat` only while it points at an alias)."""

    __tablename__ = "model_purposes"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    target: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ModelListingRecord(Base):
    """A model some provider's live listing named; withdrawn_at once a listing no longer did."""

    __tablename__ = "model_listings"

    model_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    provider: Mapped[str] = mapped_column(String(64), index=True)
    first_listed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_listed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                          nullable=True)
class AuthTokenRecord(Base):
    """The API token, as its SHA-256 hash (one row, id 1): the token itself is never stored.

    `generation` grows at each rotation; sessions are bound to it (configapp/auth.py).
    """

    __tablename__ = "auth_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    token_hash: Mapped[str] = mapped_column(String(64))
    generation: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
