"""The corrections each batch booked, so that a claim a correction replaced is not paid again.

Revision ID: 0010
Revises: 0009

A correction (`correction_of`) reverses the payment of the claim it names, and the ledger then
held no trace of it: the claim was simply not paid. Sent again after — a batch re-sent, the
original exported once more — it was scored and paid, beside its correction: the stay twice,
whenever the correction had moved it (another person, institution or dates), since the
duplicate check (GEN-007) then finds no overlap. In one batch the two are never both paid: the
original is refused SUPERSEDED (GEN-010). The ledger now keeps every correction a batch booked
(`corrections`), and a claim one of them names is refused the same way, recorded with the
batch's duplicates (`batch_duplicates.code` SUPERSEDED, `named` the correcting claims; the rows
before hold DUPLICATE_CLAIM, a claim paid before) so that it is refused again when its batch is
scored again. So is a second correction of a claim whose first correction is paid (code
CORRECTED_TWICE): it too was paid beside the first. Corrections booked before this revision were
not kept: a claim they replaced, or a second correction of it, is still paid when sent again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("corrections", sa.Column("batch_id", sa.String(64), primary_key=True),
                    sa.Column("mdtrt_id", sa.String(64), primary_key=True),
                    sa.Column("correction_of", sa.String(64), nullable=False, index=True))
    op.add_column("batch_duplicates", sa.Column("code", sa.String(16), nullable=False,
                                                server_default="DUPLICATE_CLAIM"))
    op.add_column("batch_duplicates", sa.Column("named", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("batch_duplicates") as batch:
        batch.drop_column("named")
        batch.drop_column("code")
    op.drop_table("corrections")
