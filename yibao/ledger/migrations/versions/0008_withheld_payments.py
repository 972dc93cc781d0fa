"""The payments a month's settlement withheld (数据不正确暂不拨付).

Revision ID: 0008
Revises: 0007

A claim whose data are incorrect is withheld on its month's statement: the institution is not
paid it until the claim is corrected. Its payment stays in the journal (the person's
accumulators used it), so the correction's reversal (冲正) took the funds back on a later
statement, and the institution lost money it was never paid. The ledger now records, when a
month is settled, which of its payments were withheld, and a reversal of one takes nothing back.
Months settled under an earlier revision recorded none: their withheld claims' reversals take
the funds back as before (docs/ledger.md says how to check them).
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("withheld_payments", sa.Column("entry_id", sa.Integer, primary_key=True),
                    sa.Column("period", sa.String(7), nullable=False))


def downgrade() -> None:
    op.drop_table("withheld_payments")
