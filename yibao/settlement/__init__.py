"""Settlement of designated institutions (定点医药机构费用结算): pay each hospital and pharmacy
what its direct claims drew from the funds, minus violation fees, penalties and the quality
deposit, with statements that reconcile to the claim (docs/domain.md §4.3, docs/settlement.md).

`settle(scored, period=...)` takes a `yibao score` output folder or a `Result`;
`write_settlement` writes the tables, the workbook and the printable statements, sealed by a
manifest; `verify_folder` checks a written settlement against its manifest, recomputes it from
its claim-level tables and compares it with the score folder it was paid from.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import pandas as pd

from yibao.errors import InputError
from yibao.settlement.batches import check_booked, ledger_problem
from yibao.settlement.inputs import combine, no_claims, parse_period, read_scored, result_scored
from yibao.settlement.output import write_settlement
from yibao.settlement.statement import Settlement, settle_scored
from yibao.settlement.verify import verify_folder

if TYPE_CHECKING:  # the ledger (SQLAlchemy) is imported only by settlements that use it
    from yibao.ledger.periods import PeriodRead
    from yibao.ledger.store import Ledger

__all__ = ["Settlement", "settle", "verify_folder", "write_settlement"]


def settle(scored: str | Path | Any | Sequence[str | Path | Any], period: str,
           institutions: str | Path | pd.DataFrame | None = None, ledger: str | Path | None = None) -> Settlement:
    """Settle the direct claims discharged in `period` ("YYYY-MM"), or with `ledger` every
    direct claim of the batches the ledger booked in it.

    `scored`: a `yibao score --out` folder or a `yibao.pipeline.Result`, or a list of them (a
    month of several batches: a claim once); with `ledger`, an empty list for a month whose only
    entries are reversals (`yibao ledger reverse`, no batch scored): its statements take that
    money back. `institutions`: a table file, a batch folder holding
    one, or a frame (institution_id, name) for the names on the statements; by default the
    institutions table inside each folder or beside the claims file the scorer read. `ledger`
    (docs/ledger.md): `scored` must be the score outputs of every batch that paid a direct claim
    in the period (yibao.settlement.batches); payments reversed (冲正) in the period become
    negative lines, and the maternity cash benefits the ledger paid to persons in it, and took
    back, are listed in `benefits`; writing the settlement (`write_settlement`) records the
    period as settled there, and nothing is booked in it after. Unusable input raises
    `yibao.errors.InputError`.
    """
    month = parse_period(period)
    names = Path(institutions) if isinstance(institutions, str) else institutions
    given = list(scored) if isinstance(scored, (list, tuple)) else [scored]
    if not given and ledger is None:  # only the ledger can say that the month holds no claim
        raise InputError("settle takes at least one score folder or Result, or none with a ledger (a month whose "
                         "only entries are reversals)")
    if len({isinstance(s, (str, Path)) for s in given}) > 1:  # the manifest would name the folders alone
        raise InputError("settle takes score folders or Results, not both: --verify could not find the Results' claims")
    parts = [read_scored(Path(s), names) if isinstance(s, (str, Path)) else result_scored(s, names) for s in given]
    if ledger is None:
        return settle_scored(combine(parts), month)
    from yibao.ledger import read_ledger

    month = replace(month, by_batch=True)
    check_booked(parts, month)

    def checked(book: Ledger) -> PeriodRead:
        problem = ledger_problem(parts, month, book)
        if problem is not None:
            raise InputError(problem)
        return book.settling(month.text)

    read = read_ledger(ledger, checked)
    claims = combine(parts, read.replacing) if parts else no_claims(names)
    return replace(settle_scored(claims, month, read.reversals, read.benefits), ledger=read.mark)
