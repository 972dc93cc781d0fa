"""Working-day calendar: values worked by hand from the State Council's 2025 holiday notice.

2025 National Day + Mid-Autumn: Oct 1–8 off, make-up working days Sun Sep 28 and Sat Oct 11.
2025 Spring Festival: Jan 28–Feb 4 off, make-up working days Sun Jan 26 and Sat Feb 8.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import chinese_calendar
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.calendar import MISSING, OutsideCalendarError, WorkCalendar, default_calendar
from yibao.errors import InputError

D = dt.date
# the last year the installed package knows (2026 with chinesecalendar 1.11); newer releases add years
PACKAGE_LAST = D(max(chinese_calendar.holidays).year, 12, 31)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar()


def test_range_is_the_package_years(cal: WorkCalendar) -> None:
    assert cal.first == D(2004, 1, 1)
    assert cal.last == PACKAGE_LAST >= D(2026, 12, 31)


@pytest.mark.parametrize(("day", "expected"), [
    (D(2025, 9, 28), True),    # Sunday, make-up working day
    (D(2025, 9, 30), True),
    (D(2025, 10, 1), False),
    (D(2025, 10, 8), False),   # Wednesday, still holiday
    (D(2025, 10, 9), True),
    (D(2025, 10, 11), True),   # Saturday, make-up working day
    (D(2025, 10, 12), False),  # ordinary Sunday
    (D(2025, 1, 26), True),    # Sunday, make-up
    (D(2025, 1, 28), False),
    (D(2025, 2, 4), False),    # Tuesday, still Spring Festival
    (D(2025, 2, 8), True),     # Saturday, make-up
])
def test_is_workday_2025(cal: WorkCalendar, day: dt.date, expected: bool) -> None:
    assert cal.is_workday(day) is expected


def test_national_day_2025(cal: WorkCalendar) -> None:
    admitted = D(2025, 9, 30)  # Tuesday; following working days: Oct 9, 10, 11, 13, 14, 15
    assert cal.add_workdays(admitted, 1) == D(2025, 10, 9)
    assert cal.add_workdays(admitted, 3) == D(2025, 10, 11)
    assert cal.add_workdays(admitted, 5) == D(2025, 10, 14)
    assert cal.add_workdays(admitted, 6) == D(2025, 10, 15)
    assert cal.workdays_between(admitted, D(2025, 10, 14)) == 5
    assert cal.workdays_between(D(2025, 10, 14), admitted) == -5
    assert cal.workdays_between(admitted, D(2025, 10, 8)) == 0
    assert cal.next_workday(D(2025, 10, 1)) == D(2025, 10, 9)
    assert cal.next_workday(D(2025, 10, 12)) == D(2025, 10, 13)
    assert cal.next_workday(D(2025, 10, 11)) == D(2025, 10, 11)
    assert cal.add_workdays(D(2025, 10, 1), 0) == D(2025, 10, 1)  # n == 0: the day itself


def test_spring_festival_2025(cal: WorkCalendar) -> None:
    friday = D(2025, 1, 24)  # following: Jan 26 (Sun), 27, Feb 5, 6, 7, 8 (Sat), 10
    assert cal.add_workdays(friday, 1) == D(2025, 1, 26)
    assert cal.add_workdays(friday, 2) == D(2025, 1, 27)
    assert cal.add_workdays(friday, 3) == D(2025, 2, 5)
    assert cal.add_workdays(friday, 6) == D(2025, 2, 8)
    assert cal.add_workdays(friday, 7) == D(2025, 2, 10)
    assert cal.workdays_between(friday, D(2025, 2, 10)) == 7
    assert cal.next_workday(D(2025, 1, 28)) == D(2025, 2, 5)


def test_working_days_in_2025(cal: WorkCalendar) -> None:
    # 261 weekdays; 18 of them off (Jan 1; Jan 28-31, Feb 3-4; Apr 4; May 1, 2, 5; Jun 2;
    # Oct 1-3, 6-8); 5 make-up weekend days (Jan 26, Feb 8, Apr 27, Sep 28, Oct 11)
    assert cal.workdays_between(D(2024, 12, 31), D(2025, 12, 31)) == 261 - 18 + 5


def test_accepts_datetimes_and_datetime64_scalars(cal: WorkCalendar) -> None:
    assert cal.next_workday(dt.datetime(2025, 10, 1, 15, 30)) == D(2025, 10, 9)
    assert cal.add_workdays(np.datetime64("2025-09-30T08:00"), 5) == D(2025, 10, 14)
    assert cal.is_workday(np.datetime64("2025-10-11")) is True


@pytest.mark.parametrize("unit", ["D", "s", "ns"])
def test_arrays_keep_unit_and_pass_nat_through(cal: WorkCalendar, unit: str) -> None:
    days = np.array(["2025-09-30", "NaT", "2025-10-01"], dtype=f"datetime64[{unit}]")
    added = cal.add_workdays(days, np.array([5, 1, 0]))
    assert added.dtype == days.dtype
    assert added[0] == np.datetime64("2025-10-14") and np.isnat(added[1])
    assert added[2] == np.datetime64("2025-10-01")
    assert cal.is_workday(days).tolist() == [True, False, False]
    assert cal.ordinal(days)[1] == MISSING
    assert cal.workdays_between(days, np.datetime64("2025-10-14")).tolist() == [5, MISSING, 5]
    nxt = cal.next_workday(days)
    assert nxt[2] == np.datetime64("2025-10-09") and np.isnat(nxt[1])


def test_scalar_date_broadcasts_with_array_n(cal: WorkCalendar) -> None:
    out = cal.add_workdays(D(2025, 9, 30), np.array([1, 5, 6]))
    assert out.tolist() == [D(2025, 10, 9), D(2025, 10, 14), D(2025, 10, 15)]


def test_missing_scalar_and_negative_n_are_programming_errors(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError):
        cal.is_workday(None)
    with pytest.raises(ValueError):
        cal.ordinal(np.datetime64("NaT"))
    with pytest.raises(ValueError):
        cal.add_workdays(D(2025, 1, 1), -1)


def _brute_add(day: dt.date, n: int) -> dt.date:
    """Independent reference: step day by day with the package's own predicate."""
    while n > 0:
        day += dt.timedelta(days=1)
        n -= chinese_calendar.is_workday(day)
    return day


_days = st.dates(min_value=D(2004, 1, 1), max_value=D(2026, 10, 31))  # room for 40 working days


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_days, _days, st.integers(0, 40)), min_size=1, max_size=20))
def test_vectorized_equals_scalar_and_reference(rows: list[tuple[dt.date, dt.date, int]]) -> None:
    cal = default_calendar()
    a = np.array([r[0] for r in rows], dtype="datetime64[ns]")
    b = np.array([r[1] for r in rows], dtype="datetime64[s]")
    n = np.array([r[2] for r in rows])
    added = cal.add_workdays(a, n)
    between = cal.workdays_between(a, b)
    workday = cal.is_workday(a)
    nxt = cal.next_workday(a)
    for i, (da, db, k) in enumerate(rows):
        assert added[i].astype("datetime64[D]").item() == cal.add_workdays(da, k) == _brute_add(da, k)
        assert between[i] == cal.workdays_between(da, db)
        assert workday[i] == cal.is_workday(da) == chinese_calendar.is_workday(da)
        assert nxt[i].astype("datetime64[D]").item() == cal.next_workday(da)
        assert cal.workdays_between(da, cal.add_workdays(da, k)) == k


@pytest.mark.parametrize("day", [D(2099, 3, 2), D(2003, 6, 2), D(2028, 10, 2)])
def test_estimates_by_weekends_outside_the_known_years(cal: WorkCalendar, day: dt.date) -> None:
    # beyond the notices every weekday works: 2028-10-02 (a Monday of the National Day week) too
    assert cal.is_workday(day) is (day.weekday() < 5)
    assert cal.estimated(np.array([np.datetime64("2025-01-02"), np.datetime64(day), np.datetime64("NaT")],
                                  dtype="datetime64[D]")).tolist() == [False, True, False]
    assert cal.add_workdays(day, 5) == _brute_weekdays(day, 5)


def _brute_weekdays(day: dt.date, n: int) -> dt.date:
    while n:
        day += dt.timedelta(days=1)
        n -= day.weekday() < 5
    return day


def test_results_run_on_past_the_known_years(cal: WorkCalendar) -> None:
    # the last days of 2026 are known; the count then runs on by weekends only, flagged by the date
    last_week = PACKAGE_LAST - dt.timedelta(days=1)
    result = cal.add_workdays(last_week, 5)
    assert result > PACKAGE_LAST and bool(cal.estimated(np.datetime64(result))) is True
    assert cal.workdays_between(last_week, result) == 5


def test_refuses_only_dates_no_batch_can_hold(cal: WorkCalendar) -> None:
    with pytest.raises(OutsideCalendarError, match="2400-01-03"):
        cal.is_workday(D(2400, 1, 3))
    assert issubclass(OutsideCalendarError, InputError)


# A hypothetical 2027 (not an official notice): New Year Fri Jan 1, Spring Festival Feb 8–12
# off with make-up Sunday Feb 7. A year in the file replaces the package's, if it has one.
_YEAR_2027 = """\
years:
  - year: 2027
    holidays: [2027-01-01, 2027-02-08, 2027-02-09, 2027-02-10, 2027-02-11, 2027-02-12]
    workdays: [2027-02-07]
"""


def test_user_file_extends_to_2027(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text(_YEAR_2027, encoding="utf-8")
    cal = WorkCalendar(path)
    assert (cal.first, cal.last) == (D(2004, 1, 1), max(PACKAGE_LAST, D(2027, 12, 31)))
    # Thu 2026-12-31 → Fri Jan 1 off, weekend, Mon Jan 4
    assert cal.add_workdays(D(2026, 12, 31), 1) == D(2027, 1, 4)
    # Fri Feb 5 → Sun Feb 7 (make-up), then Feb 8–12 off, Feb 13–14 weekend, Mon Feb 15
    assert cal.add_workdays(D(2027, 2, 5), 1) == D(2027, 2, 7)
    assert cal.add_workdays(D(2027, 2, 5), 2) == D(2027, 2, 15)
    assert cal.is_workday(D(2027, 6, 1)) is True  # unlisted: Mon–Fri rule
    assert bool(cal.estimated(np.datetime64("2027-06-01"))) is False
    assert bool(cal.estimated(np.datetime64(f"{cal.last.year + 1}-01-04"))) is True
    monkeypatch.setenv("YIBAO_CALENDAR", str(path))
    assert default_calendar().last == cal.last


def test_a_notice_typed_into_the_user_file_is_read_by_the_next_batch(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A settlement job's process outlives the day the notice is typed into its calendar file:
    the next batch must count working days as a fresh process does. `default_calendar` kept the
    file's first reading for the life of the process (2027-02-05 + 2 working days stayed 02-09
    where a fresh process, with the Spring Festival typed in, said 02-15)."""
    path = tmp_path / "calendar.yaml"
    path.write_text("years:\n  - year: 2027\n    holidays: [2027-01-01]\n", encoding="utf-8")
    monkeypatch.setenv("YIBAO_CALENDAR", str(path))
    assert default_calendar().add_workdays(D(2027, 2, 5), 2) == D(2027, 2, 9)
    path.write_text(_YEAR_2027, encoding="utf-8")
    assert default_calendar().add_workdays(D(2027, 2, 5), 2) == D(2027, 2, 15)


@pytest.mark.parametrize(("text", "message"), [
    ("years:\n  - year: 2027\n    holidays: [2028-01-03]\n", "2028-01-03 is not in 2027"),
    ("years:\n  - year: 2027\n    holidays: [2027-02-07]\n    workdays: [2027-02-07]\n",
     "both holiday and workday"),
    ("years:\n  - year: 2027\n    holidays: [2027-02-20]\n    workdays: [2027-02-10]\n",
     r"years\[0\]\.workdays: 2027-02-10 is a Wednesday, a working day anyway: .* \(holidays and workdays swapped\?\)"),
    ("years:\n  - year: 2100\n", r"\d{4} is missing between 2004 and 2100"),
    ("years:\n  - year: 2027\n    holiday: [2027-01-01]\n", r"years\[0\]: expected keys"),
    ("years:\n  - year: 2027\n    holidays: [soon]\n", r"years\[0\]\.holidays\[0\]: 'soon' is not a date"),
    ("years:\n  - year: 2027\n    holidays: [2027-01-01, 2027-13-01]\n",
     r"years\[0\]\.holidays\[1\]: '2027-13-01' is not a date"),
    ("years:\n  - year: next\n", r"years\[0\]\.year: 'next' is not a year"),
    ("2027: []\n", "one key, `years`"),
    ("years:\n  - year: \udcff2027\n", "cannot read calendar file: 'utf-8' codec can't decode byte 0xff"),
    ("years: " + "[" * 3000 + "]" * 3000, "cannot read calendar file: maximum recursion depth"),
])
def test_user_file_errors_name_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    with pytest.raises(InputError, match=message) as info:
        WorkCalendar(path)
    assert str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("until, known", [("2025-06-30", True), ("2004-01-01", True), ("2099-01-01", False),
                                          ("1990-01-01", False)])
def test_calendar_check_until_a_day_says_whether_the_day_is_known(until: str, known: bool,
                                                                  capsys: pytest.CaptureFixture[str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import run_cli

    monkeypatch.delenv("YIBAO_CALENDAR", raising=False)
    assert run_cli(["calendar", "check", "--until", until, "-q"], capsys, monkeypatch) == (0 if known else 1, "")
