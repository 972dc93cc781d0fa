"""Maternity (生育保险): routes, quotas, allowance days and materials (docs/tariffs.md maternity)."""

from __future__ import annotations

import pytest

from conftest import make_case
from test_rules_cases import APPEAL, application, codes, conclude, missing

MOTHER = {"gender": "F", "birth_date": "1992-08-09", "insutype": "310", "employee_status": "in_service",
          "maternity_contribution_months": 30, "employer_avg_monthly_wage": 6000.0}
RESIDENT = {"gender": "F", "birth_date": "1995-01-01", "insutype": "390"}
MANUAL_52 = {"settlement_mode": "manual", "submitted_date": "2025-05-20",
             "materials": ["id_document", "invoice", "fee_list", "maternity_application_form", "medical_records"]}


def maternity(item: str, person: dict | None = None, claim: dict | None = None, **details) -> dict:
    visit = {"med_type": "52" if item in ("delivery", "induction", "miscarriage") else "51",
             "diagnoses": ["O80.0"], "maternity": {"item": item, **details}} | (claim or {})
    return make_case(person=MOTHER | (person or {}), claim=visit)


@pytest.mark.parametrize("details, quota, days", [
    ({"delivery": "vaginal"}, "vaginal", 188),
    ({"delivery": "assisted"}, "assisted", 188 + 15),
    ({"delivery": "caesarean", "infants": 2}, "caesarean", 188 + 15 + 15),
    ({"delivery": "vaginal", "infants": 3}, "vaginal", 188 + 2 * 15),
])
def test_employee_delivery_quota_and_allowance(details: dict, quota: str, days: int) -> None:
    c = conclude(maternity("delivery", **details))
    assert (c["rule_decision"], c["fund_pool"], c["maternity_scheme"], c["maternity_quota"]) == \
        ("approved", "maternity", "employee", quota)
    assert (c["maternity_factor_bp"], c["allowance_days"]) == (10000, days)


@pytest.mark.parametrize("item, weeks, quota, days", [
    ("abortion", 8, "abortion", 15),  # under 16 weeks: 15 days
    ("miscarriage", 10, "abortion", 15),
    ("miscarriage", 20, "abortion", 42),  # 16 to under 28 weeks: 42 days
    ("induction", 30, "induction", 188),  # at or beyond the last bracket: the delivery days
    ("miscarriage", None, "abortion", 15),  # no weeks: the shortest bracket
])
def test_terminations_by_pregnancy_weeks(item: str, weeks: int | None, quota: str, days: int) -> None:
    c = conclude(maternity(item, pregnancy_weeks=weeks))
    assert (c["maternity_quota"], c["allowance_days"]) == (quota, days)


def test_prenatal_care_has_a_quota_and_no_allowance() -> None:
    c = conclude(maternity("prenatal", claim={"admit_date": "2025-05-06", "discharge_date": "2025-05-06"}))
    assert (c["maternity_quota"], c["allowance_days"]) == ("prenatal", 0)


def test_too_few_contribution_months() -> None:
    c = conclude(maternity("delivery", {"maternity_contribution_months": 11}, delivery="vaginal"))
    assert (c["rule_decision"], codes(c), c["allowance_days"]) == ("rejected", ["MATERNITY_NOT_ELIGIBLE"], 0)
    assert c["reasons"][0][2] == "生育保险连续缴费不足12个月，不符合享受生育保险待遇的条件。" + APPEAL


@pytest.mark.parametrize("left, route", [("2023-04-01", "beyond"), ("2023-05-06", "within"), ("2024-06-01", "within")])
def test_left_employment_window_is_24_months(left: str, route: str) -> None:
    c = conclude(maternity("delivery", {"left_employment_date": left}, delivery="vaginal"))  # admitted 2025-05-06
    if route == "beyond":
        assert (c["rule_decision"], codes(c)) == ("rejected", ["MATERNITY_NOT_ELIGIBLE"])
    else:  # quotas but no allowance
        assert (c["rule_decision"], c["maternity_quota"], c["allowance_days"]) == ("approved", "vaginal", 0)


def test_separated_employee_files_the_no_employment_declaration() -> None:
    c = conclude(maternity("delivery", {"left_employment_date": "2024-06-01"}, MANUAL_52, delivery="vaginal"))
    assert (c["rule_decision"], missing(c)) == ("needs_materials", ["no_employment_declaration"])


def test_spouse_of_a_male_employee_gets_half_the_quota() -> None:
    spouse = RESIDENT | {"spouse_of_insured_male_employee": True}
    c = conclude(maternity("delivery", spouse, delivery="caesarean"))
    assert (c["rule_decision"], c["maternity_scheme"], c["maternity_factor_bp"], c["allowance_days"]) == \
        ("approved", "employee", 5000, 0)
    c = conclude(maternity("delivery", spouse, MANUAL_52, delivery="caesarean"))
    assert missing(c) == ["spouse_no_employment_declaration"]


def test_resident_delivery_is_a_lump_sum_from_the_basic_fund() -> None:
    c = conclude(maternity("delivery", RESIDENT, delivery="caesarean"))
    assert (c["maternity_scheme"], c["maternity_quota"], c["fund_pool"], c["allowance_days"]) == \
        ("resident", "caesarean", "maternity", 0)


def test_resident_prenatal_care_is_not_covered() -> None:
    c = conclude(maternity("prenatal", RESIDENT))
    assert (c["rule_decision"], codes(c)) == ("rejected", ["MATERNITY_NOT_COVERED"])


def test_maternity_benefits_for_a_man_are_refused() -> None:
    c = conclude(maternity("delivery", {"gender": "M"}, delivery="vaginal"))
    assert codes(c) == ["MATERNITY_NOT_ELIGIBLE"]


def test_manual_delivery_needs_the_medical_records() -> None:
    claim = MANUAL_52 | {"materials": ["id_document", "invoice", "fee_list", "maternity_application_form"]}
    assert missing(conclude(maternity("delivery", claim=claim, delivery="vaginal"))) == ["medical_records"]
    assert missing(conclude(maternity("delivery", claim=MANUAL_52, delivery="vaginal"))) == []


def test_maternity_claim_without_an_item_is_refused() -> None:
    c = conclude(make_case(person=MOTHER, claim={"med_type": "52", "maternity": None}))
    assert codes(c) == ["MATERNITY_ITEM"]


def test_maternity_application() -> None:
    details = {"item": "delivery", "delivery": "vaginal"}
    complete = application("maternity_application", med_type="52", maternity=details,
                           materials=MANUAL_52["materials"])
    complete["person"] |= MOTHER
    c = conclude(complete)
    assert (c["rule_decision"], c["due_workdays"], c["fund_pool"], c["allowance_days"]) == ("approved", 21, "", 0)
    complete["person"]["left_employment_date"] = "2024-06-01"
    assert missing(conclude(complete)) == ["no_employment_declaration"]


def test_delivery_application_lists_every_missing_material_of_the_manual_claim_at_once() -> None:
    # the application is the paper route of a manual delivery claim: fee list and medical records
    # (the manual claim's) and the application form (its own) are told together
    case = application("maternity_application", med_type="52", maternity={"item": "delivery", "delivery": "vaginal"},
                       materials=["id_document", "invoice"])
    case["person"] |= MOTHER
    c = conclude(case)
    assert (c["rule_decision"], sorted(missing(c))) == \
        ("needs_materials", ["fee_list", "maternity_application_form", "medical_records"])
    assert {rule for rule, _, _ in c["reasons"]} == {"MAT-012", "MAT-015"}
