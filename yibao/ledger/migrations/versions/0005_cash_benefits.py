"""The maternity cash benefits of a claim in its ledger entries: the allowance (生育津贴) and
the one-off grant (一次性生育补助金), in fen.

Revision ID: 0005
Revises: 0004

They are paid to the mother beside the claim's funds, so a correction or a reversal must take
them back as it takes back the funds. Entries of earlier batches did not record them, so they
hold 0 (their reversals take back 0 of them).
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ADDED = ("maternity_allowance", "maternity_grant")


def upgrade() -> None:
    for column in ADDED:
        op.add_column("entries", sa.Column(column, sa.BigInteger, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("entries") as batch:
        for column in ADDED:
            batch.drop_column(column)
