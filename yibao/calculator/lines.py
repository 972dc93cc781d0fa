"""Per-line arithmetic (docs/domain.md §4.1): amount, audit edits, catalogue split.

The split is computed twice through the same function: the *audited* view (violations leave
the line first) that the funds pay, and the *declared* view (edits off) that a hospital settled
at discharge; their difference is what the institution bears (`hosp_part_amt`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numba
import numpy as np
import pandas as pd

from yibao.calculator.audit import AuditClaims, LineViolations, _half_up, find_violations
from yibao.compiled import kernel
from yibao.calculator.catalogue import CatalogueArrays, day_numbers, level_codes
from yibao.calculator.dates import day_array
from yibao.money import BP, FEN
from yibao.tariffs.catalogue import NO_LIMIT, NO_SHARE
from yibao.codes import factorize, text_rank

SPLIT_FIELDS = ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")
SHARE_FIELDS = ("share_selfpay_amt", "share_fund_amt")
"""Of the in-policy amount, the parts of items with a fixed person share (the catalogue's
`person_share`): the person's share, and what the basic fund pays directly."""

Rows = slice | np.ndarray
"""Lines of a batch: a run of rows (a block's inputs are views of the batch's) or ascending rows."""


@dataclass(frozen=True)
class LineInputs:
    """The lines as the arithmetic reads them: numbers and integer codes, no per-line text.

    Built once per batch; a tariff version's lines are a `take` of it. Text columns become codes
    here because per-row strings are what make pandas slow at ten million lines.
    """

    claim_pos: np.ndarray  # int64 row of the claim
    rank: np.ndarray  # int32 order of the line within its claim (line ids sorted)
    item: np.ndarray  # int32 code of med_list_codg into `items`
    items: pd.Series  # distinct med_list_codg
    service: np.ndarray  # datetime64[D]
    level: np.ndarray  # int8 inline chrgitm_lv (LEVELS code)
    pric: np.ndarray  # float64 yuan, and the rest as given (NaN: not given)
    cnt: np.ndarray
    given_amount: np.ndarray
    selfpay_prop: np.ndarray
    price_cap: np.ndarray

    @classmethod
    def of(cls, lines: pd.DataFrame, claim_pos: np.ndarray) -> LineInputs:
        item, items = factorize(lines["med_list_codg"], np.int32)

        def floats(col: str) -> np.ndarray:  # a view of a float64 column, not a copy
            values = lines[col]
            return values.to_numpy() if values.dtype == np.float64 else values.to_numpy(np.float64, na_value=np.nan)

        return cls(claim_pos=np.asarray(claim_pos, dtype=np.int64), rank=text_rank(lines["line_id"], np.int32),
                   item=item, items=items, service=day_array(lines["service_date"]),
                   level=level_codes(lines["chrgitm_lv"]).astype(np.int8), pric=floats("pric"), cnt=floats("cnt"),
                   given_amount=floats("det_item_fee_sumamt"), selfpay_prop=floats("selfpay_prop"),
                   price_cap=floats("pric_uplmt_amt"))

    def take(self, rows: Rows) -> LineInputs:
        return LineInputs(**{f.name: getattr(self, f.name) if f.name == "items" else getattr(self, f.name)[rows]
                             for f in fields(self)})


@dataclass(frozen=True)
class LineItems:
    """What the catalogue (and the line's inline overrides) say about each line."""

    amount: np.ndarray  # fen
    pric: np.ndarray  # fen
    cnt_milli: np.ndarray
    listed: np.ndarray  # bool: in the catalogue on the service date (or given a level inline)
    level: np.ndarray  # LEVELS code: 1 甲, 2 乙, 3 丙
    share_bp: np.ndarray  # 乙类 pre-self-pay share
    cap: np.ndarray  # unit price cap, fen (NO_LIMIT: none)
    cat_pos: np.ndarray  # catalogue row, -1 when not listed
    person_bp: np.ndarray  # fixed person share (NO_SHARE: none)


@kernel
def _resolve(pos: np.ndarray, next_row: np.ndarray, item: np.ndarray, service: np.ndarray,
             inline_level: np.ndarray, pric: np.ndarray, cnt: np.ndarray, given_amount: np.ndarray,
             selfpay_prop: np.ndarray, price_cap: np.ndarray, valid_from: np.ndarray, valid_to: np.ndarray,
             cat_level: np.ndarray, cat_share: np.ndarray, cat_cap: np.ndarray,
             cat_person: np.ndarray) -> tuple:  # pragma: no cover - compiled
    """Per line (`pos[item]`: its code's first catalogue row, -1 none, `next_row` the code's
    further rows; days as integers) what `LineItems` holds: an inline value where the line gives
    one (not NaN), else the catalogue's where the item is listed on the service date, by the row
    in force that day; a row out of its period lends nothing (no level, share, kind or cap), so a
    line given a level inline on a day its code is not listed reads only what it gives. Yuan to fen and quantities to milli-units are the nearest integers, as
    `yuan_array_to_fen`; the amount is price × quantity rounded half-up."""
    n = len(item)
    amount, pric_fen, cnt_milli = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    listed, level, share = np.empty(n, np.bool_), np.empty(n, np.int64), np.empty(n, np.int64)
    cap, cat_pos, person = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    for i in range(n):
        p, k = pos[item[i]], -1
        while p >= 0 and k < 0:
            k = p if valid_from[p] <= service[i] and service[i] <= valid_to[p] else -1
            p = next_row[p]
        cat_pos[i] = k
        valid = k >= 0
        inline = inline_level[i]
        level[i] = inline if inline > 0 else (cat_level[k] if valid else 3)
        listed[i] = valid or inline > 0
        if not np.isnan(selfpay_prop[i]):
            share[i] = np.int64(np.rint(selfpay_prop[i] * BP))
        else:  # off the catalogue that day (given a level inline): no row in force, no kind, no share
            share[i] = cat_share[k] if valid else 0
        if not np.isnan(price_cap[i]):
            cap[i] = np.int64(np.rint(price_cap[i] * FEN))
        else:
            cap[i] = cat_cap[k] if valid else NO_LIMIT
        pric_fen[i] = np.int64(np.rint(pric[i] * FEN))
        cnt_milli[i] = np.int64(np.rint(cnt[i] * 1000))
        if not np.isnan(given_amount[i]):
            amount[i] = np.int64(np.rint(given_amount[i] * FEN))
        else:
            amount[i] = _half_up(pric_fen[i] * cnt_milli[i], 1000)
        person[i] = cat_person[k] if valid else NO_SHARE
    return amount, pric_fen, cnt_milli, listed, level, share, cap, cat_pos, person


def resolve_items(li: LineInputs, cat: CatalogueArrays) -> LineItems:
    return LineItems(*_resolve(cat.item_rows, cat.next_row, li.item, day_numbers(li.service), li.level, li.pric,
                               li.cnt, li.given_amount, li.selfpay_prop, li.price_cap, cat.valid_from, cat.valid_to,
                               cat.level, cat.share_bp, cat.price_cap, cat.person_bp))


@numba.njit(inline="always")
def _split_line(amount: int, pric: int, cnt_milli: int, listed: bool, level: int, share_bp: int, cap: int,
                person_bp: int, violation_qty: int, violation_amt: int, waive: bool) -> tuple:  # pragma: no cover
    """Catalogue split of what is left of one line after its violating part (§4.1 steps 3–6):
    (fulamt_ownpay, overlmt_selfpay, preselfpay, inscp_scp, share_selfpay, share_fund), fen.

    An item with a fixed person share has no pre-self-pay: its covered amount is in policy, of
    which the person's share (one half-up rounding per line) and the basic fund's direct part."""
    rest = amount - violation_amt
    if not listed or level == 3:
        return rest, 0, 0, 0, 0, 0
    over_unit = max(pric - min(cap, pric), 0)
    overcap = min(_half_up(over_unit * (cnt_milli - violation_qty), 1000), rest)
    base = rest - overcap
    if person_bp != NO_SHARE:
        person = _half_up(base * max(person_bp, 0), BP)  # mul_bp
        return 0, overcap, 0, base, person, base - person
    pre = _half_up(base * share_bp, BP) if level == 2 and not waive else 0
    return 0, overcap, pre, base - pre, 0, 0


@kernel
def _split_lines(rows: np.ndarray, claim_pos: np.ndarray, amount: np.ndarray, pric: np.ndarray,
                 cnt_milli: np.ndarray, listed: np.ndarray, level: np.ndarray, share_bp: np.ndarray,
                 cap: np.ndarray, person_bp: np.ndarray, violation_qty: np.ndarray, violation_amt: np.ndarray,
                 edit_amt: np.ndarray, waive: np.ndarray, out: tuple, sums: np.ndarray, declared: np.ndarray,
                 taken: np.ndarray) -> None:  # pragma: no cover
    """Both views of the lines of one block, in one pass, with no temporaries: each line's
    audited split into `out` (LINE_FIELDS, at the line's batch row `rows[j]`), added to its
    claim's `sums` (LINE_FIELDS × claims), its declared split (edits off: what the hospital drew
    at discharge) to its claim's `declared` (in-policy amount, then SHARE_FIELDS), and what each
    edit took of it (`edit_amt`, EDIT_CODES × lines) to its claim's `taken`."""
    for j in range(len(rows)):
        i, c = rows[j], claim_pos[j]
        for e in range(edit_amt.shape[0]):
            taken[e, c] += edit_amt[e, j]
        audited = _split_line(amount[j], pric[j], cnt_milli[j], listed[j], level[j], share_bp[j], cap[j],
                              person_bp[j], violation_qty[j], violation_amt[j], waive[c])
        values = (amount[j], audited[0], audited[1], audited[2], audited[3], violation_amt[j],
                  audited[4], audited[5])
        for f in range(len(values)):
            out[f][i] = values[f]
            sums[f, c] += values[f]
        full = _split_line(amount[j], pric[j], cnt_milli[j], listed[j], level[j], share_bp[j], cap[j],
                           person_bp[j], 0, 0, waive[c])
        declared[0, c] += full[3]
        declared[1, c] += full[4]
        declared[2, c] += full[5]


def audit_lines(li: LineInputs, claims: AuditClaims, cat: CatalogueArrays) -> tuple[LineItems, LineViolations]:
    """What the catalogue says of each line and what the audit edits take: the part of the line
    pass that needs no rule conclusion (so it can run while the rules are still concluding)."""
    items = resolve_items(li, cat)
    checked = (items.cat_pos >= 0) & ((items.level == 1) | (items.level == 2))
    return items, find_violations(li.claim_pos, li.rank, li.service, li.item, claims, items.cat_pos,
                                  cat, checked, items.amount, items.cnt_milli)


def split_lines(li: LineInputs, rows: Rows, audited: tuple[LineItems, LineViolations],
                waive_preselfpay: np.ndarray, out: tuple[np.ndarray, ...], sums: np.ndarray,
                declared: np.ndarray, taken: np.ndarray) -> None:
    """Both views of a block of lines (`li`, one tariff version's, at batch rows `rows`) from
    what `audit_lines` made of them: the audited split into `out` and, per claim (`li.claim_pos`),
    into `sums` (LINE_FIELDS), the declared split into `declared` (in-policy, SHARE_FIELDS) and
    what each edit took into `taken` (EDIT_CODES)."""
    items, violations = audited
    rows = np.arange(rows.start, rows.stop) if isinstance(rows, slice) else rows
    _split_lines(rows, li.claim_pos, items.amount, items.pric, items.cnt_milli, items.listed, items.level,
                 items.share_bp, items.cap, items.person_bp, violations.qty_milli, violations.amount_fen,
                 violations.taken, waive_preselfpay, out, sums, declared, taken)
