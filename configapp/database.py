"""configapp's own engine and session, for `ConfigApp(app, database_url=...)`.

The same two attributes as a Flask-SQLAlchemy `db` (`engine`, `session`), which is what the
storage and the health checks use, without registering Flask-SQLAlchemy on the host app
(an app holds one, and a host may have its own).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.globals import app_ctx
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import scoped_session, sessionmaker


def _app_context_id() -> int:
    """One session per app context, as Flask-SQLAlchemy does."""
    return id(app_ctx._get_current_object())


class OwnDatabase:
    """An engine on `url` and a session scoped to the app context, removed at its end."""

    def __init__(self, url: str, engine_options: dict[str, Any]) -> None:
        self.engine: Engine = create_engine(url, **engine_options)
        self.session = scoped_session(sessionmaker(self.engine), scopefunc=_app_context_id)

    def init_app(self, app: Flask) -> None:
        app.teardown_appcontext(lambda _error: self.session.remove())
