"""What each fund pays for a set of claims, given what their persons used before (§4.2 steps 2–7).

This is the one implementation of the claim arithmetic: the scan calls it for every person's
k-th claim at once, and a what-if case is a scan of one step. Integer fen throughout; each
rounding is the single half-up the spec names for that amount.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yibao.calculator.terms import FUND_HIFMI, FUND_HIFOB, POOLS, TermArrays
from yibao.money import BP, div_half_up
from yibao.tariffs.catalogue import NO_LIMIT

INPATIENT = POOLS.index("inpatient")


@dataclass
class Used:
    """Accumulators of the claims' person-years before the claims (a view of the scan state)."""

    paid: np.ndarray  # [m, slots] fen, per pool accumulator (inpatient, outpatient, prenatal, chronic…)
    ded_used: np.ndarray  # [m, DED_SLOTS] annual deductibles used (inpatient, outpatient, chronic)
    covered: np.ndarray  # inpatient in-policy amounts counted against a cap on covered fees
    admissions: np.ndarray
    cat_base: np.ndarray
    cat_paid: np.ndarray
    maf_ded_used: np.ndarray
    maf_paid: np.ndarray
    month: np.ndarray  # month index of month_paid, -1 none
    month_paid: np.ndarray


def banded(lo: np.ndarray, hi: np.ndarray, bounds: np.ndarray, bps: np.ndarray,
           steps: dict[str, np.ndarray] | None, name: str) -> np.ndarray:
    """Σ over bands of (part of [lo, hi] inside the band) × ratio, rounded half-up once.

    The sum runs band by band and each running sum is rounded: the last one is the total, and the
    differences are what each band adds, so a trace's band amounts (recorded in `steps` when
    tracing, with each band's base) add up to the total exactly and are the same arithmetic."""
    lower = np.concatenate([np.zeros((len(lo), 1), dtype=np.int64), bounds[:, :-1]], axis=1)
    seg = np.maximum(np.minimum(hi[:, None], bounds) - np.maximum(lo[:, None], lower), 0)
    running = div_half_up(np.cumsum(seg * bps, axis=1), BP)
    if steps is not None:
        steps[f"{name}_base"] = seg
        steps[f"{name}_amt"] = np.diff(running, axis=1, prepend=0)
    return running[:, -1]


def _left(cap: np.ndarray, used: np.ndarray) -> np.ndarray:
    return np.where(cap == NO_LIMIT, NO_LIMIT, np.maximum(cap - used, 0))


def _tier_value(burden: np.ndarray, t: TermArrays, steps: dict[str, np.ndarray] | None = None,
                name: str = "") -> np.ndarray:
    """R(F(burden)): the catastrophic tier function, rounded half-up to the fen."""
    lo = np.where(t.cat_above_threshold != 0, 0, t.cat_threshold)
    hi = np.where(t.cat_above_threshold != 0, burden - t.cat_threshold, burden)
    return banded(lo, np.maximum(hi, lo), t.cat_bounds, t.cat_bps, steps, name)


def _row(matrix: np.ndarray, slot: np.ndarray) -> np.ndarray:
    return np.where(slot >= 0, matrix[np.arange(len(slot)), np.maximum(slot, 0)], 0)


CAP_ANNUAL, CAP_CLAIM, CAP_MONTHLY, CAP_COVERED = 1, 2, 3, 4
"""Which limit cut the basic fund (`_hifp_cap`): the annual (or disease) cap, the claim's quota,
the monthly cap, or the annual cap on covered amounts; 0: none."""


def pay(inscp: np.ndarray, month: np.ndarray, t: TermArrays, used: Used,
        trace: bool = False, shares: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Deductible, basic pool, catastrophic/large-amount and assistance for each claim.

    `shares` [m, 2]: of `inscp`, the person's part and the fund's direct part of items with a
    fixed person share; they pass by the deductible and the bands, the direct part is added to
    the basic fund (within its limits or outside them, `share_in_caps`), and the person's part
    stays in the burden that catastrophic insurance and assistance see.

    Besides the amounts, what each fund would have paid before its cap (`_*_uncapped`) and which
    limit cut the basic fund: the reasons name an exhausted cap. With `trace`, the `_t_*` arrays
    hold every step (bases, band and tier amounts, limits) that `trace.py` turns into rows."""
    steps: dict[str, np.ndarray] | None = {} if trace else None
    pool = t.pool
    shares = np.zeros((len(inscp), 2), np.int64) if shares is None else shares
    direct = np.where(pool > 0, shares[:, 1], 0)
    in_caps = t.share_in_caps != 0
    banded_inscp = inscp - shares[:, 0] - shares[:, 1]  # what the deductible and the bands see
    # Deductible: per admission (reduced after the first) or what is left of an annual one.
    per_claim = np.where((pool == INPATIENT) & (used.admissions > 0), t.ded_repeat, t.ded_first)
    annual_left = np.maximum(per_claim - _row(used.ded_used, t.ded_slot), 0)
    ded_limit = np.where(t.ded_slot >= 0, annual_left, per_claim)
    ded = np.minimum(ded_limit, banded_inscp)
    ded = np.where(pool > 0, ded, 0)

    # Basic pool: banded ratio on the in-policy amount above the deductible, then the caps.
    above = t.above_deductible != 0
    lo = np.where(above, 0, ded)
    hi = np.where(above, banded_inscp - ded, banded_inscp)
    covered_cap = t.cap_on_covered != 0
    covered_left = _left(t.cap, used.covered)
    clipped = covered_cap & (hi - lo > covered_left)
    hi = np.where(clipped, lo + covered_left, hi)  # no NO_LIMIT + lo overflow
    raw = banded(lo, hi, t.bounds, t.bps, steps, "_t_band")
    cap_left = np.where(covered_cap | (t.paid_slot < 0), NO_LIMIT, _left(t.cap, _row(used.paid, t.paid_slot)))
    month_used = np.where(used.month == month, used.month_paid, 0)
    capped = raw + np.where(in_caps, direct, 0)
    limits = np.stack([capped, cap_left, t.claim_cap, _left(t.monthly_cap, month_used)])
    binding = limits.argmin(axis=0)
    outside = np.where(in_caps, 0, direct)
    basic = np.where(pool > 0, limits[binding, np.arange(len(raw))], 0) + outside
    cap_kind = np.where(pool > 0, np.where(clipped, CAP_COVERED, binding), 0)

    # Catastrophic (residents) or large-amount (employees) on the yearly burden.
    has_cat = t.cat_fund != 0
    burden = np.where(has_cat, inscp - basic, 0)
    tier = _tier_value(used.cat_base + burden, t, steps, "_t_tier1") - _tier_value(used.cat_base, t, steps, "_t_tier0")
    cat_left = _left(t.cat_cap, used.cat_paid)
    cat = np.where(has_cat, np.minimum(tier, cat_left), 0)

    # Medical assistance (医疗救助) on what remains of the in-policy amount.
    has_maf = t.maf != 0
    base = np.where(has_maf, inscp - basic - cat, 0)
    maf_ded = np.minimum(base, np.maximum(t.maf_ded - used.maf_ded_used, 0))
    maf_raw = banded(np.zeros_like(base), base - maf_ded, t.maf_bounds, t.maf_bps, steps, "_t_layer")
    maf_left = _left(t.maf_cap, used.maf_paid)
    maf = np.where(has_maf, np.minimum(maf_raw, maf_left), 0)

    covered_add = np.where(covered_cap, np.maximum(hi - lo, 0), 0)
    return {
        "act_pay_dedc": ded, "hifp_pay": basic,
        "hifmi_pay": np.where(t.cat_fund == FUND_HIFMI, cat, 0),
        "hifob_pay": np.where(t.cat_fund == FUND_HIFOB, cat, 0),
        "maf_pay": maf, "fund_pay_sumamt": basic + cat + maf,
        "_burden": burden, "_cat": cat, "_maf_ded": maf_ded, "_covered": covered_add,
        "_hifp_uncapped": np.where(pool > 0, raw + direct, 0), "_hifp_cap": cap_kind, "_share_outside": outside,
        "_cat_uncapped": np.where(has_cat, tier, 0), "_maf_uncapped": np.where(has_maf, maf_raw, 0),
    } | ({} if steps is None else steps | {
        "_t_ded_limit": ded_limit, "_t_hifp_limit": np.where(clipped, covered_left, limits[binding, np.arange(len(raw))]),
        "_t_cat_limit": cat_left, "_t_maf_base": base, "_t_maf_limit": maf_left})


def advance(used: Used, out: dict[str, np.ndarray], t: TermArrays, month: np.ndarray) -> Used:
    """The accumulators after the claims (audited view only)."""
    m = len(month)
    rows = np.arange(m)
    paid = used.paid.copy()
    has_slot = t.paid_slot >= 0
    counted = out["hifp_pay"] - out["_share_outside"]  # what the basic fund's limits count
    paid[rows[has_slot], t.paid_slot[has_slot]] += counted[has_slot]
    ded_used = used.ded_used.copy()
    has_ded = t.ded_slot >= 0
    ded_used[rows[has_ded], t.ded_slot[has_ded]] += out["act_pay_dedc"][has_ded]
    same_month = used.month == month
    tracks_month = t.monthly_cap != NO_LIMIT
    return Used(
        paid=paid,
        ded_used=ded_used,
        covered=used.covered + out["_covered"],
        admissions=used.admissions + (t.pool == INPATIENT).astype(np.int64),
        cat_base=used.cat_base + out["_burden"],
        cat_paid=used.cat_paid + out["_cat"],
        maf_ded_used=used.maf_ded_used + out["_maf_ded"],
        maf_paid=used.maf_paid + out["maf_pay"],
        month=np.where(tracks_month, month, used.month),
        month_paid=np.where(tracks_month,
                            np.where(same_month, used.month_paid, 0) + counted,
                            used.month_paid),
    )
