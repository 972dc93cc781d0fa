"""The periods settled: the months whose settlement was written, and when.

Revision ID: 0007
Revises: 0006

A reversal or a batch booked in a month after that month's statements were written is on no
statement (the month's was written without it, and no later one takes its entries), so the
institution keeps the money. The ledger refuses both once it knows the month was settled. A
ledger of an earlier revision recorded no settlement: it starts with none.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("settled_periods", sa.Column("period", sa.String(7), primary_key=True),
                    sa.Column("settled_at", sa.String(20), nullable=False),
                    sa.Column("manifest_sha256", sa.String(64), nullable=False))


def downgrade() -> None:
    op.drop_table("settled_periods")
