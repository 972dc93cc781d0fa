"""Claims in settlement order with annual accumulators (按结算顺序累计).

Caps, deductibles and catastrophic tiers depend on what a person used earlier in the year, so
claims are paid in order (person, year, settlement date, `mdtrt_id`), each against its
person-year's accumulators, by one compiled pass over the batch (`funds.settle`). This module
orders the claims, numbers the person-years, and carries their accumulators over from an
accumulators table of earlier batches and back out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from yibao.calculator.funds import OPEN_COVERED, OPEN_PAID, OPENING, Used, settle
from yibao.calculator.terms import (COV_CHRONIC, COV_OUTPATIENT, COV_SLOTS, DED_CHRONIC, DED_INPATIENT,
                                    DED_OUTPATIENT, DED_SLOTS, PAID_CHRONIC0, PAID_INPATIENT, PAID_OUTPATIENT,
                                    PAID_PRENATAL, TermArrays)
from yibao.codes import factorize, positions, text_column, text_rank
from yibao.money import fen_to_yuan, yuan_array_to_fen
from yibao.tables import LIST_SEP, amount_items

# accumulators-table column → (Used field, slot or None); all yuan except the counters
ACC_COLUMNS: dict[str, tuple[str, int | None]] = {
    "hifp_paid": ("paid", PAID_INPATIENT),
    "inpatient_admissions": ("admissions", None),
    "inpatient_deductible_used": ("ded_used", DED_INPATIENT),
    "inpatient_covered": ("covered", None),
    "outpatient_deductible_used": ("ded_used", DED_OUTPATIENT),
    "chronic_deductible_used": ("ded_used", DED_CHRONIC),
    "outpatient_paid": ("paid", PAID_OUTPATIENT),
    "outpatient_month": ("month", None),
    "outpatient_month_paid": ("month_paid", None),
    "catastrophic_base": ("cat_base", None),
    "catastrophic_paid": ("cat_paid", None),
    "maf_deductible_used": ("maf_ded_used", None),
    "maf_paid": ("maf_paid", None),
    "prenatal_paid": ("paid", PAID_PRENATAL),
    "large_amount_base": ("la_base", None),
    "large_amount_paid": ("la_paid", None),
    "maf_stage2_deductible_used": ("maf2_ded_used", None),
    "maf_stage2_paid": ("maf2_paid", None),
    "outpatient_covered": ("pool_covered", COV_OUTPATIENT),
    "outpatient_covered_month": ("pool_covered_key", COV_OUTPATIENT),
    "outpatient_covered_in_month": ("pool_covered_month", COV_OUTPATIENT),
    "chronic_covered": ("pool_covered", COV_CHRONIC),
    "chronic_covered_month": ("pool_covered_key", COV_CHRONIC),
    "chronic_covered_in_month": ("pool_covered_month", COV_CHRONIC),
}
MONTH_KEYS = {"outpatient_month_paid": "outpatient_month", "outpatient_covered_in_month": "outpatient_covered_month",
              "chronic_covered_in_month": "chronic_covered_month"}
"""A month's amount → the column holding its month (months since 1970-01; -1 none): the amount
counts only while a claim is settled in that month."""
COUNTERS = {"inpatient_admissions"} | set(MONTH_KEYS.values())
OPENED = {c: OPEN_PAID if ACC_COLUMNS[c][1] is None else OPEN_COVERED + ACC_COLUMNS[c][1] for c in MONTH_KEYS}
"""A month's amount → its place in a claim's opening (`funds.OPENING`)."""


def _empty_state(groups: int, diseases: int) -> Used:
    zeros = np.zeros(groups, dtype=np.int64)
    return Used(paid=np.zeros((groups, PAID_CHRONIC0 + diseases), dtype=np.int64),
                ded_used=np.zeros((groups, DED_SLOTS), dtype=np.int64), covered=zeros.copy(),
                admissions=zeros.copy(), cat_base=zeros.copy(), cat_paid=zeros.copy(),
                maf_ded_used=zeros.copy(), maf_paid=zeros.copy(),
                month=np.full(groups, -1, dtype=np.int64), month_paid=zeros.copy(),
                la_base=zeros.copy(), la_paid=zeros.copy(), maf2_ded_used=zeros.copy(), maf2_paid=zeros.copy(),
                pool_covered=np.zeros((groups, COV_SLOTS), dtype=np.int64),
                pool_covered_key=np.full((groups, COV_SLOTS), -1, dtype=np.int64),
                pool_covered_month=np.zeros((groups, COV_SLOTS), dtype=np.int64))


def parse_chronic(text: str) -> dict[str, int]:
    out = {}
    for code, amount in amount_items(text):
        out[code] = int(yuan_array_to_fen(np.array([float(amount)]))[0])
    return out


@dataclass(frozen=True)
class Groups:
    """The (psn_no, year) person-years of a batch and its accumulators, sorted; a group's number
    is its row here. Keys are integers (person rank × 10,000 + year): no text is sorted twice."""

    persons: pd.Series  # distinct psn_no, sorted
    keys: np.ndarray  # int64, sorted, unique

    @classmethod
    def of(cls, *frames: pd.DataFrame) -> tuple[Groups, np.ndarray]:
        """The person-years of the frames' rows, and each row's group (the frames' rows one after
        the other). Person numbers are hashed once (in Arrow when they are Arrow text) and only
        the distinct ones sorted."""
        columns = [f["psn_no"] for f in frames]
        arrow = all(isinstance(c.dtype, pd.StringDtype) and c.dtype.storage == "pyarrow" for c in columns)
        psn = pd.concat(columns if arrow else [c.astype(object) for c in columns], ignore_index=True)
        code, distinct = factorize(psn)
        rank_of = text_rank(distinct)
        persons = distinct.iloc[np.argsort(rank_of)].reset_index(drop=True)
        year = np.concatenate([f["year"].to_numpy(dtype=np.int64) for f in frames])
        key = rank_of[code] * YEARS + year
        keys, group = np.unique(key, return_inverse=True)
        return cls(persons, keys), group.reshape(-1)

    def find(self, frame: pd.DataFrame) -> np.ndarray:
        """The group of each row of a frame with psn_no and year (all in the groups)."""
        rank = positions(frame["psn_no"], self.persons)
        return np.searchsorted(self.keys, rank * YEARS + frame["year"].to_numpy(dtype=np.int64))

    def __len__(self) -> int:
        return len(self.keys)


YEARS = 10_000


def load_state(acc: pd.DataFrame, groups: Groups, diseases: list[str]) -> Used:
    """The state of every (psn_no, year) group from an accumulators table (missing → zero)."""
    state = _empty_state(len(groups), len(diseases))
    if acc.empty:
        return state
    pos = groups.find(acc)
    for column, (name, slot) in ACC_COLUMNS.items():
        if column not in acc:
            continue
        raw = acc[column].to_numpy(dtype=np.float64, na_value=np.nan)
        present = ~np.isnan(raw)
        values = np.rint(np.nan_to_num(raw)).astype(np.int64) if column in COUNTERS \
            else yuan_array_to_fen(np.nan_to_num(raw))
        target = getattr(state, name)
        rows = pos[present]
        if slot is None:
            target[rows] = values[present]
        else:
            target[rows, slot] = values[present]
    if "chronic_paid" in acc:
        slots = {code: i for i, code in enumerate(diseases)}
        for row, text in zip(pos, acc["chronic_paid"].fillna("").astype(str)):
            for code, amount in parse_chronic(text).items():
                if code in slots:
                    state.paid[row, PAID_CHRONIC0 + slots[code]] = amount
    return state


def state_table(state: Used, groups: Groups, diseases: list[str]) -> pd.DataFrame:
    """The accumulators table after the batch (yuan, like every amount column of the outputs)."""
    return state_frame(state, diseases, {"psn_no": text_column(groups.keys // YEARS, groups.persons.tolist()),
                                         "year": groups.keys % YEARS})


def state_frame(state: Used, diseases: list[str], keys: dict[str, object]) -> pd.DataFrame:
    """Rows of a state (one per group or per claim) as accumulators-table columns after `keys`."""
    data: dict[str, object] = dict(keys)
    for column, (name, slot) in ACC_COLUMNS.items():
        values = getattr(state, name)
        values = values if slot is None else values[:, slot]
        data[column] = values if column in COUNTERS else values / 100
    chronic = state.paid[:, PAID_CHRONIC0:]
    used = np.flatnonzero(chronic.any(axis=1))
    text = np.zeros(len(chronic), dtype=np.int64)
    texts = [""] + [LIST_SEP.join(f"{code}={fen_to_yuan(v)}" for code, v in zip(diseases, chronic[row]) if v)
                    for row in used.tolist()]
    text[used] = np.arange(1, len(used) + 1)
    data["chronic_paid"] = text_column(text, texts)
    return pd.DataFrame(data)


@dataclass(frozen=True)
class ScanResult:
    audited: dict[str, np.ndarray]
    declared_funds: np.ndarray  # fund_pay_sumamt of the declared view
    state: Used
    groups: Groups
    contributions: Used | None  # per claim, what it added to its person-year (when asked)


@dataclass(frozen=True)
class Order:
    """The settlement order of a batch's claims and their person-years' accumulators before it:
    all from the claims' keys and dates, nothing of the rules' conclusions, so it is made while
    those are still being concluded."""

    order: np.ndarray  # the claims by (person, year, settlement date, mdtrt_id)
    groups: Groups
    group: np.ndarray  # per claim its person-year
    month: np.ndarray  # per claim its settlement month (months since 1970-01)
    state: Used  # the accumulators of every person-year (from the accumulators table)
    opening: np.ndarray  # per claim what counted in its month before the batch (`funds.OPENING`)

    @classmethod
    def of(cls, claims: pd.DataFrame, acc: pd.DataFrame, diseases: list[str],
           months: pd.DataFrame | None = None) -> Order:
        """`claims` needs psn_no, year, setl_date and mdtrt_id; `months`: see `openings`."""
        setl = np.asarray(claims["setl_date"], dtype="datetime64[D]")
        groups, group = Groups.of(claims, acc) if not acc.empty else Groups.of(claims)
        group = group[:len(claims)]
        month = setl.astype("datetime64[M]").astype(np.int64)
        state = load_state(acc, groups, diseases)
        return cls(settlement_order(group, setl, claims["mdtrt_id"]), groups, group, month, state,
                   openings(state, groups, group, month, months))


MONTH_COLUMNS = ("psn_no", "year", "month", "column", "fen")
"""A table of what earlier batches counted in each month (the ledger's entries, one row or more
per person-year, month and month's amount): `column` names the amount (a MONTH_KEYS key),
`month` is months since 1970-01, `fen` the amount; rows of one month and amount add up."""


def openings(state: Used, groups: Groups, group: np.ndarray, month: np.ndarray,
             months: pd.DataFrame | None) -> np.ndarray:
    """Per claim (`group`, `month`) what counted in its month before the batch: from `months`
    (MONTH_COLUMNS) where it has the month, else from the accumulators where they hold it, else
    nothing. The accumulators hold one month per person-year, the latest, so without `months` a
    claim for an earlier month meets that month's caps unused."""
    opening = np.zeros((len(group), OPENING), np.int64)
    opening[:, OPEN_PAID] = np.where(state.month[group] == month, state.month_paid[group], 0)
    held = state.pool_covered_key[group] == month[:, None]
    opening[:, OPEN_COVERED:] = np.where(held, state.pool_covered_month[group], 0)
    if months is None or months.empty or not len(groups):
        return opening
    rank = positions(months["psn_no"], groups.persons)
    wanted = rank * YEARS + months["year"].to_numpy(dtype=np.int64)
    row = np.minimum(np.searchsorted(groups.keys, wanted), len(groups) - 1)
    known = (rank >= 0) & (groups.keys[row] == wanted)
    table_key = _month_key(row, months["month"].to_numpy(dtype=np.int64))
    claim_key = _month_key(group, month)
    fen = months["fen"].to_numpy(dtype=np.int64)
    for column, at in OPENED.items():
        rows = np.flatnonzero(known & (table_key >= 0) & (months["column"] == column).to_numpy())
        if not len(rows):
            continue
        keys, inverse = np.unique(table_key[rows], return_inverse=True)
        sums = np.zeros(len(keys), np.int64)
        np.add.at(sums, inverse.reshape(-1), fen[rows])
        where = np.minimum(np.searchsorted(keys, claim_key), len(keys) - 1)
        found = keys[where] == claim_key  # a claim without a month (-1) matches none
        opening[found, at] = sums[where[found]]
    return opening


def _month_key(group: np.ndarray, month: np.ndarray) -> np.ndarray:
    """One integer per (person-year, month); -1 for a month outside 1970-01 … 7431-04 (no date)."""
    inside = (month >= 0) & (month < 1 << 16)
    return np.where(inside, np.asarray(group, dtype=np.int64) << 16 | np.where(inside, month, 0), -1)


def settlement_order(group: np.ndarray, setl: np.ndarray, ids: pd.Series) -> np.ndarray:
    """The claims by (person-year `group`, settlement date `setl`, mdtrt_id `ids`). The two numbers
    are one sort key, and the ids decide only between claims of one person-year settled the same
    day, so only those are ranked by their ids (a few in a hundred; ranking all 850k ids of 10M
    lines, and a lexsort of the three, took 0.39 s)."""
    day = setl.view(np.int64)
    known = ~np.isnat(setl)
    first, last = (int(day[known].min()), int(day[known].max())) if known.any() else (0, 0)
    day = np.where(known, day - first, last - first + 1)  # NaT after every date, as NumPy sorts it
    key = np.asarray(group, dtype=np.int64) * (last - first + 2) + day  # < 10^9 claims × 2^18 days
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    tied = np.flatnonzero(sorted_key[1:] == sorted_key[:-1])
    if len(tied):
        at = np.union1d(tied, tied + 1)  # runs of equal keys: sorted by id within, in place
        rows = order[at]
        order[at] = rows[np.lexsort((text_rank(ids.iloc[rows]), sorted_key[at]))]
    return order


def run(order: Order, inscp_audited: np.ndarray, inscp_declared: np.ndarray, terms: TermArrays,
        diseases: list[str], *, contributions: bool = False, trace: bool = False,
        shares: tuple[np.ndarray, np.ndarray] | None = None) -> ScanResult:
    """Pay every claim in settlement order, advancing `order.state`.

    The declared view is paid from the same state as the audited one (it never advances it), and
    only where its in-policy amount differs: elsewhere it pays the same. `contributions`: also
    what each claim added to the accumulators (the ledger reverses a corrected claim with it):
    the scan's own advance applied to an empty state, so it is the same arithmetic. With `trace`
    the audited amounts include the steps of each claim's arithmetic (`funds.settle`). `shares`:
    per claim [n, 2] the fixed-share items' parts, audited and declared."""
    n = len(order.group)
    none = np.zeros((n, 2), np.int64)
    share_audited, share_declared = (none, none) if shares is None else shares
    added = _empty_state(n, len(diseases)) if contributions and n else None
    held = _months_held(order.state)
    audited, declared_funds = settle(order.order, order.group, order.month, order.opening,
                                     (inscp_audited, inscp_declared), (share_audited, share_declared), terms,
                                     order.state, added, trace)
    _keep_latest_months(order.state, held)
    return ScanResult(audited, declared_funds, order.state, order.groups, added)


def _months_held(state: Used) -> tuple[np.ndarray, ...]:
    return state.month.copy(), state.month_paid.copy(), state.pool_covered_key.copy(), state.pool_covered_month.copy()


def _keep_latest_months(state: Used, held: tuple[np.ndarray, ...]) -> None:
    """The accumulators after the batch hold each person-year's latest month: where the batch's
    last claim was for an earlier month (filed late), the month they held before stays."""
    month, paid, key, covered = held
    back = state.month < month
    state.month[back], state.month_paid[back] = month[back], paid[back]
    back = state.pool_covered_key < key
    state.pool_covered_key[back], state.pool_covered_month[back] = key[back], covered[back]
