"""Working days (工作日) under the official calendar, as precomputed lookups.

Statutory time limits in the county process charts ("N日内", docs/domain.md §3.6) count working days: weekends and statutory
holidays are off, make-up working days (调休) are on. The State Council notice is the only
source of truth, so the calendar comes from the `chinese_calendar` package plus an optional
user file for years the package does not know. Beyond the known years (`first` … `last`) the
answers are estimates that count weekends only: a batch of a year whose notice has not been
typed in yet still scores, and `estimated` tells which answers must be marked as such (the
pipeline flags those claims `calendar_estimated`). `yibao calendar check` says until when the
calendar is known.

Why a precomputed ordinal: with `ordinal[i]` = working days in [first, first + i], every
question (is it a working day, how many between two dates, the n-th working day after a date)
is one array lookup or one `searchsorted`, so whole claim tables are answered at once.

Scalars (`datetime.date`, `datetime.datetime`, `pandas.Timestamp`, a `numpy.datetime64`
scalar) give scalars; anything else is taken as an array of datetime64 (any unit; object
arrays of dates are converted) and gives a numpy array. Missing dates pass through arrays:
NaT in gives NaT out for dates, `MISSING` for counts and False for `is_workday`; a missing
scalar is a `ValueError` (a programming error, not user input).

User calendar file (YAML; path in `YIBAO_CALENDAR` or passed to `WorkCalendar`)::

    years:
      - year: 2027
        holidays: [2027-01-01, 2027-02-05, ...]   # days off that fall Mon–Fri
        workdays: [2027-02-14]                    # make-up working days (调休) on a weekend

Days not listed follow Monday–Friday. A year in the file replaces the package's data for that
year. All covered years together must be contiguous.
"""

from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import chinese_calendar
import numpy as np
import yaml

from yibao.errors import InputError
from yibao.files import FileState, file_state

#: the count returned for a missing (NaT) date in array results; equals NaT's int64 value
MISSING: Final = int(np.iinfo(np.int64).min)
ENV_VAR: Final = "YIBAO_CALENDAR"
_DAY = np.dtype("datetime64[D]")


# Dates the arrays cover: every day a batch can hold (pandas' nanosecond dates end in 2262),
# the known years exactly and the rest by the Monday–Friday rule.
SPAN: Final = (dt.date(1677, 1, 1), dt.date(2299, 12, 31))


class OutsideCalendarError(InputError):
    """A date (or a result) falls outside even the estimated range of the calendar."""


# A year's exceptions to Monday–Friday: (days off on weekdays, working days on weekends).
YearDays = tuple[set[dt.date], set[dt.date]]


def _package_years() -> dict[int, YearDays]:
    years: dict[int, YearDays] = {}
    for table, slot in ((chinese_calendar.holidays, 0), (chinese_calendar.workdays, 1)):
        for day in table:
            years.setdefault(day.year, (set(), set()))[slot].add(day)
    low, high = min(years), max(years)
    return {y: years.get(y, (set(), set())) for y in range(low, high + 1)}


def _as_day(value: Any, file: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except (AttributeError, ValueError):
        raise InputError(f"{field}: {value!r} is not a date (YYYY-MM-DD)", file=file) from None


def _user_years(path: Path) -> dict[int, YearDays]:
    """Read and validate a user calendar file (format in the module docstring)."""
    file = str(path)
    try:  # every scalar read as text, so a bad date is reported with its field
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as exc:
        raise InputError(f"cannot read calendar file: {exc}".splitlines()[0], file=file) from None
    if not isinstance(raw, dict) or set(raw) != {"years"} or not isinstance(raw["years"], list):
        raise InputError("a calendar file holds one key, `years`, a list of "
                         "{year, holidays, workdays} entries", file=file)
    years: dict[int, YearDays] = {}
    for i, entry in enumerate(raw["years"]):
        where = f"years[{i}]"
        if not isinstance(entry, dict) or "year" not in entry \
                or not set(entry) <= {"year", "holidays", "workdays"}:
            raise InputError(f"{where}: expected keys year, holidays, workdays; got {entry!r}",
                             file=file)
        text = entry["year"]
        if not isinstance(text, str) or not text.isdecimal() or not 1900 <= int(text) <= 2200:
            raise InputError(f"{where}.year: {text!r} is not a year", file=file)
        year = int(text)
        if year in years:
            raise InputError(f"{where}.year: {year} is listed twice", file=file)
        found: list[set[dt.date]] = []
        for key in ("holidays", "workdays"):
            values = entry.get(key) or []
            if not isinstance(values, list):
                raise InputError(f"{where}.{key}: expected a list of dates", file=file)
            days = {_as_day(v, file, f"{where}.{key}[{j}]") for j, v in enumerate(values)}
            stray = sorted(d for d in days if d.year != year)
            if stray:
                raise InputError(f"{where}.{key}: {stray[0]} is not in {year}", file=file)
            found.append(days)
        both = sorted(found[0] & found[1])
        if both:
            raise InputError(f"{where}: {both[0]} is listed as both holiday and workday", file=file)
        weekday = sorted(d for d in found[1] if d.weekday() < 5)
        if weekday:  # no-op as such, but the sign of a notice typed into the wrong list
            raise InputError(f"{where}.workdays: {weekday[0]} is a {weekday[0]:%A}, a working day anyway: a "
                             f"make-up working day (调休) falls on a weekend (holidays and workdays swapped?)",
                             file=file)
        years[year] = (found[0], found[1])
    return years


def _day_or_nat(value: Any) -> dt.date | np.datetime64 | None:
    """One element of an object array (a date, datetime, Timestamp, None or NaT) as a day."""
    if value is None or value != value:  # NaT is the one date unequal to itself
        return None
    return value.date() if isinstance(value, dt.datetime) else value


class WorkCalendar:
    """Working days over a contiguous range of years: the package's, extended by a user file."""

    first: dt.date
    last: dt.date

    def __init__(self, user_file: Path | None = None) -> None:
        years = _package_years()
        if user_file is not None:
            years.update(_user_years(Path(user_file)))
        low, high = min(years), max(years)
        gaps = [y for y in range(low, high + 1) if y not in years]
        if gaps:
            raise InputError(f"calendar years must be contiguous; {gaps[0]} is missing "
                             f"between {low} and {high}", file=None if user_file is None
                             else str(user_file))
        self.first, self.last = dt.date(low, 1, 1), dt.date(high, 12, 31)
        self._start = np.datetime64(min(SPAN[0], self.first), "D")
        self._known = (np.datetime64(self.first, "D"), np.datetime64(self.last, "D"))
        days = np.arange(self._start, np.datetime64(max(SPAN[1], self.last), "D") + 1)
        # 1970-01-01 was a Thursday: weekday (Mon=0) = (days since epoch + 3) mod 7
        work = (days.astype(np.int64) + 3) % 7 < 5
        for off, on in years.values():
            work[self._index_of(off)] = False
            work[self._index_of(on)] = True
        self._work = work
        self._ordinal = np.cumsum(work, dtype=np.int64)
        self._days = days

    # -- conversions ---------------------------------------------------------------------------

    def _index_of(self, days: set[dt.date]) -> np.ndarray:
        return (np.array(sorted(days), dtype=_DAY) - self._start).astype(np.int64)

    def _outside(self, what: str) -> OutsideCalendarError:
        return OutsideCalendarError(f"{what} is outside every working-day calendar, even estimated "
                                    f"({self._days[0]} … {self._days[-1]})")

    def _indices(self, d: Any) -> tuple[np.ndarray, np.ndarray, np.dtype | None]:
        """Index into the range per date, the NaT mask, and the input's datetime dtype if any."""
        arr = np.asarray(d)
        dtype = arr.dtype if arr.dtype.kind == "M" else None
        days = arr.astype(_DAY) if arr.dtype.kind in "MU" else np.array(
            [_day_or_nat(x) for x in arr.ravel()], dtype=_DAY).reshape(arr.shape)
        missing = np.isnat(days)
        idx = np.where(missing, 0, (days - self._start).astype(np.int64))
        bad = ~missing & ((idx < 0) | (idx >= len(self._work)))
        if bad.any():
            raise self._outside(f"date {days[bad].flat[0]}")
        return idx, missing, dtype

    @staticmethod
    def _is_scalar(d: Any) -> bool:
        scalar = d is None or isinstance(d, (dt.date, np.datetime64))
        if scalar and _day_or_nat(d) is None:
            raise ValueError("a missing date has no working-day answer")
        return scalar

    # -- public API ----------------------------------------------------------------------------

    def estimated(self, d: Any) -> np.ndarray:
        """Per date: does a working-day answer involving it fall outside the known years (an
        estimate by weekends only)? False where NaT."""
        days = np.asarray(d).astype(_DAY)
        return ~np.isnat(days) & ((days < self._known[0]) | (days > self._known[1]))

    def is_workday(self, d: Any) -> bool | np.ndarray:
        """Whether d is a working day (arrays: False where NaT)."""
        scalar = self._is_scalar(d)
        idx, missing, _ = self._indices(d)
        out = self._work[idx] & ~missing
        return bool(out) if scalar else out

    def ordinal(self, d: Any) -> int | np.ndarray:
        """Working days in [first, d] (arrays: `MISSING` where NaT)."""
        scalar = self._is_scalar(d)
        idx, missing, _ = self._indices(d)
        out = np.where(missing, MISSING, self._ordinal[idx])
        return int(out) if scalar else out

    def workdays_between(self, a: Any, b: Any) -> int | np.ndarray:
        """Working days d with a < d <= b; negative if b < a (arrays: `MISSING` where either is NaT)."""
        scalar = self._is_scalar(a) & self._is_scalar(b)  # both checked for None
        ia, ma, _ = self._indices(a)
        ib, mb, _ = self._indices(b)
        out = np.where(ma | mb, MISSING, self._ordinal[ib] - self._ordinal[ia])
        return int(out) if scalar else out

    def add_workdays(self, d: Any, n: Any) -> dt.date | np.ndarray:
        """The n-th working day after d (n >= 1); d itself for n == 0. Arrays broadcast d with n."""
        scalar = self._is_scalar(d) and np.ndim(n) == 0
        idx, missing, dtype = self._indices(d)
        steps = np.asarray(n, dtype=np.int64)
        if (steps < 0).any():
            raise ValueError("add_workdays counts forward: n must be >= 0")
        idx, missing, steps = np.broadcast_arrays(idx, missing, steps)
        target = self._ordinal[idx] + steps
        result = np.where(steps == 0, idx, np.searchsorted(self._ordinal, target, side="left"))
        beyond = ~missing & (result >= len(self._work))
        if beyond.any():
            k = int(np.argmax(beyond.ravel()))
            raise self._outside(f"{self._days[idx.flat[k]]} + {steps.flat[k]} working day(s)")
        if scalar:
            return self._days[int(result)].item()
        out = np.where(missing, np.datetime64("NaT", "D"), self._days[np.where(missing, 0, result)])
        return out.astype(dtype) if dtype is not None else out

    def next_workday(self, d: Any) -> dt.date | np.ndarray:
        """d if d is a working day, else the next working day (arrays: NaT passes through)."""
        idx, _, _ = self._indices(d)
        return self.add_workdays(d, (~self._work[idx]).astype(np.int64))


@lru_cache(maxsize=4)
def _calendar_for(user_file: str, state: FileState | None) -> WorkCalendar:
    return WorkCalendar(Path(user_file) if user_file else None)


def default_calendar() -> WorkCalendar:
    """The shared calendar: the package's years plus the file named by `YIBAO_CALENDAR`, if set,
    as that file is now: a notice typed into it while a job's process runs is read by the next
    batch, whose due dates and referral windows are then those a fresh process gives."""
    user_file = os.environ.get(ENV_VAR, "").strip()
    try:
        state = file_state(Path(user_file)) if user_file else None
    except OSError:  # WorkCalendar says what is wrong with it
        state = None
    return _calendar_for(user_file, state)
