"""What each fund pays for a claim, given what its person used before (§4.2 steps 2–7).

This is the one implementation of the claim arithmetic, compiled (numba): `settle` pays every
claim of a batch in settlement order in one pass, each claim against its person-year's
accumulators, which it then advances; a what-if case is a batch of one. Integer fen
throughout; each rounding is the single half-up the spec names for that amount.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numba
import numpy as np

from yibao.calculator.audit import _half_up
from yibao.compiled import kernel
from yibao.calculator.terms import BANDS, COV_SLOTS, FUND_HIFMI, FUND_HIFOB, POOLS, TIER_BASES, TermArrays
from yibao.money import BP
from yibao.tariffs.catalogue import NO_LIMIT

INPATIENT = POOLS.index("inpatient")


@dataclass
class Used:
    """Accumulators of person-years (a row each), or what each claim added to them."""

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

    def kernel_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """As the compiled pass reads them: the one-per-row fields [m, ROW_FIELDS] (a row's in one
        place), `ded_used`, `paid`, and the covered-fee caps' [m, COV_FIELDS, COV_SLOTS]."""
        return (np.stack([getattr(self, f) for f in ROW_FIELDS], axis=1), self.ded_used, self.paid,
                np.stack([getattr(self, f) for f in COV_FIELDS], axis=1))

    def kernel_done(self, rows: np.ndarray, cov: np.ndarray) -> None:
        """Take back what the compiled pass made of `kernel_arrays`."""
        for i, f in enumerate(ROW_FIELDS):
            getattr(self, f)[:] = rows[:, i]
        for i, f in enumerate(COV_FIELDS):
            getattr(self, f)[:] = cov[:, i]


ROW_FIELDS = ("covered", "admissions", "cat_base", "cat_paid", "maf_ded_used", "maf_paid", "month", "month_paid",
              "la_base", "la_paid", "maf2_ded_used", "maf2_paid")
(COVERED, ADMISSIONS, CAT_BASE, CAT_PAID, MAF_DED_USED, MAF_PAID, MONTH, MONTH_PAID, LA_BASE, LA_PAID,
 MAF2_DED_USED, MAF2_PAID) = range(len(ROW_FIELDS))
COV_FIELDS = ("pool_covered", "pool_covered_key", "pool_covered_month")
POOL_COVERED, POOL_COVERED_KEY, POOL_COVERED_MONTH = range(len(COV_FIELDS))

SCALAR_TERMS = ("pool", "ded_first", "ded_repeat", "ded_slot", "above_deductible", "paid_slot", "cap",
                "cap_on_covered", "claim_cap", "monthly_cap", "cat_fund", "cat_threshold", "cat_above_threshold",
                "cat_cap", "cat_base", "la", "la_threshold", "la_above_threshold", "la_cap", "la_base", "maf",
                "maf_ded", "maf_cap", "maf1_cap", "maf2", "maf2_ded", "maf2_cap", "cap_counts_ded", "cov_slot",
                "cov_visit", "cov_month", "cov_year", "share_in_caps")
"""The terms the arithmetic reads, rows of the matrix the kernel gets (one column per combination)."""
(T_POOL, T_DED_FIRST, T_DED_REPEAT, T_DED_SLOT, T_ABOVE_DED, T_PAID_SLOT, T_CAP, T_CAP_ON_COVERED, T_CLAIM_CAP,
 T_MONTHLY_CAP, T_CAT_FUND, T_CAT_THRESHOLD, T_CAT_ABOVE, T_CAT_CAP, T_CAT_BASE, T_LA, T_LA_THRESHOLD, T_LA_ABOVE,
 T_LA_CAP, T_LA_BASE, T_MAF, T_MAF_DED, T_MAF_CAP, T_MAF1_CAP, T_MAF2, T_MAF2_DED, T_MAF2_CAP, T_CAP_COUNTS_DED,
 T_COV_SLOT, T_COV_VISIT, T_COV_MONTH, T_COV_YEAR, T_SHARE_IN_CAPS) = range(len(SCALAR_TERMS))
BAND_TERMS = ("bounds", "bps", "cat_bounds", "cat_bps", "la_bounds", "la_bps", "maf_bounds", "maf_bps",
              "maf2_bounds", "maf2_bps")
B_BASIC, B_CAT, B_LA, B_MAF, B_MAF2 = 0, 2, 4, 6, 8  # a set of bands: its bounds at B, its ratios at B + 1

OUTPUTS = ("act_pay_dedc", "hifp_pay", "hifmi_pay", "hifob_pay", "maf_pay", "fund_pay_sumamt",
           "_cat_base", "_cat", "_la_base", "_la", "_maf_ded", "_covered", "_pool_covered", "_cov_cap", "_cov_base",
           "_cov_limit", "_hifp_uncapped", "_hifp_cap", "_share_outside", "_cat_uncapped", "_la_uncapped",
           "_maf1", "_maf_uncapped", "_maf1_own_cap", "_maf2", "_maf2_ded", "_maf2_uncapped", "_maf2_own_cap")
"""Per claim: the amounts, and what each fund would have paid before its cap (`_*_uncapped`) and
which limit cut the basic fund: the reasons name an exhausted cap."""
(O_DED, O_HIFP, O_HIFMI, O_HIFOB, O_MAF, O_FUNDS, O_CAT_BASE, O_CAT, O_LA_BASE, O_LA, O_MAF_DED, O_COVERED,
 O_POOL_COVERED, O_COV_CAP, O_COV_BASE, O_COV_LIMIT, O_HIFP_UNCAPPED, O_HIFP_CAP, O_SHARE_OUTSIDE, O_CAT_UNCAPPED,
 O_LA_UNCAPPED, O_MAF1, O_MAF_UNCAPPED, O_MAF1_OWN_CAP, O_MAF2, O_MAF2_DED, O_MAF2_UNCAPPED,
 O_MAF2_OWN_CAP) = range(len(OUTPUTS))
TRACE_LIMITS = ("_t_ded_limit", "_t_hifp_limit", "_t_cat_limit", "_t_la_limit", "_t_maf_base", "_t_maf_limit",
                "_t_maf2_base", "_t_maf2_limit")
"""With a trace, per claim the deductible's and each fund's limit, and the assistance stages' bases."""
TRACE_BANDS = ("_t_band", "_t_tier1", "_t_tier0", "_t_la_tier1", "_t_la_tier0", "_t_layer", "_t_layer2")
"""With a trace, per claim and band the base (`{name}_base`) and what the band paid (`{name}_amt`)
of each banded amount: the basic fund's bands, the tier funds' tiers on the year's base after
and before the claim, the assistance stages' bands."""
S_BAND, S_TIER1, S_TIER0, S_LA_TIER1, S_LA_TIER0, S_LAYER, S_LAYER2 = range(len(TRACE_BANDS))
ABOVE_BASIC_CAP = TIER_BASES.index("above_basic_cap")

CAP_ANNUAL, CAP_CLAIM, CAP_MONTHLY, CAP_COVERED = 1, 2, 3, 4
"""Which limit cut the basic fund (`_hifp_cap`): the annual (or disease) cap, the claim's quota,
the monthly cap, or the annual cap on covered amounts; 0: none."""
COV_VISIT, COV_MONTHLY, COV_ANNUAL = 1, 2, 3
"""Which covered-fee cap of an outpatient or chronic pool cut the amount the ratio applies to
(`_cov_cap`; the fund caps, checked after, report in `_hifp_cap`); 0: none."""
OPEN_PAID, OPEN_COVERED = 0, 1
OPENING = OPEN_COVERED + COV_SLOTS
"""Per claim, what counted in its settlement month before the batch, read where its person-year's
accumulators hold another month (they hold the latest): the basic fund's payments under a
monthly cap at OPEN_PAID, each covered-fee slot's fees at OPEN_COVERED + slot. A claim for an
earlier month filed late (补报) so meets that month's caps as they were used."""


@numba.njit(inline="always")
def _left(cap: int, used: int) -> int:  # pragma: no cover - compiled
    return NO_LIMIT if cap == NO_LIMIT else max(cap - used, 0)


@numba.njit(inline="always")
def _banded(lo: int, hi: int, bounds: np.ndarray, bps: np.ndarray, steps: np.ndarray, s: int,
            c: int) -> int:  # pragma: no cover - compiled
    """Σ over bands of (part of [lo, hi] inside the band) × ratio, rounded half-up once.

    The sum runs band by band and each running sum is rounded: the last one is the total, and the
    differences are what each band adds, so a trace's band amounts (`steps[s]` base and
    `steps[s + 1]` amount of claim `c`, when `steps` has rows) add up to the total exactly and are
    the same arithmetic."""
    total, running = 0, 0
    for b in range(len(bounds)):
        lower = bounds[b - 1] if b else 0
        seg = max(min(hi, bounds[b]) - max(lo, lower), 0)
        total += seg * bps[b]
        rounded = _half_up(total, BP)
        if len(steps):
            steps[2 * s, c, b], steps[2 * s + 1, c, b] = seg, rounded - running
        running = rounded
    return running


@numba.njit
def _fees_covered(lo: int, hi: int, bounds: np.ndarray, bps: np.ndarray, paid: int) -> int:  # pragma: no cover
    """The fees from `lo` up on which the bands pay `paid` (rounded up to the fen): how far the
    basic fund's covered range reached when its cap stopped it."""
    total, before = 0, 0
    for b in range(len(bounds)):
        lower = bounds[b - 1] if b else 0
        seg = max(min(hi, bounds[b]) - max(lo, lower), 0)
        need = max(paid * BP - before, 0)
        part = -(-need // bps[b]) if bps[b] > 0 else (seg if need > 0 else 0)
        total += min(part, seg)
        before += seg * bps[b]
    return total


@numba.njit
def _tier_value(burden: int, above: bool, threshold: int, bounds: np.ndarray, bps: np.ndarray,
                steps: np.ndarray, s: int, c: int) -> int:  # pragma: no cover - compiled
    """R(F(burden)): a tier fund's tier function, rounded half-up to the fen."""
    lo = 0 if above else threshold
    hi = burden - threshold if above else burden
    return _banded(lo, max(hi, lo), bounds, bps, steps, s, c)


@numba.njit
def _tier_layer(terms: np.ndarray, bands: np.ndarray, k: int, t: int, b: int, bases: tuple, earlier: int,
                acc_base: int, acc_paid: int, steps: np.ndarray, s: int, c: int) -> tuple:  # pragma: no cover
    """One tier fund (terms from row `t`: fund, threshold, above, cap, base; tiers at `b`): its
    base (its `base` option's amount less what the funds paid before it on the claim), the tiers
    on the accumulated base, its cap. (base, paid, uncapped, cap left)"""
    has = terms[t, k] != 0
    kind = terms[t + 4, k]
    base = max(bases[kind] - earlier, 0) if has else 0
    above, threshold = terms[t + 2, k] != 0, terms[t + 1, k]
    tier = _tier_value(acc_base + base, above, threshold, bands[b, k], bands[b + 1, k], steps, s, c) - \
        _tier_value(acc_base, above, threshold, bands[b, k], bands[b + 1, k], steps, s + 1, c)
    left = _left(terms[t + 3, k], acc_paid)
    return base, min(tier, left) if has else 0, tier if has else 0, left


@numba.njit(inline="always")
def _stage(base: int, ded: int, ded_used: int, bounds: np.ndarray, bps: np.ndarray, limit: int,
           steps: np.ndarray, s: int, c: int) -> tuple:  # pragma: no cover - compiled
    """One assistance stage: what is left of its annual deductible, its bands, its limit.
    (deductible taken, paid, uncapped)"""
    taken = min(base, max(ded - ded_used, 0))
    raw = _banded(np.int64(0), base - taken, bounds, bps, steps, s, c)
    return taken, min(raw, limit), raw


@numba.njit
def _pay(inscp: int, month: int, opened: np.ndarray, person_share: int, direct_share: int, terms: np.ndarray,
         bands: np.ndarray, k: int, rows: np.ndarray, ded_used: np.ndarray, paid: np.ndarray, cov: np.ndarray,
         g: int, out: np.ndarray, c: int, limits_out: np.ndarray, steps: np.ndarray) -> None:  # pragma: no cover
    """Deductible, basic pool, catastrophic/large-amount and assistance for claim `c` (terms of
    combination `k`), its person-year's accumulators being row `g` of `rows`, `ded_used`, `paid`
    and `cov` (`Used.kernel_arrays`), into `out[:, c]` (OUTPUTS); with a trace (`limits_out`,
    `steps` with rows) every step's limit and bands. `opened`: what counted in the claim's month
    before it when the accumulators hold another month (OPENING).

    `person_share`, `direct_share`: of `inscp`, the person's part and the fund's direct part of
    items with a fixed person share; they pass by the deductible and the bands, the direct part
    is added to the basic fund (within its limits or outside them, `share_in_caps`), and the
    person's part stays in the burden that catastrophic insurance and assistance see."""
    pool = terms[T_POOL, k]
    direct = direct_share if pool > 0 else 0
    in_caps = terms[T_SHARE_IN_CAPS, k] != 0
    banded_inscp = inscp - person_share - direct_share  # what the deductible and the bands see
    # Deductible: per admission (reduced after the first) or what is left of an annual one.
    repeat = pool == INPATIENT and rows[g, ADMISSIONS] > 0
    per_claim = terms[T_DED_REPEAT, k] if repeat else terms[T_DED_FIRST, k]
    ded_slot = terms[T_DED_SLOT, k]
    ded_limit = max(per_claim - ded_used[g, ded_slot], 0) if ded_slot >= 0 else per_claim
    ded = min(ded_limit, banded_inscp) if pool > 0 else 0

    # Basic pool: banded ratio on the in-policy amount above the deductible, then the caps.
    above = terms[T_ABOVE_DED, k] != 0
    lo = 0 if above else ded
    hi = banded_inscp - ded if above else banded_inscp
    span = hi - lo
    covered_cap = terms[T_CAP_ON_COVERED, k] != 0
    covered_total = _left(terms[T_CAP, k], rows[g, COVERED])
    # the deductible borne uses up the cap first when the tariff counts it (cap_counts_deductible)
    counts_ded = covered_cap and terms[T_CAP_COUNTS_DED, k] != 0
    covered_left = max(covered_total - ded, 0) if counts_ded and covered_total != NO_LIMIT else covered_total
    clipped = covered_cap and hi - lo > covered_left
    # what is left of the pool's covered-fee caps this visit, this month and this year
    cov_slot = terms[T_COV_SLOT, k]
    key = cov[g, POOL_COVERED_KEY, cov_slot] if cov_slot >= 0 else 0
    in_month = (cov[g, POOL_COVERED_MONTH, cov_slot] if key == month else opened[OPEN_COVERED + cov_slot]) \
        if cov_slot >= 0 else 0
    rooms = (terms[T_COV_VISIT, k], _left(terms[T_COV_MONTH, k], in_month),
             _left(terms[T_COV_YEAR, k], cov[g, POOL_COVERED, cov_slot] if cov_slot >= 0 else 0))
    room, room_kind = rooms[0], 0
    for i in range(1, 3):
        if rooms[i] < room:
            room, room_kind = rooms[i], i
    cov_clipped = hi - lo > room and not clipped
    cov_base = max(hi - lo, 0)
    if clipped:
        hi = lo + covered_left
    elif cov_clipped:
        hi = lo + room
    # constants go to the compiled helpers as np.int64: a literal compiles a helper once per value
    raw = _banded(lo, hi, bands[B_BASIC, k], bands[B_BASIC + 1, k], steps, np.int64(S_BAND), c)
    paid_slot = terms[T_PAID_SLOT, k]
    cap_left = NO_LIMIT if covered_cap or paid_slot < 0 else _left(terms[T_CAP, k], paid[g, paid_slot])
    month_used = rows[g, MONTH_PAID] if rows[g, MONTH] == month else opened[OPEN_PAID]
    limits = (raw + (direct if in_caps else 0), cap_left, terms[T_CLAIM_CAP, k],
              _left(terms[T_MONTHLY_CAP, k], month_used))
    limit, binding = limits[0], 0
    for i in range(1, 4):
        if limits[i] < limit:
            limit, binding = limits[i], i
    outside = 0 if in_caps else direct
    basic = (limit if pool > 0 else 0) + outside
    cap_kind = (CAP_COVERED if clipped else binding) if pool > 0 else 0
    cov_cap = room_kind + COV_VISIT if pool > 0 and cov_clipped else 0

    # Tier funds on their yearly bases: the large-amount fund (`la`) first when the tariff also has
    # a catastrophic one, then that or the single fund (`cat`) on what remains (docs/tariffs.md).
    burden = inscp - basic
    above_cap = 0
    if terms[T_CAT_BASE, k] == ABOVE_BASIC_CAP or terms[T_LA_BASE, k] == ABOVE_BASIC_CAP:
        # the in-policy fees above the deductible beyond where an annual cap stopped the basic fund:
        # cut off by an annual cap on covered fees, or left unpaid when the fund's annual cap ran out
        # (fees a per-visit or monthly covered cap cut off are not above the year's cap)
        clipped_off = span - (hi - lo) if clipped or cov_cap == COV_ANNUAL else 0
        # what the bands paid: the basic fund less the direct part of fixed-share items
        covered = _fees_covered(lo, hi, bands[B_BASIC, k], bands[B_BASIC + 1, k], max(basic - direct, 0))
        above_cap = clipped_off + (max(hi - lo - covered, 0) if cap_kind == CAP_ANNUAL else 0)
    bases = (burden, max(burden - ded, 0), above_cap)
    la_base, la, la_raw, la_left = _tier_layer(terms, bands, k, np.int64(T_LA), np.int64(B_LA), bases, np.int64(0), rows[g, LA_BASE],
                                               rows[g, LA_PAID], steps, np.int64(S_LA_TIER1), c)
    cat_base, cat, tier, cat_left = _tier_layer(terms, bands, k, np.int64(T_CAT_FUND), np.int64(B_CAT), bases, la, rows[g, CAT_BASE],
                                                rows[g, CAT_PAID], steps, np.int64(S_TIER1), c)

    # Medical assistance (医疗救助) on what remains of the in-policy amount; a second stage on what
    # the first left. The annual cap covers both stages; each may have its own.
    has_maf = terms[T_MAF, k] != 0
    has_maf2 = has_maf and terms[T_MAF2, k] != 0
    base = inscp - basic - la - cat if has_maf else 0
    maf_paid, maf2_paid = rows[g, MAF_PAID], rows[g, MAF2_PAID]
    maf_left = _left(terms[T_MAF_CAP, k], maf_paid)
    own1 = _left(terms[T_MAF1_CAP, k], maf_paid - maf2_paid)
    limit1 = min(own1, maf_left)
    maf_ded, maf1, maf_raw = _stage(base, terms[T_MAF_DED, k], rows[g, MAF_DED_USED], bands[B_MAF, k],
                                    bands[B_MAF + 1, k], limit1, steps, np.int64(S_LAYER), c)
    maf1 = maf1 if has_maf else 0
    base2 = base - maf1 if has_maf2 else 0
    own2 = _left(terms[T_MAF2_CAP, k], maf2_paid)
    left2 = NO_LIMIT if maf_left == NO_LIMIT else max(maf_left - maf1, 0)
    limit2 = min(own2, left2)
    maf2_ded, maf2, maf2_raw = _stage(base2, terms[T_MAF2_DED, k], rows[g, MAF2_DED_USED], bands[B_MAF2, k],
                                      bands[B_MAF2 + 1, k], limit2, steps, np.int64(S_LAYER2), c)
    maf2 = maf2 if has_maf2 else 0

    cat_fund = terms[T_CAT_FUND, k]
    counted_ded = min(ded, covered_total) if counts_ded else 0
    values = (ded, basic, cat if cat_fund == FUND_HIFMI else 0, la + (cat if cat_fund == FUND_HIFOB else 0),
              maf1 + maf2, basic + la + cat + maf1 + maf2, cat_base, cat, la_base, la, maf_ded,
              max(hi - lo, 0) + counted_ded if covered_cap else 0, max(hi - lo, 0) if cov_slot >= 0 else 0,
              cov_cap, cov_base, room, raw + direct if pool > 0 else 0, cap_kind, outside, tier, la_raw,
              maf1, maf_raw if has_maf else 0, np.int64(own1 < maf_left), maf2, maf2_ded if has_maf2 else 0,
              maf2_raw if has_maf2 else 0, np.int64(own2 < left2))
    for i in range(len(values)):
        out[i, c] = values[i]
    if len(limits_out):
        traced = (ded_limit, covered_left if clipped else limit, cat_left, la_left, base, limit1, base2, limit2)
        for i in range(len(traced)):
            limits_out[i, c] = traced[i]


@numba.njit(inline="always")
def _advance(rows: np.ndarray, ded_used: np.ndarray, paid: np.ndarray, cov: np.ndarray, g: int, out: np.ndarray,
             c: int, terms: np.ndarray, k: int, month: int, opened: np.ndarray) -> None:  # pragma: no cover
    """Row `g` of the accumulators (`Used.kernel_arrays`) after claim `c` (audited view only), a
    month's amounts from `opened` (OPENING) when the row held another month."""
    counted = out[O_HIFP, c] - out[O_SHARE_OUTSIDE, c]  # what the basic fund's limits count
    if terms[T_PAID_SLOT, k] >= 0:
        paid[g, terms[T_PAID_SLOT, k]] += counted
    if terms[T_DED_SLOT, k] >= 0:
        ded_used[g, terms[T_DED_SLOT, k]] += out[O_DED, c]
    s = terms[T_COV_SLOT, k]
    if s >= 0:
        cov[g, POOL_COVERED, s] += out[O_POOL_COVERED, c]
        if terms[T_COV_MONTH, k] != NO_LIMIT:
            same = cov[g, POOL_COVERED_KEY, s] == month
            before = cov[g, POOL_COVERED_MONTH, s] if same else opened[OPEN_COVERED + s]
            cov[g, POOL_COVERED_MONTH, s] = before + out[O_POOL_COVERED, c]
            cov[g, POOL_COVERED_KEY, s] = month
    rows[g, COVERED] += out[O_COVERED, c]
    rows[g, ADMISSIONS] += np.int64(terms[T_POOL, k] == INPATIENT)
    rows[g, CAT_BASE] += out[O_CAT_BASE, c]
    rows[g, CAT_PAID] += out[O_CAT, c]
    rows[g, MAF_DED_USED] += out[O_MAF_DED, c]
    rows[g, MAF_PAID] += out[O_MAF, c]
    rows[g, LA_BASE] += out[O_LA_BASE, c]
    rows[g, LA_PAID] += out[O_LA, c]
    rows[g, MAF2_DED_USED] += out[O_MAF2_DED, c]
    rows[g, MAF2_PAID] += out[O_MAF2, c]
    if terms[T_MONTHLY_CAP, k] != NO_LIMIT:
        rows[g, MONTH_PAID] = (rows[g, MONTH_PAID] if rows[g, MONTH] == month else opened[OPEN_PAID]) + counted
        rows[g, MONTH] = month


@kernel
def _settle(group: np.ndarray, combo: np.ndarray, month: np.ndarray, opening: np.ndarray, inscp: np.ndarray,
            inscp_declared: np.ndarray, shares: np.ndarray, shares_declared: np.ndarray, terms: np.ndarray,
            bands: np.ndarray, rows: np.ndarray, ded_used: np.ndarray, paid: np.ndarray, cov: np.ndarray,
            added: tuple, out: np.ndarray, declared: np.ndarray, limits_out: np.ndarray,
            steps: np.ndarray, scratch: np.ndarray) -> None:  # pragma: no cover - compiled
    """Every claim, the claims in settlement order: paid against its person-year's accumulators
    (row `group[c]` of `rows`, `ded_used`, `paid`, `cov`), which it then advances; into `added`
    (the same four, a row per claim, from zero, when they have rows) what it added. The declared
    view (what the hospital drew at discharge) is paid from the same accumulators, and only where
    its in-policy amounts differ; it never advances them. `opening`: each claim's OPENING."""
    no_limits, no_steps = np.zeros((0, 0), np.int64), np.zeros((0, 0, 0), np.int64)
    add_rows, add_ded, add_paid, add_cov = added
    unopened = np.zeros(OPENING, np.int64)  # a claim's own contribution counts from nothing
    for c in range(len(group)):
        g, k, m, opened = group[c], combo[c], month[c], opening[c]
        _pay(inscp[c], m, opened, shares[c, 0], shares[c, 1], terms, bands, k, rows, ded_used, paid, cov, g,
             out, c, limits_out, steps)
        declared[c] = out[O_FUNDS, c]
        if inscp_declared[c] != inscp[c] or shares_declared[c, 0] != shares[c, 0] or \
                shares_declared[c, 1] != shares[c, 1]:
            _pay(inscp_declared[c], m, opened, shares_declared[c, 0], shares_declared[c, 1], terms, bands, k,
                 rows, ded_used, paid, cov, g, scratch, np.int64(0), no_limits, no_steps)
            declared[c] = scratch[O_FUNDS, 0]
        _advance(rows, ded_used, paid, cov, g, out, c, terms, k, m, opened)
        if len(add_rows):
            _advance(add_rows, add_ded, add_paid, add_cov, c, out, c, terms, k, m, unopened)


def settle(order: np.ndarray, group: np.ndarray, month: np.ndarray, opening: np.ndarray,
           inscp: tuple[np.ndarray, np.ndarray], shares: tuple[np.ndarray, np.ndarray], terms: TermArrays,
           state: Used, added: Used | None, trace: bool) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Pay every claim (`order`: settlement order; `group`: its row of `state`; `month`: of its
    settlement; `opening`: [n, OPENING]) on its audited and declared in-policy amounts and
    fixed-share parts (`inscp`, `shares` [n, 2], audited first), advancing `state` in place, and
    `added` (a row per claim) when given. Returns the audited amounts by name (OUTPUTS; with
    `trace` also TRACE_LIMITS and each TRACE_BANDS name's `_base` and `_amt` [n, BANDS]) and the
    declared view's fund total."""
    n = len(group)
    combo = (terms.rows if terms.rows is not None else np.arange(n))[order]
    # with no combination (an empty batch) the band fields are 1-D: shaped [BAND_TERMS, 0, BANDS] here
    matrix = np.stack([terms.table[f] for f in SCALAR_TERMS]).astype(np.int64)
    bands = np.stack([terms.table[f] for f in BAND_TERMS]).astype(np.int64).reshape(len(BAND_TERMS), -1, BANDS)
    out, declared = np.zeros((len(OUTPUTS), n), np.int64), np.zeros(n, np.int64)
    limits = np.zeros((len(TRACE_LIMITS) if trace else 0, n), np.int64)
    steps = np.zeros((2 * len(TRACE_BANDS) if trace else 0, n, BANDS), np.int64)
    accumulators = state.kernel_arrays()
    mine = (added or _empty_like(state)).kernel_arrays()
    # the claims' inputs and outputs in settlement order, so the pass reads and writes them in turn
    _settle(group[order], np.asarray(combo, np.int64), month[order], opening[order], inscp[0][order], inscp[1][order],
            shares[0][order], shares[1][order], matrix, bands, *accumulators, mine, out, declared,
            limits, steps, np.zeros((len(OUTPUTS), 1), np.int64))
    state.kernel_done(accumulators[0], accumulators[3])
    back = np.empty_like(order)
    back[order] = np.arange(n)
    for row in out:  # back in claim order in place, a row at a time: `out[:, back]` would be a second `out`
        row[:] = row[back]
    audited = dict(zip(OUTPUTS, out))
    if added is not None:
        added.kernel_done(mine[0][back], mine[3][back])
        added.ded_used[:], added.paid[:] = mine[1][back], mine[2][back]
    if trace:
        audited |= dict(zip(TRACE_LIMITS, limits[:, back]))
        for s, name in enumerate(TRACE_BANDS):
            audited[f"{name}_base"], audited[f"{name}_amt"] = steps[2 * s, back], steps[2 * s + 1, back]
    return audited, declared[back]


def _empty_like(state: Used) -> Used:
    """No rows, the shapes of `state` otherwise (no claim's contributions wanted)."""
    return Used(**{f.name: np.zeros((0,) + getattr(state, f.name).shape[1:], np.int64) for f in fields(Used)})
