"""Fallbacks: the models an alias or a purpose falls back to when its own is unavailable.

An alias keeps its list on its row; a purpose's list has a table of its own, because the
chat purpose is the default model (model_configs.is_default) while it points at a model,
with no row in model_purposes. The lists are model ids or aliases, in order.

Revision ID: 0010_fallbacks
Revises: 0009_client_tokens
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_fallbacks"
down_revision = "0009_client_tokens"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("model_aliases") as batch:
        batch.add_column(sa.Column("fallbacks", sa.JSON(), nullable=True))
    op.create_table(
        "purpose_fallbacks",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade():
    op.drop_table("purpose_fallbacks")
    with op.batch_alter_table("model_aliases") as batch:
        batch.drop_column("fallbacks")
