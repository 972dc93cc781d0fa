"""Chronic and special diseases (门诊慢特病, docs/domain.md §3.3): claims and certification applications.

A type-14 claim is paid from the chronic pool only under a certification valid on the service
date for the disease of the first diagnosis; otherwise it is refused, or falls back to general
outpatient where the tariff says so. Applications need the form and medical evidence (either of
two kinds; a specialist's diagnosis for schizophrenia) and go to the quarterly expert review,
major diseases being decided at once (即办即批, 开原市高频事项).
"""

from __future__ import annotations

from yibao.rules.rule import (Cond, Effect, Fact, Missing, Note, Refuse, RuleList, Set, eq, ne, no, one_of, pool,
                              split, yes)
from yibao.tariffs.model import Tariff

CHRONIC = RuleList()
rule = CHRONIC.rule
APPLICATION = "chronic_application"


def _chronic_claim() -> Cond:
    return eq("kind", "claim") & eq("med_type", "14")


def disease_name(t: Tariff, code: str) -> str:
    return next((d.name for d in t.chronic.diseases if d.code == code), code)


@rule("CHR-001", "Certified chronic disease: chronic pool (门诊慢特病统筹)",
      basis="docs/domain.md §3.3; docs/tariffs.md chronic (certification matching the first diagnosis)",
      concludes="fund_pool chronic; chronic_disease; finding pool", params=("chronic.diseases",),
      when=lambda t: _chronic_claim() & yes("certified"), uses=("disease",))
def _certified(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Set({"chronic_disease": f["disease"]})] + pool("chronic")


@rule("CHR-002", "No valid certification for the diagnosis (未认定门诊慢特病)",
      basis="docs/domain.md §3.3 (refused with that reason, or falls back to general outpatient)",
      concludes="refusal NOT_CERTIFIED, or reason NOT_CERTIFIED with fund_pool outpatient",
      params=("chronic.fallback_to_outpatient",),
      when=lambda t: _chronic_claim() & no("certified"), uses=("disease",))
def _not_certified(t: Tariff, f: Fact, v: str) -> list[Effect]:
    if f["disease"]:
        why = f"参保人在就诊日未持有与本次第一诊断相符且在有效期内的门诊慢特病认定（{disease_name(t, f['disease'])}），"
    else:
        why = "本次第一诊断不属于门诊慢特病病种范围，参保人在就诊日无相应的门诊慢特病认定，"
    if t.chronic.fallback_to_outpatient:
        return [Note("NOT_CERTIFIED", why + "按普通门诊政策结算。")] + pool("outpatient")
    return [Refuse("NOT_CERTIFIED", why + "门诊慢特病统筹基金不予支付。")]


@rule("CHR-003", "Major disease: 乙类 pre-self-pay waived (特病免先行自付)",
      basis="docs/tariffs.md chronic (major diseases: the whole 乙类 amount is in policy)",
      concludes="waive_preselfpay", params=("chronic.waive_preselfpay_groups",),
      given="pool", given_values=lambda t: ("chronic",),
      when=lambda t: one_of("group", t.chronic.waive_preselfpay_groups))
def _waive(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Set({"waive_preselfpay": True})]


@rule("CHR-004", "Applied disease not on the list (病种不在范围)",
      basis="docs/domain.md §3.3; docs/tariffs.md chronic (disease list)", concludes="refusal CHRONIC_NOT_LISTED",
      params=("chronic.diseases",), when=lambda t: eq("kind", APPLICATION) & eq("disease", ""))
def _not_listed(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Refuse("CHRONIC_NOT_LISTED", "申请认定的疾病不在本统筹区门诊慢特病病种范围内，不予认定。")]


@rule("CHR-005", "Certification application materials incomplete (认定申请材料不全)",
      basis="濮阳县服务事项 item 16 门诊慢特病病种待遇认定 办理材料; 开原市高频事项 门诊特慢病病种申请",
      concludes="missing materials.chronic_application.required", params=("materials.chronic_application.required",),
      when=lambda t: eq("kind", APPLICATION) & ne("missing", ""), uses=("missing",))
def _application_materials(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Missing("MATERIALS_MISSING", "门诊慢特病认定申请材料不齐全，", split(f["missing"]))]


@rule("CHR-006", "No medical evidence (两年内住院病历或三次门诊检查报告)",
      basis="开原市高频事项: 二级医院两年内住院病志，或者门诊三次检查化验报告，每次间隔45天以上",
      concludes="missing materials.chronic_application.evidence_any_of (one either-of entry)",
      params=("materials.chronic_application.evidence_any_of",),
      when=lambda t: eq("kind", APPLICATION) & no("specialist") & no("evidence"))
def _evidence(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Missing("MATERIALS_MISSING", "门诊慢特病认定申请材料不齐全，",
                    ("|".join(t.materials.chronic_application.evidence_any_of),))]


@rule("CHR-007", "No specialist diagnosis where the disease needs one (专科诊断证明)",
      basis="docs/tariffs.md materials (schizophrenia F20: a specialist's diagnosis_certificate instead)",
      concludes="missing materials.chronic_application.specialist_evidence",
      params=("materials.chronic_application.specialist_evidence", "chronic.diseases"),
      when=lambda t: eq("kind", APPLICATION) & yes("specialist") & ne("missing_specialist", ""),
      uses=("missing_specialist",))
def _specialist(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Missing("MATERIALS_MISSING", "该病种须提供专科医疗机构出具的诊断证明，", split(f["missing_specialist"]))]


@rule("CHR-008", "Ordinary disease: next quarterly expert review (每季度评审)",
      basis="开原市高频事项: 慢病审批一年四次，每季度一次; docs/cases.md Applications", concludes="due_quarterly",
      params=("chronic.review_days",), when=lambda t: eq("kind", APPLICATION) & eq("group", "ordinary"))
def _quarterly(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Set({"due_quarterly": True})]


@rule("CHR-009", "Major disease decided at once (特病大病即办即批)",
      basis="开原市高频事项: 特病大病即办即批; docs/cases.md Applications", concludes="due_workdays",
      params=("deadlines.major_chronic_application_workdays",),
      when=lambda t: eq("kind", APPLICATION) & ne("group", "ordinary"))
def _at_once(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Set({"due_workdays": t.deadlines.major_chronic_application_workdays})]
