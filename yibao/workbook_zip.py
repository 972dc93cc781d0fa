"""An input workbook's zip, checked before calamine unzips any of it.

An .xlsx file is a zip of XML parts, and calamine, which reads the sheets, unzips the shared
strings whole when it opens a workbook and a sheet whole when asked for it. Nothing bounded
either: XML compresses a thousandfold, so a 24 MB file whose shared strings unzipped to 5.5 GB
(a "zip bomb") was scored for 56 s in 16.3 GB, exit 0; and one shared string of 300 MB (1.5 MB
zipped) took 1.09 GB. Now, before calamine opens a workbook:

- the sizes its parts declare, read from the zip's directory (nothing is unzipped to learn them),
  add up to at most `max_xlsx_bytes()`, else it is refused naming the largest part;
- its own parts (`BOOK_PARTS`: the list of its sheets and names, and where each sheet is) declare
  at most `MAX_XLSX_BOOK_BYTES`: calamine keeps all they list, and they were read whole to find
  a sheet's part, so 3.9 GB of them under the 4 GB bound cost as much (`yibao.formulas` now
  parses them as they are unzipped, building no tree);
- its styles (`STYLES`), which calamine reads as it opens it, declare at most
  `MAX_XLSX_STYLES_BYTES`;
- its shared strings are streamed once, a megabyte at a time, and a string of more than
  `MAX_XLSX_TEXT_BYTES` of XML is refused, naming the part and the string (a sheet's rows are
  bounded so too, by `yibao.io.check_sheet`).

The parts looked into are the ones calamine reads: named as calamine looks them up (`folded`:
letter case and '\\' aside, so two parts of one such name are refused), in the folder the
package's relationships (`_rels/.rels`) give the workbook (`book_folder`, "xl/" as Excel writes
it), and by the ids and targets of relationships as calamine reads them, as written
(`start_tags`). Looked up by their exact names, a sheet renamed `Sheet7.xml` or a workbook kept
elsewhere was read by calamine unchecked: a formula never computed was read as empty, a far cell
laid out.

A declared size does not hide a larger part: Python's zipfile stops unzipping a part at its
declared size and then checks its CRC, so a part larger than declared is refused naming it
(`opened_part`); calamine's zip reader stops there too ("File is larger than its declared
uncompressed size"), for the parts Python does not read before it.
"""

from __future__ import annotations

import contextlib
import re
import string
import zipfile
import zlib
from pathlib import Path
from typing import IO, Callable, Iterator
from xml.parsers import expat

from yibao.errors import QUOTED, InputError, first_line, quoted
from yibao.limits import (ENV_MAX_XLSX, GB, MAX_XLSX_BOOK_BYTES, MAX_XLSX_STYLES_BYTES, MAX_XLSX_TEXT_BYTES,
                          max_xlsx_bytes)

SHARED_STRINGS = "xl/sharedStrings.xml"  # where calamine looks for them, the workbook's folder being xl/
BOOK_PARTS = ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")  # so too
PACKAGE_RELS = "_rels/.rels"  # where the package says which part is the workbook
STYLES = "styles.xml"  # the workbook's styles, in its folder, where calamine looks for them
_OWN_NAMES = ("workbook.xml", "workbook.xml.rels")  # the workbook's own parts, in its folder
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_OFFICE_DOCUMENT = "/relationships/officeDocument"  # how a relationship's type ends that names the workbook
SCAN_BLOCK = 1 << 20  # bytes of a part unzipped at once
# a string's end tag, or the start of a comment, CDATA section or processing instruction: in
# those, text that looks like a string's end is none, and calamine joins the text around them
_TAG_NAME = re.compile(r"<([^\s/>]+)")
_ATTRIBUTE = re.compile(r"""([^\s=]+)\s*=\s*(["'])(.*?)\2""", re.S)  # in a tag expat has read
_REFERENCE = re.compile(r"&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(lt|gt|amp|apos|quot));")
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "apos": "'", "quot": '"'}
_TOKEN = re.compile(rb"<(?:(/(?:\w+:)?si\s*>)|!--|!\[CDATA\[|\?)")  # '<' first: searched 2.4 times faster
_CLOSER = {b"<!--": b"-->", b"<![CDATA[": b"]]>", b"<?": b"?>"}
TAG_ROOM = 1 << 10  # bytes of a string's end tag read before its '>' (`_long_string`)


def check_workbook_zip(path: Path) -> None:
    """Refuse the workbook at `path` if its parts unzip to more than yibao reads, or a shared
    string is longer than any cell of a table could be. A file that is not a zip is left to
    calamine, which says so."""
    try:
        book = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return
    with book:
        _check_sizes(book.infolist(), path)
        _check_book_parts(book.infolist(), path)
        names = part_names(book, path)
        folder = book_folder(book, names, path)
        _check_styles(book, names.get(folded(folder + STYLES)), path)
        strings = names.get(folded(folder + "sharedStrings.xml"))
        if strings is None:
            return
        with opened_part(book, strings, path) as xml:
            long = _long_string(xml)
        if long is not None:
            raise InputError(f"its part {_named(strings)} holds a text of more than {size_text(MAX_XLSX_TEXT_BYTES)} "
                             f"(shared string {long:,}): no cell of a table is near that long (Excel holds "
                             "32,767 characters in a cell); remove it from the workbook", file=str(path))


@contextlib.contextmanager
def opened_part(book: zipfile.ZipFile, part: str, path: Path) -> Iterator[IO[bytes]]:
    """`part` of the workbook `book` (at `path`), unzipped as it is read; a part whose data is
    not what the zip declares of it (larger than its size, another CRC), or that zipfile cannot
    unzip (a method Excel does not use, encrypted), is refused, naming it."""
    try:
        with book.open(part) as xml:
            yield xml
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise InputError(f"its part {_named(part)} cannot be unzipped ({first_line(exc)}): the file is damaged, "
                         "or not as Excel saves it; save it again from Excel, WPS or LibreOffice",
                         file=str(path)) from None


def _check_sizes(parts: list[zipfile.ZipInfo], path: Path) -> None:
    """Refuse a workbook whose parts declare more bytes, all together, than `max_xlsx_bytes()`."""
    bound, total = max_xlsx_bytes(), sum(part.file_size for part in parts)
    if total <= bound:
        return
    largest = max(parts, key=lambda part: part.file_size)
    what = (f"its part {_named(largest.filename)} unzips to {size_text(largest.file_size)}" if largest.file_size > bound
            else f"its parts unzip to {size_text(total)} in all "
                 f"({_named(largest.filename)}: {size_text(largest.file_size)})")
    raise InputError(f"{what}, more than yibao reads from a workbook ({size_text(bound)}, {ENV_MAX_XLSX}): "
                     "save the batch as CSV or Parquet", file=str(path))


def folded(name: str) -> str:
    """A part's name as calamine looks it up: '\\' as '/', ASCII letters in lower case."""
    return name.replace("\\", "/").translate(_ASCII_LOWER)


def part_names(book: zipfile.ZipFile, path: Path) -> dict[str, str]:
    """The parts of the workbook `book` (at `path`): `folded` name → name. Two parts of one such
    name are refused: which of them calamine reads is not the scans' to guess."""
    names: dict[str, str] = {}
    for name in book.namelist():
        other = names.setdefault(folded(name), name)
        if other is not name:
            raise InputError(f"its parts {_named(other)} and {_named(name)} have one name (letter case aside): the "
                             "file is damaged, or not as Excel saves it; save it again from Excel, WPS or LibreOffice",
                             file=str(path))
    return names


def book_folder(book: zipfile.ZipFile, names: dict[str, str], path: Path) -> str:
    """The folder of the workbook's own parts, as calamine finds it: that of the last office
    document the package's relationships name ("xl/"), or "" at the top."""
    found: list[str] = []

    def office_document(tag: str, attrib: dict[str, str], depth: int) -> None:
        if local_name(tag) == "Relationship" and attrib.get("Type", "").endswith(_OFFICE_DOCUMENT):
            found.append(unescaped(attrib.get("Target", "")))

    if PACKAGE_RELS in names:
        start_tags(book, names[PACKAGE_RELS], path, office_document)
    target = found[-1] if found else "xl/workbook.xml"
    return target[:target.rfind("/") + 1].removeprefix("/")


def local_name(name: str) -> str:
    """A tag's or an attribute's name without its prefix, as calamine matches them."""
    return name.rpartition(":")[2]


def unescaped(value: str) -> str:
    """An attribute's value as calamine reads a sheet's name and the workbook's place: its
    references replaced, its white space as written."""
    return _REFERENCE.sub(lambda ref: chr(int(ref[1], 16)) if ref[1] else chr(int(ref[2])) if ref[2] else
                          _ENTITIES[ref[3]], value)


def start_tags(book: zipfile.ZipFile, part: str, path: Path, seen: Callable[[str, dict[str, str], int], None]) -> None:
    """Parse `part` as it is unzipped, a megabyte at a time, handing each start tag to `seen`:
    its name and attributes as written, and how deep it is (the root is 0). Read whole into a
    tree, as they were, a workbook's own parts cost many times their size.

    calamine reads a relationship's id and target, and a sheet's, as written: an XML parser
    hands them unescaped, white space made spaces, so `Target="worksheets/a&amp;b.xml"` was
    scanned as xl/worksheets/a&b.xml while calamine read xl/worksheets/a&amp;b.xml. So expat
    hands the tags over as written (`DefaultHandler`) and `seen` takes what calamine takes.
    calamine also reads parts no XML parser does (an undefined entity or an attribute written
    twice): those, which the scans once let calamine read unchecked, are refused, naming the part."""
    parser, depth = expat.ParserCreate(), 0

    def markup(text: str) -> None:
        nonlocal depth
        if text.startswith("</"):
            depth -= 1
        elif text.startswith("<") and not text.startswith(("<!", "<?")):
            name = _TAG_NAME.match(text)
            seen(name[1], {key: value for key, _, value in _ATTRIBUTE.findall(text, name.end())}, depth)
            depth += not text.endswith("/>")

    parser.DefaultHandler, parser.CharacterDataHandler = markup, lambda text: None
    try:
        with opened_part(book, part, path) as xml:
            while block := xml.read(SCAN_BLOCK):
                parser.Parse(block, False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise InputError(f"its part {_named(part)} is not well-formed XML ({expat.ErrorString(exc.code)}, line "
                         f"{exc.lineno:,}): the file is damaged, or not as Excel saves it; save it again from Excel, "
                         "WPS or LibreOffice", file=str(path)) from None


def _check_book_parts(parts: list[zipfile.ZipInfo], path: Path) -> None:
    """Refuse a workbook whose own parts (`BOOK_PARTS` and `PACKAGE_RELS`, in whatever folder)
    declare more than `MAX_XLSX_BOOK_BYTES`."""
    for part in parts:
        name = folded(part.filename)
        if ((name == PACKAGE_RELS or name.rpartition("/")[2] in _OWN_NAMES)
                and part.file_size > MAX_XLSX_BOOK_BYTES):
            raise InputError(f"its part {_named(part.filename)} unzips to {size_text(part.file_size)}, more than a "
                             f"workbook's list of its sheets needs ({size_text(MAX_XLSX_BOOK_BYTES)}; Excel writes a "
                             "few kB): the file is damaged, or not as Excel saves it; save it again from "
                             "Excel, WPS or LibreOffice", file=str(path))


def _check_styles(book: zipfile.ZipFile, styles: str | None, path: Path) -> None:
    """Refuse a workbook whose styles (the part `styles`, if any) declare more than
    `MAX_XLSX_STYLES_BYTES`."""
    if styles is None or (size := book.getinfo(styles).file_size) <= MAX_XLSX_STYLES_BYTES:
        return
    raise InputError(f"its part {_named(styles)} unzips to {size_text(size)}, more than a workbook's styles "
                     f"need ({size_text(MAX_XLSX_STYLES_BYTES)}; Excel's most cell formats take some 60 MB): the file "
                     "is damaged, or not as Excel saves it; save it again from Excel, WPS or LibreOffice", file=str(path))


def _long_string(xml: IO[bytes]) -> int | None:
    """The number (from 1) of the first shared string whose XML, from the end of the one before,
    is more than `MAX_XLSX_TEXT_BYTES`, or None.

    The XML is searched, not parsed, and cut after its last `>`: a string's end tag, and the end
    of a comment, CDATA section or processing instruction, all end there, and none of their starts
    holds a `>`, so no tag is cut in two. A string is measured at its end tag; one whose end is
    not read yet is refused once it is longer than the bound and `TAG_ROOM` (what of its end tag
    may have been read), so the text held grows to no more than that and a block."""
    rest = bytearray()
    base = start = strings = 0  # where rest and the string being read begin in the part
    inside: bytes | None = None  # the end of the comment, CDATA section or instruction being read
    while block := xml.read(SCAN_BLOCK):
        rest += block
        cut = rest.rfind(b">", len(rest) - len(block)) + 1
        at = 0
        while at < cut:
            if inside is not None:
                end = rest.find(inside, at, cut)
                at, inside = (cut, inside) if end < 0 else (end + len(inside), None)
                continue
            for token in _TOKEN.finditer(rest, at, cut):
                if token.group(1) is None:
                    at, inside = token.end(), _CLOSER[token.group(0)]
                    break
                if base + token.start() - start > MAX_XLSX_TEXT_BYTES:
                    return strings + 1
                start, strings = base + token.end(), strings + 1
            else:
                at = cut
        if base + len(rest) - start > MAX_XLSX_TEXT_BYTES + TAG_ROOM:
            return strings + 1
        base += cut
        del rest[:cut]
    return None


def _named(part: str) -> str:
    """A part's name as a message gives it: as it is, unless it could not be read so."""
    return part if part.isprintable() and len(part) <= QUOTED else quoted(part)


def size_text(size: int) -> str:
    """Bytes as GB, or MB below a gigabyte."""
    number, unit = (size / GB, "GB") if size >= GB else (size / 10**6, "MB")
    return f"{number:,.1f}".removesuffix(".0") + f" {unit}"
