"""Benefit terms of a claim: which pool pays, its deductible, bands, caps and tiers.

Terms depend only on a handful of categorical facts (tariff version, pool, insurance type,
level, statuses, the rule base's conclusions), so they are worked out once per distinct
combination, in plain Python that reads like the tariff, and then broadcast to the claims as
integer arrays for the settlement-order scan.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from yibao.codes import row_groups
from yibao.money import BP, div_half_up, ratio_to_bp, yuan_to_fen
from yibao.tables import amount_items
from yibao.tariffs.catalogue import NO_LIMIT
from yibao.tariffs.diff import item_path
from yibao.tariffs.model import MAX_BANDS, AssistanceStage, Band, Catastrophic, CoveredCap, Tariff, TierFund
from yibao.tariffs.registry import LoadedTariff

POOLS = ("", "inpatient", "outpatient", "chronic", "maternity")
BANDS = MAX_BANDS  # band slots per term; the tariff model refuses more

# Accumulator slots drawn by a pool's annual cap (`paid_slot`) and annual deductible (`ded_slot`).
PAID_INPATIENT, PAID_OUTPATIENT, PAID_PRENATAL, PAID_CHRONIC0 = 0, 1, 2, 3
DED_INPATIENT, DED_OUTPATIENT, DED_CHRONIC = 0, 1, 2
DED_SLOTS = 3
COV_OUTPATIENT, COV_CHRONIC = 0, 1  # slots of the covered-fee caps' accumulators (`cov_slot`)
COV_SLOTS = 2
FUND_NONE, FUND_HIFMI, FUND_HIFOB = 0, 1, 2
TIER_BASES = ("burden", "burden_after_deductible", "above_basic_cap")  # a tier fund's `base`, by code

# The conclusion and claim columns the terms are read from.
TERM_KEYS = ("tariff_key", "pays_basic", "pays_maf", "fund_pool", "insutype", "employee_status",
             "level", "retired_cadre", "child_deductible", "ratio_cut_bp", "status_tilt_bp",
             "tier_status", "assistance_status", "chronic_disease", "maternity_scheme",
             "maternity_quota", "maternity_factor_bp", "resident_category")


@dataclass
class Terms:
    """Benefit terms of one combination; money in fen, ratios in basis points."""

    pool: int = 0
    ded_first: int = 0  # deductible of the year's first admission (or of the claim)
    ded_repeat: int = 0  # deductible of later admissions
    ded_slot: int = -1  # annual deductible slot, -1: per claim
    above_deductible: bool = False  # band bounds measured above the deductible
    bounds: tuple[int, ...] = (NO_LIMIT,) * BANDS
    bps: tuple[int, ...] = (0,) * BANDS
    paid_slot: int = -1
    cap: int = NO_LIMIT
    cap_on_covered: bool = False
    claim_cap: int = NO_LIMIT
    monthly_cap: int = NO_LIMIT
    pool_prop_bp: int = 0
    cat_fund: int = FUND_NONE
    cat_threshold: int = 0
    cat_above_threshold: bool = False
    cat_bounds: tuple[int, ...] = (NO_LIMIT,) * BANDS
    cat_bps: tuple[int, ...] = (0,) * BANDS
    cat_cap: int = NO_LIMIT
    cat_base: int = 0  # TIER_BASES code
    # the large-amount fund (hifob) when the tariff also has a catastrophic one (hifmi) for the
    # insurance type: paid first, on its own accumulators; the `cat_*` terms are then hifmi's
    la: bool = False
    la_threshold: int = 0
    la_above_threshold: bool = False
    la_bounds: tuple[int, ...] = (NO_LIMIT,) * BANDS
    la_bps: tuple[int, ...] = (0,) * BANDS
    la_cap: int = NO_LIMIT
    la_base: int = 0
    maf: bool = False
    maf_ded: int = 0
    maf_bounds: tuple[int, ...] = (NO_LIMIT,) * BANDS
    maf_bps: tuple[int, ...] = (0,) * BANDS
    maf_cap: int = NO_LIMIT
    maf1_cap: int = NO_LIMIT  # the first stage's own cap
    # the second assistance stage, on what the first left
    maf2: bool = False
    maf2_ded: int = 0
    maf2_bounds: tuple[int, ...] = (NO_LIMIT,) * BANDS
    maf2_bps: tuple[int, ...] = (0,) * BANDS
    maf2_cap: int = NO_LIMIT
    cap_counts_ded: bool = False  # the inpatient covered cap counts the deductible borne
    cov_slot: int = -1  # covered-fee caps of the pool (`_covered_caps`), -1: none
    cov_visit: int = NO_LIMIT
    cov_month: int = NO_LIMIT
    cov_year: int = NO_LIMIT
    share_in_caps: bool = True  # the direct part of fixed-share items counts against the limits
    # the tariff entry behind each term, as `tariffs show` prints its path (per combination only,
    # never broadcast to claims): deductible, bands (one per band), cap, claim_cap, monthly_cap,
    # cat_threshold, tiers, cat_cap, la_threshold, la_tiers, la_cap, maf_ded, maf_bands, maf_cap,
    # maf1_cap, maf2_ded, maf2_bands, maf2_cap, covered_visit, covered_month, covered_year
    paths: dict[str, object] = field(default_factory=dict)


def _band_paths(path: str, bands: list[Band]) -> tuple[str, ...]:
    return tuple(f"{item_path(path, bands, b)}.ratio" for b in bands)


def _bands(bands: list[Band], shift_bp: int = 0) -> tuple[tuple[int, ...], tuple[int, ...]]:
    bounds = [NO_LIMIT if b.upto is None else yuan_to_fen(b.upto) for b in bands]
    bps = [min(max(ratio_to_bp(b.ratio) + shift_bp, 0), BP) for b in bands]
    pad = BANDS - len(bands)
    return tuple(bounds + [NO_LIMIT] * pad), tuple(bps + [0] * pad)


def _fen(v: object) -> int:
    return NO_LIMIT if v is None else yuan_to_fen(v)  # type: ignore[arg-type]


def _scale(amount: int, *factors_bp: int) -> int:
    """amount × f1 × f2 … (basis points), one half-up rounding."""
    num, den = amount, 1
    for f in factors_bp:
        num, den = num * f, den * BP
    return int(div_half_up(num, den))


def _inpatient(t: Tariff, k: dict, terms: Terms) -> None:
    ip = t.inpatient
    category = k["resident_category"] or "any"
    scheme = ip.scheme(k["insutype"], k["employee_status"] or "any", int(k["level"]), category)
    if scheme is None:
        raise ValueError(f"no inpatient scheme for insutype {k['insutype']}, level {k['level']}")
    ded = yuan_to_fen(scheme.deductible)
    at = item_path("inpatient.schemes", ip.schemes, scheme)
    cap_key, cap = ip.annual_cap_of(k["insutype"], category)
    terms.paths.update(deductible=f"{at}.deductible", bands=_band_paths(f"{at}.bands", scheme.bands),
                       cap=f"inpatient.{cap_key}")
    # the deductible's factors (child, retired cadre) multiply exactly; one rounding at the end
    factors = [ratio_to_bp(ip.child_deductible_factor)] if k["child_deductible"] else []
    repeat = ratio_to_bp(ip.repeat_admission_factor)
    cut = -int(k["ratio_cut_bp"]) + int(k["status_tilt_bp"])
    terms.bounds, terms.bps = _bands(scheme.bands, cut)
    terms.paid_slot, terms.cap = PAID_INPATIENT, _fen(cap)
    terms.cap_on_covered = ip.cap_basis == "covered"
    terms.cap_counts_ded = ip.cap_counts_deductible
    if k["retired_cadre"]:
        # 离休干部: their own ratio, still cut for out-of-area care without a valid referral (the
        # referral rules ask cadres for their own referral materials: the cut applies to them)
        cadre = ip.retired_cadre
        factors.append(ratio_to_bp(cadre.deductible_factor))
        terms.bounds, terms.bps = _bands([Band(upto=None, ratio=cadre.ratio)], -int(k["ratio_cut_bp"]))
        terms.paths.update(deductible="inpatient.retired_cadre.deductible_factor",
                           bands=("inpatient.retired_cadre.ratio",))
        if not cadre.capped:
            terms.cap = NO_LIMIT
    terms.ded_first = _scale(ded, *factors)
    terms.ded_repeat = _scale(ded, *factors, repeat)
    terms.above_deductible = ip.band_basis == "above_deductible"
    if ip.deductible_scope == "annual":
        terms.ded_slot, terms.ded_repeat = DED_INPATIENT, terms.ded_first


def _outpatient(t: Tariff, k: dict, terms: Terms) -> None:
    scheme = t.outpatient.scheme(k["insutype"], k["employee_status"] or "any", k["resident_category"] or "any")
    if scheme is None:
        raise ValueError(f"no outpatient scheme for insutype {k['insutype']}")
    ratio = scheme.ratio_by_level.get(int(k["level"]))
    if ratio is None:
        raise ValueError(f"outpatient scheme has no ratio for level {k['level']}")
    terms.ded_first = terms.ded_repeat = yuan_to_fen(scheme.deductible)
    terms.ded_slot = DED_OUTPATIENT
    at = item_path("outpatient.schemes", t.outpatient.schemes, scheme)
    terms.paths.update(deductible=f"{at}.deductible", bands=(f"{at}.ratio_by_level.{int(k['level'])}",),
                       cap=f"{at}.annual_cap", monthly_cap=f"{at}.monthly_cap")
    terms.bounds, terms.bps = _bands([Band(upto=None, ratio=ratio)], int(k["status_tilt_bp"]))
    terms.paid_slot, terms.cap = PAID_OUTPATIENT, _fen(scheme.annual_cap)
    terms.monthly_cap = _fen(scheme.monthly_cap)
    _covered_caps(scheme.covered_cap, f"{at}.covered_cap", COV_OUTPATIENT, terms)


def _chronic(t: Tariff, k: dict, terms: Terms) -> None:
    ch = t.chronic
    disease = next(d for d in ch.diseases if d.code == k["chronic_disease"])
    entry = ch.ratio(k["insutype"], disease.group, k["resident_category"] or "any")
    if entry is None:
        raise ValueError(f"no chronic ratio for insutype {k['insutype']}, group {disease.group}")
    ratio = entry.ratio
    terms.paths.update(deductible="chronic.deductible", bands=(f"{item_path('chronic.ratios', ch.ratios, entry)}.ratio",),
                       cap=f"{item_path('chronic.diseases', ch.diseases, disease)}.annual_cap")
    terms.ded_first = terms.ded_repeat = yuan_to_fen(ch.deductible)
    if ch.deductible_scope == "annual":  # one deductible a year over every chronic visit
        terms.ded_slot = DED_CHRONIC
    terms.bounds, terms.bps = _bands([Band(upto=None, ratio=ratio)], int(k["status_tilt_bp"]))
    terms.paid_slot = PAID_CHRONIC0 + k["disease_slot"]
    terms.cap = yuan_to_fen(disease.annual_cap)
    _covered_caps(ch.covered_cap, "chronic.covered_cap", COV_CHRONIC, terms)


def _covered_caps(cap: CoveredCap, at: str, slot: int, terms: Terms) -> None:
    """A pool's caps on covered fees; a pool without any keeps no covered accumulator (as before)."""
    if cap == CoveredCap():
        return
    terms.cov_slot = slot
    terms.cov_visit, terms.cov_month, terms.cov_year = _fen(cap.per_visit), _fen(cap.monthly), _fen(cap.annual)
    terms.paths.update(covered_visit=f"{at}.per_visit", covered_month=f"{at}.monthly",
                       covered_year=f"{at}.annual")


def _maternity(t: Tariff, k: dict, terms: Terms) -> None:
    mat = t.maternity
    quotas = mat.quotas if k["maternity_scheme"] == "employee" else mat.resident_quotas
    quota_path = f"maternity.{'quotas' if quotas is mat.quotas else 'resident_quotas'}.{k['maternity_quota']}"
    terms.paths.update(cap=quota_path, claim_cap=quota_path, bands=(quota_path,))  # 100% up to the quota
    quota = _scale(yuan_to_fen(quotas[k["maternity_quota"]]), int(k["maternity_factor_bp"]))
    terms.bounds, terms.bps = _bands([Band(upto=None, ratio=1)])
    if k["maternity_quota"] == "prenatal":
        terms.paid_slot, terms.cap = PAID_PRENATAL, quota
    else:
        terms.claim_cap = quota


def _tier_fund(cat: Catastrophic, k: dict, kind: str) -> TierFund | None:
    """The fund of one kind for the claim: the tilted one of its status, else the default."""
    candidates = [f for f in cat.funds if f.insutype == k["insutype"] and f.fund == kind]
    return next((f for f in candidates if k["tier_status"] and k["tier_status"] in f.statuses),
                next((f for f in candidates if not f.statuses), None))


def _tier_terms(cat: Catastrophic, fund: TierFund, terms: Terms, prefix: str) -> None:
    """Set the `prefix` terms (cat or la) from one tier fund."""
    at = item_path("catastrophic.funds", cat.funds, fund)
    bounds, bps = _bands(fund.tiers)
    values = {"threshold": yuan_to_fen(fund.threshold), "above_threshold": fund.tier_basis == "above_threshold",
              "bounds": bounds, "bps": bps, "cap": _fen(fund.annual_cap), "base": TIER_BASES.index(fund.base)}
    for name, value in values.items():
        setattr(terms, f"{prefix}_{name}", value)
    tiers = "tiers" if prefix == "cat" else f"{prefix}_tiers"
    terms.paths.update({f"{prefix}_threshold": f"{at}.threshold", tiers: _band_paths(f"{at}.tiers", fund.tiers),
                        f"{prefix}_cap": f"{at}.annual_cap"})


def _catastrophic(t: Tariff, k: dict, terms: Terms, med_type: str) -> None:
    """大额 (hifob) and 大病 (hifmi): where the tariff has both kinds for the insurance type, 大额 is
    the `la` layer, paid first, and 大病 the `cat` one, whichever of them the claim's status
    gets; else the one kind is the `cat` layer, as it always was. The layer follows the tariff,
    not the claim, so a fund keeps its accumulators when a status change brings or takes the other."""
    cat = t.catastrophic
    if med_type not in cat.burden_med_types:
        return
    hifob, hifmi = _tier_fund(cat, k, "hifob"), _tier_fund(cat, k, "hifmi")
    kinds = {f.fund for f in cat.funds if f.insutype == k["insutype"]}
    if hifmi is not None or (hifob is not None and "hifmi" not in kinds):
        single = hifmi if hifmi is not None else hifob
        terms.cat_fund = FUND_HIFMI if single.fund == "hifmi" else FUND_HIFOB
        _tier_terms(cat, single, terms, "cat")
    if hifob is not None and "hifmi" in kinds:
        terms.la = True
        _tier_terms(cat, hifob, terms, "la")


def _stage_terms(terms: Terms, prefix: str, stage: AssistanceStage, where: str) -> None:
    """Set the terms of one assistance stage: `maf` the first (or only) one, `maf2` the second."""
    ded, cap = ("maf_ded", "maf1_cap") if prefix == "maf" else ("maf2_ded", "maf2_cap")
    setattr(terms, ded, yuan_to_fen(stage.deductible))
    bounds, bps = _bands(stage.bands)
    setattr(terms, f"{prefix}_bounds", bounds)
    setattr(terms, f"{prefix}_bps", bps)
    setattr(terms, cap, _fen(stage.annual_cap))
    terms.paths.update({ded: f"{where}.deductible", f"{prefix}_bands": _band_paths(f"{where}.bands", stage.bands),
                        cap: f"{where}.annual_cap"})


def _assistance(t: Tariff, k: dict, terms: Terms, med_type: str) -> None:
    a = t.assistance
    status = next((s for s in a.statuses if s.status == k["assistance_status"]), None)
    if status is None or med_type not in a.med_types:
        return
    terms.maf = True
    terms.maf_cap = _fen(a.annual_cap)
    terms.paths["maf_cap"] = "assistance.annual_cap"
    at = item_path("assistance.statuses", a.statuses, status)
    stages = status.stage_list()
    for i, (prefix, stage) in enumerate(zip(("maf", "maf2"), stages)):
        _stage_terms(terms, prefix, stage, f"{at}.stages[{i}]" if status.stages else at)
    terms.maf2 = len(stages) > 1


POOL_TERMS = {"inpatient": _inpatient, "outpatient": _outpatient, "chronic": _chronic,
              "maternity": _maternity}
POOL_MED_TYPE = {"inpatient": "21", "outpatient": "11", "chronic": "14"}  # catastrophic, assistance by med type


def terms_for(t: Tariff, k: dict) -> Terms:
    """The terms of one combination of TERM_KEYS values."""
    terms = Terms()
    pool = k["fund_pool"]
    if not k["pays_basic"] or not pool:
        return terms
    terms.pool = POOLS.index(pool)
    terms.share_in_caps = t.item_shares.within_caps
    POOL_TERMS[pool](t, k, terms)
    terms.pool_prop_bp = terms.bps[0]
    med_type = POOL_MED_TYPE.get(pool, "")
    _catastrophic(t, k, terms, med_type)
    if k["pays_maf"]:
        _assistance(t, k, terms, med_type)
    return terms


ARRAY_FIELDS = tuple(f.name for f in fields(Terms) if f.name != "paths")


@dataclass(frozen=True)
class TermArrays:
    """Terms of claims: one array per `Terms` field (2-D for band fields), and `combo`, each
    claim's row in `paths` (the tariff entries of its combination).

    Held per distinct combination (`table`, a row each) and spread to claims (`rows`) when a
    field is read: broadcast to every claim at once, the 70-odd int64 fields were 250 MB at
    420,000 claims, the largest holder after the line pass. `rows` None: `table` is per claim
    already (a `take`, which the scan reads field by field)."""

    table: dict[str, np.ndarray]
    paths: tuple[dict[str, object], ...] = ()
    rows: np.ndarray | None = None

    @property
    def arrays(self) -> Mapping[str, np.ndarray]:
        return _Spread(self)

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            values = self.__dict__["table"][name]  # not self.table: a copy being built has none yet
        except KeyError:
            raise AttributeError(name) from None
        return values if self.rows is None else values[self.rows]

    def take(self, idx: np.ndarray) -> TermArrays:
        at = idx if self.rows is None else self.rows[idx]
        return TermArrays({k: v[at] for k, v in self.table.items()}, self.paths)


class _Spread(Mapping[str, np.ndarray]):
    """`TermArrays.arrays`: the fields by name, per claim."""

    def __init__(self, terms: TermArrays) -> None:
        self._terms = terms

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._terms.table:
            raise KeyError(name)
        return getattr(self._terms, name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._terms.table)

    def __len__(self) -> int:
        return len(self._terms.table)


def disease_codes(tariffs: dict[str, LoadedTariff], accumulators: pd.DataFrame | None = None) -> list[str]:
    """Every chronic-disease code of the tariffs in play, sorted: the per-disease accumulator
    slots. Then, with `accumulators`, the codes of their `chronic_paid` that no tariff in play
    knows (another region's, a disease dropped this year, a code typed `i10`): no claim draws on
    them, and they are carried into the accumulators after the batch as they came, not lost."""
    known = sorted({d.code for lt in tariffs.values() for d in lt.tariff.chronic.diseases})
    if accumulators is None or "chronic_paid" not in accumulators:
        return known
    cells = accumulators["chronic_paid"].dropna().astype(str).unique()
    return known + sorted({code for cell in cells for code, _ in amount_items(cell)} - set(known))


def build_terms(claims: pd.DataFrame, tariffs: dict[str, LoadedTariff]) -> TermArrays:
    """Terms for every claim, computed once per distinct TERM_KEYS combination."""
    codes = row_groups([claims[k] for k in TERM_KEYS])
    first = np.unique(codes, return_index=True)[1]
    slots = {code: i for i, code in enumerate(disease_codes(tariffs))}
    per_combo = []
    for row in zip(*(claims[k].to_numpy()[first].tolist() for k in TERM_KEYS)):
        k = dict(zip(TERM_KEYS, row))
        k["disease_slot"] = slots.get(k["chronic_disease"], -1)
        per_combo.append(terms_for(tariffs[k["tariff_key"]].tariff, k))
    table = {name: np.array([getattr(t, name) for t in per_combo], dtype=np.int64) for name in ARRAY_FIELDS}
    table["combo"] = np.arange(len(per_combo), dtype=np.int64)
    return TermArrays(table, tuple(t.paths for t in per_combo), codes)
