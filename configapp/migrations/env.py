"""Alembic environment, for the two ways configapp's revisions run.

- `configapp.schema.upgrade` (the start, `flask config upgrade-schema`, a host app's
  ConfigApp): it gives the connection and the version table in `config.attributes`.
- `flask db ...` (Flask-Migrate, in the standalone app): the engine comes from the app's
  `db`, the options (version table, batch mode) from its `Migrate(...)`.
"""

from alembic import context

from configapp.records import Base

attributes = context.config.attributes


def run(connection, **options) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, **options)
    with context.begin_transaction():
        context.run_migrations()


if "connection" in attributes:
    run(attributes["connection"], render_as_batch=True,
        version_table=attributes["version_table"])
else:
    from flask import current_app

    migrate = current_app.extensions["migrate"]
    if context.is_offline_mode():
        context.configure(url=migrate.db.engine.url.render_as_string(hide_password=False),
                          target_metadata=Base.metadata, literal_binds=True,
                          **migrate.configure_args)
        with context.begin_transaction():
            context.run_migrations()
    else:
        with migrate.db.engine.connect() as connection:
            run(connection, **migrate.configure_args)
