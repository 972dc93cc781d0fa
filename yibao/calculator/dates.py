"""Vectorized date helpers the calculator needs: ages and lengths of stay."""

from __future__ import annotations

import numpy as np


def day_array(values: object) -> np.ndarray:
    """Any date-like column → datetime64[D] (NaT stays NaT)."""
    return np.asarray(values, dtype="datetime64[ns]").astype("datetime64[D]")


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    years = days.astype("datetime64[Y]")
    months = days.astype("datetime64[M]")
    y = years.astype(np.int64) + 1970
    m = (months - years.astype("datetime64[M]")).astype(np.int64) + 1
    d = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    return y, m, d


def age_on(birth: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Completed years of age on a date (a birthday counts on the day itself)."""
    by, bm, bd = ymd(day_array(birth))
    oy, om, od = ymd(day_array(on))
    before_birthday = (om < bm) | ((om == bm) & (od < bd))
    return oy - by - before_birthday.astype(np.int64)


def length_of_stay(admit: np.ndarray, discharge: np.ndarray) -> np.ndarray:
    """Discharge − admission in days, at least 1 (REFERENCE_TARIFF.md)."""
    los = (day_array(discharge) - day_array(admit)).astype(np.int64)
    return np.maximum(los, 1)
