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
    text = os.environ.get(ENV_MAX_LINE, "").strip()
    if not text:
        return float(DEFAULT_MAX_LINE_YUAN)
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= CEILING_YUAN:
        raise InputError(f"{ENV_MAX_LINE}={text!r}: a number of yuan above 0 and at most {CEILING_YUAN:,}")
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
