"""Batch tables in and out (yibao/io.py): typed frames, rejects that name file/row/column,
whole claims rejected with their lines, and nothing lost.

Row numbers below are counted by hand in the CSV texts: the header is row 1.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.errors import InputError
from yibao.io import REJECT_COLUMNS, load_batch, normalize, read_batch, read_table, write_tables
from yibao.partition import score_partitioned
from yibao.tables import INPUT_TABLES, TABLES

BASE = {
    "persons": """\
psn_no,gender,birth_date,insutype,employee_status
P1,F,1980-01-02,390,
P2,M,1955-03-04,310,retired
P3,F,2015-07-08,390,
""",
    "statuses": """\
psn_no,kind,valid_from,valid_to
P1,dibao,2025-01-01,
""",
    "certifications": """\
psn_no,disease,valid_from,valid_to
P2,I10,2024-07-01,2026-06-30
""",
    "filings": """\
psn_no,kind,referral_kind,filed_date,target_institution,materials,third_party_liable
P1,referral,emergency,2025-05-08,H2,emergency_certificate,
""",
    "institutions": """\
institution_id,name,kind,level,out_of_area,networked,agreement
H1,样本县人民医院,hospital,2,false,true,active
H2,河南省人民医院,hospital,4,TRUE,Yes,active
""",
    "claims": """\
mdtrt_id,psn_no,kind,med_type,institution_id,admit_date,discharge_date,diagnoses,settlement_mode,submitted_date,materials,trauma
C1,P1,claim,21,H2,2025-05-06,2025-05-12,J18.9;I10,direct,2025-05-12,,false
C2,P2,claim,14,H1,2025-06-01,2025-06-01,I10,manual,2025-06-20,id_document;invoice,0
C3,P3,claim,11,H1,2025-07-01,2025-07-01,J06.9,direct,2025-07-01,,
A1,P2,chronic_application,,,,,E11,,2025-03-03,id_document,
""",
    "lines": """\
mdtrt_id,line_id,med_list_codg,service_date,pric,cnt,det_item_fee_sumamt,chrgitm_lv
C1,01,S-BED2,2025-05-06,30.00,6,,
C1,02,A-SALINE,2025-05-07,3.5,2,7.00,01
C2,01,B-CEFU,2025-06-01,3.20,30.5,,
C3,01,B-PAED,2025-07-01,1.80,10,,
C3,02,A-AMOX,2025-07-01,0.60,12,,
""",
}


def write_folder(folder: Path, changes: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (BASE | (changes or {})).items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def replace_line(table: str, row: int, new: str) -> dict[str, str]:
    """BASE[table] with spreadsheet row `row` (header = 1) replaced."""
    rows = BASE[table].splitlines()
    rows[row - 1] = new
    return {table: "\n".join(rows) + "\n"}


def rejects_of(tmp_path: Path, changes: dict[str, str]) -> tuple[pd.DataFrame, object]:
    batch, rejects = read_batch(write_folder(tmp_path, changes))
    assert list(rejects.columns) == REJECT_COLUMNS
    return rejects, batch


def reject_rows(rejects: pd.DataFrame) -> set[tuple[str, int, str]]:
    return {(t, int(r), c) for t, r, c in zip(rejects["table"], rejects["row"], rejects["column"])}


# --- clean input ---------------------------------------------------------------------------

def test_clean_batch_has_no_rejects_and_typed_columns(tmp_path: Path) -> None:
    batch, rejects = read_batch(write_folder(tmp_path))
    assert rejects.empty
    assert list(batch.claims.columns) == [c.name for c in TABLES["claims"]]
    lines = batch.lines
    assert lines["line_id"].tolist() == ["01", "02", "01", "01", "02"]  # zeros kept
    assert lines["pric"].tolist() == [30.0, 3.5, 3.2, 1.8, 0.6]
    assert lines["cnt"].tolist() == [6.0, 2.0, 30.5, 10.0, 12.0]
    assert np.isnan(lines["det_item_fee_sumamt"].iloc[0]) and lines["det_item_fee_sumamt"].iloc[1] == 7.0
    assert lines["chrgitm_lv"].tolist() == ["", "01", "", "", ""]
    assert lines["service_date"].dtype == "datetime64[ns]"
    assert lines["service_date"].iloc[0] == pd.Timestamp("2025-05-06")
    persons = batch.persons
    assert persons["insutype"].tolist() == ["390", "310", "390"]
    assert persons["employee_status"].tolist() == ["", "retired", ""]
    assert persons["waiting_period_until"].isna().all()
    inst = batch.institutions
    assert inst["level"].dtype == "Int64" and inst["level"].tolist() == [2, 4]
    assert inst["out_of_area"].tolist() == [False, True] and inst["networked"].tolist() == [True, True]
    claims = batch.claims
    assert claims["diagnoses"].iloc[0] == "J18.9;I10"
    assert claims["trauma"].dtype == "boolean"
    assert claims["trauma"].iloc[0] == False and claims["trauma"].iloc[1] == False  # noqa: E712
    assert claims["trauma"].isna().tolist() == [False, False, True, True]
    assert claims["admit_date"].isna().tolist() == [False, False, False, True]
    assert claims.index.tolist() == [0, 1, 2, 3]  # file positions: spreadsheet row − 2
    assert batch.enrolments.empty and list(batch.enrolments.columns) == ["psn_no", "valid_from", "valid_to"]
    assert batch.sources["claims"] == str(tmp_path / "claims.csv")


def test_whitespace_is_stripped(tmp_path: Path) -> None:
    changes = replace_line("lines", 2, " C1 , 01 ,S-BED2 , 2025-05-06 , 30.00 ,6,,")
    rejects, batch = rejects_of(tmp_path, changes)
    assert rejects.empty
    assert batch.lines.iloc[0][["mdtrt_id", "line_id", "med_list_codg"]].tolist() == ["C1", "01", "S-BED2"]
    assert batch.lines["pric"].iloc[0] == 30.0


def test_csv_and_parquet_round_trip_equal(tmp_path: Path) -> None:
    batch, _ = read_batch(write_folder(tmp_path / "in"))
    tables = {name: getattr(batch, name) for name in INPUT_TABLES}
    back = {}
    for fmt in ("csv", "parquet"):
        paths = write_tables(tables, tmp_path / fmt, fmt)
        assert [p.name for p in paths] == [f"{name}.{fmt}" for name in INPUT_TABLES]
        back[fmt], rejects = read_batch(tmp_path / fmt)
        assert rejects.empty
    for name in INPUT_TABLES:
        for fmt in ("csv", "parquet"):
            pd.testing.assert_frame_equal(getattr(back[fmt], name), tables[name], check_index_type=False)


def test_typed_parquet_reads_like_csv(tmp_path: Path) -> None:
    """Parquet written by another tool: real dates, numbers, booleans and a list column."""
    write_folder(tmp_path)
    (tmp_path / "institutions.csv").unlink()
    (tmp_path / "lines.csv").unlink()
    pq.write_table(pa.table({
        "institution_id": ["H1", "H2"], "name": ["样本县人民医院", "河南省人民医院"], "kind": ["hospital", "hospital"],
        "level": pa.array([2, 4], pa.int32()), "out_of_area": [False, True], "networked": [True, True],
        "agreement": ["active", "active"]}), tmp_path / "institutions.parquet")
    pq.write_table(pa.table({
        "mdtrt_id": ["C1", "C1", "C2", "C3", "C3"], "line_id": ["01", "02", "01", "01", "02"],
        "med_list_codg": pa.array(["S-BED2", "A-SALINE", "B-CEFU", "B-PAED", "A-AMOX"]).dictionary_encode(),
        "service_date": pa.array([dt.date(2025, 5, 6), dt.date(2025, 5, 7), dt.date(2025, 6, 1),
                                  dt.date(2025, 7, 1), dt.date(2025, 7, 1)]),
        "pric": [30.0, 3.5, 3.2, 1.8, 0.6], "cnt": [6, 2, 30.5, 10, 12],
        "det_item_fee_sumamt": [None, 7.0, None, None, None], "chrgitm_lv": [None, "01", None, None, None],
    }), tmp_path / "lines.parquet")
    typed, rejects = read_batch(tmp_path)
    assert rejects.empty
    text, _ = read_batch(write_folder(tmp_path / "csv"))
    pd.testing.assert_frame_equal(typed.lines, text.lines)
    pd.testing.assert_frame_equal(typed.institutions, text.institutions)


def test_normalize_in_memory_tables_absent_tables_empty() -> None:
    claims = pd.DataFrame({"mdtrt_id": ["A1"], "psn_no": ["P1"], "kind": ["chronic_application"]})
    persons = pd.DataFrame({"psn_no": ["P1"], "gender": ["M"], "birth_date": [pd.Timestamp("1970-06-15")],
                            "insutype": [390]})
    batch, rejects = normalize({"claims": claims, "persons": persons},
                               {"claims": "<claims>", "persons": "<persons>"})
    assert rejects.empty
    assert batch.persons["insutype"].tolist() == ["390"]  # a number in a text column reads as its text
    assert batch.lines.empty and list(batch.lines.columns) == [c.name for c in TABLES["lines"]]
    assert batch.lines["pric"].dtype == np.float64
    assert batch.claims["med_type"].tolist() == [""]


def test_read_accumulators(tmp_path: Path) -> None:
    path = tmp_path / "acc.csv"
    path.write_text("psn_no,year,hifp_paid,inpatient_admissions,chronic_paid\n"
                    "P1,2025,1200.50,1,E11=2950.00;I10=100.00\n"
                    "P2,2025,12.345,,\n", encoding="utf-8")
    batch, rejects = load_batch(write_folder(tmp_path / "in"), path)
    frame = batch.accumulators
    assert frame["psn_no"].tolist() == ["P1"]
    assert frame["year"].tolist() == [2025] and frame["hifp_paid"].tolist() == [1200.5]
    assert frame["chronic_paid"].iloc[0] == "E11=2950.00;I10=100.00"
    assert ("accumulators", 3, "hifp_paid") in reject_rows(rejects)
    assert rejects.loc[rejects["table"] == "accumulators", "file"].tolist() == [str(path)]
    # a person whose accumulators were rejected is not scored from zero: they and their claims wait
    assert ("persons", 3, "") in reject_rows(rejects)
    assert "P2" not in set(batch.claims["psn_no"]) and "P2" not in set(batch.persons["psn_no"])


def test_chronic_payments_are_amounts(tmp_path: Path) -> None:
    """Each `DISEASE=yuan` item of `chronic_paid` is held to a money cell's rules; spaces around
    items and amounts are allowed, as scoring reads them."""
    path = tmp_path / "acc.csv"
    path.write_text("psn_no,year,chronic_paid\n"
                    "P1,2025, E11 = 2950.00 ;I10=100;\n"
                    "P2,2025,E11=abc\n"
                    "P3,2025,I10=3.205;E11=1\n"
                    "P1,2024,=12.00\n"
                    "P2,2024,E11=-1\n"
                    "P3,2024,E11 12.00\n", encoding="utf-8")
    _, rejects = load_batch(write_folder(tmp_path / "in"), path)
    acc = rejects[rejects["table"] == "accumulators"]
    assert list(zip(acc["row"], acc["reason"])) == [
        (3, "'E11=abc': not CODE=yuan;… (as E11=2950.00;I10=120.50)"),
        (4, "'I10=3.205;E11=1': more than 2 decimals"),
        (5, "'=12.00': not CODE=yuan;… (as E11=2950.00;I10=120.50)"),
        (6, "'E11=-1': must be at least 0"),
        (7, "'E11 12.00': not CODE=yuan;… (as E11=2950.00;I10=120.50)")]


def test_a_missing_year_is_no_other_persons_year(tmp_path: Path) -> None:
    # out of order, so the keys are coded: the second person's missing year (P3) must not meet
    # the first person's year (P1) where the codes of person and year are combined
    path = tmp_path / "acc.csv"
    path.write_text("psn_no,year,hifp_paid\nP1,2025,1.00\nP3,,2.00\nP2,2025,3.00\n", encoding="utf-8")
    batch, rejects = load_batch(write_folder(tmp_path / "in"), path)
    assert not rejects["reason"].str.startswith("duplicate").any()
    assert ("accumulators", 3, "year") in reject_rows(rejects)
    assert batch.accumulators["psn_no"].tolist() == ["P1", "P2"]


def test_gb18030_csv(tmp_path: Path) -> None:
    write_folder(tmp_path)
    (tmp_path / "institutions.csv").write_bytes(BASE["institutions"].encode("gb18030"))
    batch, rejects = read_batch(tmp_path)
    assert rejects.empty
    assert batch.institutions["name"].tolist() == ["样本县人民医院", "河南省人民医院"]


def test_dates_as_people_type_them(tmp_path: Path) -> None:
    """YYYY/M/D (Excel on Chinese Windows) and YYYYMMDD (system exports) read as ISO does."""
    rows = BASE["lines"].splitlines()
    rows[1] = rows[1].replace("2025-05-06", "2025/5/6")
    rows[2] = rows[2].replace("2025-05-07", "20250507")
    batch, rejects = read_batch(write_folder(tmp_path, {"lines": "\n".join(rows) + "\n"}))
    assert rejects.empty
    assert batch.lines["service_date"].iloc[:2].tolist() == [pd.Timestamp("2025-05-06"), pd.Timestamp("2025-05-07")]


def test_utf8_bom_csv(tmp_path: Path) -> None:
    write_folder(tmp_path)
    (tmp_path / "institutions.csv").write_bytes(b"\xef\xbb\xbf" + BASE["institutions"].encode("utf-8"))
    batch, rejects = read_batch(tmp_path)
    assert rejects.empty and batch.institutions["institution_id"].tolist() == ["H1", "H2"]


def write_workbook(path: Path, typed: dict[tuple[str, int, str], object]) -> Path:
    """BASE as one workbook, a sheet per table, every cell text but those in `typed`
    ((table, spreadsheet row, column) → a number, boolean or date cell as Excel keeps it)."""
    import csv
    import io

    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    day = book.add_format({"num_format": "yyyy/m/d"})
    for name, text in BASE.items():
        sheet = book.add_worksheet(name)
        rows = list(csv.reader(io.StringIO(text)))
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                cell = typed.get((name, r + 1, rows[0][c]), value)
                if isinstance(cell, dt.date):
                    sheet.write_datetime(r, c, cell, day)
                elif cell != "":
                    sheet.write(r, c, cell) if not isinstance(cell, str) else sheet.write_string(r, c, cell)
    book.close()
    return path


def test_xlsx_workbook_reads_like_csv(tmp_path: Path) -> None:
    """Excel's own cells: numbers in text columns read as their digits, date cells and serial
    numbers in date columns as days, booleans as booleans; rows are spreadsheet rows."""
    serial = (dt.date(2025, 5, 7) - dt.date(1899, 12, 30)).days
    typed = {("lines", 2, "service_date"): dt.datetime(2025, 5, 6), ("lines", 3, "service_date"): serial,
             ("lines", 2, "pric"): 30, ("lines", 4, "cnt"): 30.5, ("lines", 5, "pric"): 1.8,
             ("claims", 2, "med_type"): 21, ("claims", 3, "trauma"): False, ("institutions", 3, "level"): 4,
             ("institutions", 2, "out_of_area"): False, ("persons", 3, "birth_date"): dt.datetime(1955, 3, 4),
             ("persons", 2, "insutype"): 390.0, ("persons", 4, "birth_date"): 20150708}
    workbook = write_workbook(tmp_path / "batch.xlsx", typed)
    from_csv, _ = read_batch(write_folder(tmp_path / "csv"))
    from_xlsx, rejects = read_batch(workbook)
    assert rejects.empty
    for name in INPUT_TABLES:
        pd.testing.assert_frame_equal(getattr(from_xlsx, name), getattr(from_csv, name), check_index_type=False)
    assert from_xlsx.sources["lines"] == f"{workbook}, sheet lines"
    _, rejects = read_batch(write_workbook(tmp_path / "bad.xlsx", typed | {("lines", 3, "pric"): "abc"}))
    assert reject_rows(rejects[rejects["table"] == "lines"]) == {("lines", 2, ""), ("lines", 3, "pric")}


def test_xlsx_folder_and_missing_sheet(tmp_path: Path) -> None:
    write_folder(tmp_path)
    (tmp_path / "lines.csv").unlink()
    book = write_workbook(tmp_path / "book.xlsx", {})
    from openpyxl import load_workbook

    wb = load_workbook(book)
    for name in list(wb.sheetnames):
        if name != "lines":
            del wb[name]
    wb.save(tmp_path / "lines.xlsx")
    batch, rejects = read_batch(tmp_path)
    assert rejects.empty and batch.lines["line_id"].tolist() == ["01", "02", "01", "01", "02"]
    with pytest.raises(InputError, match="lines.xlsx: missing sheet persons: the workbook needs a sheet per table"):
        read_batch(tmp_path / "lines.xlsx")
    wb["lines"].insert_rows(1)  # the header in row 2: rows would be miscounted
    wb.save(tmp_path / "lines.xlsx")
    with pytest.raises(InputError, match="lines.xlsx: row 1 is empty: it must hold the column names"):
        read_batch(tmp_path)


# --- bad cells: every reject names table, file, row and column ----------------------------

@pytest.mark.parametrize(("table", "row", "line", "column", "words"), [
    ("lines", 3, "C1,02,A-SALINE,2025-13-07,3.5,2,7.00,01", "service_date", "not a date"),
    ("lines", 3, "C1,02,A-SALINE,2025.05.07,3.5,2,7.00,01", "service_date", "not a date"),
    ("lines", 3, "C1,02,A-SALINE,2025/2/30,3.5,2,7.00,01", "service_date", "not a date"),
    ("lines", 3, "C1,02,A-SALINE,2025-05-07,3.5,100001,7.00,01", "cnt", "at most 100,000"),
    ("lines", 3, "C1,02,A-SALINE,2025-05-07,3.5,2,10000000.01,01", "det_item_fee_sumamt",
     "at most 10,000,000 yuan (YIBAO_MAX_LINE_YUAN)"),
    ("lines", 3, "C1,02,A-SALINE,2025-05-07,3.505,2,7.00,01", "pric", "more than 2 decimals"),
    ("lines", 3, "C1,02,A-SALINE,2025-05-07,-3.5,2,7.00,01", "pric", "at least 0"),
    ("lines", 3, "C1,02,A-SALINE,2025-05-07,3.5,0,7.00,01", "cnt", "greater than 0"),
    ("lines", 3, "C1,02,A-SALINE,2025-05-07,3.5,2.0005,7.00,01", "cnt", "more than 3 decimals"),
    ("lines", 3, "C1,02,A-SALINE,2025-05-07,abc,2,7.00,01", "pric", "not a number"),
    ("lines", 3, "C1,02,A-SALINE,2025-05-07,3.5,2,7.00,04", "chrgitm_lv", "not one of"),
    ("lines", 3, "C1,02,,2025-05-07,3.5,2,7.00,01", "med_list_codg", "a value is required"),
    ("claims", 2, "C1,P1,claim,22,H2,2025-05-06,2025-05-12,J18.9;I10,direct,2025-05-12,,false",
     "med_type", "not one of"),
    ("claims", 2, "C1,P1,claim,21,H2,2025-05-06,2025-05-12,J18.9;I10,direct,2025-05-12,,maybe",
     "trauma", "not true/false"),
    ("claims", 2, "C1,P1,claim,21,H2,2025-05-16,2025-05-12,J18.9;I10,direct,2025-05-12,,false",
     "discharge_date", "before admit_date"),
])
def test_bad_cell_rejects_whole_claim(tmp_path: Path, table: str, row: int, line: str, column: str,
                                      words: str) -> None:
    rejects, batch = rejects_of(tmp_path, replace_line(table, row, line))
    cell = rejects[(rejects["table"] == table) & (rejects["row"] == row)]
    assert cell[["column"]].iloc[0].tolist() == [column]
    assert words in cell["reason"].iloc[0]
    assert cell["file"].iloc[0] == str(tmp_path / f"{table}.csv")
    # claim C1 (claims row 2) goes with both its lines (lines rows 2 and 3), each with a reason
    assert {(t, r) for t, r, _ in reject_rows(rejects)} == {("claims", 2), ("lines", 2), ("lines", 3)}
    assert "C1" not in set(batch.claims["mdtrt_id"]) and "C1" not in set(batch.lines["mdtrt_id"])
    assert batch.claims["mdtrt_id"].tolist() == ["C2", "C3", "A1"]


def test_bad_value_is_quoted_in_the_reason(tmp_path: Path) -> None:
    rejects, _ = rejects_of(tmp_path, replace_line("lines", 3, "C1,02,A-SALINE,2025-05-07,3.505,2,7.00,01"))
    assert rejects[rejects["column"] == "pric"]["reason"].iloc[0] == "'3.505': more than 2 decimals"
    assert rejects[rejects["column"] == "pric"]["key"].iloc[0] == "C1/02"


def test_each_rejected_row_is_worded_with_its_own_cell(tmp_path: Path) -> None:
    """Reasons are worded once per distinct cell and spread to the rows: rows sharing a bad cell
    share its reason, and no row takes another's."""
    lines = BASE["lines"].replace("30.00,6", "abc,6").replace("1.80,10", "x,10").replace("0.60,12", "abc,12")
    rejects, _ = rejects_of(tmp_path, {"lines": lines})
    cells = rejects[rejects["column"] == "pric"]
    assert cells["row"].tolist() == [2, 5, 6]
    assert cells["reason"].tolist() == ["'abc': not a number", "'x': not a number", "'abc': not a number"]
    assert cells["key"].tolist() == ["C1/01", "C3/01", "C3/02"]
    by_row = dict(zip(zip(rejects["table"], rejects["row"]), rejects["reason"]))
    assert by_row[("lines", 3)] == "its claim (claims row 2) was rejected"  # C1's other line
    assert by_row[("claims", 2)] == "its line '01' (lines row 2) was rejected"
    assert by_row[("claims", 4)] == "its line '01' (lines row 5) was rejected"


@pytest.mark.parametrize(("characters", "rejected"), [(64, False), (65, True)])
def test_key_length_counts_characters_not_bytes(tmp_path: Path, characters: int, rejected: bool) -> None:
    """64 characters of Chinese are 192 bytes of UTF-8 and still a valid line id; 65 are not."""
    line = f"C1,{'甲' * characters},A-SALINE,2025-05-07,3.5,2,7.00,01"
    rejects, _ = rejects_of(tmp_path, replace_line("lines", 3, line))
    too_long = rejects[rejects["column"] == "line_id"]
    assert too_long["reason"].str.endswith(": longer than 64 characters").tolist() == ([True] if rejected else [])


def test_personal_cells_are_never_quoted(tmp_path: Path) -> None:
    """A bad birth date or person number is named by row and column only."""
    changes = replace_line("persons", 3, "P2,M,1955-13-04,310,retired")
    changes |= replace_line("statuses", 2, "P1 ,dibao,2025-01-01,")  # stripped: still P1
    rejects, _ = rejects_of(tmp_path, changes)
    cell = rejects[rejects["column"] == "birth_date"]
    assert cell["row"].tolist() == [3] and cell["reason"].iloc[0] == "not a date (YYYY-MM-DD, YYYY/M/D or YYYYMMDD)"
    assert not rejects["reason"].str.contains("1955|P2").any()


def test_parquet_dates_beyond_pandas_years_are_bad_cells(tmp_path: Path) -> None:
    """Parquet dates and timestamps may hold any year; one outside 1677-09-22..2262-04-11 is a bad
    cell, quoted by its day unless it is personal, and the days at the edges are kept."""
    text = write_folder(tmp_path / "csv")
    write_folder(tmp_path / "typed")
    births = pa.array([dt.date(1500, 1, 2), dt.date(1677, 9, 22), dt.date(2015, 7, 8)], pa.date32())
    served = pa.array(np.array(["2300-01-01", "5000000-01-01", "2025-06-01", "2262-04-11T23:00", "2025-07-01"],
                               dtype="datetime64[s]"), pa.timestamp("s"))
    for table, column, values in (("persons", "birth_date", births), ("lines", "service_date", served)):
        arrow = pa.Table.from_pandas(read_table(text / f"{table}.csv"))
        arrow = arrow.set_column(arrow.schema.get_field_index(column), column, values)
        pq.write_table(arrow, tmp_path / "typed" / f"{table}.parquet")
        (tmp_path / "typed" / f"{table}.csv").unlink()
    batch, rejects = read_batch(tmp_path / "typed")
    why = "not a date from 1677-09-22 to 2262-04-11"
    assert sorted(zip(rejects["table"], rejects["row"], rejects["column"], rejects["reason"])) == [
        ("claims", 2, "psn_no", "persons row 2 was rejected"),  # C1, whose lines are the bad ones too
        ("lines", 2, "service_date", f"'2300-01-01': {why}"),
        ("lines", 3, "service_date", f"'5000000-01-01': {why}"),
        ("persons", 2, "birth_date", why),  # a birth date is never quoted
    ]
    assert batch.persons["birth_date"].iloc[0] == pd.Timestamp("1677-09-22")  # P1 went
    assert batch.lines["service_date"].iloc[-2] == pd.Timestamp("2262-04-11")


# --- dates written with a time of day ---------------------------------------------------------

def _dated(write) -> dict[str, str]:
    """BASE with every date cell written by `write` (a `datetime.date` → its text)."""
    return {name: re.sub(r"\b\d{4}-\d{2}-\d{2}\b", lambda day: write(dt.date.fromisoformat(day.group())), text)
            for name, text in BASE.items()}


@pytest.mark.parametrize("write", [
    lambda d: f"{d} 00:00:00",  # a database export
    lambda d: f"{d}T00:00:00",
    lambda d: f"{d} 00:00",
    lambda d: f"{d} 00:00:00.000",
    lambda d: f"{d}T00:00:00.000000000",
    lambda d: f"{d.year}/{d.month}/{d.day} 0:00",  # Excel's date and time on Chinese Windows
    lambda d: f"{d:%Y%m%d} 00:00:00",
    lambda d: f"{d} 10:30:00",  # the national platform's admission and discharge times
    lambda d: f"{d} 23:59:59.999",
    lambda d: f"{d}T00:00:00.000000001",
], ids=["space", "T", "minutes", "millis", "nanos", "excel", "digits", "morning", "last-moment", "a-nanosecond"])
def test_a_date_with_a_time_of_day_is_that_date(tmp_path: Path, write) -> None:
    """Hospital systems export a date column as `2025-05-06 00:00:00`, the national platform's
    settlement data admission times as `2025-05-06 10:30:00`: every row was rejected 'not a date',
    and with it every claim. A time of day is the day it falls on, as in a Parquet timestamp."""
    batch, rejects = read_batch(write_folder(tmp_path / "timed", _dated(write)))
    plain, _ = read_batch(write_folder(tmp_path / "plain"))
    assert rejects.empty
    for name in INPUT_TABLES:
        pd.testing.assert_frame_equal(getattr(batch, name), getattr(plain, name))


@pytest.mark.parametrize("text", ["2025-05-07 24:00", "2025-05-07 10:61", "2025-05-07 00:00:00+08:00",
                                  "2025-05-07  00:00", "2025-13-07 10:30", "2025-05-07 00:00:60"])
def test_a_date_with_no_time_of_day_after_it_is_no_date(tmp_path: Path, text: str) -> None:
    rejects, _ = rejects_of(tmp_path, replace_line("lines", 3, f"C1,02,A-SALINE,{text},3.5,2,7.00,01"))
    cell = rejects[rejects["column"] == "service_date"]
    assert cell["reason"].tolist() == [f"'{text}': not a date (YYYY-MM-DD, YYYY/M/D or YYYYMMDD)"]


def test_parquet_timestamps_are_read_as_text_dates_are(tmp_path: Path) -> None:
    """A timestamp column is its days, at midnight or at another time, as the same moments
    written in a CSV are."""
    plain = read_batch(write_folder(tmp_path / "plain"))[0].lines
    timed = {"lines": BASE["lines"].replace("2025-05-07", "2025-05-07T10:30:00")}
    csv_batch, csv_rejects = read_batch(write_folder(tmp_path / "csv", timed))
    assert csv_rejects.empty
    pd.testing.assert_frame_equal(csv_batch.lines, plain)
    for name, at in (("midnight", "00:00"), ("timed", "10:30")):
        folder = write_folder(tmp_path / name)
        arrow = pa.Table.from_pandas(read_table(folder / "lines.csv"))
        served = pd.to_datetime(arrow.column("service_date").to_pandas())
        served = served.where(served != pd.Timestamp("2025-05-07"), pd.Timestamp(f"2025-05-07 {at}"))
        arrow = arrow.set_column(arrow.schema.get_field_index("service_date"), "service_date",
                                 pa.array(served, pa.timestamp("ns")))
        pq.write_table(arrow, folder / "lines.parquet")
        (folder / "lines.csv").unlink()
        batch, rejects = read_batch(folder)
        assert rejects.empty
        pd.testing.assert_frame_equal(batch.lines, plain)


def test_excel_date_cells_with_a_time_are_their_days(tmp_path: Path) -> None:
    """A date cell holding a time, or a serial day with a fraction, in a date column is the day it
    falls on, as a date cell at midnight (calamine: a date) and a whole serial are."""
    serial = (dt.date(2025, 6, 1) - dt.date(1899, 12, 30)).days
    typed = {("lines", 3, "service_date"): dt.datetime(2025, 5, 7, 10, 30), ("lines", 4, "service_date"): serial + 0.75,
             ("lines", 2, "service_date"): dt.datetime(2025, 5, 6), ("lines", 5, "service_date"): serial + 30}
    batch, rejects = read_batch(write_workbook(tmp_path / "batch.xlsx", typed))
    assert rejects.empty
    pd.testing.assert_frame_equal(batch.lines, read_batch(write_folder(tmp_path / "csv"))[0].lines)


# Every kind of cell calamine gives (a number in a date, time or duration format is a date,
# datetime, time or timedelta), and what a text column and a date column hold of it, by hand.
SHEET_CELLS = [
    (60, None, "60", "1900-02-28"),
    (0.22, None, "0.22", "1899-12-30"),
    (1.5e-7, None, "1.5e-07", "1899-12-30"),
    (45000.75, None, "45000.75", "2023-03-15"),
    (-3.0, None, "-3", "-3"),
    (2958466, None, "2958466", "2958466"),  # past 9999-12-31: no serial day
    (1e20, None, "100000000000000000000", "100000000000000000000"),
    (True, None, "true", "true"),
    (45783, "yyyy/m/d", "2025-05-06", "2025-05-06"),
    (45784.4375, "yyyy-mm-dd hh:mm", "2025-05-07T10:30:00", "2025-05-07"),
    (0.25, "hh:mm", "06:00:00", "06:00:00"),
    (1.5, "[h]:mm", "1 day, 12:00:00", "1 day, 12:00:00"),
    ("  P 1 ", None, "  P 1 ", "  P 1 "),  # stripped after, as a CSV's cells are
    (None, None, "", ""),
]


def test_a_sheets_cells_are_read_as_a_csv_holds_them_each_distinct_one_worded_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A column is converted a kind of cell at a time: numbers as arrays, other cells once per
    distinct one (cell by cell, the conversion was a third of reading a sheet of lines)."""
    import xlsxwriter

    import yibao.io

    path, repeats = tmp_path / "cells.xlsx", 300
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("t")
    sheet.write_row(0, 0, ["note", "service_date"])
    for r in range(repeats):
        for i, (value, look, _, _) in enumerate(SHEET_CELLS):
            for c in range(2):
                if isinstance(value, str):
                    sheet.write_string(1 + r * len(SHEET_CELLS) + i, c, value)
                elif value is not None:
                    sheet.write(1 + r * len(SHEET_CELLS) + i, c, value, look and book.add_format({"num_format": look}))
    sheet.write_string(1 + repeats * len(SHEET_CELLS), 0, "end")
    book.close()
    worded = []
    monkeypatch.setattr(yibao.io, "_cell_text", lambda cell, text=yibao.io._cell_text: worded.append(cell) or text(cell))
    frame = yibao.io._sheet_frame(yibao.io._open_workbook(path), path, "t", str(path))
    expected = pd.DataFrame({"note": [note for _, _, note, _ in SHEET_CELLS] * repeats + ["end"],
                             "service_date": [day for _, _, _, day in SHEET_CELLS] * repeats + [""]}, dtype="str")
    pd.testing.assert_frame_equal(frame, expected)
    assert len(worded) <= 2 * 5  # the bools, dates, datetimes, times and timedeltas of the two columns


@pytest.mark.parametrize(("column", "value", "bound"), [("pric", "150", "100"), ("pric", "100.01", "100")])
def test_money_cells_above_the_bound_are_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  column: str, value: str, bound: str) -> None:
    monkeypatch.setenv("YIBAO_MAX_LINE_YUAN", bound)
    rejects, _ = rejects_of(tmp_path, replace_line("lines", 5, f"C3,01,B-PAED,2025-07-01,{value},1,,"))
    cell = rejects[(rejects["table"] == "lines") & (rejects["row"] == 5)]
    assert cell["column"].iloc[0] == column
    assert cell["reason"].iloc[0] == f"'{value}': must be at most {bound} yuan (YIBAO_MAX_LINE_YUAN)"


def test_money_cell_at_the_bound_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIBAO_MAX_LINE_YUAN", "100")
    rejects, _ = rejects_of(tmp_path, replace_line("lines", 5, "C3,01,B-PAED,2025-07-01,100.00,1,,"))
    assert not ((rejects["table"] == "lines") & (rejects["row"] == 5)).any()
    assert ("lines", 2, "pric") in reject_rows(rejects)  # 30.00 × 6 is above 100 per line


def test_duplicate_mdtrt_id_rejects_both_claims_and_their_lines(tmp_path: Path) -> None:
    changes = replace_line("claims", 3, "C1,P2,claim,14,H1,2025-06-01,2025-06-01,I10,manual,2025-06-20,,0")
    rejects, batch = rejects_of(tmp_path, changes)
    dup = rejects[rejects["reason"].str.startswith("duplicate")]
    assert reject_rows(dup) == {("claims", 2, "mdtrt_id"), ("claims", 3, "mdtrt_id")}
    assert dup["reason"].iloc[0] == "duplicate mdtrt_id: rows 2, 3"
    # lines rows 2 and 3 (C1) and row 4 (old C2, now unknown) are out
    assert {(t, r) for t, r, _ in reject_rows(rejects)} == {
        ("claims", 2), ("claims", 3), ("lines", 2), ("lines", 3), ("lines", 4)}
    assert batch.claims["mdtrt_id"].tolist() == ["C3", "A1"]


def test_duplicate_line_ids_out_of_order(tmp_path: Path) -> None:
    changes = {"lines": BASE["lines"] + "C1,01,S-BED2,2025-05-07,30.00,1,,\n"}
    rejects, batch = rejects_of(tmp_path, changes)
    dup = rejects[rejects["reason"].str.startswith("duplicate")]
    assert reject_rows(dup) == {("lines", 2, "line_id"), ("lines", 7, "line_id")}
    assert dup["reason"].iloc[0] == "duplicate mdtrt_id/line_id: rows 2, 7"
    assert ("claims", 2, "") in reject_rows(rejects) and ("lines", 3, "") in reject_rows(rejects)
    assert batch.lines["mdtrt_id"].tolist() == ["C2", "C3", "C3"]


def test_many_rows_of_one_key_name_ten_and_count_the_rest(tmp_path: Path) -> None:
    """Each of 25 rows sharing a line key is rejected, and each reason names the first ten rows
    and counts the other 15 (listing all made the rejects grow with the square of the rows)."""
    changes = {"lines": BASE["lines"] + "C1,01,S-BED2,2025-05-07,30.00,1,,\n" * 24}
    rejects, _ = rejects_of(tmp_path, changes)
    dup = rejects[rejects["reason"].str.startswith("duplicate")]
    assert sorted(dup["row"]) == [2] + list(range(7, 31))
    assert set(dup["reason"]) == {"duplicate mdtrt_id/line_id: rows 2, 7, 8, 9, 10, 11, 12, 13, 14, 15 and 15 more"}


def test_an_empty_row_is_one_reject_and_a_partial_row_keeps_every_reason(tmp_path: Path) -> None:
    """A row of only commas (or spaces) was a reject per required cell, then again as a duplicate
    of the other blank keys and as a line of no claim: 8 per line, so 1M such rows at a file's end
    were 8M rejects (2.8 GB). Now it is one; a row with some value keeps every reason, and its blank
    key is shared with the other partial rows', not with the empty rows'."""
    rows = [",,,,,,,", ",,S-BED2,,,,,", " , ,,, ,,,", ",,A-AMOX,,,,,", ",,,,,,,"]  # rows 7 to 11
    rejects, batch = rejects_of(tmp_path, {"lines": BASE["lines"] + "\n".join(rows) + "\n"})
    assert len(batch.lines) == 5
    empty = rejects[rejects["row"].isin([7, 9, 11])]
    assert empty[["row", "column", "reason"]].values.tolist() == [
        [row, "", "empty row: no column of the table holds a value"] for row in (7, 9, 11)]
    for row in (8, 10):
        said = rejects[rejects["row"] == row]
        assert said[["column", "reason"]].values.tolist() == [
            ["mdtrt_id", "a value is required"], ["line_id", "a value is required"],
            ["service_date", "a value is required"], ["pric", "a value is required"], ["cnt", "a value is required"],
            ["line_id", "duplicate mdtrt_id/line_id: rows 8, 10"], ["mdtrt_id", "no claim '' in claims"]]


def test_line_of_an_unknown_claim(tmp_path: Path) -> None:
    rejects, batch = rejects_of(tmp_path, {"lines": BASE["lines"] + "C9,01,A-AMOX,2025-07-01,0.60,12,,\n"})
    assert reject_rows(rejects) == {("lines", 7, "mdtrt_id")}
    assert rejects["reason"].iloc[0] == "no claim 'C9' in claims"
    assert len(batch.lines) == 5 and len(batch.claims) == 4


def test_claim_of_an_unknown_person_goes_with_its_lines(tmp_path: Path) -> None:
    changes = replace_line("claims", 4, "C3,P9,claim,11,H1,2025-07-01,2025-07-01,J06.9,direct,2025-07-01,,")
    rejects, batch = rejects_of(tmp_path, changes)
    assert reject_rows(rejects) == {("claims", 4, "psn_no"), ("lines", 5, ""), ("lines", 6, "")}
    by_row = dict(zip(zip(rejects["table"], rejects["row"]), rejects["reason"]))
    assert by_row[("claims", 4)] == "psn_no is not in persons"  # a person number is never quoted
    assert by_row[("lines", 5)] == "its claim (claims row 4) was rejected"
    assert rejects[rejects["table"] == "lines"]["key"].tolist() == ["C3/01", "C3/02"]
    assert batch.lines["mdtrt_id"].tolist() == ["C1", "C1", "C2"]


def test_claim_at_an_unknown_institution(tmp_path: Path) -> None:
    changes = replace_line("claims", 3, "C2,P2,claim,14,H7,2025-06-01,2025-06-01,I10,manual,2025-06-20,,0")
    rejects, _ = rejects_of(tmp_path, changes)
    assert reject_rows(rejects) == {("claims", 3, "institution_id"), ("lines", 4, "")}


def test_application_needs_no_institution(tmp_path: Path) -> None:
    rejects, batch = rejects_of(tmp_path, {})
    assert rejects.empty and batch.claims["institution_id"].iloc[3] == ""


def test_rejected_status_rejects_the_person_and_their_claims(tmp_path: Path) -> None:
    rejects, batch = rejects_of(tmp_path, replace_line("statuses", 2, "P1,rich,2025-01-01,"))
    assert reject_rows(rejects) == {("statuses", 2, "kind"), ("persons", 2, ""), ("claims", 2, "psn_no"),
                                    ("lines", 2, ""), ("lines", 3, "")}
    by_row = dict(zip(zip(rejects["table"], rejects["row"]), rejects["reason"]))
    assert by_row[("persons", 2)] == "its statuses row 2 was rejected"
    assert by_row[("claims", 2)] == "persons row 2 was rejected"
    assert batch.persons["psn_no"].tolist() == ["P2", "P3"]


def test_nothing_is_lost(tmp_path: Path) -> None:
    """Several problems at once: every input claim and line is in the batch or in rejects."""
    changes = {
        "claims": BASE["claims"] + "C4,P9,claim,11,H1,2025-08-01,2025-08-01,J06.9,direct,2025-08-01,,\n"
                                   "C5,P3,claim,11,H1,2025-08-02,2025-08-02,J06.9,direct,2025-08-02,,\n",
        "lines": BASE["lines"] + "C4,01,A-AMOX,2025-08-01,0.60,12,,\n"
                                 "C5,01,A-AMOX,2025-08-02,0.601,12,,\n"
                                 "C5,02,A-AMOX,2025-08-02,0.60,12,,\n"
                                 "C8,01,A-AMOX,2025-08-02,0.60,12,,\n",
    }
    rejects, batch = rejects_of(tmp_path, changes)
    for table, total in (("claims", 6), ("lines", 9)):
        kept = set(getattr(batch, table).index + 2)
        out = set(rejects.loc[rejects["table"] == table, "row"])
        assert kept.isdisjoint(out)
        assert kept | out == set(range(2, total + 2))
    assert batch.claims["mdtrt_id"].tolist() == ["C1", "C2", "C3", "A1"]


# --- unusable input -----------------------------------------------------------------------

def test_missing_required_column_names_file_and_column(tmp_path: Path) -> None:
    write_folder(tmp_path, {"claims": "mdtrt_id,psn_no,med_type\nC1,P1,21\n"})
    with pytest.raises(InputError) as err:
        read_batch(tmp_path)
    assert str(err.value) == f"{tmp_path / 'claims.csv'}, column kind: missing required column kind"


def test_missing_table_names_it(tmp_path: Path) -> None:
    write_folder(tmp_path)
    (tmp_path / "filings.csv").unlink()
    with pytest.raises(InputError, match="missing table filings: no filings.parquet, filings.csv or filings.xlsx"):
        read_batch(tmp_path)


def test_unreadable_file_names_it(tmp_path: Path) -> None:
    write_folder(tmp_path)
    (tmp_path / "lines.csv").unlink()
    (tmp_path / "lines.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(InputError) as err:
        read_batch(tmp_path)
    assert str(err.value).startswith(f"{tmp_path / 'lines.parquet'}: cannot read")


@pytest.mark.parametrize("header", ["psn_no,kind,psn_no,valid_from,valid_to", "psn_no,kind, kind ,valid_from,valid_to"])
def test_duplicate_header_names_file_and_column(tmp_path: Path, header: str) -> None:
    write_folder(tmp_path, {"statuses": f"{header}\nP1,dibao,P1,2025-01-01,\n"})
    with pytest.raises(InputError) as err:
        read_batch(tmp_path)
    column = header.split(",")[2].strip()
    assert str(err.value) == (f"{tmp_path / 'statuses.csv'}, column {column}: "
                              f"column {column} appears twice in the header: keep one")


@pytest.mark.parametrize("partitioned", [False, True])
def test_a_parquet_column_named_twice_names_file_and_column(tmp_path: Path, partitioned: bool) -> None:
    """Arrow's reader said "cannot read: Multiple matches for FieldRef.Name(pric) in mdtrt_id: …"."""
    write_folder(tmp_path)
    lines = pa.Table.from_pandas(read_table(tmp_path / "lines.csv"), preserve_index=False)
    (tmp_path / "lines.csv").unlink()
    path = tmp_path / "lines" / "part-00000.parquet" if partitioned else tmp_path / "lines.parquet"
    path.parent.mkdir(exist_ok=True)
    pq.write_table(lines.append_column("pric", lines.column("pric")), path)
    with pytest.raises(InputError) as err:
        read_batch(tmp_path)
    assert str(err.value) == f"{path}, column pric: column pric appears twice in the header: keep one"


@pytest.mark.parametrize("table, field, header", [
    ("claims", "med_type", "MED_TYPE"),  # was ignored: 3 of 4 claims rejected, the summary said "rejects: none"
    ("claims", "med_type", "Med Type"),
    ("claims", "med_type", "ｍｅｄ＿ｔｙｐｅ"),  # full-width, as a Chinese input method types it
    ("claims", "med_type", "med_tpye"),
    ("claims", "materials", "material"),
    ("lines", "chrgitm_lv", "chrgitm-lv"),
    ("lines", "pric", "price"),  # a required field was refused only as "missing"
])
@pytest.mark.parametrize("partitioned", [False, True])
def test_a_misspelt_field_is_refused_naming_it(tmp_path: Path, table: str, field: str, header: str,
                                               partitioned: bool) -> None:
    rows = BASE[table].splitlines()
    rows[0] = ",".join(header if name == field else name for name in rows[0].split(","))
    folder = write_folder(tmp_path / "batch", {table: "\n".join(rows) + "\n"})
    with pytest.raises(InputError) as err:
        score_partitioned(folder, tmp_path / "out", 2) if partitioned else read_batch(folder)
    assert str(err.value).endswith(f"{table}.csv, column {header}: not a field of {table}, but close to "
                                   f"{field}: rename it {field}, or remove the column")
    assert not (tmp_path / "out").exists()


def test_an_optional_field_misspelt_is_refused_before_it_pays_twice(tmp_path: Path) -> None:
    """A correction whose `correction_of` was ignored was scored as a claim of its own: the stay paid twice."""
    claims = "\n".join(f"{row}," for row in BASE["claims"].splitlines()).replace("trauma,", "trauma,Correction_Of", 1)
    claims += "\nC9,P1,claim,21,H2,2025-05-06,2025-05-12,J18.9,direct,2025-05-13,,false,C1\n"
    with pytest.raises(InputError, match="column Correction_Of: not a field of claims, but close to correction_of"):
        read_batch(write_folder(tmp_path, {"claims": claims}))


def test_a_field_and_its_misspelling_both_in_the_header_are_refused(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, {"statuses": "psn_no,kind,valid_from,valid_to,KIND\nP1,dibao,2025-01-01,,low_income\n"})
    with pytest.raises(InputError) as err:
        read_batch(folder)
    assert str(err.value) == (f"{tmp_path / 'statuses.csv'}, column KIND: not a field of statuses, but close to kind, "
                              "which the header also names: remove one")


@pytest.mark.parametrize("header", ["hospital_remark", "psn_name", "医疗类别", "Remark"])
def test_a_column_like_no_field_is_still_ignored(tmp_path: Path, header: str) -> None:
    """Exports carry columns of their own; only one taken for a field's misspelling stops the run."""
    claims = "\n".join(f"{row},x" for row in BASE["claims"].splitlines()).replace("trauma,x", f"trauma,{header}", 1)
    batch, rejects = read_batch(write_folder(tmp_path, {"claims": claims + "\n"}))
    plain, plain_rejects = read_batch(write_folder(tmp_path / "plain"))
    pd.testing.assert_frame_equal(batch.claims, plain.claims)
    assert rejects.empty and plain_rejects.empty


@pytest.mark.parametrize(("column", "typed", "stored", "says"), [
    # the text of a Python dict, an unknown catalogue code: every line scored as the person's to pay
    ("med_list_codg", lambda cells: pa.array([{"code": c} for c in cells]), "struct<code: string>",
     "not as text: store it as text (string)"),
    ("med_list_codg", lambda cells: pa.array([[c] for c in cells]), "list<element: string>",
     "not as text: store it as text (string)"),  # its items joined: two codes became one, `A;B`
    ("line_id", lambda cells: pa.array([[("id", c)] for c in cells], pa.map_(pa.string(), pa.string())),
     "map<string, string ('line_id')>", "not as text: store it as text (string)"),
    ("mdtrt_id", lambda cells: pa.array([[{"id": c}] for c in cells]), "list<element: struct<id: string>>",
     "not as text: store it as text (string)"),  # was a traceback in a partitioned run
    ("pric", lambda cells: pa.array([{"yuan": float(c)} for c in cells]), "struct<yuan: double>",
     "not as text or a number: store it as a number (decimal or double)"),
    ("pric", lambda cells: pa.array([[float(c)] for c in cells]), "list<element: double>",
     "not as text or a number: store it as a number (decimal or double)"),
    ("cnt", lambda cells: pa.array([dt.timedelta(seconds=1)] * len(cells)), "duration[us]",
     "not as text or a number: store it as a number (decimal or double)"),
    ("cnt", lambda cells: pa.array([True] * len(cells)), "bool",
     "not as text or a number: store it as a number (decimal or double)"),
    ("service_date", lambda cells: pa.array([dt.time(10, 30)] * len(cells)), "time64[us]",
     "not as text or a date: store it as a date (date32)"),
])
def test_a_parquet_column_stored_as_a_type_it_cannot_be_read_as_is_refused(tmp_path: Path, column: str, typed,
                                                                           stored: str, says: str) -> None:
    """Read on, such a column became the text of each cell's Python value and was taken: a struct
    of catalogue codes paid nothing (exit 0), a struct or list of amounts rejected every line."""
    write_folder(tmp_path)
    lines = pa.Table.from_pandas(read_table(tmp_path / "lines.csv"), preserve_index=False)
    (tmp_path / "lines.csv").unlink()
    at = lines.schema.get_field_index(column)
    pq.write_table(lines.set_column(at, column, typed(lines[column].to_pylist())), tmp_path / "lines.parquet")
    with pytest.raises(InputError) as err:
        read_batch(tmp_path)
    assert str(err.value) == f"{tmp_path / 'lines.parquet'}, column {column}: is stored as {stored}, {says}"


def test_parquet_columns_of_any_type_they_can_be_read_as_read_as_the_csv(tmp_path: Path) -> None:
    """Text as string views (Polars writes them) and bytes, amounts as decimals, days as
    timestamps, a column of nulls, and lists in the list columns: read as the CSV's cells."""
    text, _ = read_batch(write_folder(tmp_path / "csv"))
    folder = write_folder(tmp_path / "typed")
    for name in ("claims", "lines"):
        (folder / f"{name}.csv").unlink()
    claims = read_table(tmp_path / "csv" / "claims.csv")

    def items(column: str) -> list[list[str]]:
        return [cell.split(";") if cell else [] for cell in claims[column]]

    pq.write_table(pa.table({
        "mdtrt_id": pa.array(claims["mdtrt_id"]).dictionary_encode(),
        "psn_no": pa.array(claims["psn_no"], pa.string_view()), "kind": claims["kind"],
        "med_type": pa.array(claims["med_type"].str.encode("utf-8"), pa.binary_view()),
        "institution_id": claims["institution_id"], "admit_date": pd.to_datetime(claims["admit_date"]),
        "discharge_date": pd.to_datetime(claims["discharge_date"]),
        "diagnoses": pa.array(items("diagnoses"), pa.list_(pa.string())),
        "settlement_mode": claims["settlement_mode"], "submitted_date": pd.to_datetime(claims["submitted_date"]),
        "materials": pa.array(items("materials"), pa.large_list(pa.large_string())),
        "trauma": [False, False, None, None], "region": pa.nulls(4)}), folder / "claims.parquet")
    lines = read_table(tmp_path / "csv" / "lines.csv")
    pq.write_table(pa.table({
        "mdtrt_id": lines["mdtrt_id"], "line_id": pa.array(lines["line_id"].str.encode("utf-8"), pa.binary()),
        "med_list_codg": lines["med_list_codg"], "service_date": pd.to_datetime(lines["service_date"]),
        "pric": pa.array([decimal.Decimal(c) for c in lines["pric"]], pa.decimal128(10, 2)),
        "cnt": lines["cnt"].astype(float), "det_item_fee_sumamt": [None, 7.0, None, None, None],
        "chrgitm_lv": [None, "01", None, None, None],
        "pric_uplmt_amt": pa.nulls(5)}), folder / "lines.parquet")
    typed, rejects = read_batch(folder)
    assert rejects.empty
    pd.testing.assert_frame_equal(typed.lines, text.lines)
    pd.testing.assert_frame_equal(typed.claims, text.claims)


@pytest.mark.parametrize("kind", [pa.list_(pa.string()), pa.large_list(pa.large_string())])
def test_a_null_item_of_a_parquet_list_is_no_item(tmp_path: Path, kind: pa.DataType) -> None:
    """['J18.9', 'I10', null] read as no diagnosis at all (Arrow joins a list with a null item to
    null), and the claims were refused for lack of one; now as `J18.9;I10`."""
    text, _ = read_batch(write_folder(tmp_path / "csv"))
    folder = write_folder(tmp_path / "typed")
    (folder / "claims.csv").unlink()
    claims = pa.Table.from_pandas(read_table(tmp_path / "csv" / "claims.csv"), preserve_index=False)
    for column in ("diagnoses", "materials"):
        items = pa.array([[*cell.split(";"), None] if cell else [None] for cell in claims[column].to_pylist()], kind)
        claims = claims.set_column(claims.schema.get_field_index(column), column, items)
    pq.write_table(claims, folder / "claims.parquet")
    typed, rejects = read_batch(folder)
    assert rejects.empty
    pd.testing.assert_frame_equal(typed.claims, text.claims)


def test_ragged_row_names_the_line_not_its_cells(tmp_path: Path) -> None:
    """Arrow's own message quotes the whole row (a person number, a birth date)."""
    rows = BASE["persons"].splitlines()
    rows[2] += ",extra"
    write_folder(tmp_path, {"persons": "\n".join(rows) + "\n"})
    with pytest.raises(InputError) as err:
        read_batch(tmp_path)
    assert str(err.value) == (f"{tmp_path / 'persons.csv'}: line 3: 6 cells where the header has 5 "
                              f"(a separator or a quote out of place?)")


# --- rows longer than Arrow's blocks ----------------------------------------------------------

LONG = 3 << 20  # bytes: Arrow reads a CSV in 1 MB blocks, and refused a file with a row this long


def _long_lines(folder: Path, cells: dict[int, tuple[str, str]], encoding: str = "utf-8",
                newline: str = "\n") -> Path:
    """`folder` with BASE's lines and a `note` column no table has; `cells`: spreadsheet row →
    (column, its text)."""
    write_folder(folder)
    rows = BASE["lines"].splitlines()
    header = rows[0].split(",") + ["note"]
    table = [dict(zip(header, row.split(",") + [""])) for row in rows[1:]]
    for row, (column, text) in cells.items():
        table[row - 2][column] = text
    lines = [",".join(header)] + [",".join(row.values()) for row in table]
    (folder / "lines.csv").write_bytes((newline.join(lines) + newline).encode(encoding))
    return folder


@pytest.mark.parametrize(("encoding", "newline"), [("utf-8", "\n"), ("gb18030", "\r\n")])
def test_a_row_longer_than_a_block_is_read_and_its_cells_checked(tmp_path: Path, encoding: str,
                                                                 newline: str) -> None:
    """A note of megabytes in a column no table has, and a line id as long: Arrow refused the
    whole file ("cannot read: straddling object straddles two block boundaries"). Now it is read
    in blocks as long as its longest row: the note is ignored as any unknown column is, and the
    line id is rejected as too long, as a shorter one is."""
    long = _long_lines(tmp_path / "long", {3: ("note", "说明" * (LONG // 4)), 5: ("line_id", "7" * LONG)},
                       encoding, newline)
    short = _long_lines(tmp_path / "short", {3: ("note", "说明"), 5: ("line_id", "7" * 100)})
    batch, rejects = read_batch(long)
    expected, expected_rejects = read_batch(short)
    for name in INPUT_TABLES:
        pd.testing.assert_frame_equal(getattr(batch, name), getattr(expected, name))
    assert reject_rows(rejects) == reject_rows(expected_rejects) == {
        ("lines", 5, "line_id"), ("lines", 6, ""), ("claims", 4, "")}
    assert rejects.set_index("column").at["line_id", "reason"].endswith(
        f"… ({LONG:,} characters): longer than 64 characters")
    # its claim's reason quotes it cut short too (it was echoed whole: 3 MB in one reject)
    assert rejects.set_index("table").at["claims", "reason"] == (
        f"its line '{'7' * 80}'… ({LONG:,} characters) (lines row 5) was rejected")


@pytest.mark.parametrize(("cells", "line"), [
    ({4: ("note", "x" * LONG)}, 4),
    ({3: ("med_list_codg", '"A-SALINE'), 6: ("note", "x" * LONG)}, 3),  # a quote never closed
])
def test_an_absurdly_long_row_is_refused_naming_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         cells: dict[int, tuple[str, str]], line: int) -> None:
    """A row longer than `MAX_CSV_ROW` (64 MB; 2 MB here) is refused in one line naming the file
    and the line, without its cells."""
    import yibao.io

    monkeypatch.setattr(yibao.io, "MAX_CSV_ROW", 2 << 20)
    folder = _long_lines(tmp_path, cells)
    with pytest.raises(InputError) as err:
        read_batch(folder)
    assert str(err.value) == (f"{folder / 'lines.csv'}: line {line}: longer than 2 MB, which no row needs "
                              f"(a cell pasted by mistake, or a quote left open?)")


def test_both_formats_of_one_table_is_ambiguous(tmp_path: Path) -> None:
    write_folder(tmp_path)
    (tmp_path / "lines.parquet").write_bytes(b"")
    with pytest.raises(InputError, match="both lines.parquet and lines.csv"):
        read_batch(tmp_path)


# --- writing ------------------------------------------------------------------------------

def test_written_files_are_byte_identical(tmp_path: Path) -> None:
    batch, _ = read_batch(write_folder(tmp_path / "in"))
    tables = {"claims": batch.claims, "lines": batch.lines}

    def digest(folder: Path, fmt: str) -> list[str]:
        return [hashlib.sha256(p.read_bytes()).hexdigest() for p in write_tables(tables, folder, fmt)]

    for fmt in ("parquet", "csv", "xlsx"):
        assert digest(tmp_path / f"{fmt}1", fmt) == digest(tmp_path / f"{fmt}2", fmt)


def test_csv_cells_as_the_reader_expects(tmp_path: Path) -> None:
    """A BOM first (Excel on Chinese Windows reads UTF-8 only with it); money with two decimals."""
    frame = pd.DataFrame({"d": pd.to_datetime(["2025-05-06", None, None]),
                          "b": pd.array([True, None, False], dtype="boolean"), "x": [12.34, np.nan, 0.5],
                          "s": ["a,b", "", "价"], "hifp_pay": [12.5, 0.0, np.nan],
                          "medfee_sumamt": [1234567.89, 0.07, 100.0]})
    write_tables({"t": frame}, tmp_path, "csv")
    data = (tmp_path / "t.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data[3:].decode("utf-8").splitlines() == [
        '"d","b","x","s","hifp_pay","medfee_sumamt"', '2025-05-06,true,12.34,"a,b",12.50,1234567.89',
        ',,,"",0.00,0.07', ',false,0.5,"价",,100.00']
    back = read_table(tmp_path / "t.csv")
    assert list(back.columns) == list(frame.columns) and back["hifp_pay"].tolist() == ["12.50", "0.00", ""]


def test_xlsx_output_opens_as_examiners_need(tmp_path: Path) -> None:
    """Opened with openpyxl (an independent reader): money as numbers in #,##0.00, days as real
    date cells, text codes as text, a frozen header of label and field with a filter on it."""
    from openpyxl import load_workbook

    batch, _ = read_batch(write_folder(tmp_path / "in"))
    lines = batch.lines.assign(service_date=batch.lines["service_date"].dt.strftime("%Y-%m-%d"),
                               medfee_sumamt=[180.0, 7.0, 97.6, 18.0, 7.2])  # outputs hold days as text
    (path,) = write_tables({"claims": batch.claims, "lines": lines}, tmp_path / "x", "xlsx")
    book = load_workbook(path)
    assert book.sheetnames == ["claims", "lines"]
    sheet = book["lines"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:K6"
    head = [c.value for c in sheet[1]]
    assert head[:4] == ["就诊ID\nmdtrt_id", "明细号\nline_id", "医保目录编码\nmed_list_codg", "费用发生日期\nservice_date"]
    first = {name.split("\n")[-1]: cell for name, cell in zip(head, sheet[2])}
    assert first["line_id"].value == "01" and first["line_id"].data_type == "s"
    assert first["service_date"].is_date and first["service_date"].value == dt.datetime(2025, 5, 6)
    assert first["service_date"].number_format == "yyyy-mm-dd"
    assert first["pric"].value == 30.0 and first["pric"].number_format == "#,##0.00"
    assert first["medfee_sumamt"].value == 180.0 and first["medfee_sumamt"].number_format == "#,##0.00"
    assert first["det_item_fee_sumamt"].value is None  # empty stays empty
    assert sheet.column_dimensions["C"].width >= len("med_list_codg")
    assert book["claims"]["F2"].is_date  # admit_date, a date column of the batch


def test_unknown_format() -> None:
    with pytest.raises(InputError, match="unknown format 'json'"):
        write_tables({}, Path("."), "json")


def test_a_short_row_neither_utf8_nor_gb18030_is_one_line_without_a_traceback(tmp_path: Path) -> None:
    """Arrow decodes a row with too few cells to hand it to the handler that collects it; for
    bytes that are no UTF-8 that failed where no caller catches it, and Python printed it, a
    traceback, above the one-line error. Run as a user runs it: pytest hides such output."""
    import subprocess
    import sys

    folder = tmp_path / "batch"
    folder.mkdir()
    rows = "".join(f"C{i},P{i}\n" for i in range(200_000))  # past Arrow's first block, which it checks whole
    (folder / "claims.csv").write_bytes(f"mdtrt_id,psn_no\n{rows}".encode() + b"\x81\xff\xfe\n")
    script = ("import sys\nfrom pathlib import Path\nfrom yibao.errors import InputError\n"
              "from yibao.io import read_table\n"
              "try:\n    read_table(Path(sys.argv[1]))\nexcept InputError as exc:\n    sys.exit(str(exc))\n")
    done = subprocess.run([sys.executable, "-c", script, str(folder / "claims.csv")], capture_output=True, text=True,
                          timeout=60)
    assert done.stderr == (f"{folder / 'claims.csv'}: cannot read: the text is neither UTF-8 nor GB18030 "
                           f"(save it as UTF-8)\n")


# --- tables a job builds in memory (yibao.score(mapping)) ---------------------------------------

@pytest.fixture(scope="module")
def month() -> dict[str, pd.DataFrame]:
    from yibao.synth import generate

    return generate(300, 7, 2025, None)


def _claims_read(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    batch, rejects = load_batch(tables)
    assert rejects.empty, rejects
    return batch.claims


@pytest.mark.parametrize("edit, message", [
    # scored as an empty table: every line lost without a reject, claims approved at 0 yuan
    (lambda t: {k: v for k, v in t.items() if k != "lines"}, "no lines table among the tables given"),
    (lambda t: {("Lines" if k == "lines" else k): v for k, v in t.items()}, "unknown table 'Lines': the tables are"),
    (lambda t: t["claims"], "not a DataFrame"),  # an empty result
    (lambda t: t | {"lines": t["lines"].to_dict("list")}, "table lines: a pandas DataFrame, not a dict"),
])
def test_a_mapping_without_its_tables_is_refused(month: dict[str, pd.DataFrame], edit, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_batch(edit(month))


def test_a_frame_naming_a_field_twice_is_refused_as_a_file_is(month: dict[str, pd.DataFrame]) -> None:
    """A column added twice (pd.concat along the columns): `frame["pric"]` is then a frame, and
    reading ended in a traceback, AttributeError: 'DataFrame' object has no attribute 'dtype'."""
    lines = pd.concat([month["lines"], month["lines"][["pric"]]], axis=1)
    with pytest.raises(InputError) as refused:
        load_batch(month | {"lines": lines})
    assert str(refused.value) == "<lines>, column pric: column pric appears twice in the header: keep one"


def test_tables_in_arrow_dtypes_read_as_their_files_do(month: dict[str, pd.DataFrame]) -> None:
    """`pd.read_parquet(..., dtype_backend="pyarrow")`: a date32[pyarrow] column raised
    NotImplementedError (no `.dt.tz`)."""
    arrow = {name: pa.Table.from_pandas(frame, preserve_index=False).to_pandas(types_mapper=pd.ArrowDtype)
             for name, frame in month.items()}
    assert isinstance(arrow["claims"]["admit_date"].dtype, pd.ArrowDtype)
    arrow["claims"]["admit_date"] = arrow["claims"]["admit_date"].astype(pd.ArrowDtype(pa.date32()))
    pd.testing.assert_frame_equal(_claims_read(arrow), _claims_read(month))


def test_moments_with_a_zone_are_the_days_they_are_in_china(month: dict[str, pd.DataFrame]) -> None:
    """A database driver's UTC timestamps of Beijing midnights (16:00 the day before) were read as
    the day before: a claim of 1 January fell under the year before's tariff."""
    claims = month["claims"].copy()
    for column in ("admit_date", "discharge_date", "submitted_date"):
        claims[column] = claims[column].dt.tz_localize("Asia/Shanghai").dt.tz_convert("UTC")
    assert (claims["admit_date"].dropna().dt.hour == 16).all()
    pd.testing.assert_frame_equal(_claims_read(month | {"claims": claims}), _claims_read(month))


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "America/New_York"])
def test_a_day_kept_as_a_timestamp_with_a_zone_is_the_day_written(month: dict[str, pd.DataFrame], zone: str) -> None:
    """A midnight as written is that day (2025-01-03T00:00+09:00 is 2025-01-03, though 23:00 the
    day before in China): a day stored as a timestamp, not a moment of that day."""
    claims = month["claims"].copy()
    claims["admit_date"] = claims["admit_date"].dt.tz_localize(zone)
    pd.testing.assert_frame_equal(_claims_read(month | {"claims": claims}), _claims_read(month))


@pytest.mark.parametrize("moment", [
    lambda day: day + pd.Timedelta(hours=10, minutes=30),  # a Timestamp object
    lambda day: dt.datetime.combine(day.date(), dt.time(23, 59)),  # a Python datetime
    lambda day: (day + pd.Timedelta(hours=8)).tz_localize("UTC"),  # 16:00 in China: the same day
], ids=["timestamp", "datetime", "zoned"])
@pytest.mark.parametrize("objects", [True, False], ids=["objects", "datetime64"])
def test_moments_with_a_time_of_day_are_their_day(month: dict[str, pd.DataFrame], moment, objects: bool) -> None:
    """A datetime64 column with a time of day (a Parquet timestamp, a job's frame) is floored to
    the day; the same moments as objects (a frame built row by row) were each "not a date"."""
    claims = month["claims"].copy()
    moments = pd.Series([moment(d) if pd.notna(d) else None for d in claims["admit_date"]],
                        index=claims.index, dtype=object)
    claims["admit_date"] = moments if objects else pd.to_datetime(moments)
    pd.testing.assert_frame_equal(_claims_read(month | {"claims": claims}), _claims_read(month))


def _as_objects(values: list) -> pd.Series:
    return pd.Series(values, dtype=object)


@pytest.mark.parametrize("table, column, make, says", [
    # a line's item as a dict was the unknown code "{'code': …}": the person paid the line, exit 0
    ("lines", "med_list_codg", lambda codes: _as_objects([{"code": c} for c in codes]), "holds a dict, not text"),
    ("lines", "med_list_codg",
     lambda codes: pd.Series([{"code": c} for c in codes], dtype=pd.ArrowDtype(pa.struct([("code", pa.string())]))),
     "is stored as struct<code: string>, not as text: store it as text (string)"),
    ("claims", "psn_no", lambda ids: _as_objects([[i] for i in ids]), "holds a list, not text"),  # was read as its item
    ("lines", "pric", lambda prices: _as_objects([(p,) for p in prices]), "holds a tuple, not text or a number"),
])
def test_a_frame_column_of_objects_no_file_holds_is_refused(month: dict[str, pd.DataFrame], table: str, column: str,
                                                           make, says: str) -> None:
    frame = month[table].copy()
    frame[column] = make(frame[column].tolist()).set_axis(frame.index)
    with pytest.raises(InputError) as refused:
        load_batch(month | {table: frame})
    assert str(refused.value) == f"<{table}>, column {column}: {says}"


@pytest.mark.parametrize("column, make, says", [
    ("psn_no", lambda cells: [[c] for c in cells], "holds a list, not text"),  # was read as its item: paid as P…
    ("chronic_paid", lambda cells: [{"E11": 1.0}] * len(cells), "holds a dict, not text or a list"),  # every
    # person with accumulators rejected, and their claims with them
])
def test_accumulators_given_apart_are_checked_as_a_table_of_the_mapping(month: dict[str, pd.DataFrame], column: str,
                                                                         make, says: str) -> None:
    """`yibao.score(tables, accumulators=frame)` read the frame past the checks of the mapping's
    own frames: a person number held in a list was read as its item, a dict as an unreadable
    amount list that rejected its person."""
    accumulators = pd.DataFrame({"psn_no": month["persons"]["psn_no"].iloc[:3].to_numpy(), "year": 2025,
                                 "chronic_paid": ""})
    accumulators[column] = make(accumulators[column].tolist())
    for way in ({"tables": month | {"accumulators": accumulators}}, {"tables": month, "accumulators": accumulators}):
        with pytest.raises(InputError) as refused:
            load_batch(way["tables"], way.get("accumulators"))
        assert str(refused.value) == f"<accumulators>, column {column}: {says}"


def test_a_frame_list_column_may_hold_lists(month: dict[str, pd.DataFrame]) -> None:
    claims = month["claims"].copy()
    claims["diagnoses"] = _as_objects([d.split(";") if d else [] for d in claims["diagnoses"]]).set_axis(claims.index)
    pd.testing.assert_frame_equal(_claims_read(month | {"claims": claims}), _claims_read(month))


@pytest.mark.parametrize("text", ["9999-12-31", "1600-01-01", "99991231", "9999/12/31"])
def test_a_text_date_beyond_the_days_is_a_bad_cell(month: dict[str, pd.DataFrame], text: str) -> None:
    """pandas parses 9999-12-31 to microseconds, and its nanoseconds wrapped around to 1816-03-29:
    a person whose waiting period ran "until 9999-12-31" (no benefits) was paid."""
    persons = month["persons"].astype({"waiting_period_until": object})
    persons.loc[persons.index[0], "waiting_period_until"] = text
    batch, rejects = load_batch(month | {"persons": persons})
    refused = rejects[(rejects["table"] == "persons") & (rejects["column"] == "waiting_period_until")]
    assert len(refused) == 1 and "not a date from 1677-09-22 to 2262-04-11" in refused["reason"].iat[0]
    assert persons["psn_no"].iat[0] not in set(batch.persons["psn_no"])
    assert batch.persons["waiting_period_until"].dropna().dt.year.between(1677, 2262).all()


def test_float32_amounts_are_their_decimals(month: dict[str, pd.DataFrame]) -> None:
    """81.62 in float32 is 81.62000274658203 widened: every such price was rejected as having
    more than two decimals."""
    lines = month["lines"].assign(pric=month["lines"]["pric"].astype(np.float32))
    assert (lines["pric"].to_numpy(dtype=np.float64) != month["lines"]["pric"].to_numpy()).any()
    batch, rejects = load_batch(month | {"lines": lines})
    assert rejects.empty
    assert (batch.lines["pric"].to_numpy() == load_batch(month)[0].lines["pric"].to_numpy()).all()


@pytest.mark.parametrize("narrow", [np.float16, np.float32])
def test_a_narrow_float_too_wide_for_the_fen_is_refused_not_misread(
        narrow: type, month: dict[str, pd.DataFrame]) -> None:
    """float32 holds amounts to the fen below 131,072 yuan, float16 below 16: 1,234,567.89 stored
    as float32 is 1,234,567.875, read as 1,234,567.9 without a word (and 81.62 as float16 was
    81.625, refused as 81.625 with three decimals or read as 81.6). Below the limit a price is
    its decimal (12.34, 0.1); above it the line is refused, saying how to store the column."""
    lines = month["lines"].drop_duplicates("mdtrt_id").iloc[:3].reset_index(drop=True)  # of three claims
    big = 81.62 if narrow is np.float16 else 1_234_567.89
    lines = lines.assign(pric=np.array([12.34, 0.1, big]).astype(narrow), cnt=1.0)
    batch, rejects = load_batch(month | {"lines": lines})
    assert batch.lines["pric"].tolist() == [12.34, 0.1]
    refused = rejects[rejects["table"] == "lines"]
    assert refused["column"].tolist() == ["pric"]
    assert refused["reason"].iat[0].endswith(f"stored as {narrow.__name__}, which cannot hold it to 2 decimals: "
                                             f"store the column as float64 or decimal")


def test_a_set_of_materials_reads_as_its_items(month: dict[str, pd.DataFrame]) -> None:
    """A set was one unknown code ("{'invoice', ...}"): the claim waited for every material."""
    claims = month["claims"].assign(materials=[set(m.split(";")) - {""} for m in month["claims"]["materials"]])
    read = _claims_read(month | {"claims": claims})["materials"]
    expected = [";".join(sorted(m.split(";"))) if m else "" for m in _claims_read(month)["materials"]]
    assert read.tolist() == expected


def test_a_lone_surrogate_in_a_cell_is_shown_not_raised(month: dict[str, pd.DataFrame]) -> None:
    """Text decoded with errors="surrogateescape" keeps bytes that are no text as lone surrogates:
    UnicodeEncodeError from Arrow, a traceback."""
    lines = month["lines"].astype({"med_list_codg": object})
    lines.loc[0, "med_list_codg"] = "J18.9\udcff"
    batch, rejects = load_batch(month | {"lines": lines})
    assert "J18.9?" in set(batch.lines["med_list_codg"]) | set(rejects["key"])


@pytest.mark.parametrize("extra, says", [
    ("claims ", "sheets 'claims' and 'claims ' are both table claims: keep one"),
    ("Accumulators", "sheet 'Accumulators' would not be read: name it accumulators"),
])
def test_a_sheet_naming_a_table_twice_or_in_other_letters_is_refused(tmp_path: Path, extra: str, says: str) -> None:
    """Before: a second claims sheet ('claims ', 150 of 300 claims) was dropped without a reject,
    and an 'Accumulators' sheet was ignored, its persons' deductibles paid again."""
    from openpyxl import load_workbook

    book = write_workbook(tmp_path / "batch.xlsx", {})
    wb = load_workbook(book)
    wb.create_sheet(extra)
    wb.save(book)
    with pytest.raises(InputError, match=f"^{re.escape(f'{book}: {says}')}$"):
        read_batch(book)


def test_a_file_naming_a_table_in_other_letters_is_refused(tmp_path: Path) -> None:
    from yibao.partition import score_partitioned

    write_folder(tmp_path / "batch")
    (tmp_path / "batch" / "Accumulators.csv").write_text("psn_no,year,hifp_paid\nP1,2025,100\n", encoding="utf-8")
    says = f"{tmp_path / 'batch'}: file 'Accumulators.csv' would not be read: name it accumulators"
    for run in (lambda: read_batch(tmp_path / "batch"), lambda: score_partitioned(tmp_path / "batch", tmp_path / "out", 2)):
        with pytest.raises(InputError, match=f"^{re.escape(says)}$"):
            run()


# --- a stray value far outside a sheet's table ----------------------------------------------

class Calamine:
    """The sheets calamine is asked to lay out as a grid. A sheet in `withheld` is not handed to
    it: its grid would abort the tests (XFD1048576, 550 GB) or take gigabytes, so asking for it
    fails the test instead."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import yibao.io

        self.asked: list[str] = []
        self.withheld: set[str] = set()
        real = yibao.io._open_workbook
        monkeypatch.setattr(yibao.io, "_open_workbook", lambda path: self.Book(real(path), self))

    class Book:
        def __init__(self, book: object, calamine: Calamine) -> None:
            self.book, self.calamine, self.sheet_names = book, calamine, book.sheet_names  # type: ignore[attr-defined]

        def get_sheet_by_name(self, name: str) -> object:
            self.calamine.asked.append(name)
            if name in self.calamine.withheld:
                raise AssertionError(f"calamine was asked to lay out sheet {name}")
            return self.book.get_sheet_by_name(name)  # type: ignore[attr-defined]


@pytest.fixture
def calamine(monkeypatch: pytest.MonkeyPatch) -> Calamine:
    return Calamine(monkeypatch)


def with_cell(book: Path, sheet: str, cell: str, what: str = "value") -> Path:
    """The workbook with `cell` of `sheet` holding a stray value, or only a format and its row a
    height (no value): a few kilobytes wherever the cell is."""
    from openpyxl import load_workbook
    from openpyxl.styles import Font

    wb = load_workbook(book)
    if what == "value":
        wb[sheet][cell] = "x"
    else:
        wb[sheet][cell].font = Font(bold=True)
        wb[sheet].row_dimensions[wb[sheet][cell].row].height = 30
    wb.save(book)
    return book


@pytest.mark.parametrize(("sheet", "cell", "says"), [
    ("statuses", "XFD1048576", "cell XFD1048576 holds a value below 1,048,573 empty rows: delete it, "
                               "or the empty rows above it if its row belongs to the table"),
    ("lines", "A1048576", "cell A1048576 holds a value below 1,048,569 empty rows"),
    ("lines", "XFD100", "cell XFD100 holds a value far outside the table (read from A1 to XFD100, the sheet "
                        "would be 1,638,400 cells for 41 values): delete it, or whatever else lies outside the table"),
])
def test_a_value_far_outside_a_table_refuses_its_sheet_before_calamine_lays_it_out(
        tmp_path: Path, calamine: Calamine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        sheet: str, cell: str, says: str) -> None:
    """Before: calamine laid the sheet out as a grid from A1 to the stray value, 32 bytes a cell.
    XFD1048576 asked for 550 GB and Rust aborted the process (exit 134, a Rust backtrace);
    A1048576 of lines made a million empty lines, each rejected, and the run ran out of memory."""
    from conftest import run_cli

    book = with_cell(write_workbook(tmp_path / "batch.xlsx", {}), sheet, cell)
    calamine.withheld.add(sheet)
    with pytest.raises(InputError, match=f"^{re.escape(f'{book}: sheet {sheet}, {says}')}"):
        read_batch(book)
    with pytest.raises(InputError, match=re.escape(says)):
        read_table(book, sheet)
    code, err = run_cli(["score", str(book), "--out", str(tmp_path / "out"), "--quiet"], capsys, monkeypatch)
    assert code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1 and says in err, err
    assert sheet not in calamine.asked


def test_formats_far_out_and_a_run_of_1000_empty_rows_are_read(tmp_path: Path, calamine: Calamine) -> None:
    """A format is no value (calamine skips it), wherever it is; up to 1,000 empty rows in a run
    are rows of the table, as before (a value in a column without a name is ignored)."""
    book = write_workbook(tmp_path / "batch.xlsx", {})
    with_cell(with_cell(book, "statuses", "XFD1048576", "format"), "lines", "A1048576", "format")
    batch, rejects = read_batch(book)
    assert rejects.empty and len(batch.lines) == 5 and {"statuses", "lines"} <= set(calamine.asked)
    statuses = write_workbook(tmp_path / "1000.xlsx", {})
    assert len(read_table(with_cell(statuses, "statuses", "Z1003"), "statuses")) == 1002  # rows 2-1003
    statuses = write_workbook(tmp_path / "1001.xlsx", {})
    with pytest.raises(InputError, match="sheet statuses, cell Z1004 holds a value below 1,001 empty rows"):
        read_table(with_cell(statuses, "statuses", "Z1004"), "statuses")


def test_blank_rows_inside_a_sheet_are_one_reject_each(tmp_path: Path) -> None:
    """Rows 7 and 8 of the lines sheet are blank, row 9 holds only its claim id; a value in a column
    without a name (row 10) is none of the table's."""
    book = with_cell(with_cell(write_workbook(tmp_path / "batch.xlsx", {}), "lines", "A9"), "lines", "Z10")
    batch, rejects = read_batch(book)
    assert len(batch.lines) == 5
    assert rejects.loc[rejects["row"] != 9, ["row", "column", "reason"]].values.tolist() == [
        [row, "", "empty row: no column of the table holds a value"] for row in (7, 8, 10)]
    assert rejects.loc[rejects["row"] == 9, "column"].tolist() == [
        "line_id", "med_list_codg", "service_date", "pric", "cnt", "mdtrt_id"]


HEAD = '<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c><c r="B1" t="s"><v>0</v></c></row>'


@pytest.mark.parametrize(("rows", "far"), [
    (HEAD + '<row r="2"><c r="B2"><v>1</v></c></row><row r="1003"><c r="B1003"><v>2</v></c></row>', None),
    (HEAD + '<row r="2"><c r="B2"><v>1</v></c></row><row r="1004" spans="1:2"><c r="A1004" s="1"/>'
     '<c r="B1004" s="1"></c><c r="C1004"><f>1+1</f><v>2</v></c></row>', "cell C1004 holds a value below 1,001 empty rows"),
    (HEAD + '<row r="1048576" ht="30" customHeight="1"><c r="XFC1048576" s="1"/><c r="XFD1048576" s="1"></c></row>'
     '<row r="1048577"/>', None),  # formats, no value
    (HEAD + '<row><c><v>1</v></c></row><row r="5000"><c s="1"/><c t="inlineStr"><is><t>x</t></is></c></row>',
     "cell B5000 holds a value below 4,997 empty rows"),  # no references: the cells follow each other
    (HEAD + "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(2, 66)),
     None),  # 65 rows, 2 columns: a grid of 130 cells
    (HEAD.replace('"B1"', '"XFD1"') + "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(2, 66)),
     "cell XFD1 holds a value far outside the table (read from A1 to XFD65, the sheet would be 1,064,960 cells"),
])
@pytest.mark.parametrize("prefix", ["", "x:"])
def test_the_far_cell_is_found_in_the_sheets_xml(monkeypatch: pytest.MonkeyPatch, rows: str, far: str | None,
                                                 prefix: str) -> None:
    """As any program may write a sheet: with tags in a prefix, cells without references, formats
    only, a dimension that claims the whole grid (not trusted: Excel counts formats in it); and
    read in pieces cut anywhere."""
    import io

    import yibao.io

    tags = rows.replace("</", "\0").replace("<", f"<{prefix}").replace("\0", f"</{prefix}")
    xml = (f'<?xml version="1.0" encoding="UTF-8"?><{prefix}worksheet xmlns{":x" if prefix else ""}='
           f'"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><{prefix}dimension ref="A1:XFD1048576"/>'
           f"<{prefix}sheetData>{tags}</{prefix}sheetData><{prefix}rowBreaks/></{prefix}worksheet>").encode()
    for block in (7, 1 << 20):
        monkeypatch.setattr(yibao.io, "SCAN_BLOCK", block)
        found = yibao.io._far_cell(io.BytesIO(xml))
        assert found is None if far is None else found is not None and found.startswith(far), found


# Pieces of a sheet's XML, well formed or not, for the row scan's patterns to meet in any order
SHEET_PIECES = ['<row>', '<row r="5">', '<row spans="1:3" r="70">', '<row r="9"/>', '<rows>', '</row>', '<c/>',
                '<c r="A1"/>', '<c r="B1" s="1" />', '<c r="C1"></c>', '<c r="C1">\n </c>', '<c r="D1"><v>1</v></c>',
                '<c t="s"><v>0</v>', '<c r="E1" t="inlineStr"><is><t>x</t></is></c>', '<c r="F1" a="/"/>',
                '<c r="G1"/ >', '<cx/>', '</c>', '</x>', ' ', '/', '>', '<', 'r="3"', '<v>', '<c r="AB12" s="1">']
BACKTRACKING_FILLED = rb"[^>]*(?<!/)>(?!\s*</)"  # the end of a cell with a value, as written before


@given(st.lists(st.sampled_from(SHEET_PIECES), max_size=40), st.sampled_from(["", "x:"]))
def test_the_row_scans_possessive_patterns_find_what_backtracking_ones_found(pieces: list[str], prefix: str) -> None:
    """Possessive quantifiers (Python 3.11) where only the longest run can match save the scan
    its retries: the patterns as they were written before, with backtracking, find the same."""
    import yibao.io

    xml = "".join(pieces).replace("</", "\0").replace("<", f"<{prefix}").replace("\0", f"</{prefix}").encode()
    cell = rb"<" + re.escape(prefix.encode()) + rb"c\b"
    before = re.compile(rb"<" + re.escape(prefix.encode()) + rb'row\b(?:[^>]*?\br="([0-9]+)")?[^>]*(?<!/)>'
                        rb"(?:\s*" + cell + rb"[^>]*?(?:/>|>\s*</[^>]*>))*\s*" + cell + BACKTRACKING_FILLED)
    found = yibao.io._Extent(prefix.encode()).valued_rows
    assert [(m.span(), m.groups()) for m in found.finditer(xml)] == [(m.span(), m.groups()) for m in before.finditer(xml)]
    for width in (0, 1, 2, 28):
        right = yibao.io._right_of(width)
        before = re.compile(right.pattern.removesuffix(yibao.io._FILLED) + BACKTRACKING_FILLED)
        assert [m.span() for m in right.finditer(xml)] == [m.span() for m in before.finditer(xml)]


def test_a_long_row_is_scanned_in_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both scans of a sheet's XML copied and searched the row read so far at each block: a row of
    500 MB of spaces (600 kB zipped) took 109 s to scan for a far cell and 126 s for formulas.
    Here 8 MB in blocks of 1 kB, as 8,000 MB in blocks of 1 MB: seconds before, now milliseconds."""
    import io
    import time

    import yibao.formulas
    import yibao.io

    monkeypatch.setattr(yibao.io, "SCAN_BLOCK", 1 << 10)
    xml = (b'<worksheet><sheetData><row r="1"><c r="A1"><f>1+1</f></c>' + b" " * (8 << 20)
           + b'</row><row r="5000"><c r="B5000"><v>1</v></c></row></sheetData></worksheet>')
    formulas = yibao.formulas.Uncomputed(False)
    started = time.perf_counter()
    assert yibao.io._far_cell(io.BytesIO(xml), formulas.take).startswith("cell B5000 holds a value below 4,998 "
                                                                          "empty rows")
    assert formulas.first == ("A1", "without its computed value")
    assert time.perf_counter() - started < 2


def test_a_claim_without_lines_is_set_aside_and_an_application_is_not() -> None:
    """A claim of kind `claim` with no line was approved, every amount 0, and counted as an
    admission of the year (the next admission's deductible halved by the repeat factor)."""
    from conftest import cases_tables, line, make_case

    cases = [make_case(claim={"mdtrt_id": "C1"}, lines=[line("S-CT", 150.0)]),
             make_case(claim={"mdtrt_id": "C2"}, lines=[]),
             make_case(claim={"mdtrt_id": "A1", "kind": "chronic_application", "med_type": None,
                              "institution": None, "diagnoses": ["I10"], "materials": []}, lines=[])]
    batch, rejects = normalize(cases_tables(cases), {})
    assert list(batch.claims["mdtrt_id"]) == ["C1", "A1"]
    assert rejects[["table", "row", "column", "key"]].to_dict("records") == [
        {"table": "claims", "row": 3, "column": "mdtrt_id", "key": "C2"}]
    assert rejects["reason"].iat[0].startswith("no line in lines names this claim: a claim is paid on its fee lines")
