"""The host app's Alembic environment, as a host that embeds configapp would write it:
configapp.schema.include_name keeps configapp's tables out of the host's autogenerate."""

from alembic import context
from flask import current_app

from configapp.schema import include_name

migrate = current_app.extensions["migrate"]

with migrate.db.engine.connect() as connection:
    context.configure(connection=connection, target_metadata=migrate.db.metadata,
                      include_name=include_name, **migrate.configure_args)
    with context.begin_transaction():
        context.run_migrations()
