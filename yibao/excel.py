"""Excel workbooks people open: the scored tables (`score --format xlsx`) and the cell looks the
settlement workbook shares with them.

An examiner opens a sheet to sort, filter and sum: money must be numbers shown as `#,##0.00`
(text cannot be summed), days real date cells (text sorts but cannot be filtered by month),
the header frozen with a filter on it and the Chinese label above each field name, columns wide
enough to read. A month is millions of cells, so sheets are streamed row by row with XlsxWriter
and the looks are set once per column (XlsxWriter gives a cell without a format its column's),
never per cell; a column's cells are converted at once (money and ratios as floats, days as
Excel serial numbers) before the rows are written. Equal tables give equal bytes.

A cell holds at most 32,767 characters (UTF-16 units, as Excel counts them). XlsxWriter cuts a
longer text there without a mark (`write_string` returns -2, which `write_row` does not pass on),
and an examiner would read, and sign, a name or a reason whose end is gone without knowing it.
Every sheet of `xlsx_book` is a `FittedSheet`: a longer text is cut with a mark that says so and
how long the whole text is (`fitted_text`); the Parquet, CSV and HTML outputs keep it whole.
`score --format xlsx` refuses such a table instead (`write_tables_workbook`): `settle` reads its
sheets back as data, and a cut there would change what it pays from.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from yibao.errors import InputError
from yibao.fields import DATES, MONEY, RATIOS, header

XLSX_MAX_ROWS = 1_048_575  # data rows on one sheet, below the header
XLSX_MAX_TEXT = 32_767  # UTF-16 units in one cell (XlsxWriter would cut a longer text short, unmarked)
CUT_MARK = "…(共 {:,} 字，已截断)"  # ends a text cut to fit a cell: its whole length in characters
EXCEL_EPOCH = np.datetime64("1899-12-30", "D")  # day 0 of Excel's serial dates
# cell looks by what a column holds
LOOKS: dict[str, dict[str, Any]] = {"money": {"num_format": "#,##0.00"}, "date": {"num_format": "yyyy-mm-dd"},
                                    "ratio": {"num_format": "0.00%"}}
HEADER_LOOK = {"bold": True, "bg_color": "#DDE4EE", "text_wrap": True, "valign": "top"}
WIDTH_SAMPLE = 500  # rows a column's width is fitted to
MIN_WIDTH, MAX_WIDTH = 6, 60


def excel_length(text: str) -> int:
    """The length of a text as Excel counts it, in UTF-16 units: a character beyond the Basic
    Multilingual Plane (a rare Chinese character of a name, such as 𠮷) counts two."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def fitted_text(text: str) -> str:
    """`text` if a cell holds it, else its beginning and `CUT_MARK`, within the cell's bound (a
    character beyond the plane is not split in two)."""
    if len(text) <= XLSX_MAX_TEXT // 2 or excel_length(text) <= XLSX_MAX_TEXT:
        return text
    mark = CUT_MARK.format(len(text))
    kept = text[:XLSX_MAX_TEXT].encode("utf-16-le")[:2 * (XLSX_MAX_TEXT - len(mark))]
    return kept.decode("utf-16-le", errors="ignore") + mark


def _write_fitted(sheet: Worksheet, row: int, col: int, text: str, *args: Any) -> int | None:
    """XlsxWriter's write handler of text (`write`, `write_row`): a text a cell holds is written
    as usual (None), a longer one fitted."""
    fitted = fitted_text(text)
    return None if fitted is text else sheet.write_string(row, col, fitted, *args)


class FittedSheet(Worksheet):
    """A worksheet whose text cells, written with `write` or `write_row`, are `fitted_text`."""

    def __init__(self) -> None:
        super().__init__()
        self.add_write_handler(str, _write_fitted)


class FittedBook(Workbook):
    """A workbook whose sheets are `FittedSheet`s."""

    worksheet_class = FittedSheet


def xlsx_book(path: Path) -> FittedBook:
    """A workbook streamed to `path` (XlsxWriter, rows written in order): text stays text and is
    never cut without a mark, and a fixed document date (XlsxWriter fixes the zip member times
    itself), so equal data give equal bytes."""
    book = FittedBook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                  "strings_to_formulas": False, "strings_to_urls": False})
    book.set_properties({"created": dt.datetime(1980, 1, 1)})
    return book


def kind_of(column: str) -> str:
    """What a column holds, by its field name: money, date, ratio, or "" for anything else."""
    return "money" if column in MONEY else "date" if column in DATES else "ratio" if column in RATIOS else ""


def display_width(text: str) -> int:
    """Columns a text takes in Excel: a Chinese character is about two."""
    return len(text) + sum(1 for ch in text if ord(ch) >= 0x2E80)


def write_tables_workbook(tables: dict[str, pd.DataFrame], path: Path) -> Path:
    """One sheet per table: a frozen header of Chinese label and field name with a filter on it,
    then the rows, each column in its look and fitted to its header and first rows."""
    for name, frame in tables.items():
        if len(frame) > XLSX_MAX_ROWS:
            raise InputError(f"table {name} has {len(frame):,} rows, more than a sheet holds "
                             f"({XLSX_MAX_ROWS:,}): use parquet or csv", file=str(path))
        for column in (c for c in frame.columns if pd.api.types.is_string_dtype(frame[c].dtype)):
            long = frame[column][frame[column].str.len() > XLSX_MAX_TEXT // 2]
            if any(excel_length(text) > XLSX_MAX_TEXT for text in long):
                raise InputError(f"table {name}, column {column}: a text longer than a cell holds "
                                 f"({XLSX_MAX_TEXT:,} characters): use parquet or csv", file=str(path))
    book = xlsx_book(path)
    looks = {kind: book.add_format(look) for kind, look in LOOKS.items()}
    header_look = book.add_format(HEADER_LOOK)
    for name, frame in tables.items():
        sheet = book.add_worksheet(name[:31])
        names = [str(c) for c in frame.columns]
        columns = [cells(frame[c], kind_of(n)) for c, n in zip(frame.columns, names)]
        for i, (n, values) in enumerate(zip(names, columns)):
            sheet.set_column(i, i, fitted_width(header(n), values, kind_of(n)), looks.get(kind_of(n)))
        header_row(sheet, 0, [header(n) for n in names], header_look)
        sheet.freeze_panes(1, 0)
        if names:
            sheet.autofilter(0, 0, len(frame), len(names) - 1)
        for row, values in enumerate(zip(*columns), start=1):
            sheet.write_row(row, 0, values)
    book.close()
    return path


def header_row(sheet: Worksheet, row: int, texts: list[str], look: Format) -> None:
    """A header row tall enough for its longest label (one line per line of text)."""
    lines = max((t.count("\n") + 1 for t in texts), default=1)
    sheet.set_row(row, 15 * lines + 3)
    sheet.write_row(row, 0, texts, look)


def cells(values: pd.Series, kind: str) -> list[Any]:
    """A column's cells as XlsxWriter writes them: None where empty, days as serial numbers."""
    if kind == "date":
        days = _days(values)
        serials = (days - EXCEL_EPOCH).astype(np.int64)
        return np.where(np.isnat(days), None, serials).tolist()
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        values = values.dt.strftime("%Y-%m-%d")
    return values.astype(object).where(values.notna(), None).tolist()


def _days(values: pd.Series) -> np.ndarray:
    """Dates or ISO text as datetime64[D] (NaT where empty or not a day); each distinct text is
    parsed once."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values.to_numpy().astype("datetime64[D]")
    codes, distinct = pd.factorize(values.astype("str"), use_na_sentinel=True)
    parsed = pd.to_datetime(pd.Index(distinct), format="%Y-%m-%d", errors="coerce").to_numpy().astype("datetime64[D]")
    return np.where(codes >= 0, parsed[np.maximum(codes, 0)], np.datetime64("NaT", "D"))


def fitted_width(title: str, values: list[Any], kind: str) -> float:
    """Wide enough for the header's longest line and the first rows, within reason."""
    sample = values[:WIDTH_SAMPLE]
    if kind == "date":
        widest = 10
    elif kind == "money":
        widest = max((len(f"{v:,.2f}") for v in sample if v is not None), default=0)
    else:
        widest = max((display_width(str(v)) for v in sample if v is not None), default=0)
    head = max(display_width(line) for line in title.split("\n"))
    return float(min(max(widest, head, MIN_WIDTH) + 2, MAX_WIDTH))
