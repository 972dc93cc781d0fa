"""The tariff (政策参数): every number the rules and the calculator use, as validated data.

Counties publish their benefit tables in many shapes; the model carries the variants users will
need to encode their own county (band bounds on the gross amount or above the deductible, caps on
the fund payment or on the covered fees, per-admission or annual deductibles, monthly limits,
pre-self-pay shares by item kind, several assistance layers). Money is written in yuan and held
in fen; ratios are written as decimals and held in basis points. Validation errors name the
field and value so a policy officer can fix a YAML file without reading code.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.functional_validators import AfterValidator

from yibao.money import ratio_to_bp, yuan_to_fen

Insutype = Literal["310", "390"]
EmployeeStatus = Literal["any", "in_service", "retired"]
StatusKind = Literal["tekun", "dibao", "low_income", "relapse_monitored", "retired_cadre", "priority_care"]
MedType = Literal["11", "14", "21", "51", "52"]
Level = Annotated[int, Field(ge=1, le=4)]
MAX_BANDS = 4
"""Bands (and tiers, layers) per list: the calculator holds this many per claim, vectorized."""


MAX_TARIFF_YUAN = Decimal(10**9)
"""No deductible, cap, quota or threshold comes near a billion yuan; a bound keeps a typo (1e30)
out of the int64 fen arithmetic."""


def _check_yuan(v: Decimal) -> Decimal:
    if v < 0:
        raise ValueError(f"amount {v} is negative")
    if v > MAX_TARIFF_YUAN:
        raise ValueError(f"amount {v} is above {MAX_TARIFF_YUAN:,} yuan")
    yuan_to_fen(v)
    return v


def _check_ratio(v: Decimal) -> Decimal:
    if not Decimal(0) <= v <= Decimal(1):
        raise ValueError(f"ratio {v} is outside [0, 1]")
    ratio_to_bp(v)
    return v


Yuan = Annotated[Decimal, AfterValidator(_check_yuan)]
Ratio = Annotated[Decimal, AfterValidator(_check_ratio)]


def fen(v: Decimal | None) -> int | None:
    return None if v is None else yuan_to_fen(v)


def bp(v: Decimal) -> int:
    return ratio_to_bp(v)


def _unique(keys: list[Any], what: str) -> None:
    """Refuse a list naming one item twice (items are found, and diffed, by these keys)."""
    dup = sorted({k for k in keys if keys.count(k) > 1}, key=str)
    if dup:
        raise ValueError(f"{what} defined twice: {dup}")


class Strict(BaseModel):
    # defer_build: the validator is built when a model is first used, as one schema for the whole
    # Tariff, instead of for each of the ~40 classes at import (half the CLI's import time here)
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Band(Strict):
    """Amounts up to `upto` (None = no upper bound) are paid at `ratio`."""

    upto: Yuan | None = None
    ratio: Ratio


def _check_bands(bands: list[Band]) -> list[Band]:
    if not bands:
        raise ValueError("at least one band is needed")
    if len(bands) > MAX_BANDS:
        raise ValueError(f"{len(bands)} bands: at most {MAX_BANDS} are supported; merge adjacent bands")
    bounds = [b.upto for b in bands]
    if bounds[-1] is not None:
        raise ValueError("the last band must be open (upto: null)")
    inner = [b for b in bounds[:-1]]
    if any(b is None for b in inner):
        raise ValueError("only the last band may be open")
    if any(a >= b for a, b in zip(inner, inner[1:])):  # type: ignore[operator]
        raise ValueError(f"band bounds {[str(b) for b in inner]} are not ascending")
    return bands


Bands = Annotated[list[Band], AfterValidator(_check_bands)]


class InpatientScheme(Strict):
    """Deductible and ratio bands for one insurance type, employee status and level."""

    insutype: Insutype
    employee_status: EmployeeStatus = "any"
    level: Level
    deductible: Yuan
    bands: Bands


class OutOfAreaCut(Strict):
    """Ratio points taken off out-of-area (异地) inpatient care, by what the person filed."""

    remote_residence: Ratio = Decimal(0)
    referral: Ratio = Decimal(0)
    unreferred: Ratio = Decimal(0)
    unreferred_refused: bool = False


class RetiredCadre(Strict):
    """离休干部: their own, more generous, basic-fund terms."""

    deductible_factor: Ratio = Decimal(0)
    ratio: Ratio = Decimal(1)
    capped: bool = False


class Inpatient(Strict):
    band_basis: Literal["gross", "above_deductible"] = "gross"
    deductible_scope: Literal["per_admission", "annual"] = "per_admission"
    repeat_admission_factor: Ratio = Decimal(1)
    child_age_below: int | None = None
    child_deductible_factor: Ratio = Decimal(1)
    annual_cap: dict[Insutype, Yuan | None]
    cap_basis: Literal["fund", "covered"] = "fund"
    status_ratio_tilt: dict[StatusKind, Ratio] = {}
    out_of_area_cut: OutOfAreaCut = OutOfAreaCut()
    retired_cadre: RetiredCadre = RetiredCadre()
    schemes: list[InpatientScheme]

    @model_validator(mode="after")
    def _unique_schemes(self) -> Inpatient:
        _unique([(s.insutype, s.employee_status, s.level) for s in self.schemes], "inpatient scheme")
        return self

    def scheme(self, insutype: str, employee_status: str, level: int) -> InpatientScheme | None:
        for status in (employee_status, "any"):
            for s in self.schemes:
                if (s.insutype, s.employee_status, s.level) == (insutype, status, level):
                    return s
        return None


class TierFund(Strict):
    """Catastrophic (大病保险, `hifmi`) or large-amount (大额补充, `hifob`) tiers on the yearly burden."""

    fund: Literal["hifmi", "hifob"]
    insutype: Insutype
    statuses: list[StatusKind] = []
    threshold: Yuan
    tier_basis: Literal["gross", "above_threshold"] = "gross"
    tiers: Bands
    annual_cap: Yuan | None = None


class Catastrophic(Strict):
    burden_med_types: list[MedType] = ["21", "14"]
    funds: list[TierFund]

    @model_validator(mode="after")
    def _one_default_per_insutype(self) -> Catastrophic:
        defaults = [f.insutype for f in self.funds if not f.statuses]
        dup = {i for i in defaults if defaults.count(i) > 1}
        if dup:
            raise ValueError(f"more than one untilted tier fund for insutype {sorted(dup)}")
        _unique([(f.fund, f.insutype, tuple(sorted(f.statuses))) for f in self.funds], "tier fund")
        return self


class AssistanceStatus(Strict):
    """One assistance status: its annual deductible and its layers (bands on the claim's base)."""

    status: StatusKind
    deductible: Yuan
    bands: Bands


class Assistance(Strict):
    """医疗救助: listed in precedence order (the first valid status applies)."""

    med_types: list[MedType] = ["21", "14"]
    annual_cap: Yuan | None = None
    statuses: list[AssistanceStatus]

    @model_validator(mode="after")
    def _unique_statuses(self) -> Assistance:
        _unique([s.status for s in self.statuses], "assistance status")
        return self


class OutpatientScheme(Strict):
    insutype: Insutype
    employee_status: EmployeeStatus = "any"
    levels: list[Level]
    deductible: Yuan
    ratio_by_level: dict[Level, Ratio]
    annual_cap: Yuan | None = None
    monthly_cap: Yuan | None = None

    @model_validator(mode="after")
    def _levels_have_ratios(self) -> OutpatientScheme:
        missing = [lv for lv in self.levels if lv not in self.ratio_by_level]
        if missing:
            raise ValueError(f"levels {missing} have no ratio_by_level entry")
        return self


class Outpatient(Strict):
    schemes: list[OutpatientScheme]

    @model_validator(mode="after")
    def _unique_schemes(self) -> Outpatient:
        _unique([(s.insutype, s.employee_status) for s in self.schemes], "outpatient scheme")
        return self

    def scheme(self, insutype: str, employee_status: str) -> OutpatientScheme | None:
        for status in (employee_status, "any"):
            for s in self.schemes:
                if (s.insutype, s.employee_status) == (insutype, status):
                    return s
        return None


class ChronicDisease(Strict):
    """门诊慢特病 disease; `code` is a prefix of ICD-10 codes, or a range such as C00-C97."""

    code: str
    name: str
    group: Literal["ordinary", "major"]
    annual_cap: Yuan
    evidence: Literal["standard", "specialist_diagnosis"] = "standard"

    def matches(self, diagnosis: str) -> bool:
        dx = diagnosis.strip().upper()
        if "-" in self.code:
            lo, hi = self.code.split("-")
            return lo <= dx[:3] <= hi
        return dx.startswith(self.code)


class ChronicRatio(Strict):
    insutype: Insutype
    group: Literal["ordinary", "major"]
    ratio: Ratio


class Chronic(Strict):
    deductible: Yuan = Decimal(0)
    # per_claim: every visit pays the deductible; annual: used up across the year's visits
    deductible_scope: Literal["per_claim", "annual"] = "per_claim"
    ratios: list[ChronicRatio]
    waive_preselfpay_groups: list[Literal["ordinary", "major"]] = []
    fallback_to_outpatient: bool = False
    certification_years: int = 2
    review_days: list[str] = ["01-01", "04-01", "07-01", "10-01"]
    diseases: list[ChronicDisease]

    @model_validator(mode="after")
    def _unique_entries(self) -> Chronic:
        _unique([(r.insutype, r.group) for r in self.ratios], "chronic ratio")
        _unique([d.code for d in self.diseases], "chronic disease")
        return self

    def disease_for(self, diagnosis: str) -> ChronicDisease | None:
        for d in self.diseases:
            if d.matches(diagnosis):
                return d
        return None


class MiscarriageDays(Strict):
    below_weeks: int
    days: int


class Rounding(Strict):
    """How an amount is rounded: to the fen (default), jiao or yuan, half-up or truncated."""

    unit: Literal["fen", "jiao", "yuan"] = "fen"
    mode: Literal["half_up", "truncate"] = "half_up"


class Allowance(Strict):
    """生育津贴 = wage × days ÷ divisor_days, rounded as `rounding` says."""

    divisor_days: int = 30
    rounding: Rounding = Rounding()
    delivery_days: int
    extra_days_by_delivery: dict[Literal["vaginal", "assisted", "caesarean"], int] = {}
    extra_days_per_additional_infant: int = 0
    miscarriage: list[MiscarriageDays] = []


class Grant(Strict):
    """一次性生育补助金: a one-off sum per delivery (or per infant), either `amount` yuan or
    `wage_months` × the employer's average monthly wage (rounded as `rounding` says), for the
    maternity routes listed in `routes` (docs/tariffs.md)."""

    amount: Yuan | None = None
    wage_months: Annotated[Decimal, Field(gt=0, le=24, decimal_places=4)] | None = None
    per: Literal["delivery", "infant"] = "delivery"
    routes: list[Literal["employee", "separated", "spouse"]] = ["employee", "spouse"]
    rounding: Rounding = Rounding()

    @model_validator(mode="after")
    def _one_basis(self) -> Grant:
        if (self.amount is None) == (self.wage_months is None):
            raise ValueError("give the grant either as amount (yuan) or as wage_months, one of the two")
        return self


class Maternity(Strict):
    min_contribution_months: int
    left_employment_window_months: int
    spouse_factor: Ratio
    quotas: dict[str, Yuan]
    abortion_below_weeks: int = 12
    induction_from_weeks: int = 28
    allowance: Allowance
    resident_quotas: dict[str, Yuan]
    grant: Grant | None = None  # absent: no one-off grant


class ReferralKind(Strict):
    """转诊转院 filing: when it must be filed relative to admission, and with what."""

    filed_by: Literal["before_admission", "workdays_after_admission"]
    window_workdays: int = 0
    materials: list[str]


class Referral(Strict):
    kinds: dict[Literal["emergency", "chemo", "normal"], ReferralKind]
    retired_cadre_materials: list[str] = []


class AuditEdit(Strict):
    code: str
    title: str
    severity: Literal["definite", "suspect"]
    penalty_rate: Ratio = Decimal(0)


class Audit(Strict):
    split_admission_days: int = 15
    edits: list[AuditEdit]

    @model_validator(mode="after")
    def _unique_codes(self) -> Audit:
        _unique([e.code for e in self.edits], "audit edit")
        return self

    def edit(self, code: str) -> AuditEdit:
        for e in self.edits:
            if e.code == code:
                return e
        raise KeyError(code)


class ChronicApplicationMaterials(Strict):
    required: list[str]
    evidence_any_of: list[str]
    specialist_evidence: list[str] = []


class Materials(Strict):
    """Material codes with their Chinese names, and what each kind of case requires."""

    names: dict[str, str]
    manual_claim: dict[MedType, list[str]]
    maternity_delivery_extra: list[str] = []
    maternity_left_employment: list[str] = []
    maternity_spouse: list[str] = []
    maternity_application: list[str] = []
    chronic_application: ChronicApplicationMaterials
    assistance_pending: list[str]
    assistance_application: list[str] = []
    assistance_application_any_of: list[str] = []
    trauma_missing: list[str]


class Deadlines(Strict):
    """Legal decision deadlines in working days (工作日), and the manual filing window."""

    manual_claim_workdays: int
    assistance_manual_claim_workdays: int
    maternity_application_workdays: int
    assistance_application_workdays: int
    referral_application_workdays: int = 0
    major_chronic_application_workdays: int = 0
    manual_filing_window_days: int


class Settlement(Strict):
    deposit_ratio: Ratio


class ItemShares(Strict):
    """Items with a fixed person share (the catalogue's `person_share`): whether the part the basic
    fund pays directly counts against the basic fund's limits (annual and monthly caps, a
    maternity quota) like the rest of its payment, or is paid outside them."""

    within_caps: bool = True


class Tariff(Strict):
    id: str
    version: str
    region: str
    title: str
    note: str = ""
    effective_from: dt.date
    effective_to: dt.date | None = None
    catalogue: str = "catalogue.csv"
    preselfpay_by_kind: dict[Literal["drug", "service", "material", "bed"], Ratio] = {}
    inpatient: Inpatient
    catastrophic: Catastrophic
    assistance: Assistance
    outpatient: Outpatient
    chronic: Chronic
    maternity: Maternity
    referral: Referral
    audit: Audit
    materials: Materials
    deadlines: Deadlines
    settlement: Settlement
    item_shares: ItemShares = ItemShares()

    @field_validator("effective_to")
    @classmethod
    def _period(cls, v: dt.date | None, info) -> dt.date | None:  # type: ignore[no-untyped-def]
        start = info.data.get("effective_from")
        if v is not None and start is not None and v < start:
            raise ValueError(f"effective_to {v} is before effective_from {start}")
        return v

    @model_validator(mode="after")
    def _codes_defined(self) -> Tariff:
        m = self.materials
        used: list[tuple[str, str]] = []
        for med_type, codes in m.manual_claim.items():
            used += [(f"materials.manual_claim.{med_type}", c) for c in codes]
        for name in ("maternity_delivery_extra", "maternity_left_employment", "maternity_spouse",
                     "maternity_application", "assistance_pending", "assistance_application",
                     "assistance_application_any_of", "trauma_missing"):
            used += [(f"materials.{name}", c) for c in getattr(m, name)]
        ca = m.chronic_application
        used += [("materials.chronic_application", c)
                 for c in ca.required + ca.evidence_any_of + ca.specialist_evidence]
        for kind, rk in self.referral.kinds.items():
            used += [(f"referral.kinds.{kind}.materials", c) for c in rk.materials]
        used += [("referral.retired_cadre_materials", c) for c in self.referral.retired_cadre_materials]
        undefined = [f"{where}: {code}" for where, code in used if code not in m.names]
        if undefined:
            raise ValueError("material codes not defined in materials.names: " + "; ".join(undefined))
        return self

    @model_validator(mode="after")
    def _statuses_declared(self) -> Tariff:
        """A person's status is the assistance status valid on the day, so a tilt for a status
        `assistance.statuses` does not list would never apply: refused rather than ignored."""
        declared = {s.status for s in self.assistance.statuses}
        uses = [(f"catastrophic.funds[{i}].statuses", s) for i, f in enumerate(self.catastrophic.funds)
                for s in f.statuses]
        uses += [(f"inpatient.status_ratio_tilt.{s}", s) for s in self.inpatient.status_ratio_tilt]
        for where, status in uses:
            if status not in declared:
                raise ValueError(f"{where}: status '{status}' is not declared in assistance.statuses, so "
                                 f"its tilt would never apply: add it there (deductible, bands) or remove it here")
        return self

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    def in_force(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)
