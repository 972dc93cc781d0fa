"""The second tier fund (large-amount beside catastrophic) and the second assistance stage in the
accumulators.

Revision ID: 0003
Revises: 0002

Rows of earlier batches had no second layer (the tariff could not give one), so they hold 0;
`catastrophic_base` and `catastrophic_paid` keep their meaning (the single tier fund, or the
catastrophic one when there are two).
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ADDED = ("large_amount_base", "large_amount_paid", "maf_stage2_deductible_used", "maf_stage2_paid")
COLUMNS = tuple((table, column) for column in ADDED for table in ("accumulators", "batch_accumulators")) + \
    tuple(("entries", "add_" + column) for column in ADDED)


def upgrade() -> None:
    for table, column in COLUMNS:
        op.add_column(table, sa.Column(column, sa.BigInteger, nullable=False, server_default="0"))


def downgrade() -> None:
    for table, column in COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)
