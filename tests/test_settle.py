"""Settlement of designated institutions (yibao/settlement): statements computed by hand.

The score output below is written by hand: two institutions, claims with every violation code,
a rejected claim, a suspect, claims with incorrect data, a claim of another month, a manual
claim and claims the scorer rejected. Every expected amount is worked out in the comments from
the formulas of docs/settlement.md (sample-county@2025: penalty
rate 0.30 for QTY_DAY and BED_DAYS, 0 for the rest; deposit ratio 0.05; R = half-up to the fen).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import typer
from openpyxl import load_workbook
from typer.testing import CliRunner

from yibao.cli.settle import run as settle_command
from yibao.errors import InputError
from yibao.io import write_tables
from yibao.outputs import MANIFEST, write_folder
from yibao.settlement import settle, verify_folder, write_settlement
from yibao.settlement.allocate import largest_remainder
from yibao.settlement.inputs import parse_period, read_scored
from yibao.settlement.statement import settle_scored
from yibao.settlement.verify import verify_report

TARIFF = "sample-county@2025"
CLAIM_FIELDS = ("mdtrt_id", "institution_id", "settlement_mode", "decision", "admit_date", "discharge_date",
                "declared_fund_pay_sumamt", "fund_pay_sumamt", "violation_amt", "suspect_codes")
CLAIMS = [  # declared, audited (fund_pay_sumamt), violation_amt; hosp_part_amt = declared − audited
    ("C101", "H1", "direct", "partially_approved", "2025-05-02", "2025-05-09", 1000.00, 862.55, 100.00, ""),
    ("C102", "H1", "direct", "partially_approved", "2025-05-10", "2025-05-10", 50.00, 49.90, 3.00, ""),
    ("C103", "H1", "direct", "partially_approved", "2025-05-11", "2025-05-20", 500.00, 466.67, 30.00, ""),
    ("C104", "H1", "direct", "approved", "2025-05-22", "2025-05-31", 300.00, 300.00, 0.00, "SPLIT_ADMISSION"),
    ("C105", "H1", "direct", "rejected", "2025-05-15", "2025-05-15", 0.00, 0.00, 0.00, ""),
    ("C106", "H1", "direct", "partially_approved", "2025-05-03", "2025-05-08", 200.00, 180.00, 20.00, ""),
    ("C107", "H1", "direct", "partially_approved", "2025-04-20", "2025-04-30", 70.00, 60.00, 10.00, ""),
    ("C108", "H1", "manual", "partially_approved", "2025-05-04", "2025-05-06", 40.00, 30.00, 10.00, ""),
    ("C201", "H2", "direct", "approved", "2025-05-05", "2025-05-05", 80.12, 80.12, 0.00, ""),
    ("C202", "H2", "direct", "approved", "2025-05-09", "2025-05-07", 45.00, 45.00, 0.00, ""),
    ("C203", "H2", "direct", "partially_approved", "2025-05-12", "2025-05-12", 10.05, 10.00, 5.00, ""),
]
VIOLATIONS = [
    ("C101", "GENDER", 40.00), ("C101", "QTY_DAY", 60.00),
    ("C102", "AGE", 1.00), ("C102", "LEVEL", 1.00), ("C102", "SETTING", 1.00),
    ("C103", "BED_DAYS", 20.00), ("C103", "INDICATION", 10.00),
    ("C106", "QTY_DAY", 20.00), ("C107", "QTY_DAY", 10.00), ("C108", "AGE", 10.00),
    ("C203", "QTY_DAY", 5.00),
]
SOURCE_CLAIMS = """\
mdtrt_id,psn_no,kind,institution_id,settlement_mode,admit_date,discharge_date
R1,P9,claim,H9,direct,2025-05-01,2025-05-10
R2,P9,claim,H1,direct,2025-05-12,2025-05-10
R3,P404,claim,H1,direct,2025-03-01,2025-03-02
"""
INSTITUTIONS = """\
institution_id,name,kind,level,out_of_area,networked,agreement
H1,县人民医院,hospital,2,false,true,active
H2,城关镇卫生院,hospital,1,false,true,active
"""


def score_output(source_dir: Path) -> SimpleNamespace:
    """A hand-made score result; its rejects point at claims.csv in `source_dir`."""
    claims = pd.DataFrame(CLAIMS, columns=CLAIM_FIELDS)
    claims["hosp_part_amt"] = np.where(claims["settlement_mode"] == "direct",
                                       (claims["declared_fund_pay_sumamt"] * 100 - claims["fund_pay_sumamt"] * 100)
                                       .round() / 100, 0.0)
    claims = claims.assign(psn_no="P" + claims["mdtrt_id"], kind="claim", med_type="21", tariff=TARIFF,
                           setl_date=claims["discharge_date"],
                           violation_codes=[";".join(c for i, c, _ in VIOLATIONS if i == m)
                                            for m in claims["mdtrt_id"]])
    lines = pd.DataFrame({"mdtrt_id": claims["mdtrt_id"], "line_id": "L1", "service_date": claims["admit_date"]})
    lines.loc[lines["mdtrt_id"] == "C202", "service_date"] = "2025-05-08"
    outside = pd.DataFrame({"mdtrt_id": ["C106"], "line_id": ["L2"], "service_date": ["2025-05-12"]})
    violations = pd.DataFrame(VIOLATIONS, columns=["mdtrt_id", "code", "violation_amt"])
    source = str(source_dir / "claims.csv")
    rejects = pd.DataFrame(
        [("claims", source, 2, "institution_id", "R1", "institution_id 'H9' is not in institutions"),
         ("claims", source, 3, "discharge_date", "R2", "'2025-05-10': 2025-05-10 is before admit_date 2025-05-12"),
         ("claims", source, 4, "psn_no", "R3", "psn_no 'P404' is not in persons"),
         ("claims", "/gone/claims.csv", 9, "psn_no", "R4", "psn_no 'P7' is not in persons")],
        columns=["table", "file", "row", "column", "key", "reason"])
    return SimpleNamespace(claims=claims, lines=pd.concat([lines, outside], ignore_index=True),
                           violations=violations, rejects=rejects, accumulators=pd.DataFrame())


def write_scored(r: SimpleNamespace, folder: Path, fmt: str) -> None:
    """The hand-made score result as a sealed score folder (as `yibao score --out` leaves it)."""
    tables = {"claims": r.claims, "lines": r.lines, "violations": r.violations, "rejects": r.rejects}

    def write(staging: Path) -> dict:
        write_tables(tables, staging, fmt)
        return {"rows": {name: len(frame) for name, frame in tables.items()}}

    write_folder(folder, write, kind="score")


@pytest.fixture
def source_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "claims.csv").write_text(SOURCE_CLAIMS, encoding="utf-8")
    (folder / "institutions.csv").write_text(INSTITUTIONS, encoding="utf-8")
    return folder


@pytest.fixture
def result(source_dir: Path) -> SimpleNamespace:
    return score_output(source_dir)


def by(frame: pd.DataFrame, *keys: str) -> dict:
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for _, r in frame.iterrows()}


def test_statements_by_hand(result):
    s = settle(result, period="2025-05")
    st = by(s.statements, "institution_id")
    assert list(st) == ["H1", "H2"]
    h1, h2 = st["H1"], st["H2"]
    assert h1["name"] == "县人民医院" and h2["name"] == "城关镇卫生院"  # found beside the source claims
    # H1 settles C101–C105 (C106 withheld, C107 is April's, C108 manual):
    # declared 1000 + 50 + 500 + 300 + 0 = 1850.00; audited 862.55 + 49.90 + 466.67 + 300 = 1679.12
    # fees 137.45 + 0.10 + 33.33 = 170.88 (= 1850.00 − 1679.12)
    # penalties: C101 R(137.45 × 0.3 × 60 / 100) = R(24.741) = 24.74; C103 R(33.33 × 0.3 × 20 / 30) = R(6.666) = 6.67
    # deposit R(0.05 × (1850.00 − 170.88 − 31.41)) = R(0.05 × 1647.71) = R(82.3855) = 82.39
    expected_h1 = {"claims": 6, "withheld_claims": 2, "suspect_claims": 1, "declared_total": 2050.00,
                   "withheld": 200.00, "declared": 1850.00, "audited": 1679.12, "violation_fees": 170.88,
                   "penalties": 31.41, "deposit_ratio": 0.05, "deposit": 82.39, "paid": 1565.32}
    # H2 settles C201, C203 (C202 withheld): declared 80.12 + 10.05 = 90.17; fees 0.05;
    # penalty C203 R(0.05 × 0.3) = R(0.015) = 0.02 (1.5 fen rounds up); deposit R(0.05 × 90.10)
    # = R(4.505) = 4.51 (half up); paid 90.10 − 4.51 = 85.59
    expected_h2 = {"claims": 3, "withheld_claims": 1, "suspect_claims": 0, "declared_total": 135.17,
                   "withheld": 45.00, "declared": 90.17, "audited": 90.12, "violation_fees": 0.05,
                   "penalties": 0.02, "deposit_ratio": 0.05, "deposit": 4.51, "paid": 85.59}
    for row, expected in ((h1, expected_h1), (h2, expected_h2)):
        assert {k: row[k] for k in expected} == pytest.approx(expected, abs=1e-9)


def test_claim_deductions_and_by_code_allocation(result):
    s = settle(result, period="2025-05")
    claims = by(s.claims, "mdtrt_id")
    assert sorted(claims) == ["C101", "C102", "C103", "C104", "C105", "C106", "C201", "C202", "C203"]
    assert claims["C105"]["decision"] == "rejected" and claims["C105"]["declared"] == 0
    assert (claims["C101"]["violation_fee"], claims["C101"]["penalty"]) == (137.45, 24.74)
    assert (claims["C106"]["status"], claims["C106"]["violation_fee"], claims["C106"]["penalty"]) == ("withheld", 0, 0)
    codes = {k: (r["violation_fee"], r["penalty"]) for k, r in by(s.claim_codes, "mdtrt_id", "code").items()}
    assert codes == {
        # 137.45 × 60/100 = 82.47, × 40/100 = 54.98; the penalty all to QTY_DAY (GENDER's rate is 0)
        ("C101", "GENDER"): (54.98, 0), ("C101", "QTY_DAY"): (82.47, 24.74),
        # 10 fen over three equal parts: 3 each, the fen left over to the first code (AGE)
        ("C102", "AGE"): (0.04, 0), ("C102", "LEVEL"): (0.03, 0), ("C102", "SETTING"): (0.03, 0),
        # 33.33 × 20/30 = 22.22, × 10/30 = 11.11
        ("C103", "BED_DAYS"): (22.22, 6.67), ("C103", "INDICATION"): (11.11, 0),
        ("C203", "QTY_DAY"): (0.05, 0.02)}
    by_code = {k: (r["claims"], r["violation_fee"], r["penalty"], r["deduction"])
               for k, r in by(s.by_code, "institution_id", "code").items()}
    assert by_code[("H1", "QTY_DAY")] == (1, 82.47, 24.74, 107.21)  # C106's QTY_DAY is withheld, not counted
    assert sum(v[3] for k, v in by_code.items() if k[0] == "H1") == pytest.approx(170.88 + 31.41)
    assert s.suspects[["institution_id", "mdtrt_id", "code", "title"]].values.tolist() == [
        ["H1", "C104", "SPLIT_ADMISSION", "疑似分解住院"]]


def test_data_incorrect_and_unknown_institution(result):
    s = settle(result, period="2025-05")
    rows = {r["mdtrt_id"]: r for _, r in s.data_incorrect.iterrows()}
    assert sorted(rows) == ["C106", "C202", "R2"]
    assert rows["C106"]["declared"] == 200.00 and "1 line dated outside the stay 2025-05-03 – 2025-05-08" \
        in rows["C106"]["reason"] and "L2 on 2025-05-12" in rows["C106"]["reason"]
    assert "discharge 2025-05-07 is before admission 2025-05-09" in rows["C202"]["reason"]
    # C202's line (2025-05-08) lies between its dates, so the reversed stay is its only problem
    assert "outside the stay" not in rows["C202"]["reason"]
    assert (rows["R2"]["institution_id"], bool(rows["R2"]["scored"])) == ("H1", False)
    assert np.isnan(rows["R2"]["declared"]) and rows["R2"]["reason"].startswith("not scored: ")
    # R3 is March's (its source row says so); R4's source is gone: institution and month unknown
    unknown = by(s.unknown_institution, "mdtrt_id")
    assert sorted(unknown) == ["R1", "R4"]
    assert unknown["R1"]["institution_id"] == "H9"
    assert unknown["R4"]["institution_id"] == "" and "source row not found" in unknown["R4"]["reason"]


def test_largest_remainder_by_hand():
    # 100 fen over weights 1, 1, 1 → 34, 33, 33; 7 fen over 2, 1 → 4.67, 2.33 → 5, 2;
    # a weight-less group with a zero total gets nothing
    shares = largest_remainder(np.array([100, 100, 100, 7, 7, 0]), np.array([1, 1, 1, 2, 1, 0]),
                               np.array([0, 0, 0, 1, 1, 2]))
    assert shares.tolist() == [34, 33, 33, 5, 2, 0]
    # remainders decide before order: 10 over 3, 3, 4 → 3, 3, 4 exactly; 5 over 1, 2, 2 → 1, 2, 2
    assert largest_remainder(np.array([10] * 3 + [5] * 3), np.array([3, 3, 4, 1, 2, 2]),
                             np.array([0, 0, 0, 1, 1, 1])).tolist() == [3, 3, 4, 1, 2, 2]
    # 1 fen over 1, 3 → remainders 1, 3 → the larger remainder (second row) takes it
    assert largest_remainder(np.array([1, 1]), np.array([1, 3]), np.array([0, 0])).tolist() == [0, 1]
    # products beyond 2^63 stay exact: 10^10 fen × weights of 10^12
    big = largest_remainder(np.array([10**10, 10**10]), np.array([10**12, 2 * 10**12]), np.array([0, 0]))
    assert big.tolist() == [3_333_333_333, 6_666_666_667]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_folder_in_written_out_verified(tmp_path, source_dir, fmt):
    r = score_output(source_dir)
    scored = tmp_path / "scored"
    write_scored(r, scored, fmt)
    s = settle(scored, period="2025-05", institutions=source_dir / "institutions.csv")
    assert s.statements["paid"].tolist() == [1565.32, 85.59]
    out = tmp_path / "st"
    write_settlement(s, out, fmt)
    assert verify_folder(out) == []
    again = tmp_path / "again"
    write_settlement(settle(scored, period="2025-05"), again, fmt)
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for f in files:  # byte-identical outputs for the same input
        assert hashlib.sha256((out / f).read_bytes()).digest() == hashlib.sha256((again / f).read_bytes()).digest(), f


def tamper(out: Path, table: str, mdtrt_or_inst: str, column: str, value: float | str) -> None:
    path = out / f"{table}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    key = "mdtrt_id" if "mdtrt_id" in frame.columns else "institution_id"
    frame.loc[frame[key] == mdtrt_or_inst, column] = value if isinstance(value, str) else f"{value:.2f}"
    frame.to_csv(path, index=False)


def reseal(out: Path) -> None:
    """Rewrite the manifest to match the files, as someone covering up an edit would."""
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    manifest["files"] = {rel: hashlib.sha256((out / rel).read_bytes()).hexdigest() for rel in manifest["files"]}
    (out / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(settle_command)
    return app


def test_verify_finds_tampering(tmp_path, result):
    out = tmp_path / "st"
    write_settlement(settle(result, period="2025-05"), out, "csv")
    assert CliRunner().invoke(cli(), ["--verify", str(out)]).exit_code == 0
    tamper(out, "claims", "C101", "penalty", 24.75)
    tamper(out, "statements", "H2", "paid", 85.60)
    run = CliRunner().invoke(cli(), ["--verify", str(out)])
    # the files no longer match their manifest: refused before any arithmetic (exit 2 from `yibao`)
    assert isinstance(run.exception, InputError) and "claims.csv: does not match its manifest" in str(run.exception)
    reseal(out)
    run = CliRunner().invoke(cli(), ["--verify", str(out)])
    assert run.exit_code == 1
    lines = run.stderr.splitlines()
    assert "claims C101: penalty (from claim_codes) 24.75 ≠ 24.74" in lines
    assert "statements H1: penalties 31.41 ≠ 31.42" in lines
    assert "statements H2: paid 85.60 ≠ 85.59" in lines


def test_verify_checks_the_scored_claims_it_names(tmp_path, result):
    """A settlement that reconciles with itself but was paid from fewer claims than its score
    folder holds (the half-written folder of issue 12) is caught against that folder."""
    scored, out = tmp_path / "scored", tmp_path / "st"
    write_scored(result, scored, "csv")
    write_settlement(settle(scored, period="2025-05"), out, "csv")
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["scored"] == {"folder": str(scored.resolve()),
                                  "manifest_sha256": hashlib.sha256((scored / MANIFEST).read_bytes()).hexdigest()}
    assert manifest["period"] == "2025-05" and manifest["tariffs"] == [TARIFF]
    assert manifest["input_digest"] == manifest["scored"]["manifest_sha256"]
    assert verify_folder(out) == []

    short = SimpleNamespace(**vars(result) | {"claims": result.claims[result.claims["mdtrt_id"] != "C201"]})
    write_settlement(settle(short, period="2025-05"), tmp_path / "short", "csv")
    assert verify_folder(tmp_path / "short") == []  # consistent in itself
    for rel in json.loads((out / MANIFEST).read_text(encoding="utf-8"))["files"]:  # tables, workbook, pages
        (out / rel).write_bytes((tmp_path / "short" / rel).read_bytes())
    reseal(out)
    lines = verify_folder(out)
    assert "claims C201: not in claims, but in the scored claims" in lines
    assert "statements H2: declared (from the scored claims) 10.05 ≠ 90.17" in lines  # C201 80.12 + C203 10.05
    assert "statements H2: paid (from the scored claims) 9.48 ≠ 85.59" in lines
    assert "statements H2: claims 2 ≠ 3 (from the scored claims)" in lines

    write_scored(result, tmp_path / "scored2", "parquet")  # the score folder written again since
    (scored / MANIFEST).unlink()
    (tmp_path / "scored2").rename(tmp_path / "gone")
    lines = verify_folder(out)
    assert len(lines) == 1 and "scored folder:" in lines[0] and "has no manifest.json" in lines[0]
    scored.rename(tmp_path / "old")
    (tmp_path / "gone").rename(scored)
    assert verify_folder(out) == [f"scored folder {scored.resolve()}: rewritten since this settlement "
                                  f"(its manifest differs)"]


def test_workbook_one_sheet_per_institution(tmp_path, result):
    write_settlement(settle(result, period="2025-05"), tmp_path / "st", "csv")
    book = load_workbook(tmp_path / "st" / "settlement.xlsx")
    assert book.sheetnames == ["汇总", "H1", "H2"]
    sheet = book["H1"]
    values = {row[0].value: row[1] for row in sheet.iter_rows(min_row=1, max_col=2) if row[0].value}
    assert values["本期拨付金额"].value == 1565.32 and values["本期拨付金额"].number_format == "#,##0.00"
    assert values["预留质量保证金"].value == 82.39 and values["机构名称"].value == "县人民医院"
    # the claims table: label above field name, a filter, days as dates, its header on every printed page
    head = next(r for r in sheet.iter_rows(min_row=1, max_col=1) if r[0].value == "就诊ID\nmdtrt_id")[0].row
    fields = [c.value.split("\n")[-1] for c in sheet[head]]
    assert sheet.auto_filter.ref.startswith(f"A{head}:")
    assert sheet.print_title_rows == f"${head}:${head}"
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToHeight == 0  # width: 1 page
    admit = sheet.cell(head + 1, fields.index("admit_date") + 1)
    assert admit.is_date and admit.number_format == "yyyy-mm-dd"
    summary = book["汇总"]
    assert summary.freeze_panes is not None and summary.auto_filter.ref


def test_html_statement(tmp_path, result):
    write_settlement(settle(result, period="2025-05"), tmp_path / "st", "csv")
    page = (tmp_path / "st" / "html" / "H1.html").read_text(encoding="utf-8")
    for text in ("县人民医院", "2025-05", "1,850.00", "170.88", "31.41", "82.39", "1,565.32", "<svg",
                 "QTY_DAY", "疑似分解住院", "dated outside the stay"):
        assert text in page
    assert "<script" not in page and "src=" not in page and "<link" not in page
    index = (tmp_path / "st" / "html" / "index.html").read_text(encoding="utf-8")
    assert 'href="H1.html"' in index and "R4" in index and "1,650.91" in index  # 1565.32 + 85.59


def test_unusable_input(tmp_path, result):
    with pytest.raises(InputError, match="period"):
        settle(result, period="2025-13")
    for period in ("1899-12", "9999-12"):  # 9999-12 was settled, an empty month
        with pytest.raises(InputError, match=rf"^--period '{period}': not a month from 1900-01 to 2200-12$"):
            settle(result, period=period)
    with pytest.raises(InputError, match="not a folder"):
        settle(tmp_path / "nothing", period="2025-05")
    folder = tmp_path / "scored"
    write_scored(SimpleNamespace(**vars(result) | {"claims": result.claims.drop(columns="hosp_part_amt")}),
                 folder, "csv")
    with pytest.raises(InputError, match="column hosp_part_amt"):
        settle(folder, period="2025-05")
    (folder / "lines.csv").unlink()
    with pytest.raises(InputError, match="lines.csv: listed in manifest.json but missing"):
        settle(folder, period="2025-05")


def test_month_without_claims(tmp_path, result):
    s = settle(result, period="2025-01")
    assert s.statements.empty and s.claims.empty and s.data_incorrect.empty
    assert s.unknown_institution["mdtrt_id"].tolist() == ["R4"]  # month unknown: listed every month
    write_settlement(s, tmp_path / "st", "parquet")
    assert verify_folder(tmp_path / "st") == []
    assert load_workbook(tmp_path / "st" / "settlement.xlsx").sheetnames == ["汇总"]


def test_api_and_command_line(tmp_path, result, monkeypatch, capsys):
    import yibao
    from yibao.cli.app import main

    assert yibao.settle(result, period="2025-05").statements["paid"].tolist() == [1565.32, 85.59]
    monkeypatch.setattr("sys.argv", ["yibao", "settle", str(tmp_path / "nothing"), "--period", "2025-05",
                                     "--out", str(tmp_path / "st")])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a folder" in err and "Traceback" not in err


def with_claims(result: SimpleNamespace, claims: pd.DataFrame) -> SimpleNamespace:
    return SimpleNamespace(**vars(result) | {"claims": claims.reset_index(drop=True)})


@pytest.mark.parametrize("edit, message", [
    # a fund amount beyond int64 fen was a payment of about −9.2e16 yuan, with exit 0
    (lambda c: c.assign(fund_pay_sumamt=np.where(c["mdtrt_id"] == "C102", 1e17, c["fund_pay_sumamt"])),
     r"row 3, column fund_pay_sumamt: 1e\+17 is beyond 4,611,686,018,427 yuan"),
    (lambda c: c.assign(declared_fund_pay_sumamt=np.where(c["mdtrt_id"] == "C103", -500.0,
                                                          c["declared_fund_pay_sumamt"])),
     "row 4, column declared_fund_pay_sumamt: -500.0 is negative"),
    (lambda c: c.assign(violation_amt=4e12), "violation_amt: the amounts add up beyond 4,611,686,018,427 yuan"),
    # a claim twice, or without an id, was a traceback (InvalidIndexError)
    (lambda c: pd.concat([c, c.iloc[[1]]]), "row 13, column mdtrt_id: claim C102 is in rows 3 and 13"),
    (lambda c: c.assign(mdtrt_id=np.where(c["mdtrt_id"] == "C104", "", c["mdtrt_id"])),
     "row 5, column mdtrt_id: a claim without its mdtrt_id"),
])
def test_a_score_output_no_scorer_writes_is_refused(result, edit, message):
    """What only a hand can put in a score folder (and reseal its manifest over): settlement
    keys on the claim id and adds the amounts up in int64 fen."""
    with pytest.raises(InputError, match=message):
        settle(with_claims(result, edit(result.claims)), period="2025-05")


def test_institution_ids_that_differ_in_case_get_a_sheet_and_a_page_each(tmp_path, result):
    """Excel's sheet names (and the files of Windows and macOS) ignore case: H1 and h1 were one
    sheet name, and the workbook a traceback."""
    claims = result.claims.assign(institution_id=result.claims["institution_id"].replace({"H2": "h1"}))
    write_settlement(settle(with_claims(result, claims), period="2025-05"), tmp_path / "st", "csv")
    assert load_workbook(tmp_path / "st" / "settlement.xlsx").sheetnames == ["汇总", "H1", "h1~2"]
    assert {p.name for p in (tmp_path / "st" / "html").iterdir()} == {"index.html", "H1.html", "h1~2.html"}
    assert verify_folder(tmp_path / "st") == []


def test_an_institution_named_like_the_summary_or_a_reserved_name_gets_one_safe_name(tmp_path, result):
    """An institution "index" wrote its statement over html/index.html (every statement), and
    --verify passed; one named 汇总 was the summary sheet's name twice. "History" was a sheet
    Excel repairs away, ".." the hidden file html/...html, CON and nul.txt files Windows cannot
    create; and INDEX / 汇总 had sheet INDEX / page INDEX~2.html, sheet 汇总~2 / page 汇总.html."""
    ids = {"C101": "History", "C102": "..", "C103": "CON", "C104": "nul.txt", "C201": "INDEX", "C203": "汇总"}
    claims = result.claims.assign(institution_id=result.claims["mdtrt_id"].map(ids).fillna(result.claims["institution_id"]))
    write_settlement(settle(with_claims(result, claims), period="2025-05"), tmp_path / "st", "csv")
    names = ["_..", "_CON", "H1", "H2", "History~2", "INDEX~2", "_nul.txt", "汇总~2"]  # in institution order
    assert load_workbook(tmp_path / "st" / "settlement.xlsx").sheetnames == ["汇总"] + names
    pages = tmp_path / "st" / "html"
    assert sorted(p.name for p in pages.iterdir()) == sorted(["index.html"] + [f"{n}.html" for n in names])
    assert "汇总" in (pages / "index.html").read_text(encoding="utf-8").split("</title>")[0]
    assert verify_folder(tmp_path / "st") == []


def test_an_unreadable_date_is_written_as_text_in_the_workbook(tmp_path, result):
    """The claim is withheld for its date (data incorrect), and listed with it as written."""
    claims = result.claims.assign(discharge_date=result.claims["discharge_date"].replace({"2025-05-09": "2025-05-32"}))
    settlement = settle(with_claims(result, claims), period="2025-05")
    reason = settlement.data_incorrect.set_index("mdtrt_id").loc["C101", "reason"]
    assert "no readable discharge date ('2025-05-32')" in reason
    write_settlement(settlement, tmp_path / "st", "csv")
    cells = [c.value for row in load_workbook(tmp_path / "st" / "settlement.xlsx")["H1"].iter_rows() for c in row]
    assert "2025-05-32" in cells


@pytest.mark.parametrize("period", ["２０２５-０５", "٢٠٢٥-٠٥"])
def test_a_period_in_other_digits_is_refused_in_one_line(result, period):
    with pytest.raises(InputError, match="give a month as YYYY-MM"):
        settle(result, period=period)


@pytest.mark.parametrize("scored, period, line", [
    ("x", "2025-05", "manifest: 'scored' is not the score folder's path and manifest sha256"),
    ({"folder": 5, "manifest_sha256": "0"}, "2025-05", "manifest: 'scored' is not the score folder's path"),
    (None, "２０２５-０５", "manifest: period '２０２５-０５' is not a month YYYY-MM"),
])
def test_verify_reads_a_hand_edited_manifest_without_a_traceback(tmp_path, result, scored, period, line):
    folder, out = tmp_path / "scored", tmp_path / "st"
    write_scored(result, folder, "csv")
    write_settlement(settle(folder, period="2025-05"), out, "csv")
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    manifest |= {"period": period} | ({"scored": scored} if scored is not None else {})
    (out / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    assert any(found.startswith(line) for found in verify_folder(out)), verify_folder(out)


def test_an_institution_given_two_names_is_named_by_its_id(tmp_path, result, source_dir):
    """Neither name can be told to be its own (the scorer rejected both rows)."""
    table = tmp_path / "institutions.csv"
    table.write_text(INSTITUTIONS + "H2,另一个名字,hospital,1,false,true,active\n", encoding="utf-8")
    named = settle(result, period="2025-05", institutions=table).statements.set_index("institution_id")["name"]
    assert named.to_dict() == {"H1": "县人民医院", "H2": "H2"}


@pytest.mark.parametrize("header, says", [
    ("institution_id,Name", "column Name: not a field of institutions, but close to name: rename it name"),
    ("institution_id,name,NAME", "column NAME: not a field of institutions, but close to name, which the header also names"),
])
def test_an_institutions_table_with_a_misspelt_name_column_is_refused(tmp_path, result, header, says):
    """`Name` was ignored: every payee was named by its id on the statements."""
    table = tmp_path / "institutions.csv"
    table.write_text(f"{header}\nH1,县人民医院{',x' * header.count('NAME')}\n", encoding="utf-8")
    with pytest.raises(InputError, match=f"^{table}, {says}"):
        settle(result, period="2025-05", institutions=table)


def test_institutions_from_a_batch_workbook_are_read_from_its_sheet(tmp_path, result):
    """A batch may be one workbook, a sheet per table; --institutions BATCH.xlsx read its first
    sheet: persons first, "missing column institution_id"; claims first, every payee its id."""
    book = tmp_path / "batch.xlsx"
    with pd.ExcelWriter(book) as sheets:
        pd.DataFrame({"mdtrt_id": ["C1"], "institution_id": ["H1"]}).to_excel(sheets, sheet_name="claims", index=False)
        pd.DataFrame({"institution_id": ["H1", "H2"], "name": ["县人民医院", "城关镇卫生院"]}).to_excel(
            sheets, sheet_name="institutions", index=False)
    named = settle(result, period="2025-05", institutions=book).statements.set_index("institution_id")["name"]
    assert named.to_dict() == {"H1": "县人民医院", "H2": "城关镇卫生院"}


def test_a_claim_scored_under_no_tariff_is_listed_at_zero(result):
    """A re-sent claim the ledger refused as DUPLICATE_CLAIM is scored under no tariff version
    (tariff ""): its month was refused whole ("unknown tariff ''")."""
    claims = result.claims.assign(tariff=np.where(result.claims["mdtrt_id"] == "C105", "", result.claims["tariff"]))
    settlement = settle(with_claims(result, claims), period="2025-05")
    line = settlement.claims.set_index("mdtrt_id").loc["C105"]
    assert line["status"] == "settled" and line["declared"] == line["audited"] == 0
    assert settlement.statements["paid"].tolist() == [1565.32, 85.59]  # as in test_api_and_command_line


def forge(scored: Path, period: str, out: Path, reversals: list[tuple[str, str, int]],
          ledger: str | None = None) -> None:
    """A settlement of `scored` with reversal lines (institution, claim, fen taken back) no ledger
    gave, its statements computed with them and sealed as `settle` writes one, naming `ledger` in
    its manifest: a forger's."""
    taken = pd.DataFrame(reversals, columns=["institution_id", "mdtrt_id", "audited_fen"]).assign(
        psn_no="", med_type="", admit_date="", discharge_date="", this_month_fen=0)
    write_settlement(settle_scored(read_scored(scored), parse_period(period), taken), out, "csv")
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    (out / MANIFEST).write_text(json.dumps(manifest | {"ledger": ledger}), encoding="utf-8")


def test_verify_refuses_a_forged_positive_reversal_line(tmp_path, result):
    """A line C201/冲正 of declared = audited = +1,000.00 paid H2 1,035.59 instead of 85.59, and
    --verify settled the score folder again with the line as written: exit 0."""
    scored, out = tmp_path / "scored", tmp_path / "st"
    write_scored(result, scored, "csv")
    forge(scored, "2025-05", out, [("H2", "C201", -100_000)])
    assert pd.read_csv(out / "statements.csv").set_index("institution_id").at["H2", "paid"] == 1035.59
    run = CliRunner().invoke(cli(), ["--verify", str(out)])
    assert run.exit_code == 1
    lines = run.stderr.splitlines()
    assert "claims C201/冲正: a reversal line (冲正) in a settlement made without a ledger" in lines
    assert "statements H2: paid (from the scored claims) 1035.59 ≠ 85.59" in lines
    # with a ledger named (one that cannot be read), a line must still take money back
    forge(scored, "2025-05", tmp_path / "named", [("H2", "C201", -100_000)], ledger=str(tmp_path / "gone.db"))
    report = verify_report(tmp_path / "named")
    assert "claims C201/冲正: audited 1000.00 is not negative: a reversal line (冲正) takes money back" in report.lines
    assert "statements H2: paid (from the scored claims) 1035.59 ≠ 85.59" in report.lines
    assert report.notices == [f"reversal lines (冲正) and the month's batches not checked against the ledger: "
                              f"no ledger at {tmp_path / 'gone.db'} (yibao score --ledger creates one)",
                              "settled with the ledger from score folders that name no ledger batch (written "
                              "before they did): its claims are checked as then, picked by discharge date"]


def test_verify_finds_edits_of_the_period_the_payee_the_pages_and_the_workbook(tmp_path, result):
    """Each edit below, the manifest sealed again, passed --verify: the period and name columns
    were never read, and the pages and the workbook people read were never compared."""
    scored, out = tmp_path / "scored", tmp_path / "st"
    write_scored(result, scored, "csv")
    write_settlement(settle(scored, period="2025-05"), out, "csv")
    pristine = {rel: (out / rel).read_bytes() for rel in json.loads((out / MANIFEST).read_text())["files"]}

    def edited(edit) -> list[str]:
        for name, data in pristine.items():
            (out / name).write_bytes(data)
        edit()
        reseal(out)
        return verify_folder(out)

    lines = edited(lambda: tamper(out, "statements", "H2", "period", "2025-06"))
    assert "statements: period '2025-06' in 1 of 2 rows, not the manifest's 2025-05" in lines
    assert edited(lambda: tamper(out, "claims", "C201", "period", "2025-04")) == [
        "claims: period '2025-04' in 1 of 9 rows, not the manifest's 2025-05"]
    assert edited(lambda: tamper(out, "statements", "H2", "name", "某某公司")) == [
        "html/H2.html: differs from what the tables give (edited?)",
        "html/index.html: differs from what the tables give (edited?)",
        "settlement.xlsx: differs from what the tables give (edited?)"]
    page = out / "html" / "H2.html"
    assert edited(lambda: page.write_text(page.read_text(encoding="utf-8").replace("85.59", "850.59"),
                                          encoding="utf-8")) == [
        "html/H2.html: differs from what the tables give (edited?)"]

    def sheet() -> None:
        book = load_workbook(out / "settlement.xlsx")
        next(r for r in book["H2"].iter_rows() if r[0].value == "本期拨付金额")[1].value = 850.59
        book.save(out / "settlement.xlsx")
    assert edited(sheet) == ["settlement.xlsx: differs from what the tables give (edited?)"]


def test_verify_says_when_no_score_folder_was_checked(tmp_path, result):
    """A settlement from a `Result` in memory (or whose manifest lost its `scored` entry) is
    checked against itself only: a notice says so, and the exit code stays 0."""
    out = tmp_path / "st"
    write_settlement(settle(result, period="2025-05"), out, "csv")
    run = CliRunner().invoke(cli(), ["--verify", str(out)])
    assert run.exit_code == 0
    assert run.stderr.splitlines() == ["not checked against a score folder: the manifest names none (settled "
                                       "from a Result in memory); the claims are checked against each other only"]
    assert verify_folder(out) == []


def test_institutions_table_ids_trimmed_blank_names_fall_back_and_long_names_wrap(tmp_path, result):
    """" H1 " named nobody (ids are trimmed, docs/tables.md), a name of spaces was printed as
    the payee, and an unbroken long name pushed the index and the statement past A4 (checked in
    headless Chromium at 794 px: the id and period left the page; now the name wraps)."""
    table = tmp_path / "institutions.csv"
    table.write_text("institution_id,name\n H1 ,县人民医院" + "X" * 150 + "\nH2,   \n", encoding="utf-8")
    s = settle(result, period="2025-05", institutions=table)
    assert s.statements["name"].tolist() == ["县人民医院" + "X" * 150, "H2"]
    write_settlement(s, tmp_path / "st", "csv")
    for page in ("index", "H1"):
        css = (tmp_path / "st" / "html" / f"{page}.html").read_text(encoding="utf-8")
        assert "td.w { white-space: normal; overflow-wrap: anywhere; }" in css  # the names' cells
        assert ".meta span:first-child { white-space: normal; min-width: 0; overflow-wrap: anywhere; }" in css


@pytest.mark.parametrize("name", ['=HYPERLINK("http://evil/","click")', "+1", "-1", "@SUM(A1)", "'=quoted"])
def test_a_name_a_spreadsheet_would_run_is_quoted_in_csv(tmp_path, result, name):
    """statements.csv carried the name as written, and a spreadsheet opening it ran the formula
    (the workbook stores it as text). Now it starts with "'"; --verify reads it back exactly."""
    table = tmp_path / "institutions.csv"
    pd.DataFrame({"institution_id": ["H1", "H2"], "name": [name, "城关镇卫生院"]}).to_csv(table, index=False)
    s = settle(result, period="2025-05", institutions=table)
    write_settlement(s, tmp_path / "st", "csv")
    names = pd.read_csv(tmp_path / "st" / "statements.csv", dtype=str, keep_default_na=False)["name"]
    assert names.tolist() == ["'" + name, "城关镇卫生院"]
    assert verify_folder(tmp_path / "st") == []
    book = load_workbook(tmp_path / "st" / "settlement.xlsx")
    assert next(r for r in book["H1"].iter_rows() if r[0].value == "机构名称")[1].value == name


def test_a_name_longer_than_a_cell_is_cut_with_a_mark_in_the_workbook_only(tmp_path, result):
    """XlsxWriter cut a text at 32,767 characters without a word (write_string's -2 was dropped):
    the statement an examiner signs named the institution by a name whose end was gone. Now the
    cell says it is cut and how long the name is; the tables and the pages keep it whole."""
    name = "县人民医院" + "甲" * 39_995  # 40,000 characters
    table = tmp_path / "institutions.csv"
    pd.DataFrame({"institution_id": ["H1", "H2"], "name": [name, "城关镇卫生院"]}).to_csv(table, index=False)
    write_settlement(settle(result, period="2025-05", institutions=table), tmp_path / "st", "csv")
    mark = "…(共 40,000 字，已截断)"
    book = load_workbook(tmp_path / "st" / "settlement.xlsx")
    cell = next(r for r in book["H1"].iter_rows() if r[0].value == "机构名称")[1].value
    summary = [c.value for row in book["汇总"].iter_rows() for c in row if isinstance(c.value, str)]
    for shown in (cell, next(v for v in summary if v.startswith("县人民医院"))):
        assert len(shown) == 32_767 and shown == name[:32_767 - len(mark)] + mark
    statements = pd.read_csv(tmp_path / "st" / "statements.csv", dtype=str, keep_default_na=False)
    assert statements["name"].tolist() == [name, "城关镇卫生院"]
    assert name in (tmp_path / "st" / "html" / "H1.html").read_text(encoding="utf-8")
    assert verify_folder(tmp_path / "st") == []


@pytest.mark.parametrize("write", [
    lambda frame, path: frame,  # a job's frame: ids from a database column holding a NULL
    lambda frame, path: frame.to_parquet(path.with_suffix(".parquet"), index=False) or path.with_suffix(".parquet"),
    # a job's frame of few distinct ids, kept as categories (`astype("category")`, pd.read_parquet of
    # a dictionary column): read as "101.0" after floats were not, where the scorer reads 101
    lambda frame, path: frame.astype({"institution_id": "category", "name": "category"}),
], ids=["frame", "parquet", "categories"])
def test_institution_ids_stored_as_floats_are_read_as_the_scorer_reads_them(tmp_path, result, write):
    """Numeric ids in a column with an empty cell are floats (pandas, a Parquet file written from it,
    pd.read_excel): the scorer reads 101.0 as institution 101, settlement read it as "101.0" and
    named every payee by its id; so, later, for a categorical column of such floats."""
    result.claims["institution_id"] = result.claims["institution_id"].map({"H1": "101", "H2": "102"})
    table = pd.DataFrame({"institution_id": [101.0, 102.0, np.nan], "name": ["县人民医院", "城关镇卫生院", "无编号"]})
    s = settle(result, period="2025-05", institutions=write(table, tmp_path / "institutions"))
    named = s.statements.set_index("institution_id")["name"].to_dict()
    assert (named["101"], named["102"]) == ("县人民医院", "城关镇卫生院")  # were "101", "102"


def test_verify_finds_a_page_added_after_the_folder_was_written(tmp_path, result):
    """A statement page put into html/ after writing, the manifest left as it was, passed --verify
    ("every total reconciles"): the pages compared were only those the manifest lists. A page the
    finance office prints is one the tables must give; a hidden file (Finder's .DS_Store) is none."""
    out = tmp_path / "st"
    write_settlement(settle(result, period="2025-05"), out, "csv")
    forged = (out / "html" / "H2.html").read_text(encoding="utf-8").replace("H2", "H3")
    (out / "html" / "H3.html").write_text(forged, encoding="utf-8")
    (out / "html" / ".DS_Store").write_bytes(b"\0")
    assert verify_folder(out) == ["html/H3.html: not in manifest.json (added after the folder was written), "
                                  "and no table gives it"]
