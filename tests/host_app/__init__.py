"""A small host app that embeds configapp, as a Playground with its own Flask app would.

It has its own table (notes), its own routes, its own login (a session cookie) and its own
Alembic migrations (tests/host_app/migrations, in `alembic_version`). configapp is mounted
under /llm with `ConfigApp`, on the host's Flask-SQLAlchemy `db` or on a database of its own,
and only the host's admin may use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, request, session
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from configapp import ConfigApp
from configapp.settings import Settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
PREFIX = "/llm"


class HostBase(DeclarativeBase):
    pass


host_db = SQLAlchemy(model_class=HostBase)


class Note(host_db.Model):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(200))


def is_admin() -> bool:
    """The host's rule: only its signed-in admin may use configapp."""
    return session.get("user") == "admin"


def create_host_app(database_url: str, settings: Settings, *, share_db: bool = True,
                    own_database_url: str | None = None, pages: bool = True,
                    prefix: str = PREFIX) -> Flask:
    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI=database_url, SECRET_KEY="host-secret-" + "x" * 20,
                      TESTING=True)
    host_db.init_app(app)
    Migrate(app, host_db, directory=str(MIGRATIONS))

    @app.post("/login")
    def login() -> dict[str, Any]:
        session["user"] = request.get_json()["user"]
        return {"user": session["user"]}

    @app.get("/notes")
    def notes() -> dict[str, Any]:
        return {"notes": host_db.session.scalars(select(Note.text).order_by(Note.id)).all()}

    @app.post("/notes")
    def add_note() -> tuple[dict[str, Any], int]:
        host_db.session.add(Note(text=request.get_json()["text"]))
        host_db.session.commit()
        return {"added": True}, 201

    ConfigApp(app, settings=settings, url_prefix=prefix, pages=pages,
              db=host_db if share_db else None, database_url=own_database_url,
              authorize=is_admin)
    return app
