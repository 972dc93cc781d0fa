"""The settlement order (`scan.settlement_order`) against Python's sort of the (person-year,
settlement date, claim id) triples: the ids are compared only where the first two tie, and the
order must be the same as if every claim's id had been ranked."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from yibao.calculator.scan import settlement_order

claims = st.lists(st.tuples(st.integers(0, 3), st.one_of(st.none(), st.integers(0, 4))), max_size=40)


@given(claims, st.randoms(use_true_random=False))
def test_settlement_order_is_the_sort_of_the_triples(rows: list[tuple[int, int | None]], rnd) -> None:
    ids = [f"C{i:03d}" for i in range(len(rows))]
    rnd.shuffle(ids)  # ids in no relation to the rows' order
    group = np.array([g for g, _ in rows], dtype=np.int64)
    setl = np.array([np.datetime64("NaT") if d is None else np.datetime64("2025-01-01") + d for _, d in rows],
                    dtype="datetime64[D]")
    # NaT after every date, as NumPy sorts it
    expected = sorted(range(len(rows)), key=lambda r: (rows[r][0], rows[r][1] is None, rows[r][1] or 0, ids[r]))
    got = settlement_order(group, setl, pd.Series(ids, dtype="str"))
    assert got.tolist() == expected
