"""The usage ledger (one row per chat: tokens and cost) and monthly budgets.

Revision ID: 0006_usage_budgets
Revises: 0002_api_keys_autoincrement
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_usage_budgets"
down_revision = "0005_model_curation"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "usage_records",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=True),
        sa.Column("key_source", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("tokens_counted", sa.Boolean(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_usage_records_created_at", "usage_records", ["created_at"])
    op.create_index("ix_usage_records_provider_created_at", "usage_records",
                    ["provider", "created_at"])
    op.create_index("ix_usage_records_key_id_created_at", "usage_records",
                    ["key_id", "created_at"])
    op.create_table(
        "budgets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("monthly_limit", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("scope", "target", name="uq_budgets_scope_target"),
    )


def downgrade():
    op.drop_table("budgets")
    op.drop_index("ix_usage_records_key_id_created_at", table_name="usage_records")
    op.drop_index("ix_usage_records_provider_created_at", table_name="usage_records")
    op.drop_index("ix_usage_records_created_at", table_name="usage_records")
    op.drop_table("usage_records")
