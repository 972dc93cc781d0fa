"""The ledger's tables (SQLAlchemy Core): what was paid, per claim, batch and person-year.

Money is integer fen, as in the calculator, so sums over the ledger are exact. The tables:

- `batches`: one row per committed batch; its id is the digest of its input, so the same input
  scored again is recognised.
- `entries`: the journal — a payment per claim committed, a reversal (冲正, negative amounts)
  per claim reversed. Never updated, only appended.
- `paid_claims`: the claims paid and not reversed, one row per `mdtrt_id`. Its primary key is
  what makes a second payment of a claim impossible, even from two jobs at once.
- `accumulators`: per person and year, the annual accumulators after every committed batch.
- `batch_accumulators` and `batch_duplicates`: what a batch's scoring started from, so scoring
  the same batch again gives the same outputs without adding anything.
- `corrections`: the claims each batch sent to correct another (`correction_of`), so that the
  claim a correction replaced is refused when it is sent again, as beside it in one batch, and
  so is a second correction of it while the first (or a correction of that one) stands.
- `settled_periods`: the months whose settlement was written, so that nothing is booked in one
  after its statements were made (it would be on none).
- `withheld_payments`: the payments a month's settlement withheld (数据不正确暂不拨付) when it was
  first written: the institution was never paid them, so their reversal takes nothing back.

The Alembic migrations in `migrations/versions/` create these tables; this module is what the
code reads and writes through, and `tests/test_ledger.py` checks that both agree.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, MetaData, String, Table, Text

from yibao.calculator.scan import ACC_COLUMNS

metadata = MetaData()

# the maternity cash benefits (生育津贴, 一次性生育补助金): paid to the mother beside the funds,
# no part of fund_pay_sumamt, and never to the institution
CASH = ("maternity_allowance", "maternity_grant")
# amounts of a claim kept per entry (fen)
MONEY = ("medfee_sumamt", "act_pay_dedc", "hifp_pay", "hifmi_pay", "hifob_pay", "maf_pay",
         "fund_pay_sumamt", "psn_part_amt", "hosp_part_amt", "declared_fund_pay_sumamt") + CASH
# the accumulators a claim adds to (fen, or counts for the counters), and its chronic-disease amounts
ACC = tuple(ACC_COLUMNS)
PAYMENT, REVERSAL = "payment", "reversal"  # the two kinds of entry
# why a batch did not score a claim (batch_duplicates)
DUPLICATE, SUPERSEDED, CORRECTED_TWICE = "DUPLICATE_CLAIM", "SUPERSEDED", "CORRECTED_TWICE"
FUNDS = ("hifp_pay", "hifmi_pay", "hifob_pay", "maf_pay", "fund_pay_sumamt")


def _acc_columns() -> list[Column]:
    return [Column(c, BigInteger, nullable=False) for c in ACC] + [Column("chronic_paid", Text, nullable=False)]


batches = Table(
    "batches", metadata,
    Column("batch_id", String(64), primary_key=True, doc="sha256 of the input tables and the tariff"),
    Column("seq", Integer, nullable=False, unique=True),
    Column("period", String(7), nullable=False),
    Column("tariff", String(64), nullable=False),
    Column("claims", Integer, nullable=False),
    Column("duplicates", Integer, nullable=False),
    Column("reversals", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("earlier_checked", Boolean, nullable=False, default=True,
           doc="scored with the claims paid before it as earlier claims of GEN-007 (false: committed before "
               "revision 0006, and scored again as then, without them)"),
    Column("months_read", Boolean, nullable=False, default=True,
           doc="scored with what the entries before it counted in each month, so a claim for an earlier month "
               "met that month's caps as used (false: committed before revision 0009, and scored again as then)"),
)

entries = Table(
    "entries", metadata,
    Column("entry_id", Integer, primary_key=True, autoincrement=True),
    Column("batch_id", String(64), nullable=False, index=True),
    Column("period", String(7), nullable=False, index=True),
    Column("entry", String(8), nullable=False, doc="payment or reversal"),
    Column("mdtrt_id", String(64), nullable=False, index=True),
    Column("psn_no", String(64), nullable=False),
    Column("year", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("institution_id", String(64), nullable=False),
    Column("settlement_mode", String(16), nullable=False),
    Column("med_type", String(8), nullable=False),
    Column("admit_date", String(10), nullable=False),
    Column("discharge_date", String(10), nullable=False),
    Column("reverses", Integer, nullable=True, doc="the payment entry a reversal cancels"),
    *[Column(m, BigInteger, nullable=False) for m in MONEY],
    *[Column("add_" + c, BigInteger, nullable=False) for c in ACC],
    Column("add_chronic_paid", Text, nullable=False),
)

paid_claims = Table(
    "paid_claims", metadata,
    Column("mdtrt_id", String(64), primary_key=True),
    Column("entry_id", Integer, nullable=False),
    Column("batch_id", String(64), nullable=False),
    Column("period", String(7), nullable=False),
)

accumulators = Table(
    "accumulators", metadata,
    Column("psn_no", String(64), primary_key=True),
    Column("year", Integer, primary_key=True),
    *_acc_columns(),
)

batch_accumulators = Table(
    "batch_accumulators", metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("psn_no", String(64), primary_key=True),
    Column("year", Integer, primary_key=True),
    *_acc_columns(),
)

batch_duplicates = Table(
    "batch_duplicates", metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("mdtrt_id", String(64), primary_key=True),
    Column("paid_batch", String(64), nullable=False),
    Column("paid_period", String(7), nullable=False),
    Column("code", String(16), nullable=False, default=DUPLICATE,
           doc="why the batch did not score it: DUPLICATE_CLAIM, paid in paid_batch and paid_period; SUPERSEDED, "
               "replaced by a correction booked there; CORRECTED_TWICE, a correction of a claim that a claim paid "
               "there replaces"),
    Column("named", Text, nullable=False, default="",
           doc="SUPERSEDED: the correcting claims; CORRECTED_TWICE: the claims paid that replace the one it corrects "
               "(';'-joined)"),
)

corrections = Table(
    "corrections", metadata,
    Column("batch_id", String(64), primary_key=True, doc="the batch that booked the correction"),
    Column("mdtrt_id", String(64), primary_key=True, doc="the correcting claim"),
    Column("correction_of", String(64), nullable=False, index=True, doc="the claim it replaces (not its own id)"),
)

settled_periods = Table(
    "settled_periods", metadata,
    Column("period", String(7), primary_key=True),
    Column("settled_at", String(20), nullable=False, doc="when its settlement was first written, UTC, ISO 8601"),
    Column("manifest_sha256", String(64), nullable=False, doc="sha256 of that settlement's manifest.json"),
)

withheld_payments = Table(
    "withheld_payments", metadata,
    Column("entry_id", Integer, primary_key=True, doc="the payment entry its month's statement withheld"),
    Column("period", String(7), nullable=False, doc="that month, settled"),
)
