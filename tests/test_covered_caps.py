"""Caps on covered fees (政策范围内费用限额) for outpatient and chronic claims, per visit, month and
year, and whether the inpatient covered-fee cap counts the deductible: figures by hand, through
the real pipeline, under a tariff folder written here from the bundled sample county's YAML with
the edit applied.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import pytest
import yaml

import yibao
from conftest import cases_batch, line, make_case, score_cases
from test_trace import check_messages
from pg import new_database, postgres_server  # noqa: F401 (a fixture)
from yibao.cases import case_tables, parse_case
from yibao.errors import InputError
from yibao.ledger import Ledger
from yibao.pipeline import Result, score_batch
from yibao.tariffs.edit import apply_edits
from yibao.tariffs.registry import region_dirs, tariff_spec

LEVEL1 = {"id": "H1", "level": 1, "out_of_area": False, "networked": True, "agreement": "active"}
MAY_2025 = (2025 - 1970) * 12 + 4  # a month key: months since 1970-01


def tariff_folder(tmp_path: Path, edit: Callable[[dict[str, Any]], None], name: str = "sample-county") -> list:
    """sample-county copied to tmp_path/name with `edit` applied to its 2025 version's YAML."""
    folder = tmp_path / name
    shutil.copytree(region_dirs()["sample-county"], folder)
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["id"] = name
        if path.name == "2025.yaml":
            edit(data)
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return tariff_spec(folder)  # type: ignore[return-value]


def visit(mdtrt_id: str, day: str, in_policy: float, med_type: str = "11", dx: str = "J06.9",
          certified: tuple[str, ...] = ()) -> dict[str, Any]:
    """One outpatient (11) or chronic (14) visit of resident P1 at a township centre: `in_policy`
    yuan of amoxicillin (甲类, 0.50 a capsule: all of it in policy)."""
    cert = [{"disease": d, "valid_from": "2024-03-01", "valid_to": "2026-02-28"} for d in certified]
    return make_case(person={"certifications": cert},
                     claim={"mdtrt_id": mdtrt_id, "med_type": med_type, "institution": LEVEL1, "admit_date": day,
                            "discharge_date": day, "submitted_date": day, "diagnoses": [dx]},
                     lines=[line("A-AMOX", 0.5, in_policy * 2, day=day)])


def paid(result: Result, column: str = "hifp_pay") -> dict[str, float]:
    return dict(zip(result.claims["mdtrt_id"], result.claims[column]))


def reasons(result: Result, mdtrt_id: str) -> list[tuple[str, str, str]]:
    row = result.claims.set_index("mdtrt_id").loc[mdtrt_id]
    return [(r["rule_id"], r["code"], r["message"]) for r in json.loads(row["reasons"])]


def resident_outpatient(data: dict[str, Any], **scheme: Any) -> None:
    """The resident outpatient scheme (deductible 0, 60% at level 1) with `scheme` set on it."""
    s = next(s for s in data["outpatient"]["schemes"] if s["insutype"] == "390")
    s.update(scheme)


# --- outpatient: per visit, per month, per year ----------------------------------------------

def test_outpatient_covered_caps_per_visit_month_and_year(tmp_path: Path) -> None:
    tariff = tariff_folder(tmp_path, lambda d: resident_outpatient(
        d, annual_cap=None, covered_cap={"per_visit": 200, "monthly": 300, "annual": 500}))
    result = score_cases([visit("V1", "2025-03-03", 250), visit("V2", "2025-03-10", 150),
                          visit("V3", "2025-03-20", 50), visit("V4", "2025-04-07", 150),
                          visit("V5", "2025-04-14", 100)], tariff=tariff)
    # deductible 0, ratio 60%; covered fees the ratio applies to:
    # V1 250 → 200 (per visit)                    → 120   March 200, year 200
    # V2 150 → 100 (March: 300 − 200 left)        →  60   March 300, year 300
    # V3  50 →   0 (March used up)                →   0
    # V4 150 → 150 (April: new month, year 200 left) → 90 April 150, year 450
    # V5 100 →  50 (year: 500 − 450 left)         →  30   April 200, year 500
    assert paid(result) == {"V1": 120.0, "V2": 60.0, "V3": 0.0, "V4": 90.0, "V5": 30.0}
    assert paid(result, "psn_part_amt") == {"V1": 130.0, "V2": 90.0, "V3": 50.0, "V4": 60.0, "V5": 70.0}
    acc = result.accumulators.iloc[0]
    assert (acc["outpatient_covered"], acc["outpatient_covered_in_month"]) == (500.0, 200.0)
    assert acc["outpatient_covered_month"] == MAY_2025 - 1  # April
    assert acc["outpatient_paid"] == 300.0
    assert [r[:2] for r in reasons(result, "V1")] == [("CAP-006", "COVERED_VISIT_CAP")]
    assert reasons(result, "V2") == [("CAP-006", "COVERED_MONTHLY_CAP_REACHED",
                                      "普通门诊政策范围内费用月度限额所余100.00元，本次起付线以上政策范围内费用"
                                      "150.00元，按100.00元计算统筹基金支付，超出的50.00元不予支付。")]
    assert reasons(result, "V3")[0][2].startswith("普通门诊政策范围内费用月度限额已用完，")
    assert [r[:2] for r in reasons(result, "V5")] == [("CAP-006", "COVERED_CAP_REACHED")]
    assert reasons(result, "V4") == []
    visits = [visit("V1", "2025-03-03", 250), visit("V2", "2025-03-10", 150), visit("V3", "2025-03-20", 50)]
    check_messages(score_batch(cases_batch(visits), tariff=tariff, trace=True))  # CAP-006 states its step's figures


def test_the_fund_caps_still_apply_after_the_covered_cap(tmp_path: Path) -> None:
    """Covered per visit 200, fund monthly cap 100: 60% of 200 = 120, cut to 100 by the fund cap;
    both limits are named, and the trace shows the covered cap (its tariff path, base 250 above
    the deductible, limit 200) before the band and the fund cap after it (−20)."""
    tariff = tariff_folder(tmp_path, lambda d: resident_outpatient(
        d, annual_cap=None, monthly_cap=100, covered_cap={"per_visit": 200}))
    result = score_cases([visit("V1", "2025-05-06", 250)], tariff=tariff)
    assert paid(result) == {"V1": 100.0}
    assert [r[:2] for r in reasons(result, "V1")] == [("CAP-006", "COVERED_VISIT_CAP"),
                                                      ("CAP-003", "MONTHLY_CAP_REACHED")]
    trace = score_batch(cases_batch([visit("V1", "2025-05-06", 250)]), tariff=tariff, trace=True).trace
    hifp = trace[trace["fund"] == "hifp"]
    assert list(hifp["action"]) == ["deductible", "covered_cap", "band", "monthly_cap"]
    cap = hifp[hifp["action"] == "covered_cap"].iloc[0]
    assert cap["tariff_path"] == "outpatient.schemes[insutype=390,employee_status=any].covered_cap.per_visit"
    assert (cap["base"], cap["limit"], cap["amount"], cap["rule_ids"]) == (250.0, 200.0, 0.0, "CAP-006")
    assert list(hifp["amount"]) == [0.0, 0.0, 120.0, -20.0]  # adds up to hifp_pay 100
    # the step's path is the one `--set` takes: a per-visit cap of 150 pays 60% × 150 = 90, under the fund cap
    raised = apply_edits(tariff[-1], [f"{cap['tariff_path']}=150"])
    assert paid(score_cases([visit("V1", "2025-05-06", 250)], tariff=raised)) == {"V1": 90.0}


def test_accumulated_covered_fees_carry_into_the_next_batch(tmp_path: Path) -> None:
    """A case starting with 450 of the 500 counted this year: 50 are left of a 120 visit → 30."""
    tariff = tariff_folder(tmp_path, lambda d: resident_outpatient(d, annual_cap=None, covered_cap={"annual": 500}))
    case = visit("V1", "2025-05-06", 120) | {"accumulators": {"year": 2025, "outpatient_covered": 450}}
    result = score_cases([case], tariff=tariff)
    assert paid(result) == {"V1": 30.0}
    assert result.accumulators.iloc[0]["outpatient_covered"] == 500.0


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "ledger.db")
    return new_database(request.getfixturevalue("postgres_server"))


def tables(cases: list[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    parts = [case_tables(parse_case(c)) for c in cases]
    out = {name: pd.concat([p[name] for p in parts], ignore_index=True) for name in parts[0]}
    for name in ("persons", "institutions"):
        out[name] = out[name].drop_duplicates(ignore_index=True)
    return out


def test_the_ledger_carries_covered_fees_from_batch_to_batch_and_reverses_them(
        tmp_path: Path, ledger_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The visits of the first test in two batches (V1, V2 | V3, V4, V5) pay what one batch pays:
    V3 finds March used up only if the ledger carried March's 300. Then V2 is corrected (re-sent
    as V2-R with 100 in policy): the reversal takes its 100 back from the year (500 → 400; April
    is the month held, so April's 200 stays), and V2-R is paid on 100 → 60, the year back at 500."""
    monkeypatch.setenv("YIBAO_TARIFF_PATH", str(tmp_path))
    tariff_folder(tmp_path, lambda d: resident_outpatient(
        d, annual_cap=None, covered_cap={"per_visit": 200, "monthly": 300, "annual": 500}), "covered-county")
    days = {"V1": "2025-03-03", "V2": "2025-03-10", "V3": "2025-03-20", "V4": "2025-04-07", "V5": "2025-04-14"}
    amounts = {"V1": 250, "V2": 150, "V3": 50, "V4": 150, "V5": 100}
    cases = {v: visit(v, days[v], amounts[v]) for v in days}
    first = yibao.score(tables([cases["V1"], cases["V2"]]), tariff="covered-county", ledger=ledger_url)
    second = yibao.score(tables([cases[v] for v in ("V3", "V4", "V5")]), tariff="covered-county",
                         ledger=ledger_url)
    assert paid(first) | paid(second) == {"V1": 120.0, "V2": 60.0, "V3": 0.0, "V4": 90.0, "V5": 30.0}
    corrected = visit("V2-R", "2025-03-10", 100)
    corrected["claim"]["correction_of"] = "V2"
    third = yibao.score(tables([corrected]), tariff="covered-county", ledger=ledger_url, period="2025-05")
    assert paid(third) == {"V2-R": 60.0}
    ledger = Ledger(ledger_url)
    try:
        held = ledger.accumulators(["P1"]).iloc[0]
    finally:
        ledger.close()
    assert (held["outpatient_covered"], held["outpatient_paid"]) == (50000, 30000)  # fen
    assert (held["outpatient_covered_month"], held["outpatient_covered_in_month"]) == (MAY_2025 - 1, 20000)


# --- chronic: one annual covered cap over every chronic visit ---------------------------------

def test_chronic_annual_covered_cap_over_all_diseases(tmp_path: Path) -> None:
    """chronic.covered_cap.annual 1,000; diabetes and hypertension are both ordinary (65% for
    residents), deductible 0, disease fund caps 3,000 and 2,400 (not reached):
    March E11 600 → 65% × 600 = 390; April I10 600 → 400 left → 260; May E11 100 → 0."""
    tariff = tariff_folder(tmp_path, lambda d: d["chronic"].update(covered_cap={"annual": 1000}))
    both = ("E11", "I10")
    result = score_cases([visit("C1", "2025-03-03", 600, "14", "E11.9", both),
                          visit("C2", "2025-04-07", 600, "14", "I10", both),
                          visit("C3", "2025-05-06", 100, "14", "E11.9", both)], tariff=tariff)
    assert paid(result) == {"C1": 390.0, "C2": 260.0, "C3": 0.0}
    acc = result.accumulators.iloc[0]
    assert acc["chronic_covered"] == 1000.0 and acc["chronic_paid"] == "E11=390.00;I10=260.00"
    assert acc["chronic_covered_month"] == -1  # no monthly cap: no month tracked
    assert reasons(result, "C2")[0][2] == ("门诊慢特病政策范围内费用年度限额所余400.00元，本次起付线以上政策范围内"
                                          "费用600.00元，按400.00元计算统筹基金支付，超出的200.00元不予支付。")
    assert reasons(result, "C3")[0][:2] == ("CAP-006", "COVERED_CAP_REACHED")


# --- inpatient: does the covered-fee cap count the deductible? -------------------------------

@pytest.mark.parametrize("counts,expected,counted", [
    # resident, county hospital: deductible 500 (250 for a second admission), bands on the gross
    # in-policy amount: up to 1,500 at 65%, above at 83%; annual covered cap 5,000.
    # A1 4,200 in policy: 3,700 above the deductible, within the cap either way:
    #   1,000 × 65% + 2,700 × 83% = 650 + 2,241 = 2,891.
    # A2 2,100 in policy (deductible 250, 1,850 above it):
    #   above only (default): 5,000 − 3,700 = 1,300 left: 250…1,550 → 1,250 × 65% + 50 × 83% = 854
    #   with the deductible:   5,000 − 4,200 = 800 left, 250 of it the deductible: 550 × 65% = 357.50
    # A3 840 in policy (deductible 250): the cap is used up, the fund pays 0 and nothing more is
    #   counted, the deductible neither.
    (False, {"A1": 2891.0, "A2": 854.0, "A3": 0.0}, 5000.0),
    (True, {"A1": 2891.0, "A2": 357.5, "A3": 0.0}, 5000.0),
])
def test_inpatient_covered_cap_with_or_without_the_deductible(tmp_path: Path, counts: bool,
                                                              expected: dict[str, float], counted: float) -> None:
    def edit(d: dict[str, Any]) -> None:
        d["inpatient"].update(cap_basis="covered", annual_cap={"390": 5000, "310": 60000})
        if counts:
            d["inpatient"]["cap_counts_deductible"] = True

    tariff = tariff_folder(tmp_path, edit)
    def later(mdtrt_id: str, month: str, dialyses: int) -> dict[str, Any]:
        return make_case(claim={"mdtrt_id": mdtrt_id, "admit_date": f"2025-{month}-01",
                                "discharge_date": f"2025-{month}-05", "submitted_date": f"2025-{month}-05"},
                         lines=[line("S-DIAL", 420.0, dialyses, day=f"2025-{month}-02")])

    result = score_cases([make_case(claim={"mdtrt_id": "A1"}), later("A2", "07", 5), later("A3", "09", 2)],
                         tariff=tariff)
    assert paid(result) == expected
    assert paid(result, "act_pay_dedc") == {"A1": 500.0, "A2": 250.0, "A3": 250.0}
    assert result.accumulators.iloc[0]["inpatient_covered"] == counted
    assert [r[:2] for r in reasons(result, "A2")] == [("CAP-001", "CAP_REACHED")]


def test_counting_the_deductible_needs_a_cap_on_covered_fees(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"2025.yaml: inpatient: .*cap_counts_deductible: true needs cap_basis: covered"):
        tariff_folder(tmp_path, lambda d: d["inpatient"].update(cap_counts_deductible=True))


# --- the default ------------------------------------------------------------------------------

def test_empty_covered_caps_change_nothing(tmp_path: Path) -> None:
    """`covered_cap: {}` written out is the default: the same amounts, no covered fees counted."""
    def edit(d: dict[str, Any]) -> None:
        resident_outpatient(d, covered_cap={})
        d["chronic"]["covered_cap"] = {"per_visit": None}

    cases = [visit("V1", "2025-03-03", 250), visit("C1", "2025-03-04", 600, "14", "E11.9", ("E11",))]
    plain, written = score_cases(cases), score_cases(cases, tariff=tariff_folder(tmp_path, edit))
    amounts = ["hifp_pay", "psn_part_amt", "act_pay_dedc", "reasons"]
    assert plain.claims[amounts].equals(written.claims[amounts])
    assert paid(plain) == {"V1": 150.0, "C1": 390.0}  # 60% of 250, 65% of 600
    acc = written.accumulators.iloc[0]
    assert (acc["outpatient_covered"], acc["chronic_covered"], acc["outpatient_covered_month"]) == (0.0, 0.0, -1)
