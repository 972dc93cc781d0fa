"""Settled periods: what a settlement reads of its month in the ledger, and the month closed once
the settlement is written.

A settlement pays institutions from the month's statements, and with a ledger those take the
month's reversals (冲正) as negative lines. An entry booked in a month after its statements were
written is on none of them — that month's was written without it, and no later one takes its
entries — so a charge-back would leave the institution the money. So the ledger records each
month whose settlement was written (`settled_periods`), and a commit refuses to book in one
(`refuse_settled`, under the writer lock). The settlement records its month under the same lock,
and only if the month's entries are still those it read: a reversal committed between its
reading and its writing would otherwise be on no statement either.

A claim withheld on its statement (数据不正确暂不拨付) was not paid to the institution, though the
journal holds its payment (the person's accumulators used it). The settlement records those
payments with its month (`withheld_payments`), and a later reversal of one takes nothing back.
Only the payment's month's settlement knows, so a month that takes back an earlier month's
payments is settled after it (`refuse_unsettled`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd
from sqlalchemy import Connection, func, select

from yibao.errors import InputError
from yibao.ledger import schema
from yibao.ledger.schema import CASH, PAYMENT


@dataclass(frozen=True)
class Mark:
    """The month a settlement read and what it found there: the number of entries and the last
    one's id. The journal is only ever appended to, so the same two later are the same entries."""

    url: str = field(repr=False)  # may hold a password: never shown
    shown: str  # the URL without its password: what the settlement's manifest names
    period: str
    entries: int
    last_entry: int


@dataclass(frozen=True)
class PeriodRead:
    """A month's entries as settlement takes them (fen): the direct claims' payments reversed in
    it, the cash benefits paid and taken back in it, and the mark to record it by."""

    reversals: pd.DataFrame
    benefits: pd.DataFrame
    mark: Mark
    replacing: dict[str, str]  # `last_payments`

    @staticmethod
    def of(url: str, shown: str, period: str, e: pd.DataFrame, reversed_payments: pd.DataFrame) -> PeriodRead:
        """From every entry of the month and its reversals with their payments
        (`reversed_payments`), read in one connection: the mark records the period only if no
        entry came in between."""
        b = e[(e[list(CASH)] != 0).any(axis=1)]
        benefits = pd.DataFrame({"entry": b["entry"], "mdtrt_id": b["mdtrt_id"], "psn_no": b["psn_no"],
                                 "institution_id": b["institution_id"], "med_type": b["med_type"],
                                 "admit_date": b["admit_date"], "discharge_date": b["discharge_date"]}
                                | {f"{c}_fen": b[c].to_numpy(dtype=np.int64) for c in CASH})
        last = int(e["entry_id"].max()) if len(e) else 0
        return PeriodRead(reversal_lines(reversed_payments, period), benefits.reset_index(drop=True),
                          Mark(url, shown, period, len(e), last), last_payments(e))


def last_payments(entries: pd.DataFrame) -> dict[str, str]:
    """Of a month's entries, the claims paid more than once in it (paid, reversed, and filed again
    or corrected under their own id), each with the batch of its last payment: the claim line the
    month's statement pays, of the score folders given (`yibao.settlement.inputs.combine`)."""
    paid = entries[entries["entry"] == PAYMENT].sort_values("entry_id")
    again = paid[paid["mdtrt_id"].duplicated(keep=False)].drop_duplicates("mdtrt_id", keep="last")
    return dict(zip(again["mdtrt_id"], again["batch_id"]))


def reversal_lines(reversals: pd.DataFrame, period: str) -> pd.DataFrame:
    """Of a month's reversal entries, each with the month of the payment it reverses
    (`paid_period`) and whether that month's statement withheld it (`withheld`), the direct
    claims' funds taken back, as settlement makes them its negative lines (fen, positive here):
    one line per claim and institution, whatever number of its payments the month took back (a
    claim corrected under its own id, then reversed by hand, is reversed twice in one month; two
    lines of one id would break the settlement's key).

    `audited_fen` is what was paid on an earlier month's statement: a payment withheld there
    (数据不正确暂不拨付) was never paid, so nothing of it. `this_month_fen` reverses a payment of
    this very month, whose statement is the one being made: it is taken back only if that
    statement pays the claim (`yibao.settlement.statement.taken_back`), and not when the claim
    was paid again after it in the month (`replaced`): the statement pays that last payment
    alone, and the one reversed is on no statement."""
    r = _direct_claims(reversals)
    funds = -r["fund_pay_sumamt"].to_numpy(dtype=np.int64)
    paid_here = (r["paid_period"] == period).to_numpy()
    this_month = paid_here & ~r["replaced"].to_numpy(dtype=bool)
    paid_before = ~paid_here & ~r["withheld"].to_numpy(dtype=bool)
    lines = pd.DataFrame({"institution_id": r["institution_id"], "mdtrt_id": r["mdtrt_id"], "psn_no": r["psn_no"],
                          "med_type": r["med_type"], "admit_date": r["admit_date"],
                          "discharge_date": r["discharge_date"], "audited_fen": np.where(paid_before, funds, 0),
                          "this_month_fen": np.where(this_month, funds, 0)})
    keys = ["institution_id", "mdtrt_id"]
    return lines.groupby(keys, sort=False, as_index=False).agg(
        {c: "sum" if c.endswith("_fen") else "first" for c in lines.columns if c not in keys})


def _direct_claims(entries: pd.DataFrame) -> pd.DataFrame:
    """The entries of direct claims: the ones an institution's statement pays or takes back."""
    return entries[(entries["settlement_mode"] == "direct") & (entries["kind"] == "claim")]


def refuse_unsettled(conn: Connection, period: str, reversals: pd.DataFrame) -> None:
    """A month that takes back payments of an earlier month is settled after that one: only its
    settlement says whether the institution was paid them or they were withheld (暂不拨付)."""
    direct = _direct_claims(reversals)
    earlier = set(direct.loc[direct["paid_period"] < period, "paid_period"]) - set(settled(conn))
    if earlier:
        first = min(earlier)
        raise InputError(f"period {period} takes back payments of {first}, which the ledger does not hold as "
                         f"settled: settle {first} with --ledger first (again, if it was settled without the "
                         f"ledger), so that what its statements withheld (暂不拨付) is not taken back here")


def settled(conn: Connection) -> dict[str, dict[str, str]]:
    """Every settled month: when its settlement was first written, and that one's manifest digest."""
    t = schema.settled_periods
    return {r.period: {"settled_at": r.settled_at, "manifest_sha256": r.manifest_sha256}
            for r in conn.execute(select(t).order_by(t.c.period))}


def refuse_settled(conn: Connection, period: str) -> None:
    """Nothing is booked in a settled month: it would be on no statement. The month to give
    instead is the first later one not settled."""
    done = settled(conn)
    if period not in done:
        return
    later = np.datetime64(period, "M") + 1
    while str(later) in done:
        later += 1
    raise InputError(f"period {period} was settled at {done[period]['settled_at']}: what is booked in it now "
                     f"would be on no statement; give --period {later} or later. Nothing was committed")


def record(conn: Connection, mark: Mark, manifest_sha256: str) -> bool:
    """Close `mark`'s month, on the writer's connection (so no commit runs between the check and
    the record): true when it was not closed before. Its entries must still be those the
    settlement read; settled again, the month keeps when and by which manifest it was first
    settled (a re-run writes the same)."""
    t, e = schema.settled_periods, schema.entries
    now = conn.execute(select(func.count(), func.coalesce(func.max(e.c.entry_id), 0))
                       .where(e.c.period == mark.period)).one()
    if (int(now[0]), int(now[1])) != (mark.entries, mark.last_entry):
        raise InputError(f"period {mark.period} changed while it was settled (a batch or reversal was committed in "
                         f"it meanwhile): the settlement was not written, nor the period recorded; run it again")
    if conn.execute(select(t.c.period).where(t.c.period == mark.period)).first() is not None:
        return False
    conn.execute(t.insert().values(period=mark.period, manifest_sha256=manifest_sha256,
                                   settled_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")))
    return True
