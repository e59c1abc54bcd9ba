"""configapp: the dynamic-configuration backend of an LLM Playground and its extension."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_migrate import Migrate

from configapp.extension import ConfigApp, engine_options
from configapp.models import db
from configapp.schema import MIGRATIONS_DIR, STANDALONE_VERSION_TABLE
from configapp.settings import Settings

__all__ = ["ConfigApp", "create_app"]


def create_app(settings: Settings | None = None, **config: Any) -> Flask:
    """The standalone app: configapp at the root of an app of its own (ConfigApp does the
    work), on the settings' database through Flask-SQLAlchemy, with `flask db ...`.

    Its revision stays in Alembic's default `alembic_version` table, where its databases
    have always kept it; the safety net covers every request, since the app is configapp's.
    """
    settings = settings or Settings.from_env()
    app = Flask(__name__, static_folder=None)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings.database_url),
        MAX_CONTENT_LENGTH=settings.security.max_request_bytes,
    )
    app.config.update(config)
    db.init_app(app)
    Migrate(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True,
            version_table=STANDALONE_VERSION_TABLE)
    ConfigApp(app, settings=settings, db=db, version_table=STANDALONE_VERSION_TABLE,
              whole_app=True)
    return app
