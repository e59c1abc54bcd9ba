"""api_keys ids are never reused on SQLite (AUTOINCREMENT).

Without AUTOINCREMENT, SQLite gives a deleted last row's id to the next insert, so a late
or retried DELETE or PATCH by id could hit a key added since. PostgreSQL's sequence never
reuses an id: nothing to do there. The table is rebuilt in batch mode, rows and ids kept.

Revision ID: 0002_api_keys_autoincrement
Revises: 0001_initial
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_api_keys_autoincrement"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.drop_index("uq_api_keys_active_provider", table_name="api_keys")
    op.drop_index("ix_api_keys_provider", table_name="api_keys")
    with op.batch_alter_table("api_keys", recreate="always",
                              table_kwargs={"sqlite_autoincrement": autoincrement}):
        pass
    op.create_index("ix_api_keys_provider", "api_keys", ["provider"])
    op.create_index("uq_api_keys_active_provider", "api_keys", ["provider"], unique=True,
                    sqlite_where=sa.text("is_active"))


def upgrade():
    _rebuild(autoincrement=True)


def downgrade():
    _rebuild(autoincrement=False)
