"""The ledger in a partitioned run (`yibao score --ledger --partitions N`, `--engine dask`).

The rules of a ledger batch (yibao.ledger.scoring) hold per person, as scoring does: a person's
accumulators, the claims already paid and the payments a correction reverses are all looked up
by the person's claims. So each partition plans and scores against the ledger on its own
(reading only: its persons' accumulators and the claims paid to them, the paid-claim set for its
claims) and writes what it would commit — payment entries, reversals, duplicates, the
accumulators it started from and ends with, in integer fen, and its corrections of other
claims — as Parquet files beside the output. Workers never write to the ledger.
The client then commits the whole batch in ONE transaction, reading the partitions' files one
at a time (its memory holds one partition's commit, never the batch's lines), just before the
output folder is renamed into place, as a whole run does.

The batch id of a partitioned run is the sha256 of the tariff and the input files (the
manifest's `input_digest`): the same files give the same id for any number of partitions, so a
re-run — even with another N or on a cluster — is recognised and scored from what the batch
started from (the accumulators and duplicates the ledger kept for it), adding nothing. A whole
run digests the tables as read instead, so a batch committed whole and then run partitioned
(or the reverse) is a new batch to the ledger: its claims are then rejected as already paid —
paid once, never twice.

A correction may reverse a claim paid to another person (a claim filed under the wrong person
number): the partitioned run's split looks the corrected claims' persons up in the ledger
(`owners`) and moves both persons into one partition.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from yibao.booked import Outcome
from yibao.io import Batch
from yibao.ledger.scoring import _plan, _score, last_settled, period_of, replay_plan
from yibao.ledger.store import Commit, Ledger, accumulators_to_fen, empty_accumulators, ledger_url
from yibao.outputs import input_digest
from yibao.pipeline import Result

PARTS = ("payments", "reversed", "duplicates", "inputs", "after", "held", "persons", "corrections")


@dataclass(frozen=True)
class LedgerRun:
    """What a partition needs of the ledger; plain strings, so a Dask worker gets it by pickle."""

    url: str  # SQLAlchemy URL (a SQLite file by its absolute path): every worker reads it
    batch_id: str
    tariff: str
    replay: bool  # committed already: scored from what it started from, nothing to commit
    folder: str  # where each partition writes what it would commit: <folder>/part-NNNNN/<part>.parquet


@dataclass(frozen=True)
class PartLedger:
    """A scored partition's share of the batch's outcome."""

    paid: int = 0
    duplicates: int = 0
    reversals: int = 0
    last_settled: str = ""  # its latest settlement date: the batch's period is the month of the latest


def open_run(url: str, source: Path, tariff: str | None, folder: Path,
             period: str | None = None) -> tuple[LedgerRun, dict | None]:
    """The ledger run of the batch folder `source` (the ledger created or migrated first, here in
    the client), and the ledger's record of the batch when it is committed already; a new batch
    for a settled `period` is refused before it is scored (its commit checks again)."""
    spec = tariff or ""
    batch_id = hashlib.sha256(f"tariff={spec}\ninput={input_digest([source])}\n".encode()).hexdigest()
    ledger = Ledger(url, create=True)
    try:
        known = ledger.batch(batch_id)
        if known is None and period is not None:
            ledger.refuse_settled(period)
    finally:
        ledger.close()
    return LedgerRun(ledger_url(url), batch_id, spec, known is not None, str(folder)), known


def owners(run: LedgerRun) -> Callable[[np.ndarray], dict[str, str]]:
    """For the split: the person each corrected claim was paid to."""
    def persons(ids: np.ndarray) -> dict[str, str]:
        ledger = Ledger(run.url)
        try:
            return ledger.claim_persons(ids)
        finally:
            ledger.close()

    return persons


def score_part(run: LedgerRun, batch: Batch, rejects: pd.DataFrame, tariff: object, trace: bool,
               name: str) -> tuple[Result, PartLedger]:
    """Partition `name` scored against the ledger; what it would commit written as
    `<run.folder>/<name>/`."""
    claims = batch.claims
    ledger = Ledger(run.url)
    try:
        if run.replay:
            # the persons whose accumulators the first run read: its claims' and those its corrections reversed
            targets = claims["correction_of"].fillna("").astype(str) if "correction_of" in claims else \
                pd.Series([], dtype=str)
            persons = set(claims["psn_no"]) | set(ledger.claim_persons(targets[targets != ""]).values())
            plan = replay_plan(ledger, run.batch_id, claims, persons)
        else:
            plan = _plan(ledger, claims)
    finally:
        ledger.close()
    result, payments = _score(batch, rejects, tariff, plan, trace)
    if run.replay:
        return result, PartLedger()
    folder = Path(run.folder) / name
    folder.mkdir(parents=True, exist_ok=True)  # a task run again (its worker lost) writes every file anew
    held = plan.held if plan.held is not None else empty_accumulators()
    frames = dict(zip(PARTS, (payments, plan.reversed, plan.duplicates, plan.inputs,
                              accumulators_to_fen(result.accumulators), held,
                              pd.DataFrame({"psn_no": pd.Series(plan.persons, dtype=object)}), plan.corrections)))
    for part, frame in frames.items():
        frame.to_parquet(folder / f"{part}.parquet", index=False)
    return result, PartLedger(len(payments), len(plan.duplicates), len(plan.reversed), last_settled(result.claims))


def commit(run: LedgerRun, names: list[str], stats: list[PartLedger],
           period: str | None) -> tuple[Callable[[], None], Outcome]:
    """The function committing the files of the partitions `names` in one transaction, and the
    outcome to tell; `period`: --period, else the month of the batch's latest settlement date."""
    period = period or period_of(max((s.last_settled for s in stats), default=""))
    outcome = Outcome(run.batch_id, period, False, *(sum(getattr(s, f) for s in stats)
                                                     for f in ("paid", "duplicates", "reversals")))

    def write() -> None:
        ledger = Ledger(run.url, create=True)
        try:
            ledger.commit_all(_commits(run, names, period))
        finally:
            ledger.close()

    return write, outcome


def _commits(run: LedgerRun, names: list[str], period: str) -> Iterator[Commit]:
    for name in names:
        folder = Path(run.folder) / name
        frames = {part: pd.read_parquet(folder / f"{part}.parquet") for part in PARTS}
        held = frames["held"] if len(frames["held"]) else empty_accumulators()
        yield Commit(run.batch_id, period, run.tariff, frames["payments"], frames["reversed"], frames["duplicates"],
                     frames["inputs"], frames["after"], tuple(frames["persons"]["psn_no"]), held, frames["corrections"])
