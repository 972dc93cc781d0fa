"""The rule base on the worked examples, and the helpers the other rule tests share.

`conclude` runs one docs/cases.md case through `derive_facts` and `evaluate` only (no calculator), so
these tests pin the rule base itself. Expected values are read off the spec by hand.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import EXAMPLES, make_case
from yibao.calendar import default_calendar
from yibao.cases import case_batch, parse_case
from yibao.rules.engine import evaluate
from yibao.rules.facts import derive_facts
from yibao.rules.registry import BY_ID
from yibao.tariffs.registry import LoadedTariff, resolve

APPEAL = "如对本决定不服，可依法申请行政复议或提起行政诉讼。"


def tariff() -> LoadedTariff:
    return resolve("sample-county@2025")


def facts_of(case: dict[str, Any], lt: LoadedTariff | None = None) -> dict[str, Any]:
    lt = lt or tariff()
    return derive_facts(case_batch(parse_case(case)), lt, default_calendar()).iloc[0].to_dict()


def conclude(case: dict[str, Any], lt: LoadedTariff | None = None) -> dict[str, Any]:
    """The rule conclusions (ARCHITECTURE.md columns) of a case: a batch of one."""
    lt = lt or tariff()
    facts = derive_facts(case_batch(parse_case(case)), lt, default_calendar())
    return evaluate(facts, lt).iloc[0].to_dict()


def codes(c: dict[str, Any]) -> list[str]:
    return [code for _, code, _ in c["reasons"]]


def missing(c: dict[str, Any]) -> list[str]:
    return [code for code, _ in c["missing_materials"]]


def application(kind: str, **fields: Any) -> dict[str, Any]:
    """An application case: no lines, no institution unless given."""
    claim = {"mdtrt_id": "A1", "kind": kind, "submitted_date": "2025-05-06", "materials": [],
             "med_type": None, "institution": None, "admit_date": None, "discharge_date": None,
             "settlement_mode": None} | fields
    return make_case(claim=claim, lines=[])


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.case.json").read_text(encoding="utf-8"))


def test_e7_lists_every_missing_material_at_once() -> None:
    c = conclude(example("e7_manual_missing_materials"))
    assert c["rule_decision"] == "needs_materials"
    assert c["missing_materials"] == (("invoice", "医院收费票据"), ("fee_list", "费用总清单"),
                                      ("diagnosis_certificate", "诊断证明"))
    rule_id, code, message = c["reasons"][0]
    assert (rule_id, code) == ("MAN-002", "MATERIALS_MISSING")
    assert "医院收费票据、费用总清单、诊断证明" in message and APPEAL not in message


def test_e8_either_of_evidence_is_one_entry() -> None:
    c = conclude(example("e8_chronic_application_incomplete"))
    assert c["rule_decision"] == "needs_materials"
    assert c["missing_materials"] == (
        ("chronic_application_form", "门诊慢特病病种待遇认定申请表"),
        ("inpatient_records_2y|outpatient_reports_3x45d",
         "二级及以上医院两年内住院病历 或 三次门诊检查化验报告(间隔45天以上)"))
    assert c["due_quarterly"] and c["due_workdays"] == -1  # I10 is an ordinary disease


@pytest.mark.parametrize("name, pool", [("e1_resident_county_inpatient", "inpatient"),
                                        ("e2_retired_employee_stent", "inpatient"),
                                        ("e5_chronic_cap_left", "chronic"),
                                        ("e6_maternity_caesarean", "maternity")])
def test_plain_examples_are_approved_in_their_pool(name: str, pool: str) -> None:
    c = conclude(example(name))
    assert (c["rule_decision"], c["fund_pool"], c["pays_basic"], c["reasons"]) == ("approved", pool, True, ())


def test_e3_dibao_gets_assistance_and_tilted_tiers() -> None:
    c = conclude(example("e3_dibao_one_stop"))
    assert (c["assistance_status"], c["tier_status"], c["pays_maf"]) == ("dibao", "dibao", True)
    assert c["rules_fired"] == ("INP-001", "ASS-001", "ASS-003")


def test_e4_unreferred_keeps_approved_with_reasons() -> None:
    c = conclude(example("e4_out_of_area_unreferred"))
    assert c["rule_decision"] == "approved"
    assert c["ratio_cut_bp"] == 2000
    assert codes(c) == ["NO_REFERRAL", "RATIO_CUT"]
    assert "降低20个百分点" in c["reasons"][1][2]


def test_e5_e6_carry_the_disease_and_maternity_terms() -> None:
    assert conclude(example("e5_chronic_cap_left"))["chronic_disease"] == "E11"
    c = conclude(example("e6_maternity_caesarean"))
    assert (c["maternity_scheme"], c["maternity_quota"], c["maternity_factor_bp"]) == ("employee", "caesarean", 10000)
    assert c["allowance_days"] == 188 + 15  # caesarean: +15


def test_every_fired_rule_is_registered() -> None:
    for path in EXAMPLES.glob("*.case.json"):
        c = conclude(json.loads(path.read_text(encoding="utf-8")))
        assert c["rules_fired"] and all(r in BY_ID for r in c["rules_fired"])
        assert {r for r, _, _ in c["reasons"]} <= set(c["rules_fired"])
