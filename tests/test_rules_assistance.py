"""Medical assistance (医疗救助): statuses and precedence, pending verification, applications."""

from __future__ import annotations

from conftest import INSTITUTION, make_case
from test_rules_cases import application, codes, conclude, missing, tariff
from yibao.tariffs.edit import apply_edits

CARD = ["assistance_application_card", "household_check_authorisation"]


def status(kind: str, start: str = "2025-01-01", end: str | None = "2025-12-31") -> dict:
    return {"kind": kind, "valid_from": start, "valid_to": end}


def with_statuses(*statuses: dict, claim: dict | None = None) -> dict:
    return conclude(make_case(person={"statuses": list(statuses)}, claim=claim))


def test_precedence_takes_the_first_valid_status_of_the_table() -> None:
    c = with_statuses(status("low_income"), status("dibao"))
    assert (c["assistance_status"], c["tier_status"], c["pays_maf"]) == ("dibao", "dibao", True)


def test_low_income_assists_without_tilted_tiers() -> None:
    c = with_statuses(status("low_income"))
    assert (c["assistance_status"], c["tier_status"], c["pays_maf"]) == ("low_income", "", True)


def test_a_status_counts_only_while_valid() -> None:
    c = with_statuses(status("tekun", "2024-01-01", "2025-05-05"), status("low_income", "2025-05-06", None))
    assert c["assistance_status"] == "low_income"  # admitted 2025-05-06


def test_retired_cadre_status_is_not_assistance() -> None:
    c = with_statuses(status("retired_cadre", "2000-01-01", None))
    assert (c["assistance_status"], c["pays_maf"], c["retired_cadre"]) == ("", False, True)


def test_general_outpatient_gets_no_assistance() -> None:
    claim = {"med_type": "11", "institution": INSTITUTION | {"level": 1}}
    c = with_statuses(status("tekun"), claim=claim)
    assert (c["pays_maf"], c["assistance_status"], c["tier_status"]) == (False, "", "")


def test_status_tilt_of_the_inpatient_ratio_comes_from_the_tariff() -> None:
    tilted = apply_edits(tariff(), ["inpatient.status_ratio_tilt={tekun: 0.05}"])
    case = make_case(person={"statuses": [status("tekun")]})
    assert conclude(case, tilted)["status_tilt_bp"] == 500
    assert conclude(case)["status_tilt_bp"] == 0


def test_uncertified_person_with_card_and_authorisation_is_pending() -> None:
    c = conclude(make_case(claim={"materials": CARD}))
    assert (c["rule_decision"], codes(c)) == ("pending_verification", ["ASSISTANCE_PENDING"])
    assert (c["pays_basic"], c["pays_maf"]) == (True, False)  # basic and catastrophic paid, assistance waits


def test_uncertified_person_with_the_card_only_is_told_the_rest() -> None:
    c = conclude(make_case(claim={"materials": CARD[:1]}))
    assert (c["rule_decision"], missing(c)) == ("needs_materials", ["household_check_authorisation"])


def test_no_pending_where_assistance_does_not_pay() -> None:
    claim = {"med_type": "11", "institution": INSTITUTION | {"level": 1}, "materials": CARD}
    assert conclude(make_case(claim=claim))["rule_decision"] == "approved"


def test_refusal_outranks_pending() -> None:
    person = {"enrolments": [{"valid_from": "2019-01-01", "valid_to": "2024-12-31"}]}
    c = conclude(make_case(person=person, claim={"materials": CARD}))
    assert (c["rule_decision"], codes(c)) == ("rejected", ["NOT_INSURED", "ASSISTANCE_PENDING"])


def test_assistance_recipients_manual_claim_is_due_in_30_working_days() -> None:
    manual = {"settlement_mode": "manual", "submitted_date": "2025-05-20",
              "materials": ["id_document", "invoice", "fee_list", "diagnosis_certificate"]}
    assert with_statuses(status("dibao"), claim=manual)["due_workdays"] == 30
    assert with_statuses(claim=manual)["due_workdays"] == 21


# --- assistance applications ---

def assistance_application(materials: list[str], *statuses: dict) -> dict:
    case = application("assistance_application", materials=materials)
    case["person"]["statuses"] = list(statuses)
    return conclude(case)


def test_certified_person_with_complete_materials_is_approved() -> None:
    c = assistance_application(["id_document", "settlement_sheet"], status("dibao"))
    assert (c["rule_decision"], c["due_workdays"], c["reasons"]) == ("approved", 30, ())


def test_either_proof_is_one_missing_entry() -> None:
    c = assistance_application(["id_document"], status("dibao"))
    assert c["missing_materials"] == (("settlement_sheet|prescription|invoice",
                                       "基本医保、大病保险报销后的结算单 或 处方 或 医院收费票据"),)


def test_uncertified_application_waits_for_verification() -> None:
    c = assistance_application(["id_document", "invoice"] + CARD)
    assert (c["rule_decision"], codes(c)) == ("pending_verification", ["ASSISTANCE_PENDING"])
    c = assistance_application(["invoice"])
    assert c["rule_decision"] == "needs_materials"
    assert missing(c) == ["id_document", "assistance_application_card", "household_check_authorisation"]


def test_uncertified_application_is_not_asked_for_invoices() -> None:
    # an application for certification, not a reimbursement: the proof of costs comes after it
    c = assistance_application(["id_document"] + CARD)
    assert (c["rule_decision"], codes(c), c["missing_materials"]) == \
        ("pending_verification", ["ASSISTANCE_PENDING"], ())
