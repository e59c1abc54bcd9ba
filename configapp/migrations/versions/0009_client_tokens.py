"""Client tokens (issue 27): the tools that call /v1, each with its own token, allowed
models and monthly budget; and the ledger's column that says which client asked.

A token is kept only as its SHA-256 hash (like the API token's, 0004). A client's id is
never reused (SQLite AUTOINCREMENT), so its rows in the ledger keep naming it after it is
deleted.

Revision ID: 0009_client_tokens
Revises: 0008_discovered_models
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_client_tokens"
down_revision = "0008_discovered_models"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "clients",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("models", sa.JSON(), nullable=True),
        sa.Column("monthly_limit", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sqlite_autoincrement=True,
    )
    op.add_column("usage_records", sa.Column("client_id", sa.Integer(), nullable=True))
    op.create_index("ix_usage_records_client_id_created_at", "usage_records",
                    ["client_id", "created_at"])


def downgrade():
    op.drop_index("ix_usage_records_client_id_created_at", table_name="usage_records")
    op.drop_column("usage_records", "client_id")  # SQLite 3.35+ drops it in place
    op.drop_table("clients")
