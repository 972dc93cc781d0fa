"""Chronic and special diseases (门诊慢特病): claims under a certification, and applications."""

from __future__ import annotations

from conftest import INSTITUTION, make_case
from test_rules_cases import APPEAL, application, codes, conclude, missing, tariff
from yibao.tariffs.edit import apply_edits

LEVEL1 = INSTITUTION | {"level": 1}


def chronic(dx: str, *certs: tuple[str, str, str], claim: dict | None = None) -> dict:
    certifications = [{"disease": d, "valid_from": start, "valid_to": end} for d, start, end in certs]
    visit = {"med_type": "14", "institution": LEVEL1, "admit_date": "2025-05-06", "discharge_date": "2025-05-06",
             "diagnoses": [dx]} | (claim or {})
    return make_case(person={"certifications": certifications}, claim=visit)


E11 = ("E11", "2024-07-01", "2026-06-30")


def test_certified_disease_is_paid_from_the_chronic_pool() -> None:
    c = conclude(chronic("E11.9", E11))
    assert (c["rule_decision"], c["fund_pool"], c["chronic_disease"], c["waive_preselfpay"]) == \
        ("approved", "chronic", "E11", False)


def test_certification_for_another_disease_is_refused() -> None:
    c = conclude(chronic("I10", E11))
    assert (c["rule_decision"], codes(c)) == ("rejected", ["NOT_CERTIFIED"])
    assert c["reasons"][0][2] == ("参保人在就诊日未持有与本次第一诊断相符且在有效期内的门诊慢特病认定（高血压(Ⅲ级)），"
                                  "门诊慢特病统筹基金不予支付。" + APPEAL)


def test_only_the_first_diagnosis_counts() -> None:
    assert codes(conclude(chronic("I10;E11.9", E11))) == ["NOT_CERTIFIED"]


def test_certification_must_be_valid_on_the_service_date() -> None:
    assert codes(conclude(chronic("E11.9", ("E11", "2025-05-07", None)))) == ["NOT_CERTIFIED"]
    assert codes(conclude(chronic("E11.9", ("E11", "2023-05-01", "2025-05-05")))) == ["NOT_CERTIFIED"]
    assert codes(conclude(chronic("E11.9", ("E11", "2025-05-06", "2025-05-06")))) == []


def test_code_ranges_match_by_the_first_three_characters() -> None:
    cancer = ("C00-C97", "2025-01-01", "2026-12-31")
    c = conclude(chronic("C34.9", cancer))  # major group: 乙类 pre-self-pay waived
    assert (c["chronic_disease"], c["waive_preselfpay"]) == ("C00-C97", True)
    assert codes(conclude(chronic("C98.0", cancer))) == ["NOT_CERTIFIED"]
    assert codes(conclude(chronic("D00.1", cancer))) == ["NOT_CERTIFIED"]


def test_a_diagnosis_off_the_list_says_so() -> None:
    c = conclude(chronic("K21.0", E11))
    assert c["reasons"][0][2].startswith("本次第一诊断不属于门诊慢特病病种范围")


def test_fallback_to_general_outpatient_where_the_tariff_says_so() -> None:
    lenient = apply_edits(tariff(), ["chronic.fallback_to_outpatient=true"])
    c = conclude(chronic("I10", E11), lenient)
    assert (c["rule_decision"], c["fund_pool"], codes(c)) == ("approved", "outpatient", ["NOT_CERTIFIED"])
    assert c["reasons"][0][2].endswith("按普通门诊政策结算。")
    # the outpatient pool brings its level rule: residents at level 1 only
    c = conclude(chronic("I10", E11, claim={"institution": INSTITUTION}), lenient)
    assert (c["rule_decision"], codes(c)) == ("rejected", ["NOT_CERTIFIED", "OUTPATIENT_LEVEL"])


# --- certification applications (病种认定) ---

FORM = ["id_document", "chronic_application_form"]


def chronic_application(dx: str, materials: list[str]) -> dict:
    return application("chronic_application", diagnoses=[dx], materials=materials)


def test_complete_ordinary_application_goes_to_the_quarterly_review() -> None:
    c = conclude(chronic_application("I10", FORM + ["outpatient_reports_3x45d"]))
    assert (c["rule_decision"], c["due_quarterly"], c["due_workdays"]) == ("approved", True, -1)


def test_major_disease_application_is_decided_at_once() -> None:
    c = conclude(chronic_application("N18.5", FORM + ["inpatient_records_2y"]))
    assert (c["rule_decision"], c["due_quarterly"], c["due_workdays"]) == ("approved", False, 0)


def test_schizophrenia_needs_the_specialist_diagnosis_instead() -> None:
    c = conclude(chronic_application("F20.0", FORM + ["inpatient_records_2y"]))
    assert (c["rule_decision"], missing(c)) == ("needs_materials", ["diagnosis_certificate"])
    assert conclude(chronic_application("F20.0", FORM + ["diagnosis_certificate"]))["rule_decision"] == "approved"


def test_application_for_a_disease_off_the_list_is_refused() -> None:
    c = conclude(chronic_application("K21.0", FORM + ["inpatient_records_2y"]))
    assert (c["rule_decision"], codes(c)) == ("rejected", ["CHRONIC_NOT_LISTED"])
