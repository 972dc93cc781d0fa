"""Legal due dates in working days (docs/cases.md Applications; docs/tariffs.md deadlines).

Counted by hand on the 2025 calendar: Dragon Boat Festival 05-31 … 06-02 off; National Day and
Mid-Autumn 10-01 … 10-08 off with Saturday 10-11 a make-up working day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import make_case
from test_rules_cases import application, tariff
from yibao.calendar import default_calendar
from yibao.cases import case_batch, parse_case
from yibao.errors import InputError
from yibao.rules.deadlines import due_dates, next_review_day
from yibao.rules.engine import evaluate
from yibao.rules.facts import derive_facts

D = np.datetime64
MANUAL = {"settlement_mode": "manual", "submitted_date": "2025-05-12",
          "materials": ["id_document", "invoice", "fee_list", "diagnosis_certificate"]}
DIBAO = [{"kind": "dibao", "valid_from": "2025-01-01", "valid_to": "2025-12-31"}]


def due(case: dict) -> np.datetime64:
    lt, calendar = tariff(), default_calendar()
    batch = case_batch(parse_case(case))
    conclusions = evaluate(derive_facts(batch, lt, calendar), lt)
    return due_dates(batch.claims, conclusions, lt, calendar)[0]


def test_direct_claims_have_no_due_date() -> None:
    assert np.isnat(due(make_case()))


def test_manual_claim_21_working_days() -> None:
    # from Mon 05-12: May 13–16 (4), 19–23 (9), 26–30 (14), [06-02 off], Jun 3–6 (18), 9, 10, 11 (21)
    assert due(make_case(claim=MANUAL)) == D("2025-06-11")


def test_assistance_recipients_manual_claim_30_working_days() -> None:
    # … Jun 11 (21), 12, 13 (23), 16–20 (28), 23 (29), 24 (30)
    assert due(make_case(person={"statuses": DIBAO}, claim=MANUAL)) == D("2025-06-24")


@pytest.mark.parametrize("submitted, review", [
    ("2025-05-06", "2025-07-01"),  # a Tuesday
    ("2025-04-01", "2025-04-01"),  # a review day is due that day
    ("2025-09-15", "2025-10-09"),  # 10-01 is a holiday: the next working day
])
def test_ordinary_chronic_application_is_due_at_the_next_quarterly_review(submitted: str, review: str) -> None:
    case = application("chronic_application", diagnoses=["I10"], submitted_date=submitted,
                       materials=["id_document", "chronic_application_form", "inpatient_records_2y"])
    assert due(case) == D(review)


@pytest.mark.parametrize("kind, fields, expected", [
    ("chronic_application", {"diagnoses": ["N18.5"]}, "2025-05-06"),  # major: the same day
    ("referral_application", {"referral_kind": "normal"}, "2025-05-06"),
    ("maternity_application", {"med_type": "51", "maternity": {"item": "prenatal"}}, "2025-06-05"),
    ("assistance_application", {}, "2025-06-18"),
])
def test_application_due_dates(kind: str, fields: dict, expected: str) -> None:
    # from Tue 05-06: May 7–9 (3), 12–16 (8), 19–23 (13), 26–30 (18), Jun 3, 4, 5 (21); 6 (22),
    # 9–13 (27), 16, 17, 18 (30)
    assert due(application(kind, **fields)) == D(expected)


def test_next_review_day_rolls_into_next_year() -> None:
    days = np.array(["2025-10-02", "2025-12-31", "2025-01-01"], dtype="datetime64[D]")
    got = next_review_day(days, ["01-01", "04-01", "07-01", "10-01"])
    assert list(got.astype(str)) == ["2026-01-01", "2026-01-01", "2025-01-01"]


@pytest.mark.parametrize("day", ["13-01", "02-30", "1-1x"])
def test_a_bad_review_day_is_refused_with_the_tariff(day: str) -> None:
    """Checked when the tariff is read or edited: "02-30" passed `tariffs validate`, then stopped
    the first chronic application scored under it."""
    from yibao.tariffs.edit import apply_edits
    from yibao.tariffs.registry import resolve

    with pytest.raises(InputError, match=f"--set: chronic.review_days: '{day}' is not a day of the year"):
        apply_edits(resolve("sample-county@2025"), [f"chronic.review_days=['{day}']"])


def test_the_29th_of_february_is_a_review_day_of_leap_years() -> None:
    days = np.array(["2024-02-01", "2025-02-01"], dtype="datetime64[D]")
    assert list(next_review_day(days, ["02-29"]).astype(str)) == ["2024-02-29", "2025-03-01"]


def test_rows_match_by_position_and_missing_submission_gives_nat() -> None:
    claims = pd.DataFrame({"submitted_date": pd.to_datetime(["2025-05-12", None, "2025-05-12"])})
    conclusions = pd.DataFrame({"due_workdays": [21, 21, -1], "due_quarterly": [False, False, False]})
    got = due_dates(claims, conclusions, tariff(), default_calendar())
    assert got.dtype == np.dtype("datetime64[D]")
    assert got[0] == D("2025-06-11") and np.isnat(got[1]) and np.isnat(got[2])
