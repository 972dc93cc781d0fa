"""A formula cell of an input workbook is read as the value saved with it; one never computed
(a workbook written by openpyxl or XlsxWriter) was read as empty or 0 without a word, and an
empty amount is zero: `hifp_paid = 1000+200` carried in nothing the fund had paid. And a sheet
whose XML is broken is refused in one line, not with calamine's traceback."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Callable

import openpyxl
import pytest
import xlsxwriter

import yibao
from conftest import cases_tables, line, make_case, run_cli
from yibao.errors import InputError
from yibao.io import write_tables

ACCUMULATORS = ["psn_no", "year", "hifp_paid"]


def _batch(folder: Path) -> Path:
    tables = cases_tables([make_case(lines=[line("X-ANY", 100.0, 1)])])
    write_tables({k: v for k, v in tables.items() if k != "accumulators"}, folder, "csv")
    return folder


def _openpyxl_book(path: Path, formula: str) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "accumulators"
    sheet.append(ACCUMULATORS)
    sheet.append(["P1", 2025, formula])
    book.save(path)
    return path


def _edited(path: Path, edits: dict[str, Callable[[bytes], bytes]]) -> Path:
    """The workbook with its parts (zip members) `edits` names rewritten, as another program saved it."""
    with zipfile.ZipFile(path) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    with zipfile.ZipFile(path, "w") as book:
        for name, data in parts.items():
            book.writestr(name, edits.get(name, lambda same: same)(data))
    return path


def _saved_by_a_spreadsheet(path: Path, cell: str) -> Path:
    """The workbook as Excel saves it: the formula's value saved beside it (`cell`, the XML of the
    cell's type and value), no mark asking to compute it on opening."""
    return _edited(path, {
        "xl/workbook.xml": lambda xml: xml.replace(b' fullCalcOnLoad="1"', b""),
        "xl/worksheets/sheet1.xml": lambda xml: re.sub(rb'<c r="C2"[^>]*>(<f>[^<]*</f>)<v ?/></c>',
                                                       lambda m: cell.encode().replace(b"{f}", m.group(1)), xml)})


def test_a_formula_openpyxl_wrote_is_refused_naming_its_cell(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    batch, book = _batch(tmp_path / "b"), _openpyxl_book(tmp_path / "acc.xlsx", "=1000+200")
    with pytest.raises(InputError, match="sheet accumulators, cell C2 holds a formula without its computed value"):
        yibao.score(batch, accumulators=book)
    code, err = run_cli(["score", str(batch), "--accumulators", str(book), "--out", str(tmp_path / "s")],
                        capsys, monkeypatch)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "C2" in err


def test_a_formula_xlsxwriter_wrote_as_zero_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "acc.xlsx"
    with xlsxwriter.Workbook(path) as book:
        sheet = book.add_worksheet("accumulators")
        sheet.write_row(0, 0, ACCUMULATORS)
        sheet.write_row(1, 0, ["P1", 2025])
        sheet.write_formula(1, 2, "=1000+200")  # saved as 0
    with pytest.raises(InputError, match="cell C2 holds a formula whose value 0 the program"):
        yibao.score(_batch(tmp_path / "b"), accumulators=path)


def test_a_formula_a_spreadsheet_computed_is_read_as_its_value(tmp_path: Path) -> None:
    book = _saved_by_a_spreadsheet(_openpyxl_book(tmp_path / "acc.xlsx", "=1000+200"),
                                   '<c r="C2">{f}<v>1200</v></c>')
    after = yibao.score(_batch(tmp_path / "b"), accumulators=book).accumulators
    assert after.set_index("psn_no").at["P1", "hifp_paid"] >= 1200


@pytest.mark.parametrize(("cell", "refused"), [
    ('<c r="C2" t="e">{f}<v>#DIV/0!</v></c>', "whose value is the error #DIV/0!"),
    ('<c r="C2">{f}</c>', "without its computed value"),
    ('<c r="C2" t="str">{f}<v></v></c>', None)])  # a text formula computed as "": an empty cell
def test_a_saved_formula_without_a_value_to_read_is_refused(tmp_path: Path, cell: str, refused: str | None) -> None:
    book = _saved_by_a_spreadsheet(_openpyxl_book(tmp_path / "acc.xlsx", '=IF(1,"","")'), cell)
    if refused is None:
        assert yibao.score(_batch(tmp_path / "b"), accumulators=book).rejects.empty
    else:
        with pytest.raises(InputError, match=re.escape(refused)):
            yibao.score(_batch(tmp_path / "b"), accumulators=book)


def test_a_sheet_with_broken_xml_is_refused_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    book = _edited(_openpyxl_book(tmp_path / "acc.xlsx", "1200"),
                   {"xl/worksheets/sheet1.xml": lambda xml: xml.replace(b"</sheetData>", b"")})
    code, err = run_cli(["score", str(_batch(tmp_path / "b")), "--accumulators", str(book), "--out",
                         str(tmp_path / "s")], capsys, monkeypatch)
    assert (code, err.strip()) == (2, f"error: {book}: cannot read sheet accumulators: "
                                   "its XML is not well formed (sheetData)")


def test_a_formula_is_found_whatever_piece_of_the_sheet_it_is_read_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sheet's XML is read a piece at a time (a megabyte): here 40 bytes, so the cell's tags
    fall in several pieces."""
    monkeypatch.setattr("yibao.io.SCAN_BLOCK", 40)
    book = _openpyxl_book(tmp_path / "acc.xlsx", "=1000+200")
    with pytest.raises(InputError, match="sheet accumulators, cell C2 holds a formula"):
        yibao.score(_batch(tmp_path / "b"), accumulators=book)


def test_a_sheet_is_unzipped_once_for_its_far_cells_and_formulas_and_a_far_cell_is_said_first(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The scans for far cells and for formulas each unzipped the sheet: a third of the time a
    sheet of a million lines took before calamine read it. Now one pass; as before, a value far
    below the table is said before a formula above it."""
    import contextlib

    import yibao.formulas

    opened: list[str] = []
    own = yibao.formulas.opened_part

    @contextlib.contextmanager
    def counted(book: zipfile.ZipFile, part: str, path: Path):  # type: ignore[no-untyped-def]
        opened.append(part)
        with own(book, part, path) as xml:
            yield xml

    monkeypatch.setattr(yibao.formulas, "opened_part", counted)
    book = _openpyxl_book(tmp_path / "acc.xlsx", "=1000+200")
    with pytest.raises(InputError, match="sheet accumulators, cell C2 holds a formula without its computed value"):
        yibao.score(_batch(tmp_path / "b"), accumulators=book)
    assert opened.count("xl/worksheets/sheet1.xml") == 1
    _edited(book, {"xl/worksheets/sheet1.xml": lambda xml: xml.replace(
        b"</sheetData>", b'<row r="5000"><c r="A5000" t="inlineStr"><is><t>x</t></is></c></row></sheetData>')})
    with pytest.raises(InputError, match="sheet accumulators, cell A5000 holds a value below 4,997 empty rows"):
        yibao.score(_batch(tmp_path / "b"), accumulators=book)


def _laid_out(path: Path, renamed: Callable[[str], str], edits: dict[str, Callable[[bytes], bytes]]) -> Path:
    """The workbook with its parts renamed and `edits` (by their old names) made."""
    with zipfile.ZipFile(path) as book:
        parts = {name: edits.get(name, lambda same: same)(book.read(name)) for name in book.namelist()}
    with zipfile.ZipFile(path, "w") as book:
        for name, data in parts.items():
            book.writestr(renamed(name), data)
    return path


_STRICT = {b"http://schemas.openxmlformats.org/spreadsheetml/2006/main":
           b"http://purl.oclc.org/ooxml/spreadsheetml/main",
           b"http://schemas.openxmlformats.org/officeDocument/2006/relationships":
           b"http://purl.oclc.org/ooxml/officeDocument/relationships"}


def _strict(xml: bytes) -> bytes:
    for transitional, strict in _STRICT.items():
        xml = xml.replace(transitional, strict)
    return xml


def _in_book(xml: bytes) -> bytes:
    return xml.replace(b"xl/", b"book/")


@pytest.mark.parametrize(("renamed", "edits"), [
    (lambda name: name.replace("sheet1", "Sheet1"), {}),
    (lambda name: name.replace("xl/workbook.xml", "XL/Workbook.xml"), {}),
    (lambda name: name.replace("xl/", "book/"), {"_rels/.rels": _in_book, "xl/_rels/workbook.xml.rels": _in_book}),
    (lambda name: name, {"xl/workbook.xml": _strict, "xl/worksheets/sheet1.xml": _strict}),
], ids=["sheet-case", "workbook-case", "workbook-folder", "strict-namespaces"])
def test_a_sheet_is_checked_where_calamine_finds_it(tmp_path: Path, renamed: Callable[[str], str],
                                                    edits: dict[str, Callable[[bytes], bytes]]) -> None:
    """calamine looks parts up in any letter case, in the folder the package names, and matches
    tags by their local names; the scan looked for xl/workbook.xml, xl/worksheets/sheet1.xml and the
    transitional namespaces, found nothing to scan, and the formula was read as empty."""
    book = _laid_out(_openpyxl_book(tmp_path / "acc.xlsx", "=1000+200"), renamed, edits)
    with pytest.raises(InputError, match="sheet accumulators, cell C2 holds a formula without its computed value"):
        yibao.score(_batch(tmp_path / "b"), accumulators=book)


def test_two_parts_of_one_name_but_its_letter_case_are_refused(tmp_path: Path) -> None:
    """Which of them calamine reads the scans cannot know: before, they scanned the one computed,
    and calamine read the other, its formula as empty."""
    book = _openpyxl_book(tmp_path / "acc.xlsx", "=1000+200")
    with zipfile.ZipFile(book) as zipped:
        uncomputed = zipped.read("xl/worksheets/sheet1.xml")
    _saved_by_a_spreadsheet(book, '<c r="C2">{f}<v>1200</v></c>')
    with zipfile.ZipFile(book, "a") as zipped:
        zipped.writestr("xl/worksheets/SHEET1.xml", uncomputed)
    with pytest.raises(InputError, match=f"^{re.escape(str(book))}: its parts xl/worksheets/sheet1.xml and "
                                         "xl/worksheets/SHEET1.xml have one name \\(letter case aside\\): the file is "
                                         "damaged, or not as Excel saves it"):
        yibao.score(_batch(tmp_path / "b"), accumulators=book)


def _read_as(path: Path, uncomputed: str, computed: str, edits: dict[str, Callable[[bytes], bytes]]) -> Path:
    """The workbook with its sheet's formula never computed in the part `uncomputed` and computed
    in `computed` (and in xl/worksheets/sheet1.xml), `edits` made: calamine reads the first."""
    book = _openpyxl_book(path, "=1000+200")
    with zipfile.ZipFile(book) as zipped:
        sheets = {uncomputed: zipped.read("xl/worksheets/sheet1.xml")}
    _edited(_saved_by_a_spreadsheet(book, '<c r="C2">{f}<v>1200</v></c>'), edits)
    with zipfile.ZipFile(book) as zipped:
        sheets[computed] = zipped.read("xl/worksheets/sheet1.xml")
    with zipfile.ZipFile(book, "a") as zipped:
        for name, data in sheets.items():
            if name != "xl/worksheets/sheet1.xml":
                zipped.writestr(name, data)
    return _edited(book, {"xl/worksheets/sheet1.xml": lambda xml: sheets.get("xl/worksheets/sheet1.xml", xml)})


RELS = "xl/_rels/workbook.xml.rels"
UNCOMPUTED = "sheet accumulators, cell C2 holds a formula without its computed value"


def _escaped_id(rels: bytes) -> bytes:
    """The sheet's relationship with its id written with a reference, and after it a computed
    copy's, with the id as it was."""
    sheet = re.search(rb'<Relationship [^>]*Id="rId1" />', rels)[0]
    return rels.replace(sheet, sheet.replace(b'"rId1"', b'"rId&#49;"') + sheet.replace(b"sheet1", b"copy"))


@pytest.mark.parametrize(("uncomputed", "computed", "edits"), [
    ("xl/worksheets/a&amp;b.xml", "xl/worksheets/a&b.xml",
     {RELS: lambda xml: xml.replace(b"/xl/worksheets/sheet1.xml", b"/xl/worksheets/a&amp;b.xml")}),
    ("xl/worksheets/a\tb.xml", "xl/worksheets/a b.xml",
     {RELS: lambda xml: xml.replace(b"/xl/worksheets/sheet1.xml", b"/xl/worksheets/a\tb.xml")}),
    ("xl/worksheets/sheet1.xml", "xl/worksheets/copy.xml",
     {"xl/workbook.xml": lambda xml: xml.replace(b'r:id="rId1"', b'r:id="rId&#49;"'), RELS: _escaped_id}),
], ids=["escaped-target", "target-with-a-tab", "escaped-id"])
def test_a_sheet_is_checked_in_the_part_calamine_reads_its_ids_and_targets_as_written(
        tmp_path: Path, uncomputed: str, computed: str, edits: dict[str, Callable[[bytes], bytes]]) -> None:
    """calamine reads a relationship's target and id, and a sheet's id, as written; the scans'
    XML parser unescaped them and made their white space spaces: Target="worksheets/a&amp;b.xml"
    was scanned in xl/worksheets/a&b.xml, and calamine read xl/worksheets/a&amp;b.xml, its formula
    as empty."""
    from python_calamine import CalamineWorkbook

    book = _read_as(tmp_path / "acc.xlsx", uncomputed, computed, edits)
    assert CalamineWorkbook.from_path(str(book)).get_sheet_by_name("accumulators").to_python()[1][2] == ""
    with pytest.raises(InputError, match=UNCOMPUTED):
        yibao.score(_batch(tmp_path / "b"), accumulators=book)


@pytest.mark.parametrize(("part", "edit", "why"), [
    ("xl/workbook.xml", lambda xml: xml.replace(b"<workbookPr />", b'<workbookPr /><fileVersion appName="&x;" />'),
     "undefined entity, line 1"),
    ("xl/workbook.xml", lambda xml: xml.replace(b"<sheet ", b'<sheet state="hidden" '), "duplicate attribute, line 1"),
    ("_rels/.rels", lambda xml: xml.replace(b"</Relationships>", b""), "no element found, line 1"),
])
def test_a_workbooks_own_part_no_xml_parser_reads_is_refused_naming_it(
        tmp_path: Path, part: str, edit: Callable[[bytes], bytes], why: str) -> None:
    """calamine reads what it needs of a part with an undefined entity or an attribute written
    twice; the scans' parser could not, and they let calamine read the sheet unchecked, its formula
    as empty (a far cell laid out). A broken list of the package's parts stopped with a traceback."""
    book = _edited(_openpyxl_book(tmp_path / "acc.xlsx", "=1000+200"), {part: edit})
    with pytest.raises(InputError, match=f"^{re.escape(f'{book}: its part {part} is not well-formed XML ({why}): ')}"
                                         "the file is damaged, or not as Excel saves it"):
        yibao.score(_batch(tmp_path / "b"), accumulators=book)
