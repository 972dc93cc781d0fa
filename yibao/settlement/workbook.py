"""The settlement workbook examiners open in Excel: a summary sheet and one sheet per institution.

Amounts are written as numbers with the format '0.00' (not as text), so an accountant can sum
a column and get the statement's total; each sheet repeats the totals block of the printed
statement above its tables, with Chinese headers. The workbook is streamed (openpyxl's
write-only mode: a month of a county is ~10,000 claim rows) and byte-identical for the same
settlement (fixed zip times and document dates).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from yibao.io import freeze_zip
from yibao.settlement.labels import (COUNTS, HEADERS, MONEY, RATIOS, SECTIONS, STATEMENT_HEADERS, TITLE,
                                     TOTALS, UNKNOWN_INSTITUTION, WORDS, WRAPPED)
from yibao.settlement.layout import Statement, safe_names, statements, total_row
from yibao.settlement.statement import Settlement

SHEET_NAME_LIMIT = 31
SUMMARY_SHEET = "汇总"
BOLD = Font(bold=True)
TITLE_FONT = Font(bold=True, size=14)
HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")
WRAP = Alignment(wrap_text=True, vertical="center")
FORMATS = {**{c: "0.00" for c in MONEY}, **{c: "0.00%" for c in RATIOS}}
SUMMARY_COLUMNS = ("institution_id", "name", "claims", "withheld_claims", "suspect_claims") + tuple(
    key for key, _ in TOTALS)
WIDTHS = {"mdtrt_id": 16, "psn_no": 12, "name": 30, "title": 26, "reason": 60, "file": 40,
          "violation_codes": 18, "suspect_codes": 18}
LABEL_WIDTH = 20  # the first column also holds the labels of the totals block


def write_workbook(settlement: Settlement, path: Path) -> Path:
    book = Workbook(write_only=True)
    _summary_sheet(_sheet(book, SUMMARY_SHEET, [SUMMARY_COLUMNS, UNKNOWN_INSTITUTION[2]]), settlement)
    parts = list(statements(settlement))
    names = safe_names([p.institution_id for p in parts], SHEET_NAME_LIMIT)
    for part, name in zip(parts, names):
        _statement_sheet(_sheet(book, name, [columns for _, _, columns in SECTIONS]), part)
    book.save(path)
    freeze_zip(path)
    return path


def _sheet(book: Workbook, name: str, tables: list[Iterable[str]]) -> WriteOnlyWorksheet:
    """A sheet whose column widths fit the widest column any of its tables puts there (a
    streamed sheet takes widths before its first row)."""
    ws = book.create_sheet(name)
    widths: dict[int, int] = {1: LABEL_WIDTH}
    for columns in tables:
        for i, c in enumerate(columns, start=1):
            widths[i] = max(widths.get(i, 10), WIDTHS.get(c, 12))
    for i, width in widths.items():
        ws.column_dimensions[get_column_letter(i)].width = width
    return ws


def _cell(ws: WriteOnlyWorksheet, value: Any, column: str = "", font: Font | None = None) -> WriteOnlyCell:
    empty = value == "" or (isinstance(value, float) and value != value)
    cell = WriteOnlyCell(ws, value=None if empty else value)
    if column in FORMATS:
        cell.number_format = FORMATS[column]
    elif column in WRAPPED:
        cell.alignment = WRAP
    if font is not None:
        cell.font = font
    return cell


def _line(ws: WriteOnlyWorksheet, *values: Any, font: Font | None = None) -> None:
    ws.append([_cell(ws, v, font=font) for v in values])


def _labelled(ws: WriteOnlyWorksheet, label: str, value: Any, column: str = "", font: Font | None = None) -> None:
    ws.append([_cell(ws, label, font=font), _cell(ws, value, column, font)])


def _table(ws: WriteOnlyWorksheet, frame: pd.DataFrame, columns: Iterable[str],
           headers: dict[str, str] = HEADERS) -> None:
    """A header row, one row per frame row, and the 合计 row of the money columns."""
    columns = list(columns)
    header = [_cell(ws, headers[c], font=BOLD) for c in columns]
    for cell in header:
        cell.fill, cell.alignment = HEADER_FILL, WRAP
    ws.append(header)
    for values in zip(*(frame[c].tolist() for c in columns)):
        ws.append([_cell(ws, WORDS.get(c, {}).get(v, v), c) for c, v in zip(columns, values)])
    total = total_row(frame, columns)
    if total is not None:
        label, sums = total
        ws.append([_cell(ws, label, font=BOLD)] + [_cell(ws, None if f is None else f / 100, c, BOLD)
                                                   for c, f in zip(columns[1:], sums[1:])])


def _summary_sheet(ws: WriteOnlyWorksheet, settlement: Settlement) -> None:
    period = settlement.statements["period"].iat[0] if len(settlement.statements) else ""
    _line(ws, f"{TITLE} 汇总", font=TITLE_FONT)
    _labelled(ws, STATEMENT_HEADERS["period"], period)
    _line(ws)
    _table(ws, settlement.statements, SUMMARY_COLUMNS, STATEMENT_HEADERS)
    _, title, columns = UNKNOWN_INSTITUTION
    _line(ws)
    _line(ws, f"{title} ({len(settlement.unknown_institution)})", font=BOLD)
    if len(settlement.unknown_institution):
        _table(ws, settlement.unknown_institution, columns)


def _statement_sheet(ws: WriteOnlyWorksheet, part: Statement) -> None:
    row = part.row
    _line(ws, TITLE, font=TITLE_FONT)
    for key in ("period", "institution_id", "name"):
        _labelled(ws, STATEMENT_HEADERS[key], row[key])
    _line(ws)
    for key, label in TOTALS:
        _labelled(ws, label, row[key], key, BOLD if key == "paid" else None)
    _labelled(ws, STATEMENT_HEADERS["deposit_ratio"], row["deposit_ratio"], "deposit_ratio")
    for key, label in COUNTS:
        _labelled(ws, label, int(row[key]))
    for table, title, columns in SECTIONS:
        frame = part.sections[table]
        _line(ws)
        _line(ws, f"{title} ({len(frame)})", font=BOLD)
        if len(frame):
            _table(ws, frame, columns)
