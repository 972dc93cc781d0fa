"""Which pool pays an inpatient or general-outpatient claim, and the terms that follow from the person.

The pool is a finding other rules chain on: the inpatient pool brings the child deductible, the
retired-cadre terms and the out-of-area rules (referral.py); the outpatient pool brings the
level restriction (门诊统筹限基层), also for a chronic claim that falls back to it; every pool
with schemes brings a resident's category (居民类别), which picks the category's own schemes.
"""

from __future__ import annotations

from yibao.rules.rule import (Cond, Effect, Fact, Refuse, RuleList, Set, all_of, any_of, eq, ne, none_of,
                              pool, yes)
from yibao.tariffs.model import Tariff

POOLS = RuleList()
rule = POOLS.rule
EMPLOYEE_STATUSES = ("in_service", "retired", "")  # the `emp` fact: "" for residents
MED_TYPE_POOL = {"21": "inpatient", "11": "outpatient", "14": "chronic"}  # tariff med types → pools


def own_outpatient(t: Tariff) -> dict[str, list[int]]:
    """Resident categories with their own outpatient scheme, and its levels."""
    return {s.category: s.levels for s in t.outpatient.schemes if s.insutype == "390" and s.category != "any"}


def pools_of(med_types: list[str]) -> tuple[str, ...]:
    """The pools of the tariff's med-type lists (assistance, catastrophic burden)."""
    return tuple(MED_TYPE_POOL[m] for m in med_types if m in MED_TYPE_POOL)


@rule("INP-001", "Inpatient claim paid from the inpatient pool (普通住院)",
      basis="docs/tariffs.md inpatient; docs/domain.md §4.2", concludes="fund_pool inpatient; finding pool",
      when=lambda t: eq("kind", "claim") & eq("med_type", "21"))
def _inpatient(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return pool("inpatient")


@rule("INP-002", "Resident child: reduced deductible (未成年居民起付线减半)",
      basis="docs/tariffs.md inpatient (residents younger than 14 on the admission date)",
      concludes="child_deductible", params=("inpatient.child_age_below", "inpatient.child_deductible_factor"),
      given="pool", given_values=lambda t: ("inpatient",),
      when=lambda t: yes("child") & eq("insutype", "390"))
def _child(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Set({"child_deductible": True})]


@rule("INP-003", "Retired cadre's own terms (离休干部待遇)",
      basis="docs/tariffs.md inpatient (retired cadres); 西平县流程图 四.3 离休干部",
      concludes="retired_cadre", params=("inpatient.retired_cadre",),
      given="pool", given_values=lambda t: ("inpatient",), when=lambda t: yes("cadre"))
def _cadre(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Set({"retired_cadre": True})]


def _no_scheme_without_status(t: Tariff) -> tuple[str, ...]:
    """The pools whose employees' schemes all name a status (no `employee_status: any` to fall
    back on), so an employee whose status the persons table leaves empty has no terms there."""
    inpatient = any(t.inpatient.scheme("310", "any", level) is None for level in range(1, 5))
    return ("inpatient",) * inpatient + ("outpatient",) * (t.outpatient.scheme("310", "any") is None)


@rule("INP-004", "Employee status unknown (在职退休状态不明)",
      basis="docs/tariffs.md inpatient and outpatient schemes (employees' terms by employee_status)",
      concludes="refusal EMPLOYEE_STATUS_UNKNOWN", params=("inpatient.schemes", "outpatient.schemes"),
      given="pool", given_values=_no_scheme_without_status, when=lambda t: eq("insutype", "310") & eq("emp", ""))
def _status_unknown(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Refuse("EMPLOYEE_STATUS_UNKNOWN", "参保职工的在职/退休状态未登记（人员表 employee_status 为空），"
                                              "无法确定适用的报销政策，请补充后重新申报。")]


@rule("RES-001", "Resident category's own terms (居民类别待遇)",
      basis="docs/tariffs.md resident categories (students and infants, the elderly: their own deductible, "
            "ratio and cap)",
      concludes="resident_category", params=("resident_categories",),
      given="pool", given_values=lambda t: ("inpatient", "outpatient", "chronic"),
      when=lambda t: ne("category", ""), uses=("category",))
def _category(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Set({"resident_category": f["category"]})]


@rule("OUT-001", "General outpatient claim paid from the outpatient pool (普通门诊统筹)",
      basis="docs/tariffs.md outpatient", concludes="fund_pool outpatient; finding pool",
      when=lambda t: eq("kind", "claim") & eq("med_type", "11"))
def _outpatient(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return pool("outpatient")


def _level_outside_scheme(t: Tariff) -> Cond:
    """Person kinds and institution levels the outpatient schemes do not cover. Residents have no
    employee status (`emp` ""); those of a category with its own scheme are OUT-003's."""
    kinds = [("310", status) for status in EMPLOYEE_STATUSES] + [("390", "")]
    branches = []
    for insutype, status in kinds:
        who = [eq("insutype", insutype), eq("emp", status)]
        who += [eq("cat_level", "")] if insutype == "390" and own_outpatient(t) else []
        scheme = t.outpatient.scheme(insutype, status or "any")
        if scheme is None and insutype == "310" and not status:
            continue  # an employee of unknown status: INP-004 says why
        levels = none_of("level", scheme.levels) if scheme else None
        branches.append(all_of(who + ([levels] if levels is not None else [])))
    return any_of(branches)


def _level_refused(f: Fact) -> list[Effect]:
    return [Refuse("OUTPATIENT_LEVEL", f"普通门诊统筹限在规定级别的定点医疗机构就医（门诊统筹限基层），"
                                       f"本次就诊机构为{f['level']}级，不在门诊统筹支付范围内，不予支付。")]


@rule("OUT-002", "General outpatient outside the covered levels (门诊统筹限基层)",
      basis="docs/tariffs.md outpatient (residents: level 1 only; elsewhere refused)",
      concludes="refusal OUTPATIENT_LEVEL", params=("outpatient.schemes",),
      given="pool", given_values=lambda t: ("outpatient",), when=_level_outside_scheme)
def _outpatient_level(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return _level_refused(f)


@rule("OUT-003", "Resident category's outpatient scheme outside its levels (居民类别门诊统筹限定级别)",
      basis="docs/tariffs.md resident categories (a category's own outpatient scheme lists its levels)",
      concludes="refusal OUTPATIENT_LEVEL", params=("outpatient.schemes", "resident_categories"),
      given="pool", given_values=lambda t: ("outpatient",), when=lambda t: eq("cat_level", "out"),
      uses=("level",))
def _category_level(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return _level_refused(f)
