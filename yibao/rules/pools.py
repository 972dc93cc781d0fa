"""Which pool pays an inpatient or general-outpatient claim, and the terms that follow from the person.

The pool is a finding other rules chain on: the inpatient pool brings the child deductible, the
retired-cadre terms and the out-of-area rules (referral.py); the outpatient pool brings the
level restriction (门诊统筹限基层), also for a chronic claim that falls back to it.
"""

from __future__ import annotations

from yibao.rules.rule import (Cond, Effect, Fact, Refuse, RuleList, Set, all_of, any_of, eq, none_of,
                              pool, yes)
from yibao.tariffs.model import Tariff

POOLS = RuleList()
rule = POOLS.rule
INSUTYPES = ("310", "390")
EMPLOYEE_STATUSES = ("in_service", "retired", "")  # the `emp` fact: "" for residents
MED_TYPE_POOL = {"21": "inpatient", "11": "outpatient", "14": "chronic"}  # tariff med types → pools


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


@rule("OUT-001", "General outpatient claim paid from the outpatient pool (普通门诊统筹)",
      basis="docs/tariffs.md outpatient", concludes="fund_pool outpatient; finding pool",
      when=lambda t: eq("kind", "claim") & eq("med_type", "11"))
def _outpatient(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return pool("outpatient")


def _level_outside_scheme(t: Tariff) -> Cond:
    """Person kinds and institution levels the outpatient schemes do not cover."""
    branches = []
    for insutype in INSUTYPES:
        for status in EMPLOYEE_STATUSES:
            who = [eq("insutype", insutype), eq("emp", status)]
            scheme = t.outpatient.scheme(insutype, status or "any")
            levels = none_of("level", scheme.levels) if scheme else None
            branches.append(all_of(who + ([levels] if levels is not None else [])))
    return any_of(branches)


@rule("OUT-002", "General outpatient outside the covered levels (门诊统筹限基层)",
      basis="docs/tariffs.md outpatient (residents: level 1 only; elsewhere refused)",
      concludes="refusal OUTPATIENT_LEVEL", params=("outpatient.schemes",),
      given="pool", given_values=lambda t: ("outpatient",), when=_level_outside_scheme)
def _outpatient_level(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Refuse("OUTPATIENT_LEVEL", f"普通门诊统筹限在规定级别的定点医疗机构就医（门诊统筹限基层），"
                                       f"本次就诊机构为{f['level']}级，不在门诊统筹支付范围内，不予支付。")]
