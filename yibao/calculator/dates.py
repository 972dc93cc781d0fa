"""Vectorized date helpers the calculator needs: ages and lengths of stay."""

from __future__ import annotations

import numpy as np


def day_array(values: object) -> np.ndarray:
    """Any date-like column → datetime64[D] (NaT stays NaT)."""
    return np.asarray(values, dtype="datetime64[ns]").astype("datetime64[D]")


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day of each day. Ten million service dates span a few hundred days, so
    the fields are computed once per day of the span and looked up."""
    days = day_array(days)
    known = ~np.isnat(days)
    number = days.astype(np.int64)
    lo, hi = (int(number[known].min()), int(number[known].max())) if known.any() else (0, 0)
    if hi - lo + 1 >= len(days) // 4:
        return _ymd(days)
    fields = _ymd(np.r_[np.arange(lo, hi + 1), np.iinfo(np.int64).min].astype("datetime64[D]"))
    at = np.where(known, number - lo, hi - lo + 1)  # the last entry: NaT
    return fields[0][at], fields[1][at], fields[2][at]


def _ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    years = days.astype("datetime64[Y]")
    months = days.astype("datetime64[M]")
    y = years.astype(np.int64) + 1970
    m = (months - years.astype("datetime64[M]")).astype(np.int64) + 1
    d = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    return y, m, d


def age_on(birth: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Completed years of age on a date (a birthday counts on the day itself)."""
    return age_from_fields(*ymd(birth), *ymd(on))


def age_from_fields(by, bm, bd, oy, om, od):  # type: ignore[no-untyped-def]
    """`age_on` from the dates' year, month and day: numpy arrays, or single values where the
    audit kernel compiles it (one formula for both)."""
    return oy - by - ((om < bm) | ((om == bm) & (od < bd)))


def length_of_stay(admit: np.ndarray, discharge: np.ndarray) -> np.ndarray:
    """Discharge − admission in days, at least 1 (docs/tariffs.md)."""
    los = (day_array(discharge) - day_array(admit)).astype(np.int64)
    return np.maximum(los, 1)
