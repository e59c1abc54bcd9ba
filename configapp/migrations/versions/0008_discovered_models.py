"""Discovered models: what each key's models endpoint listed, kept across restarts.

A model only a provider lists (Ollama, vLLM, LM Studio, a company gateway) was known only
to the process that asked; after a restart it left the catalogue until the key was tested
again. Rows belong to a key and go with it (ON DELETE CASCADE).

Revision ID: 0008_discovered_models
Revises: 0007_key_masks
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_discovered_models"
down_revision = "0007_key_masks"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "discovered_models",
        sa.Column("key_id", sa.Integer(),
                  sa.ForeignKey("api_keys.id", ondelete="CASCADE",
                                name="fk_discovered_models_key_id"),
                  primary_key=True),
        sa.Column("model_id", sa.String(255), primary_key=True),
        sa.Column("display_name", sa.String(255), nullable=True),
        sa.Column("context_window", sa.Integer(), nullable=True),
        sa.Column("max_output_tokens", sa.Integer(), nullable=True),
        sa.Column("listed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade():
    op.drop_table("discovered_models")
