"""The settlement workbook examiners open in Excel: a summary sheet and one sheet per institution.

Amounts are written as numbers with the format '#,##0.00' (not as text), so an accountant can
sum a column and get the statement's total, and days as real date cells; each sheet repeats the
totals block of the printed statement above its tables, whose headers carry the Chinese label
above the field name. The claims table of a statement has the filter, and prints on A4 landscape,
as wide as the page, its header repeated on every page. A city's month is a hundred thousand claim
rows, over a million cells, so the workbook is streamed row by row with XlsxWriter (several
times faster per cell than openpyxl's write-only mode) and byte-identical for the same
settlement (fixed document date; XlsxWriter fixes the zip member times itself).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from typing import Any, Iterable

import pandas as pd
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from yibao.excel import HEADER_LOOK, LOOKS, fitted_width, kind_of, xlsx_book
from yibao.settlement.labels import (BENEFITS, COUNTS, HEADERS, SECTIONS, STATEMENT_HEADERS, TITLE, TOTALS,
                                     UNKNOWN_INSTITUTION, WORDS, WRAPPED)
from yibao.settlement.layout import SUMMARY_SHEET, Statement, safe_names, statements, total_row
from yibao.settlement.statement import Settlement

SHEET_NAME_LIMIT = 31
SUMMARY_COLUMNS = ("institution_id", "name", "claims", "withheld_claims", "suspect_claims") + tuple(
    key for key, _ in TOTALS)
WRAPPED_WIDTH = 40  # long text wraps in a column this wide
LABEL_WIDTH = 20  # the first column also holds the labels of the totals block
A4 = 9  # Excel's paper size code

# cell looks: what the column holds, and the emphasis of the row
COLUMN_LOOKS = {**{c: {"text_wrap": True, "valign": "vcenter"} for c in WRAPPED}}
EMPHASIS = {"": {}, "bold": {"bold": True}, "title": {"bold": True, "font_size": 14}, "header": HEADER_LOOK}


class _Sheet:
    """One worksheet written top to bottom, with the workbook's formats made once each."""

    def __init__(self, book: Workbook, formats: dict[tuple[str, str], Format | None], name: str) -> None:
        self.ws: Worksheet = book.add_worksheet(name)
        self.book, self.formats, self.row = book, formats, 0
        self.widths: dict[int, float] = {0: LABEL_WIDTH}
        self.ws.set_column(0, 0, LABEL_WIDTH)

    def _format(self, column: str, emphasis: str) -> Format | None:
        kind = kind_of(column)
        key = (column if column in COLUMN_LOOKS else kind, emphasis)
        if key not in self.formats:
            look = COLUMN_LOOKS.get(column, LOOKS.get(kind, {})) | EMPHASIS[emphasis]
            self.formats[key] = self.book.add_format(look) if look else None
        return self.formats[key]

    def append(self, cells: Iterable[tuple[Any, str]], emphasis: str = "") -> None:
        """One row of (value, column) cells; empty values (None, "", NaN) leave the cell empty,
        and an ISO day in a date column becomes a date cell (any other text stays text: a claim
        withheld for its unreadable date is listed with it)."""
        for col, (value, column) in enumerate(cells):
            if value is None or value == "" or (isinstance(value, float) and value != value):
                continue
            if isinstance(value, str) and kind_of(column) == "date":
                with contextlib.suppress(ValueError):
                    value = dt.date.fromisoformat(value)
            self.ws.write(self.row, col, value, self._format(column, emphasis))
        self.row += 1

    def line(self, *values: Any, emphasis: str = "") -> None:
        self.append(((v, "") for v in values), emphasis)

    def labelled(self, label: str, value: Any, column: str = "", emphasis: str = "") -> None:
        self.append([(label, ""), (value, column)], emphasis)

    def table(self, frame: pd.DataFrame, columns: Iterable[str], headers: dict[str, str] = HEADERS
              ) -> tuple[int, int]:
        """A header row (the Chinese label above the field name), one row per frame row, and the
        合计 row of the money columns: (header row, last row of the frame's rows). Each column
        is widened to fit its header and first rows."""
        columns = list(columns)
        titles = [f"{headers[c]}\n{c}" for c in columns]
        first = self.row
        self.ws.set_row(first, 36)
        self.append(((t, "") for t in titles), "header")
        words = [WORDS.get(c, {}) for c in columns]
        cells = [[w.get(v, v) for v in frame[c].tolist()] for w, c in zip(words, columns)]
        for values in zip(*cells):
            self.append(zip(values, columns))
        last = self.row - 1
        total = total_row(frame, columns)
        if total is not None:
            label, sums = total
            self.append([(label, "")] + [(None if f is None else f / 100, c) for c, f in zip(columns[1:], sums[1:])],
                        "bold")
        for i, (c, title, values) in enumerate(zip(columns, titles, cells)):
            width = WRAPPED_WIDTH if c in WRAPPED else fitted_width(title, values, kind_of(c))
            if width > self.widths.get(i, 0):
                self.widths[i] = width
                self.ws.set_column(i, i, width)
        return first, last


def write_workbook(settlement: Settlement, path: Path) -> Path:
    book = xlsx_book(path)
    formats: dict[tuple[str, str], Format | None] = {}
    _summary_sheet(_Sheet(book, formats, SUMMARY_SHEET), settlement)
    parts = list(statements(settlement))
    names = safe_names([p.institution_id for p in parts], SHEET_NAME_LIMIT)
    for part, name in zip(parts, names):
        _statement_sheet(_Sheet(book, formats, name), part)
    book.close()
    return path


def _print_setup(ws: _Sheet) -> None:
    """A4 landscape, as wide as the page, as long as it takes."""
    ws.ws.set_landscape()
    ws.ws.set_paper(A4)
    ws.ws.fit_to_pages(1, 0)


def _summary_sheet(ws: _Sheet, settlement: Settlement) -> None:
    period = settlement.statements["period"].iat[0] if len(settlement.statements) else ""
    ws.line(f"{TITLE} 汇总", emphasis="title")
    ws.labelled(STATEMENT_HEADERS["period"], period)
    ws.line()
    first, last = ws.table(settlement.statements, SUMMARY_COLUMNS, STATEMENT_HEADERS)
    ws.ws.freeze_panes(first + 1, 0)
    ws.ws.autofilter(first, 0, last, len(SUMMARY_COLUMNS) - 1)
    _print_setup(ws)
    ws.ws.repeat_rows(first)
    for name, title, columns in (UNKNOWN_INSTITUTION, BENEFITS):
        frame = getattr(settlement, name)
        if frame is None:
            continue  # benefits: settled without a ledger
        ws.line()
        ws.line(f"{title} ({len(frame)})", emphasis="bold")
        if len(frame):
            ws.table(frame, columns)


def _statement_sheet(ws: _Sheet, part: Statement) -> None:
    row = part.row
    _print_setup(ws)
    ws.line(TITLE, emphasis="title")
    for key in ("period", "institution_id", "name"):
        ws.labelled(STATEMENT_HEADERS[key], row[key])
    ws.line()
    for key, label in TOTALS:
        ws.labelled(label, row[key], key, "bold" if key == "paid" else "")
    ws.labelled(STATEMENT_HEADERS["deposit_ratio"], row["deposit_ratio"], "deposit_ratio")
    for key, label in COUNTS:
        ws.labelled(label, int(row[key]))
    for table, title, columns in SECTIONS:
        frame = part.sections[table]
        ws.line()
        ws.line(f"{title} ({len(frame)})", emphasis="bold")
        if len(frame):
            first, last = ws.table(frame, columns)
            if table == "claims":  # the long one: filter it, print its header on every page
                ws.ws.autofilter(first, 0, last, len(columns) - 1)
                ws.ws.repeat_rows(first)
