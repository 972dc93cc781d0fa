"""Manual reimbursement (手工/零星报销): the filing window, the materials, the legal deadline.

A person who paid in full files the claim with its materials; the agency tells every missing
material at once (一次性告知) and decides within the tariff's working days (开原市高频事项: 21 working
days; assistance recipients 30).
"""

from __future__ import annotations

from yibao.rules.rule import Cond, Effect, Fact, Missing, Refuse, RuleList, Set, eq, gt, ne, split
from yibao.tariffs.model import Tariff

MANUAL = RuleList()
rule = MANUAL.rule


def _manual_claim() -> Cond:
    return eq("kind", "claim") & eq("mode", "manual")


@rule("MAN-001", "Manual claim filed after the filing window (逾期申报)",
      basis="docs/domain.md §3.5 Filing late; docs/tariffs.md deadlines",
      concludes="refusal FILED_LATE", params=("deadlines.manual_filing_window_days",),
      when=lambda t: _manual_claim() & gt("filed_days", t.deadlines.manual_filing_window_days))
def _filed_late(t: Tariff, f: Fact, v: str) -> list[Effect]:
    days = t.deadlines.manual_filing_window_days
    return [Refuse("FILED_LATE", f"手工报销应在出院（就诊）之日起{days}日内申请，本次申请已超过期限，不予受理。")]


@rule("MAN-002", "Manual claim materials incomplete (手工报销材料不全)",
      basis="濮阳县服务事项 零星报销 办理材料 (门诊: 身份凭证、票据、费用总清单、处方; 住院: …诊断证明); "
            "开原市高频事项 一次性告知",
      concludes="missing materials.manual_claim[med_type]", params=("materials.manual_claim",),
      when=lambda t: _manual_claim() & ne("missing", ""), uses=("missing",))
def _manual_materials(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Missing("MATERIALS_MISSING", "手工报销申请材料不齐全，", split(f["missing"]))]


@rule("MAN-003", "Manual claim decided within the legal time limit (法定办结时限)",
      basis="开原市高频事项 手工(零星)报销 法定时限 21 个工作日", concludes="due_workdays",
      params=("deadlines.manual_claim_workdays",),
      when=lambda t: _manual_claim() & eq("assist", ""))
def _manual_due(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Set({"due_workdays": t.deadlines.manual_claim_workdays})]


@rule("MAN-004", "Assistance recipient's manual claim time limit (救助对象零星报销时限)",
      basis="开原市高频事项 城乡医疗救助对象手工(零星)报销 法定时限 30 个工作日", concludes="due_workdays",
      params=("deadlines.assistance_manual_claim_workdays",),
      when=lambda t: _manual_claim() & ne("assist", ""))
def _assistance_manual_due(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Set({"due_workdays": t.deadlines.assistance_manual_claim_workdays})]
