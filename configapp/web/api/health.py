"""Liveness, readiness, and the browsable API docs page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, render_template
from sqlalchemy import text

from configapp.components import components
from configapp.domain import ConfigurationError
from configapp.schema import current_revision

# The docs page's template is the package's, wherever the blueprint is mounted.
blp = Blueprint("configapp_health", __name__,
                template_folder=str(Path(__file__).resolve().parents[2] / "templates"))


@blp.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@blp.get("/readyz")
def readyz() -> tuple[dict[str, Any], int]:
    """The database answers, its schema is at head, and the encryption key opens the keys."""
    checks: dict[str, str] = {}
    parts = components()
    db = parts.database
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        checks["database"] = "ok"
        revision = current_revision(db.engine, parts.version_table)
        head = parts.schema_head
        checks["schema"] = "ok" if revision == head else (
            f"at {revision}, head is {head}: run `flask --app wsgi db upgrade` (embedded in "
            "another app: `flask config upgrade-schema`)")
        if checks["schema"] == "ok":
            parts.config.check_encryption_key()
            checks["encryption_key"] = "ok"
    except ConfigurationError as error:
        checks["encryption_key"] = str(error)
    except Exception as error:  # any database failure makes the instance not ready
        checks.setdefault("database", f"unreachable: {type(error).__name__}")
    ready = all(value == "ok" for value in checks.values()) and len(checks) == 3
    return {"status": "ready" if ready else "not ready", "checks": checks}, (
        200 if ready else 503)


@blp.get("/api/docs")
def api_docs() -> str:
    """A readable page of the OpenAPI document (no CDN script: it works offline)."""
    spec = components().api.spec.to_dict()
    return render_template("api_docs.html", spec=spec)
