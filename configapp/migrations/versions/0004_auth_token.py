"""The API token's hash: locked by default (issue 12).

One row (id 1) holds the SHA-256 hash of the token made at first start (or by
`flask --app wsgi config token`) and its generation, which sessions are bound to. Several
instances on one PostgreSQL read the same row, so they agree on the token.

Revision ID: 0004_auth_token
Revises: 0002_api_keys_autoincrement
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_auth_token"
down_revision = "0002_api_keys_autoincrement"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "auth_token",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade():
    op.drop_table("auth_token")
