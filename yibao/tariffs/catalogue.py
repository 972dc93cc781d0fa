"""The medical insurance catalogue (医保目录): item level, pre-self-pay share, price cap, restrictions.

Held as a CSV beside the tariff versions so policy staff can edit it in a spreadsheet. Loading
turns it into a frame with integer fen and basis-point columns that the calculator joins to
claim lines by code. Columns:

- `code`, `name`, `kind` (drug / service / material / bed; bed items are checked against the stay)
- `level` (`chrgitm_lv`): 01 甲类 fully in policy, 02 乙类 after a pre-self-pay share, 03 丙类 self-paid
- `selfpay_prop`: the 乙类 share (empty: the tariff's `preselfpay_by_kind`)
- `price_cap` (限价, yuan per unit; empty: none)
- restrictions: `gender` (F/M), `age_from` (inclusive) / `age_below` (exclusive) in years,
  `min_level` of the institution, `inpatient_only`, `max_per_day`, `indications`
  (`;`-separated ICD-10 prefixes or three-character ranges such as `K70-K77`)
- `valid_from`, `valid_to`: when the item is in the catalogue (empty: always)
- `person_share` (optional column): an item of which this fixed share of the covered amount is
  the person's and the rest is paid by the basic fund directly, outside the claim's deductible
  and ratio (e.g. an imported implant); empty: none

A line reads some columns only at some levels (`READ_AT`): a file giving one where its item's
level never reads it is refused, and so is a `--set` edit giving one (yibao/tariffs/edit.py),
both by `not_read`: such a value told policy staff the item had a share or a cap it never had.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import InvalidOperation
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from yibao.errors import InputError, cut_within, quoted, shortened, shortened_path
from yibao.money import ratio_to_bp, yuan_to_fen
from yibao.tariffs.model import MAX_TARIFF_YUAN

COLUMNS = ["code", "name", "kind", "level", "selfpay_prop", "price_cap", "gender", "age_from",
           "age_below", "min_level", "inpatient_only", "max_per_day", "indications",
           "valid_from", "valid_to"]
KINDS = {"drug", "service", "material", "bed"}
LEVELS = {"01", "02", "03"}
OPTIONAL_COLUMNS = ["person_share"]
"""Columns a catalogue may leave out: read as empty, so older files and edits keep working."""
CONTROL = r"[\x00-\x1f\x7f]"
"""Characters a code must not hold: control characters, NUL among them."""
ITEM_TERMS = ("kind", "selfpay_prop", "price_cap", "gender", "age_from", "age_below", "min_level",
              "inpatient_only", "max_per_day", "indications", "person_share")
"""The columns that say how an item in policy (甲类 01, 乙类 02) is paid or audited."""
READ_AT: dict[str, tuple[str, ...]] = {
    "selfpay_prop": ("02",),
    **{column: ("01", "02") for column in ITEM_TERMS if column != "selfpay_prop"},
}
"""Per column the item levels a line reads it at: a 甲类 item has no pre-self-pay, and a 丙类
item is self-paid whole, never capped, audited or shared (calculator/lines.py `_split_line`,
`audit_lines`). Other columns are read at every level."""
LEVEL_NAMES = {"01": "甲类 (01), in policy whole", "03": "丙类 (03), self-paid whole"}
"""The levels an item is at where a column is not read."""
NO_VALUE = {"inpatient_only": "false"}
"""A cell that says no more than an empty one: an item not limited to inpatient care."""
NO_LIMIT = np.iinfo(np.int64).max
NO_SHARE = -1
"""`person_share_bp` of an item without a fixed person share."""
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
"""How a day cell is written. numpy reads much else as a day: `2025-06` as June 1 (a `valid_to`
that ended the item a month early), `today` as the day of the run, `NaT` as never."""


Names = Callable[[int, str | None], str]
"""How the messages about an edited catalogue name a cell (by its row's index and its column) or,
column None, an item: as `--set` names it (yibao/tariffs/edit.py)."""


@dataclass(frozen=True)
class Cells:
    """Where a message says a faulty cell is: the file's row (the header is row 1) and column, or
    in an edited catalogue the entry as the edit typed it (`names`): the file's row is one the
    user never edited, and no edit names items by rows. A long value, or the path an edit typed,
    is cut (`quoted`, `shortened_path`), where `why` repeats the value too (`cut_within`): a
    5,000-character cell made a 5,000-character line, 10,000 where the reason quoted it again."""

    path: Path
    names: Names | None = None

    def error(self, i: int, column: str, value: object, why: str) -> InputError:
        told = f"{quoted(value)}: {cut_within(why, value)}"
        if self.names is None:
            return InputError(told, file=str(self.path), row=i + 2, column=column)
        return InputError(f"{shortened_path(self.names(i, column))}: {told}")

    def item(self, i: int) -> str:
        """Another item a message points to: `on row 11`, or `as catalogue[code=S-CT]`."""
        return f"on row {i + 2}" if self.names is None else f"as {shortened_path(self.names(i, None))}"


def _refuse_first(cells: Cells, df: pd.DataFrame, bad: pd.Series, column: str, why: str) -> None:
    """Raise for the first row flagged in `bad`, if any."""
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise cells.error(i, column, df[column].iat[i], why)


def _refuse_overlaps(cells: Cells, df: pd.DataFrame, start: np.ndarray, end: np.ndarray) -> None:
    """A code listed for several periods must not list one day twice: a line on that day would be
    priced by whichever row comes first in the file. Sorted by code and start, an overlap is
    always between neighbours."""
    order = np.lexsort((start, df["code"].to_numpy()))
    codes = df["code"].to_numpy()[order]
    clash = np.flatnonzero((codes[1:] == codes[:-1]) & (start[order][1:] <= end[order][:-1]))
    if len(clash):
        later, earlier = int(order[clash[0] + 1]), int(order[clash[0]])
        period = f"{df['valid_from'].iat[earlier] or 'always'} to {df['valid_to'].iat[earlier] or 'open'}"
        raise cells.error(later, "valid_from", df["valid_from"].iat[later],
                          f"{shortened(codes[clash[0]])} is listed {cells.item(earlier)} too, {period}: "
                          "the periods of one code must not overlap")


def _convert(cells: Cells, df: pd.DataFrame, column: str, fn, default):  # type: ignore[no-untyped-def]
    out = []
    for i, v in enumerate(df[column]):
        if v == "":
            out.append(default)
            continue
        try:
            out.append(fn(v))
        except InvalidOperation:  # Decimal's own error carries no readable message
            raise cells.error(i, column, v, "not a number") from None
        except (ValueError, ArithmeticError) as exc:
            raise cells.error(i, column, v, str(exc)) from None
    return out


def not_read(column: str, level: str, cell: str) -> tuple[str, tuple[str, ...]] | None:
    """Why `cell` of `column` says what no line of an item of `level` reads (`READ_AT`), with
    the levels that would read it; None when it is read, or says nothing (empty, `NO_VALUE`)."""
    levels = READ_AT.get(column, (level,))
    if level in levels or cell in ("", NO_VALUE.get(column)):
        return None
    return (f"{column} is read only for items of level {' or '.join(levels)}, and this item is "
            f"{LEVEL_NAMES[level]}", levels)


def _refuse_not_read(cells: Cells, df: pd.DataFrame) -> None:
    """Refuse the first cell (column by column) no line of its item reads. Every item has a kind,
    whatever its level (the column is required), so `kind` is left to the edits' check."""
    for column in (c for c in READ_AT if c != "kind"):
        pairs = pd.MultiIndex.from_frame(df[["level", column]])  # asked once per distinct (level, cell)
        refused = {pair: why for pair in pairs.unique() if (why := not_read(column, *pair))}
        if refused:
            i = int(np.flatnonzero(pairs.isin(list(refused)))[0])
            why, levels = refused[pairs[i]]
            raise cells.error(i, column, df[column].iat[i], f"{shortened(df['code'].iat[i])}: {why}: make its level "
                                                            f"{' or '.join(levels)}, or empty the cell")


def load_catalogue(path: Path) -> pd.DataFrame:
    """Read and validate a catalogue CSV; errors name file, row (1 = header) and column. A file
    giving a column its item's level does not read is refused (`not_read`); an edited catalogue
    is not, as an edit of an item's level (`level=03`) leaves what the item no longer reads."""
    text = read_catalogue_text(path)
    catalogue = parse_catalogue(text, path)
    _refuse_not_read(Cells(path), text)
    return catalogue


def read_catalogue_text(path: Path) -> pd.DataFrame:
    """The catalogue CSV as written, every cell text ("" when empty): what edits change. UTF-8
    (with or without Excel's BOM), else GB18030, as Excel on Chinese Windows saves a CSV."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
            break
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError:
            raise InputError(f"the catalogue is empty: it needs a header row ({', '.join(COLUMNS)})",
                             file=str(path)) from None
        except (OSError, pd.errors.ParserError) as exc:
            raise InputError(f"cannot read catalogue: {exc}", file=str(path)) from None
    else:
        raise InputError("the catalogue is neither UTF-8 nor GB18030 text", file=str(path))
    return text.assign(**{c: "" for c in OPTIONAL_COLUMNS if c not in text.columns})


def parse_catalogue(df: pd.DataFrame, path: Path, names: Names | None = None) -> pd.DataFrame:
    """Validate catalogue text (as read, or edited) into fen and basis-point columns. A faulty
    cell is named by the file's row and column, or by `names` (an edited catalogue)."""
    cells = Cells(path, names)
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"missing columns {missing}", file=str(path))
    if df.empty:  # every claim line would be refused as not in the catalogue
        raise InputError("the catalogue lists no item, only its header row: add the items below it", file=str(path))
    for column, allowed in (("kind", KINDS), ("level", LEVELS), ("gender", {"", "F", "M"}),
                            ("inpatient_only", {"", "true", "false"})):
        _refuse_first(cells, df, ~df[column].isin(allowed), column, f"must be one of {sorted(allowed)}")
    _refuse_first(cells, df, df["code"].str.strip() == "", "code", "must not be empty")
    # invisible in a spreadsheet: `A-AMOX` and `A-AMOX\x00` look alike, and no claim line's code matched
    _refuse_first(cells, df, df["code"].str.contains(CONTROL, regex=True), "code",
                  "holds a control character (such as NUL), which no one sees: type the code again")
    _refuse_first(cells, df, df["code"].duplicated() & (df["valid_from"] == ""), "code", "defined twice")
    _refuse_first(cells, df, (df["person_share"] != "") & (df["selfpay_prop"] != ""), "person_share",
                  "give selfpay_prop or person_share, not both: the person share replaces the pre-self-pay")

    def ratio(v: str) -> int:
        bp = ratio_to_bp(v)
        if not 0 <= bp <= 10_000:
            raise ValueError("ratio outside [0, 1]")
        return bp

    def bounded(n: int, bound: int, shown: str) -> int:
        """A whole number no real item nears the bound of (it keeps a typo out of int64)."""
        if n < 0:
            raise ValueError("must not be negative")
        if n > bound:
            raise ValueError(f"above {shown}")
        return n

    def whole(v: str) -> int:
        """`int`, saying why in words of ours: its own repeat 200 characters of the cell, and
        for 5,000 digits name sys.set_int_max_str_digits."""
        try:
            return int(v)
        except ValueError:
            too_long = v.strip().lstrip("+-").isdecimal()
            raise ValueError("a number out of range" if too_long else "not a whole number") from None

    def nonneg_int(v: str) -> int:
        return bounded(whole(v), 10**9, f"{10**9:,}")

    def price(v: str) -> int:
        return bounded(yuan_to_fen(v), yuan_to_fen(MAX_TARIFF_YUAN), f"{MAX_TARIFF_YUAN:,} yuan")

    def level(v: str) -> int:
        n = whole(v)
        if not 1 <= n <= 4:
            raise ValueError("institution level must be 1 to 4")
        return n

    def indications(v: str) -> str:
        """Diagnosis codes or ranges (`K70;C00-C97`) as the audit reads them: an empty one matched
        every diagnosis, and `K70-K77-K99` stopped the audit."""
        for pattern in v.split(";"):
            bounds = pattern.strip().split("-")
            if not all(b.strip() for b in bounds) or len(bounds) > 2:
                raise ValueError(f"{quoted(pattern.strip())} is neither a code nor a range LOW-HIGH (K70, C00-C97)")
            if len(bounds) == 2 and bounds[0].strip().upper() > bounds[1].strip().upper():
                raise ValueError(f"the range {shortened(pattern.strip())} ends before it starts")
        return v

    def day(v: str) -> np.datetime64:
        if DAY.fullmatch(v):
            try:
                return np.datetime64(v, "D")
            except ValueError:  # 2025-02-30
                pass
        raise ValueError("not a date: write YYYY-MM-DD")

    _convert(cells, df, "indications", indications, "")  # checked: the audit reads the text
    valid_from = np.array(_convert(cells, df, "valid_from", day, np.datetime64("1900-01-01")), dtype="datetime64[D]")
    valid_to = np.array(_convert(cells, df, "valid_to", day, np.datetime64("2999-12-31")), dtype="datetime64[D]")
    _refuse_overlaps(cells, df, valid_from, valid_to)
    return pd.DataFrame({
        "code": df["code"],
        "name": df["name"],
        "kind": df["kind"],
        "level": df["level"],
        "selfpay_bp": pd.array(_convert(cells, df, "selfpay_prop", ratio, None), dtype="Int64"),
        "price_cap_fen": np.array(_convert(cells, df, "price_cap", price, NO_LIMIT), dtype=np.int64),
        "gender": df["gender"],
        "age_from": np.array(_convert(cells, df, "age_from", nonneg_int, 0), dtype=np.int64),
        "age_below": np.array(_convert(cells, df, "age_below", nonneg_int, 999), dtype=np.int64),
        "min_level": np.array(_convert(cells, df, "min_level", level, 0), dtype=np.int64),
        "inpatient_only": (df["inpatient_only"] == "true").to_numpy(),
        "max_per_day_milli": np.array(
            _convert(cells, df, "max_per_day", lambda v: nonneg_int(v) * 1000, NO_LIMIT), dtype=np.int64),
        "indications": df["indications"],
        "valid_from": valid_from,
        "valid_to": valid_to,
        "person_share_bp": np.array(_convert(cells, df, "person_share", ratio, NO_SHARE), dtype=np.int64),
    })
