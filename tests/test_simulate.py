"""Policy impact simulation (issue 15): the fund difference a simulation reports equals, to the
fen, the difference of two separate `score` runs under the two tariffs — for a parameter edit, a
catalogue edit and a reform folder — where the reformed tariff of the separate run is made by
editing the tariff files' text (an independent route to the same tariff); a no-op edit reports
zero everywhere; the outputs are written whole, the same bytes each run, and open.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import sys
import uuid
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

import yibao
from conftest import fen
from yibao.cli.app import app, main
from yibao.errors import InputError
from yibao.pipeline import Result
from yibao.simulation import Simulation
from yibao.simulation.charts import histogram
from yibao.simulation.labels import DIMENSIONS, FIELDS, money_columns
from yibao.simulation.output import write_simulation
from yibao.simulation.report import render
from yibao.simulation.tables import deciles
from yibao.tariffs.registry import BUNDLED, resolve, tariff_spec

SAMPLE = BUNDLED / "sample-county"
DEDUCTIBLE = "inpatient.schemes[insutype=390,level=2].deductible"
DEDUCTIBLE_TEXT = '{insutype: "390", level: 2, deductible: 500,'  # the same line in 2024.yaml and 2025.yaml
NURSE_CAP, GLARGINE_SHARE = "catalogue[code=S-NURSE1].price_cap", "catalogue[code=B-GLAR].selfpay_prop"


def reform_folder(root: Path, yaml_edit: tuple[str, str] | None = None,
                  catalogue_edit: dict[tuple[str, str], str] | None = None) -> Path:
    """A copy of the sample tariff under a fresh id (its folder's name), its files edited as text."""
    folder = root / f"simtest-{uuid.uuid4().hex[:8]}"
    shutil.copytree(SAMPLE, folder)
    for name in ("2024.yaml", "2025.yaml"):
        text = (folder / name).read_text(encoding="utf-8")
        (folder / name).write_text(text.replace("id: sample-county\n", f"id: {folder.name}\n"), encoding="utf-8")
    if yaml_edit:
        for name in ("2024.yaml", "2025.yaml"):
            text = (folder / name).read_text(encoding="utf-8")
            assert text.count(yaml_edit[0]) == 1, name
            (folder / name).write_text(text.replace(*yaml_edit), encoding="utf-8")
    if catalogue_edit:
        cat = pd.read_csv(folder / "catalogue.csv", dtype=str, keep_default_na=False)
        for (code, column), value in catalogue_edit.items():
            assert (cat["code"] == code).sum() == 1
            cat.loc[cat["code"] == code, column] = value
        cat.to_csv(folder / "catalogue.csv", index=False)
    return folder


def totals_fen(result: Result) -> dict[str, int]:
    return {f: int(fen(result.claims, f).sum()) for f in FIELDS}


def assert_equals_two_runs(sim: Simulation, base: Result, reform: Result) -> None:
    """Totals per fund, and every claim's change, as the two separate runs give them."""
    before, after = totals_fen(base), totals_fen(reform)
    totals = sim.totals.set_index("field")
    for f in FIELDS:
        assert int(fen(totals.loc[f, ["baseline"]]).sum()) == before[f], f
        assert int(fen(totals.loc[f, ["reform"]]).sum()) == after[f], f
        assert int(fen(totals.loc[f, ["change"]]).sum()) == after[f] - before[f], f
    claims = sim.claims.set_index("mdtrt_id")
    b, r = base.claims.set_index("mdtrt_id"), reform.claims.set_index("mdtrt_id")
    assert sorted(claims.index) == sorted(set(b.index) | set(r.index))
    for f in FIELDS:
        expected = fen(r[f].reindex(claims.index, fill_value=0)) - fen(b[f].reindex(claims.index, fill_value=0))
        assert (fen(claims[f"{f}_change"]) == expected).all(), f
    # the funds, the person and the hospitals share each claim's unchanged total: changes sum to zero
    assert ((fen(claims["fund_pay_sumamt_change"]) + fen(claims["psn_part_amt_change"])
             + fen(claims["hosp_part_amt_change"]))[claims["scored"] == "both"] == 0).all()
    for frame in sim.breakdowns.values():  # every breakdown adds up to the totals
        for f in FIELDS:
            assert int(fen(frame[f"{f}_change"]).sum()) == after[f] - before[f]


@pytest.fixture(scope="module")
def baseline(synth_folder: Path) -> Result:
    return yibao.score(synth_folder)


def test_parameter_edit_equals_two_score_runs(synth_folder, baseline, tmp_path, monkeypatch):
    folder = reform_folder(tmp_path, (DEDUCTIBLE_TEXT, DEDUCTIBLE_TEXT.replace("500", "300")))
    monkeypatch.setenv("YIBAO_TARIFF_PATH", str(tmp_path))
    sim = yibao.simulate(synth_folder, set=[f"{DEDUCTIBLE}=300"])
    assert_equals_two_runs(sim, baseline, yibao.score(synth_folder, tariff=folder.name))
    assert sim.summary["claims"]["changed"] > 0
    assert fen(sim.totals.set_index("field").loc[["hifp_pay"], "change"])[0] > 0  # a lower deductible costs the fund
    assert set(sim.tariff_diff["path"]) == {"inpatient.schemes[insutype=390,employee_status=any,level=2].deductible"}
    assert set(sim.tariff_diff["from"]) == {"500 yuan"} and set(sim.tariff_diff["to"]) == {"300 yuan"}


def test_catalogue_edit_equals_two_score_runs(synth_folder, baseline, tmp_path, monkeypatch):
    folder = reform_folder(tmp_path, catalogue_edit={("S-NURSE1", "price_cap"): "22.00",
                                                      ("B-GLAR", "selfpay_prop"): "0.30"})
    monkeypatch.setenv("YIBAO_TARIFF_PATH", str(tmp_path))
    sim = yibao.simulate(synth_folder, set=[f"{NURSE_CAP}=22.00", f"{GLARGINE_SHARE}=0.30"])
    assert_equals_two_runs(sim, baseline, yibao.score(synth_folder, tariff=folder.name))
    assert sim.summary["claims"]["changed"] > 0
    assert {(p, a, b) for p, a, b in sim.tariff_diff[["path", "from", "to"]].itertuples(index=False)} == {
        (NURSE_CAP, "26.00 yuan", "22.00 yuan"), (GLARGINE_SHARE, "0.1 (10%)", "0.3 (30%)")}


def test_reform_folder_equals_two_score_runs(synth_folder, baseline, tmp_path, monkeypatch):
    band = "bands: [{upto: 1500, ratio: 0.65}, {ratio: 0.83}]"
    folder = reform_folder(tmp_path, (band, band.replace("0.65", "0.70")))
    sim = yibao.simulate(synth_folder, reform=str(folder))  # a folder off the search path
    monkeypatch.setenv("YIBAO_TARIFF_PATH", str(tmp_path))
    assert_equals_two_runs(sim, baseline, yibao.score(synth_folder, tariff=folder.name))
    assert sim.summary["claims"]["changed"] > 0
    assert sim.tariff_diff["path"].str.endswith("bands[0].ratio").all() and len(sim.tariff_diff)


@pytest.mark.parametrize("table", ["claims", "persons"])
def test_a_reform_folder_serves_claims_that_name_the_region(synth_folder, tmp_path, table):
    """A batch whose claims (or persons) name their region, `sample-county`, simulated against a
    proposal folder with an id of its own: those claims were scored under sample-county on the
    reform side too, and the report said nothing changed (0.00 everywhere, no tariff diff); with
    the region on persons it ended in a KeyError traceback. Now the reform serves them, as it
    serves the same claims without a region column."""
    band = "bands: [{upto: 1500, ratio: 0.65}, {ratio: 0.83}]"
    folder = reform_folder(tmp_path, (band, band.replace("0.65", "0.70")))
    plain = yibao.simulate(synth_folder, reform=folder)
    named = tmp_path / "named"
    shutil.copytree(synth_folder, named)
    frame = pd.read_csv(named / f"{table}.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame.assign(region="sample-county").to_csv(named / f"{table}.csv", index=False)
    sim = yibao.simulate(named, reform=folder)
    assert plain.summary["claims"]["changed"] > 0
    assert sim.summary["totals"] == plain.summary["totals"] and sim.summary["claims"] == plain.summary["claims"]
    assert sim.summary["reform"]["versions"] == plain.summary["reform"]["versions"]
    pd.testing.assert_frame_equal(sim.tariff_diff, plain.tariff_diff)


def test_claims_without_a_reform_version_count_on_the_baseline_side(synth_folder, baseline, tmp_path, monkeypatch):
    """A reform in force from March only: January and February claims are scored by the baseline
    alone, count there and are zero on the reform side, as in two separate runs."""
    folder = reform_folder(tmp_path)
    (folder / "2024.yaml").unlink()
    text = (folder / "2025.yaml").read_text(encoding="utf-8")
    (folder / "2025.yaml").write_text(text.replace("effective_from: 2025-01-01", "effective_from: 2025-03-01"),
                                      encoding="utf-8")
    sim = yibao.simulate(synth_folder, reform=folder)
    monkeypatch.setenv("YIBAO_TARIFF_PATH", str(tmp_path))
    assert_equals_two_runs(sim, baseline, yibao.score(synth_folder, tariff=folder.name))
    assert sim.summary["claims"]["baseline_only"] > 0
    assert (sim.claims.loc[sim.claims["scored"] == "baseline_only", "tariff_reform"] == "").all()
    assert list(sim.tariff_diff["path"]) == ["effective_from"]


def test_no_op_edit_reports_zero_everywhere(synth_folder):
    sim = yibao.simulate(synth_folder, set=[f"{DEDUCTIBLE}=500", f"{NURSE_CAP}=26.00"])
    changes = [c for c in sim.claims.columns if c.endswith("_change")]
    assert (sim.claims[changes] == 0).all().all() and (sim.persons[changes] == 0).all().all()
    assert (sim.totals["change"] == 0).all()
    for frame in sim.breakdowns.values():
        assert (frame[changes] == 0).all().all() and (frame["changed"] == 0).all()
    assert (sim.deciles[["min", "max", "mean", "total"]] == 0).all().all()
    assert sim.tariff_diff.empty and sim.top_claims.empty and sim.top_persons.empty
    s = sim.summary
    assert s["claims"]["changed"] == s["claims"]["decisions_changed"] == 0
    assert s["persons"]["same"] == s["persons"]["persons"] and s["persons"]["up"] == s["persons"]["down"] == 0
    assert all(t["change"] == "0.00" for t in s["totals"].values())


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_cli_writes_every_output_whole_and_the_same_bytes(synth_folder, tmp_path):
    args = ["simulate", str(synth_folder), "--set", f"{DEDUCTIBLE}=300", "--set", f"{NURSE_CAP}=22"]
    first = CliRunner().invoke(app, args + ["--out", str(tmp_path / "a"), "--json"])
    assert first.exit_code == 0, first.output
    summary = json.loads(first.output)
    assert summary == json.loads((tmp_path / "a" / "summary.json").read_text(encoding="utf-8"))
    names = {p.name for p in (tmp_path / "a").iterdir()}
    assert {"summary.json", "claims_diff.parquet", "persons_diff.parquet", "simulation.xlsx", "report.html",
            "tariff_diff.parquet", "deciles.parquet"} | {f"by_{d}.parquet" for d in DIMENSIONS} <= names
    assert [p.name for p in tmp_path.iterdir()] == ["a"]  # no temporary folder left
    written = _digests(tmp_path / "a")
    again = CliRunner().invoke(app, args + ["--out", str(tmp_path / "a"), "--json", "--overwrite"])
    assert again.exit_code == 0 and _digests(tmp_path / "a") == written  # replaced whole, the same bytes
    second = CliRunner().invoke(app, args + ["--out", str(tmp_path / "b"), "--format", "csv"])
    assert second.exit_code == 0, second.output
    assert "基金 totals" in second.output
    by_level = pd.read_csv(tmp_path / "b" / "by_level.csv", dtype={"key": str})
    assert fen(by_level, "fund_pay_sumamt_change").sum() == fen([float(summary["totals"]["fund_pay_sumamt"]["change"])])[0]

    html = (tmp_path / "a" / "report.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 2 + len(DIMENSIONS) and "<script" not in html and "http" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    assert "基金测算报告" in html and "个人负担变化" in html
    book = openpyxl.load_workbook(tmp_path / "a" / "simulation.xlsx")
    sheet = book["汇总 totals"]
    assert [c.value for c in sheet[1]][:3] == ["项目", "名称", "现行"] and [c.value for c in sheet[2]][:3] == [
        "field", "label", "baseline"]
    assert sheet.freeze_panes == "A3" and sheet["C3"].number_format == "#,##0.00"
    assert len(book.sheetnames) == 5 + len(DIMENSIONS)


def test_every_workbook_heading_is_chinese(synth_folder, tmp_path):
    """The top_claims sheet headed its `kind` column `kind`: the one column of the workbook a
    policy officer read in English only."""
    write_simulation(yibao.simulate(synth_folder, set=[f"{DEDUCTIBLE}=300"]), tmp_path / "sim")
    for sheet in openpyxl.load_workbook(tmp_path / "sim" / "simulation.xlsx"):
        english = [field.value for heading, field in zip(sheet[1], sheet[2]) if heading.value == field.value]
        assert not english, (sheet.title, english)


def test_csv_money_has_two_decimals(synth_folder, tmp_path):
    """`--format csv` wrote the simulation's amounts as 0, 2938.59, -1592.5 (only the money
    fields of `yibao score` got two decimals): now every amount of every table is 12.50, 0.00."""
    sim = yibao.simulate(synth_folder, set=[f"{DEDUCTIBLE}=300"])
    write_simulation(sim, tmp_path / "sim", "csv")
    for name in ("totals", "claims_diff", "persons_diff", "by_level", "deciles", "top_claims"):
        text = (tmp_path / "sim" / f"{name}.csv").read_text(encoding="utf-8-sig")
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        money = [c for c in frame.columns if c in money_columns()]
        assert money, name
        assert frame[money].apply(lambda c: c.str.fullmatch(r"-?\d+\.\d\d")).all().all(), name


def test_report_cells_that_do_not_wrap_are_short(synth_folder, tmp_path):
    """Claim and institution ids may be 64 characters: printed in cells that never wrap, the
    largest claims' table of a batch with such ids was 1,135 px wide in headless Chromium at A4's
    703 px, its amounts off the page. Now ids, versions and group labels wrap; a cell that does
    not wrap holds a number or a short word."""
    long = tmp_path / "long"
    shutil.copytree(synth_folder, long)
    for table, column in (("institutions", "institution_id"), ("claims", "institution_id"),
                          ("claims", "mdtrt_id"), ("lines", "mdtrt_id")):
        frame = pd.read_csv(long / f"{table}.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
        frame[column] = frame[column].where(frame[column] == "", frame[column].str.rjust(64, "0"))
        frame.to_csv(long / f"{table}.csv", index=False)
    sim = yibao.simulate(long, set=[f"{DEDUCTIBLE}=300"])
    assert len(sim.top_claims) and sim.top_claims["institution_id"].str.len().eq(64).all()
    html = render(sim)
    unwrapped = re.findall(r"<td(?: class=\"n[^\"]*\")?>([^<]*)</td>", html)
    assert unwrapped and max(map(len, unwrapped)) <= 24, max(unwrapped, key=len)


def test_report_counts_the_claims_the_reading_rejected(synth_folder, tmp_path):
    """A batch whose institutions table lacks most institutions: their claims are rejected on
    reading and compared on neither side, yet the report read "12 次就诊, 0 条明细" of a batch of
    300 claims, and the terminal said nothing of the rest. Now both say how many were rejected."""
    cut = tmp_path / "cut"
    shutil.copytree(synth_folder, cut)
    institutions = pd.read_csv(cut / "institutions.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    institutions.head(3).to_csv(cut / "institutions.csv", index=False)
    claims = pd.read_csv(cut / "claims.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    gone = int(((claims["kind"] == "claim") & ~claims["institution_id"].isin(institutions.head(3)["institution_id"])).sum())
    run = CliRunner().invoke(app, ["simulate", str(cut), "--out", str(tmp_path / "sim"), "--set", f"{DEDUCTIBLE}=300"],
                             env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output
    summary = json.loads((tmp_path / "sim" / "summary.json").read_text(encoding="utf-8"))
    assert gone > 0 and summary["batch"]["rejected_claims"] == gone
    assert summary["batch"]["claims"] + gone == len(claims) == summary["claims"]["compared"] + gone
    assert f"{gone:,} claims rejected by the reading" in run.output
    assert f"另有 {gone:,} 次就诊未通过数据校验" in (tmp_path / "sim" / "report.html").read_text(encoding="utf-8")


def test_report_counts_the_claims_no_version_is_in_force_on(synth_folder, tmp_path):
    """A claim of 2023 in a 2025 batch: no version of the sample tariff is in force on its date,
    so both runs set it aside. The report said "N claims compared" of the rest and nothing of it
    (nor did summary.json but in its rejects' counts). Now both name it."""
    old = tmp_path / "old"
    shutil.copytree(synth_folder, old)
    claims = pd.read_csv(old / "claims.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    stay = claims.index[(claims["med_type"] == "21") & (claims["settlement_mode"] == "direct")][0]
    claims.loc[stay, ["admit_date", "discharge_date", "submitted_date"]] = ["2023-03-01", "2023-03-05", "2023-03-05"]
    claims.to_csv(old / "claims.csv", index=False)
    run = CliRunner().invoke(app, ["simulate", str(old), "--out", str(tmp_path / "sim"), "--set", f"{DEDUCTIBLE}=300"],
                             env={"COLUMNS": "300"})
    assert run.exit_code == 0, run.output
    summary = json.loads((tmp_path / "sim" / "summary.json").read_text(encoding="utf-8"))
    assert summary["batch"]["unscored_claims"] == 1 and summary["batch"]["rejected_claims"] == 0
    assert summary["claims"]["compared"] + 1 == summary["batch"]["claims"] == len(claims)
    assert "1 claims scored on neither side" in run.output
    assert "另有 1 次就诊两方均未计算" in (tmp_path / "sim" / "report.html").read_text(encoding="utf-8")


def test_no_claim_compared_is_not_called_a_no_op(synth_folder, tmp_path):
    """A batch with no claim (or none scored on both sides) has no tariff diff, the diff being
    listed per pair of versions that met on a claim: the report then printed "无参数变化(空操作)"
    and the terminal "a no-op reform" of a reform lowering a deductible. Now they say that no
    claim was scored on both sides; a real no-op still reads as one."""
    empty = tmp_path / "empty"
    shutil.copytree(synth_folder, empty)
    for table in ("claims", "lines"):
        header = (empty / f"{table}.csv").read_text(encoding="utf-8-sig").splitlines()[0]
        (empty / f"{table}.csv").write_text(header + "\n", encoding="utf-8")
    run = CliRunner().invoke(app, ["simulate", str(empty), "--out", str(tmp_path / "sim"), "--set", f"{DEDUCTIBLE}=300"],
                             env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output
    html = (tmp_path / "sim" / "report.html").read_text(encoding="utf-8")
    assert "no-op" not in run.output and "no claim was scored on both sides" in run.output
    assert "空操作" not in html and "没有两方都计算的就诊" in html
    assert "空操作" in render(yibao.simulate(synth_folder, set=[f"{DEDUCTIBLE}=500"]))


@pytest.mark.parametrize("extra, message", [
    ([], "one of the two"),
    (["--set", f"{DEDUCTIBLE}=300", "--reform", "sample-county"], "one of the two"),
    (["--set", "inpatient.schemes[insutype=390,level=9].deductible=300"], "matches 0 items"),
    (["--set", f"{NURSE_CAP}=-1"], "must not be negative"),
    (["--reform", "./no/such/tariff"], "no such tariff folder"),
    (["--set", f"{DEDUCTIBLE}=300", "--format", "xlsx"], "'xlsx' is not one of 'parquet', 'csv'"),
])
def test_cli_refuses_bad_input_in_one_line(synth_folder, tmp_path, monkeypatch, capsys, extra, message):
    monkeypatch.setattr(sys, "argv", ["yibao", "simulate", str(synth_folder), "--out", str(tmp_path / "out"), *extra])
    with pytest.raises(SystemExit) as exit_:
        main()
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and message in err and len(err.splitlines()) == 1, err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


@pytest.mark.parametrize("extra, message", [
    (["--set", "inpatient.anual_cap.390=1000"], "no parameter 'inpatient.anual_cap' (in version sample-county@20"),
    (["--set", f"{DEDUCTIBLE}=-300"], "is negative"),
    (["--reform", "no-such-county"], "unknown tariff 'no-such-county'"),
    (["--reform", "sample-county@2099"], "has no version '2099'"),
    (["--tariff", "no-such-county", "--set", f"{DEDUCTIBLE}=300"], "unknown tariff 'no-such-county'"),
])
def test_a_batch_with_no_claim_in_force_still_checks_the_reform(synth_folder, tmp_path, monkeypatch, capsys,
                                                                extra, message):
    """A month with no claim had no version in force, so the edits were applied to none and a
    misspelt path, a negative deductible or a tariff that does not exist ran, exit 0, and reported
    "0 claims compared": read as "the reform changes nothing". Now they are refused in one line."""
    empty = tmp_path / "empty"
    shutil.copytree(synth_folder, empty)
    for table in ("claims", "lines"):
        header = (empty / f"{table}.csv").read_text(encoding="utf-8-sig").splitlines()[0]
        (empty / f"{table}.csv").write_text(header + "\n", encoding="utf-8")
    test_cli_refuses_bad_input_in_one_line(empty, tmp_path, monkeypatch, capsys, extra, message)


def test_refusals_name_the_problem(synth_folder):
    with pytest.raises(InputError, match="one of the two"):
        yibao.simulate(synth_folder)
    with pytest.raises(InputError, match=r"matches 0 items.*\(in version sample-county@20\d\d\)"):
        yibao.simulate(synth_folder, set=["inpatient.schemes[insutype=390,level=9].deductible=300"])


# --- the pieces ---------------------------------------------------------------------------------

def test_catalogue_edit_in_whatif(decide_case):
    """One grammar for whatif and simulate: a lower price cap moves the excess to over-cap."""
    from conftest import line, make_case
    from yibao.tariffs.edit import apply_edits

    case = make_case(lines=[line("S-CT", 150.0)])
    edited = apply_edits(resolve("sample-county@2025"), ["catalogue[code=S-CT].price_cap=100"])
    assert decide_case(case)["overlmt_selfpay"] == 0
    assert decide_case(case, tariff=edited)["overlmt_selfpay"] == 50.0


def test_tariff_spec_resolves_ids_and_folders(tmp_path):
    assert tariff_spec("sample-county") == "sample-county"
    assert tariff_spec("sample-county@2024") == "sample-county@2024"
    versions = tariff_spec(SAMPLE)
    assert [lt.tariff.version for lt in versions] == ["2024", "2025"]
    with pytest.raises(InputError, match="no such tariff"):
        tariff_spec(tmp_path / "missing")


def test_tariffs_show_prints_catalogue_paths():
    from yibao.cli.tariffs import app as tariffs_app

    run = CliRunner().invoke(tariffs_app, ["show", "sample-county", "--catalogue"], env={"COLUMNS": "200"})
    assert run.exit_code == 0 and f"{NURSE_CAP}" in run.output and "26.00 yuan" in run.output


changes = st.lists(st.integers(-10**9, 10**9), max_size=300)


@given(changes)
def test_deciles_cover_every_person_in_order(values):
    table = deciles(pd.DataFrame({"psn_part_amt_change": np.array(values, dtype=np.int64)}))
    assert table["persons"].sum() == len(values) and table["total"].sum() == sum(values)
    filled = table[table["persons"] > 0]
    assert (filled["min"] <= filled["max"]).all() and (filled["max"].to_numpy()[:-1] <= filled["min"].to_numpy()[1:]).all()


@given(changes)
def test_histogram_counts_every_person(values):
    svg = histogram("t", np.array(values, dtype=np.int64))
    counts = [int(n.replace(",", "")) for n in re.findall(r'font-size="9">([\d,]+)</text>', svg)]
    assert sum(counts) == len(values)
