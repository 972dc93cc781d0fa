"""Which score outputs a settlement with the ledger pays: the batches booked in its month.

The ledger books each batch in a settlement period (docs/ledger.md), and once a month is
settled nothing more is booked in it: claims discharged in May that arrive after May's
settlement are booked, and paid, in June. Picked by discharge date, June's statement would
leave them out and the institutions would never be paid. So with the ledger a month is settled
from the score outputs of the batches booked in it, every claim of them whatever its dates, and
from all those batches that paid a direct claim in it: one left out would put its payments on no
statement. A settlement without the ledger picks by discharge date, as before.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from yibao.errors import InputError
from yibao.settlement.inputs import Period, Scored


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


def check_complete(parts: Sequence[Scored], period: Period, known: Mapping[str, bool],
                   paid_batches: Mapping[str, int], ledger: str) -> None:
    """The ledger holds every batch given (`known`: batch id → held), and every batch that paid
    a direct claim in the month (`paid_batches`: batch id → claims) is given."""
    for part in parts:
        if not known[part.booked[0].batch_id]:
            raise InputError(f"{part.name}: its batch {part.booked[0].batch_id[:12]} is not in the ledger {ledger} "
                             f"(scored through another ledger?)")
    given = {part.booked[0].batch_id for part in parts}
    left = sorted(set(paid_batches) - given)
    if left:
        more = f" and {len(left) - 1} more" if len(left) > 1 else ""
        raise InputError(f"period {period.text}: batch {left[0][:12]}{more}, booked in it, paid "
                         f"{paid_batches[left[0]]:,} direct claims and its score folder is not given: settle the "
                         f"month's batches together (yibao settle FOLDER FOLDER … --period {period.text}), or "
                         f"their claims are on no statement")
