"""Medical assistance (医疗救助, docs/domain.md §3.1): who gets it, what the status tilts, who must wait.

The status valid on the service date, in the tariff's precedence order, sets the assistance
layers and tilts the basic and catastrophic benefits; a person not yet certified who hands in
the application card and the household check authorisation is *pending verification*, not
refused (濮阳县服务事项 item 24). Such a person's assistance application is an application for
certification, not yet a reimbursement: the settlement sheet, prescription or invoice is asked of
recipients only (ASS-007).
"""

from __future__ import annotations

from yibao.rules.pools import pools_of
from yibao.rules.rule import (Cond, Effect, Fact, Missing, Pending, RuleList, Set, any_of, eq, ne, no, one_of,
                              split, yes)
from yibao.tariffs.model import Tariff, bp

ASSISTANCE = RuleList()
rule = ASSISTANCE.rule
APPLICATION = "assistance_application"


@rule("ASS-001", "Assistance status valid on the service date (医疗救助对象)",
      basis="docs/domain.md §3.1; docs/tariffs.md assistance (precedence: first valid in the table); "
            "西平县流程图 三.2 低保、特困等困难群众医疗救助",
      concludes="pays_maf; assistance_status", params=("assistance.statuses", "assistance.med_types"),
      given="pool", given_values=lambda t: pools_of(t.assistance.med_types),
      when=lambda t: ne("assist", ""), uses=("assist",))
def _assistance(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Set({"pays_maf": True, "assistance_status": f["assist"]})]


@rule("ASS-002", "Status tilts the inpatient ratio (倾斜支付)",
      basis="docs/domain.md §3.1 (the status tilts the basic benefits); tariff inpatient.status_ratio_tilt",
      concludes="status_tilt_bp", params=("inpatient.status_ratio_tilt",),
      given="pool", given_values=lambda t: ("inpatient",),
      when=lambda t: one_of("assist", t.inpatient.status_ratio_tilt))
def _tilt(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Set({"status_tilt_bp": bp(t.inpatient.status_ratio_tilt[f["assist"]])})]


def _tilted_tiers(t: Tariff) -> Cond:
    """The insurance type and status pairs with their own catastrophic tiers."""
    by_insutype: dict[str, list[str]] = {}
    for fund in t.catastrophic.funds:
        by_insutype.setdefault(fund.insutype, []).extend(fund.statuses)
    return any_of([eq("insutype", i) & one_of("assist", s) for i, s in by_insutype.items() if s])


@rule("ASS-003", "Status lowers the catastrophic threshold (大病保险倾斜)",
      basis="docs/domain.md §3.1; docs/tariffs.md catastrophic (tilted tiers for tekun, dibao, relapse_monitored)",
      concludes="tier_status", params=("catastrophic.funds", "catastrophic.burden_med_types"),
      given="pool", given_values=lambda t: pools_of(t.catastrophic.burden_med_types), when=_tilted_tiers)
def _tier(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Set({"tier_status": f["assist"]})]


def _uncertified_applicant(t: Tariff) -> Cond:
    """A person without a valid status asking for assistance: an application, or a claim of a
    med type assistance pays for, handing in a verification material."""
    asking = any_of([eq("kind", APPLICATION), eq("kind", "claim") & one_of("med_type", t.assistance.med_types)])
    return eq("assist", "") & yes("assist_claimed") & asking


@rule("ASS-004", "Not yet certified, verification materials handed in (待核查认定)",
      basis="docs/domain.md §3.1; 濮阳县服务事项 item 24 注: 符合救助条件但未经认定的应提供《医疗救助申请卡》和"
            "《个人家庭经济状况核查委托授权书》",
      concludes="pending ASSISTANCE_PENDING", params=("materials.assistance_pending", "assistance.med_types"),
      when=lambda t: _uncertified_applicant(t) & eq("missing_pending", ""))
def _pending(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Pending("ASSISTANCE_PENDING",
                    "参保人尚未认定为医疗救助对象，已提交医疗救助申请卡和个人家庭经济状况核查委托授权书，"
                    "待相关部门核查认定后再行支付医疗救助；基本医疗保险和大病保险待遇照常核算。")]


@rule("ASS-005", "Not yet certified, verification materials incomplete (救助认定材料不全)",
      basis="濮阳县服务事项 item 24 注; 开原市高频事项 一次性告知", concludes="missing materials.assistance_pending",
      params=("materials.assistance_pending", "assistance.med_types"),
      when=lambda t: _uncertified_applicant(t) & ne("missing_pending", ""), uses=("missing_pending",))
def _pending_materials(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Missing("ASSISTANCE_MATERIALS", "参保人尚未认定为医疗救助对象，申请医疗救助须经核查认定，",
                    split(f["missing_pending"]))]


@rule("ASS-006", "Assistance application materials incomplete (医疗救助申请材料不全)",
      basis="濮阳县服务事项 item 24 医疗救助对象手工（零星）报销 办理材料", concludes="missing materials.assistance_application",
      params=("materials.assistance_application",),
      when=lambda t: eq("kind", APPLICATION) & ne("missing", ""), uses=("missing",))
def _application_materials(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Missing("MATERIALS_MISSING", "医疗救助申请材料不齐全，", split(f["missing"]))]


@rule("ASS-007", "Recipient without settlement sheet, prescription or invoice (救助报销凭证)",
      basis="濮阳县服务事项 item 24: 基本医保、大病保险报销后的结算单或定点医疗机构处方底方或定点药店购药发票 "
            "(a recipient's reimbursement; 注: the uncertified are verified first, 由相关部门认定后进行报销)",
      concludes="missing materials.assistance_application_any_of (one either-of entry)",
      params=("materials.assistance_application_any_of",),
      when=lambda t: eq("kind", APPLICATION) & ne("assist", "") & no("assist_proof"))
def _application_proof(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Missing("MATERIALS_MISSING", "医疗救助申请材料不齐全，",
                    ("|".join(t.materials.assistance_application_any_of),))]


@rule("ASS-008", "Assistance application time limit (医疗救助办结时限)",
      basis="西平县流程图 三.2 医疗救助 30 个工作日; 开原市高频事项 医疗救助 法定时限 30 个工作日", concludes="due_workdays",
      params=("deadlines.assistance_application_workdays",), when=lambda t: eq("kind", APPLICATION))
def _application_due(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Set({"due_workdays": t.deadlines.assistance_application_workdays})]
