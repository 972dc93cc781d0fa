"""Legal due dates (法定办结时限) of manual claims and applications, in working days.

The rules conclude *how* a case is due (`due_workdays` after submission, or the next quarterly
review day for ordinary chronic applications); the dates come from the working-day calendar
here, for a whole batch at once. Direct claims have no due date (NaT).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from yibao.calculator.dates import day_array
from yibao.calendar import WorkCalendar
from yibao.tariffs.registry import LoadedTariff

NAT = np.datetime64("NaT", "D")


def _month_day(text: str) -> tuple[int, int]:
    """`MM-DD` of a review day, a real day of the year (the tariff's model checked it)."""
    month, _, day = text.partition("-")
    return int(month), int(day)


def next_review_day(days: np.ndarray, review_days: list[str]) -> np.ndarray:
    """The first quarterly review day (`MM-DD` of every year) on or after each day."""
    years = days.astype("datetime64[Y]")
    best = np.full(len(days), NAT)
    for month, day in map(_month_day, review_days):
        this, following = ((y.astype("datetime64[M]") + (month - 1)).astype("datetime64[D]") + (day - 1)
                           for y in (years, years + 1))
        candidate = np.where(this >= days, this, following)
        best = np.where(np.isnat(best) | (candidate < best), candidate, best)
    return best


def due_dates(claims: pd.DataFrame, conclusions: pd.DataFrame, tariff: LoadedTariff,
              calendar: WorkCalendar) -> np.ndarray:
    """Per claim the due date (datetime64[D]), NaT where none; rows match by position."""
    submitted = day_array(claims["submitted_date"])
    out = np.full(len(claims), NAT)
    workdays = conclusions["due_workdays"].to_numpy(dtype=np.int64)
    counted = (workdays >= 0) & ~np.isnat(submitted)
    if counted.any():
        out[counted] = calendar.add_workdays(submitted[counted], workdays[counted])
    quarterly = conclusions["due_quarterly"].to_numpy(dtype=bool) & ~np.isnat(submitted)
    if quarterly.any():
        review = next_review_day(submitted[quarterly], tariff.tariff.chronic.review_days)
        known = ~np.isnat(review)
        out[np.flatnonzero(quarterly)[known]] = calendar.next_workday(review[known])
    return out
