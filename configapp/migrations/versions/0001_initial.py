"""Initial schema: api_keys, model_configs, migration_versions, settings_revision.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-28
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("key_name", sa.String(100), nullable=False),
        sa.Column("encrypted_key", sa.Text(), nullable=False),
        sa.Column("masked_key", sa.String(32), nullable=False),
        sa.Column("api_base", sa.String(2048), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_api_keys_provider", "api_keys", ["provider"])
    op.create_index("uq_api_keys_active_provider", "api_keys", ["provider"], unique=True,
                    sqlite_where=sa.text("is_active"), postgresql_where=sa.text("is_active"))
    op.create_table(
        "model_configs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("model_id", sa.String(255), nullable=False, unique=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("uq_model_configs_one_default", "model_configs", ["is_default"],
                    unique=True, sqlite_where=sa.text("is_default"),
                    postgresql_where=sa.text("is_default"))
    op.create_table(
        "migration_versions",
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
    )
    revision_table = op.create_table(
        "settings_revision",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("store_id", sa.String(32), nullable=False),
        sa.Column("counter", sa.Integer(), nullable=False),
    )
    op.bulk_insert(revision_table, [{"id": 1, "store_id": uuid.uuid4().hex[:12], "counter": 0}])


def downgrade():
    op.drop_table("settings_revision")
    op.drop_table("migration_versions")
    op.drop_index("uq_model_configs_one_default", table_name="model_configs")
    op.drop_table("model_configs")
    op.drop_index("uq_api_keys_active_provider", table_name="api_keys")
    op.drop_index("ix_api_keys_provider", table_name="api_keys")
    op.drop_table("api_keys")
