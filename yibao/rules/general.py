"""Conditions that cut across every area (docs/domain.md §3.5): insurance, institution, trauma, duplicates.

Each refusal names the condition that failed in a sentence an examiner can paste into the written
notice; a claim failing several of them lists every one (书面告知理由及救济权, 右玉县流程图 items 9–10).
"""

from __future__ import annotations

from yibao.rules.rule import Effect, Fact, Missing, Refuse, RuleList, eq, ne, no, split, yes
from yibao.tariffs.model import Tariff

GENERAL = RuleList()
rule = GENERAL.rule
CLAIM = eq("kind", "claim")


@rule("GEN-001", "Not insured on the service date (未参保)",
      basis="docs/domain.md §3.5; 西平县流程图 二.1 基本医疗保险待遇支付; 右玉县流程图 items 9–10 不符合给付条件",
      concludes="refusal NOT_INSURED", when=lambda t: no("insured"))
def _not_insured(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Refuse("NOT_INSURED", "参保人在就诊（申请）之日未处于参保状态，不予支付医疗保险待遇。")]


@rule("GEN-002", "Service date within the waiting period (待遇等待期)",
      basis="docs/domain.md §3.5; docs/cases.md person.waiting_period_until",
      concludes="refusal WAITING_PERIOD", when=lambda t: CLAIM & yes("waiting"))
def _waiting(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Refuse("WAITING_PERIOD", "参保人就诊日仍在待遇等待期内，等待期内发生的医疗费用基金不予支付。")]


@rule("GEN-003", "Institution's service agreement suspended (协议暂停)",
      basis="docs/domain.md §3.5; 西平县流程图 四.6 定点医药机构认定; 濮阳县服务事项 items 25–28 定点协议管理",
      concludes="refusal INSTITUTION_SUSPENDED", when=lambda t: CLAIM & eq("inst", "suspended"))
def _suspended(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Refuse("INSTITUTION_SUSPENDED",
                   "就诊医疗机构的医保服务协议在就诊日处于暂停状态，该次医疗费用基金不予支付。")]


@rule("GEN-004", "Institution not designated (非定点医药机构)",
      basis="docs/domain.md §3.5; 西平县流程图 四.6 定点医药机构认定",
      concludes="refusal INSTITUTION_NOT_DESIGNATED", when=lambda t: CLAIM & eq("inst", "none"))
def _not_designated(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Refuse("INSTITUTION_NOT_DESIGNATED", "就诊机构不是医保定点医药机构，医疗费用基金不予支付。")]


@rule("GEN-005", "Trauma with third-party liability (外伤 第三方责任)",
      basis="docs/domain.md §3.5; 开原市高频事项 外伤备案",
      concludes="refusal TRAUMA_THIRD_PARTY", when=lambda t: CLAIM & eq("trauma", "liable"))
def _third_party(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Refuse("TRAUMA_THIRD_PARTY",
                   "经外伤调查认定，本次外伤应由第三人负担医疗费用，基本医疗保险基金不予支付。")]


@rule("GEN-006", "Trauma without a trauma-filing finding (外伤未备案)",
      basis="docs/domain.md §3.5; 开原市高频事项 外伤备案; docs/tariffs.md materials",
      concludes="missing materials.trauma_missing", params=("materials.trauma_missing",),
      when=lambda t: CLAIM & eq("trauma", "no_finding") & ne("missing_trauma", ""), uses=("missing_trauma",))
def _trauma_unfiled(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Missing("TRAUMA_FINDING", "外伤就医须先办理外伤备案，", split(f["missing_trauma"]))]


@rule("GEN-007", "Duplicate claim (重复报销)",
      basis="docs/domain.md §3.5 (same person, institution and overlapping dates as an earlier claim)",
      concludes="refusal DUPLICATE", when=lambda t: CLAIM & yes("duplicate"), uses=("paid_before",))
def _duplicate(t: Tariff, f: Fact, v: str) -> list[Effect]:
    earlier = f"（{f['paid_before']}）" if f["paid_before"] else ""  # a claim the ledger paid before: named
    return [Refuse("DUPLICATE", f"同一参保人在同一医疗机构同一时段已有结算记录{earlier}，本次属重复报销，不予支付。")]


@rule("GEN-008", "Direct settlement at a non-networked institution (非联网机构直接结算)",
      basis="docs/domain.md §3.4; 西平县流程图 四.2 转诊转院备案 费用结算",
      concludes="refusal DIRECT_NOT_NETWORKED",
      when=lambda t: CLAIM & eq("mode", "direct") & no("networked") & ne("inst", "none"))
def _not_networked(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Refuse("DIRECT_NOT_NETWORKED", "该医疗机构未开通联网直接结算，本次直接结算申报无效；"
                                           "参保人可在全额结算后持相关材料办理手工报销。")]


@rule("GEN-009", "Claim without a medical type (医疗类别缺失)",
      basis="docs/domain.md §2 claim.med_type", concludes="refusal MED_TYPE_MISSING",
      when=lambda t: CLAIM & eq("med_type", ""))
def _no_med_type(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Refuse("MED_TYPE_MISSING", "结算记录未注明医疗类别，无法确定适用的支付政策，不予支付。")]


@rule("GEN-010", "Claim replaced by its correction in the same batch (已被更正)",
      basis="docs/ledger.md Corrections (correction_of); docs/domain.md §3.5 (one stay paid once)",
      concludes="refusal SUPERSEDED", when=lambda t: CLAIM & ne("superseded_by", ""), uses=("superseded_by",))
def _superseded(t: Tariff, f: Fact, v: str) -> list[Effect]:
    fixes = "、".join(split(f["superseded_by"]))
    return [Refuse("SUPERSEDED", f"本结算记录已由同批次的更正记录（{fixes}）替代，按更正记录结算，本条不予支付。")]


@rule("GEN-011", "Claim corrected twice in one batch (重复更正)",
      basis="docs/ledger.md Corrections (correction_of); docs/domain.md §3.5 (one stay paid once)",
      concludes="refusal CORRECTED_TWICE", when=lambda t: ne("corrected_twice", ""), uses=("corrected_twice",))
def _corrected_twice(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Refuse("CORRECTED_TWICE", f"同一结算记录（{f['corrected_twice']}）在本批次有两条以上更正记录，无法确定以哪条为准，"
                                      "均不予支付；请保留一条更正记录后重新申报。")]
