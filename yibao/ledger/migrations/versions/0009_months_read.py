"""Whether a batch was scored with what the entries before it counted in each month.

Revision ID: 0009
Revises: 0008

The accumulators hold one month per person-year, the latest, for the monthly caps (the basic
fund's monthly_cap and the monthly caps on covered fees). A claim for an earlier month filed
after a later month was committed met its month's caps as if nothing had been paid in it, and
was overpaid. A batch is now scored with each claim's month as the ledger's entries counted it.
Batches committed before were not: scored again, such a batch must give its outputs as then
(the institution was paid what they said), so their rows hold false, and new batches true.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("batches", sa.Column("months_read", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("batches") as batch:
        batch.drop_column("months_read")
