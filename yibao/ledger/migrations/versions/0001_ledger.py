"""The ledger's first tables: batches, entries, paid claims, accumulators.

Revision ID: 0001
Revises:
"""

from alembic import op

from yibao.ledger import schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = ("batches", "entries", "paid_claims", "accumulators", "batch_accumulators", "batch_duplicates")


def upgrade() -> None:
    # the first revision creates the tables as schema.py declares them at this revision; a later
    # change is a new revision with op.add_column / op.alter_column, never an edit of this one
    bind = op.get_bind()
    schema.metadata.create_all(bind, tables=[schema.metadata.tables[t] for t in TABLES])


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
