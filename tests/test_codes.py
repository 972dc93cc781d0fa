"""Integer codes for text (yibao/codes.py): `positions` answers as a plain dictionary lookup
would, whichever route it takes (Arrow's hash set for text held in Arrow, `factorize` for the
rest)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from yibao.codes import positions

# few distinct short keys, so values often repeat and often miss; None is a missing cell
KEYS = st.one_of(st.none(), st.sampled_from(["", "C1", "C2", "C10", "甲", " C1", "c1"]))


def by_dictionary(values: list[str | None], table: list[str]) -> list[int]:
    """The independent route: the row of each value in a dict of the table, -1 when absent or missing."""
    rows = {key: row for row, key in enumerate(table)}
    return [-1 if v is None else rows.get(v, -1) for v in values]


@given(values=st.lists(KEYS, max_size=40),
       table=st.lists(st.sampled_from(["", "C1", "C2", "C10", "甲", " C1", "c1"]), unique=True, max_size=7))
def test_positions_are_a_dictionary_lookup(values: list[str | None], table: list[str]) -> None:
    expected = by_dictionary(values, table)
    text = pd.Series(values, dtype="str")
    assert positions(text, pd.Series(table, dtype="str")).tolist() == expected  # Arrow text, Arrow table
    assert positions(text, table).tolist() == expected  # Arrow text, a list of str
    assert positions(np.array(values, dtype=object), table).tolist() == expected  # Python objects


def test_positions_of_runs_and_of_an_empty_table() -> None:
    lines = pd.Series(["C2", "C2", "C1", None, "C9"], dtype="str")
    assert positions(lines, pd.Series(["C1", "C2"], dtype="str")).tolist() == [1, 1, 0, -1, -1]
    assert positions(lines, pd.Series([], dtype="str")).tolist() == [-1] * 5
