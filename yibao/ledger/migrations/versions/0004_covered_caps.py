"""Covered fees counted against the outpatient and chronic covered-fee caps, per year and per month.

Revision ID: 0004
Revises: 0003

Rows of earlier batches counted none (the caps did not exist), so the amounts hold 0 and the
months -1 (none).
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

AMOUNTS = ("outpatient_covered", "outpatient_covered_in_month", "chronic_covered", "chronic_covered_in_month")
MONTHS = ("outpatient_covered_month", "chronic_covered_month")
TABLES = (("accumulators", ""), ("batch_accumulators", ""), ("entries", "add_"))


def upgrade() -> None:
    for table, prefix in TABLES:
        for name, default in [(n, "0") for n in AMOUNTS] + [(n, "-1") for n in MONTHS]:
            op.add_column(table, sa.Column(prefix + name, sa.BigInteger, nullable=False, server_default=default))


def downgrade() -> None:
    for table, prefix in TABLES:
        with op.batch_alter_table(table) as batch:
            for name in AMOUNTS + MONTHS:
                batch.drop_column(prefix + name)
