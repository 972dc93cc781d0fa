"""Formula cells of an input workbook whose value was never computed.

A reader of .xlsx (calamine, like pandas' readers) takes a formula cell's value from the file,
as the program that saved it computed it. Excel and LibreOffice compute it before saving; a
program that writes workbooks does not: openpyxl leaves the value empty, XlsxWriter writes 0,
and both mark the workbook to be computed when a spreadsheet opens it (`fullCalcOnLoad`). Read
as such, `=C2*D2` in an amount column was an empty cell or 0, and an empty optional amount is
zero: a price or an accumulated amount lost without a word. Such a sheet is refused, naming the
cell, so the user saves it from a spreadsheet or writes values. Refused are a formula without a
saved value (or with an empty one, unless the formula's value is text), one whose saved value
is an error (`#DIV/0!`: no value to read), and, in a workbook marked to be computed on opening,
one whose saved value is XlsxWriter's placeholder 0 (a spreadsheet may keep that mark when it
saves, so other values there are taken as computed).

The sheet's XML is scanned as it is decompressed, in the pieces of whole rows the scan for far
cells cuts (`yibao.io.check_sheet`: one pass for both, the sheet unzipped once), and only the
cells of a piece that holds a formula are looked into: a sheet without formulas costs one search
for the letter f before a tag's end (lines of 236,000 claims lines: 0.2 s, and calamine takes
1.7 s to read them).
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path
from typing import IO, Callable, TypeVar

from yibao.workbook_zip import book_folder, folded, local_name, opened_part, part_names, start_tags, unescaped

_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_MAYBE_FORMULA = re.compile(rb"f[\s>/]")
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_REF = re.compile(rb'\br="([A-Z]+[0-9]+)"')
_ERROR = re.compile(rb'\bt="e"')
_TEXT = re.compile(rb'\bt="str"')
_VALUE = re.compile(rb"<(?:\w+:)?v\s*(?:/>|>([^<]*)</(?:\w+:)?v>)")
T = TypeVar("T")


def scanned_sheet(path: Path, sheet: str, scan: Callable[[IO[bytes], bool], T]) -> T | None:
    """What `scan` finds in the XML of `sheet` of the workbook at `path` (given whether the
    workbook asks for its formulas to be computed on load), read as a stream; None where there
    is no such sheet or the workbook's own parts are missing: calamine, reading the sheet after,
    says so (own parts no XML parser reads are refused: `start_tags`). A sheet's part that cannot be unzipped is refused here, naming it: calamine
    said only that the sheet's XML was not well formed ("I/O error")."""
    try:
        with zipfile.ZipFile(path) as book:
            part, computed_on_load = _sheet_part(book, sheet, path)
            if part is None:
                return None
            with opened_part(book, part, path) as xml:
                return scan(xml, computed_on_load)
    except (zipfile.BadZipFile, zlib.error, KeyError, OSError):
        return None


class Uncomputed:
    """The first formula cell of a sheet without a value to read, from the pieces of its XML in
    turn, each of whole rows."""

    def __init__(self, computed_on_load: bool) -> None:
        self.computed_on_load = computed_on_load
        self.first: tuple[str, str] | None = None  # (cell reference, why)

    def take(self, rows: bytes | bytearray) -> None:
        if self.first is None:
            self.first = _uncomputed_in(rows, self.computed_on_load)

    def said(self) -> str | None:
        """What refuses the sheet, after its name, or None."""
        if self.first is None:
            return None
        ref, why = self.first
        return (f"cell {ref} holds a formula {why}: open the workbook in Excel, WPS or LibreOffice and save it, or "
                "write the values instead of formulas")


def _sheet_part(book: zipfile.ZipFile, sheet: str, path: Path) -> tuple[str | None, bool]:
    """The zip member calamine reads for `sheet`, and whether the workbook asks to be computed on
    opening. Tags and attributes are matched by their local names, as calamine does (a workbook
    saved as Strict Open XML has other namespaces), and their values as it reads them: a sheet's
    name unescaped, ids and targets as written (`start_tags`)."""
    names = part_names(book, path)
    folder = book_folder(book, names, path)
    found: dict[str, str | None] = {}

    def in_book(tag: str, attrib: dict[str, str], depth: int) -> None:
        if local_name(tag) == "calcPr" and depth == 1:
            found.setdefault("calc", attrib.get("fullCalcOnLoad"))
        elif local_name(tag) == "sheet" and unescaped(attrib.get("name", "")) == sheet and "id" not in found:
            found["id"] = next((v for k, v in reversed(attrib.items()) if local_name(k) == "id"), None)

    def in_rels(tag: str, attrib: dict[str, str], depth: int) -> None:
        if local_name(tag) == "Relationship" and attrib.get("Id") == found["id"]:
            found["target"] = attrib.get("Target")  # the last, as calamine keeps them

    start_tags(book, names[folded(folder + "workbook.xml")], path, in_book)
    on_load = found.get("calc") in ("1", "true")
    if found.get("id") is not None:
        start_tags(book, names[folded(folder + "_rels/workbook.xml.rels")], path, in_rels)
    target = found.get("target")
    if target is None:
        return None, on_load
    return names.get(folded(target[1:] if target.startswith("/") else folder + target)), on_load


def _uncomputed_in(rows: bytes | bytearray, computed_on_load: bool) -> tuple[str, str] | None:
    if not _MAYBE_FORMULA.search(rows) or not _FORMULA.search(rows):  # the first is 40 times faster
        return None
    for cell in _CELL.finditer(rows):
        inner = cell.group(2) or b""
        if not _FORMULA.search(inner):
            continue
        ref = _REF.search(cell.group(1))
        where = ref.group(1).decode() if ref else "?"
        value = _VALUE.search(inner)
        saved = (value.group(1) or b"").strip() if value else b""
        if value is None or not saved and not _TEXT.search(cell.group(1)):  # text may be computed as ""
            return where, "without its computed value"
        if _ERROR.search(cell.group(1)):
            return where, f"whose value is the error {saved.decode(errors='replace')}"
        if computed_on_load and saved == b"0":
            return where, "whose value 0 the program that wrote the workbook did not compute"
    return None
