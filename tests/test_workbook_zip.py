"""An input workbook is a zip of XML parts, and XML compresses a thousandfold: nothing bounded
what a part unzipped to, so a 24 MB workbook whose shared strings unzipped to 5.5 GB was scored
for 56 s in 16.3 GB (exit 0), and one shared string of 300 MB took 1.09 GB. Now the sizes the zip
declares are checked before anything is unzipped, the shared strings are streamed for a string
no cell could hold, and a part that unzips to other than the zip declares is refused naming it.
The workbooks here are small on disk and built in milliseconds: the bound is lowered to build a
bomb above it."""

from __future__ import annotations

import io
import re
import struct
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import yibao.workbook_zip
from conftest import run_cli
from test_io import write_workbook
from yibao.errors import InputError
from yibao.io import read_batch
from yibao.limits import ENV_MAX_XLSX
from yibao.workbook_zip import BOOK_PARTS, SHARED_STRINGS, check_workbook_zip

LINES, CLAIMS = "xl/worksheets/sheet7.xml", "xl/worksheets/sheet6.xml"  # write_workbook's sheets, in BASE's order


@pytest.fixture
def no_calamine(monkeypatch: pytest.MonkeyPatch) -> None:
    """calamine may not open a workbook: before, it was given the bomb, and unzipped it whole."""
    import python_calamine

    class Refused:
        @staticmethod
        def from_path(path: str) -> None:
            raise AssertionError(f"calamine was asked to open {path}")

    monkeypatch.setattr(python_calamine, "CalamineWorkbook", Refused)


def _with_parts(path: Path, parts: dict[str, bytes]) -> Path:
    """The workbook with `parts` (zip member → XML) put in, or in place of its own."""
    with zipfile.ZipFile(path) as book:
        kept = {name: book.read(name) for name in book.namelist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        for name, data in (kept | parts).items():
            book.writestr(name, data)
    return path


def _strings(*texts: bytes) -> bytes:
    """A shared strings part holding `texts` (XML), each a string."""
    items = b"".join(b"<si><t>" + text + b"</t></si>" for text in texts)
    return (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.openxmlformats.org'
            b'/spreadsheetml/2006/main" count="%d" uniqueCount="%d">%b</sst>' % (len(texts), len(texts), items))


def _refused(book: Path, says: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading the workbook, and scoring it, stop with `says` (after the file's name) in one line, exit 2."""
    with pytest.raises(InputError, match=f"^{re.escape(f'{book}: {says}')}$"):
        read_batch(book)
    code, err = run_cli(["score", str(book), "--out", str(book.parent / "out")], capsys, monkeypatch)
    assert (code, err.strip()) == (2, f"error: {book}: {says}")


@pytest.mark.parametrize(("parts", "says"), [
    ({SHARED_STRINGS: _strings(*[b"x"] * 1_000_000)}, f"its part {SHARED_STRINGS} unzips to 17 MB"),
    ({CLAIMS: b" " * 5_000_000, LINES: b" " * 6_000_000}, f"its parts unzip to 11 MB in all ({LINES}: 6 MB)"),
])
def test_a_workbook_unzipping_to_more_than_the_bound_is_refused_before_anything_is_unzipped(
        tmp_path: Path, no_calamine: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        parts: dict[str, bytes], says: str) -> None:
    """As a bomb of 5.5 GB to the bound of 4 GB: here 17 MB (25 kB zipped) to 0.01 GB."""
    monkeypatch.setenv(ENV_MAX_XLSX, "0.01")
    book = _with_parts(write_workbook(tmp_path / "batch.xlsx", {}), parts)
    assert book.stat().st_size < 100_000
    _refused(book, f"{says}, more than yibao reads from a workbook (10 MB, {ENV_MAX_XLSX}): save the batch as CSV "
             "or Parquet", capsys, monkeypatch)


def test_the_bound_passes_a_full_sheet_of_lines_and_refuses_a_bomb() -> None:
    """The default, 4 GB, against the sizes measured (yibao.limits): a workbook whose lines fill a
    sheet unzips to 425 MB; the bomb that took 16.3 GB declared 5.5 GB. Only the zip's directory
    is looked at, so declared sizes are enough."""
    def declared(sizes: dict[str, int]) -> list[zipfile.ZipInfo]:
        parts = [zipfile.ZipInfo(name) for name in sizes]
        for part, size in zip(parts, sizes.values()):
            part.file_size = size
        return parts

    yibao.workbook_zip._check_sizes(declared({LINES: 365_167_576, CLAIMS: 51_695_960}), Path("batch.xlsx"))
    with pytest.raises(InputError, match=rf"^bomb.xlsx: its part {SHARED_STRINGS} unzips to 5.5 GB, more than "
                                         rf"yibao reads from a workbook \(4 GB, {ENV_MAX_XLSX}\)"):
        yibao.workbook_zip._check_sizes(declared({SHARED_STRINGS: 5_452_658_927}), Path("bomb.xlsx"))


@pytest.mark.parametrize("bound", ["0", "-1", "abc", "1001"])
def test_a_bound_that_is_no_size_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bound: str) -> None:
    monkeypatch.setenv(ENV_MAX_XLSX, bound)
    with pytest.raises(InputError, match=f"^{ENV_MAX_XLSX}={bound!r}: a number of GB above 0 and at most 1,000$"):
        check_workbook_zip(write_workbook(tmp_path / "batch.xlsx", {}))


def test_a_larger_bound_reads_a_larger_workbook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_MAX_XLSX, "0.01")
    book = _with_parts(write_workbook(tmp_path / "batch.xlsx", {}), {"xl/worksheets/sheet99.xml": b" " * 11_000_000})
    with pytest.raises(InputError, match="unzips to 11 MB"):
        read_batch(book)
    monkeypatch.setenv(ENV_MAX_XLSX, "0.02")
    assert read_batch(book)[1].empty


@pytest.mark.parametrize(("strings", "says"), [
    (_strings(b"a", b"y" * 17_000_000, b"b"), "shared string 2"),
    (_strings(b"y" * 9_000_000 + b"<!-- </si><si> -->" + b"y" * 9_000_000), "shared string 1"),  # calamine joins them
])
def test_a_shared_string_longer_than_any_cell_is_refused_before_calamine_reads_it(
        tmp_path: Path, no_calamine: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        strings: bytes, says: str) -> None:
    """Before: calamine read every shared string as it opened the workbook, 300 MB of one in 1.09 GB."""
    book = _with_parts(write_workbook(tmp_path / "batch.xlsx", {}), {SHARED_STRINGS: strings})
    _refused(book, f"its part {SHARED_STRINGS} holds a text of more than 16 MB ({says}): no cell of a table is near "
             "that long (Excel holds 32,767 characters in a cell); remove it from the workbook", capsys, monkeypatch)


def test_shared_strings_as_long_as_a_cell_may_be_are_read(tmp_path: Path) -> None:
    """15 MB in one string, 31 MB in all, with the tags any program may write: read (the strings are
    in no cell of a table)."""
    book = write_workbook(tmp_path / "batch.xlsx", {})
    with zipfile.ZipFile(book) as zipped:
        own = zipped.read(SHARED_STRINGS)
    more = (b"<si><r><rPr><b/></rPr><t>" + b"y" * 15_000_000 + b"</t></r></si >"
            + (b"<si><t>" + b"z" * 8_000_000 + b"</t></si>") * 2)
    _with_parts(book, {SHARED_STRINGS: own.replace(b"</sst>", more + b"</sst>")})
    assert read_batch(book)[1].empty


@pytest.mark.parametrize(("xml", "long"), [
    (b'<?xml version="1.0"?><sst><si><t>abc</t></si><si><t>' + b"y" * 101 + b"</t></si></sst>", 2),
    (b"<x:sst><x:si><x:t>" + b"y" * 70 + b"</x:t></x:si ><x:si><x:t>" + b"y" * 70 + b"</x:t></x:si></x:sst>", None),
    (b"<sst><si><t>" + b"y>" * 60 + b"</t></si></sst>", 1),  # text may hold a '>'
    (b"<sst><si><t>" + b"y" * 60 + b"<![CDATA[</si>]]>" + b"y" * 60 + b"</t></si></sst>", 1),
    (b"<sst><si><t>" + b"y" * 60 + b"<?pi </si> ?>" + b"y" * 60 + b"</t></si></sst>", 1),
    (b"<sst><si><t>" + b"y" * 60 + b"</t></si><!-- a comment --><si><t>" + b"y" * 60 + b"</t></si></sst>", None),
    (b"<sst><si><t>" + b"y" * 200, None),  # cut short: calamine says so
    (b"<sst><si><t>" + b"y" * 1200, 1),  # refused before its end is read, past the bound and TAG_ROOM
])
def test_a_long_string_is_found_whatever_piece_of_the_part_it_is_read_in(
        monkeypatch: pytest.MonkeyPatch, xml: bytes, long: int | None) -> None:
    """Strings of 100 bytes at most, read in pieces cut anywhere; an end tag in a comment, CDATA
    section or processing instruction ends no string."""
    monkeypatch.setattr(yibao.workbook_zip, "MAX_XLSX_TEXT_BYTES", 100)
    for block in (1, 7, 1 << 20):
        monkeypatch.setattr(yibao.workbook_zip, "SCAN_BLOCK", block)
        assert yibao.workbook_zip._long_string(io.BytesIO(xml)) == long


def _declaring(book: Path, part: str, field: tuple[str, int, int], value: int) -> Path:
    """The workbook with a `field` of `part`'s entry (its struct format, and where it is in the
    part's local header and in the zip's directory) set to `value`, whatever the part holds."""
    data = bytearray(book.read_bytes())
    kind, *places = field
    for signature, name_at, at in zip((b"PK\x03\x04", b"PK\x01\x02"), (30, 46), places):
        header = re.search(re.escape(signature) + b".{%d}" % (name_at - 4) + re.escape(part.encode()), data, re.S)
        assert header is not None
        struct.pack_into(kind, data, header.start() + at, value)
    book.write_bytes(bytes(data))
    return book


SIZE, METHOD = ("<I", 22, 24), ("<H", 8, 10)  # its size unzipped; how it is zipped


@pytest.mark.parametrize("part", [SHARED_STRINGS, LINES])
def test_a_part_larger_than_the_zip_declares_is_refused_naming_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, part: str) -> None:
    """A size declared below the bound does not let a larger part through: zipfile stops at it and
    finds another CRC. Before, calamine stopped there too but named no part, or said of a sheet
    that its XML was not well formed."""
    book = write_workbook(tmp_path / "batch.xlsx", {})
    with zipfile.ZipFile(book) as zipped:
        size = zipped.getinfo(part).file_size
    with zipfile.ZipFile(book) as zipped:
        larger = zipped.read(part) + b" " * 10_000_000
    _declaring(_with_parts(book, {part: larger}), part, SIZE, size)
    _refused(book, f"its part {part} cannot be unzipped (Bad CRC-32 for file {part!r}): the file is damaged, or not "
             "as Excel saves it; save it again from Excel, WPS or LibreOffice", capsys, monkeypatch)


def test_a_sheet_zipped_by_a_method_zipfile_cannot_unzip_is_refused_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: a traceback (NotImplementedError), from the scan for formulas."""
    book = _declaring(write_workbook(tmp_path / "batch.xlsx", {}), LINES, METHOD, 9)  # Deflate64
    _refused(book, f"its part {LINES} cannot be unzipped (That compression method is not supported): the file is "
             "damaged, or not as Excel saves it; save it again from Excel, WPS or LibreOffice", capsys, monkeypatch)


def test_a_row_longer_than_any_rows_of_a_table_is_refused_before_calamine_lays_out_its_sheet(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A cell's text may be written in its sheet, not among the shared strings: one of 300 MB
    took calamine 1.1 GB, and the scan for formulas held its row whole. Here 17 MB (17 kB zipped)
    in a column of lines no table has."""
    from test_io import Calamine

    calamine = Calamine(monkeypatch)
    calamine.withheld.add("lines")
    book = write_workbook(tmp_path / "batch.xlsx", {})
    with zipfile.ZipFile(book) as zipped:
        sheet = zipped.read(LINES)
    cell = b'<c r="K2" t="inlineStr"><is><t>' + b"y" * 17_000_000 + b"</t></is></c>"
    _with_parts(book, {LINES: re.sub(rb'(<row r="2".*?)(</row>)', lambda row: row[1] + cell + row[2], sheet,
                                     count=1, flags=re.S)})
    _refused(book, "sheet lines, row 2 holds more than 16 MB of XML: no row of a table is near that long (Excel "
             "holds 32,767 characters in a cell); shorten what it holds", capsys, monkeypatch)
    assert "lines" not in calamine.asked


@pytest.mark.parametrize(("rows", "long"), [
    ('<row r="2"><c r="A2"><v>1</v></c></row><row r="3"><c r="A3" t="inlineStr"><is><t>' + "y" * 200
     + "</t></is></c></row>", "row 3 holds more than"),
    ('<row r="2"><c r="A2"><v>1</v></c></row><row><c t="inlineStr"><is><t>' + "y" * 200 + "</t></is></c></row>",
     "row 3 holds more than"),  # without its number: the next
    ('<row r="2"><c r="A2"><v>1</v></c>' + " " * 80 + "</row>", None),  # as long as a row may be
    ('<row r="2"><c r="A2"><v>1</v></c></row></sheetData><hyperlinks>' + '<hyperlink ref="A2"/>' * 20
     + "</hyperlinks>", None),  # after the rows, a sheet's parts may be as long as they are
])
def test_a_long_row_is_found_whatever_piece_of_the_sheet_it_is_read_in(
        monkeypatch: pytest.MonkeyPatch, rows: str, long: str | None) -> None:
    """Rows of 120 bytes of XML at most, read in pieces cut anywhere (smaller than that: a row
    is measured while it goes on past a piece)."""
    import yibao.io

    monkeypatch.setattr(yibao.io, "MAX_XLSX_TEXT_BYTES", 120)
    xml = ('<worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row>' + rows
           + ("" if "</sheetData>" in rows else "</sheetData>") + "</worksheet>").encode()
    for block in (1, 7, 64):
        monkeypatch.setattr(yibao.io, "SCAN_BLOCK", block)
        found = yibao.io._far_cell(io.BytesIO(xml))
        assert found is None if long is None else found is not None and found.startswith(long), (block, found)


class _Made:
    """A sheet's XML made as it is read, never held whole: `head`, `unit` `times` times, `tail`."""

    def __init__(self, head: bytes, unit: bytes, times: int, tail: bytes) -> None:
        runs = [unit * 4096] * (times // 4096) + [unit * (times % 4096)]
        self.parts, self.held = iter([head, *runs, tail]), b""

    def read(self, size: int) -> bytes:
        while len(self.held) < size and (part := next(self.parts, None)) is not None:
            self.held += part
        block, self.held = self.held[:size], self.held[size:]
        return block


ROW = b'<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row>'


@pytest.mark.parametrize(("head", "unit", "tail", "says"), [
    (b"<sheetData>", b'<c r="A1"><v>1</v></c>', b"</sheetData>", "cell A1 is outside every row"),  # calamine reads them
    (b"<sheetViews>", b'<selection sqref="A1"/>', b"</sheetViews><sheetData>" + ROW + b"</sheetData>", None),
    (b"<sheetData>" + ROW + b"</sheetData><hyperlinks>", b'<hyperlink ref="A1" r:id="rId1"/>', b"</hyperlinks>", None),
    (b"<sheetData>", b" ", b"</sheetData>", "more than 1 MB of its XML outside its rows is one cell or tag"),
    (b"<sheetData><c r=\"A1\" t=\"inlineStr\"><is><t>", b"y", b"</t></is></c></sheetData>",
     "more than 1 MB of its XML outside its rows is one cell or tag"),
])
def test_xml_outside_the_rows_is_scanned_a_piece_at_a_time(
        monkeypatch: pytest.MonkeyPatch, head: bytes, unit: bytes, tail: bytes, says: str | None) -> None:
    """The scan cut a sheet's XML before its rows only, so a sheet without rows (calamine reads
    cells outside them), or its parts before or after them, was held whole, up to the 4 GB bound
    on a workbook. Here 6 MB, the bound on a row lowered to 1 MB: a piece is handed on once more
    than a row of it is held, and a stretch longer than a row that cannot be cut is refused."""
    import tracemalloc

    import yibao.io

    monkeypatch.setattr(yibao.io, "MAX_XLSX_TEXT_BYTES", 10**6)
    monkeypatch.setattr(yibao.io, "SCAN_BLOCK", 1 << 16)
    sheet = _Made(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + head, unit,
                  6 * 10**6 // len(unit), tail + b"</worksheet>")
    pieces: list[int] = []
    tracemalloc.start()
    try:
        found = yibao.io._far_cell(sheet, lambda piece: pieces.append(len(piece)))
        held = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert found is None if says is None else found is not None and found.startswith(says), found
    assert held < 4 * 10**6 and max(pieces, default=0) < 1.2 * 10**6, (held, max(pieces, default=0))


OUTSIDE_ROWS = "no program writes such a sheet; save it again from Excel, WPS or LibreOffice"
FIRST = '<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row>'


@pytest.mark.parametrize(("before", "data", "says"), [
    ("", '<c r="A1"><v>1</v></c><c r="XFD1048576"><v>2</v></c>', "cell A1 is outside every row"),  # no row at all
    ("", FIRST + '<c r="XFD1048576"><v>2</v></c>', "cell XFD1048576 is outside every row"),
    ("", FIRST + '<row r="2"/>\n<c r="XFD1048576" s="1"/>',
     "cell XFD1048576 is outside every row"),  # calamine skips a row's empty tag
    ("", FIRST.replace("</row>", "</row\n>") + '<c><f>1+1</f></c><row r="3"><c r="A3"><v>3</v></c></row>',
     "a cell is outside every row"),
    ("", FIRST + '<r><c r="XFD1048576"><v>2</v></c></r><row r="3"><c r="A3"><v>3</v></c></row>',
     "its sheet data holds XML other than rows"),
    ("", FIRST + 'text<row r="3"><c r="A3"><v>3</v></c></row>', "its sheet data holds XML other than rows"),
    ('<sheetViews><sheetView workbookViewId="0"/></sheetViews>' * 4, '<c r="B2"><v>2</v></c>' * 9,
     "cell B2 is outside every row"),  # cut after the data's start: the cell begins the next piece
    ("", "\n  " + FIRST + '\n  <row r="2" ht="30" customHeight="1"/>\n  <row r="3"><c r="A3"><v>3</v></c></row>\n',
     None),  # as a program writing its XML indented may
    ('<cols><col min="1" max="1" width="9"/></cols>', "", None),
])
@pytest.mark.parametrize("prefix", ["", "x:"])
def test_a_cell_outside_every_row_refuses_its_sheet(monkeypatch: pytest.MonkeyPatch, before: str, data: str,
                                                    says: str | None, prefix: str) -> None:
    """calamine reads a cell wherever it is in the sheet's data, and lays the grid out to it; the
    scan for far cells counted the rows it saw, so `<c r="XFD1048576">` after the last row, or in
    no row, passed it (before: None for each), and Rust aborted asking for 550 GB. No program
    writes a sheet's data as other than rows: such a sheet is refused, read in pieces cut anywhere
    (a row may be 120 bytes long: the XML before the rows is cut into pieces, one of them after
    the data's start, the cell outside the rows beginning the next, for some blocks read)."""
    import yibao.formulas
    import yibao.io

    tags = before + ('<sheetData xml:space="preserve">' if prefix else "<sheetData>") + data + "</sheetData>"
    tags = tags.replace("</", "\0").replace("<", f"<{prefix}").replace("\0", f"</{prefix}")
    xml = (f'<?xml version="1.0" encoding="UTF-8"?><{prefix}worksheet xmlns{":x" if prefix else ""}='
           f'"http://schemas.openxmlformats.org/spreadsheetml/2006/main">{tags}</{prefix}worksheet>').encode()
    monkeypatch.setattr(yibao.io, "MAX_XLSX_TEXT_BYTES", 120)
    for block in (*range(1, 70), 1 << 20):
        monkeypatch.setattr(yibao.io, "SCAN_BLOCK", block)
        found = yibao.io._far_or_uncomputed(io.BytesIO(xml), False)
        assert found == (None if says is None else f"{says} of its XML: {OUTSIDE_ROWS}" if "cell" in says
                         else f"{says}: {OUTSIDE_ROWS}"), (block, found)


# what a sheet's data may hold between its rows, as a program may write it or not
BETWEEN_ROWS = ['<row r="1"><c r="A1"><v>1</v></c></row>', '<row r="2"></row>', '<row r="3"/>', "<row/>", "\n  ",
                '<row r="4"><c r="A4" s="1"/><c r="B4"><f>1</f><v>1</v></c></row>', '<c r="B5"><v>5</v></c>',
                '<c r="B6" s="1"/>', '<x><c r="B7"><v>7</v></c></x>', "<rows/>", "text", "<c>8</c>"]


@given(st.lists(st.sampled_from(BETWEEN_ROWS), max_size=12), st.sampled_from(["", "x:"]), st.integers(1, 40))
def test_xml_between_the_rows_is_found_where_a_parser_finds_it(items: list[str], prefix: str, block: int) -> None:
    """Read in pieces cut anywhere, a sheet is refused exactly when a parser (expat) finds in its
    data, outside every row, an element other than a row or text other than white space."""
    from xml.parsers import expat

    import yibao.io

    data = "".join(items).replace("</", "\0").replace("<", f"<{prefix}").replace("\0", f"</{prefix}")
    xml = (f'<{prefix}worksheet xmlns{":x" if prefix else ""}="http://schemas.openxmlformats.org/spreadsheetml/2006/'
           f'main"><{prefix}sheetData>{data}</{prefix}sheetData></{prefix}worksheet>').encode()
    open_tags: list[str] = []
    outside: list[str] = []

    def start(name: str, attributes: object) -> None:
        if open_tags[-1:] == ["sheetData"] and name != "row":
            outside.append(name)
        open_tags.append(name)

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = lambda name, attributes: start(name.rpartition(" ")[2], attributes)
    parser.EndElementHandler = lambda name: open_tags.pop()
    parser.CharacterDataHandler = lambda text: outside.extend(
        [text] if open_tags[-1:] == ["sheetData"] and text.strip() else [])
    parser.Parse(xml, True)
    yibao.io.SCAN_BLOCK, before = block, yibao.io.SCAN_BLOCK
    try:
        found = yibao.io._far_cell(io.BytesIO(xml))
    finally:
        yibao.io.SCAN_BLOCK = before
    assert (found is not None) == bool(outside), (found, outside)
    assert found is None or found.endswith(OUTSIDE_ROWS), found


def _refused_before_calamine_lays_out_lines(tmp_path: Path, last: bytes, says: str, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A workbook whose lines sheet's data ends with `last` is refused, saying `says` after the
    sheet's name (`_refused`), and calamine is never asked to lay the sheet out."""
    from test_io import Calamine

    calamine = Calamine(monkeypatch)
    calamine.withheld.add("lines")
    book = write_workbook(tmp_path / "batch.xlsx", {})
    with zipfile.ZipFile(book) as zipped:
        sheet = zipped.read(LINES)
    _with_parts(book, {LINES: sheet.replace(b"</sheetData>", last + b"</sheetData>")})
    _refused(book, f"sheet lines, {says}", capsys, monkeypatch)
    assert "lines" not in calamine.asked


def test_a_sheet_with_a_cell_outside_its_rows_is_refused_before_calamine_lays_it_out(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: scored, the lines sheet laid out to XFD1048576 (550 GB: Rust aborted, exit 134)."""
    _refused_before_calamine_lays_out_lines(tmp_path, b'<c r="XFD1048576"><v>1</v></c>',
                                            f"cell XFD1048576 is outside every row of its XML: {OUTSIDE_ROWS}",
                                            capsys, monkeypatch)


MARKUP = "its XML holds a comment, CDATA section or declaration (<!…): " + OUTSIDE_ROWS
INSTRUCTION = "its XML holds a processing instruction (<?…): " + OUTSIDE_ROWS


@pytest.mark.parametrize(("xml", "says"), [
    ('<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="A1048576"/>'
     '<![CDATA[</sheetData>]]><c r="B1048576"><v>1</v></c></row></sheetData></worksheet>', MARKUP),
    ('<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row><row r="5000"><!-- a note -->'
     '<c r="B5000"><v>1</v></c></row></sheetData></worksheet>', MARKUP),  # no value seen in the row
    ('<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row><!-- </sheetData> --><row r="5000">'
     '<c r="B5000"><v>1</v></c></row></sheetData></worksheet>', MARKUP),
    ('<?xml version="1.0"?><!-- <x:worksheet> --><worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
     '<row r="5000"><c r="B5000"><v>1</v></c></row></sheetData></worksheet>', MARKUP),  # another prefix: no row seen
    ('<!DOCTYPE worksheet><worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData></worksheet>',
     MARKUP),
    ('<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c><c r="B1"><![CDATA[</c>]]><f>1+1</f></c></row>'
     '</sheetData></worksheet>', MARKUP),  # a formula never computed, which calamine reads as empty
    ('<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row><row r="5000"><?pi </row>?>'
     '<c r="B5000"><v>1</v></c></row></sheetData></worksheet>', INSTRUCTION),
    ('\ufeff<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<worksheet><sheetData><row r="1">'
     '<c r="A1" t="inlineStr"><is><t>Why?! &lt;!-- not a comment --&gt; &lt;?</t></is></c></row></sheetData>'
     "</worksheet>", None),  # the declaration, and what only reads as markup in text
])
def test_a_comment_cdata_or_instruction_in_a_sheet_is_refused(monkeypatch: pytest.MonkeyPatch, xml: str,
                                                              says: str | None) -> None:
    """calamine (quick-xml) reads past a comment, CDATA section or processing instruction; the
    scans, searching the XML, read what they hold as tags: a `</sheetData>` in one ended the data,
    a root tag in one gave the rows another prefix, and text between a row's tag and its first
    value, or inside a cell, hid the value or the formula (before: None for each, a value
    below 1,048,574 or 4,998 empty rows, or a formula without its value, read). No program writes
    one in a sheet: such a sheet is refused, read in pieces cut anywhere (`<` in one, `!` in the
    next)."""
    import yibao.io

    for block in (1, 2, 7, 1 << 20):
        monkeypatch.setattr(yibao.io, "SCAN_BLOCK", block)
        found = yibao.io._far_or_uncomputed(io.BytesIO(xml.encode()), False)
        assert found == says, (block, found)


def test_a_sheet_with_a_row_hidden_behind_a_cdata_section_is_refused_before_calamine_lays_it_out(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: scored, the lines sheet laid out to XFD1048576 (550 GB: Rust aborted, exit 134)."""
    _refused_before_calamine_lays_out_lines(tmp_path, b'<row r="1048576"><c r="A1048576"/><![CDATA[</sheetData>]]>'
                                            b'<c r="XFD1048576"><v>1</v></c></row>', MARKUP, capsys, monkeypatch)


def _padded(book: Path, part: str, root_end: bytes, padding: bytes) -> Path:
    """The workbook with `padding` put before `part`'s root end tag."""
    with zipfile.ZipFile(book) as zipped:
        own = zipped.read(part)
    return _with_parts(book, {part: own.replace(root_end, padding + root_end)})


@pytest.mark.parametrize(("part", "root_end"), [(BOOK_PARTS[0], b"</workbook>"), (BOOK_PARTS[1], b"</Relationships>")])
def test_a_workbook_whose_list_of_sheets_is_larger_than_any_workbooks_is_refused_before_it_is_read(
        tmp_path: Path, no_calamine: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        part: str, root_end: bytes) -> None:
    """Before, the scan for a sheet's part read it whole (3.9 GB would pass the 4 GB bound), and
    calamine keeps every sheet, name and relationship it lists. Here 17 MB (17 kB zipped)."""
    book = _padded(write_workbook(tmp_path / "batch.xlsx", {}), part, root_end, b" " * 17_000_000)
    _refused(book, f"its part {part} unzips to 17 MB, more than a workbook's list of its sheets needs (16 MB; Excel "
             "writes a few kB): the file is damaged, or not as Excel saves it; save it again from Excel, WPS or "
             "LibreOffice", capsys, monkeypatch)


def test_a_workbooks_list_of_sheets_is_parsed_as_it_is_unzipped(tmp_path: Path) -> None:
    """Under the bound, 12 MB of names in xl/workbook.xml are parsed a megabyte at a time, in 5.4
    MB at most: before, read whole and made a tree, they took 12 MB and more."""
    import tracemalloc

    from yibao.io import check_sheet

    book = _padded(write_workbook(tmp_path / "batch.xlsx", {}), BOOK_PARTS[0], b"</workbook>",
                   (b'<definedName name="x">' + b"A" * 400 + b"</definedName>") * 28_000)
    tracemalloc.start()
    try:
        check_sheet(book, "lines")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000


def test_a_long_shared_string_is_found_in_the_folder_the_package_names(
        tmp_path: Path, no_calamine: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """calamine reads the shared strings beside the workbook, in the folder `_rels/.rels` names:
    before, only xl/sharedStrings.xml was looked into, and calamine read book/sharedStrings.xml whole."""
    book = _with_parts(write_workbook(tmp_path / "batch.xlsx", {}), {SHARED_STRINGS: _strings(b"y" * 17_000_000)})
    _refused(_in_book_folder(book), "its part book/sharedStrings.xml holds a text of more than 16 MB (shared string "
             "1): no cell of a table is near that long (Excel holds 32,767 characters in a cell); remove it from the "
             "workbook", capsys, monkeypatch)


def _in_book_folder(book: Path) -> Path:
    """The workbook with the parts of its folder xl/ moved to book/, and its relationships saying so."""
    with zipfile.ZipFile(book) as zipped:
        parts = {name: zipped.read(name) for name in zipped.namelist()}
    with zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, data in parts.items():
            zipped.writestr(name.replace("xl/", "book/"), data.replace(b"xl/", b"book/") if "rels" in name else data)
    return book


@pytest.mark.parametrize("moved", [False, True])
def test_a_workbook_whose_styles_are_larger_than_any_workbooks_is_refused_before_calamine_reads_them(
        tmp_path: Path, no_calamine: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        moved: bool) -> None:
    """calamine reads the styles beside the workbook as it opens it (which numbers are dates),
    keeping its number formats (72 MB of them took it 223 MB) and a text or tag whole (one of
    100 MB: 196 MB): only the 4 GB bound limited them. Here 3 MB to the bound lowered to 2 MB."""
    monkeypatch.setattr(yibao.workbook_zip, "MAX_XLSX_STYLES_BYTES", 2 * 10**6)
    book = _padded(write_workbook(tmp_path / "batch.xlsx", {}), "xl/styles.xml", b"</styleSheet>", b" " * 3_000_000)
    part = "book/styles.xml" if moved else "xl/styles.xml"
    _refused(_in_book_folder(book) if moved else book, f"its part {part} unzips to 3 MB, more than a workbook's styles "
             "need (2 MB; Excel's most cell formats take some 60 MB): the file is damaged, or not as Excel saves it; "
             "save it again from Excel, WPS or LibreOffice", capsys, monkeypatch)
