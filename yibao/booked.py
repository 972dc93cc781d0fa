"""The ledger batch a score output was committed as (docs/ledger.md).

A settlement with the ledger pays a batch's claims in the period the ledger booked it in,
whatever their dates, so the score output carries the batch (`Result.booked`, the manifest's
`ledger_batch`). Kept apart from the pipeline and the ledger: settlement reads it without either.
A job embedding the library reads from `Result.booked` (an `Outcome`) whether its call committed
the batch or found it committed already, as the command's message says.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Booked:
    """A ledger batch: its id (sha256 of its input and tariff) and settlement period (YYYY-MM)."""

    batch_id: str
    period: str


@dataclass(frozen=True)
class Outcome(Booked):
    """What the ledger did with a batch scored through it: committed now, or already (then
    nothing was added and the outputs are as they were then); claims paid, duplicates rejected
    and reversals made, as when it was committed."""

    already_committed: bool
    paid: int
    duplicates: int
    reversals: int

    def message(self) -> str:
        if self.already_committed:
            return (f"batch {self.batch_id[:12]} already committed in period {self.period}: "
                    f"nothing added, outputs as then")
        return (f"batch {self.batch_id[:12]} committed in period {self.period}: {self.paid:,} claims paid, "
                f"{self.duplicates:,} duplicates rejected, {self.reversals:,} reversals")
