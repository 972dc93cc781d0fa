"""The ledger's first tables: batches, entries, paid claims, accumulators.

Revision ID: 0001
Revises:

The tables as they are at this revision, written out (not read from schema.py, which moves on):
a later change is a new revision with op.add_column / op.alter_column, never an edit of this one.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

MONEY = ("medfee_sumamt", "act_pay_dedc", "hifp_pay", "hifmi_pay", "hifob_pay", "maf_pay",
         "fund_pay_sumamt", "psn_part_amt", "hosp_part_amt", "declared_fund_pay_sumamt")
ACC = ("hifp_paid", "inpatient_admissions", "inpatient_deductible_used", "inpatient_covered",
       "outpatient_deductible_used", "outpatient_paid", "outpatient_month", "outpatient_month_paid",
       "catastrophic_base", "catastrophic_paid", "maf_deductible_used", "maf_paid", "prenatal_paid")


def _text(name: str, length: int, **kw: object) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=False, **kw)


def _money() -> list[sa.Column]:
    return [sa.Column(n, sa.BigInteger, nullable=False) for n in MONEY]


def _accumulators(prefix: str = "") -> list[sa.Column]:
    return [sa.Column(prefix + n, sa.BigInteger, nullable=False) for n in ACC] + \
        [sa.Column(prefix + "chronic_paid", sa.Text, nullable=False)]


def upgrade() -> None:
    op.create_table("batches", _text("batch_id", 64, primary_key=True),
                    sa.Column("seq", sa.Integer, nullable=False, unique=True), _text("period", 7),
                    _text("tariff", 64), sa.Column("claims", sa.Integer, nullable=False),
                    sa.Column("duplicates", sa.Integer, nullable=False),
                    sa.Column("reversals", sa.Integer, nullable=False), _text("status", 16))
    op.create_table("entries", sa.Column("entry_id", sa.Integer, primary_key=True, autoincrement=True),
                    _text("batch_id", 64, index=True), _text("period", 7, index=True), _text("entry", 8),
                    _text("mdtrt_id", 64, index=True), _text("psn_no", 64),
                    sa.Column("year", sa.Integer, nullable=False), _text("kind", 32), _text("institution_id", 64),
                    _text("settlement_mode", 16), _text("med_type", 8), _text("admit_date", 10),
                    _text("discharge_date", 10), sa.Column("reverses", sa.Integer, nullable=True),
                    *_money(), *_accumulators("add_"))
    op.create_table("paid_claims", _text("mdtrt_id", 64, primary_key=True),
                    sa.Column("entry_id", sa.Integer, nullable=False), _text("batch_id", 64), _text("period", 7))
    op.create_table("accumulators", _text("psn_no", 64, primary_key=True),
                    sa.Column("year", sa.Integer, primary_key=True), *_accumulators())
    op.create_table("batch_accumulators", _text("batch_id", 64, primary_key=True),
                    _text("psn_no", 64, primary_key=True), sa.Column("year", sa.Integer, primary_key=True),
                    *_accumulators())
    op.create_table("batch_duplicates", _text("batch_id", 64, primary_key=True),
                    _text("mdtrt_id", 64, primary_key=True), _text("paid_batch", 64), _text("paid_period", 7))


def downgrade() -> None:
    for name in ("batch_duplicates", "batch_accumulators", "accumulators", "paid_claims", "entries", "batches"):
        op.drop_table(name)
