"""The settlement workbook examiners open in Excel: a summary sheet and one sheet per institution.

Amounts are written as numbers with the format '0.00' (not as text), so an accountant can sum
a column and get the statement's total; each sheet repeats the totals block of the printed
statement above its tables, with Chinese headers. A city's month is a hundred thousand claim
rows, over a million cells, so the workbook is streamed row by row with XlsxWriter (several
times faster per cell than openpyxl's write-only mode) and byte-identical for the same
settlement (fixed document date; XlsxWriter fixes the zip member times itself).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import pandas as pd
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from yibao.io import xlsx_book
from yibao.settlement.labels import (COUNTS, HEADERS, MONEY, RATIOS, SECTIONS, STATEMENT_HEADERS, TITLE,
                                     TOTALS, UNKNOWN_INSTITUTION, WORDS, WRAPPED)
from yibao.settlement.layout import Statement, safe_names, statements, total_row
from yibao.settlement.statement import Settlement

SHEET_NAME_LIMIT = 31
SUMMARY_SHEET = "汇总"
SUMMARY_COLUMNS = ("institution_id", "name", "claims", "withheld_claims", "suspect_claims") + tuple(
    key for key, _ in TOTALS)
WIDTHS = {"mdtrt_id": 16, "psn_no": 12, "name": 30, "title": 26, "reason": 60, "file": 40,
          "violation_codes": 18, "suspect_codes": 18}
LABEL_WIDTH = 20  # the first column also holds the labels of the totals block

# cell looks: what the column holds, and the emphasis of the row
COLUMN_LOOKS = {**{c: {"num_format": "0.00"} for c in MONEY}, **{c: {"num_format": "0.00%"} for c in RATIOS},
                **{c: {"text_wrap": True, "valign": "vcenter"} for c in WRAPPED}}
EMPHASIS = {"": {}, "bold": {"bold": True}, "title": {"bold": True, "font_size": 14},
            "header": {"bold": True, "bg_color": "#DDE4EE", "text_wrap": True, "valign": "vcenter"}}


class _Sheet:
    """One worksheet written top to bottom, with the workbook's formats made once each."""

    def __init__(self, book: Workbook, formats: dict[tuple[str, str], Format | None], name: str,
                 tables: list[Iterable[str]]) -> None:
        self.ws: Worksheet = book.add_worksheet(name)
        self.book, self.formats, self.row = book, formats, 0
        widths: dict[int, int] = {0: LABEL_WIDTH}
        for columns in tables:
            for i, c in enumerate(columns):
                widths[i] = max(widths.get(i, 10), WIDTHS.get(c, 12))
        for i, width in widths.items():
            self.ws.set_column(i, i, width)

    def _format(self, column: str, emphasis: str) -> Format | None:
        key = (column if column in COLUMN_LOOKS else "", emphasis)
        if key not in self.formats:
            look = COLUMN_LOOKS.get(key[0], {}) | EMPHASIS[emphasis]
            self.formats[key] = self.book.add_format(look) if look else None
        return self.formats[key]

    def append(self, cells: Iterable[tuple[Any, str]], emphasis: str = "") -> None:
        """One row of (value, column) cells; empty values (None, "", NaN) leave the cell empty."""
        for col, (value, column) in enumerate(cells):
            if value is None or value == "" or (isinstance(value, float) and value != value):
                continue
            self.ws.write(self.row, col, value, self._format(column, emphasis))
        self.row += 1

    def line(self, *values: Any, emphasis: str = "") -> None:
        self.append(((v, "") for v in values), emphasis)

    def labelled(self, label: str, value: Any, column: str = "", emphasis: str = "") -> None:
        self.append([(label, ""), (value, column)], emphasis)

    def table(self, frame: pd.DataFrame, columns: Iterable[str], headers: dict[str, str] = HEADERS) -> None:
        """A header row, one row per frame row, and the 合计 row of the money columns."""
        columns = list(columns)
        self.append(((headers[c], "") for c in columns), "header")
        words = [WORDS.get(c, {}) for c in columns]
        for values in zip(*(frame[c].tolist() for c in columns)):
            self.append((w.get(v, v), c) for w, v, c in zip(words, values, columns))
        total = total_row(frame, columns)
        if total is not None:
            label, sums = total
            self.append([(label, "")] + [(None if f is None else f / 100, c) for c, f in zip(columns[1:], sums[1:])],
                        "bold")


def write_workbook(settlement: Settlement, path: Path) -> Path:
    book = xlsx_book(path)
    formats: dict[tuple[str, str], Format | None] = {}
    _summary_sheet(_Sheet(book, formats, SUMMARY_SHEET, [SUMMARY_COLUMNS, UNKNOWN_INSTITUTION[2]]), settlement)
    parts = list(statements(settlement))
    names = safe_names([p.institution_id for p in parts], SHEET_NAME_LIMIT)
    for part, name in zip(parts, names):
        _statement_sheet(_Sheet(book, formats, name, [columns for _, _, columns in SECTIONS]), part)
    book.close()
    return path


def _summary_sheet(ws: _Sheet, settlement: Settlement) -> None:
    period = settlement.statements["period"].iat[0] if len(settlement.statements) else ""
    ws.line(f"{TITLE} 汇总", emphasis="title")
    ws.labelled(STATEMENT_HEADERS["period"], period)
    ws.line()
    ws.table(settlement.statements, SUMMARY_COLUMNS, STATEMENT_HEADERS)
    _, title, columns = UNKNOWN_INSTITUTION
    ws.line()
    ws.line(f"{title} ({len(settlement.unknown_institution)})", emphasis="bold")
    if len(settlement.unknown_institution):
        ws.table(settlement.unknown_institution, columns)


def _statement_sheet(ws: _Sheet, part: Statement) -> None:
    row = part.row
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
            ws.table(frame, columns)
