"""SQLAlchemy rows. The domain never sees these; the storage adapter converts them.

The rows are mapped on configapp's own declarative base, not on a Flask-SQLAlchemy `db`,
so that any session can hold them: the standalone app's (`db` below) or a host app's
(`ConfigApp(app, db=host_db)`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
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
    # Model ids or aliases tried in order when the alias's model is unavailable.
    fallbacks: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)


class ModelPurposeRecord(Base):
    """A purpose's model or alias (`chat` only while it points at an alias)."""

    __tablename__ = "model_purposes"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    target: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PurposeFallbackRecord(Base):
    """A purpose's fallbacks (its own table: the chat purpose may have no purpose row)."""

    __tablename__ = "purpose_fallbacks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    models: Mapped[list[str]] = mapped_column(JSON)
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
class DiscoveredModelRecord(Base):
    """A model a key's models endpoint listed, as it said (gone when the key is deleted, or
    when a later listing of that key no longer names it)."""

    __tablename__ = "discovered_models"

    key_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("api_keys.id", ondelete="CASCADE",
                            name="fk_discovered_models_key_id"), primary_key=True)
    model_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    context_window: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_output_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    listed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuthTokenRecord(Base):
    """The API token, as its SHA-256 hash (one row, id 1): the token itself is never stored.

    `generation` grows at each rotation; sessions are bound to it (configapp/access/auth.py).
    """

    __tablename__ = "auth_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    token_hash: Mapped[str] = mapped_column(String(64))
    generation: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
class UsageRecord(Base):
    """One chat's use of a key: tokens and cost, never the key itself (migration 0006)."""

    __tablename__ = "usage_records"
    __table_args__ = (
        Index("ix_usage_records_created_at", "created_at"),
        Index("ix_usage_records_provider_created_at", "provider", "created_at"),
        Index("ix_usage_records_key_id_created_at", "key_id", "created_at"),
        Index("ix_usage_records_client_id_created_at", "client_id", "created_at"),
        Index("ix_usage_records_receipt", "receipt"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    model: Mapped[str] = mapped_column(String(255))
    provider: Mapped[str] = mapped_column(String(64))
    # No foreign key: a deleted key's spending stays in the month's figures.
    key_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    key_source: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str | None] = mapped_column(String(64), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))
    prompt_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    completion_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tokens_counted: Mapped[bool] = mapped_column(Boolean, default=False)
    cost: Mapped[float | None] = mapped_column(Float, nullable=True)
    # The client token that asked (migration 0009); None: the API token or a page. No
    # foreign key either: a deleted client's spending stays.
    client_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # A streamed chat's random name, given to its client (migration 0011): the page reads
    # its row back by it. None: not streamed, or written before 0011.
    receipt: Mapped[str | None] = mapped_column(String(32), nullable=True)


class BudgetRecord(Base):
    """A monthly limit in dollars on a provider's or one key's spending."""

    __tablename__ = "budgets"
    __table_args__ = (UniqueConstraint("scope", "target", name="uq_budgets_scope_target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))  # "provider" or "key"
    target: Mapped[str] = mapped_column(String(64))  # the provider's name, or the key's id
    monthly_limit: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ClientRecord(Base):
    """A client token (a tool calling /v1), as its SHA-256 hash (migration 0009)."""

    __tablename__ = "clients"
    # A deleted client's id is never given to another: the ledger keeps its rows.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    models: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    monthly_limit: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
