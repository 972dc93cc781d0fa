"""Batch tables in and out: typed frames for the pipeline, and every unusable row kept as a reject.

A county's month of claims arrives as files exported from hospital and agency systems, often
edited in a spreadsheet: codes with leading zeros, stray spaces, dates typed by hand. Reading
them must never silently drop or alter a row, and one bad cell must not stop a batch of ten
million lines. So a file that cannot be used at all (missing, unreadable, a required column
absent) raises `InputError`, while a bad cell sends its row to `rejects` with the file, the
spreadsheet row (header = row 1) and the column; a claim is scored whole or not at all, so a
claim with a rejected line, person or institution goes to `rejects` with all its lines.

Everything is vectorized: text cells are parsed once per distinct value (a month of lines
holds a few hundred distinct dates and prices), keys are proven unique by comparing neighbours
in the usual ordered file and looked up in Arrow hash tables once per claim rather than per
line, and per-row Python work happens only to word the reason of a row that failed. Text
columns use pandas' `str` dtype, which pandas 3 backs with Arrow: about a third of the memory
of Python string objects, and comparisons, `isin` and `.str` methods run in Arrow's C++
kernels (cells read back as Python `str`). Parquet columns may come typed (dates, numbers,
booleans) and are taken as they are; CSV is read with every column as text so "01" and "390"
keep their zeros, and xlsx sheets are turned into the same text (Excel's numbers and date cells
as a CSV would hold them), so every format goes through one validation.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import dataclasses
import datetime as dt
import functools
import itertools
import math
import os
import re
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, AbstractSet, Any, Callable, Iterator, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from xlsxwriter.utility import xl_cell_to_rowcol, xl_col_to_name

from yibao.codes import dictionary_codes, join_text, take_rising, worded as _worded
from yibao.errors import QUOTED, InputError, expect, kind, os_reason, path_shown, quoted, shortened
from yibao.fields import DATES, MONEY
from yibao.headers import check_header, field_name
from yibao.formulas import Uncomputed, scanned_sheet
from yibao.later import Later, made
from yibao.limits import ENV_MAX_LINE, FIRST_YEAR, LAST_YEAR, MAX_CNT, MAX_XLSX_TEXT_BYTES, max_line_yuan
from yibao.money import yuan_array_to_fen
from yibao.outputs import alive
from yibao.tables import INPUT_TABLES, LIST_SEP, OPTIONAL_TABLES, PERSONAL, TABLES, Column, ColType, amount_items
from yibao.workbook_zip import check_workbook_zip, size_text

REJECT_COLUMNS = ["table", "file", "row", "column", "key", "reason"]
CASCADED = "was rejected"
"""How the reason of a row rejected for another row's fault ends (a claim of a rejected person):
a case's one-line error names the fault itself."""
FIRST_ROW = 2  # spreadsheet number of a table's first data row (the header is row 1)
FORMATS = ("parquet", "csv", "xlsx")
READABLE = (".parquet", ".csv", ".xlsx")  # the files a table may come in

# Unique keys: every row sharing a key with another is rejected (which one is right is unknown).
KEYS: dict[str, tuple[str, ...]] = {
    "persons": ("psn_no",), "institutions": ("institution_id",), "claims": ("mdtrt_id",),
    "lines": ("mdtrt_id", "line_id"), "accumulators": ("psn_no", "year"),
}
# Rows describing a person: scoring without a rejected one would give a wrong answer silently,
# so the person (and with them their claims) is rejected too.
PERSON_DETAILS = ("enrolments", "statuses", "certifications", "filings", "accumulators")
# (table, start, end): an end before its start is a bad cell of the end column.
PERIODS = (("claims", "admit_date", "discharge_date"), ("enrolments", "valid_from", "valid_to"),
           ("statuses", "valid_from", "valid_to"), ("certifications", "valid_from", "valid_to"),
           ("filings", "valid_from", "valid_to"))
BOOL_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
# how dates are typed: ISO, as Excel shows them on Chinese Windows, and as systems export them
DATE_FORMATS = ((r"\d{4}-\d{2}-\d{2}", "%Y-%m-%d"), (r"\d{4}/\d{1,2}/\d{1,2}", "%Y/%m/%d"), (r"\d{8}", "%Y%m%d"))
NOT_A_DATE = "not a date (YYYY-MM-DD, YYYY/M/D or YYYYMMDD)"
CLOCKED = r"(?P<day>[^ T]+)[ T](?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?"
"""A date followed by a time of day, as database and Excel exports write a date column and the
national platform's settlement data writes admission and discharge (`2025-01-03 00:00:00`,
`2025-05-06 10:30:00`, `2025-01-03T00:00`, `2025/1/3 0:00`, `…00:00:00.000`): the day it falls on,
as a timestamp in a Parquet or Excel file is (a time without a zone is China's, where the claims
are)."""
# the days a date cell may hold: those of pandas' nanosecond timestamps (a text date beyond them
# does not parse); a Parquet date or timestamp may hold any year, and one beyond is a bad cell
DAYS = (np.datetime64("1677-09-22"), np.datetime64("2262-04-11"))
NS_DAYS = np.dtype("datetime64[ns]")  # what a date column is read as
OUTSIDE_DAYS = f"not a date from {DAYS[0]} to {DAYS[-1]}"
DAY_ZONE = "Asia/Shanghai"
"""A date column holding moments with a zone (a database driver's UTC timestamps) is read as the
days they are in China, unless they are midnights as written (`_local`): 2025-04-30T16:00Z is
2025-05-01, not 2025-04-30."""
EXCEL_EPOCH = dt.date(1899, 12, 30)  # day 0 of Excel's serial dates (right from 1900-03-01 on)
LAST_SERIAL = 2_958_465  # 9999-12-31; a larger number in a date column is no serial date
# A number "has at most d decimals" when value × 10^d is within this of an integer: far above
# float noise for any amount below 10^11 fen, far below a real extra decimal digit.
DECIMAL_TOLERANCE = 1e-4
REQUIRED = "a value is required"
EMPTY_ROW = "empty row: no column of the table holds a value"
# identifiers: no real one is longer, and the ledger keeps them in columns of this width
KEY_COLUMNS = frozenset({"psn_no", "mdtrt_id", "line_id", "institution_id", "correction_of"})
KEY_LENGTH = 64
MAX_WHOLE = 999_999_999  # the largest whole number a cell may hold (counts, levels, years)
Problems = list[tuple[np.ndarray, str]]  # (mask of failing rows, why)
# columns of `CODE=yuan;…` items (what a person's year paid per chronic disease): each amount is
# held to a money cell's limits, since scoring adds it up with the batch's payments
AMOUNT_LISTS = frozenset({("accumulators", "chronic_paid")})
NOT_AMOUNT_LIST = "not CODE=yuan;… (as E11=2950.00;I10=120.50)"


@dataclass(frozen=True)
class NumberRule:
    """Limits of a numeric column; `minimum_open` makes the minimum exclusive."""

    decimals: int | None = None
    minimum: float | None = None
    minimum_open: bool = False
    maximum: float | None = None
    unit: str = ""  # after the maximum in a reason: " yuan (YIBAO_MAX_LINE_YUAN)"


NUMBER_RULES = {"yuan": NumberRule(decimals=2, minimum=0), "float": NumberRule(), "int": NumberRule(minimum=0)}
COLUMN_RULES = {("lines", "cnt"): NumberRule(decimals=3, minimum=0, minimum_open=True, maximum=MAX_CNT),
                ("lines", "selfpay_prop"): NumberRule(decimals=4, minimum=0, maximum=1),
                # counts the maternity allowance multiplies into days and money: bounded by biology
                ("claims", "infants"): NumberRule(minimum=0, maximum=12),
                ("claims", "pregnancy_weeks"): NumberRule(minimum=0, maximum=50),
                ("persons", "maternity_contribution_months"): NumberRule(minimum=0, maximum=1200),
                ("accumulators", "inpatient_admissions"): NumberRule(minimum=0, maximum=10_000),
                ("accumulators", "year"): NumberRule(minimum=FIRST_YEAR, maximum=LAST_YEAR),
                **{("accumulators", f"{kind}_month"): NumberRule(minimum=-1, maximum=(LAST_YEAR - 1970) * 12)
                   for kind in ("outpatient", "outpatient_covered", "chronic_covered")}}


@dataclass
class Batch:
    """One frame per table of `yibao.tables`, with that table's columns in its order.

    Dtypes: str and list → `str` ("" when empty; lists stay `;`-separated text); date →
    datetime64[ns] (NaT); int → Int64; yuan and float → float64 (NaN); bool → boolean (NA).
    Each frame's index is the row's 0-based position in its file (spreadsheet row − 2), so a
    later stage can still name the row; rows are in file order.
    """

    persons: pd.DataFrame
    enrolments: pd.DataFrame
    statuses: pd.DataFrame
    certifications: pd.DataFrame
    filings: pd.DataFrame
    institutions: pd.DataFrame
    claims: pd.DataFrame
    lines: pd.DataFrame
    accumulators: pd.DataFrame
    sources: dict[str, str]  # table → file path ("case" for a what-if case), for messages
    # the accumulators rows rejected, each with why in `rejected` (`held_accumulators`)
    rejected_accumulators: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)


# --- reading files -------------------------------------------------------------------------

def read_batch(source: Path) -> tuple[Batch, pd.DataFrame]:
    """Read `<table>.parquet`, `<table>.csv` or `<table>.xlsx` of a folder, or the sheets of one
    `.xlsx` workbook, for every input table (enrolments and accumulators when present) and
    normalize them: (batch, rejects)."""
    return load_batch(source)


def load_batch(source: str | Path | Mapping[str, pd.DataFrame],
               accumulators: Path | pd.DataFrame | None = None) -> tuple[Batch, pd.DataFrame]:
    """A folder of tables, a workbook with a sheet per table, or a mapping of table name → frame,
    with the accumulators of earlier batches when they come apart (a file or a frame):
    (batch, rejects).

    Apart or not, the accumulators are checked with the batch, so a rejected accumulators row
    rejects its person and their claims as a bad row of any other person table does: scoring
    that person from zero would pay their deductible a second time.
    """
    raw, sources = _read_folder(Path(source)) if isinstance(source, (str, Path)) else _mapping(source)
    if accumulators is not None:
        if "accumulators" in raw:
            raise InputError("the batch has an accumulators table and accumulators were given "
                             "apart: keep one", file=sources["accumulators"])
        is_file = isinstance(accumulators, Path)
        raw["accumulators"] = read_output_table(accumulators, "accumulators") if is_file \
            else _frame(accumulators, "accumulators")
        sources["accumulators"] = source_name(accumulators) if is_file else "<accumulators>"
    return normalize(raw, sources)


MAPPING_REQUIRED = ("persons", "institutions", "claims", "lines")
"""The tables a mapping must hold; a table of statuses, certifications or filings left out of
one is a table without rows (in a folder every table of INPUT_TABLES has its file)."""


def _mapping(source: object) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """The tables of a mapping of table name → DataFrame, as a job builds them in memory. A table
    missing, misnamed (`Lines`) or not a DataFrame would be scored as empty: its claims or lines
    lost without a reject, claims paid on no lines."""
    expect(source, Mapping, "the tables are a folder, an .xlsx workbook or a mapping of table name → DataFrame")
    known = INPUT_TABLES + OPTIONAL_TABLES
    unknown = sorted(str(name) for name in source if name not in known)
    if unknown:
        raise InputError(f"unknown table {unknown[0]!r}: the tables are {', '.join(known)}")
    missing = [name for name in MAPPING_REQUIRED if name not in source]
    if missing:
        raise InputError(f"no {missing[0]} table among the tables given ({', '.join(map(str, source)) or 'none'})")
    odd = [name for name, frame in source.items() if not isinstance(frame, pd.DataFrame)]
    if odd:
        raise InputError(f"table {odd[0]}: a pandas DataFrame, not {kind(source[odd[0]])}")
    return {name: _frame(frame, name) for name, frame in source.items()}, {name: f"<{name}>" for name in source}


def _frame(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """A table a job gives as a DataFrame (in the mapping, or the accumulators apart), checked as
    a file's header and cells would be before it is read: the same frame is read alike either way."""
    check_header(frame.columns, f"<{table}>", table)  # a field named twice is a frame where a column is looked for
    _check_objects(frame, table, f"<{table}>")
    return _arrow_columns_as_read(frame, table)


# what pandas infers of an object column whose values a file could hold too (`_check_objects`)
PLAIN_OBJECTS = frozenset({"empty", "string", "bytes", "integer", "floating", "mixed-integer-float", "decimal",
                           "boolean", "datetime", "datetime64", "date"})


def _check_objects(frame: pd.DataFrame, table: str, source: str) -> None:
    """Refuse an object column of a field holding a value no file's cell can: a mapping (a dict),
    or a list, tuple, set or array outside the list columns. Read on, it was the text of its
    Python value: `{'code': 'A-SALINE'}` as a line's item was an unknown code, and the person paid
    the whole line; `['A', 'B']` a code `A;B`. As a Parquet file of such types is (`check_types`).
    pandas' inference scans a column once in C; values are looked at one by one only where it
    finds a mix (text beside numbers, or such objects)."""
    columns = {c.name: c for c in TABLES.get(table, ())}
    for header in frame.columns:
        column = columns.get(field_name(header))
        cells = frame[header]
        if column is None or cells.dtype != object or pd.api.types.infer_dtype(cells, skipna=True) in PLAIN_OBJECTS:
            continue
        lists = (list, tuple, set, frozenset, np.ndarray)
        odd = next((v for v in cells if isinstance(v, Mapping) or (column.type != "list" and isinstance(v, lists))),
                   None)
        if odd is not None:
            _, read_as, _ = STORED_AS[column.type]
            raise InputError(f"holds {kind(odd)}, not {read_as}", file=source, column=column.name)


def _arrow_columns_as_read(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """A frame whose columns are in pandas' Arrow dtypes (`dtype_backend="pyarrow"`) other than
    text, with those columns as a Parquet file's are read (`_arrow_frame`): dates as datetime64,
    decimals as floats, lists joined; a type a Parquet file may not hold is refused alike
    (`check_types`). A `date32[pyarrow]` column had no `.dt.tz`."""
    arrow = [i for i, dtype in enumerate(frame.dtypes)
             if isinstance(dtype, pd.ArrowDtype) and not pa.types.is_string(dtype.pyarrow_dtype)
             and not pa.types.is_large_string(dtype.pyarrow_dtype)]
    if not arrow:
        return frame
    check_types(pa.schema([(str(frame.columns[i]), frame.dtypes.iloc[i].pyarrow_dtype) for i in arrow]), table,
                f"<{table}>")
    read = _arrow_frame(pa.Table.from_arrays([pa.array(frame.iloc[:, i].array) for i in arrow],
                                             names=[str(frame.columns[i]) for i in arrow]))
    out = frame.copy(deep=False)
    for j, i in enumerate(arrow):
        out.isetitem(i, read.iloc[:, j].set_axis(frame.index))
    return out


def _read_folder(folder: Path) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    if folder.suffix.lower() == ".xlsx" and folder.is_file():
        return _read_workbook(folder)
    if not folder.is_dir():
        raise InputError("not a folder of batch tables nor an .xlsx workbook", file=str(folder))
    check_file_names(folder)
    raw: dict[str, pd.DataFrame] = {}
    sources: dict[str, str] = {}
    for name in INPUT_TABLES + OPTIONAL_TABLES:
        path = table_file(folder, name, required=name in INPUT_TABLES)
        if path is not None:
            raw[name], sources[name] = read_table(path, name), source_name(path)
    return raw, sources


def source_name(path: Path) -> str:
    """How rejects and messages name an input file: its absolute path, so that a settlement,
    which reads a rejected claim's row back from it, finds the same file from any directory."""
    return os.path.abspath(path)


def _read_workbook(path: Path) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """One sheet per table, named as the table; other sheets are ignored."""
    book = _open_workbook(path)
    names = _table_names({name: name for name in book.sheet_names}, "sheet", str(path))
    raw: dict[str, pd.DataFrame] = {}
    sources: dict[str, str] = {}
    for name in INPUT_TABLES + OPTIONAL_TABLES:
        if name in names:
            sources[name] = f"{source_name(path)}, sheet {name}"
            raw[name] = _sheet_frame(book, path, names[name], sources[name])
        elif name in INPUT_TABLES:
            raise InputError(f"missing sheet {name}: the workbook needs a sheet per table", file=str(path))
    return raw, sources


def _table_names(names: dict[str, str], kind: str, source: str, once: bool = True) -> dict[str, str]:
    """Of a workbook's sheets or a folder's files (as written → the name a table would have:
    the sheet's, the file's stem), the table each names, spaces around it dropped: table → as
    written. Two that name one table are refused (`once`), and so is one that names a table but
    in other letters (`Accumulators`): either would leave a table unread, and an optional one
    (accumulators, enrolments) silently — its persons' deductibles paid again."""
    found: dict[str, str] = {}
    tables = {t.casefold(): t for t in INPUT_TABLES + OPTIONAL_TABLES}
    for written, named in names.items():
        name = named.strip()
        table = tables.get(name.casefold())
        if table is None:
            continue
        if name != table:
            raise InputError(f"{kind} {written!r} would not be read: name it {table}", file=source)
        if name in found and once:
            raise InputError(f"{kind}s {found[name]!r} and {written!r} are both table {name}: keep one",
                             file=source)
        found[name] = written
    return found


def check_file_names(folder: Path) -> None:
    """No file of a batch folder names a table in other letters (`Accumulators.csv`), which would
    go unread; a table given twice (claims.csv beside claims.parquet) `table_file` refuses."""
    _table_names({p.name: p.stem for p in folder.iterdir() if p.is_dir() or p.suffix.lower() in READABLE},
                 "file", str(folder), once=False)


def table_file(folder: Path, name: str, required: bool) -> Path | None:
    """The file of table `name` in `folder`, or its folder of Parquet parts (`name/part-*.parquet`,
    as a partitioned run writes them)."""
    found = [p for p in (folder / f"{name}{suffix}" for suffix in READABLE) if p.is_file()]
    if (folder / name).is_dir() and parquet_parts(folder / name):
        _check_no_stray_parts(folder / name)
        found.append(folder / name)
    if len(found) > 1:
        raise InputError(f"both {found[0].name} and {found[1].name}: keep one", file=str(folder))
    if not found and required:
        raise InputError(f"missing table {name}: no {name}.parquet, {name}.csv or {name}.xlsx",
                         file=str(folder))
    return found[0] if found else None


def read_table(path: Path, table: str = "") -> pd.DataFrame:
    """A CSV (every column as text), Parquet (columns as typed) or xlsx file (the sheet named as
    `table`, else as the file, else the first; cells as text) as a raw frame."""
    try:
        if path.is_dir():
            return _arrow_frame(read_parts(path, table=table or path.name))
        if path.suffix.lower() == ".parquet":
            return _arrow_frame(read_parquet(path, table=table))
        if path.suffix.lower() == ".csv":
            return _read_csv(path)
        if path.suffix.lower() == ".xlsx":
            book = _open_workbook(path)
            if not book.sheet_names:
                raise InputError("the workbook has no sheet", file=str(path))
            names = {name.strip(): name for name in book.sheet_names}
            sheet = names.get(table) or names.get(path.stem) or book.sheet_names[0]
            return _sheet_frame(book, path, sheet, str(path))
    except READ_ERRORS as exc:
        raise unreadable(path, exc) from None
    raise InputError("not a .parquet, .csv or .xlsx file", file=str(path))


def _check_no_stray_parts(folder: Path) -> None:
    """Refuse a folder of parts holding a file or folder that is no part: only `part-*.parquet`
    is read, so rows put there under another name (`lines/2025-06.parquet`, a sub-folder of parts)
    went unread without a word, and their claims were paid on the lines that were read. Names
    starting with `.` or `_` are the bookkeeping of the tools that write parts (`_SUCCESS`,
    `_metadata`, `.part-00000.parquet.crc`)."""
    parts = set(parquet_parts(folder))
    stray = sorted(p.name for p in folder.iterdir() if p not in parts and not p.name.startswith((".", "_")))
    if stray:
        raise InputError(f"{stray[0]} is not a part (part-*.parquet) and would go unread: name it "
                         f"part-NNNNN.parquet, or move it out", file=str(folder))


def parquet_parts(folder: Path) -> list[Path]:
    """A partitioned table's parts, in partition order."""
    return sorted(folder.glob("part-*.parquet"))


def read_parquet(path: Path, columns: list[str] | None = None, table: str = "") -> pa.Table:
    """One Parquet file (`PARQUET_READ`) of the input table `table`, if given; a column named
    twice is refused first, naming it, as in a CSV header: Arrow's reader says only "Multiple
    matches for FieldRef.Name(pric) in …"; so is a column stored as a type it cannot be read as
    (`check_types`)."""
    schema = pq.read_schema(path)
    check_header(schema.names, str(path))
    check_types(schema, table, str(path))
    return pq.read_table(path, columns=columns, **PARQUET_READ)


def read_parts(folder: Path, columns: list[str] | None = None, table: str = "") -> pa.Table:
    """The parts of a partitioned table (`table`, else the folder's name) as one table
    (`parts_schema`). A folder with none (a batch or score folder given for one table, as
    `--accumulators`) was said to have parts "not of the same columns and types"."""
    parts = [read_parquet(p, columns, table or folder.name) for p in parquet_parts(folder)]
    if not parts:
        raise InputError("is a folder without Parquet parts (part-*.parquet): give the table's file, or its "
                         "folder of parts", file=str(folder))
    schema = parts_schema([part.schema for part in parts], str(folder))
    return pa.concat_tables([conformed(part, schema, table or folder.name, str(folder)) for part in parts])


def parts_schema(schemas: list[pa.Schema], source: str) -> pa.Schema:
    """The one schema of a table's Parquet parts, in the first part's column order, whole run and
    partitioned run alike: a part with no rows may have typed some columns as null, which the
    other parts' types replace; a column typed narrower in one part takes the wider type (int64
    and float64: float64). Parts with different columns are refused — a column missing from one
    part is no empty cell — and so are types that do not widen into one another (text and numbers)."""
    if len({frozenset(schema.names) for schema in schemas}) > 1:
        raise InputError("its parts do not have the same columns", file=source)
    try:
        unified = pa.unify_schemas([s.remove_metadata() for s in schemas], promote_options="permissive")
    except (pa.ArrowException, ValueError):
        raise InputError("its parts do not have the same columns and types", file=source) from None
    return pa.schema([unified.field(name) for name in schemas[0].names])


STORED_AS: dict[ColType, tuple[frozenset[str], str, str]] = {
    "str": (frozenset({"text", "number", "bool", "date"}), "text", "text (string)"),
    "list": (frozenset({"text", "number", "bool", "date", "list"}), "text or a list",
             f"text, the items separated by '{LIST_SEP}' (string), or a list of text"),
    "int": (frozenset({"text", "number"}), "text or a number", "a whole number (int64)"),
    "yuan": (frozenset({"text", "number"}), "text or a number", "a number (decimal or double)"),
    "float": (frozenset({"text", "number"}), "text or a number", "a number (decimal or double)"),
    "date": (frozenset({"text", "number", "date"}), "text or a date", "a date (date32)"),
    "bool": (frozenset({"text", "number", "bool"}), "text or a boolean", "a boolean"),
}
"""Per type of the tables' columns: what a Parquet column of it may hold (`_stored_as`; a column
typed null, without values, may be any), how the refusal of another says it, and what to store it
as."""


def check_types(schema: pa.Schema, table: str, source: str) -> None:
    """Refuse a Parquet file of the input table `table` with a column stored as an Arrow type that
    cannot be read as the column's type, naming the column and the type (no cell). Read on, a
    struct, a map, a time of day or a duration became the text of its Python value: a struct of
    catalogue codes (`{'code': 'A-SALINE'}`) was an unknown code, and every line was scored as the
    person's to pay, exit 0; a list in a code or an amount column was its items joined (`A;B`);
    in a number column every row was rejected, its cell quoted; and a list of structs ended in a
    traceback. Lists belong to list columns (diagnoses, materials), read `;`-joined."""
    columns = {c.name: c for c in TABLES.get(table, ())}
    for field in schema:
        column = columns.get(field_name(field.name))
        if column is None:
            continue
        allowed, read_as, store_as = STORED_AS[column.type]
        if _stored_as(field.type) not in allowed | {"empty"}:
            name = str(field.type)
            shown = name if len(name) <= QUOTED else f"{name[:QUOTED]}…"
            raise InputError(f"is stored as {shown}, not as {read_as}: store it as {store_as}", file=source,
                             column=column.name)


SCALARS = frozenset({"empty", "text", "number", "bool", "date"})  # what the items of a list may be


def _stored_as(kind: pa.DataType) -> str | None:
    """What a cell of Arrow type `kind` is read as (`_arrow_frame`, then `_typed_column`): "empty"
    (the type null), "text", "number", "bool", "date", "list" (of the scalars before it, joined by
    `LIST_SEP`), or None: nothing a column of the tables holds."""
    if pa.types.is_dictionary(kind):
        return _stored_as(kind.value_type)
    if pa.types.is_null(kind):
        return "empty"
    if _is_text(kind) or pa.types.is_string_view(kind) or _is_bytes(kind):
        return "text"
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "number"
    if pa.types.is_boolean(kind):
        return "bool"
    if pa.types.is_date(kind) or pa.types.is_timestamp(kind):
        return "date"
    if _is_list(kind):
        return "list" if _stored_as(kind.value_type) in SCALARS else None
    return None


def _is_list(kind: pa.DataType) -> bool:
    return pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)


def _is_bytes(kind: pa.DataType) -> bool:
    """Binary, as Hive, Impala and older Spark store text (and Polars, as a view)."""
    return pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_binary_view(kind)


def conformed(table: pa.Table, schema: pa.Schema, name: str, source: str) -> pa.Table:
    """`table` (a part, or a chunk of one, of the input table `name`) in `schema`'s column order
    and types. A float32 or float16 column widened keeps its shortest decimal (81.62, not
    81.62000274658203, which is no amount in fen), as such a column read alone is taken
    (`_to_float`). Widened, a value the narrow type could not hold to its column's decimals
    (`_too_narrow`) could no longer be told from the wider parts' values, and 1,234,567.89 of a
    float32 part was paid as 1,234,567.9: such a table is refused, naming the column."""
    table = table.select(schema.names)
    if table.schema.equals(schema):
        return table
    columns = [_widened(column, field, name, source) if column.type != field.type and column.type in NARROW_TYPES
               else column.cast(field.type) for column, field in zip(table.columns, schema)]
    return pa.Table.from_arrays(columns, schema=schema)


NARROW_TYPES = (pa.float16(), pa.float32())


def _widened(column: pa.ChunkedArray, field: pa.Field, table: str, source: str) -> pa.Array:
    """A float16/float32 column as `field`'s wider type, each value its shortest decimal."""
    kind = column.type.to_pandas_dtype()
    values = column.to_numpy().astype(kind)  # a null is NaN
    spec = next((c for c in TABLES.get(table, ()) if c.name == field.name and c.type in NUMBER_RULES), None)
    decimals = _number_rule(table, spec).decimals if spec else None
    if _too_narrow(np.dtype(kind), values, decimals):
        raise InputError(f"{field.name} is stored as {kind.__name__} in some parts, which cannot hold all its "
                         f"values to {decimals} decimals: store the column as float64 or decimal", file=source)
    shortest = _shortest(values)
    return pa.array(shortest, mask=np.isnan(shortest)).cast(field.type)


PARQUET_READ = {"coerce_int96_timestamp_unit": "ms"}
"""How Parquet files are read: a legacy INT96 timestamp (Hive, Impala and older Spark write them)
in milliseconds, where a year beyond 1677-2262 keeps its value; read as nanoseconds, it wraps
around into a plausible date."""

READ_ERRORS = (OSError, pa.ArrowException, UnicodeDecodeError, csv.Error, StopIteration)


def unreadable(path: Path, exc: Exception) -> InputError:
    """The one-line error of a file a reader gave up on."""
    return InputError(f"cannot read: {_without_cells(exc)}", file=path_shown(path, exc))


def _without_cells(exc: Exception) -> str:
    """The first line of a reader's message, cut before any quoted row: Arrow ends a parse
    error with the row's text, which may hold a person number or a birth date."""
    said = os_reason(exc) if isinstance(exc, OSError) else str(exc)
    text = said.splitlines()[0] if said else "the file is empty"
    return ": ".join(text.split(": ")[:2]) if isinstance(exc, pa.ArrowException) else text


def _read_csv(path: Path) -> pd.DataFrame:
    """UTF-8 (with or without BOM) or, as Excel saves it on Chinese Windows, GB18030."""
    try:
        return _read_csv_as(path, csv_encoding(path))
    except UnicodeDecodeError:  # GB18030 that does not decode either
        raise InputError("cannot read: the text is neither UTF-8 nor GB18030 (save it as UTF-8)",
                         file=str(path)) from None


DECODE_BLOCK = 1 << 20  # bytes of a CSV decoded at once to decide its encoding


def csv_encoding(path: Path) -> str:
    """UTF-8 if every byte of the file decodes as UTF-8 (checked a block at a time: 29 MB in 5 ms),
    else GB18030 (Excel's CSV on Chinese Windows). Decided before Arrow reads: Arrow decodes a
    row with the wrong number of cells to hand it to the handler that collects it, and for bytes
    that are no UTF-8 that fails where no caller catches it (Python prints a traceback, and a
    read on threads now and then aborts)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as f:
            while block := f.read(DECODE_BLOCK):
                decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "gb18030"
    except OSError as exc:
        raise unreadable(path, exc) from None
    return "utf-8"


def _read_csv_as(path: Path, encoding: str) -> pd.DataFrame:
    header = csv_header(path, encoding)
    ragged: list[pacsv.InvalidRow] = []
    block: dict[str, int] = {}  # Arrow's block size, unless a row is longer (`long_row_block`)
    try:
        table = _csv_table(path, encoding, header, ragged, threads=True)
    except pa.ArrowInvalid as exc:
        block = {"block_size": long_row_block(path, exc)}
        ragged.clear()
        table = _csv_table(path, encoding, header, ragged, threads=True, **block)
    if ragged:  # the row's line is known only to a reader on one thread: read again to find it
        ragged.clear()
        _csv_table(path, encoding, header, ragged, threads=False, **block)
        raise ragged_error(path, ragged)
    return _arrow_frame(table)


def csv_header(path: Path, encoding: str) -> list[str]:
    """The header's cells, after a byte-order mark: GB18030 has one too, which Python decodes as
    U+FEFF, and left in front of the first field it made `"mdtrt_id"` (quotes and all) no mdtrt_id."""
    with path.open(encoding=encoding, newline="") as f:
        if f.read(1) != "\ufeff":
            f.seek(0)
        return next(csv.reader(f))


def ragged_error(path: Path, ragged: list[pacsv.InvalidRow]) -> InputError:
    first = min(ragged, key=lambda row: row.number or 0)
    return InputError(f"line {first.number}: {first.actual_columns} cells where the header has "
                      f"{first.expected_columns} (a separator or a quote out of place?)", file=str(path))


def _csv_table(path: Path, encoding: str, header: list[str], ragged: list[pacsv.InvalidRow],
               threads: bool, **read: Any) -> pa.Table:
    return pacsv.read_csv(path, **csv_options(encoding, header, ragged, threads, **read))


MAX_CSV_ROW = 64 << 20
"""The bytes a CSV row may hold. No table's row needs a fraction of it: a longer one holds a cell
pasted by mistake, or runs on from a quote left open, and is refused naming its line. Arrow
reads a row in blocks at least as long, and a streaming read holds a dozen blocks
(`yibao.partition.CSV_BLOCK`): the bound bounds that memory."""
SCAN_BLOCK = 1 << 23  # bytes of a CSV scanned at once for its longest row


def long_row_block(path: Path, exc: pa.ArrowInvalid) -> int:
    """The block size that reads `path`, after Arrow stopped at a row longer than a block
    ("straddling object straddles two block boundaries", 1 MB by default): a power of two above
    its longest row (`_longest_row`), scanned only then, so a file of short rows is read as before.
    Any other error of Arrow is raised again."""
    if "straddling object" not in str(exc):
        raise exc
    return 1 << (_longest_row(path) + 2).bit_length()  # the row, its line break (CR LF) and more


def _longest_row(path: Path) -> int:
    """The bytes of a CSV file's longest row, read a block at a time and not decoded: a quote and a
    line break are one byte in UTF-8 and in GB18030 alike, and no other character holds those
    bytes. A line break ends a row outside quotes, each quote opens or closes them (a cell's `""`
    closes and opens). A row over `MAX_CSV_ROW` is refused once seen, naming its line as Arrow
    and a ragged row's error do: the header is line 1, blank lines are not counted."""
    longest, start, rows, quotes, read = 0, 0, 0, 0, 0  # start: where the open row began
    with path.open("rb") as f:
        while block := f.read(SCAN_BLOCK):
            data = np.frombuffer(block, dtype=np.uint8)
            quoted = np.flatnonzero(data == ord('"'))
            breaks = np.flatnonzero((data == ord("\n")) | (data == ord("\r")))
            ends = read + breaks[(np.searchsorted(quoted, breaks) + quotes) % 2 == 0]
            lengths = ends - np.concatenate(([start], ends[:-1] + 1))
            over = np.flatnonzero(lengths > MAX_CSV_ROW)
            if len(over):
                raise _too_long(path, rows + np.count_nonzero(lengths[:over[0]]) + 1)
            longest = max(longest, int(lengths.max(initial=0)))
            rows += np.count_nonzero(lengths)  # a blank line, or CR LF's LF, is an empty row
            start = int(ends[-1]) + 1 if len(ends) else start
            quotes += len(quoted)
            read += len(data)
            if read - start > MAX_CSV_ROW:
                raise _too_long(path, rows + 1)
    return max(longest, read - start)


def _too_long(path: Path, line: int) -> InputError:
    return InputError(f"line {line}: longer than {MAX_CSV_ROW >> 20} MB, which no row needs (a cell "
                      f"pasted by mistake, or a quote left open?)", file=str(path))


def csv_options(encoding: str, header: list[str], ragged: list[pacsv.InvalidRow], threads: bool,
                **read: Any) -> dict[str, Any]:
    """Arrow's CSV reader options: every column as text; rows with the wrong number of cells are
    collected in `ragged`. `read`: more `ReadOptions` (a streaming reader's block size)."""
    def collect(row: pacsv.InvalidRow) -> str:
        ragged.append(row)
        return "skip"

    return {"read_options": pacsv.ReadOptions(encoding=encoding, use_threads=threads, **read),
            "parse_options": pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=collect),
            "convert_options": pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                                    strings_can_be_null=False, quoted_strings_can_be_null=False)}


def _open_workbook(path: Path) -> Any:
    """An .xlsx workbook read with calamine (Rust): several times faster than openpyxl. calamine
    unzips the shared strings as it opens the workbook, so what the zip holds is checked first
    (`check_workbook_zip`)."""
    from python_calamine import CalamineError, CalamineWorkbook

    check_workbook_zip(path)
    try:
        return CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as exc:
        raise InputError(f"cannot read as an .xlsx workbook: {_without_cells(exc)}", file=str(path)) from None


EMPTY_ROWS_MAX = 1_000
"""Empty rows a sheet may hold in one run above a row with a value (`check_sheet`)."""
CELLS_PER_VALUE_MAX = 16
"""Cells calamine may lay out per value of a sheet, once more than `CELLS_READ_ANYWAY` (`check_sheet`)."""
CELLS_READ_ANYWAY = 1 << 20  # a grid this small is read whatever it holds: 32 MB in calamine
SCAN_BLOCK = 1 << 20  # bytes of a sheet's XML looked at at once
_ROOT = re.compile(rb"<(\w+:)?worksheet\b")  # its prefix is every tag's (x:row), or none
ROOT_WITHIN = 1 << 12  # bytes of a sheet's XML its root tag starts in
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3})[0-9]+"')
_DATA_START = re.compile(rb"<(?:\w+:)?sheetData\b[^>]*+(?<!/)>")  # where calamine starts reading cells
_DATA_END = re.compile(rb"</(?:\w+:)?sheetData\s*+>")  # and stops, in any prefix
NOT_WRITTEN = "no program writes such a sheet; save it again from Excel, WPS or LibreOffice"
_DECLARATION = re.compile(rb"(?:\xef\xbb\xbf)?<\?xml\s[^<>]*+(?<=\?)>")  # what a sheet's XML may begin with
MARKUP = ((b"<!", "a comment, CDATA section or declaration (<!…)"), (b"<?", "a processing instruction (<?…)"))
_FILLED = rb"[^>]*+(?<!/)>(?!\s*+</)"  # the rest of a cell's start tag, which something follows


def check_sheet(path: Path, sheet: str) -> None:
    """Refuse `sheet` of the workbook at `path`, naming the cell, if a value lies far outside its
    table or a formula has no value to read (`yibao.formulas`), or naming the row, if a row is
    longer than any row of a table: checked in the sheet's XML before calamine is asked for the
    sheet, in one pass: the scans for far cells and for formulas unzipped it once each, a second of
    the 4-5 s they took for a sheet of a million lines. A far cell or a long row is said first.

    calamine lays a sheet out as one grid, every cell from the first to the last row and column
    holding a value (32 bytes a cell, empty or not: `Range::from_sparse`, tafia/calamine#693), and
    `_sheet_frame` keeps every row above the last as a row of the table. So a single stray value
    cost what its place says, not what the sheet holds: one in XFD1048576, the last cell (a key
    pressed after Ctrl+↓ and Ctrl+→ from an empty cell), asked for 550 GB, and Rust aborted the
    process with a backtrace (exit 134); one in A1048576 of lines made a million empty lines,
    every one rejected (their reasons, each listing the million rows of their blank key, asked for
    8.7 TB), and the run ran out of memory. Refused now, before any grid is laid out:

    - a row with a value below more than `EMPTY_ROWS_MAX` empty rows: its first value is named;
    - a sheet whose grid would hold more than `CELLS_PER_VALUE_MAX` cells per value (and more than
      `CELLS_READ_ANYWAY`): the first value in its last column is named;
    - a row of more than `MAX_XLSX_TEXT_BYTES` of XML (to within the block read at once): a cell of
      300 MB of text took calamine 1.1 GB, and a scan held the row whole. It is named as soon as
      it is that long, before the rest of it is read; so is a cell or tag that long outside the
      rows, which no program writes (other XML outside them is read a piece at a time);
    - a comment, CDATA section, declaration or processing instruction anywhere in the sheet's XML
      (but its XML declaration): calamine reads past them, the scans would read what they hold as
      tags (`_markup`); no program writes one;
    - a sheet's data holding other than rows: a cell outside every row, which calamine reads where
      its reference says (`<c r="XFD1048576">` after the last row aborted the process as above,
      the scan counting only the rows it saw), is named; no program writes one.

    A sheet that passes costs calamine at most 16 times what its values take as a full grid, and
    no run of empty rows longer than 1,000 becomes rows of a table. The XML is read a megabyte at
    a time, and searched, not parsed: a row holds a value if a cell of it is more than an empty
    tag (`<c r="A5" s="1"/>`: a format, which calamine skips), and the columns are searched only
    for a cell right of the last seen. Like every program that writes workbooks, the check takes
    rows to come in order and a cell's reference to be in its row.
    """
    found = scanned_sheet(path, sheet, _far_or_uncomputed)
    if found is not None:
        raise InputError(f"sheet {sheet}, {found}", file=str(path))


def _far_or_uncomputed(xml: IO[bytes], computed_on_load: bool) -> str | None:
    """What refuses a sheet (its XML `xml`), after its name, or None."""
    formulas = Uncomputed(computed_on_load)
    return _far_cell(xml, formulas.take) or formulas.said()


def _far_cell(xml: IO[bytes], rows: Callable[[bytearray], object] = lambda _: None) -> str | None:
    """The far cell, or the long row, of a sheet's XML and what to do about it, or None; each
    piece of whole rows read is handed to `rows` too, once it holds no far cell or long row. The
    XML is cut before a row's start tag, so a row is searched whole, and, once longer than a row
    may be, as `_Extent.cut_long` says: cut before rows only, a sheet without any, or what follows
    its last row, was held whole, up to the 4 GB bound on a workbook. A row's start is looked for
    in the new block only, and the rest of the row grows in place: copied and searched whole at
    each block, 500 MB of one row (spaces, 600 kB zipped) took 109 s. XML in the sheet's data that
    is not a row is looked for in the same pieces (`_Extent.stray`)."""
    rest, extent = bytearray(), None
    while block := xml.read(SCAN_BLOCK):
        seen = len(rest)
        rest += block
        if extent is None:
            root = _ROOT.search(rest)
            if root is None and len(rest) < ROOT_WITHIN:
                continue
            extent, seen = _Extent((root.group(1) if root else None) or b""), 0
            declaration = _DECLARATION.match(rest)
            markup = _markup(rest, declaration.end() if declaration else 0)
        else:
            markup = _markup(rest, max(seen - 1, 0))  # a '<' may end the block before
        if markup is not None:
            return markup
        # this row may go on in the next block; the rest holds a row's start only at 0
        cut = rest.rfind(extent.row_start, max(seen - len(extent.row_start) + 1, 0))
        if cut <= 0 and len(rest) > MAX_XLSX_TEXT_BYTES:
            cut = extent.cut_long(rest)
        if cut <= 0:
            # past the bound and what of the next tag may be read (the sheet's data's end is the longest)
            if len(rest) > MAX_XLSX_TEXT_BYTES + len(extent.data_end):
                return extent.long_row(rest) if rest.startswith(extent.row_start) else extent.long_tag()
            continue
        piece = rest[:cut]
        far = extent.stray(piece) or extent.rows(piece)
        if far is not None:
            return far
        rows(piece)
        del rest[:cut]
    if extent is not None:
        # a sheet's data without its end is calamine's to refuse (it reads to the end, and lays nothing out)
        stray = extent.stray(rest) if _DATA_END.search(rest) else None
        end = rest.find(extent.data_end)
        rest = rest if end < 0 else rest[:end]
        far = stray or extent.rows(rest) or extent.outside()
        if far is not None:
            return far
    rows(rest)
    return None


def _markup(xml: bytearray, start: int) -> str | None:
    """What `check_sheet` says of a comment, CDATA section, declaration or processing instruction
    in a sheet's XML from `start` on, or None. calamine (quick-xml) reads past them; the scans,
    searching the XML, read what they hold as tags: a `</sheetData>` in one ended the sheet's data,
    hiding the rest of a row with a value in XFD1048576, and one between a row's tag and its first
    value hid the row. Refused, not skipped: no program writes one in a sheet. Each is looked for
    from the first of its second byte, rare outside them ('!' and '?' in a text written in the
    sheet): one byte is found some 25 times faster than two beginning with '<', which begins every
    tag (in 310 MB of a sheet's XML, 0.02 s for both, and 0.65 s)."""
    for mark, what in MARKUP:
        if (at := xml.find(mark[1:], start + 1)) >= 0 and xml.find(mark, at - 1) >= 0:
            return f"its XML holds {what}: {NOT_WRITTEN}"
    return None


class _Extent:
    """Where the values of the rows of a sheet seen so far are."""

    def __init__(self, prefix: bytes) -> None:
        self.row_start, self.data_end = b"<" + prefix + b"row", b"</" + prefix + b"sheetData>"
        cell = rb"<" + re.escape(prefix) + rb"c\b"
        self.cell = re.compile(cell)
        # a row with a cell that is more than its tags, to the cell's start tag: the row's number (none: the next row's)
        self.valued_rows = re.compile(re.escape(self.row_start) + rb'\b(?:[^>]*?\br="([0-9]+)")?[^>]*+(?<!/)>'
                                      rb"(?:\s*+" + cell + rb"[^>]*+(?:(?<=/)>|>\s*+</[^>]*+>))*\s*+" + cell + _FILLED)
        self.cell_end = b"</" + prefix + b"c>"
        # what follows the data's start or a row's end, up to a row's start or the data's end (rows without
        # cells, which calamine skips, and white space): other than none, it is outside the rows
        self.rows_go_on = re.compile(rb"(?:\s*+" + re.escape(self.row_start) + rb"\b[^>]*+(?<=/)>)*+\s*+(?!"
                                     + re.escape(self.row_start) + rb"\b|" + _DATA_END.pattern + rb")")
        # a row's end so followed, looked for from its last letter, which is rarer than "<"
        self.outside_rows = re.compile(rb"w(?<=</" + re.escape(prefix) + rb"row)\s*+>" + self.rows_go_on.pattern)
        self.in_data = self.between_rows = False  # the sheet's data's start was read; what was read ends between rows
        self.values = 0
        self.last = 0  # the number of the last row with a value
        self.height = self.width = 0  # the last row and column holding a value
        self.farthest = ""  # the first value in column `width`

    def rows(self, xml: bytes) -> str | None:
        """Take in whole rows; the first far cell as `check_sheet` words it, or None."""
        self.values += xml.count(self.cell_end)
        found = self.valued_rows.findall(xml)
        if found:
            numbers = np.array([n or b"0" for n in found] if b"" in found else found).astype(np.int64)
            if not numbers.all():  # rows without their numbers: each the next
                for i in np.flatnonzero(numbers == 0):
                    numbers[i] = (numbers[i - 1] if i else self.last) + 1
            empty = np.diff(numbers, prepend=self.last) - 1
            if self.last == 0:
                empty[0] = 0  # above the first row with a value, row 1 is empty: `_sheet_frame` says so
            far = np.flatnonzero(empty > EMPTY_ROWS_MAX)
            if len(far):
                row = next(itertools.islice(self.valued_rows.finditer(xml), int(far[0]), None))
                return (f"cell {self.first_value(xml, row, int(numbers[far[0]]))} holds a value below "
                        f"{empty[far[0]]:,} empty rows: delete it, or the empty rows above it if its row belongs to "
                        "the table")
            self.last, self.height = int(numbers[-1]), max(self.height, int(numbers.max()))
        at = 0
        while (cell := _right_of(self.width).search(xml, at)) is not None:
            at = cell.end()
            ref = _CELL_REF.match(xml, cell.start())
            if ref is not None and xml[cell.start() - 1:cell.start()].isspace():  # not an attribute ending in r
                self.width = xl_cell_to_rowcol(ref.group(1).decode() + "1")[1] + 1
                self.farthest = ref.group(0)[3:-1].decode()
        return None

    def stray(self, xml: bytes) -> str | None:
        """XML in the sheet's data that is not a row, from the pieces of the sheet in turn: a cell
        there is read by calamine, in the place its reference says, but in no row the scan counts.
        A piece may end between rows (after the data's start, or cut before a cell outside them):
        the next one is looked at from its start."""
        at = 0
        if not self.in_data:
            start = _DATA_START.search(xml)
            if start is None:
                return None
            self.in_data, self.between_rows, at = True, True, start.end()
        found = self.rows_go_on.match(xml, at) if self.between_rows else None
        if found is None:  # a row follows
            found = self.outside_rows.search(xml, at)
        self.between_rows = found is not None and found.end() == len(xml)
        if found is None or self.between_rows:
            return None
        at = found.end()
        if not self.cell.match(xml, at):
            return f"its sheet data holds XML other than rows: {NOT_WRITTEN}"
        end = xml.find(b">", at)
        ref = _CELL_REF.search(xml, at, end if end >= 0 else len(xml))
        cell = f"cell {ref.group(0)[3:-1].decode()}" if ref else "a cell"
        return f"{cell} is outside every row of its XML: {NOT_WRITTEN}"

    def first_value(self, xml: bytes, row: re.Match[bytes], number: int) -> str:
        """The reference of the first value of a row `valued_rows` found (it ends with the value's tag)."""
        cells = list(self.cell.finditer(xml, row.start(), row.end()))
        ref = _CELL_REF.search(xml, cells[-1].end(), row.end())
        if ref is not None:
            return ref.group(0)[3:-1].decode()
        return f"{_column_letters(len(cells))}{number}"  # cells without references follow each other

    def long_row(self, xml: bytes) -> str:
        """What `check_sheet` says of the row `xml` starts with, longer than `MAX_XLSX_TEXT_BYTES`
        (without its number, the row after the last one with a value, as `rows` counts them)."""
        number = re.match(re.escape(self.row_start) + rb'\b[^>]*?\br="([0-9]+)"', xml)
        return (f"row {int(number.group(1)) if number else self.last + 1:,} holds more than "
                f"{size_text(MAX_XLSX_TEXT_BYTES)} of XML: no row of a table is near that long (Excel holds 32,767 "
                "characters in a cell); shorten what it holds")

    def cut_long(self, rest: bytearray) -> int:
        """Where to cut `rest`, longer than a row may be and holding no row's start but at 0, so
        that no cell is cut in two: at the sheet's data's end, if a row ends there; outside the
        rows (before the first, after the data's end, or a sheet of cells in no row), before its
        last cell, or after its last tag if it holds no cell. 0: nowhere (a row going on, or a
        cell or tag outside the rows)."""
        if rest.startswith(self.row_start):
            return max(rest.find(self.data_end), 0)
        last = max((cell.start() for cell in self.cell.finditer(rest, 1)), default=0)
        return last or (0 if self.cell.match(rest) else rest.rfind(b">") + 1)

    def long_tag(self) -> str:
        """What `check_sheet` says of more than `MAX_XLSX_TEXT_BYTES` of XML outside the rows
        that `cut_long` cannot cut."""
        return (f"more than {size_text(MAX_XLSX_TEXT_BYTES)} of its XML outside its rows is one cell or tag: "
                f"{NOT_WRITTEN}")

    def outside(self) -> str | None:
        """The first value in the last column, if the grid would be mostly empty cells."""
        cells = self.height * self.width
        if cells <= max(CELLS_READ_ANYWAY, CELLS_PER_VALUE_MAX * self.values):
            return None
        return (f"cell {self.farthest} holds a value far outside the table (read from A1 to "
                f"{_column_letters(self.width)}{self.height}, the sheet would be {cells:,} cells for "
                f"{self.values:,} values): delete it, or whatever else lies outside the table")


@functools.lru_cache(maxsize=64)
def _right_of(width: int) -> re.Pattern[bytes]:
    """A cell more than an empty tag in a column right of column `width` (1 = A): as the letters
    go, one longer or, as long, larger at the first letter that differs."""
    letters = _column_letters(width)
    larger = [f"{letters[:i]}[{chr(ord(letter) + 1)}-Z]{'[A-Z]' * (len(letters) - i - 1)}"
              for i, letter in enumerate(letters) if letter < "Z"]
    longer = [f"[A-Z]{{{len(letters) + 1},3}}"] if len(letters) < 3 else []
    return re.compile(f'r="(?:{"|".join(larger + longer) or "(?!)"})[0-9]+"'.encode() + _FILLED)


def _column_letters(column: int) -> str:
    """Column 1 is A; column 0 is none (no cell seen yet)."""
    return xl_col_to_name(column - 1) if column else ""


def _sheet_frame(book: Any, path: Path, sheet: str, source: str) -> pd.DataFrame:
    """A sheet as text cells, as a CSV would hold them: the header is row 1, and the frame keeps
    every row below it (blank ones too, so spreadsheet rows stay right) up to the last filled one;
    a value far below or right of the table refuses the sheet (`check_sheet`).

    Excel keeps its own types: a number typed into a text column (a person number) becomes its
    digits without ".0"; a date cell, or a serial number in a date column, becomes its ISO day
    (and its time, if it has one other than midnight: `_xlsx_texts`).
    A formula is read as its saved value, so one never computed is refused (`check_sheet`).
    """
    from python_calamine import CalamineError, XmlError

    check_sheet(path, sheet)
    try:
        rows = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    except CalamineError as exc:  # its message may go on to quote the sheet's text: the first words only
        said = str(exc).split(":")[0]
        why = f"its XML is not well formed ({said})" if isinstance(exc, XmlError) else said or "unreadable"
        raise InputError(f"cannot read sheet {sheet}: {why}", file=source) from None
    while rows and all(cell == "" for cell in rows[-1]):
        rows.pop()
    if not rows or all(cell == "" for cell in rows[0]):
        raise InputError("row 1 is empty: it must hold the column names", file=source)
    names, columns = [], []
    for i, name in enumerate(field_name(text) for text in _xlsx_texts(rows[0], False)):
        if name:  # a column without a name is ignored, as any column not in the tables is
            names.append(name)
            columns.append(pd.Series(_xlsx_texts([row[i] for row in rows[1:]], name in DATES), dtype="str"))
    frame = pd.DataFrame(dict(enumerate(columns)), index=pd.RangeIndex(len(rows) - 1))
    return frame.set_axis(names, axis=1)


def _xlsx_texts(cells: list[Any], is_date: bool) -> np.ndarray:
    """A column of a sheet as a CSV would hold it, an array of str, converted a kind of cell at a
    time: calamine gives a cell as text, a float (every number: a sheet keeps no integers), a bool,
    or a date, datetime, time or timedelta (a number in such a format). Cell by cell, the
    conversion was a third of reading a sheet of lines (`_number_texts`, `_distinct_texts`)."""
    texts = np.empty(len(cells), dtype=object)
    texts[:] = cells
    types = np.fromiter(map(type, cells), dtype=object, count=len(cells))
    for cell_type in set(types.tolist()) - {str}:
        at = np.flatnonzero(types == cell_type)
        texts[at] = (_number_texts(texts[at].astype(np.float64), is_date) if cell_type is float
                     else _distinct_texts(texts[at], is_date))
    return texts


def _number_texts(numbers: np.ndarray, is_date: bool) -> np.ndarray:
    """Numbers as `_cell_text` words them: a whole one as its digits (no ".0"), another as Python
    writes it, NaN as empty; in a date column, one above 0 and at most `LAST_SERIAL` is Excel's
    serial day (its fraction a time of day), the ISO day it falls on."""
    texts = np.full(len(numbers), "", dtype=object)
    serial = (numbers > 0) & (numbers <= LAST_SERIAL) if is_date else np.zeros(len(numbers), dtype=bool)
    whole = ~serial & np.isfinite(numbers) & (np.trunc(numbers) == numbers)
    other = ~(serial | whole | np.isnan(numbers))
    texts[serial] = (np.datetime64(EXCEL_EPOCH, "D") + numbers[serial].astype(np.int64)).astype(str)
    texts[whole] = list(map(str, map(int, numbers[whole].tolist())))
    texts[other] = list(map(repr, numbers[other].tolist()))
    return texts


def _distinct_texts(cells: np.ndarray, is_date: bool) -> np.ndarray:
    """Cells of one kind other than text and numbers, each distinct one worded once by
    `_cell_text`; in a date column, a datetime is the day it falls on, as a time of day is in a
    CSV (`CLOCKED`)."""
    codes, distinct = pd.factorize(cells)
    texts = [cell.date().isoformat() if is_date and isinstance(cell, dt.datetime) else _cell_text(cell)
             for cell in distinct]
    return np.array(texts, dtype=object)[codes]


def _arrow_frame(table: pa.Table) -> pd.DataFrame:
    """Arrow → pandas with lists joined, dictionaries decoded, decimals as floats and binary
    columns as the UTF-8 text they hold (read as bytes, `b'M'`, no cell was valid). The pandas
    metadata a file may carry is not read: every column is typed by its own cells here, and a file
    edited by another tool may carry metadata its columns no longer match."""
    table = table.replace_schema_metadata(None)
    for i, field in enumerate(table.schema):
        column, kind = table.column(i), field.type
        if pa.types.is_dictionary(kind):
            column, kind = column.cast(kind.value_type), kind.value_type
        if _is_list(kind):
            column = _joined(column)
        elif pa.types.is_decimal(kind):
            column = column.cast(pa.float64())
        elif _is_bytes(kind):
            column = column.cast(pa.large_string())  # bytes that are no UTF-8 text: ArrowInvalid, "cannot read"
        table = table.set_column(i, field.name.strip(), column)
    return table.to_pandas(date_as_object=False, types_mapper=_nullable)


def _joined(lists: pa.ChunkedArray) -> pa.Array:
    """List cells as text, their items joined by `LIST_SEP`, a null item left out: Arrow's
    `binary_join` makes a cell with a null item null, so ['J18.9', null] read as no diagnosis at
    all, and claims were refused for none (a batch whose diagnoses each ended in a null was paid
    half its fund)."""
    lists = lists.cast(pa.list_(pa.string())).combine_chunks()
    items = pc.list_flatten(lists)
    given = pc.is_valid(items).to_numpy(zero_copy_only=False)
    if given.all():
        return pc.binary_join(lists, LIST_SEP)
    lengths = pc.list_value_length(lists).fill_null(0).to_numpy()
    kept = np.bincount(np.repeat(np.arange(len(lists)), lengths)[given], minlength=len(lists))
    offsets = pa.array(np.concatenate([[0], np.cumsum(kept)]), pa.int32())
    return pc.binary_join(pa.ListArray.from_arrays(offsets, items.filter(given), mask=lists.is_null()), LIST_SEP)


def _nullable(kind: pa.DataType) -> Any:
    """Integers and booleans to pandas' nullable dtypes, so an empty cell stays empty (unsigned
    64-bit ones as such: a person number may be one, beyond the signed range)."""
    if pa.types.is_uint64(kind):
        return pd.UInt64Dtype()
    if pa.types.is_integer(kind):
        return pd.Int64Dtype()
    return pd.BooleanDtype() if pa.types.is_boolean(kind) else None


# --- normalizing --------------------------------------------------------------------------

def normalize(raw: dict[str, pd.DataFrame], sources: dict[str, str],
              rows: Mapping[str, np.ndarray] | None = None) -> tuple[Batch, pd.DataFrame]:
    """Validate raw tables cell by cell into a typed `Batch`; rows that fail go to rejects.

    `raw` maps table names to frames with text cells (as from CSV) or typed columns (as from
    Parquet or Python); a table absent from `raw` is empty. A present table missing a
    required column raises `InputError` naming the file and the column. `rows`: per table the
    0-based file row of each raw row, when the frames hold only some rows of their files (a
    partition, `yibao.partition`), so frames and rejects still name the rows of the files.
    """
    log = _RejectLog(sources, rows or {})
    frames = {name: _typed_table(name, raw.get(name), log) for name in TABLES}
    keys = _Keys(frames)
    for name, columns in KEYS.items():
        _reject_duplicates(keys, name, columns, log)
    for name, start, end in PERIODS:
        _reject_reversed(frames[name], name, start, end, log)
    _reject_huge_lines(frames["lines"], log)
    _reject_carried(frames["accumulators"], log)
    _reject_people_with_bad_details(keys, log)
    _reject_claims(keys, log)
    _reject_lines_of_claims(keys, log)
    batch = Batch(**{name: log.kept(name, frame) for name, frame in frames.items()},
                  sources=dict(sources), rejected_accumulators=held_accumulators(frames["accumulators"], log))
    return batch, log.frame(frames)


class _RejectLog:
    """Reject rows as they are found, and which rows of each table are out."""

    def __init__(self, sources: dict[str, str], rows: Mapping[str, np.ndarray]) -> None:
        self.sources = sources
        self.rows = rows
        self.parts: list[tuple[str, np.ndarray, str, str | pa.Array]] = []
        self.out: dict[str, np.ndarray] = {}
        self.empty: dict[str, np.ndarray] = {}  # per table with empty rows (`_empty_rows`): which they are

    def start(self, table: str, rows: int) -> None:
        self.out[table] = np.zeros(rows, dtype=bool)

    def reject_empty(self, table: str, empty: np.ndarray) -> None:
        """Reject the empty rows of `table` (`_empty_rows`) once each: from here on `reject` says
        nothing more of them, neither a reason per blank cell nor that their blank keys are shared
        or name no row. Each such reason was a reject row of its own: 1M rows of only commas at the
        end of a lines CSV were 8M rejects, and the run peaked at 2.8 GB."""
        self.reject(table, np.flatnonzero(empty), "", EMPTY_ROW)
        self.empty[table] = empty

    def reject(self, table: str, positions: np.ndarray, column: str, reasons: str | pa.Array) -> None:
        """`reasons`: one for all, or one per position (Arrow text, as `_worded` makes it). An
        empty row already rejected (`reject_empty`) is left out."""
        positions = np.asarray(positions, dtype=np.int64)
        empty = self.empty.get(table)
        if empty is not None and len(positions):
            said = ~empty[positions]
            positions = positions[said]
            reasons = reasons if isinstance(reasons, str) else reasons.filter(pa.array(said))
        if len(positions):
            self.parts.append((table, positions, column, reasons))
            self.out[table][positions] = True

    def named(self, table: str, positions: np.ndarray) -> np.ndarray:
        """Positions of the rows of `table` a key found (−1: none), an empty row (`reject_empty`) as
        none: its blank key is no key, so a row with a blank key is told it names no row whether or
        not `table` has empty rows (not that it names an empty row, rejected)."""
        empty = self.empty.get(table)
        return positions if empty is None else np.where(_at(empty, positions), -1, positions)

    def file_row(self, table: str, positions: Any) -> Any:
        """Spreadsheet row numbers of rows at `positions` of `table`'s frame."""
        rows = self.rows.get(table)
        return (positions if rows is None else np.asarray(rows)[positions]) + FIRST_ROW

    def kept(self, table: str, frame: pd.DataFrame) -> pd.DataFrame:
        out = self.out[table]
        return frame[~out] if out.any() else frame

    def frame(self, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame({c: pd.Series(dtype=np.int64 if c == "row" else "str")
                                 for c in REJECT_COLUMNS})
        # built in Arrow: ten million reject rows never become Python objects
        pieces = [pa.table({
            "table": _repeat(table, len(pos)), "file": _repeat(self.sources.get(table, table), len(pos)),
            "row": pa.array(self.file_row(table, pos), pa.int64()), "column": _repeat(column, len(pos)),
            "key": _key_text(frames[table], table, pos),
            "reason": _repeat(reasons, len(pos)) if isinstance(reasons, str) else reasons})
            for table, pos, column, reasons in self.parts]
        out = pa.concat_tables(pieces)
        rank = np.concatenate([np.full(len(pos), list(TABLES).index(table)) for table, pos, _, _ in self.parts])
        return out.take(np.lexsort((out["row"].to_numpy(), rank))).to_pandas()


def _repeat(text: str, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(text, pa.large_string()), n)


def _key_text(frame: pd.DataFrame, table: str, positions: np.ndarray) -> pa.Array:
    """The `key` of rejected rows: their key columns' cells, `/`-joined, each `shortened`. A cell
    cut so is longer than `QUOTED` characters, so far longer than any key a row may have
    (`KEY_LENGTH`: its row is rejected for it): it never equals a scored claim's id, or a cell
    not cut. A 3 MB line id was a 3 MB key (1.9 MB of rejects.parquet)."""
    columns = KEYS.get(table, ("psn_no",))
    return join_text(*(_worded(_cells_at(frame[c], positions), _key_cell) for c in columns), sep="/")


def _key_cell(value: Any) -> str:
    return shortened(_cell_text(value))


def _cells_at(cells: pd.Series, positions: np.ndarray) -> pd.Series:
    """The cells at `positions`; cells of mixed Python objects (a frame given in Python) as their
    text, which is hashable and tells `1` from `True`. None is a slice: a take from Arrow text of
    many chunks costs 6 ms at 10M rows even for no row, and most checks find nothing."""
    taken = cells.iloc[positions] if len(positions) else cells.iloc[:0]
    return taken.map(_cell_text) if taken.dtype == object else taken


def _typed_table(name: str, raw: pd.DataFrame | None, log: _RejectLog) -> pd.DataFrame:
    columns = TABLES[name]
    source = log.sources.get(name, name)
    if raw is None:
        raw = pd.DataFrame({c.name: pd.Series(dtype="str") for c in columns})
    raw = raw.set_axis([field_name(c) for c in raw.columns], axis=1).reset_index(drop=True)
    if name in log.rows:  # a partition's rows keep the index of their file rows
        raw.index = pd.Index(np.asarray(log.rows[name], dtype=np.int64))
    check_header(raw.columns, source, name)
    missing = [c.name for c in columns if c.required and c.name not in raw.columns]
    if missing:
        raise InputError(f"missing required column{'s' if len(missing) > 1 else ''} "
                         f"{', '.join(missing)}", file=source, column=missing[0])
    log.start(name, len(raw))
    typed = {}

    def cells_of(column: Column) -> pd.Series:
        return raw[column.name] if column.name in raw.columns else pd.Series("", index=raw.index, dtype="str")

    # columns are typed side by side (Arrow and NumPy work without the GIL: 10M lines, 2.3 -> 1.95 s
    # of reading, +0.05 GB at the run's peak); their cells are rejected in column order as before,
    # once the rows that are empty in every column are known
    with _side_by_side(len(raw)) as pool:
        typed_columns = list(pool.map(lambda column: _typed_column(name, column, cells_of(column)), columns))
        empty = _empty_rows(columns, typed_columns)
        if empty is not None:
            log.reject_empty(name, empty)
        for column, (values, problems) in zip(columns, typed_columns):
            for mask, why in problems:
                bad = np.flatnonzero(mask)
                if not len(bad):  # nearly always: nothing to word (a what-if case: a quarter of its reading)
                    continue
                quote = why != REQUIRED and column.name not in PERSONAL
                log.reject(name, bad, column.name, _worded(_cells_at(cells_of(column), bad),
                                                           lambda v: f"{quoted(_cell_text(v))}: {why}") if quote else why)
            typed[column.name] = values
    return pd.DataFrame(typed, index=raw.index, copy=False)


def _empty_rows(columns: tuple[Column, ...], typed: list[tuple[pd.Series, Problems]]) -> np.ndarray | None:
    """Rows with no value in any column of their table, as typed (`_typed_column`): a row of only
    commas, a blank row inside a sheet. None when there is none: nearly always the first required
    column tells, by the mask of its blank cells made anyway, and no other column is looked at."""
    empty = None
    for column, (values, problems) in sorted(zip(columns, typed), key=lambda pair: pair[0].nullable):
        blank = _blank(column, values, problems)
        empty = blank if empty is None else empty & blank
        if not empty.any():
            return None
    return empty


def _blank(column: Column, values: pd.Series, problems: Problems) -> np.ndarray:
    """The cells of a typed column that held nothing: empty, and no text that could not be read
    (`REQUIRED`'s mask, where the column has one)."""
    required = next((mask for mask, why in problems if why == REQUIRED), None)
    if required is not None:
        return required
    blank = _empty_text(values) if column.type in ("str", "list") else values.isna().to_numpy(dtype=bool)
    return blank & ~np.logical_or.reduce([mask for mask, _ in problems]) if problems else blank


class _InTurn:
    """An executor's `map`, run in the calling thread."""

    def __enter__(self) -> _InTurn:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    map = staticmethod(map)


SIDE_BY_SIDE_ROWS = 10_000


def _side_by_side(rows: int) -> ThreadPoolExecutor | _InTurn:
    """Where a table's columns are typed: on threads from `SIDE_BY_SIDE_ROWS` rows, in turn below.
    For a what-if case or a small batch the threads cost more than they save: a one-claim batch
    (nine tables, each its pool) took 153 ms to score with them, 106 ms without; the tests'
    hypothesis properties score thousands of such batches."""
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1) if rows >= SIDE_BY_SIDE_ROWS else _InTurn()


def _typed_column(table: str, column: Column, cells: pd.Series) -> tuple[pd.Series, Problems]:
    unreadable: np.ndarray | bool = False  # cells with text that could not be read: empty now, but not blank
    if column.type in ("str", "list"):
        values = _text(cells)
        empty = _empty_text(values)
        problems: Problems = []
        if column.name in KEY_COLUMNS:
            problems.append((_longer_than(values, KEY_LENGTH), f"longer than {KEY_LENGTH} characters"))
        if (table, column.name) in AMOUNT_LISTS:
            problems += _amount_list_problems(values)
        allowed: list[Any] = [c for c in column.choices if c]
    else:
        values, problems = CONVERTERS[column.type](cells)
        if problems:
            unreadable = np.logical_or.reduce([mask for mask, _ in problems])
        if column.type in NUMBER_RULES:
            numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
            empty = np.isnan(numbers)
            rule = _number_rule(table, column)
            problems += _number_problems(numbers, _bounded(rule) if column.type == "yuan" else rule)
            problems += _too_narrow(cells.dtype, numbers, rule.decimals)
        else:
            empty = values.isna().to_numpy()
        allowed = [int(c) for c in column.choices if c]
    if allowed:
        outside = ~(_text_in(values, allowed) if column.type in ("str", "list") else values.isin(allowed).to_numpy())
        outside &= ~empty
        problems.append((outside, f"not one of {', '.join(map(str, allowed))}"))
    if not column.nullable:
        problems.append((empty & np.logical_not(unreadable), REQUIRED))  # ~False is -1: a mask of ints
    return values, problems


def _number_rule(table: str, column: Column) -> NumberRule:
    """The limits of a numeric column of an input table."""
    return COLUMN_RULES.get((table, column.name), NUMBER_RULES[column.type])


def _bounded(rule: NumberRule) -> NumberRule:
    """A money cell's rule with its maximum, the bound per line (yibao/limits.py)."""
    return replace(rule, maximum=max_line_yuan(), unit=f" yuan ({ENV_MAX_LINE})")


def _amount_list_problems(text: pd.Series) -> Problems:
    """A `CODE=yuan;…` column's bad cells: an item that is not `CODE=amount`, whose amount a
    money cell could not hold, or whose code the cell gives twice (one of the two amounts would be
    dropped, and the cap paid again up to it). Each distinct cell is split once (a person-year's
    cell repeats across the years it is carried)."""
    codes, distinct = pd.factorize(text)
    items = [(at, *item) for at, cell in enumerate(distinct) for item in amount_items(cell)]
    if not items:
        return []
    at, disease, amount = zip(*items)
    owner = np.array(at, dtype=np.int64)
    numbers = pd.to_numeric(pd.Series(amount, dtype=object), errors="coerce").to_numpy(np.float64)
    malformed = (np.array(disease, dtype=object) == "") | np.isnan(numbers)
    twice = pd.DataFrame({"at": owner, "code": disease}).duplicated(keep=False).to_numpy()
    problems = []
    for bad_item, why in [(malformed, NOT_AMOUNT_LIST), (twice, "a disease code given twice")] + \
            _number_problems(numbers, _bounded(NUMBER_RULES["yuan"])):
        bad = np.zeros(len(distinct), dtype=bool)
        bad[owner[bad_item]] = True
        problems.append((bad[codes], why))
    return problems


NARROW_FLOATS = {np.dtype(np.float16): np.float16, np.dtype(np.float32): np.float32, pd.Float32Dtype(): np.float32}


def _too_narrow(dtype: Any, values: np.ndarray, decimals: int | None) -> Problems:
    """A float32 (float16) column holds a number to `decimals` places only where the gap between
    its neighbouring values is below 10^-decimals: amounts to the fen below 131,072 (16) yuan.
    Beyond, the stored value's shortest decimal may be another amount (1,234,567.89 is stored as
    1,234,567.875 and read back 1,234,567.9): such a cell is refused, not paid some fen wrong."""
    kind = NARROW_FLOATS.get(dtype)
    if kind is None or decimals is None:
        return []
    with np.errstate(invalid="ignore"):
        gap = np.spacing(np.abs(values).astype(kind)).astype(np.float64)
        wide = gap >= 10.0 ** -decimals  # NaN (an empty cell) compares false
    if not wide.any():
        return []
    return [(wide, f"stored as {kind.__name__}, which cannot hold it to {decimals} decimals: "
                   f"store the column as float64 or decimal")]


def _number_problems(values: np.ndarray, rule: NumberRule) -> Problems:
    """Comparisons with NaN are false, so empty cells pass every check here. A bound no value
    crosses (the column's least and greatest values tell) gets no mask, nor do decimals no value
    has (`yibao.decimals`: 10M lines, five numeric columns, 0.35 s -> 0.03 s)."""
    if np.isnan(values).all():
        return []
    least, greatest = np.nanmin(values), np.nanmax(values)
    problems: Problems = []
    with np.errstate(invalid="ignore", over="ignore"):  # 1e308 × 100 is inf: caught by the maximum
        if np.isinf(least) or np.isinf(greatest):
            problems.append((np.isinf(values), "not a finite number"))
        if rule.decimals is not None:
            from yibao.decimals import decimals_off  # compiled (numba): loaded when numbers are read

            off = decimals_off(values, rule.decimals, DECIMAL_TOLERANCE)
            if off is not None:
                problems.append((off, f"more than {rule.decimals} decimals"))
        if rule.minimum is not None and (least <= rule.minimum if rule.minimum_open else least < rule.minimum):
            low = values <= rule.minimum if rule.minimum_open else values < rule.minimum
            word = "greater than" if rule.minimum_open else "at least"
            problems.append((low, f"must be {word} {rule.minimum:g}"))
        if rule.maximum is not None and greatest > rule.maximum:
            problems.append((values > rule.maximum, f"must be at most {_number(rule.maximum)}{rule.unit}"))
    return problems


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def _cell_text(value: Any) -> str:
    """One cell as a CSV would hold it, for cells built in Python and for messages."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (set, frozenset)):  # no order of its own: sorted, so equal sets read equal
        return LIST_SEP.join(sorted(_cell_text(v) for v in value))
    if isinstance(value, (list, tuple, np.ndarray)):
        return LIST_SEP.join(_cell_text(v) for v in value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, pd.Timestamp) and not dt.MINYEAR <= value.year <= dt.MAXYEAR:
        return str(value.to_datetime64().astype("datetime64[D]"))  # a Parquet date beyond Python's
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


ARROW_STR = pd.StringDtype("pyarrow", na_value=np.nan)
"""What `astype("str")` gives with pyarrow: a text column already so is not converted again."""


def _has_nulls(values: pd.Series) -> bool:
    """`values.hasnans`, from Arrow's count where the column is Arrow text: hasnans builds a mask
    of every cell, 0.15 ms even for a column of one row (a what-if case reads 40 text columns)."""
    array = values.array
    if isinstance(array, pd.arrays.ArrowStringArray):
        return array.__arrow_array__().null_count > 0
    return bool(values.hasnans)


def _text(cells: pd.Series) -> pd.Series:
    """Stripped text, "" when empty; cells of any other type as a CSV would show them."""
    if isinstance(cells.dtype, pd.StringDtype):
        text = cells.fillna("") if _has_nulls(cells) else cells
    elif cells.dtype == object and pd.api.types.infer_dtype(cells, skipna=True) in ("string", "empty"):
        text = cells
    else:  # numbers, booleans, dates or mixed Python objects in a text column: rare and small
        text = cells.map(_cell_text)
    if not text.dtype == ARROW_STR:  # (`!=` would take python-stored "str" as equal)
        try:
            text = text.astype("str")
        except UnicodeEncodeError:  # a lone surrogate (text decoded with errors="surrogateescape"): shown as "?"
            text = text.map(lambda v: v.encode("utf-8", "replace").decode("utf-8") if isinstance(v, str) else v)
            text = text.astype("str")
    text = text.fillna("") if _has_nulls(text) else text
    if _unpadded(text):  # codes and ids, nearly always: nothing to strip, and no stripped copy made
        return text
    stripped = text.str.strip()
    # the cells as read when no cell had spaces around it: then they share the file's buffers
    # and raw and typed text never coexist (about 55 bytes per line of lines)
    return text if _text_bytes(stripped) == _text_bytes(text) else stripped


def _unpadded(text: pd.Series) -> bool:
    """Does every cell begin and end with printable ASCII other than a space? Then stripping
    changes no cell. Read from Arrow's buffers, a cell's first and last bytes (2M lines: 6 ms a
    column, where stripping took 13); any other byte (a space, a Chinese character) leaves the
    column to `str.strip`."""
    for chunk in _text_chunks(text):
        _, offsets, data = chunk.buffers()
        if data is None:  # no chunk data: every cell empty
            continue
        width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        ends = np.frombuffer(offsets, dtype=width)[chunk.offset:chunk.offset + len(chunk) + 1]
        filled = ends[1:] > ends[:-1]
        edges = np.concatenate([np.frombuffer(data, dtype=np.uint8)[ends[:-1][filled]],
                                np.frombuffer(data, dtype=np.uint8)[ends[1:][filled] - 1]])
        if not ((edges > 0x20) & (edges < 0x7F)).all():
            return False
    return True


def _text_bytes(text: pd.Series) -> int:
    """The bytes of a text column's cells, from Arrow's offsets (no cell is decoded)."""
    return sum(pc.sum(lengths).as_py() or 0 for lengths in _cell_bytes(text))


def _longer_than(text: pd.Series, characters: int) -> np.ndarray:
    """Cells of more than `characters` characters. UTF-8 takes at least a byte per character, so
    characters are counted (every cell decoded) only when some cell has more bytes than that."""
    if max((pc.max(lengths).as_py() or 0 for lengths in _cell_bytes(text)), default=0) <= characters:
        return np.zeros(len(text), dtype=bool)
    return (text.str.len() > characters).to_numpy()


def _cell_bytes(text: pd.Series) -> Iterator[pa.Array]:
    """Each cell's length in bytes, a chunk of the column at a time: the lengths of a whole column
    read from Parquet would be fresh memory to fault in and drop (10M lines: 80 MB a key column,
    0.04 s where a chunk at a time takes 0.006)."""
    return (pc.binary_length(chunk) for chunk in _text_chunks(text))


def _empty_text(text: pd.Series) -> np.ndarray:
    """The empty cells of a text column (`_text`'s, which holds no missing value), from Arrow's
    lengths: comparing every cell with "" through pandas took 0.1 ms a column even for one row,
    and 14 ms at a million rows where this takes 1."""
    return _chunked_mask([pc.equal(lengths, 0) for lengths in _cell_bytes(text)], len(text))


def _text_in(text: pd.Series, allowed: list[str]) -> np.ndarray:
    """The cells of a text column that are one of `allowed`, by Arrow (pandas' `isin` took 0.14 ms
    a column for one row, 0.04 this way)."""
    choices = pa.array(allowed, pa.string())
    return _chunked_mask([pc.is_in(chunk, value_set=choices) for chunk in _text_chunks(text)], len(text))


def _chunked_mask(chunks: list[pa.Array], rows: int) -> np.ndarray:
    masks = [chunk.to_numpy(zero_copy_only=False) for chunk in chunks]
    return masks[0] if len(masks) == 1 else np.concatenate(masks) if masks else np.zeros(rows, dtype=bool)


def _text_chunks(text: pd.Series) -> list[pa.Array]:
    """A text column's Arrow chunks (Parquet's row groups), without a copy."""
    arrow = pa.array(text.array)
    return arrow.chunks if isinstance(arrow, pa.ChunkedArray) else [arrow]


def _by_distinct(text: pd.Series, parse: Callable[[pd.Index], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Parse each distinct text once: (values, unparsable mask); "" parses to the missing value."""
    codes, distinct = pd.factorize(text)
    parsed = parse(distinct)
    bad = pd.isna(parsed) & (distinct != "")
    return parsed[codes], bad[codes]


def _parse_dates(distinct: pd.Index) -> np.ndarray:
    """Days, of any year: pandas parses 9999-12-31 as microseconds, and its nanoseconds wrapped
    around (1816-03-29, an open end read as a day long past); `_to_date` bounds them. A text that
    is no date alone is tried as one with a time of day (`CLOCKED`): in a file of plain dates, no
    cell is."""
    days = _days(distinct)
    rest = np.isnat(days) & np.asarray(distinct != "", dtype=bool)
    if rest.any():
        days[rest] = _days(pd.Index(distinct[rest].str.extract(f"^{CLOCKED}$")["day"].fillna(""), dtype="str"))
    return days


def _days(texts: pd.Index) -> np.ndarray:
    """Texts written as one of `DATE_FORMATS` as their days; any other text NaT."""
    days = np.full(len(texts), np.datetime64("NaT"), dtype="datetime64[D]")
    left = np.asarray(texts != "", dtype=bool)  # no layout is tried on an empty cell, nor once every cell has one
    for pattern, layout in DATE_FORMATS:
        if not left.any():
            break
        typed = np.zeros(len(texts), dtype=bool)
        typed[left] = np.asarray(texts[left].str.fullmatch(pattern), dtype=bool)
        if typed.any():
            days[typed] = pd.to_datetime(texts[typed], format=layout, errors="coerce").to_numpy(
                dtype="datetime64[D]")
            left &= ~typed
    return days


def _parse_numbers(distinct: pd.Index) -> np.ndarray:
    return pd.to_numeric(distinct, errors="coerce").to_numpy(dtype=np.float64)


def _parse_bools(distinct: pd.Index) -> np.ndarray:
    return distinct.str.lower().map(BOOL_WORDS).to_numpy(dtype=object)


def _is_number(cells: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(cells.dtype) and not pd.api.types.is_bool_dtype(cells.dtype)


def _moments(cells: pd.Series) -> pd.Series:
    """A column of Python datetimes (a job's DataFrame) as the datetime64 column it would be
    in a file, so that a time of day is read alike in both: the day it falls on."""
    if cells.dtype != object or pd.api.types.infer_dtype(cells, skipna=True) not in ("datetime", "datetime64"):
        return cells
    try:
        return pd.to_datetime(cells)
    except (ValueError, TypeError, OverflowError):  # mixed zones, beyond pandas' days: read as text
        return cells


def _to_date(cells: pd.Series) -> tuple[pd.Series, Problems]:
    """Days (datetime64[ns], NaT when empty) from dates, timestamps or text. A moment is the day
    it falls on, however it came: text (`CLOCKED`), a Parquet timestamp, an Excel date cell,
    Python datetimes."""
    cells = _moments(cells)
    if pd.api.types.is_datetime64_any_dtype(cells.dtype):
        if not isinstance(cells.dtype, np.dtype) and getattr(cells.dt, "tz", None) is not None:  # NumPy's have none
            cells = _local(cells)
        outside = _outside_days(cells)
        if outside is not None:
            cells = cells.mask(outside)
        days = cells if cells.dtype == NS_DAYS else cells.astype(NS_DAYS)
        problems = [] if outside is None else [(outside, OUTSIDE_DAYS)]
        return (days.dt.floor("D") if _with_time(days).any() else days), problems
    values, bad = _by_distinct(_text(cells), _parse_dates)
    days, problems = _to_date(pd.Series(values, index=cells.index))
    return days, [(bad, NOT_A_DATE)] + problems


def _local(moments: pd.Series) -> pd.Series:
    """Moments with a zone as clock times without one: as written where that is a midnight (a day
    kept as a timestamp, 2025-01-03T00:00Z), else as in China, where the claims are (a database
    driver's UTC timestamp of a Chinese day: 2025-04-30T16:00Z is 2025-05-01 00:00)."""
    written = moments.dt.tz_localize(None)
    return written.where(~_with_time(written), moments.dt.tz_convert(DAY_ZONE).dt.tz_localize(None))


def _with_time(moments: pd.Series) -> np.ndarray:
    """Rows whose moment (naive, of any unit) is not a midnight; NaT is none."""
    values = moments.to_numpy()
    day = np.timedelta64(1, "D") // np.timedelta64(1, np.datetime_data(values.dtype)[0])
    return (values.view(np.int64) % day != 0) & ~np.isnat(values)


def _outside_days(moments: pd.Series) -> np.ndarray | None:
    """Rows whose day lies outside `DAYS`; None when the least and the greatest lie inside (nearly
    always: no mask is made then). The two are found by NumPy (pandas' min and max took 0.48 s for
    9M moments, NumPy 0.04, and 0.1 ms a column of one row)."""
    values = moments.to_numpy()
    if not len(values):
        return None
    greatest = values[values.view(np.int64).argmax()]  # NaT is the least int64: NaT only when every cell is
    if np.isnat(greatest):
        return None
    if DAYS[0] <= np.nanmin(values).astype("datetime64[D]") and greatest.astype("datetime64[D]") <= DAYS[-1]:
        return None
    day = values.astype("datetime64[D]")  # a coarser unit: no value overflows
    return (day < DAYS[0]) | (day > DAYS[-1])  # NaT compares false


def _shortest(floats: np.ndarray) -> np.ndarray:
    """float32/float16 values as float64 holding each one's shortest decimal (81.62, not
    81.62000274658203, its binary value widened): the amount that was typed."""
    return floats.astype(str).astype(np.float64)


def _to_float(cells: pd.Series) -> tuple[pd.Series, Problems]:
    if _is_number(cells):
        narrow = NARROW_FLOATS.get(cells.dtype)
        if narrow is not None:  # its shortest decimal, not its binary value (where too wide: `_too_narrow`)
            floats = cells.to_numpy(dtype=narrow, na_value=np.nan)  # widened: 81.62 → 81.62000274658203
            return pd.Series(_shortest(floats), index=cells.index), []
        return cells.astype(np.float64), []
    values, bad = _by_distinct(_text(cells), _parse_numbers)
    return pd.Series(values, index=cells.index, dtype=np.float64), [(bad, "not a number")]


def _to_int(cells: pd.Series) -> tuple[pd.Series, Problems]:
    """Whole numbers: counts, levels, years, weeks — none reaches a billion, and a bound keeps a
    typo (or a Parquet int64 of 10^18) out of the day and money arithmetic built on them."""
    if pd.api.types.is_integer_dtype(cells.dtype):
        floats = cells.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
        problems: Problems = []
    else:
        numbers, problems = _to_float(cells)
        floats = numbers.to_numpy()
    with np.errstate(invalid="ignore"):
        fraction = np.isinf(floats) | (np.isfinite(floats) & (floats != np.floor(floats)))
        huge = ~fraction & (np.abs(floats) > MAX_WHOLE)
    whole = pd.Series(pd.array(np.where(fraction | huge, np.nan, floats), dtype="Int64"), index=cells.index)
    return whole, problems + [(fraction, "not a whole number"), (huge, f"above {MAX_WHOLE:,}")]


def _to_bool(cells: pd.Series) -> tuple[pd.Series, Problems]:
    if pd.api.types.is_bool_dtype(cells.dtype):
        return cells.astype("boolean"), []
    if _is_number(cells):
        numbers = cells.astype(np.float64).to_numpy()
        bad = ~np.isnan(numbers) & (numbers != 0) & (numbers != 1)
        values = np.where(bad, np.nan, numbers)
    else:
        values, bad = _by_distinct(_text(cells), _parse_bools)
    return pd.Series(pd.array(values, dtype="boolean"), index=cells.index), [(bad, "not true/false")]


CONVERTERS: dict[str, Callable[[pd.Series], tuple[pd.Series, Problems]]] = {
    "date": _to_date, "int": _to_int, "yuan": _to_float, "float": _to_float, "bool": _to_bool}


# --- keys and references --------------------------------------------------------------------

def _arrow(values: pd.Series) -> pa.Array | pa.ChunkedArray:
    """A column as Arrow (no copy when pandas already holds it in Arrow)."""
    if isinstance(values.dtype, pd.StringDtype) or values.dtype == "Int64":
        return pa.array(values.array)
    return pa.array(values.astype("str").array)


def _numpy(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return values.to_numpy() if isinstance(values, pa.ChunkedArray) else values.to_numpy(zero_copy_only=False)


def _positions(values: pa.Array | pa.ChunkedArray, target: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Per value the position of its first occurrence in `target`, −1 where it has none."""
    found = pc.index_in(values, value_set=target)
    return _numpy(found.fill_null(-1)).astype(np.int64)


def _at(mask: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """mask[positions], False where a position is −1."""
    if not len(mask):
        return np.zeros(len(positions), dtype=bool)
    return (positions >= 0) & mask[np.maximum(positions, 0)]


def _increasing(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Per row after the first: is it greater than the row before?"""
    n = len(values)
    if n < 2:
        return np.zeros(0, dtype=bool)
    return _numpy(pc.greater(values.slice(1), values.slice(0, n - 1))).astype(bool)


class _Keys:
    """Key columns as Arrow arrays and as runs of equal values, each computed once.

    Files are usually ordered by their key (lines grouped by claim, line ids rising within a
    claim), and then comparing neighbours proves keys unique and ten million lines cost as
    little as their claims; only an unordered file pays for hashing every key.
    """

    def __init__(self, frames: dict[str, pd.DataFrame]) -> None:
        self.frames = frames
        self.cache: dict[tuple[str, str, str], Any] = {}

    def _once(self, kind: str, table: str, column: str, make: Callable[[], Any]) -> Any:
        if (kind, table, column) not in self.cache:
            self.cache[(kind, table, column)] = make()
        return self.cache[(kind, table, column)]

    def array(self, table: str, column: str) -> pa.Array | pa.ChunkedArray:
        return self._once("array", table, column, lambda: _arrow(self.frames[table][column]))

    def starts(self, table: str, column: str) -> np.ndarray:
        """Rows where a run of equal values starts."""
        def make() -> np.ndarray:
            values = self.array(table, column)
            first = np.ones(len(values), dtype=bool)
            if len(values) > 1:
                first[1:] = _numpy(pc.not_equal(values.slice(1), values.slice(0, len(values) - 1))).astype(bool)
            return np.flatnonzero(first)
        return self._once("starts", table, column, make)

    def ordered(self, table: str, columns: tuple[str, ...]) -> bool:
        """Are keys unique by order alone: runs of the first column rising, and the second
        column rising within each run?"""
        first = self.array(table, columns[0])
        starts = self.starts(table, columns[0])
        if not _increasing(take_rising(first, starts)).all():
            return False
        if len(columns) == 1:
            return len(starts) == len(first)
        run_start = np.zeros(len(first), dtype=bool)
        run_start[starts] = True
        return bool((_increasing(self.array(table, columns[1])) | run_start[1:]).all())

    def codes(self, table: str, columns: tuple[str, ...]) -> np.ndarray:
        """One integer per row, equal exactly when the keys are equal (a missing cell, as an
        accumulators row's year may be, is a value of its own: code 0)."""
        key = np.zeros(len(self.frames[table]), dtype=np.int64)
        for column in columns:
            codes, distinct = dictionary_codes(self.array(table, column))
            key = key * (len(distinct) + 1) + (codes + 1)
        return key


LISTED_ROWS = 10
"""Rows a duplicate key's reason names. Every row sharing the key is rejected on a line of its
own, so the reason only points at the others; naming them all made the rejects grow with the
square of the rows (10,000 blank rows of one CSV, each naming the 10,000: 2.2 GB)."""


def _rows_named(rows: pd.Series) -> str:
    """The first `LISTED_ROWS` rows of a key, and how many more share it."""
    named = ", ".join(map(str, rows.iloc[:LISTED_ROWS]))
    more = len(rows) - LISTED_ROWS
    return f"{named} and {more:,} more" if more > 0 else named


def _reject_duplicates(keys: _Keys, table: str, columns: tuple[str, ...], log: _RejectLog) -> None:
    if len(keys.frames[table]) < 2 or keys.ordered(table, columns):
        return
    key = keys.codes(table, columns)
    empty = log.empty.get(table)
    if empty is not None:  # an empty row's blank key is no key: each its own, below every real one
        key[empty] = -1 - np.flatnonzero(empty)
    order = np.argsort(key, kind="stable")
    same = key[order][1:] == key[order][:-1]
    if not same.any():
        return
    dup = np.zeros(len(key), dtype=bool)
    dup[order[1:][same]] = True
    dup[order[:-1][same]] = True
    pos = np.flatnonzero(dup)
    rows = pd.Series(log.file_row(table, pos)).groupby(key[pos]).agg(_rows_named)
    log.reject(table, pos, columns[-1], _worded(key[pos], lambda k: f"duplicate {'/'.join(columns)}: rows {rows[k]}"))


def _reject_reversed(frame: pd.DataFrame, table: str, start: str, end: str, log: _RejectLog) -> None:
    pos = np.flatnonzero(frame[end].to_numpy() < frame[start].to_numpy())  # days (NaT compares false)
    if not len(pos):  # nearly always: nothing to word
        return

    def day(column: str) -> pa.Array:
        return _worded(frame[column].iloc[pos], lambda d: f"{d:%Y-%m-%d}")

    log.reject(table, pos, end, join_text(day(end), f" is before {start} ", day(start)))


def _reject_huge_lines(lines: pd.DataFrame, log: _RejectLog) -> None:
    """A line whose price × quantity (computed even when an amount is given) is beyond the bound
    per line: a typo that must not reach the integer arithmetic (yibao/limits.py). Each money
    cell was held to the same bound when it was read."""
    bound = max_line_yuan()
    why = f"the line's amount is above the bound of {bound:,.0f} yuan per line ({ENV_MAX_LINE})"
    with np.errstate(over="ignore", invalid="ignore"):
        product = lines["pric"].to_numpy(dtype=np.float64) * lines["cnt"].to_numpy(dtype=np.float64)
    log.reject("lines", np.flatnonzero((product > bound) & ~log.out["lines"]), "pric", why)


def _first_bad(keys: _Keys, log: _RejectLog, table: str, column: str, values: pa.Array) -> np.ndarray:
    """Per value the first rejected row of `table` with it in `column`, −1 where none."""
    bad = np.flatnonzero(log.out[table])
    if not len(bad):
        return np.full(len(values), -1, dtype=np.int64)
    hit = _positions(values, take_rising(keys.array(table, column), bad))
    return np.where(hit >= 0, bad[np.maximum(hit, 0)], -1)


def _reject_carried(frame: pd.DataFrame, log: _RejectLog) -> None:
    """An accumulators row a batch rejected comes back with its reason (`held_accumulators`), and
    is rejected again with its person until someone corrects it."""
    pos = np.flatnonzero((frame["rejected"] != "").to_numpy())
    log.reject("accumulators", pos, "rejected", _worded(_cells_at(frame["rejected"], pos), lambda why: (
        f"rejected by an earlier batch ({why}): correct the row and empty this cell")))


def held_accumulators(frame: pd.DataFrame, log: _RejectLog) -> pd.DataFrame:
    """The accumulators rows rejected, as typed (a cell that could not be read is empty), each with
    where and why in `rejected` (a row carried back keeps the reason it came with).

    They are carried into the accumulators after the batch: left out, the next batch would find
    nothing used by that person this year and pay their deductible and capped amounts again,
    although this batch rejected their claims for it. Carried, the row rejects its person again,
    month after month, until it is corrected."""
    out = log.out["accumulators"]
    if not out.any():
        return frame.iloc[:0]
    source = log.sources.get("accumulators", "accumulators")
    reasons: dict[int, list[str]] = {}
    for table, positions, column, why in log.parts:
        if table == "accumulators" and column != "rejected":
            texts = [why] * len(positions) if isinstance(why, str) else why.to_pylist()
            for position, row, text in zip(positions.tolist(), log.file_row(table, positions).tolist(), texts):
                reasons.setdefault(position, []).append(f"{source} row {row}{f', {column}' if column else ''}: {text}")
    held = frame[out]
    carried = [given or "; ".join(reasons[p]) for p, given in zip(np.flatnonzero(out).tolist(), held["rejected"])]
    return held.assign(rejected=pd.Series(carried, index=held.index, dtype="str"))


def _reject_people_with_bad_details(keys: _Keys, log: _RejectLog) -> None:
    people = keys.array("persons", "psn_no")
    for table in PERSON_DETAILS:
        row = _first_bad(keys, log, table, "psn_no", people)
        hit = np.flatnonzero((row >= 0) & ~log.out["persons"])
        log.reject("persons", hit, "",
                   _worded(row[hit], lambda r: f"its {table} row {log.file_row(table, r)} {CASCADED}"))


def _reject_refs(keys: _Keys, log: _RejectLog, table: str, column: str, target: str,
                 applies: np.ndarray) -> None:
    """Reject rows of `table` whose `column` names no row, or a rejected row, of `target`."""
    values = keys.frames[table][column]
    shown = (lambda v: "") if column in PERSONAL else (lambda v: f" {v!r}")
    pos = log.named(target, _positions(keys.array(table, column), keys.array(target, column)))
    unknown = np.flatnonzero(applies & (pos < 0))
    log.reject(table, unknown, column, _worded(values.iloc[unknown], lambda v: f"{column} is empty" if v == ""
                                               else f"{column}{shown(v)} is not in {target}"))
    hit = np.flatnonzero(applies & _at(log.out[target], pos) & ~log.out[table])
    theirs = keys.frames[target][column]  # a row's value is its target row's: they were matched on it
    log.reject(table, hit, column, _worded(pos[hit], lambda t: f"{target} row {log.file_row(target, t)}"
                                                               f"{shown(theirs.iat[t])} {CASCADED}"))


NO_LINES = "no line in lines names this claim: a claim is paid on its fee lines (费用明细); an application has its own kind"
"""Why a claim of kind `claim` without lines is set aside: it was approved with every amount 0 and
counted as an admission of the year (the next one's deductible × repeat_admission_factor)."""


def _reject_claims(keys: _Keys, log: _RejectLog) -> None:
    claims = keys.frames["claims"]
    _reject_refs(keys, log, "claims", "psn_no", "persons", np.ones(len(claims), dtype=bool))
    _reject_refs(keys, log, "claims", "institution_id", "institutions", (claims["kind"] == "claim").to_numpy())
    line = _first_bad(keys, log, "lines", "mdtrt_id", keys.array("claims", "mdtrt_id"))
    hit = np.flatnonzero((line >= 0) & ~log.out["claims"])
    line_ids = keys.frames["lines"]["line_id"]
    rows = pa.array(log.file_row("lines", line[hit]), pa.int64()).cast(pa.large_string())
    line_id = _worded(_cells_at(line_ids, line[hit]), quoted)  # a line id of megabytes cut short, as its own reason is
    log.reject("claims", hit, "", join_text("its line ", line_id, " (lines row ", rows, f") {CASCADED}"))
    runs = _claims_of_runs(keys)
    lined = np.zeros(len(claims), dtype=bool)
    lined[runs[runs >= 0]] = True  # a claim id given twice is rejected above, its first row or not
    lineless = (claims["kind"] == "claim").to_numpy() & ~lined & ~log.out["claims"]
    log.reject("claims", np.flatnonzero(lineless), "mdtrt_id", NO_LINES)


def _claims_of_runs(keys: _Keys) -> np.ndarray:
    """Per run of lines of one claim id (`keys.starts`) the position of that id in claims (−1:
    none), looked up once for both uses: one lookup costs 0.4 s at 850,000 claims."""
    return keys._once("claims of runs", "lines", "mdtrt_id", lambda: _positions(
        take_rising(keys.array("lines", "mdtrt_id"), keys.starts("lines", "mdtrt_id")), keys.array("claims", "mdtrt_id")))


def _reject_lines_of_claims(keys: _Keys, log: _RejectLog) -> None:
    """Lines of an unknown or rejected claim; looked up once per run of lines of one claim."""
    lines = keys.frames["lines"]
    starts = keys.starts("lines", "mdtrt_id")
    claim = log.named("claims", _claims_of_runs(keys))
    bad_run = (claim < 0) | _at(log.out["claims"], claim)
    if not bad_run.any():
        return
    run_of = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(lines))))
    rows = np.flatnonzero(bad_run[run_of])
    unknown = rows[claim[run_of[rows]] < 0]
    log.reject("lines", unknown, "mdtrt_id",
               _worded(lines["mdtrt_id"].iloc[unknown], lambda c: f"no claim {c!r} in claims"))
    cascade = rows[(claim[run_of[rows]] >= 0) & ~log.out["lines"][rows]]
    log.reject("lines", cascade, "", _worded(claim[run_of[cascade]],
                                             lambda c: f"its claim (claims row {log.file_row('claims', c)}) "
                                                       f"{CASCADED}"))


# --- writing ------------------------------------------------------------------------------

PARQUET_ROW_GROUP = 1 << 20
"""Rows per row group of the Parquet tables written: Arrow's own default, stated so that a table
`Ahead` encodes a row group at a time is cut where the whole table's writer cuts it."""
CLAIMS_ROW_GROUP = 1 << 18
"""Rows per row group of the claims' table: it is made a row group at a time while the one before
is encoded (`yibao.pipeline`), so a quarter of Arrow's default leaves little encoding after the
last one is made (10M lines: 850k claims, 4 groups)."""


def row_group_rows(name: str) -> int:
    """Rows per row group of the table `name` written as Parquet."""
    return CLAIMS_ROW_GROUP if name == "claims" else PARQUET_ROW_GROUP


class Ahead:
    """Parquet tables encoded while the batch is still being scored: the lines are final two
    seconds before the claims (10M lines), and encoding them takes 1.8 s of a core that is free
    then (Arrow encodes without the GIL). A table is encoded a row group at a time into a
    temporary file, which `write_tables` copies into the output folder: held in memory, the
    encoded bytes and their growing buffer cost 0.15 GB more at 10M lines. Use as a context
    manager: the encoding thread ends, and the files not taken are removed, with the block; the
    files of a run that was killed are removed by the next `Ahead`."""

    def __init__(self) -> None:
        _remove_stale_spools()
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._encoded: dict[str, Future[Path]] = {}

    def __call__(self, name: str, rows: int, part: Callable[[slice], pd.DataFrame]) -> Future[Path]:
        """Start encoding the table `name` of `rows` rows, made a row group at a time by `part`
        (the rows of one group, `row_group_rows(name)`, as a slice; what it reads is no longer
        changed by anyone; it may wait for its part to be made). Parts are asked for in order,
        each once the one before is written, so a part may reuse the memory of the one before,
        and the whole table need not exist at once. The file is the one `write_tables` writes of
        the parts put together. Returns the encoding's future."""
        self._encoded[name] = self._pool.submit(_parquet_file, rows, row_group_rows(name), part)
        return self._encoded[name]

    def take(self, name: str) -> Path | None:
        """The table's encoded file (waited for), None when it was not encoded here, or could not
        be (a full temporary folder: the table is then written as it would be without `Ahead`).
        The taker removes it."""
        encoded = self._encoded.pop(name, None)
        if encoded is None or isinstance(encoded.exception(), OSError):
            return None
        return encoded.result()

    def __enter__(self) -> Ahead:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        for encoded in self._encoded.values():
            if not encoded.cancelled() and encoded.exception() is None:
                encoded.result().unlink(missing_ok=True)


def _write_parquet(frame: pd.DataFrame, where: str | Path | pa.NativeFile, group: int) -> None:
    table = _arrow_table(frame)
    pq.write_table(table, where, row_group_size=group, **_parquet_options(table.schema))


UNDICTIONARIED = ("mdtrt_id",)
"""Columns written without a dictionary. A claim id names one claim: distinct in the claims'
table, in runs in the lines' and violations', which zstd compresses by itself, so a dictionary
only repeats the values (10M lines: the lines' claim ids took 0.15 s of a core to encode and 3.2
MB with one, 0.09 s and 1.5 MB without)."""


def _parquet_options(schema: pa.Schema) -> dict[str, Any]:
    """How every table is written: zstd, min/max statistics of the columns that are not text, and a
    dictionary for every column but `UNDICTIONARIED`. Text columns' statistics took a fifth of the encoding (10M lines: 1.52 -> 1.25 s of a core;
    their claims 0.60 -> 0.51 s), and serve only a reader skipping row groups by a text value."""
    return {"compression": "zstd", "write_statistics": [f.name for f in schema if not _is_text(f.type)],
            "use_dictionary": [f.name for f in schema if f.name not in UNDICTIONARIED]}


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _parquet_file(rows: int, group: int, part: Callable[[slice], pd.DataFrame]) -> Path:
    """What `_write_parquet` writes of the parts put together, written by its writer a row group
    at a time (an empty table is one empty part) into a temporary file, opened by Arrow (a
    Python file would take the GIL for every page written: 10M lines, 1.8 -> 2.6 s)."""
    fd, name = tempfile.mkstemp(prefix=f"{SPOOL}{os.getpid()}-", suffix=".parquet")
    os.close(fd)
    try:
        with pa.OSFile(name, "wb") as sink:
            writer: pq.ParquetWriter | None = None
            for start in range(0, max(rows, 1), group):
                table = _arrow_table(part(slice(start, min(start + group, rows))))
                writer = writer or pq.ParquetWriter(sink, table.schema, **_parquet_options(table.schema))
                writer.write_table(table, row_group_size=group)
            assert writer is not None  # there is always a part
            writer.close()
    except BaseException:
        os.unlink(name)
        raise
    return Path(name)


SPOOL = "yibao-encoded-"  # `Ahead`'s files in the temporary folder: SPOOL<pid>-<random>.parquet


def _remove_stale_spools() -> None:
    """Remove the encoded tables runs that were killed left in the temporary folder (their process
    is gone; another user's are left alone)."""
    for path in Path(tempfile.gettempdir()).glob(f"{SPOOL}*-*.parquet"):
        pid = path.name[len(SPOOL):].partition("-")[0]
        if pid.isdecimal() and not alive(int(pid)):
            with contextlib.suppress(OSError):
                path.unlink()


def write_tables(tables: Mapping[str, pd.DataFrame | Later], out: Path, fmt: str = "parquet",
                 ahead: Ahead | None = None, money: AbstractSet[str] = MONEY) -> list[Path]:
    """Write each frame as `<name>.parquet` or `<name>.csv`, or all as sheets of `tables.xlsx`;
    Parquet tables that `ahead` encoded are written as it made them (a `Later` one is not made).

    CSV is UTF-8 with a BOM, so Excel on Chinese Windows opens it right, and money always has two
    decimals ("12.50", "0.00"): the `money` columns, the money fields of `yibao.fields` unless
    the tables name their own (a simulation's `hifp_pay_change`). Output is byte-identical for
    identical frames: dates are written as days, booleans as true/false, empty cells empty, and
    nothing that varies between runs (times) is stored.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        from yibao.excel import write_tables_workbook

        return [write_tables_workbook({name: made(t) for name, t in tables.items()}, out / TABLES_WORKBOOK)]

    def write(name: str) -> Path:
        path = out / f"{name}.{fmt}"
        if fmt == "parquet":
            encoded = ahead.take(name) if ahead is not None else None
            if encoded is None:
                _write_parquet(made(tables[name]), path, row_group_rows(name))
            else:
                shutil.copyfile(encoded, path)  # made as every other file is (a move keeps the temporary's mode)
                encoded.unlink()
        else:
            with path.open("wb") as f:
                f.write(codecs.BOM_UTF8)
                pacsv.write_csv(_csv_safe(_arrow_table(made(tables[name]), money)), f,
                                pacsv.WriteOptions(quoting_style="needed"))
        return path

    # Arrow encodes without the GIL: the large tables (lines, claims) are written side by side
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return list(pool.map(write, tables))


TABLES_WORKBOOK = "tables.xlsx"  # write_tables' one file in xlsx: a sheet per table

FORMULA_START = "^[=+\\-@\t\r']"  # a spreadsheet may run a CSV cell starting so (OWASP); "'": see _csv_safe


def _csv_safe(table: pa.Table) -> pa.Table:
    """Text cells a spreadsheet opening the CSV would run as a formula (an id or a payee name
    such as `=HYPERLINK(…)` from a hospital's file), with a leading "'" (OWASP's advice on CSV
    injection): Excel and WPS show it as text. A cell starting with "'" gets one too, so
    `read_output_table` gives every cell back exactly."""
    for i, field in enumerate(table.schema):
        column = table.column(i)
        text = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
        if not (pa.types.is_string(text) or pa.types.is_large_string(text)):
            continue
        column = column.cast(text)
        risky = pc.match_substring_regex(column, FORMULA_START)
        if pc.any(risky).as_py():
            quote, joined = pa.scalar("'", text), pa.scalar("", text)
            table = table.set_column(i, field.name, pc.if_else(
                risky, pc.binary_join_element_wise(quote, column, joined), column))
    return table


def read_output_sheet(path: Path, table: str) -> pd.DataFrame | None:
    """The sheet `table` of a workbook `write_tables` wrote (`TABLES_WORKBOOK`), cells as text as
    `read_table` gives them; None when it has no such sheet."""
    book = _open_workbook(path)
    if table not in book.sheet_names:
        return None
    try:
        return _sheet_frame(book, path, table, f"{path}, sheet {table}")
    except READ_ERRORS as exc:
        raise unreadable(path, exc) from None


def read_output_table(path: Path, table: str = "") -> pd.DataFrame:
    """A table yibao wrote (`write_tables`), as `read_table` reads it; a CSV's text cells without
    the quote `_csv_safe` put before them. An accumulators file is read so too: it is a score's
    `accumulators` output, carried to the next batch."""
    frame = read_table(path, table)
    if path.suffix.lower() != ".csv":
        return frame
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_string_dtype(values.dtype):
            quoted = values.str.startswith("'").fillna(False).to_numpy(dtype=bool)
            if quoted.any():
                frame[column] = values.where(~quoted, values.str[1:])
    return frame


def _arrow_table(frame: pd.DataFrame, money: AbstractSet[str] = frozenset()) -> pa.Table:
    """The frame as Arrow, datetime columns as dates (the tables hold days, not instants), and
    the `money` columns as decimals of two places, which a CSV shows as 12.50."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            table = table.set_column(i, field.name, pc.cast(table.column(i), pa.date32(), safe=False))
        elif field.name in money and pa.types.is_floating(field.type):
            table = table.set_column(i, field.name, _decimal_yuan(frame[field.name].to_numpy(dtype=np.float64)))
    return table


def _decimal_yuan(yuan: np.ndarray) -> pa.Array:
    """Yuan (whole fen) as decimal128(18, 2), built from the fen: the 16-byte little-endian
    integers Arrow stores, so no value passes through a float-to-decimal rounding."""
    empty = np.isnan(yuan)
    fen = yuan_array_to_fen(np.where(empty, 0, yuan))
    valid = pa.array(fen, mask=empty).buffers()[0]
    data = pa.py_buffer(np.ascontiguousarray(np.column_stack([fen, fen >> 63])).tobytes())
    return pa.Array.from_buffers(pa.decimal128(18, 2), len(fen), [valid, data], null_count=int(empty.sum()))
