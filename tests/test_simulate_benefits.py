"""Simulations and what-ifs see every amount the tariff pays (issue 16 on issue 15): the maternity
allowance and the one-off grant, compared apart from the funds' total, and the breakdown by
resident category. Figures are computed by hand from the bundled sample county (docs/tariffs.md),
through `yibao.simulate` and the CLI on small batches built here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

import yibao
from conftest import cases_tables, fen, line, make_case, run_cli
from test_categories import BORN, category_yaml, write_tariff
from yibao.cli.app import app
from yibao.io import write_tables
from yibao.simulation.labels import CASH, FIELDS

GRANT = "maternity.grant={amount: 1000}"
TRUNCATE = "maternity.allowance.rounding={unit: yuan, mode: truncate}"
MOTHER = {"gender": "F", "birth_date": "1992-08-09", "insutype": "310", "employee_status": "in_service",
          "maternity_contribution_months": 30}


def delivery(n: int, wage: float, kind: str, infants: int = 1) -> dict[str, Any]:
    visit = {"mdtrt_id": f"D{n}", "med_type": "52", "diagnoses": ["O80.0"],
             "maternity": {"item": "delivery", "delivery": kind, "infants": infants}}
    return make_case(MOTHER | {"psn_no": f"M{n}", "employer_avg_monthly_wage": wage}, visit)


# Three employee mothers, each a delivery at the county hospital. The allowance is
# wage × days ÷ 30, days 188 (+15 assisted or caesarean, +15 per further infant):
#   D1 caesarean, wage 6,543.21: 6,543.21 × 203 ÷ 30 = 44,275.721   → 44,275.72 (to the fen, half up)
#   D2 vaginal,   wage 6,000.00: 6,000.00 × 188 ÷ 30 = 37,600.00    → 37,600.00
#   D3 twins,     wage 5,123.45: 5,123.45 × 203 ÷ 30 = 34,668.678.. → 34,668.68
# Together 116,544.40. Whole yuan, truncated: 44,275 + 37,600 + 34,668 = 116,543.00, a change of
# −0.72 + 0 − 0.68 = −1.40.
DELIVERIES = [delivery(1, 6543.21, "caesarean"), delivery(2, 6000.0, "vaginal"), delivery(3, 5123.45, "vaginal", 2)]


@pytest.fixture(scope="module")
def deliveries() -> dict[str, pd.DataFrame]:
    tables = cases_tables(DELIVERIES)
    del tables["accumulators"]
    return tables


def _totals(sim: yibao.Simulation) -> pd.DataFrame:
    return sim.totals.set_index("field")


def test_a_grant_reform_costs_the_grant_and_nothing_of_the_funds(deliveries):
    sim = yibao.simulate(deliveries, set=[GRANT])
    totals = _totals(sim)
    # 1,000 per delivery (twins: once), three deliveries: 3,000.00 exactly
    assert list(fen(totals.loc["maternity_grant", ["baseline", "reform", "change"]])) == [0, 300_000, 300_000]
    assert list(fen(totals.loc["maternity_allowance", ["baseline", "reform", "change"]])) == [11_654_440] * 2 + [0]
    assert (totals.loc[list(FIELDS), "change"] == 0).all()  # the grant is no part of any fund
    assert list(sim.totals["field"]) == [*FIELDS, *CASH]  # the cash benefits after the funds, person, hospital
    assert sim.summary["totals"]["maternity_grant"] == {"baseline": "0.00", "reform": "3000.00", "change": "3000.00"}
    assert sim.summary["claims"]["changed"] == 3 and sim.cash_changed == ("maternity_grant",)
    claims = sim.claims.set_index("mdtrt_id")
    assert list(fen(claims.loc[["D1", "D2", "D3"], "maternity_grant_change"])) == [100_000] * 3
    by_med = sim.breakdowns["med_type"].set_index("key")
    assert fen(by_med.loc[["52"], "maternity_grant_change"])[0] == 300_000
    persons = sim.persons.set_index("psn_no")
    assert list(fen(persons.loc[["M1", "M2", "M3"], "maternity_grant_reform"])) == [100_000] * 3
    assert list(sim.top_claims["mdtrt_id"]) == ["D1", "D2", "D3"]  # ranked by the grant, no fund changing
    assert "category" not in sim.breakdowns  # the sample county defines no resident categories


def test_a_rounding_reform_changes_the_allowance_by_hand(deliveries):
    sim = yibao.simulate(deliveries, set=[TRUNCATE])
    totals = _totals(sim)
    # 116,544.40 → 116,543.00 (see DELIVERIES)
    assert list(fen(totals.loc["maternity_allowance", ["baseline", "reform", "change"]])) == [
        11_654_440, 11_654_300, -140]
    claims = sim.claims.set_index("mdtrt_id")
    assert list(fen(claims.loc[["D1", "D2", "D3"], "maternity_allowance_change"])) == [-72, 0, -68]
    assert sim.summary["claims"]["changed"] == 2  # D2's allowance is whole yuan already
    assert sim.cash_changed == ("maternity_allowance",)
    assert (totals.loc[list(FIELDS), "change"] == 0).all() and totals.loc["maternity_grant", "reform"] == 0


def test_the_cli_report_workbook_and_summary_show_the_grant(deliveries, tmp_path):
    batch = tmp_path / "batch"
    write_tables(deliveries, batch, "csv")
    out = tmp_path / "sim"
    run = CliRunner().invoke(app, ["simulate", str(batch), "--out", str(out), "--set", GRANT],
                             env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output
    assert "一次性生育补助金" in run.output and "+3,000.00" in run.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["totals"]["maternity_grant"]["change"] == "3000.00"
    totals = pd.read_parquet(out / "totals.parquet").set_index("field")
    assert tuple(totals.loc["maternity_grant", ["label", "change"]]) == ("一次性生育补助金", 3000.0)
    sheet = openpyxl.load_workbook(out / "simulation.xlsx")["汇总 totals"]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=3, values_only=True)}
    assert rows["maternity_allowance"][1:] == ("生育津贴", 116544.4, 116544.4, 0)
    assert rows["maternity_grant"][1:] == ("一次性生育补助金", 0, 3000, 3000)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "不属于基金合计(fund_pay_sumamt)" in html  # said apart from the funds' total
    # the grant's change in each of the 5 breakdowns and the largest claims; the allowance, unchanged, adds no column
    assert html.count("<th>一次性生育补助金 变化</th>") == 5 + 1 and "<th>生育津贴 变化</th>" not in html
    assert html.count('<td class="n">+3,000.00</td>') >= 2  # the total, and the groups holding them


def test_a_reform_leaving_the_cash_benefits_alone_shows_no_cash_columns(deliveries):
    """A deductible reform: the totals still list the allowance (116,544.40, unchanged); the
    breakdowns do not widen with columns of zeros."""
    from yibao.simulation.report import render

    sim = yibao.simulate(deliveries, set=["inpatient.schemes[insutype=390,level=2].deductible=400"])
    assert list(fen(_totals(sim).loc["maternity_allowance", ["baseline", "change"]])) == [11_654_440, 0]
    assert sim.cash_changed == () and "生育津贴 变化" not in render(sim)


# ---- resident categories (居民类别) ----

CAT = "catsim-county"
STAY = [line("S-DIAL", 420.0, 10)]  # 4,200 yuan in policy at a county hospital (level 2)


def _resident(n: int, born: str, **person: Any) -> dict[str, Any]:
    return make_case({"psn_no": f"R{n}", "birth_date": born, **person}, {"mdtrt_id": f"S{n}"}, STAY)


@pytest.fixture(scope="module")
def category_batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, pd.DataFrame]]:
    root = tmp_path_factory.mktemp("cat")
    folder = write_tariff(root, CAT, category_yaml)
    cases = [_resident(1, BORN["adult"]), _resident(2, BORN["student"]), _resident(3, "2008-01-10"),
             _resident(4, BORN["elderly"]), _resident(5, BORN["adult"], insutype="310", employee_status="in_service")]
    tables = cases_tables(cases)
    del tables["accumulators"]
    return folder, tables


def test_claims_name_the_category_they_were_paid_on(category_batch):
    folder, tables = category_batch
    claims = yibao.score(tables, tariff=folder).claims.set_index("mdtrt_id")
    # the adult (54) and the employee have none; 15 and 17 are students (below 18); 65 is elderly
    assert list(claims.loc[["S1", "S2", "S3", "S4", "S5"], "resident_category"]) == [
        "", "student", "student", "elderly", ""]
    assert (yibao.score(tables).claims["resident_category"] == "").all()  # the sample defines none


def test_breakdown_by_category_follows_the_claims_that_move(category_batch):
    """The reform ends the students' category at 16: the 17-year-old is paid as other adults.
    Students (at the county hospital): deductible 250, 90%: (4,200 − 250) × 0.90 = 3,555.00.
    Other adults: 500, 65% to 1,500, 83% above: 1,000 × 0.65 + 2,700 × 0.83 = 650 + 2,241 = 2,891.00.
    The elderly: 1,000 × 0.70 + 2,700 × 0.88 = 700 + 2,376 = 3,076.00. So the fund pays the
    17-year-old 664.00 less and she pays 664.00 more; no one else changes."""
    folder, tables = category_batch
    sim = yibao.simulate(tables, tariff=folder, set=["resident_categories[name=student].age_below=16"])
    claims = sim.claims.set_index("mdtrt_id")
    assert list(claims.loc[["S2", "S3", "S5"], "category_baseline"]) == ["student", "student", "none"]
    assert list(claims.loc[["S2", "S3", "S5"], "category_reform"]) == ["student", "none", "none"]
    groups = sim.breakdowns["category"].set_index("key")
    assert list(groups.index) == ["elderly", "none", "student", "student→none"]
    assert list(groups["label"]) == ["老年居民", "无类别", "中小学生和婴幼儿", "中小学生和婴幼儿 → 无类别"]
    assert list(groups["claims"]) == [1, 2, 1, 1] and list(groups["changed"]) == [0, 0, 0, 1]
    assert list(fen(groups["hifp_pay_baseline"]))[::2] == [307_600, 355_500]  # elderly, student
    moved = groups.loc["student→none"]
    amounts = ["hifp_pay_baseline", "hifp_pay_reform", "hifp_pay_change", "psn_part_amt_change"]
    assert list(fen(moved[amounts])) == [355_500, 289_100, -66_400, 66_400]
    assert int(fen(groups["fund_pay_sumamt_change"]).sum()) == -66_400  # adds up to the total
    assert sim.summary["breakdowns"]["category"][3]["key"] == "student→none"
    from yibao.simulation.report import render
    from yibao.simulation.workbook import sheets

    assert "按居民类别 category" in sheets(sim)
    html = render(sim)
    assert "<h3>按居民类别 (category)</h3>" in html and "中小学生和婴幼儿 → 无类别" in html


def test_none_is_no_category_name(tmp_path, capsys, monkeypatch):
    """`none` is how reports name residents without a category: a tariff may not take it."""
    folder = write_tariff(tmp_path, "bad-county", lambda text: text.replace(
        "inpatient:  ", "resident_categories:\n  - {name: none, age_below: 18}\n\ninpatient:  "))
    code, err = run_cli(["tariffs", "validate", str(folder)], capsys, monkeypatch)
    assert code == 2 and err.count("\n") == 1
    assert "resident_categories[name=none]: 'none' names the persons without a category in reports" in err


# ---- whatif --compare ----

def test_whatif_compare_shows_the_grant(tmp_path):
    case = tmp_path / "delivery.case.json"
    case.write_text(json.dumps(DELIVERIES[0]), encoding="utf-8")
    args = ["whatif", str(case), "--set", GRANT, "--compare"]
    report = json.loads(CliRunner().invoke(app, args + ["--json"]).output)
    assert report["difference"]["maternity_grant"] == {"baseline": 0.0, "edited": 1000.0, "change": 1000.0}
    assert report["edited"]["maternity_allowance"] == report["baseline"]["maternity_allowance"] == 44275.72
    assert "fund_pay_sumamt" not in report["difference"]
    run = CliRunner().invoke(app, args, env={"COLUMNS": "250"})
    assert run.exit_code == 0, run.output
    assert "一次性生育补助金 grant 1,000.00" in run.output  # the edited panel
    assert any("maternity_grant" in ln and "1,000.00" in ln for ln in run.output.splitlines())  # the difference
