"""SQLAlchemy rows of model curation (migration 0005); the adapter converts them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from configapp.models import db, utcnow


class ProviderCurationRecord(db.Model):
    """A provider whose models are all hidden but the ones marked shown."""

    __tablename__ = "provider_curation"

    provider: Mapped[str] = mapped_column(String(64), primary_key=True)
    only_chosen: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ModelVisibilityRecord(db.Model):
    """A model hidden (shown=False) or, under only_chosen, one of the chosen few."""

    __tablename__ = "model_visibility"

    model_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    provider: Mapped[str] = mapped_column(String(64), index=True)
    shown: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ModelAliasRecord(db.Model):
    __tablename__ = "model_aliases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    target: Mapped[str] = mapped_column(String(255))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ModelPurposeRecord(db.Model):
    """A purpose's model or alias (`chat` only while it points at an alias)."""

    __tablename__ = "model_purposes"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    target: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ModelListingRecord(db.Model):
    """A model some provider's live listing named; withdrawn_at once a listing no longer did."""

    __tablename__ = "model_listings"

    model_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    provider: Mapped[str] = mapped_column(String(64), index=True)
    first_listed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_listed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                          nullable=True)
