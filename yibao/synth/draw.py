"""Vectorized random draws shared by the generators (one `numpy.random.Generator` throughout).

Every draw takes the generator explicitly and draws whole columns at once, so a seed fixes the
output and ten million rows cost the same few calls as ten.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Sequence

import numpy as np
import pandas as pd

Rng = np.random.Generator


def weighted(rng: Rng, pairs: Sequence[tuple[str, float]], size: int) -> np.ndarray:
    """`size` values drawn from (value, weight) pairs, as an object array of str."""
    values = np.array([v for v, _ in pairs], dtype=object)
    weights = np.array([w for _, w in pairs], dtype=np.float64)
    return values[rng.choice(len(values), size=size, p=weights / weights.sum())]


def chance(rng: Rng, p: float | np.ndarray, size: int) -> np.ndarray:
    return rng.random(size) < p


def split(total: int, shares: dict[str, float]) -> dict[str, int]:
    """Whole counts in proportion to `shares` that add up to `total` (largest remainder)."""
    weights = np.array(list(shares.values()), dtype=np.float64)
    exact = total * weights / weights.sum()
    counts = np.floor(exact).astype(np.int64)
    rest = total - int(counts.sum())
    counts[np.argsort(-(exact - counts), kind="stable")[:rest]] += 1
    return dict(zip(shares, counts.tolist()))


def day(value: dt.date) -> np.datetime64:
    return np.datetime64(value, "D")


def days_between(rng: Rng, start: np.ndarray | np.datetime64, end: np.ndarray | np.datetime64,
                 size: int) -> np.ndarray:
    """Uniform days from `start` to `end`, both included (arrays broadcast)."""
    span = (np.asarray(end) - np.asarray(start)).astype(np.int64) + 1
    return np.asarray(start) + np.floor(rng.random(size) * span).astype(np.int64).astype("timedelta64[D]")


def offset(days: np.ndarray, n: np.ndarray | int) -> np.ndarray:
    return days + np.asarray(n, dtype=np.int64).astype("timedelta64[D]")


def within_groups(sizes: np.ndarray) -> np.ndarray:
    """0, 1, …, size − 1 for each group, concatenated: the position of a row in its group."""
    total = int(sizes.sum())
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    return np.arange(total, dtype=np.int64) - starts


def money(yuan: np.ndarray) -> np.ndarray:
    """Yuan rounded to the fen."""
    return np.rint(np.asarray(yuan, dtype=np.float64) * 100) / 100


def join_columns(columns: list[np.ndarray], sep: str) -> np.ndarray:
    """Row-wise join of text columns, skipping empty cells ("" where all are empty)."""
    out = np.asarray(columns[0], dtype=object).copy()
    for col in columns[1:]:
        col = np.asarray(col, dtype=object)
        both = (out != "") & (col != "")
        out = np.where(both, out + sep + col, np.where(col != "", col, out))
    return out


def typed_frame(columns: dict[str, Any]) -> pd.DataFrame:
    """Columns as the loaded batch layout: text → `str`, days → datetime64[ns], the rest as given."""
    out: dict[str, Any] = {}
    for name, values in columns.items():
        if isinstance(values, np.ndarray) and values.dtype.kind == "M":
            values = values.astype("datetime64[ns]")
        elif isinstance(values, np.ndarray) and values.dtype.kind in "OU":
            values = pd.array(values, dtype="str")
        out[name] = values
    return pd.DataFrame(out)
