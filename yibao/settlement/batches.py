"""Which score outputs a settlement with the ledger pays: the batches booked in its month.

The ledger books each batch in a settlement period (docs/ledger.md), and once a month is
settled nothing more is booked in it: claims discharged in May that arrive after May's
settlement are booked, and paid, in June. Picked by discharge date, June's statement would
leave them out and the institutions would never be paid. So with the ledger a month is settled
from the score outputs of the batches booked in it, every claim of them whatever its dates, and
from all those batches that paid a direct claim in it: one left out would put its payments on no
statement. A month in which no batch was scored, its only entries reversals (`yibao ledger
reverse`), is settled from the ledger alone: no score output, the same arithmetic on no claims.
A settlement without the ledger picks by discharge date, as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from yibao.errors import InputError
from yibao.settlement.inputs import Period, Scored

if TYPE_CHECKING:  # the ledger (SQLAlchemy) is imported only by settlements that use it
    from yibao.ledger.store import Ledger


def check_booked(parts: Sequence[Scored], period: Period) -> None:
    """Each part is one batch booked in `period`, and no batch is given twice."""
    seen: dict[str, str] = {}
    for part in parts:
        if not part.booked:
            raise InputError(f"{part.name}: names no ledger batch (scored without --ledger, or before score folders "
                             f"named theirs): with the ledger a month pays the batches booked in it; score it with "
                             f"--ledger (a batch committed already is recognised, and written as then with its batch)")
        booked = part.booked[0]
        if booked.period != period.text:
            raise InputError(f"{part.name}: its batch {booked.batch_id[:12]} is booked in period {booked.period}, "
                             f"not {period.text}: settle it with --period {booked.period}")
        if booked.batch_id in seen:
            raise InputError(f"{seen[booked.batch_id]} and {part.name}: the same batch {booked.batch_id[:12]}, "
                             f"given twice")
        seen[booked.batch_id] = part.name


def ledger_problem(parts: Sequence[Scored], period: Period, book: Ledger) -> str | None:
    """What is wrong with `parts` (which passed `check_booked`) against the ledger, or None: a
    batch the ledger does not hold, or a batch that paid a direct claim in the month not given;
    with no part (the ledger alone), a batch scored in the month, or a month with nothing booked."""
    if not parts:
        return _alone_problem(period, book)
    for part in parts:
        if book.batch(part.booked[0].batch_id) is None:
            return (f"{part.name}: its batch {part.booked[0].batch_id[:12]} is not in the ledger {book.shown} "
                    f"(scored through another ledger?)")
    paid = book.paid_batches(period.text)
    left = sorted(set(paid) - {part.booked[0].batch_id for part in parts})
    if not left:
        return None
    more = f" and {len(left) - 1} more" if len(left) > 1 else ""
    return (f"period {period.text}: batch {left[0][:12]}{more}, booked in it, paid {paid[left[0]]:,} direct claims "
            f"and its score folder is not given: settle the month's batches together (yibao settle FOLDER "
            f"FOLDER … --period {period.text}), or their claims are on no statement")


def _alone_problem(period: Period, book: Ledger) -> str | None:
    """A month is settled from the ledger alone only when every batch booked in it is a reversal
    of `yibao ledger reverse`: a scored batch's claims — paid, refused or waiting, each listed on its
    institution's statement — are in its score folder only. And only when something is booked in
    it: a settlement closes its month, and a typed month with nothing in it would be closed for
    the batches still to come."""
    booked = book.month_batches(period.text)
    scored = [batch for batch, was_scored in booked.items() if was_scored]
    if scored:
        more = f" and {len(scored) - 1} more" if len(scored) > 1 else ""
        return (f"period {period.text}: batch {scored[0][:12]}{more}, scored and booked in it, and no score folder "
                f"is given: give the score folders of the month's batches (yibao settle FOLDER … --period "
                f"{period.text} --ledger …); a month is settled from the ledger alone only when its entries are "
                f"all reversals (yibao ledger reverse)")
    if not booked:
        return (f"period {period.text}: the ledger {book.shown} books nothing in it (no batch, no reversal): there is "
                f"nothing to settle, and a settlement would close the month")
    return None
