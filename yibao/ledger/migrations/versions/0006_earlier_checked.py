"""Whether a batch was scored with the claims paid before it as earlier claims of the duplicate
check (GEN-007 across batches).

Revision ID: 0006
Revises: 0005

Batches committed before it were not: scored again, such a batch must give its outputs as then
(a stay it paid that overlaps a claim paid earlier stays paid, as the ledger holds it), so their
rows hold false, and new batches true.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("batches", sa.Column("earlier_checked", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("batches") as batch:
        batch.drop_column("earlier_checked")
