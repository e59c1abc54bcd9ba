"""The ledger row's receipt: a streamed chat's random name, sent to the page with its first
byte, so that a page that was left (or stopped) mid-answer shows the very tokens and cost
its ledger row holds, not a count of its own that may miss a piece still in flight.

Revision ID: 0011_usage_receipts
Revises: 0010_fallbacks
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_usage_receipts"
down_revision = "0010_fallbacks"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("usage_records", sa.Column("receipt", sa.String(32), nullable=True))
    op.create_index("ix_usage_records_receipt", "usage_records", ["receipt"])


def downgrade():
    op.drop_index("ix_usage_records_receipt", table_name="usage_records")
    op.drop_column("usage_records", "receipt")  # SQLite 3.35+ drops it in place
