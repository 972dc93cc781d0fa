"""Maternity (生育保险): routes, quotas, allowance days and materials (docs/tariffs.md maternity)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import make_case, run_cli
from yibao.cases import case_batch, parse_case
from yibao.cli.app import app
from yibao.decision import decision_object
from yibao.pipeline import score_batch
from yibao.tariffs.registry import BUNDLED, LoadedTariff, tariff_spec
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


# ---- the one-off maternity grant (一次性生育补助金, maternity.grant), through the pipeline ----

MATERNITY_LINE = "maternity:                      # 生育保险, med_types 51 and 52\n"


def _grant_tariff(root: Path, grant: str) -> list[LoadedTariff]:
    """The bundled sample county with `maternity.grant` set to `grant` (YAML) in both versions."""
    folder = root / "sample-county"
    shutil.copytree(BUNDLED / "sample-county", folder)
    for name in ("2024.yaml", "2025.yaml"):
        text = (folder / name).read_text(encoding="utf-8")
        assert text.count(MATERNITY_LINE) == 1
        (folder / name).write_text(text.replace(MATERNITY_LINE, f"{MATERNITY_LINE}  grant: {grant}\n"), encoding="utf-8")
    return tariff_spec(folder)


@pytest.fixture(scope="module")
def grant_1000(tmp_path_factory: pytest.TempPathFactory) -> list[LoadedTariff]:
    return _grant_tariff(tmp_path_factory.mktemp("grant"), "{amount: 1000}")


def _scored(case: dict, tariff: Any) -> dict:
    parsed = parse_case(case)
    return decision_object(score_batch(case_batch(parsed), tariff=tariff, trace=True), parsed.claim.mdtrt_id)


def test_grant_per_delivery_beside_the_allowance(grant_1000: list[LoadedTariff]) -> None:
    got = _scored(maternity("delivery", delivery="vaginal", pregnancy_weeks=39), grant_1000)
    # a fixed 1,000 per delivery; the allowance 6,000 × 188 ÷ 30 = 37,600 and the quota are unchanged
    assert (got["maternity_grant"], got["maternity_allowance"]) == (1000.0, 37600.0)
    assert "MAT-017" in got["rules_fired"]
    # paid to the mother beside the medical costs, not out of them
    assert round(got["fund_pay_sumamt"] + got["psn_part_amt"] + got["hosp_part_amt"], 2) == got["medfee_sumamt"]
    step = next(s for s in got["trace"] if s["fund"] == "grant")
    assert (step["tariff_path"], step["base"], step["amount"], step["rule_ids"]) == (
        "maternity.grant.amount", 1000.0, 1000.0, ["MAT-017"])


@pytest.mark.parametrize("person, item, details, grant", [
    ({}, "delivery", {"delivery": "caesarean", "infants": 2}, 1000.0),  # per delivery: twins once
    ({"left_employment_date": "2024-06-01"}, "delivery", {"delivery": "vaginal"}, 0.0),  # left work: no grant
    (RESIDENT | {"spouse_of_insured_male_employee": True}, "delivery", {"delivery": "vaginal"}, 1000.0),
    (RESIDENT, "delivery", {"delivery": "vaginal"}, 0.0),  # resident insurance: no grant
    ({}, "miscarriage", {"pregnancy_weeks": 10}, 0.0),  # not a delivery
    ({"maternity_contribution_months": 11}, "delivery", {"delivery": "vaginal"}, 0.0),  # refused
])
def test_who_gets_the_grant(grant_1000: list[LoadedTariff], person: dict, item: str, details: dict,
                            grant: float) -> None:
    assert _scored(maternity(item, person, **details), grant_1000)["maternity_grant"] == grant


def test_grant_per_infant_or_a_multiple_of_the_wage(tmp_path: Path) -> None:
    twins = maternity("delivery", {"employer_avg_monthly_wage": 6543.21}, delivery="caesarean", infants=2)
    per_infant = _grant_tariff(tmp_path / "infant", "{amount: 1000, per: infant, routes: [employee]}")
    assert _scored(twins, per_infant)["maternity_grant"] == 2000.0  # 1,000 × 2 infants
    by_wage = _grant_tariff(tmp_path / "wage", "{wage_months: 0.5}")
    got = _scored(twins, by_wage)
    # 6,543.21 × 0.5 = 3,271.605 → 3,271.61 (half-up to the fen), once per delivery
    assert got["maternity_grant"] == 3271.61
    step = next(s for s in got["trace"] if s["fund"] == "grant")
    assert (step["tariff_path"], step["base"], step["ratio"]) == ("maternity.grant.wage_months", 6543.21, 0.5)
    truncated = _grant_tariff(tmp_path / "yuan", "{wage_months: 0.5, per: infant, rounding: {unit: yuan, mode: truncate}}")
    assert _scored(twins, truncated)["maternity_grant"] == 6542.0  # 3,271 (whole yuan, truncated) × 2


def test_grant_routes_leave_out_the_spouse(tmp_path: Path) -> None:
    employees_only = _grant_tariff(tmp_path, "{amount: 1000, routes: [employee]}")
    spouse = RESIDENT | {"spouse_of_insured_male_employee": True}
    assert _scored(maternity("delivery", spouse, delivery="vaginal"), employees_only)["maternity_grant"] == 0.0


def test_no_grant_by_default() -> None:
    got = _scored(maternity("delivery", delivery="vaginal"), None)
    assert got["maternity_grant"] == 0.0 and "MAT-017" not in got["rules_fired"]


@pytest.mark.parametrize("grant, error", [
    ("{per: delivery}", "maternity.grant: give the grant either as amount (yuan) or as wage_months, one of the two"),
    ("{amount: 1000, wage_months: 1}", "maternity.grant: give the grant either as amount"),
    ("{amount: 1000, routes: [resident]}", "maternity.grant.routes[0] = 'resident': Input should be"),
])
def test_a_bad_grant_is_one_line_naming_file_and_path(tmp_path: Path, grant: str, error: str,
                                                      capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "sample-county"
    shutil.copytree(BUNDLED / "sample-county", folder)
    text = (folder / "2025.yaml").read_text(encoding="utf-8")
    (folder / "2025.yaml").write_text(text.replace(MATERNITY_LINE, f"{MATERNITY_LINE}  grant: {grant}\n"),
                                      encoding="utf-8")
    code, err = run_cli(["tariffs", "validate", str(folder)], capsys, monkeypatch)
    assert (code, len(err.strip().splitlines())) == (2, 1)
    assert f"{folder / '2025.yaml'}: {error}" in err


def test_whatif_shows_the_grant_in_chinese(tmp_path: Path) -> None:
    case = tmp_path / "delivery.case.json"
    case.write_text(json.dumps(maternity("delivery", delivery="vaginal")), encoding="utf-8")
    run = CliRunner().invoke(app, ["whatif", str(case), "--set", "maternity.grant={amount: 1000}"],
                             env={"COLUMNS": "250"})
    assert run.exit_code == 0, run.output
    assert "一次性生育补助金 grant 1,000.00" in run.output


def test_an_allowance_without_the_employers_wage_says_why_it_is_zero() -> None:
    """The allowance is the employer's average monthly wage × days ÷ 30: with no wage recorded it
    is 0, and the examiner reads why (a reason, the claim still approved); prenatal care, which
    has no allowance, says nothing."""
    no_wage = {"employer_avg_monthly_wage": None}
    c = conclude(maternity("delivery", person=no_wage, delivery="vaginal"))
    assert (c["rule_decision"], codes(c)) == ("approved", ["ALLOWANCE_WAGE_MISSING"])
    assert c["reasons"][0][0] == "MAT-018" and "employer_avg_monthly_wage" in c["reasons"][0][2]
    parsed = parse_case(maternity("delivery", person=no_wage, delivery="vaginal"))
    decided = decision_object(score_batch(case_batch(parsed)), parsed.claim.mdtrt_id)
    assert (decided["decision"], decided["maternity_allowance"]) == ("approved", 0)
    assert codes(conclude(maternity("delivery", delivery="vaginal"))) == []
    prenatal = {"admit_date": "2025-05-06", "discharge_date": "2025-05-06"}
    assert codes(conclude(maternity("prenatal", person=no_wage, claim=prenatal))) == []
