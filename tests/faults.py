"""The fault corpus: faulty batches as careful users make them, generated from a small synthetic
batch (nothing binary is checked in).

Each fault edits a copy of a clean CSV batch the way a spreadsheet, an export script or a tired
person does: a file missing, empty or garbled, a column twice, a cell with a typo, an amount of
10^15 yuan, a date in a year the holiday calendar does not know. `tests/test_faults.py` runs
`yibao score` on each and holds the pipeline to its promise: no traceback; exit 2 with one line
naming the file for a file fault; for everything else, every input claim and line either scored
or rejected with its row, and no personal data (person numbers, birth dates) in any message.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa

Edit = Callable[[Path], None]


@dataclass(frozen=True)
class Fault:
    name: str
    edit: Edit
    outcome: str = "scored"  # "scored": exit 0, bad rows in rejects; "refused": exit 2 with one line
    rejected: tuple[str, str] | None = None  # (table, column) a reject must name, where known
    args: tuple[str, ...] = field(default=())  # extra command-line arguments (paths relative to the batch)


def _rows(folder: Path, table: str) -> list[list[str]]:
    with (folder / f"{table}.csv").open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def _write(folder: Path, table: str, rows: list[list[str]], encoding: str = "utf-8") -> None:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    (folder / f"{table}.csv").write_bytes(text.getvalue().encode(encoding))


def cell(table: str, column: str, value: str, row: int = 0) -> Edit:
    """Set one cell (row: 0-based data row; -1 the last)."""
    def edit(folder: Path) -> None:
        rows = _rows(folder, table)
        rows[1:][row][rows[0].index(column)] = value
        _write(folder, table, rows)
    return edit


def column_everywhere(table: str, column: str, value: str) -> Edit:
    def edit(folder: Path) -> None:
        rows = _rows(folder, table)
        i = rows[0].index(column)
        for r in rows[1:]:
            r[i] = value
        _write(folder, table, rows)
    return edit


def map_column(table: str, column: str, how: Callable[[str], str]) -> Edit:
    def edit(folder: Path) -> None:
        rows = _rows(folder, table)
        i = rows[0].index(column)
        for r in rows[1:]:
            r[i] = how(r[i])
        _write(folder, table, rows)
    return edit


def drop_column(table: str, column: str) -> Edit:
    def edit(folder: Path) -> None:
        rows = _rows(folder, table)
        i = rows[0].index(column)
        _write(folder, table, [r[:i] + r[i + 1:] for r in rows])
    return edit


def duplicate_column(table: str, column: str) -> Edit:
    def edit(folder: Path) -> None:
        rows = _rows(folder, table)
        i = rows[0].index(column)
        _write(folder, table, [r + [r[i]] for r in rows])
    return edit


def rename_column(table: str, column: str, new: str) -> Edit:
    def edit(folder: Path) -> None:
        rows = _rows(folder, table)
        rows[0][rows[0].index(column)] = new
        _write(folder, table, rows)
    return edit


def header_only(table: str) -> Edit:
    return lambda folder: _write(folder, table, _rows(folder, table)[:1])


def raw_bytes(table: str, data: bytes) -> Edit:
    return lambda folder: (folder / f"{table}.csv").write_bytes(data)


def remove(table: str) -> Edit:
    return lambda folder: (folder / f"{table}.csv").unlink()


def append_text(table: str, text: str) -> Edit:
    def edit(folder: Path) -> None:
        with (folder / f"{table}.csv").open("a", encoding="utf-8", newline="") as f:
            f.write(text)
    return edit


def duplicate_row(table: str, row: int = 0) -> Edit:
    def edit(folder: Path) -> None:
        rows = _rows(folder, table)
        _write(folder, table, rows + [list(rows[1 + row])])
    return edit


def drop_rows(table: str, keep: Callable[[int], bool]) -> Edit:
    def edit(folder: Path) -> None:
        rows = _rows(folder, table)
        _write(folder, table, rows[:1] + [r for i, r in enumerate(rows[1:]) if keep(i)])
    return edit


def reverse_rows(table: str) -> Edit:
    def edit(folder: Path) -> None:
        rows = _rows(folder, table)
        _write(folder, table, rows[:1] + rows[1:][::-1])
    return edit


def encode(table: str, encoding: str, bom: bool = False) -> Edit:
    def edit(folder: Path) -> None:
        text = (folder / f"{table}.csv").read_text(encoding="utf-8-sig")
        (folder / f"{table}.csv").write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))
    return edit


def crlf(table: str) -> Edit:
    def edit(folder: Path) -> None:
        path = folder / f"{table}.csv"
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    return edit


def unclosed_quote(table: str, row: int = 0) -> Edit:
    """A quote opened in a data row and never closed: the parser reads on to the end of file."""
    def edit(folder: Path) -> None:
        path = folder / f"{table}.csv"
        lines = path.read_text(encoding="utf-8-sig").split("\n")
        lines[1 + row] = lines[1 + row] + ',"unclosed'
        path.write_text("\n".join(lines), encoding="utf-8")
    return edit


def ragged(table: str, extra: int, row: int = 0) -> Edit:
    """A data row with `extra` more (or, negative, fewer) fields than the header."""
    def edit(folder: Path) -> None:
        rows = _rows(folder, table)
        r = rows[1 + row]
        rows[1 + row] = r + ["x"] * extra if extra > 0 else r[:extra]
        _write(folder, table, rows)
    return edit


def both(*edits: Edit) -> Edit:
    def edit(folder: Path) -> None:
        for e in edits:
            e(folder)
    return edit


def shift_years(years: int) -> Edit:
    """Every date of every table moved by whole years (a batch of a later year)."""
    def move(text: str) -> str:
        if len(text) == 10 and text[4] == "-" and text[:4].isdigit():
            return f"{int(text[:4]) + years}{text[4:]}".replace("-02-29", "-02-28")
        return text

    def edit(folder: Path) -> None:
        for path in folder.glob("*.csv"):
            table = path.stem
            rows = _rows(folder, table)
            _write(folder, table, rows[:1] + [[move(v) for v in r] for r in rows[1:]])
    return edit


def parquet_instead(table: str, data: bytes | None = None) -> Edit:
    """A `.parquet` beside (or, with garbage `data`, instead of) the CSV."""
    def edit(folder: Path) -> None:
        if data is None:
            import pyarrow.csv as pacsv
            import pyarrow.parquet as pq
            pq.write_table(pacsv.read_csv(folder / f"{table}.csv"), folder / f"{table}.parquet")
        else:
            (folder / f"{table}.csv").unlink()
            (folder / f"{table}.parquet").write_bytes(data)
    return edit


def parquet_column(table: str, column: str, typed: Callable[[list[str]], pa.Array], claimed: str | None = None,
                   metadata: dict[bytes, bytes] | None = None, **options: Any) -> Edit:
    """The table as Parquet instead of CSV, written from pandas as a user's script would, with
    `column` typed by `typed` (given its text cells). The pandas metadata says the column is of
    the dtype `claimed` (as it was when a script read the file, before it retyped the column), or
    is replaced by `metadata`; `options` go to the writer (legacy INT96 timestamps)."""
    def edit(folder: Path) -> None:
        import pyarrow.parquet as pq

        from yibao.io import read_table

        frame = read_table(folder / f"{table}.csv")
        arrow = pa.Table.from_pandas(frame if claimed is None else frame.astype({column: claimed}),
                                     preserve_index=False)
        arrow = arrow.set_column(arrow.schema.get_field_index(column), column, typed(list(frame[column])))
        if metadata is not None:
            arrow = arrow.replace_schema_metadata(metadata)
        (folder / f"{table}.csv").unlink()
        pq.write_table(arrow, folder / f"{table}.parquet", **options)
    return edit


def parts_without(table: str, column: str) -> Edit:
    """The table as a folder of two Parquet parts, the second without `column`."""
    def edit(folder: Path) -> None:
        import pyarrow.parquet as pq

        from yibao.io import read_table

        arrow = pa.Table.from_pandas(read_table(folder / f"{table}.csv"), preserve_index=False)
        (folder / f"{table}.csv").unlink()
        (folder / table).mkdir()
        half = len(arrow) // 2
        pq.write_table(arrow.slice(0, half), folder / table / "part-00000.parquet")
        pq.write_table(arrow.slice(half).drop_columns([column]), folder / table / "part-00001.parquet")
    return edit


def days(first: dt.datetime, kind: pa.DataType) -> Callable[[list[str]], pa.Array]:
    """A date column as Arrow `kind`, its first cell `first` (beyond pandas' years 1677-2262)."""
    return lambda cells: pa.array([first] + [dt.datetime.fromisoformat(c) if c else None for c in cells[1:]], kind)


def sheetless_workbook(table: str) -> Edit:
    """The table as an .xlsx workbook without a single sheet (openpyxl writes none such: its
    sheets are taken out of one it wrote)."""
    def edit(folder: Path) -> None:
        import openpyxl

        plain = io.BytesIO()
        openpyxl.Workbook().save(plain)
        with zipfile.ZipFile(plain) as source, zipfile.ZipFile(folder / f"{table}.xlsx", "w") as target:
            for item in source.infolist():
                data = source.read(item.filename)
                if item.filename == "xl/workbook.xml":
                    data = re.sub(rb"<sheets>.*</sheets>", b"<sheets/>", data, flags=re.S)
                if not item.filename.startswith("xl/worksheets/"):
                    target.writestr(item, data)
        (folder / f"{table}.csv").unlink()
    return edit


def beside(name: str, data: bytes) -> Edit:
    """A file beside the batch (an argument names it as ../NAME)."""
    return lambda folder: (folder.parent / name).write_bytes(data)


def accumulators_file(text: str) -> Edit:
    return lambda folder: (folder.parent / "acc.csv").write_text(text, encoding="utf-8")


REQUIRED = ("persons", "statuses", "certifications", "filings", "institutions", "claims", "lines")
HUGE = "1000000000000000"  # 10^15 yuan

FAULTS: list[Fault] = [
    # --- files -------------------------------------------------------------------------------
    *(Fault(f"missing {t}", remove(t), "refused") for t in REQUIRED),
    *(Fault(f"empty file {t}", raw_bytes(t, b""), "refused") for t in REQUIRED),
    *(Fault(f"header only {t}", header_only(t)) for t in REQUIRED + ("enrolments",)),
    Fault("only a BOM", raw_bytes("claims", b"\xef\xbb\xbf"), "refused"),
    Fault("binary garbage", raw_bytes("lines", bytes(range(256)) * 8), "refused"),
    Fault("garbage parquet", parquet_instead("claims", b"PAR1 not really"), "refused"),
    Fault("parquet beside csv", parquet_instead("persons"), "refused"),
    *(Fault(f"no column {t}.{c}", drop_column(t, c), "refused") for t, c in (
        ("claims", "mdtrt_id"), ("lines", "pric"), ("persons", "birth_date"), ("institutions", "level"))),
    Fault("optional column absent", drop_column("lines", "det_item_fee_sumamt")),
    *(Fault(f"duplicate header {t}.{c}", duplicate_column(t, c), "refused") for t, c in (
        ("persons", "psn_no"), ("lines", "pric"), ("claims", "med_type"))),
    Fault("header in capitals", rename_column("claims", "med_type", "MED_TYPE"), "refused"),
    Fault("header with spaces", rename_column("claims", "med_type", " med_type ")),
    Fault("header misspelt", rename_column("lines", "chrgitm_lv", "chrgitm_level"), "refused"),
    Fault("dates with a time of day", both(map_column("claims", "admit_date", lambda d: d and f"{d} 10:30:00"),
                                           map_column("lines", "service_date", lambda d: d and f"{d} 00:00:00"))),
    Fault("a 2 MB cell in lines", cell("lines", "line_id", "7" * (2 << 20), 3), rejected=("lines", "line_id")),
    Fault("unclosed quote in persons", unclosed_quote("persons", 2), "refused"),
    Fault("unclosed quote in lines", unclosed_quote("lines", 5), "refused"),
    Fault("row with extra fields", ragged("persons", 2, 1), "refused"),
    Fault("row with fewer fields", ragged("lines", -3, 4), "refused"),
    Fault("GBK institutions", encode("institutions", "gbk")),
    Fault("GB18030 institutions", encode("institutions", "gb18030")),
    Fault("UTF-8 with BOM everywhere", both(*(encode(t, "utf-8", bom=True) for t in REQUIRED))),
    Fault("CRLF line ends", both(crlf("claims"), crlf("lines"))),
    Fault("lines in reverse order", reverse_rows("lines")),
    Fault("claims in reverse order", reverse_rows("claims")),
    Fault("trailing blank lines", append_text("lines", "\n\n\n")),
    # --- cells: amounts ----------------------------------------------------------------------
    Fault("price 10^15 yuan", cell("lines", "pric", HUGE), rejected=("lines", "pric")),
    Fault("line amount 10^15 yuan", cell("lines", "det_item_fee_sumamt", HUGE, 3),
          rejected=("lines", "det_item_fee_sumamt")),
    Fault("quantity 10^12", cell("lines", "cnt", "1000000000000", 2), rejected=("lines", "cnt")),
    Fault("price 1e400", cell("lines", "pric", "1e400"), rejected=("lines", "pric")),
    Fault("price inf", cell("lines", "pric", "inf"), rejected=("lines", "pric")),
    Fault("price nan", cell("lines", "pric", "nan"), rejected=("lines", "pric")),
    Fault("price negative", cell("lines", "pric", "-12.50"), rejected=("lines", "pric")),
    Fault("price three decimals", cell("lines", "pric", "1.234"), rejected=("lines", "pric")),
    Fault("price with thousands comma", cell("lines", "pric", "1,234.50"), rejected=("lines", "pric")),
    Fault("price with yuan sign", cell("lines", "pric", "¥12.00"), rejected=("lines", "pric")),
    Fault("price empty", cell("lines", "pric", ""), rejected=("lines", "pric")),
    Fault("quantity zero", cell("lines", "cnt", "0"), rejected=("lines", "cnt")),
    Fault("quantity text", cell("lines", "cnt", "two"), rejected=("lines", "cnt")),
    Fault("self-pay share 1.5", cell("lines", "selfpay_prop", "1.5"), rejected=("lines", "selfpay_prop")),
    Fault("price cap 10^15", cell("lines", "pric_uplmt_amt", HUGE), rejected=("lines", "pric_uplmt_amt")),
    Fault("every price at the bound", column_everywhere("lines", "pric", "10000000")),
    Fault("wage 10^15", cell("persons", "employer_avg_monthly_wage", HUGE),
          rejected=("persons", "employer_avg_monthly_wage")),
    Fault("infants negative", cell("claims", "infants", "-1", 5)),
    Fault("level fractional", cell("institutions", "level", "2.5"), rejected=("institutions", "level")),
    # --- cells: dates --------------------------------------------------------------------------
    *(Fault(f"admission {v!r}", cell("claims", "admit_date", v, 1)) for v in (
        "2025-13-01", "2025-02-30", "tomorrow", "9999-12-31", "1800-01-01", "2300-01-01", "0000-00-00")),
    *(Fault(f"service date {v!r}", cell("lines", "service_date", v, 2)) for v in (
        "2025/1/1", "20250101", "2025-1-1", "01/05/2025", "45658")),
    Fault("birth date in the future", cell("persons", "birth_date", "2090-01-01")),
    Fault("discharge before admission", cell("claims", "discharge_date", "2020-01-01", 1),
          rejected=("claims", "discharge_date")),
    Fault("status ends before it starts", cell("statuses", "valid_to", "1990-01-01"),
          rejected=("statuses", "valid_to")),
    Fault("a 2027 batch", shift_years(2)),
    Fault("a 2031 batch", shift_years(6)),
    Fault("a 2099 batch", shift_years(74)),
    Fault("a 2003 batch", shift_years(-22)),
    # --- cells: codes and keys ---------------------------------------------------------------
    Fault("unknown med_type", cell("claims", "med_type", "99"), rejected=("claims", "med_type")),
    Fault("unknown insutype", cell("persons", "insutype", "999"), rejected=("persons", "insutype")),
    Fault("gender lower case", cell("persons", "gender", "f"), rejected=("persons", "gender")),
    Fault("unknown claim kind", cell("claims", "kind", "refund"), rejected=("claims", "kind")),
    Fault("boolean maybe", cell("institutions", "networked", "maybe"), rejected=("institutions", "networked")),
    Fault("boolean 是", cell("institutions", "networked", "是")),
    Fault("unknown person", cell("claims", "psn_no", "999999999999"), rejected=("claims", "psn_no")),
    Fault("unknown institution", cell("claims", "institution_id", "H999999", 2),
          rejected=("claims", "institution_id")),
    Fault("empty person number", cell("claims", "psn_no", ""), rejected=("claims", "psn_no")),
    Fault("claim id of 100 characters", cell("claims", "mdtrt_id", "C" * 100, 2), rejected=("claims", "mdtrt_id")),
    Fault("duplicate claim", duplicate_row("claims", 3), rejected=("claims", "mdtrt_id")),
    Fault("duplicate line", duplicate_row("lines", 7), rejected=("lines", "line_id")),
    Fault("duplicate person", duplicate_row("persons", 1), rejected=("persons", "psn_no")),
    Fault("duplicate institution", duplicate_row("institutions", 1), rejected=("institutions", "institution_id")),
    Fault("orphan line", cell("lines", "mdtrt_id", "C-NO-SUCH", -1), rejected=("lines", "mdtrt_id")),
    Fault("claims without lines", drop_rows("lines", lambda i: i % 2 == 0)),
    Fault("claims without persons", drop_rows("persons", lambda i: i != 0)),
    Fault("every line rejected", column_everywhere("lines", "pric", "x")),
    Fault("every person rejected", column_everywhere("persons", "insutype", "1")),
    Fault("unknown disease code", column_everywhere("certifications", "disease", "ZZZ")),
    Fault("unknown filing kind", column_everywhere("filings", "kind", "holiday"), rejected=("filings", "kind")),
    Fault("unknown catalogue items", map_column("lines", "med_list_codg", lambda v: "NOPE-" + v)),
    Fault("codes with spaces", map_column("lines", "med_list_codg", lambda v: f"  {v} ")),
    Fault("a 10,000-character cell", cell("claims", "diagnoses", "J18.9;" * 1666 + "I10")),
    Fault("control characters", cell("claims", "diagnoses", "J18\x07.9\x00")),
    Fault("emoji in a name", cell("institutions", "name", "医院🏥")),
    Fault("whitespace-only cells", cell("claims", "med_type", "   ", 4)),
    Fault("materials with empty items", cell("claims", "materials", ";;id_document;;", 0)),
    Fault("formula injection", cell("institutions", "name", "=HYPERLINK(\"http://x\")")),
    # --- the accumulators file ------------------------------------------------------------------
    Fault("accumulators with a bad row", accumulators_file(
        "psn_no,year,hifp_paid\n410000000001,2025,12.345\n410000000002,2025,100.00\n"),
        rejected=("accumulators", "hifp_paid"), args=("--accumulators", "../acc.csv")),
    Fault("accumulators 10^15", accumulators_file(f"psn_no,year,hifp_paid\n410000000003,2025,{HUGE}\n"),
          rejected=("accumulators", "hifp_paid"), args=("--accumulators", "../acc.csv")),
    Fault("accumulators missing", lambda folder: None, "refused", args=("--accumulators", "../no-such.csv")),
    Fault("accumulators empty", accumulators_file(""), "refused", args=("--accumulators", "../acc.csv")),
    Fault("accumulators of an unknown person", accumulators_file(
        "psn_no,year,hifp_paid\n999999999999,2025,10.00\n"), args=("--accumulators", "../acc.csv")),
    Fault("chronic payments not amounts", accumulators_file(
        "psn_no,year,chronic_paid\n410000000001,2025,E11=abc\n410000000002,2025,E11=12.50;I10=3.205\n"
        f"410000000003,2025,I10={HUGE}\n410000000004,2025,E11=2950.00;I10=120.50\n"),
          rejected=("accumulators", "chronic_paid"), args=("--accumulators", "../acc.csv")),
    # --- Parquet and xlsx as other tools write them ----------------------------------------------
    # dates beyond pandas' years, without pandas' metadata (as Arrow-native tools write them), and
    # as Hive or older Spark write them: INT96 timestamps, no Arrow schema to say their unit
    Fault("parquet birth date in 1500", parquet_column(
        "persons", "birth_date", days(dt.datetime(1500, 1, 1), pa.date32()), metadata={}),
          rejected=("persons", "birth_date")),
    Fault("parquet service date in 2300", parquet_column(
        "lines", "service_date", days(dt.datetime(2300, 1, 1), pa.timestamp("us")), metadata={}),
          rejected=("lines", "service_date")),
    Fault("parquet INT96 birth date in 1500", parquet_column(
        "persons", "birth_date", days(dt.datetime(1500, 1, 1), pa.timestamp("ms")), metadata={},
        use_deprecated_int96_timestamps=True, store_schema=False), rejected=("persons", "birth_date")),
    Fault("parquet metadata of another type", parquet_column("institutions", "level", pa.array, claimed="Int64")),
    Fault("parquet metadata not JSON", parquet_column("institutions", "level", pa.array,
                                                      metadata={b"pandas": b"{not json"})),
    *(Fault(f"person numbers beyond 2^63{' in partitions' if args else ''}",
            parquet_column("persons", "psn_no", lambda cells: pa.array([2**63 + int(c) for c in cells], pa.uint64())),
            rejected=("claims", "psn_no"), args=args) for args in ((), ("--partitions", "2"))),
    Fault("lines.xlsx without a sheet", sheetless_workbook("lines"), "refused"),
    *(Fault(f"a part of lines without pric{' in partitions' if args else ''}", parts_without("lines", "pric"),
            "refused", args=args) for args in ((), ("--partitions", "2"))),
    # --- the command line -----------------------------------------------------------------------
    Fault("tariff unknown", lambda folder: None, "refused", args=("--tariff", "no-such-county")),
    Fault("tariff version unknown", lambda folder: None, "refused", args=("--tariff", "sample-county@1999")),
    Fault("format unknown", lambda folder: None, "refused", args=("--format", "docx")),
    Fault("tariff file not UTF-8", beside("bad.yaml", b"\xff\xfe\x94 garbage"), "refused",
          args=("--tariff", "../bad.yaml")),
    Fault("tariff of 5,000 characters", lambda folder: None, "refused", args=("--tariff", "x" * 5000)),
]


# --- what-if cases: (name, change of the parsed case, or raw text replacing the file) ------------

def _set(path: str, value: object) -> Callable[[dict], None]:
    """Set a dotted path of a case (`lines.0.pric`); the value None deletes the key."""
    def change(case: dict) -> None:
        *parents, last = path.split(".")
        node: object = case
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]  # type: ignore[index]
        key: object = int(last) if isinstance(node, list) else last
        if value is None:
            del node[key]  # type: ignore[arg-type, index]
        else:
            node[key] = value  # type: ignore[index]
    return change


CASE_FAULTS: list[tuple[str, Callable[[dict], None] | str, str]] = [
    ("not JSON", "{", "refused"),
    ("a list", "[]", "refused"),
    ("nested past any case", "[" * 100_000 + "]" * 100_000, "refused"),
    ("UTF-16 bytes", "\ufeff{}", "refused"),
    ("no person number", _set("person.psn_no", None), "refused"),
    ("birth date 1970-13-45", _set("person.birth_date", "1970-13-45"), "refused"),
    ("price 10^15", _set("lines.0.pric", 1e15), "refused"),
    ("price text", _set("lines.0.pric", "abc"), "refused"),
    ("price negative", _set("lines.0.pric", -1), "refused"),
    ("no lines", _set("lines", None), "refused"),  # a claim is paid on its lines (io.NO_LINES)
    ("empty lines", _set("lines", []), "refused"),
    ("in 2027", lambda c: (_set("claim.admit_date", "2027-05-06")(c), _set("claim.discharge_date", "2027-05-12")(c),
                           _set("claim.submitted_date", "2027-05-12")(c)), "scored"),
    ("in 2099", lambda c: (_set("claim.admit_date", "2099-05-06")(c), _set("claim.discharge_date", "2099-05-12")(c),
                           _set("claim.submitted_date", "2099-05-12")(c)), "scored"),
    ("unknown med_type", _set("claim.med_type", "99"), "refused"),
    ("discharge before admission", _set("claim.discharge_date", "2020-01-01"), "refused"),
]
