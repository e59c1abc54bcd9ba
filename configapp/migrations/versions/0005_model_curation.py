"""Model curation: hidden models, aliases, a default per purpose, withdrawn models.

Five small tables. `chat` stays the default model of `model_configs.is_default`; a row in
model_purposes named `chat` exists only while the chat purpose points at an alias.

Revision ID: 0005_model_curation
Revises: 0002_api_keys_autoincrement
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_model_curation"
down_revision = "0004_auth_token"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "provider_curation",
        sa.Column("provider", sa.String(64), primary_key=True),
        sa.Column("only_chosen", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "model_visibility",
        sa.Column("model_id", sa.String(255), primary_key=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("shown", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_model_visibility_provider", "model_visibility", ["provider"])
    op.create_table(
        "model_aliases",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "model_purposes",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "model_listings",
        sa.Column("model_id", sa.String(255), primary_key=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("first_listed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_listed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_model_listings_provider", "model_listings", ["provider"])


def downgrade():
    op.drop_index("ix_model_listings_provider", table_name="model_listings")
    op.drop_table("model_listings")
    op.drop_table("model_purposes")
    op.drop_table("model_aliases")
    op.drop_index("ix_model_visibility_provider", table_name="model_visibility")
    op.drop_table("model_visibility")
    op.drop_table("provider_curation")
