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
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.functional_validators import AfterValidator

from yibao.money import ratio_to_bp, yuan_to_fen

Insutype = Literal["310", "390"]
EmployeeStatus = Literal["any", "in_service", "retired"]
StatusKind = Literal["tekun", "dibao", "low_income", "relapse_monitored", "retired_cadre", "priority_care"]
MedType = Literal["11", "14", "21", "51", "52"]
Level = Annotated[int, Field(ge=1, le=4)]
Category = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
"""A resident category's name (`student`), or "any": the entry serves every category."""
MAX_COUNT = 10_000
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
"""Days, weeks, months or years in a policy: never negative (a filing window of -1 day rejected
every claim as late), and bounded, so that wage × days in fen (生育津贴) and a deadline on the
working-day calendar stay far inside their arithmetic (10^13 days overflowed to a negative
allowance)."""
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


def _entry(where: str, items: list[Any], item: Any) -> str:
    """An entry as `tariffs show`, `--set` and the trace name it (`inpatient.schemes[insutype=390,
    employee_status=any,level=2]`), not by a position a reordered file moves."""
    from yibao.tariffs.diff import item_path  # diff.py names entries by these classes: it imports this module

    return item_path(where, items, item)


def _unique(keys: list[Any], what: str) -> None:
    """Refuse a list naming one item twice (items are found, and diffed, by these keys)."""
    dup = sorted({k for k in keys if keys.count(k) > 1}, key=str)
    if dup:
        raise ValueError(f"{what} defined twice: {dup}")


class Strict(BaseModel):
    # defer_build: the validator is built when a model is first used, as one schema for the whole
    # Tariff, instead of for each of the ~40 classes at import (half the CLI's import time here)
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def _chosen(items: list[Any], wanted: tuple[Any, ...], employee_status: str, category: str,
            key: Any) -> Any:
    """The entry for the person: its own employee status, else "any"; within it, its own resident
    category (居民类别), else "any" (categories are residents', statuses employees')."""
    for status in dict.fromkeys((employee_status, "any")):
        for cat in dict.fromkeys((category, "any")):
            for s in items:
                if key(s) == wanted and getattr(s, "employee_status", "any") == status and s.category == cat:
                    return s
    return None


class ResidentCategory(Strict):
    """居民类别: residents (insutype 390) with their own schemes — children and students, the
    elderly. A person is in the category the persons table names (`resident_category`: students,
    whom age cannot tell), else in the one whose age range holds the age at admission."""

    name: Category
    title: str = ""
    age_from: int | None = Field(default=None, ge=0, le=150)
    age_below: int | None = Field(default=None, ge=1, le=150)

    @model_validator(mode="after")
    def _range(self) -> ResidentCategory:
        if self.name == "any":
            raise ValueError("'any' names the entries that serve every category: choose another name")
        if self.name == "none":
            raise ValueError("'none' names the persons without a category in reports: choose another name")
        if self.age_from is not None and self.age_below is not None and self.age_from >= self.age_below:
            raise ValueError(f"age_from {self.age_from} is not below age_below {self.age_below}")
        return self

    @property
    def by_age(self) -> bool:
        return self.age_from is not None or self.age_below is not None

    def ages(self) -> tuple[int, float]:
        """[from, below): the ages in the category (all, for a category without ages)."""
        return self.age_from or 0, float("inf") if self.age_below is None else self.age_below


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


class CoveredCap(Strict):
    """Caps on covered fees (政策范围内费用): the in-policy amount above the deductible that the
    ratio is applied to, per visit (claim), per calendar month and per year; None = no cap.

    A county writes "门诊统筹政策范围内费用年度限额 2000 元，报销 50%": the fund pays 50% of at
    most 2,000 yuan of covered fees a year, which is not the same as a cap of 1,000 on what the
    fund pays once deductibles, tilts and monthly limits come in."""

    per_visit: Yuan | None = None
    monthly: Yuan | None = None
    annual: Yuan | None = None


class InpatientScheme(Strict):
    """Deductible and ratio bands for one insurance type, employee status and level."""

    insutype: Insutype
    employee_status: EmployeeStatus = "any"
    level: Level
    category: Category = "any"
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
    child_age_below: Annotated[int, Field(ge=1, le=150)] | None = None
    child_deductible_factor: Ratio = Decimal(1)
    annual_cap: dict[Insutype, Yuan | None]
    annual_cap_by_category: dict[Category, Yuan | None] = {}  # a resident category's own, for annual_cap 390
    cap_basis: Literal["fund", "covered"] = "fund"
    # with cap_basis covered: whether the deductible borne counts against the cap (covered fees
    # from the first yuan) or only what lies above it (the default, as before the option)
    cap_counts_deductible: bool = False
    status_ratio_tilt: dict[StatusKind, Ratio] = {}
    out_of_area_cut: OutOfAreaCut = OutOfAreaCut()
    retired_cadre: RetiredCadre = RetiredCadre()
    schemes: list[InpatientScheme]

    @model_validator(mode="after")
    def _unique_schemes(self) -> Inpatient:
        _unique([(s.insutype, s.employee_status, s.level, s.category) for s in self.schemes], "inpatient scheme")
        return self

    @model_validator(mode="after")
    def _deductible_counted_on_covered_cap(self) -> Inpatient:
        if self.cap_counts_deductible and self.cap_basis != "covered":
            raise ValueError("cap_counts_deductible: true needs cap_basis: covered (a cap on what the fund "
                             "pays has no deductible in it): set cap_basis: covered or remove cap_counts_deductible")
        return self

    def scheme(self, insutype: str, employee_status: str, level: int, category: str = "any") -> InpatientScheme | None:
        return _chosen(self.schemes, (insutype, level), employee_status, category, lambda s: (s.insutype, s.level))

    def annual_cap_of(self, insutype: str, category: str = "any") -> tuple[str, Yuan | None]:
        """The annual cap's key (`annual_cap.390`, `annual_cap_by_category.student`) and amount."""
        if insutype == "390" and category in self.annual_cap_by_category:
            return f"annual_cap_by_category.{category}", self.annual_cap_by_category[category]
        return f"annual_cap.{insutype}", self.annual_cap.get(insutype)  # type: ignore[call-overload]


class TierFund(Strict):
    """Catastrophic (大病保险, `hifmi`) or large-amount (大额补充, `hifob`) tiers on the yearly burden."""

    fund: Literal["hifmi", "hifob"]
    insutype: Insutype
    statuses: list[StatusKind] = []
    threshold: Yuan
    tier_basis: Literal["gross", "above_threshold"] = "gross"
    tiers: Bands
    annual_cap: Yuan | None = None
    # what the fund's yearly base accumulates from each claim (docs/tariffs.md `catastrophic`)
    base: Literal["burden", "burden_after_deductible", "above_basic_cap"] = "burden"


class Catastrophic(Strict):
    burden_med_types: list[MedType] = ["21", "14"]
    funds: list[TierFund]

    @model_validator(mode="after")
    def _one_default_per_insutype(self) -> Catastrophic:
        defaults = [(f.fund, f.insutype) for f in self.funds if not f.statuses]
        dup = sorted({i for i in defaults if defaults.count(i) > 1})
        if dup:
            fund, insutype = dup[0]
            raise ValueError(f"two default (untilted) {fund} funds for insutype {insutype}: give one of them "
                             f"statuses, or remove one")
        _unique([(f.fund, f.insutype, tuple(sorted(f.statuses))) for f in self.funds], "tier fund")
        return self


MAX_STAGES = 2
"""Chained assistance stages per status: each has its own accumulators (deductible used, paid)."""


class AssistanceStage(Strict):
    """One stage of chained assistance: an annual deductible, bands, and optionally its own cap,
    on what the stages before it left the person to bear."""

    deductible: Yuan
    bands: Bands
    annual_cap: Yuan | None = None


class AssistanceStatus(Strict):
    """One assistance status: its annual deductible and its layers (bands on the claim's base),
    or `stages` chained one after the other (then no deductible or bands of its own)."""

    status: StatusKind
    deductible: Yuan | None = None
    bands: Bands | None = None
    stages: list[AssistanceStage] = []
    OMIT_WHEN_NONE: ClassVar[frozenset[str]] = frozenset({"deductible", "bands"})
    """Fields of the other form: not parameters of a status written in stages (`tariffs show`)."""

    @model_validator(mode="after")
    def _one_form(self) -> AssistanceStatus:
        if self.stages:
            if self.deductible is not None or self.bands is not None:
                raise ValueError("give either deductible and bands, or stages, not both")
            if len(self.stages) > MAX_STAGES:
                raise ValueError(f"{len(self.stages)} stages: at most {MAX_STAGES} are supported")
        elif self.deductible is None or self.bands is None:
            raise ValueError("deductible and bands are needed (or stages, each with its deductible and bands)")
        return self

    def stage_list(self) -> list[AssistanceStage]:
        """The stages; the single-stage form is one stage without a cap of its own."""
        if self.stages:
            return list(self.stages)
        return [AssistanceStage(deductible=self.deductible, bands=self.bands)]  # type: ignore[arg-type]


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
    category: Category = "any"
    levels: list[Level]
    deductible: Yuan
    ratio_by_level: dict[Level, Ratio]
    annual_cap: Yuan | None = None
    monthly_cap: Yuan | None = None
    covered_cap: CoveredCap = CoveredCap()

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
        _unique([(s.insutype, s.employee_status, s.category) for s in self.schemes], "outpatient scheme")
        return self

    def scheme(self, insutype: str, employee_status: str, category: str = "any") -> OutpatientScheme | None:
        return _chosen(self.schemes, (insutype,), employee_status, category, lambda s: (s.insutype,))


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
    category: Category = "any"
    ratio: Ratio


class Chronic(Strict):
    deductible: Yuan = Decimal(0)
    # per_claim: every visit pays the deductible; annual: used up across the year's visits
    deductible_scope: Literal["per_claim", "annual"] = "per_claim"
    covered_cap: CoveredCap = CoveredCap()  # over all of a person's chronic visits, whatever the disease
    ratios: list[ChronicRatio]
    waive_preselfpay_groups: list[Literal["ordinary", "major"]] = []
    fallback_to_outpatient: bool = False
    certification_years: Count = 2
    review_days: list[str] = ["01-01", "04-01", "07-01", "10-01"]
    diseases: list[ChronicDisease]

    @field_validator("review_days")
    @classmethod
    def _days_of_the_year(cls, days: list[str]) -> list[str]:
        """Checked with the tariff: "02-30" passed `tariffs validate`, then stopped the first
        chronic application scored under it."""
        for text in days:
            month, _, day = text.partition("-")
            try:
                dt.date(2000, int(month), int(day))  # 2000 is a leap year: 02-29 is a day of some years
            except ValueError:
                raise ValueError(f"{text!r} is not a day of the year (MM-DD)") from None
        return days

    @model_validator(mode="after")
    def _unique_entries(self) -> Chronic:
        _unique([(r.insutype, r.group, r.category) for r in self.ratios], "chronic ratio")
        _unique([d.code for d in self.diseases], "chronic disease")
        return self

    def ratio(self, insutype: str, group: str, category: str = "any") -> ChronicRatio | None:
        return _chosen(self.ratios, (insutype, group), "any", category, lambda r: (r.insutype, r.group))

    def disease_for(self, diagnosis: str) -> ChronicDisease | None:
        for d in self.diseases:
            if d.matches(diagnosis):
                return d
        return None


class MiscarriageDays(Strict):
    below_weeks: Count
    days: Count


class Rounding(Strict):
    """How an amount is rounded: to the fen (default), jiao or yuan, half-up or truncated."""

    unit: Literal["fen", "jiao", "yuan"] = "fen"
    mode: Literal["half_up", "truncate"] = "half_up"


class Allowance(Strict):
    """生育津贴 = wage × days ÷ divisor_days, rounded as `rounding` says."""

    divisor_days: Annotated[int, Field(ge=1, le=MAX_COUNT)] = 30
    rounding: Rounding = Rounding()
    delivery_days: Count
    extra_days_by_delivery: dict[Literal["vaginal", "assisted", "caesarean"], Count] = {}
    extra_days_per_additional_infant: Count = 0
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
    min_contribution_months: Count
    left_employment_window_months: Count
    spouse_factor: Ratio
    quotas: dict[str, Yuan]
    abortion_below_weeks: Count = 12
    induction_from_weeks: Count = 28
    allowance: Allowance
    resident_quotas: dict[str, Yuan]
    grant: Grant | None = None  # absent: no one-off grant


class ReferralKind(Strict):
    """转诊转院 filing: when it must be filed relative to admission, and with what."""

    filed_by: Literal["before_admission", "workdays_after_admission"]
    window_workdays: Count = 0
    materials: list[str]


class Referral(Strict):
    kinds: dict[Literal["emergency", "chemo", "normal"], ReferralKind]
    retired_cadre_materials: list[str] = []


WHOLE_LINE_EDITS = ("GENDER", "AGE", "LEVEL", "SETTING", "INDICATION")
QUANTITY_EDITS = ("QTY_DAY", "BED_DAYS")
SUSPECT_EDITS = ("SPLIT_ADMISSION",)
"""The audit edits (智能审核) yibao applies, definite then suspect: a tariff prices each (title,
penalty rate) and cannot add or drop one. An edit it lacked still took its amount, and settlement
then withheld every claim it touched ("not an audit edit of its tariff"); one it added, or
renamed (`--set audit.edits[code=GENDER].code=GX`), was never applied."""


class AuditEdit(Strict):
    code: str
    title: str
    severity: Literal["definite", "suspect"]
    penalty_rate: Ratio = Decimal(0)


class Audit(Strict):
    split_admission_days: Count = 15
    edits: list[AuditEdit]

    @model_validator(mode="after")
    def _the_engines_edits(self) -> Audit:
        codes = [e.code for e in self.edits]
        _unique(codes, "audit edit")
        kinds = {**dict.fromkeys(WHOLE_LINE_EDITS + QUANTITY_EDITS, "definite"), **dict.fromkeys(SUSPECT_EDITS, "suspect")}
        unknown = [c for c in codes if c not in kinds]
        if unknown:
            raise ValueError(f"audit edit {unknown[0]} is not one yibao applies: the edits are {', '.join(kinds)}")
        lacked = [c for c in kinds if c not in codes]
        if lacked:
            raise ValueError(f"audit edit {lacked[0]} is not listed: yibao applies it, and settlement needs its "
                             f"title and penalty_rate (the edits are {', '.join(kinds)})")
        wrong = next((e for e in self.edits if e.severity != kinds[e.code]), None)
        if wrong is not None:
            raise ValueError(f"audit edit {wrong.code}: severity {wrong.severity}, but yibao treats it as "
                             f"{kinds[wrong.code]}")
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

    manual_claim_workdays: Count
    assistance_manual_claim_workdays: Count
    maternity_application_workdays: Count
    assistance_application_workdays: Count
    referral_application_workdays: Count = 0
    major_chronic_application_workdays: Count = 0
    manual_filing_window_days: Count


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
    resident_categories: list[ResidentCategory] = []
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
        funds = self.catastrophic.funds
        uses = [(f"{_entry('catastrophic.funds', funds, f)}.statuses", s) for f in funds for s in f.statuses]
        uses += [(f"inpatient.status_ratio_tilt.{s}", s) for s in self.inpatient.status_ratio_tilt]
        for where, status in uses:
            if status not in declared:
                raise ValueError(f"{where}: status '{status}' is not declared in assistance.statuses, so "
                                 f"its tilt would never apply: add it there (deductible, bands) or remove it here")
        return self

    @model_validator(mode="after")
    def _categories_defined(self) -> Tariff:
        """Every category a scheme names is defined, once; age ranges do not overlap, so a
        resident's age gives one category."""
        cats = self.resident_categories
        _unique([c.name for c in cats], "resident category")
        aged = sorted((c for c in cats if c.by_age), key=lambda c: c.ages())
        for a, b in zip(aged, aged[1:]):
            if b.ages()[0] < a.ages()[1]:
                raise ValueError(f"resident_categories: the ages of '{a.name}' and '{b.name}' overlap "
                                 f"(a resident's age must give one category): make one end where the other begins")
        defined = {c.name for c in cats}
        lists: list[tuple[str, list[Any]]] = [("inpatient.schemes", self.inpatient.schemes),
                                              ("outpatient.schemes", self.outpatient.schemes),
                                              ("chronic.ratios", self.chronic.ratios)]
        entries = [(_entry(where, items, entry), entry) for where, items in lists for entry in items]
        for where, entry in entries:
            if entry.insutype != "390" and entry.category != "any":
                raise ValueError(f"{where}.category: '{entry.category}' on an insutype {entry.insutype} entry would "
                                 f"never apply (resident categories are for insutype 390): remove it")
        uses = [(f"{where}.category", entry.category) for where, entry in entries]
        uses += [(f"inpatient.annual_cap_by_category.{c}", c) for c in self.inpatient.annual_cap_by_category]
        for where, name in uses:
            if name != "any" and name not in defined:
                known = ", ".join(sorted(defined)) or "none yet"
                raise ValueError(f"{where}: category '{name}' is not defined in resident_categories "
                                 f"(defined: {known}): add it there (name, age_from/age_below) or correct the name")
        return self

    @model_validator(mode="after")
    def _others_keep_an_entry(self) -> Tariff:
        """A category's own inpatient scheme or chronic ratio serves that category only: the other
        residents (and those whose age is not known) still need the entry without a category, or
        their claims would find no terms to be paid by."""
        schemes, ratios = self.inpatient.schemes, self.chronic.ratios
        entries = [("inpatient.schemes", schemes, s, (s.insutype, s.employee_status, s.level), f"level {s.level}")
                   for s in schemes]
        entries += [("chronic.ratios", ratios, r, (r.insutype, r.group), f"group {r.group}") for r in ratios]
        general = {(where, key) for where, _, entry, key, _ in entries if entry.category == "any"}
        for where, items, entry, key, what in entries:
            if (where, key) not in general:
                raise ValueError(f"{_entry(where, items, entry)}.category: only '{entry.category}' has an entry "
                                 f"for insutype {entry.insutype}, {what}: the other residents' claims would find "
                                 f"none: add one without a category")
        return self

    @model_validator(mode="after")
    def _every_claim_finds_terms(self) -> Tariff:
        """An admission at any level and a chronic visit of any listed disease find their terms,
        for residents and for employees of either status (directly or through `any`); else a
        claim would stop the batch instead of being paid."""
        for insutype, statuses in (("390", ("any",)), ("310", ("in_service", "retired"))):
            for status, level in ((s, lv) for s in statuses for lv in range(1, 5)):
                if self.inpatient.scheme(insutype, status, level) is None:
                    who = f"employee_status {status} (or any), " if insutype == "310" else ""
                    raise ValueError(f"inpatient.schemes: none for insutype {insutype}, {who}level {level}: "
                                     f"such an admission would find no terms: add one")
            for group in sorted({d.group for d in self.chronic.diseases}):
                if self.chronic.ratio(insutype, group) is None:
                    raise ValueError(f"chronic.ratios: none for insutype {insutype}, group {group}: a chronic "
                                     f"visit of such a disease would find no ratio: add one")
        return self

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    def in_force(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)
