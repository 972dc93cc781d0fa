"""Referrals and out-of-area inpatient care (docs/domain.md §3.4, 西平县流程图 四.2).

Working days are counted by hand from the State Council 2025 holiday notice: National Day and
Mid-Autumn 2025-10-01 … 10-08 are off, Saturday 10-11 is a make-up working day.
"""

from __future__ import annotations

import pytest

from conftest import INSTITUTION, decide, make_case
from test_rules_cases import APPEAL, application, codes, conclude, facts_of, missing, tariff
from yibao.tariffs.edit import apply_edits

AWAY = INSTITUTION | {"id": "H9", "level": 4, "out_of_area": True}
HOLIDAY_STAY = {"institution": AWAY, "admit_date": "2025-09-30", "discharge_date": "2025-10-20"}


def referral(kind: str, filed: str, materials: list[str], target: str | None = "H9") -> dict:
    return {"kind": "referral", "referral_kind": kind, "filed_date": filed, "target_institution": target,
            "materials": materials}


def emergency(filed: str, materials: tuple[str, ...] = ("emergency_certificate",)) -> dict:
    return referral("emergency", filed, list(materials))


def stay(*filings: dict, person: dict | None = None, claim: dict | None = None) -> dict:
    return conclude(make_case(person={"filings": list(filings)} | (person or {}),
                              claim=HOLIDAY_STAY | (claim or {})))


def test_emergency_referral_on_the_fifth_working_day_is_valid() -> None:
    # after 09-30: 10-09 (1), 10-10 (2), Sat 10-11 make-up (3), 10-13 (4), 10-14 (5)
    c = stay(emergency("2025-10-14"))
    assert (c["rule_decision"], c["ratio_cut_bp"], c["reasons"]) == ("approved", 1000, ())
    assert "REF-003" in c["rules_fired"]


def test_emergency_referral_on_the_sixth_working_day_is_late() -> None:
    c = stay(emergency("2025-10-15"))
    assert c["rule_decision"] == "approved"  # a reduced ratio alone keeps the claim approved
    assert (codes(c), c["ratio_cut_bp"]) == (["REFERRAL_LATE", "RATIO_CUT"], 2000)
    assert c["reasons"][0][2] == "急诊转诊应在入院之日起5个工作日内办理备案，本次备案已超过期限，视为未办理转诊。"


def test_the_count_is_clipped_to_the_window() -> None:
    assert facts_of(make_case(person={"filings": [emergency("2025-12-31")]}, claim=HOLIDAY_STAY))["ref_workdays"] == 6
    assert facts_of(make_case(person={"filings": [emergency("2025-09-01")]}, claim=HOLIDAY_STAY))["ref_workdays"] == -1


@pytest.mark.parametrize("filed, late", [("2025-09-29", False), ("2025-09-30", False), ("2025-10-01", True)])
def test_normal_referral_is_filed_on_or_before_admission(filed: str, late: bool) -> None:
    c = stay(referral("normal", filed, ["referral_approval_form"]))
    assert (codes(c) == ["REFERRAL_LATE", "RATIO_CUT"]) is late
    assert c["ratio_cut_bp"] == (2000 if late else 1000)


def test_referral_without_its_materials_counts_as_none_and_says_which() -> None:
    c = stay(emergency("2025-10-09", ()))
    assert codes(c) == ["REFERRAL_MATERIALS", "RATIO_CUT"]
    assert "缺少120急救证明或急诊住院证明" in c["reasons"][0][2]
    assert c["missing_materials"] == ()  # the claim itself is complete: only the referral fails


def test_late_and_incomplete_referral_lists_both_and_cuts_once() -> None:
    c = stay(emergency("2025-10-15", ()))
    assert codes(c) == ["REFERRAL_LATE", "REFERRAL_MATERIALS", "RATIO_CUT"]
    assert c["rules_fired"].count("REF-007") == 1


def test_a_filing_for_another_institution_does_not_count() -> None:
    c = stay(referral("normal", "2025-09-29", ["referral_approval_form"], target="H7"))
    assert codes(c) == ["NO_REFERRAL", "RATIO_CUT"]


def test_the_best_of_several_filings_is_used() -> None:
    c = stay(emergency("2025-10-20"), referral("normal", "2025-09-28", ["referral_approval_form"]))
    assert (c["ratio_cut_bp"], c["reasons"]) == (1000, ())


def test_remote_residence_means_no_cut() -> None:
    remote = {"kind": "remote_residence", "valid_from": "2025-01-01", "valid_to": "2027-12-31"}
    c = stay(remote)
    assert (c["ratio_cut_bp"], c["reasons"], c["rules_fired"]) == (0, (), ("INP-001", "REF-001", "REF-002"))


def test_retired_cadres_file_their_own_materials() -> None:
    cadre = {"insutype": "310", "employee_status": "retired",
             "statuses": [{"kind": "retired_cadre", "valid_from": "2000-01-01", "valid_to": None}]}
    c = stay(referral("normal", "2025-09-29", ["referral_approval_form"]), person=cadre)
    assert codes(c) == ["REFERRAL_MATERIALS", "RATIO_CUT"] and "诊断证明" in c["reasons"][0][2]
    c = stay(referral("normal", "2025-09-29", ["referral_approval_form", "diagnosis_certificate"]), person=cadre)
    assert (c["reasons"], c["ratio_cut_bp"], c["retired_cadre"]) == ((), 1000, True)


def test_in_county_stays_need_no_referral() -> None:
    c = conclude(make_case())
    assert (c["ratio_cut_bp"], "REF-001" in c["rules_fired"]) == (0, False)


def test_a_tariff_may_refuse_unreferred_care() -> None:
    strict = apply_edits(tariff(), ["inpatient.out_of_area_cut.unreferred_refused=true"])
    c = conclude(make_case(claim=HOLIDAY_STAY), strict)
    assert (c["rule_decision"], codes(c)) == ("rejected", ["NO_REFERRAL", "UNREFERRED"])
    assert c["reasons"][1][2].endswith(APPEAL)


# --- referral applications (转诊备案申请) ---

def referral_application(kind: str | None, submitted: str, materials: list[str]) -> dict:
    return application("referral_application", referral_kind=kind, admit_date="2025-09-30",
                       submitted_date=submitted, materials=materials, institution=AWAY)


def test_timely_complete_application_is_approved_the_same_day() -> None:
    c = conclude(referral_application("emergency", "2025-10-14", ["emergency_certificate"]))
    assert (c["rule_decision"], c["due_workdays"], c["reasons"]) == ("approved", 0, ())


def test_late_application_is_refused() -> None:
    c = conclude(referral_application("emergency", "2025-10-15", ["emergency_certificate"]))
    assert (c["rule_decision"], codes(c)) == ("rejected", ["REFERRAL_LATE"])
    assert c["reasons"][0][2].endswith("不予办理转诊备案。" + APPEAL)


def test_incomplete_application_needs_materials() -> None:
    c = conclude(referral_application("chemo", "2025-09-29", []))
    assert (c["rule_decision"], missing(c)) == ("needs_materials", ["previous_discharge_certificate"])


def test_application_without_a_kind_is_refused() -> None:
    assert codes(conclude(referral_application(None, "2025-09-29", []))) == ["REFERRAL_KIND"]


@pytest.mark.parametrize("filed, estimated", [("2026-12-31", False), ("2027-01-07", True)])
def test_a_window_ending_beyond_the_calendar_is_flagged_estimated(filed: str, estimated: bool) -> None:
    # Admitted and submitted in the known year 2026; only the filing's day can be beyond it, and
    # an estimate there counts 2027's New Year holiday as a working day (a filing looks late).
    case = make_case(person={"filings": [emergency(filed)]},
                     claim={"institution": AWAY, "admit_date": "2026-12-30", "discharge_date": "2026-12-31",
                            "submitted_date": "2026-12-31"})
    assert decide(case)["calendar_estimated"] is estimated
