"""configapp: the dynamic-configuration backend of an LLM Playground and its extension."""

from __future__ import annotations

from types import TracebackType
from typing import Any

import click
from flask import Flask, request

from configapp.composition import ConfigApp, engine_options
from configapp.log_lines import log_text
from configapp.records import db
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
    app = StandaloneFlask(__name__, static_folder=None)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings.database_url, settings.threads),
        MAX_CONTENT_LENGTH=settings.security.max_request_bytes,
    )
    app.config.update(config)
    db.init_app(app)
    app.cli.add_command(MigrateCommands(app), "db")
    ConfigApp(app, settings=settings, db=db, version_table=STANDALONE_VERSION_TABLE,
              whole_app=True)
    return app


class StandaloneFlask(Flask):
    """Flask, with the path of a request that failed escaped in its log line (Flask writes
    it as sent: a %0A in it would start a line of the sender's choosing)."""

    def log_exception(self, exc_info: tuple[type, BaseException, TracebackType]
                      | tuple[None, None, None]) -> None:
        self.logger.error("Exception on %s [%s]", log_text(request.path),
                          log_text(request.method), exc_info=exc_info)


class MigrateCommands(click.Group):
    """`flask db ...`: Flask-Migrate's command group, set up when the CLI asks for it.
    Flask-Migrate imports Alembic, about 0.35 s that a server's start does not need."""

    def __init__(self, app: Flask) -> None:
        super().__init__("db", help="Perform database migrations (Flask-Migrate).")
        self.app = app

    def flask_migrate_group(self) -> click.Group:
        from flask_migrate import Migrate
        from flask_migrate.cli import db as group

        if "migrate" not in self.app.extensions:
            Migrate(self.app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True,
                    version_table=STANDALONE_VERSION_TABLE)
        return group

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        """From here on, Flask-Migrate's group parses, helps and runs."""
        return self.flask_migrate_group().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        return ctx.command.invoke(ctx)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self.flask_migrate_group().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self.flask_migrate_group().get_command(ctx, name)
