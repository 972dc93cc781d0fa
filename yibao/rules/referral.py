"""Transfer referrals (转诊转院) and out-of-area inpatient care (异地就医, docs/domain.md §3.4).

An out-of-area stay is paid at the normal out-of-area ratio with a valid remote-residence filing
or a valid referral; a referral filed late or without its materials counts as none, and the
reason says which condition failed. The person's best referral filing for the institution is
chosen when the facts are derived; its timing is compared here, per kind, with the tariff's
window (emergency: working days after admission; chemo and normal: before admission).
"""

from __future__ import annotations

from yibao.rules.rule import (Cond, Derive, Effect, Fact, Missing, Note, Refuse, RuleList, Set, any_of, eq, gt,
                              le, ne, no, split, yes)
from yibao.tariffs.model import Tariff, bp

REFERRAL = RuleList()
rule = REFERRAL.rule
APPLICATION = "referral_application"
KIND_NAMES = {"emergency": "急诊", "chemo": "放化疗", "normal": "正常"}


def _per_kind(t: Tariff, in_time: bool) -> Cond:
    """The filing was (in_time) or was not made within its kind's window."""
    branches = []
    for kind, spec in t.referral.kinds.items():
        if spec.filed_by == "before_admission":
            timing = no("ref_after") if in_time else yes("ref_after")
        else:
            timing = (le if in_time else gt)("ref_workdays", spec.window_workdays)
        branches.append(eq("ref_kind", kind) & timing)
    return any_of(branches)


def _materials(complete: bool) -> Cond:
    """The kind's materials (a retired cadre's own) are, or are not, all there."""
    test = eq if complete else ne
    return any_of([no("cadre") & test("ref_missing", ""), yes("cadre") & test("ref_cadre_missing", "")])


def _late_sentence(t: Tariff, kind: str) -> str:
    spec = t.referral.kinds[kind]
    if spec.filed_by == "before_admission":
        return f"{KIND_NAMES[kind]}转诊应在入院前办理备案，本次于入院后办理，"
    return f"{KIND_NAMES[kind]}转诊应在入院之日起{spec.window_workdays}个工作日内办理备案，本次备案已超过期限，"


def _missing_codes(f: Fact) -> tuple[str, ...]:
    return split(f["ref_cadre_missing"] if f["cadre"] else f["ref_missing"])


def _names(t: Tariff, codes: tuple[str, ...]) -> str:
    return "、".join(t.materials.names[c] for c in codes)


def _points(ratio_bp: int) -> str:
    """Basis points as percentage points, e.g. 2000 → "20"."""
    return f"{ratio_bp / 100:g}"


@rule("REF-001", "Out-of-area inpatient stay (异地住院)",
      basis="docs/domain.md §3.4; docs/tariffs.md inpatient (out-of-area)", concludes="finding out_of_area",
      given="pool", given_values=lambda t: ("inpatient",), when=lambda t: yes("out_of_area"))
def _stay(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Derive("out_of_area")]


@rule("REF-002", "Remote-residence filing: no cut (异地安置备案)",
      basis="docs/domain.md §3.4; 开原市高频事项 异地安置; 濮阳县服务事项 items 12–14", concludes="ratio_cut_bp",
      params=("inpatient.out_of_area_cut.remote_residence",), given="out_of_area", when=lambda t: yes("remote"))
def _remote(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Set({"ratio_cut_bp": bp(t.inpatient.out_of_area_cut.remote_residence)})]


@rule("REF-003", "Valid referral: the referral cut (转诊备案有效)",
      basis="西平县流程图 四.2 转诊转院备案流程 (three kinds, materials, deadlines); 西平县流程图 四.3 离休干部",
      concludes="ratio_cut_bp", params=("referral.kinds", "referral.retired_cadre_materials",
                                        "inpatient.out_of_area_cut.referral"),
      given="out_of_area", when=lambda t: no("remote") & _per_kind(t, True) & _materials(True))
def _referred(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Set({"ratio_cut_bp": bp(t.inpatient.out_of_area_cut.referral)})]


@rule("REF-004", "Referral filed late counts as none (转诊备案逾期)",
      basis="西平县流程图 四.2: 急诊住院起5个工作日; 放化疗、正常转诊 住院前办理", concludes="reason REFERRAL_LATE; finding unreferred",
      params=("referral.kinds",), given="out_of_area",
      when=lambda t: no("remote") & _per_kind(t, False), uses=("ref_kind",))
def _late(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Note("REFERRAL_LATE", _late_sentence(t, f["ref_kind"]) + "视为未办理转诊。"), Derive("unreferred")]


@rule("REF-005", "Referral without its materials counts as none (转诊备案材料不全)",
      basis="西平县流程图 四.2 (120急救证明/急诊住院证明; 出院证; 转诊转院审批表); 西平县流程图 四.3 离休干部",
      concludes="reason REFERRAL_MATERIALS; finding unreferred",
      params=("referral.kinds", "referral.retired_cadre_materials"), given="out_of_area",
      when=lambda t: no("remote") & ne("ref_kind", "") & _materials(False), uses=("ref_missing", "ref_cadre_missing"))
def _incomplete(t: Tariff, f: Fact, v: str) -> list[Effect]:
    missing = _names(t, _missing_codes(f))
    return [Note("REFERRAL_MATERIALS", f"转诊备案材料不齐全（缺少{missing}），视为未办理转诊。"), Derive("unreferred")]


@rule("REF-006", "No referral and no remote-residence filing (未办理转诊)",
      basis="docs/domain.md §3.4", concludes="reason NO_REFERRAL; finding unreferred", given="out_of_area",
      when=lambda t: no("remote") & eq("ref_kind", ""))
def _none(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Note("NO_REFERRAL", "异地住院未办理转诊转院备案，也无有效的异地安置备案，视为未转诊异地就医。"),
            Derive("unreferred")]


@rule("REF-007", "Unreferred out-of-area care: cut or refused (未转诊异地就医)",
      basis="docs/domain.md §3.4; docs/tariffs.md inpatient (cut by 0.20 without a referral)",
      concludes="ratio_cut_bp and reason RATIO_CUT, or refusal UNREFERRED",
      params=("inpatient.out_of_area_cut.unreferred", "inpatient.out_of_area_cut.unreferred_refused"),
      given="unreferred", when=lambda t: eq("kind", "claim"))
def _unreferred(t: Tariff, f: Fact, v: str) -> list[Effect]:
    cut = t.inpatient.out_of_area_cut
    if cut.unreferred_refused:
        return [Refuse("UNREFERRED", "未按规定办理转诊备案的异地住院医疗费用，基金不予支付。")]
    effects: list[Effect] = [Set({"ratio_cut_bp": bp(cut.unreferred)})]
    if bp(cut.unreferred):
        effects.append(Note("RATIO_CUT", f"按未转诊异地就医政策，统筹基金支付比例降低{_points(bp(cut.unreferred))}个百分点。"))
    return effects


@rule("REF-008", "Referral application filed late (转诊备案逾期 不予备案)",
      basis="西平县流程图 四.2 转诊转院备案流程 (要求: 住院起5个工作日 / 住院前办理)", concludes="refusal REFERRAL_LATE",
      params=("referral.kinds",), when=lambda t: eq("kind", APPLICATION) & _per_kind(t, False), uses=("ref_kind",))
def _application_late(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Refuse("REFERRAL_LATE", _late_sentence(t, f["ref_kind"]) + "不予办理转诊备案。")]


@rule("REF-009", "Referral application materials incomplete (转诊备案材料不全)",
      basis="西平县流程图 四.2; 西平县流程图 四.3 离休干部转诊转院备案 (材料不齐全的 一次性告知)",
      concludes="missing referral.kinds[kind].materials or referral.retired_cadre_materials",
      params=("referral.kinds", "referral.retired_cadre_materials"),
      when=lambda t: eq("kind", APPLICATION) & ne("ref_kind", "") & _materials(False),
      uses=("ref_missing", "ref_cadre_missing"))
def _application_materials(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Missing("REFERRAL_MATERIALS", "转诊转院备案材料不齐全，", _missing_codes(f))]


@rule("REF-010", "Referral application without a kind (转诊类型缺失)",
      basis="西平县流程图 四.2 (急诊、放化疗、正常转诊)", concludes="refusal REFERRAL_KIND",
      when=lambda t: eq("kind", APPLICATION) & eq("ref_kind", ""))
def _no_kind(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Refuse("REFERRAL_KIND", "转诊备案申请未注明转诊类型（急诊、放化疗或正常转诊），无法审核，不予备案。")]


@rule("REF-011", "Referral filing decided the same day (即时办理)",
      basis="西平县流程图 四.2 医保备案 完成时限: 即时; docs/tariffs.md deadlines", concludes="due_workdays",
      params=("deadlines.referral_application_workdays",), when=lambda t: eq("kind", APPLICATION))
def _application_due(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Set({"due_workdays": t.deadlines.referral_application_workdays})]
