"""What each fund pays for a set of claims, given what their persons used before (§4.2 steps 2–7).

This is the one implementation of the claim arithmetic: the scan calls it for every person's
k-th claim at once, and a what-if case is a scan of one step. Integer fen throughout; each
rounding is the single half-up the spec names for that amount.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yibao.calculator.terms import FUND_HIFMI, FUND_HIFOB, POOLS, TIER_BASES, TermArrays
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
    cat_base: np.ndarray  # the single tier fund's, or the catastrophic one's when there are two
    cat_paid: np.ndarray
    maf_ded_used: np.ndarray  # the first assistance stage's
    maf_paid: np.ndarray  # every stage's
    month: np.ndarray  # month index of month_paid, -1 none
    month_paid: np.ndarray
    la_base: np.ndarray  # the large-amount fund's when the tariff also has a catastrophic one
    la_paid: np.ndarray
    maf2_ded_used: np.ndarray  # the second assistance stage's
    maf2_paid: np.ndarray
    pool_covered: np.ndarray  # [m, COV_SLOTS] covered fees counted this year against a pool's covered cap
    pool_covered_key: np.ndarray  # [m, COV_SLOTS] month index of pool_covered_month, -1 none
    pool_covered_month: np.ndarray  # [m, COV_SLOTS] covered fees counted that month


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


def _tier_value(burden: np.ndarray, t: TermArrays, prefix: str, steps: dict[str, np.ndarray] | None = None,
                name: str = "") -> np.ndarray:
    """R(F(burden)): the tier function of the `prefix` fund (cat or la), rounded half-up to the fen."""
    above, threshold = t.arrays[f"{prefix}_above_threshold"] != 0, t.arrays[f"{prefix}_threshold"]
    lo = np.where(above, 0, threshold)
    hi = np.where(above, burden - threshold, burden)
    return banded(lo, np.maximum(hi, lo), t.arrays[f"{prefix}_bounds"], t.arrays[f"{prefix}_bps"], steps, name)


ABOVE_BASIC_CAP = TIER_BASES.index("above_basic_cap")


def _fees_covered(lo: np.ndarray, hi: np.ndarray, bounds: np.ndarray, bps: np.ndarray,
                  paid: np.ndarray) -> np.ndarray:
    """The fees from `lo` up on which the bands pay `paid` (rounded up to the fen): how far the
    basic fund's covered range reached when its cap stopped it."""
    lower = np.concatenate([np.zeros((len(lo), 1), dtype=np.int64), bounds[:, :-1]], axis=1)
    seg = np.maximum(np.minimum(hi[:, None], bounds) - np.maximum(lo[:, None], lower), 0)
    before = np.cumsum(seg * bps, axis=1) - seg * bps
    need = np.maximum(paid[:, None] * BP - before, 0)
    part = np.where(bps > 0, -(-need // np.maximum(bps, 1)), np.where(need > 0, seg, 0))
    return np.minimum(part, seg).sum(axis=1)


def _tier_layer(t: TermArrays, prefix: str, has: np.ndarray, bases: np.ndarray, earlier: np.ndarray,
                acc_base: np.ndarray, acc_paid: np.ndarray,
                steps: dict[str, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One tier fund on the claims: its base (its `base` option's amount less what the funds paid
    before it on the claim), the tiers on the accumulated base, its cap. (base, paid, uncapped, cap left)"""
    kind = t.arrays[f"{prefix}_base"]
    base = np.where(has, np.maximum(bases[kind, np.arange(len(kind))] - earlier, 0), 0)
    name = "_t_tier" if prefix == "cat" else f"_t_{prefix}_tier"
    tier = _tier_value(acc_base + base, t, prefix, steps, f"{name}1") - _tier_value(acc_base, t, prefix, steps, f"{name}0")
    left = _left(t.arrays[f"{prefix}_cap"], acc_paid)
    return base, np.where(has, np.minimum(tier, left), 0), np.where(has, tier, 0), left


def _stage(base: np.ndarray, ded: np.ndarray, ded_used: np.ndarray, bounds: np.ndarray, bps: np.ndarray,
           limit: np.ndarray, steps: dict[str, np.ndarray] | None,
           name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One assistance stage: what is left of its annual deductible, its bands, its limit.
    (deductible taken, paid, uncapped)"""
    taken = np.minimum(base, np.maximum(ded - ded_used, 0))
    raw = banded(np.zeros_like(base), base - taken, bounds, bps, steps, name)
    return taken, np.minimum(raw, limit), raw


def _below(left: np.ndarray, paid: np.ndarray) -> np.ndarray:
    """What is left of a limit after `paid` (NO_LIMIT stays)."""
    return np.where(left == NO_LIMIT, NO_LIMIT, np.maximum(left - paid, 0))


def _row(matrix: np.ndarray, slot: np.ndarray) -> np.ndarray:
    return np.where(slot >= 0, matrix[np.arange(len(slot)), np.maximum(slot, 0)], 0)


CAP_ANNUAL, CAP_CLAIM, CAP_MONTHLY, CAP_COVERED = 1, 2, 3, 4
"""Which limit cut the basic fund (`_hifp_cap`): the annual (or disease) cap, the claim's quota,
the monthly cap, or the annual cap on covered amounts; 0: none."""
COV_VISIT, COV_MONTHLY, COV_ANNUAL = 1, 2, 3
"""Which covered-fee cap of an outpatient or chronic pool cut the amount the ratio applies to
(`_cov_cap`; the fund caps, checked after, report in `_hifp_cap`); 0: none."""


def _covered_rooms(t: TermArrays, used: Used, month: np.ndarray) -> np.ndarray:
    """[3, m]: what is left of the pool's covered-fee caps this visit, this month and this year."""
    key = _row(used.pool_covered_key, t.cov_slot)
    in_month = np.where(key == month, _row(used.pool_covered_month, t.cov_slot), 0)
    return np.stack([t.cov_visit, _left(t.cov_month, in_month), _left(t.cov_year, _row(used.pool_covered, t.cov_slot))])


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
    span = hi - lo
    covered_cap = t.cap_on_covered != 0
    covered_total = _left(t.cap, used.covered)
    # the deductible borne uses up the cap first when the tariff counts it (cap_counts_deductible)
    counts_ded = covered_cap & (t.cap_counts_ded != 0)
    covered_left = np.where(counts_ded & (covered_total != NO_LIMIT), np.maximum(covered_total - ded, 0), covered_total)
    clipped = covered_cap & (hi - lo > covered_left)
    rooms = _covered_rooms(t, used, month)
    room = rooms.min(axis=0)
    cov_clipped = (hi - lo > room) & ~clipped
    cov_base = np.maximum(hi - lo, 0)
    hi = np.where(clipped, lo + covered_left, np.where(cov_clipped, lo + room, hi))  # no NO_LIMIT + lo overflow
    raw = banded(lo, hi, t.bounds, t.bps, steps, "_t_band")
    cap_left = np.where(covered_cap | (t.paid_slot < 0), NO_LIMIT, _left(t.cap, _row(used.paid, t.paid_slot)))
    month_used = np.where(used.month == month, used.month_paid, 0)
    capped = raw + np.where(in_caps, direct, 0)
    limits = np.stack([capped, cap_left, t.claim_cap, _left(t.monthly_cap, month_used)])
    binding = limits.argmin(axis=0)
    outside = np.where(in_caps, 0, direct)
    basic = np.where(pool > 0, limits[binding, np.arange(len(raw))], 0) + outside
    cap_kind = np.where(pool > 0, np.where(clipped, CAP_COVERED, binding), 0)
    cov_cap = np.where((pool > 0) & cov_clipped, rooms.argmin(axis=0) + COV_VISIT, 0)

    # Tier funds on their yearly bases: the large-amount fund (`la`) first when the tariff also has
    # a catastrophic one, then that or the single fund (`cat`) on what remains (docs/tariffs.md).
    has_cat, has_la = t.cat_fund != 0, t.la != 0
    burden = inscp - basic
    after_ded = np.maximum(burden - ded, 0)
    above_cap = np.zeros_like(inscp)
    if ((t.cat_base == ABOVE_BASIC_CAP) | (t.la_base == ABOVE_BASIC_CAP)).any():
        # the in-policy fees above the deductible beyond where an annual cap stopped the basic fund:
        # cut off by an annual cap on covered fees, or left unpaid when the fund's annual cap ran out
        # (fees a per-visit or monthly covered cap cut off are not above the year's cap)
        clipped_off = np.where(clipped | (cov_cap == COV_ANNUAL), span - (hi - lo), 0)
        # what the bands paid: the basic fund less the direct part of fixed-share items
        covered = _fees_covered(lo, hi, t.bounds, t.bps, np.maximum(basic - direct, 0))
        above_cap = clipped_off + np.where(cap_kind == CAP_ANNUAL, np.maximum(hi - lo - covered, 0), 0)
    bases = np.stack([burden, after_ded, above_cap])
    la_base, la, la_raw, la_left = _tier_layer(t, "la", has_la, bases, np.zeros_like(inscp), used.la_base,
                                               used.la_paid, steps)
    cat_base, cat, tier, cat_left = _tier_layer(t, "cat", has_cat, bases, la, used.cat_base, used.cat_paid, steps)

    # Medical assistance (医疗救助) on what remains of the in-policy amount; a second stage on what
    # the first left. The annual cap covers both stages; each may have its own.
    has_maf, has_maf2 = t.maf != 0, (t.maf != 0) & (t.maf2 != 0)
    base = np.where(has_maf, inscp - basic - la - cat, 0)
    maf_left = _left(t.maf_cap, used.maf_paid)
    own1 = _left(t.maf1_cap, used.maf_paid - used.maf2_paid)
    limit1 = np.minimum(own1, maf_left)
    maf_ded, maf1, maf_raw = _stage(base, t.maf_ded, used.maf_ded_used, t.maf_bounds, t.maf_bps, limit1,
                                    steps, "_t_layer")
    maf1 = np.where(has_maf, maf1, 0)
    base2 = np.where(has_maf2, base - maf1, 0)
    own2 = _left(t.maf2_cap, used.maf2_paid)
    limit2 = np.minimum(own2, _below(maf_left, maf1))
    maf2_ded, maf2, maf2_raw = _stage(base2, t.maf2_ded, used.maf2_ded_used, t.maf2_bounds, t.maf2_bps, limit2,
                                      steps, "_t_layer2")
    maf2 = np.where(has_maf2, maf2, 0)
    maf = maf1 + maf2

    counted_ded = np.where(counts_ded, np.minimum(ded, covered_total), 0)
    covered_add = np.where(covered_cap, np.maximum(hi - lo, 0) + counted_ded, 0)
    return {
        "act_pay_dedc": ded, "hifp_pay": basic,
        "hifmi_pay": np.where(t.cat_fund == FUND_HIFMI, cat, 0),
        "hifob_pay": la + np.where(t.cat_fund == FUND_HIFOB, cat, 0),
        "maf_pay": maf, "fund_pay_sumamt": basic + la + cat + maf,
        "_cat_base": cat_base, "_cat": cat, "_la_base": la_base, "_la": la, "_maf_ded": maf_ded, "_covered": covered_add,
        "_pool_covered": np.where(t.cov_slot >= 0, np.maximum(hi - lo, 0), 0),
        "_cov_cap": cov_cap, "_cov_base": cov_base, "_cov_limit": room,
        "_hifp_uncapped": np.where(pool > 0, raw + direct, 0), "_hifp_cap": cap_kind, "_share_outside": outside,
        "_cat_uncapped": tier, "_la_uncapped": la_raw,
        "_maf1": maf1, "_maf_uncapped": np.where(has_maf, maf_raw, 0), "_maf1_own_cap": (own1 < maf_left).astype(np.int64),
        "_maf2": maf2, "_maf2_ded": np.where(has_maf2, maf2_ded, 0), "_maf2_uncapped": np.where(has_maf2, maf2_raw, 0),
        "_maf2_own_cap": (own2 < _below(maf_left, maf1)).astype(np.int64),
    } | ({} if steps is None else steps | {
        "_t_ded_limit": ded_limit, "_t_hifp_limit": np.where(clipped, covered_left, limits[binding, np.arange(len(raw))]),
        "_t_cat_limit": cat_left, "_t_la_limit": la_left, "_t_maf_base": base, "_t_maf_limit": limit1,
        "_t_maf2_base": base2, "_t_maf2_limit": limit2})


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
    pool_covered, key, in_month = used.pool_covered.copy(), used.pool_covered_key.copy(), used.pool_covered_month.copy()
    has_cov = t.cov_slot >= 0
    pool_covered[rows[has_cov], t.cov_slot[has_cov]] += out["_pool_covered"][has_cov]
    cov_monthly = has_cov & (t.cov_month != NO_LIMIT)
    r, s = rows[cov_monthly], t.cov_slot[cov_monthly]
    in_month[r, s] = np.where(key[r, s] == month[cov_monthly], in_month[r, s], 0) + out["_pool_covered"][cov_monthly]
    key[r, s] = month[cov_monthly]
    return Used(
        paid=paid,
        ded_used=ded_used,
        covered=used.covered + out["_covered"],
        admissions=used.admissions + (t.pool == INPATIENT).astype(np.int64),
        cat_base=used.cat_base + out["_cat_base"],
        cat_paid=used.cat_paid + out["_cat"],
        maf_ded_used=used.maf_ded_used + out["_maf_ded"],
        maf_paid=used.maf_paid + out["maf_pay"],
        la_base=used.la_base + out["_la_base"],
        la_paid=used.la_paid + out["_la"],
        maf2_ded_used=used.maf2_ded_used + out["_maf2_ded"],
        maf2_paid=used.maf2_paid + out["_maf2"],
        month=np.where(tracks_month, month, used.month),
        month_paid=np.where(tracks_month,
                            np.where(same_month, used.month_paid, 0) + counted,
                            used.month_paid),
        pool_covered=pool_covered, pool_covered_key=key, pool_covered_month=in_month,
    )
