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
from pathlib import Path, PurePosixPath
from typing import IO, Callable, TypeVar
from xml.etree import ElementTree

from yibao.workbook_zip import opened_part

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PACKAGE_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_MAYBE_FORMULA = re.compile(rb"f[\s>/]")
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_REF = re.compile(rb'\br="([A-Z]+[0-9]+)"')
_ERROR = re.compile(rb'\bt="e"')
_TEXT = re.compile(rb'\bt="str"')
_VALUE = re.compile(rb"<(?:\w+:)?v\s*(?:/>|>([^<]*)</(?:\w+:)?v>)")
_CHUNK = 1 << 20
T = TypeVar("T")


def scanned_sheet(path: Path, sheet: str, scan: Callable[[IO[bytes], bool], T]) -> T | None:
    """What `scan` finds in the XML of `sheet` of the workbook at `path` (given whether the
    workbook asks for its formulas to be computed on load), read as a stream; None where there
    is no such sheet or the workbook's own parts cannot be read: calamine, reading the sheet
    after, says so. A sheet's part that cannot be unzipped is refused here, naming it: calamine
    said only that the sheet's XML was not well formed ("I/O error")."""
    try:
        with zipfile.ZipFile(path) as book:
            part, computed_on_load = _sheet_part(book, sheet, path)
            if part is None:
                return None
            with opened_part(book, part, path) as xml:
                return scan(xml, computed_on_load)
    except (zipfile.BadZipFile, zlib.error, KeyError, ElementTree.ParseError, OSError):
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
    """The zip member holding `sheet`, and whether the workbook asks to be computed on opening."""
    found: dict[str, str | None] = {}

    def in_book(tag: str, attrib: dict[str, str], depth: int) -> None:
        if tag == f"{_MAIN}calcPr" and depth == 1:
            found.setdefault("calc", attrib.get("fullCalcOnLoad"))
        elif tag == f"{_MAIN}sheet" and attrib.get("name") == sheet:
            found.setdefault("id", attrib.get(f"{_REL}id"))

    _start_tags(book, "xl/workbook.xml", path, in_book)
    on_load = found.get("calc") in ("1", "true")
    if found.get("id") is None:
        return None, on_load

    def in_rels(tag: str, attrib: dict[str, str], depth: int) -> None:
        if tag == f"{_PACKAGE_REL}Relationship" and attrib.get("Id") == found["id"]:
            found.setdefault("target", attrib.get("Target"))

    _start_tags(book, "xl/_rels/workbook.xml.rels", path, in_rels)
    target = found.get("target")
    if target is None:
        return None, on_load
    part = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
    return part, on_load


class _StartTags:
    """An XML parser's target that hands each start tag (its name and attributes, namespaces in
    braces, and how deep it is: the root is 0) to `seen`, and builds no tree."""

    def __init__(self, seen: Callable[[str, dict[str, str], int], None]) -> None:
        self.seen, self.depth = seen, 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.seen(tag, attrib, self.depth)
        self.depth += 1

    def end(self, tag: str) -> None:
        self.depth -= 1

    def close(self) -> None:
        return None


def _start_tags(book: zipfile.ZipFile, part: str, path: Path, seen: Callable[[str, dict[str, str], int], None]) -> None:
    """Parse `part` as it is unzipped, a megabyte at a time, handing each start tag to `seen`:
    read whole into a tree, as they were, a workbook's own parts cost many times their size."""
    parser = ElementTree.XMLParser(target=_StartTags(seen))
    with opened_part(book, part, path) as xml:
        while chunk := xml.read(_CHUNK):
            parser.feed(chunk)
    parser.close()


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
