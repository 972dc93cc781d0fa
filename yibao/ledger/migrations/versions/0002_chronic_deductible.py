"""The annual chronic-disease deductible used (chronic.deductible_scope: annual) in the accumulators.

Revision ID: 0002
Revises: 0001

Rows of earlier batches used none of it (the option did not exist), so they hold 0.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = (("accumulators", "chronic_deductible_used"), ("batch_accumulators", "chronic_deductible_used"),
           ("entries", "add_chronic_deductible_used"))


def upgrade() -> None:
    for table, column in COLUMNS:
        op.add_column(table, sa.Column(column, sa.BigInteger, nullable=False, server_default="0"))


def downgrade() -> None:
    for table, column in COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)
