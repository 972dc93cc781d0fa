"""Bounds on input amounts, checked before any arithmetic, so integer fen never overflow.

The calculator multiplies fen by basis points (10^4) and adds a person's claims over a year in
int64, which holds about 9.2 × 10^18. A line of 10^15 yuan once came out as a negative fund
payment with exit 0; a bound per line keeps such a typo a rejected row instead. Ten million
yuan per line is far above any real fee (a year of the most expensive inpatient care costs a
few million), and can be raised with `YIBAO_MAX_LINE_YUAN` for a region that needs it.
"""

from __future__ import annotations

import os

from yibao.errors import InputError

ENV_MAX_LINE: str = "YIBAO_MAX_LINE_YUAN"
DEFAULT_MAX_LINE_YUAN = 10_000_000
INT64_MAX = 2**63 - 1
# the largest amount of fen the calculator may meet anywhere (a claim, a person's year, the
# batch): with it, `2 × amount × ratio_bp + 10^4` (the half-up product) still fits in int64
SAFE_FEN = (INT64_MAX - 10_000) // (2 * 10_000)
CEILING_YUAN = 10**10  # a bound above this could not keep a single claim of a few lines safe


def max_line_yuan() -> float:
    """The bound per line and per money cell (any yuan cell of any table, and a line's price ×
    quantity), from the environment."""
    return _from_environment(ENV_MAX_LINE, DEFAULT_MAX_LINE_YUAN, CEILING_YUAN, "yuan")


def _from_environment(name: str, default: float, ceiling: float, unit: str) -> float:
    """A bound the environment variable `name` may set (a number above 0 and at most `ceiling`),
    else `default`."""
    text = os.environ.get(name, "").strip()
    if not text:
        return float(default)
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= ceiling:
        raise InputError(f"{name}={text!r}: a number of {unit} above 0 and at most {ceiling:,}")
    return value


def check_total_fen(total_fen: float, what: str) -> None:
    """Refuse, rather than overflow, when bounded lines still add up to more than int64 can
    carry through the ratio arithmetic (hundreds of thousands of maximal lines in one batch)."""
    if not total_fen <= SAFE_FEN:
        raise InputError(f"{what} add up to {total_fen / 100:,.2f} yuan, more than the calculator can "
                         f"carry exactly ({SAFE_FEN / 100:,.2f} yuan): split the batch")


# A quantity per line above this is a typo (a unit price typed into the quantity, a code in the
# wrong column): a year of daily doses of the most dosed drug is a few thousand units.
MAX_CNT = 100_000

# The years yibao works in: an accumulators year, a settlement period (`parse_period`), as a
# calendar year and `synth --year`. A period beyond them is a typo (9999-12), and a ledger
# reversal booked in it would be in a month no settlement ever reaches.
FIRST_YEAR, LAST_YEAR = 1900, 2200


# What an input workbook (.xlsx, a zip of XML parts) may unzip to, all its parts together, checked
# in the zip's directory before any part is unzipped (`yibao.workbook_zip`). A zip bomb, 24 MB
# whose shared strings unzip to 5.5 GB, was scored for 56 s in 16 GB. Measured on synth's data:
# a sheet of lines at Excel's last row (1,048,575 lines, 10 columns) unzips to 365 MB as
# `score --format xlsx` writes it (inline text; 306 MB with shared strings, as Excel writes it),
# and with the claims of that month (90,000) the workbook to 425 MB, scored in 1.4 GB.
# 4 GB leaves room for sheets ten times as wide (columns yibao does not read come along); a
# larger workbook is better saved as CSV or Parquet, or the bound raised with
# `YIBAO_MAX_XLSX_GB` (a bomb at the bound still costs what a real workbook that size would).
# Shared strings have no bound of their own: calamine keeps each in about 55 bytes (3 million of
# 22 bytes of XML: 164 MB), so short ones cost about 3 times their XML, as a real workbook does
# (the 425 MB one: read in 1.07 GB, scored in 1.4 GB). A yibao month's are few (codes, ids: a
# few MB), but a notes column of long distinct texts makes them larger than the sheets, so no
# share of the bound, nor a count against the cells, would refuse bombs only.
ENV_MAX_XLSX: str = "YIBAO_MAX_XLSX_GB"
DEFAULT_MAX_XLSX_GB = 4
CEILING_XLSX_GB = 1_000
GB = 10**9

# One shared string of a workbook, and one row of a sheet, in bytes of their XML
# (`yibao.workbook_zip`, `yibao.io.check_sheet`). Excel holds at most 32,767 characters in a
# cell; 16 MB is 500 bytes of XML for each of them (escapes, rich text runs), and no cell or row
# of a table is near it. calamine took 1.09 GB for a shared string of 300 MB, 1.1 GB for a cell
# of 300 MB written in its sheet.
MAX_XLSX_TEXT_BYTES = 16 * 10**6

# A workbook's own parts (`yibao.workbook_zip.BOOK_PARTS`): xl/workbook.xml lists its sheets and
# names, and its relationships say which part holds each. Excel writes them in 1-2 kB (our
# 8-sheet batch: 1.8 kB and 1.5 kB); 16 MB is 100,000 defined names of 160 bytes, far more than
# the worst workbooks bloated by copied names hold. Both are read whole by calamine (its sheets
# and names kept), so a bomb there cost its size however the 4 GB bound was spent.
MAX_XLSX_BOOK_BYTES = 16 * 10**6

# A workbook's styles (`yibao.workbook_zip.STYLES`), which calamine reads as it opens the workbook
# (which numbers are dates): Excel holds at most 65,430 cell formats ([MS-OI29500] 2.1.727), and
# that many, each with a font, fill, border and named style of its own, written as verbosely as
# Excel writes them, take 57 MB (our outputs': 3 kB). calamine keeps the number formats it reads
# (72 MB of them took 223 MB) and holds a text or tag whole (one of 100 MB: 196 MB), so a bomb
# there cost two or three times its size however the 4 GB bound was spent.
MAX_XLSX_STYLES_BYTES = 128 * 10**6


def max_xlsx_bytes() -> int:
    """The bound on what a workbook's parts unzip to, from the environment."""
    return int(_from_environment(ENV_MAX_XLSX, DEFAULT_MAX_XLSX_GB, CEILING_XLSX_GB, "GB") * GB)
