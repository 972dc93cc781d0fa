"""What a table's header may name: each field once, and no field misspelt.

A column whose header is not a field name is ignored (an export carries columns of its own), so
a field written `MED_TYPE`, `Med Type` or `med_tpye` was ignored too: its cells were read as
never given. An optional field lost so changes amounts without a word (`correction_of` would pay
the claim twice), a required one is refused only as "missing". A header that reads as a field
once case, spaces, `_`/`-` and full-width letters are set aside, or is close to a field the
header lacks (`med_tpye`, `diagnosis`), stops the run naming both, before a cell is read.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from typing import Any, Iterable


from yibao.errors import InputError
from yibao.tables import TABLES

# How alike a header and a field the header lacks must be to be taken for a misspelling of it
# (difflib's ratio of the folded names): `med_tpye`, `diagnosis`, `price` are; `psn_name`,
# `institution_name`, `remark` are not like any field.
MISSPELT = 0.8


def field_name(header: Any) -> str:
    """The field a header names: its last line, so a header with a label above the field name
    (as our Excel outputs write it) reads as the field."""
    return str(header).strip().split("\n")[-1].strip()


def check_header(names: Iterable[Any], source: str, table: str | None = None) -> None:
    """Refuse a header naming a field twice (which of the two columns holds it is unknown) and,
    given the `table`, one naming a field of it misspelt."""
    fields = [field_name(c) for c in names]
    seen: set[str] = set()
    for name in fields:
        if name in seen:
            raise InputError(f"column {name} appears twice in the header: keep one", file=source, column=name)
        seen.add(name)
    if table is not None:
        _check_spelling(fields, source, table)


def _folded(name: str) -> str:
    return re.sub(r"[\s_-]+", "", unicodedata.normalize("NFKC", name)).casefold()


@functools.cache
def _known(table: str) -> tuple[frozenset[str], dict[str, str]]:
    """The fields of `table`, and each by its folded name (folded once a process, not per table read)."""
    known = frozenset(c.name for c in TABLES[table])
    return known, {_folded(k): k for k in sorted(known)}


def _check_spelling(fields: list[str], source: str, table: str) -> None:
    known, by_fold = _known(table)
    present = set(fields)
    lacked = {f: k for f, k in by_fold.items() if k not in present}
    for header in fields:
        folded = _folded(header)
        if header in known or not folded:
            continue
        field = by_fold.get(folded) or next(
            (lacked[f] for f in difflib.get_close_matches(folded, lacked, n=1, cutoff=MISSPELT)), None)
        if field is None:
            continue
        if field in fields:
            raise InputError(f"not a field of {table}, but close to {field}, which the header also names: "
                             f"remove one", file=source, column=header)
        raise InputError(f"not a field of {table}, but close to {field}: rename it {field}, or remove the column",
                         file=source, column=header)
