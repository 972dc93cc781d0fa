"""Integer codes for text and for rows: what keeps ten million lines fast.

At ten million rows the slowest thing pandas does is per-row Python strings: each is an object,
`get_indexer` and `isin` on Arrow strings make one for every value, and pandas 3 converts object
arrays back to Arrow strings when a frame is built. So keys become integer codes by hashing
(`factorize`), rows are grouped by combining codes, and text is made once per distinct value and
spread with an Arrow `take`.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from yibao.tables import LIST_SEP


Column = pd.Series | np.ndarray | Sequence[Any]


def _series(values: Column) -> pd.Series:
    """As a Series without re-inferring the type (an object array stays object)."""
    if isinstance(values, pd.Series):
        return values.reset_index(drop=True)
    values = np.asarray(values)
    return pd.Series(values, dtype=object) if values.dtype.kind in "OU" else pd.Series(values)


def frame(columns: Mapping[str, Column], index: pd.Index | None = None) -> pd.DataFrame:
    """A DataFrame of the columns as they are: an object array of text stays object (pandas 3
    would convert it to Arrow strings one Python object at a time, for the next step to read
    the objects back)."""
    out = pd.DataFrame({name: _series(values) for name, values in columns.items()})
    return out.set_axis(index) if index is not None else out


def positions(values: Column, table: Column) -> np.ndarray:
    """Per value its row in `table` (keys unique), -1 where absent or missing. One hash pass over
    both; pandas' `get_indexer` on Arrow strings makes a Python object of every value first.
    Text held in Arrow is probed against Arrow's hash set of the table (`index_in`): no copy of
    the values is concatenated and a short table is hashed once (2M lines: 1.5-7x faster)."""
    arrow = _arrow_text(values)
    if arrow is not None and (keys := _arrow_keys(table, arrow.type)) is not None:
        found = pc.index_in(arrow, value_set=keys, skip_nulls=True).fill_null(-1)
        return found.to_numpy().astype(np.int64)
    table, values = _series(table), _series(values)
    codes, _ = pd.factorize(pd.concat([table, values], ignore_index=True))
    where = np.full(int(codes.max(initial=-1)) + 2, -1, dtype=np.int64)  # the last slot: missing (-1)
    where[codes[:len(table)]] = np.arange(len(table))
    return where[codes[len(table):]]


def _arrow_text(values: Column) -> pa.ChunkedArray | None:
    """A pandas text column's Arrow data (no copy), None for anything else."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        return pa.chunked_array(pa.array(values.array))
    return None


def _arrow_keys(table: Column, kind: pa.DataType) -> pa.Array | None:
    """The table as one Arrow array of `kind` when it is text (a text column, or Python str)."""
    arrow = _arrow_text(table)
    if arrow is not None:
        return arrow.combine_chunks().cast(kind)
    if not isinstance(table, (pd.Series, np.ndarray)) and all(isinstance(t, str) for t in table):
        return pa.array(list(table), kind)
    return None


def row_groups(columns: Sequence[Column]) -> np.ndarray:
    """A group number per row, equal for rows equal in every column (missing equals missing),
    numbered in order of first appearance: `groupby(sort=False).ngroup()` by hashing each column
    once and combining the codes, instead of hashing rows of mixed objects."""
    n = len(columns[0]) if columns else 0
    key = np.zeros(n, dtype=np.int64)
    if n <= 1:  # one row is one group (a what-if case: its 55 facts were hashed a column at a time)
        return key
    span = 1
    for column in columns:
        codes, size = _value_codes(column)
        if span * size >= 2**62:
            key, span = pd.factorize(key)[0].astype(np.int64), int(key.max(initial=0)) + 1
        key = key * size + codes
        span *= size
    return pd.factorize(key)[0].astype(np.int64)


def equal_pairs(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs (i, j) of integer keys with left[i] == right[j], in the order of `left`, then of
    `right`, as an inner merge gives them: by sorting `right` once (pandas' merge of two frames
    took a millisecond even for one row, four times per claim's facts)."""
    order = np.argsort(right, kind="stable")
    keys = np.asarray(right)[order]
    start = np.searchsorted(keys, left, "left")
    counts = np.searchsorted(keys, left, "right") - start
    i = np.repeat(np.arange(len(left)), counts)
    within = np.arange(len(i)) - np.repeat(np.cumsum(counts) - counts, counts)  # 0, 1, … in each left's run
    return i, order[np.repeat(start, counts) + within]


def factorize(values: Column, dtype: type = np.int64) -> tuple[np.ndarray, pd.Series]:
    """`pd.factorize`: per value the code of its distinct value (first appearance order, -1 for
    missing), as `dtype` (the caller's width, when it keeps the codes: no second array), and the
    distinct values. Text held in Arrow is dictionary-encoded by Arrow, with no Python string
    made (2M lines of 174 distinct line ids: 0.13 → 0.02 s)."""
    arrow = _arrow_text(values)
    if arrow is None:
        codes, uniques = pd.factorize(_series(values))
        return codes.astype(dtype), pd.Series(uniques)
    codes, distinct = dictionary_codes(arrow, dtype)
    return codes, arrow_text_series(distinct)


def dictionary_codes(values: pa.Array | pa.ChunkedArray, dtype: type = np.int64) -> tuple[np.ndarray, pa.Array]:
    """Arrow's dictionary encoding as codes of `dtype` (-1: missing; a signed type wide enough for
    the number of distinct values: Arrow's own indices are int32) and the distinct values. The
    chunks of a chunked array are encoded against one dictionary, so their codes are copied into
    one array chunk by chunk: combined first, a column of 10M lines read from Parquet (77 chunks)
    is copied whole, 0.2 GB of fresh memory for a few distinct values."""
    encoded = pc.dictionary_encode(values)
    chunks = encoded.chunks if isinstance(encoded, pa.ChunkedArray) else [encoded]
    codes = np.empty(len(values), dtype=dtype)
    at = 0
    for chunk in chunks:
        codes[at:at + len(chunk)] = pc.fill_null(chunk.indices, -1).to_numpy()
        at += len(chunk)
    return codes, chunks[0].dictionary if chunks else pa.array([], values.type)


def take_rising(values: pa.Array | pa.ChunkedArray, rows: np.ndarray) -> pa.Array | pa.ChunkedArray:
    """`values.take(rows)` for rows in rising order, a chunk at a time: Arrow takes from a chunked
    array by combining its chunks first (the lines' claim ids read from Parquet, 10M lines: 0.2 GB
    copied, and faulted in fresh, to take 0.8M of them)."""
    rows = np.asarray(rows, dtype=np.int64)
    if isinstance(values, pa.Array):
        return values.take(pa.array(rows))
    bounds = np.cumsum([0] + [len(chunk) for chunk in values.chunks])
    cut = np.searchsorted(rows, bounds)
    return pa.chunked_array([chunk.take(pa.array(rows[a:b] - start)) for chunk, start, a, b
                             in zip(values.chunks, bounds[:-1].tolist(), cut[:-1].tolist(), cut[1:].tolist())],
                            type=values.type)


def _value_codes(column: Column) -> tuple[np.ndarray, int]:
    """Codes in [0, size), equal for equal values, missing ones included. A bool array is its own
    code. An object array of text (facts: mostly their default) is compared with its first value,
    which costs a fifth of hashing it, and only the other rows are hashed; hashing uses the NA
    sentinel (pandas' scan for missing values is as slow as the hashing): None, NaN and NA are
    one missing code, as in pandas' grouping."""
    values = column.to_numpy() if isinstance(column, pd.Series) and column.dtype in (bool, object) else column
    if isinstance(values, np.ndarray) and values.dtype == bool:
        return values.view(np.int8), 2
    if isinstance(values, np.ndarray) and values.dtype == object and len(values) and isinstance(values[0], str):
        try:
            other = np.flatnonzero(values != values[0])
        except TypeError:  # pd.NA compares to NA, which is neither true nor false: hash it all
            other = None
        if other is not None:
            codes = np.zeros(len(values), dtype=np.int64)
            found, uniques = pd.factorize(values[other])
            codes[other] = found + 2  # 0: the first value, 1: missing
            return codes, len(uniques) + 2
    codes, uniques = factorize(column)  # missing: -1, so code 0
    return codes + 1, len(uniques) + 1


def text_rank(values: Column, dtype: type = np.int64) -> np.ndarray:
    """Per value its dense rank in sorted order (missing last), as `dtype`: hashing finds the
    distinct values, and only those are sorted, by Arrow (UTF-8 byte order is code point order,
    as in Python)."""
    codes, uniques = factorize(values, dtype)
    distinct = _arrow_text(uniques)
    distinct = pa.array(uniques.to_numpy(dtype=object), pa.large_string()) if distinct is None else distinct.combine_chunks()
    ranks = pc.rank(distinct, sort_keys="ascending", tiebreaker="dense").to_numpy().astype(dtype) - 1
    return np.append(ranks, dtype(len(uniques)))[codes]  # a missing value's code, -1, takes the last


def text_column(codes: np.ndarray, texts: Sequence[str], more: pa.Array | None = None) -> pd.Series:
    """Per row `texts[codes[row]]`, as a pandas str column; codes from `len(texts)` on take the
    Arrow texts `more`, in order."""
    values = pa.array(list(texts), pa.large_string())
    values = (values if more is None else pa.concat_arrays([values, more])).take(
        pa.array(np.asarray(codes, dtype=np.int64)))
    return arrow_text_series(values)


def arrow_text_series(values: pa.Array | pa.ChunkedArray) -> pd.Series:
    """Arrow text as a pandas str column over the same buffers (no copy)."""
    return pd.Series(values, dtype=pd.StringDtype("pyarrow", na_value=np.nan))


def join_text(*parts: str | pa.Array, sep: str = "") -> pa.Array:
    """Text arrays and constant text joined row by row, in Arrow (no Python string per row)."""
    texts = [pa.scalar(p, pa.large_string()) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*texts, pa.scalar(sep, pa.large_string()))


def distinct_text(values: pd.Series | np.ndarray, fmt: Callable[[Any], str]) -> pd.Series:
    """Per row `fmt(value)`, computed once per distinct value; missing values give ""."""
    return text_column(*distinct_codes(values, fmt))


def distinct_codes(values: pd.Series | np.ndarray, fmt: Callable[[Any], str]) -> tuple[np.ndarray, list[str]]:
    """`distinct_text` before its text is made: per row a code into the texts, as small an integer
    as they need (ten million service dates wait through the calculation in 20 MB, not 180)."""
    codes, uniques = pd.factorize(values)
    texts = [fmt(v) for v in uniques] + [""]
    return np.where(codes < 0, len(texts) - 1, codes).astype(np.min_scalar_type(len(texts) - 1)), texts


def worded(values: pd.Series | np.ndarray, word: Callable[[Any], str]) -> pa.Array:
    """`word(value)` per row as Arrow text, called once per distinct value (missing ones included):
    ten million rejected rows hold a handful of distinct cells, and wording each row in Python
    took minutes."""
    codes, distinct = pd.factorize(values, use_na_sentinel=False)
    return pa.array([word(v) for v in distinct], pa.large_string()).take(pa.array(codes, pa.int64()))


def mask_text(masks: np.ndarray, names: Sequence[str]) -> pd.Series:
    """Per row the names of the set bits of its mask (bit i: names[i]), `;`-joined, "" for none."""
    masks = np.asarray(masks, dtype=np.int64)
    distinct = np.flatnonzero(np.bincount(masks, minlength=1))  # masks are small: count, don't sort
    lookup = np.zeros(len(distinct) and distinct[-1] + 1, dtype=np.int64)
    lookup[distinct] = np.arange(len(distinct))
    texts = [LIST_SEP.join(name for bit, name in enumerate(names) if m >> bit & 1) for m in distinct.tolist()]
    return text_column(lookup[masks], texts)


def any_bits(masks: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Per group the OR of its rows' masks."""
    out = np.zeros(n_groups, dtype=np.int64)
    rows = np.flatnonzero(masks)
    np.bitwise_or.at(out, groups[rows], masks[rows])
    return out
