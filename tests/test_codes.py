"""Integer codes for text (yibao/codes.py): `positions` answers as a plain dictionary lookup
would, whichever route it takes (Arrow's hash set for text held in Arrow, `factorize` for the
rest); `row_groups` numbers rows as a dictionary of row tuples would; `text_rank` ranks as sorting
the distinct values in Python does; `equal_pairs` pairs keys as two loops would; `distinct_codes` keeps text for later as small codes; a column
read in chunks (Parquet's row groups) is coded and taken from as if it were one array."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from yibao.codes import (dictionary_codes, distinct_codes, distinct_text, equal_pairs, factorize, positions,
                         row_groups, take_rising, text_column, text_rank)

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


def chunked(values: list[str | None], cuts: list[int]) -> pa.ChunkedArray:
    """The values in chunks cut at `cuts` (empty chunks included), as Parquet's row groups come."""
    edges = [0] + sorted(min(c, len(values)) for c in cuts) + [len(values)]
    return pa.chunked_array([pa.array(values[a:b], pa.large_string()) for a, b in zip(edges, edges[1:])],
                            pa.large_string())


@given(values=st.lists(KEYS, max_size=40), cuts=st.lists(st.integers(0, 40), max_size=5))
def test_dictionary_codes_of_chunks_are_those_of_one_array(values: list[str | None], cuts: list[int]) -> None:
    codes, distinct = dictionary_codes(chunked(values, cuts))
    # each value is its distinct value, in order of first appearance, as pandas factorizes it
    expected, uniques = pd.factorize(pd.Series(values, dtype=object))
    assert codes.tolist() == expected.tolist()
    assert distinct.to_pylist() == list(uniques)
    as_text = factorize(pd.Series(values, dtype="str"))
    assert as_text[0].tolist() == expected.tolist() and as_text[1].tolist() == list(uniques)


@given(values=st.lists(KEYS, max_size=40), cuts=st.lists(st.integers(0, 40), max_size=5))
def test_text_rank_is_the_rank_of_the_sorted_distinct_values(values: list[str | None], cuts: list[int]) -> None:
    distinct = sorted({v for v in values if v is not None})  # Python's order: by code point
    expected = [len(distinct) if v is None else distinct.index(v) for v in values]  # missing last
    as_text = pd.Series(chunked(values, cuts), dtype=pd.StringDtype("pyarrow", na_value=np.nan))
    for column in (as_text, np.array(values, dtype=object)):
        for dtype in (np.int64, np.int32):  # the line pass keeps int32 ranks
            ranks = text_rank(column, dtype)
            assert ranks.dtype == dtype and ranks.tolist() == expected


@given(values=st.lists(KEYS, max_size=40), cuts=st.lists(st.integers(0, 40), max_size=5), data=st.data())
def test_take_rising_takes_across_chunks(values: list[str | None], cuts: list[int], data: st.DataObject) -> None:
    rows = sorted(data.draw(st.lists(st.integers(0, max(len(values) - 1, 0)), max_size=len(values) and 20)))
    taken = take_rising(chunked(values, cuts), np.array(rows, dtype=np.int64))
    assert taken.to_pylist() == [values[r] for r in rows]
    assert take_rising(pa.array(values, pa.large_string()), np.array(rows, dtype=np.int64)).to_pylist() == \
        [values[r] for r in rows]


MISSING = [None, float("nan"), pd.NA]


def by_row_tuples(columns: list[list]) -> list[int]:
    """The independent route: a number per distinct row, in order of first appearance, every
    kind of missing value one value."""
    numbers: dict[tuple, int] = {}
    rows = zip(*([None if v is None or v is pd.NA or v != v else v for v in c] for c in columns))
    return [numbers.setdefault(row, len(numbers)) for row in rows]


@given(st.integers(1, 30).flatmap(lambda n: st.lists(st.one_of(
    st.lists(st.one_of(st.sampled_from(["", "", "", "C1", "甲"]), st.sampled_from(MISSING)), min_size=n, max_size=n),
    st.lists(st.booleans(), min_size=n, max_size=n),
    st.lists(st.integers(-1, 3), min_size=n, max_size=n)), min_size=1, max_size=4)))
def test_row_groups_number_rows_as_a_dictionary_of_rows(columns: list[list]) -> None:
    # text as Python objects (facts: compared with the first value, the rest hashed), booleans
    # as their own codes, integers hashed; missing text may be None, NaN or NA
    arrays = [np.array(c, dtype=object) if isinstance(c[0], str) or c[0] is None or c[0] is pd.NA
              or isinstance(c[0], float) else np.array(c) for c in columns]
    assert row_groups(arrays).tolist() == by_row_tuples(columns)


def test_distinct_codes_wait_small_for_their_text() -> None:
    """Text made later from codes: each distinct value worded once, missing ones "", and the
    codes as small an integer as the texts need (service dates wait through the calculation)."""
    days = np.array(["2025-05-01", "NaT", "2025-05-02", "2025-05-01"], dtype="datetime64[D]")
    codes, texts = distinct_codes(days, lambda d: str(d))
    assert codes.dtype == np.uint8
    assert [texts[c] for c in codes] == ["2025-05-01", "", "2025-05-02", "2025-05-01"]
    assert text_column(codes, texts).tolist() == distinct_text(days, lambda d: str(d)).tolist()
    many = np.arange(300)
    assert distinct_codes(many, str)[0].dtype == np.uint16


@given(left=st.lists(st.integers(-1, 4), max_size=12), right=st.lists(st.integers(-1, 4), max_size=12))
def test_equal_pairs_are_the_pairs_two_loops_find(left: list[int], right: list[int]) -> None:
    """The independent route: every (i, j) with equal keys, `left`'s order first, as an inner merge."""
    i, j = equal_pairs(np.array(left, dtype=np.int64), np.array(right, dtype=np.int64))
    assert list(zip(i.tolist(), j.tolist())) == [(a, b) for a, x in enumerate(left) for b, y in enumerate(right) if x == y]
