"""The host's notes table.

Revision ID: h001_notes
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "h001_notes"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("text", sa.String(200), nullable=False))


def downgrade():
    op.drop_table("notes")
