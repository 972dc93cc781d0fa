"""The ledger batch a score output was committed as (docs/ledger.md).

A settlement with the ledger pays a batch's claims in the period the ledger booked it in,
whatever their dates, so the score output carries the batch (`Result.booked`, the manifest's
`ledger_batch`). Kept apart from the pipeline and the ledger: settlement reads it without either.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Booked:
    """A ledger batch: its id (sha256 of its input and tariff) and settlement period (YYYY-MM)."""

    batch_id: str
    period: str
