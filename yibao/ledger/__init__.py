"""The ledger (账本): what every committed batch paid, so a month's job never pays a claim twice.

Annual deductibles and caps span the twelve monthly batches of a year, and hospitals re-send
claims (corrections, rejected claims filed again). The ledger keeps, per person and year, the
accumulators; per claim, the batch and period it was paid in and what each fund paid; per
batch, its id (the digest of its input) and status. `score_with_ledger` scores a batch
against it and commits the batch in one transaction; `Ledger` reads it. See docs/ledger.md.
"""

from yibao.booked import Outcome
from yibao.ledger.scoring import score_into, score_with_ledger
from yibao.ledger.store import Ledger, read_ledger

__all__ = ["Ledger", "Outcome", "read_ledger", "score_into", "score_with_ledger"]
