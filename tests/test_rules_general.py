"""Cross-cutting conditions (docs/domain.md §3.5), manual claims and the outpatient level rule."""

from __future__ import annotations

import json
from dataclasses import replace

from conftest import INSTITUTION, line, make_case, score_cases
from test_rules_cases import APPEAL, codes, conclude, missing, tariff
from yibao.calendar import default_calendar
from yibao.cases import case_batch, parse_case
from yibao.rules.engine import evaluate
from yibao.rules.facts import derive_facts

MANUAL = {"settlement_mode": "manual", "submitted_date": "2025-05-20",
          "materials": ["id_document", "invoice", "fee_list", "diagnosis_certificate"]}


def test_a_plain_claim_is_approved_without_reasons() -> None:
    c = conclude(make_case())
    assert (c["rule_decision"], c["reasons"], c["missing_materials"]) == ("approved", (), ())


def test_not_insured_outside_every_enrolment() -> None:
    person = {"enrolments": [{"valid_from": "2019-01-01", "valid_to": "2025-04-30"}]}
    c = conclude(make_case(person=person))  # admitted 2025-05-06
    assert c["rule_decision"] == "rejected"
    assert c["reasons"] == (("GEN-001", "NOT_INSURED", "参保人在就诊（申请）之日未处于参保状态，不予支付医疗保险待遇。"
                             + APPEAL),)
    assert not c["pays_basic"]


def test_insured_inside_an_enrolment() -> None:
    person = {"enrolments": [{"valid_from": "2025-05-06", "valid_to": None}]}
    assert conclude(make_case(person=person))["rule_decision"] == "approved"


def test_waiting_period_includes_its_last_day() -> None:
    assert codes(conclude(make_case(person={"waiting_period_until": "2025-05-06"}))) == ["WAITING_PERIOD"]
    assert codes(conclude(make_case(person={"waiting_period_until": "2025-05-05"}))) == []


def test_suspended_institution() -> None:
    c = conclude(make_case(claim={"institution": INSTITUTION | {"agreement": "suspended"}}))
    assert (c["rule_decision"], codes(c)) == ("rejected", ["INSTITUTION_SUSPENDED"])


def test_claim_without_an_institution_is_not_designated() -> None:
    # the batch reader rejects such a claim; a batch built in code reaches the rules
    batch = case_batch(parse_case(make_case()))
    batch.claims["institution_id"] = ""
    lt = tariff()
    c = evaluate(derive_facts(batch, lt, default_calendar()), lt).iloc[0].to_dict()
    assert (c["rule_decision"], codes(c)) == ("rejected", ["INSTITUTION_NOT_DESIGNATED"])


def test_direct_settlement_needs_a_networked_institution() -> None:
    offline = INSTITUTION | {"networked": False}
    assert codes(conclude(make_case(claim={"institution": offline}))) == ["DIRECT_NOT_NETWORKED"]
    assert conclude(make_case(claim={"institution": offline} | MANUAL))["rule_decision"] == "approved"


def test_a_claim_failing_two_conditions_lists_both() -> None:
    person = {"enrolments": [{"valid_from": "2019-01-01", "valid_to": "2024-12-31"}]}
    c = conclude(make_case(person=person, claim={"institution": INSTITUTION | {"agreement": "suspended"}}))
    assert c["rule_decision"] == "rejected"
    assert sorted(codes(c)) == ["INSTITUTION_SUSPENDED", "NOT_INSURED"]
    assert all(message.endswith(APPEAL) for _, _, message in c["reasons"])


TRAUMA = {"trauma": True}


def trauma_filing(liable: bool | None, mdtrt_id: str | None = None) -> dict:
    return {"kind": "trauma", "filed_date": "2025-05-08", "third_party_liable": liable, "mdtrt_id": mdtrt_id}


def test_trauma_with_third_party_liability_is_refused() -> None:
    c = conclude(make_case(person={"filings": [trauma_filing(True)]}, claim=TRAUMA))
    assert (c["rule_decision"], codes(c)) == ("rejected", ["TRAUMA_THIRD_PARTY"])


def test_trauma_cleared_is_paid() -> None:
    assert conclude(make_case(person={"filings": [trauma_filing(False)]}, claim=TRAUMA))["rule_decision"] == "approved"


def test_trauma_without_finding_needs_the_investigation() -> None:
    for filings in ([], [trauma_filing(None)]):
        c = conclude(make_case(person={"filings": filings}, claim=TRAUMA))
        assert c["rule_decision"] == "needs_materials"
        assert c["missing_materials"] == (("trauma_investigation", "外伤调查结论"),)


def test_the_claims_own_trauma_filing_wins_over_the_persons() -> None:
    filings = [trauma_filing(False), trauma_filing(True, "C1")]
    assert codes(conclude(make_case(person={"filings": filings}, claim=TRAUMA))) == ["TRAUMA_THIRD_PARTY"]
    filings = [trauma_filing(True, "C9")]  # another claim's finding does not count
    assert missing(conclude(make_case(person={"filings": filings}, claim=TRAUMA))) == ["trauma_investigation"]


def test_manual_inpatient_claim_with_only_the_id_lists_the_other_three() -> None:
    c = conclude(make_case(claim=MANUAL | {"materials": ["id_document"]}))
    assert c["rule_decision"] == "needs_materials"
    assert missing(c) == ["invoice", "fee_list", "diagnosis_certificate"]


def test_manual_outpatient_claim_needs_the_prescription() -> None:
    level1 = INSTITUTION | {"level": 1}
    claim = MANUAL | {"med_type": "11", "institution": level1, "materials": ["id_document", "invoice", "fee_list"]}
    assert missing(conclude(make_case(claim=claim))) == ["prescription"]


def test_manual_filing_window_is_365_calendar_days_from_discharge() -> None:
    # discharged 2025-05-12: 2026-05-12 is day 365, 2026-05-13 day 366
    assert codes(conclude(make_case(claim=MANUAL | {"submitted_date": "2026-05-12"}))) == []
    c = conclude(make_case(claim=MANUAL | {"submitted_date": "2026-05-13"}))
    assert (c["rule_decision"], codes(c)) == ("rejected", ["FILED_LATE"])
    assert "365日内" in c["reasons"][0][2]


def test_resident_general_outpatient_only_at_level_1() -> None:
    claim = {"med_type": "11", "admit_date": "2025-05-06", "discharge_date": "2025-05-06"}
    c = conclude(make_case(claim=claim))  # the default institution is level 2
    assert (c["rule_decision"], codes(c), c["fund_pool"]) == ("rejected", ["OUTPATIENT_LEVEL"], "outpatient")
    assert "本次就诊机构为2级" in c["reasons"][0][2]
    assert conclude(make_case(claim=claim | {"institution": INSTITUTION | {"level": 1}}))["rule_decision"] == "approved"
    employee = {"insutype": "310", "employee_status": "in_service"}
    assert conclude(make_case(person=employee, claim=claim))["rule_decision"] == "approved"


def test_duplicate_is_the_later_claim_in_settlement_order() -> None:
    first = make_case(claim={"mdtrt_id": "C1"})  # 05-06 … 05-12
    overlapping = make_case(claim={"mdtrt_id": "C2", "admit_date": "2025-05-10", "discharge_date": "2025-05-15"})
    elsewhere = make_case(claim={"mdtrt_id": "C3", "admit_date": "2025-05-10", "discharge_date": "2025-05-15",
                                 "institution": INSTITUTION | {"id": "H2"}})
    later = make_case(claim={"mdtrt_id": "C4", "admit_date": "2025-05-16", "discharge_date": "2025-05-18"})
    result = score_cases([overlapping, first, elsewhere, later])
    by_id = {r["mdtrt_id"]: r for _, r in result.claims.iterrows()}
    assert by_id["C1"]["decision"] != "rejected"
    assert by_id["C2"]["decision"] == "rejected"
    assert [r["code"] for r in json.loads(by_id["C2"]["reasons"])] == ["DUPLICATE"]
    assert by_id["C3"]["reason_codes"] == "" and by_id["C4"]["reason_codes"] == ""


def test_an_employee_without_a_status_is_refused_where_the_schemes_need_one() -> None:
    """The sample tariff's employee schemes are by status only (in service, retired): an
    employee whose status cell is empty has no terms there. The claim is refused with the reason
    (before, the whole batch stopped on a traceback); with an `any` scheme to fall back on it is
    paid by that scheme."""
    employee = {"insutype": "310"}  # employee_status left empty
    outpatient = {"med_type": "11", "admit_date": "2025-05-06", "discharge_date": "2025-05-06",
                  "institution": INSTITUTION | {"level": 1}}
    for claim in ({}, outpatient):
        c = conclude(make_case(person=employee, claim=claim))
        assert (c["rule_decision"], codes(c)) == ("rejected", ["EMPLOYEE_STATUS_UNKNOWN"]), claim
        assert c["reasons"][0][0] == "INP-004" and "在职/退休状态未登记" in c["reasons"][0][2]
    scored = score_cases([make_case(person=employee)]).claims.iloc[0]
    assert (scored["decision"], scored["fund_pay_sumamt"]) == ("rejected", 0)

    lt = tariff()
    inpatient = lt.tariff.inpatient
    schemes = [s.model_copy(update={"employee_status": "any"}) if s.employee_status == "retired" else s
               for s in inpatient.schemes]
    fallback = replace(lt, tariff=lt.tariff.model_copy(
        update={"inpatient": inpatient.model_copy(update={"schemes": schemes})}))
    assert conclude(make_case(person=employee), fallback)["rule_decision"] == "approved"


def test_a_duplicate_across_the_new_years_tariff_is_refused() -> None:
    """C1 is discharged on 31 Dec 2024 (the 2024 version); C2, at the same institution, is
    admitted that very day and discharged in January (the 2025 version). The stays share 31 Dec:
    C2 is a duplicate, as it is when both stays are in one year (before, the check ran per tariff
    version and C2 was paid)."""
    december = make_case(claim={"mdtrt_id": "C1", "admit_date": "2024-12-26", "discharge_date": "2024-12-31",
                                "submitted_date": "2024-12-31"},
                         lines=[line("S-DIAL", 420.0, 10, day="2024-12-27")])
    across = make_case(claim={"mdtrt_id": "C2", "admit_date": "2024-12-31", "discharge_date": "2025-01-05",
                              "submitted_date": "2025-01-05"},
                       lines=[line("S-DIAL", 420.0, 10, day="2025-01-02")])
    by_id = score_cases([december, across]).claims.set_index("mdtrt_id")
    assert list(by_id["tariff"]) == ["sample-county@2024", "sample-county@2025"]
    assert by_id.at["C1", "decision"] != "rejected"
    assert (by_id.at["C2", "decision"], by_id.at["C2", "reason_codes"]) == ("rejected", "DUPLICATE")
    assert by_id.at["C2", "fund_pay_sumamt"] == 0
