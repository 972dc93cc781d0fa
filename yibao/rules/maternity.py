"""Maternity (生育保险, docs/domain.md §3.2): who is covered, by which scheme, quota and allowance.

The person's route is a finding the benefit rules chain on: an insured female employee
(quotas and the allowance), a woman who left employment within the window (quotas, no
allowance, the no-employment declaration), the unemployed spouse of a male employee (a share of
the quotas, no allowance, the spouse's declaration) or a resident (deliveries only, a lump sum
from the basic fund).

Choices where the tariff is silent (docs/rules.md):
- a termination (abortion, induction, miscarriage) is paid at the induction quota from
  `induction_from_weeks` on and at the abortion quota below it (the tariff publishes no quota
  between `abortion_below_weeks` and `induction_from_weeks`; the lower one is paid); without
  weeks, at the item's own quota (a miscarriage at the abortion quota);
- a delivery without its kind is paid as vaginal;
- allowance days for a termination come from the miscarriage brackets by weeks; at or beyond
  the last bracket the delivery days apply; without weeks the shortest bracket applies;
- contribution months are read from the claimant's row; a spouse's row without months is
  taken as her husband's insurance the spouse flag states (months recorded there are checked);
- materials (the declarations, medical records for deliveries) are asked of manual claims and
  applications, not of direct settlements; an application, the paper route of the same claim,
  also needs the manual claim's materials of its med type, so every missing one is told at once.
"""

from __future__ import annotations

from yibao.rules.rule import (Cond, Derive, Effect, Fact, Missing, Note, Refuse, RuleList, Set, any_of, eq, ne, no,
                              one_of, pool, split, yes)
from yibao.tariffs.model import Tariff, bp

MATERNITY = RuleList()
rule = MATERNITY.rule
APPLICATION = "maternity_application"
TERMINATIONS = ("abortion", "induction", "miscarriage")
EMPLOYEE_ROUTES = ("employee", "separated", "spouse")
ITEM_NAMES = {"prenatal": "产前检查", "delivery": "分娩", "iud_insertion": "放置宫内节育器",
              "iud_removal": "取出宫内节育器", "abortion": "人工流产", "induction": "引产", "miscarriage": "自然流产"}


def _maternity_case() -> Cond:
    return any_of([eq("kind", "claim") & one_of("med_type", ("51", "52")), eq("kind", APPLICATION)])


def _female_employee() -> Cond:
    return _maternity_case() & eq("gender", "F") & eq("insutype", "310")


def quota_key(t: Tariff, item: str, delivery: str, weeks: int) -> str:
    """The key of the tariff's quotas that pays this item (module docstring for the choices)."""
    if item == "delivery":
        return delivery or "vaginal"
    if item in TERMINATIONS:
        if weeks < 0:
            return "induction" if item == "induction" else "abortion"
        return "induction" if weeks >= t.maternity.induction_from_weeks else "abortion"
    return item


def allowance_days(t: Tariff, item: str, delivery: str, infants: int, weeks: int) -> int:
    """生育津贴 days: delivery days + extra by delivery kind + per extra infant; terminations by weeks."""
    a = t.maternity.allowance
    if item == "delivery":
        return (a.delivery_days + a.extra_days_by_delivery.get(delivery or "vaginal", 0)  # type: ignore[call-overload]
                + a.extra_days_per_additional_infant * max(infants - 1, 0))
    if item in TERMINATIONS:
        brackets = sorted(a.miscarriage, key=lambda b: b.below_weeks)
        if weeks < 0:
            return brackets[0].days if brackets else 0
        return next((b.days for b in brackets if weeks < b.below_weeks), a.delivery_days)
    return 0


@rule("MAT-001", "Insured female employee (参保女职工)",
      basis="docs/domain.md §3.2; 濮阳县服务事项 items 20–23 生育医疗费、计划生育医疗费、生育津贴",
      concludes="finding maternity=employee", when=lambda t: _female_employee() & eq("left", ""))
def _employee(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Derive("maternity", "employee")]


@rule("MAT-002", "Woman who left employment within the window (离职女职工)",
      basis="docs/domain.md §3.2; 濮阳县服务事项 items 20–21 (符合规定的离职女职工需提供无业承诺书)",
      concludes="finding maternity=separated", params=("maternity.left_employment_window_months",),
      when=lambda t: _female_employee() & eq("left", "within"))
def _separated(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Derive("maternity", "separated")]


@rule("MAT-003", "Left employment too long ago (离职超过期限)",
      basis="docs/tariffs.md maternity (left work within the last 24 months)",
      concludes="refusal MATERNITY_NOT_ELIGIBLE", params=("maternity.left_employment_window_months",),
      when=lambda t: _female_employee() & eq("left", "beyond"))
def _left_long_ago(t: Tariff, f: Fact, v: str) -> list[Effect]:
    months = t.maternity.left_employment_window_months
    return [Refuse("MATERNITY_NOT_ELIGIBLE", f"离职女职工离职已超过{months}个月，不再享受生育保险待遇。")]


@rule("MAT-004", "Unemployed spouse of a male employee (男职工未就业配偶)",
      basis="docs/domain.md §3.2; 濮阳县服务事项 item 23 (符合规定的男职工需提供配偶无业承诺书)",
      concludes="finding maternity=spouse",
      when=lambda t: _maternity_case() & eq("gender", "F") & ne("insutype", "310") & yes("spouse"))
def _spouse(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Derive("maternity", "spouse")]


@rule("MAT-005", "Resident mother (城乡居民生育)",
      basis="docs/domain.md §3.2 (resident insurance pays deliveries through basic insurance)",
      concludes="finding maternity=resident",
      when=lambda t: _maternity_case() & eq("gender", "F") & ne("insutype", "310") & no("spouse"))
def _resident(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Derive("maternity", "resident")]


@rule("MAT-006", "Maternity benefits claimed for a man (性别不符)",
      basis="docs/domain.md §3.2 (the insured woman; a male employee's spouse claims in her own name)",
      concludes="refusal MATERNITY_NOT_ELIGIBLE", when=lambda t: _maternity_case() & eq("gender", "M"))
def _male(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Refuse("MATERNITY_NOT_ELIGIBLE",
                   "生育保险待遇由参保女性本人享受（男职工未就业配偶以配偶本人名义申请），不予支付。")]


@rule("MAT-007", "Too few contribution months (缴费月数不足)",
      basis="docs/tariffs.md maternity (at least 12 continuous contribution months)",
      concludes="refusal MATERNITY_NOT_ELIGIBLE", params=("maternity.min_contribution_months",),
      given="maternity", given_values=lambda t: EMPLOYEE_ROUTES, when=lambda t: no("months_ok"))
def _months(t: Tariff, f: Fact, v: str) -> list[Effect]:
    months = t.maternity.min_contribution_months
    return [Refuse("MATERNITY_NOT_ELIGIBLE", f"生育保险连续缴费不足{months}个月，不符合享受生育保险待遇的条件。")]


@rule("MAT-008", "Employee maternity quota (生育医疗费定额)",
      basis="docs/tariffs.md maternity (quotas; the spouse gets 0.5 × the quotas); 濮阳县服务事项 items 20–21",
      concludes="maternity_scheme employee; maternity_quota; maternity_factor_bp; fund_pool maternity, "
                "or refusal MATERNITY_NOT_COVERED",
      params=("maternity.quotas", "maternity.spouse_factor", "maternity.induction_from_weeks"),
      given="maternity", given_values=lambda t: EMPLOYEE_ROUTES,
      when=lambda t: yes("months_ok") & ne("item", ""), uses=("kind", "item", "delivery", "weeks"))
def _employee_quota(t: Tariff, f: Fact, v: str) -> list[Effect]:
    key = quota_key(t, f["item"], f["delivery"], f["weeks"])
    if key not in t.maternity.quotas:
        return [Refuse("MATERNITY_NOT_COVERED", f"本次生育医疗项目（{ITEM_NAMES[f['item']]}）无生育保险支付定额，不予支付。")]
    factor = bp(t.maternity.spouse_factor) if v == "spouse" else 10_000
    effects: list[Effect] = [Set({"maternity_scheme": "employee", "maternity_quota": key,
                                  "maternity_factor_bp": factor})]
    return effects + (pool("maternity") if f["kind"] == "claim" else [])


@rule("MAT-009", "Maternity allowance (生育津贴)",
      basis="docs/domain.md §3.2; docs/tariffs.md maternity (188 days, +15 dystocia or caesarean, +15 per "
            "extra infant; miscarriage by weeks); 濮阳县服务事项 item 22",
      concludes="allowance_days", params=("maternity.allowance",),
      given="maternity", given_values=lambda t: ("employee",),
      when=lambda t: yes("months_ok") & eq("kind", "claim") & ne("item", ""),
      uses=("item", "delivery", "infants", "weeks"))
def _allowance(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Set({"allowance_days": allowance_days(t, f["item"], f["delivery"], f["infants"], f["weeks"])})]


@rule("MAT-010", "Resident delivery lump sum (居民住院分娩定额)",
      basis="docs/domain.md §3.2; docs/tariffs.md maternity (residents: vaginal 1,000, caesarean 2,000)",
      concludes="maternity_scheme resident; maternity_quota; fund_pool maternity, or refusal MATERNITY_NOT_COVERED",
      params=("maternity.resident_quotas",), given="maternity", given_values=lambda t: ("resident",),
      when=lambda t: ne("item", ""), uses=("kind", "item", "delivery"))
def _resident_quota(t: Tariff, f: Fact, v: str) -> list[Effect]:
    key = quota_key(t, f["item"], f["delivery"], -1)
    if f["item"] != "delivery" or key not in t.maternity.resident_quotas:
        return [Refuse("MATERNITY_NOT_COVERED", "城乡居民医保生育待遇仅支付住院分娩医疗费用（按定额），"
                                                f"本次项目（{ITEM_NAMES[f['item']]}）不在支付范围内，不予支付。")]
    effects: list[Effect] = [Set({"maternity_scheme": "resident", "maternity_quota": key})]
    return effects + (pool("maternity") if f["kind"] == "claim" else [])


@rule("MAT-011", "Maternity item not stated (生育项目缺失)",
      basis="docs/cases.md claim.maternity.item", concludes="refusal MATERNITY_ITEM",
      when=lambda t: _maternity_case() & eq("item", ""))
def _no_item(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Refuse("MATERNITY_ITEM", "未注明生育医疗项目（产前检查、分娩、计划生育手术等），无法核定生育保险待遇。")]


@rule("MAT-012", "Delivery without its medical records (分娩病历资料)",
      basis="濮阳县服务事项 items 20–21 (病历资料); docs/tariffs.md materials (medical_records for deliveries)",
      concludes="missing materials.maternity_delivery_extra", params=("materials.maternity_delivery_extra",),
      when=lambda t: ne("missing_delivery", ""), uses=("missing_delivery",))
def _delivery_records(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Missing("MATERIALS_MISSING", "分娩须提供病历资料，", split(f["missing_delivery"]))]


@rule("MAT-013", "Separated employee without the no-employment declaration (无业承诺书)",
      basis="濮阳县服务事项 items 20–21: 符合规定的离职女职工需提供无业承诺书",
      concludes="missing materials.maternity_left_employment", params=("materials.maternity_left_employment",),
      given="maternity", given_values=lambda t: ("separated",), when=lambda t: ne("missing_left_decl", ""),
      uses=("missing_left_decl",))
def _left_declaration(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Missing("MATERIALS_MISSING", "离职女职工享受生育医疗待遇须提供无业承诺书，", split(f["missing_left_decl"]))]


@rule("MAT-014", "Spouse without the spouse's no-employment declaration (配偶无业承诺书)",
      basis="濮阳县服务事项 item 23: 符合规定的男职工需提供配偶无业承诺书",
      concludes="missing materials.maternity_spouse", params=("materials.maternity_spouse",),
      given="maternity", given_values=lambda t: ("spouse",), when=lambda t: ne("missing_spouse_decl", ""),
      uses=("missing_spouse_decl",))
def _spouse_declaration(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Missing("MATERIALS_MISSING", "男职工未就业配偶享受生育医疗待遇须提供配偶无业承诺书，",
                    split(f["missing_spouse_decl"]))]


@rule("MAT-015", "Maternity application materials incomplete (生育待遇申请材料不全)",
      basis="濮阳县服务事项 items 20–22 (身份凭证、医院收费票据、费用总清单、病历资料、《河南省职工生育保险待遇申请表》); "
            "开原市高频事项 生育待遇",
      concludes="missing materials.maternity_application and materials.manual_claim[med_type]",
      params=("materials.maternity_application", "materials.manual_claim"),
      when=lambda t: eq("kind", APPLICATION) & ne("missing", ""), uses=("missing",))
def _application_materials(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Missing("MATERIALS_MISSING", "生育保险待遇申请材料不齐全，", split(f["missing"]))]


@rule("MAT-016", "Maternity application time limit (生育待遇办结时限)",
      basis="开原市高频事项 生育待遇 法定时限 21 个工作日", concludes="due_workdays",
      params=("deadlines.maternity_application_workdays",), when=lambda t: eq("kind", APPLICATION))
def _application_due(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Set({"due_workdays": t.deadlines.maternity_application_workdays})]


def _grant_routes(t: Tariff) -> tuple[str, ...]:
    return tuple(t.maternity.grant.routes) if t.maternity.grant else ()


@rule("MAT-017", "One-off maternity grant (一次性生育补助金)",
      basis="docs/domain.md §3.2; 濮阳县服务事项 item 23 一次性生育补助金支付 (materials: bills, fee list, medical "
            "records, application form, 符合规定的男职工需提供配偶无业承诺书 — no separated woman's declaration); "
            "docs/tariffs.md maternity.grant",
      concludes="grant_units", params=("maternity.grant",),
      given="maternity", given_values=_grant_routes,
      when=lambda t: yes("months_ok") & eq("kind", "claim") & eq("item", "delivery"), uses=("infants",))
def _grant(t: Tariff, f: Fact, v: str) -> list[Effect]:
    grant = t.maternity.grant
    return [Set({"grant_units": f["infants"] if grant and grant.per == "infant" else 1})]


@rule("MAT-018", "Employer wage not recorded (用人单位月平均工资未登记)",
      basis="docs/tariffs.md maternity (allowance = the employer's average monthly wage × days ÷ divisor_days; "
            "a grant may be months of it)",
      concludes="reason ALLOWANCE_WAGE_MISSING", params=("maternity.allowance", "maternity.grant"),
      given="maternity", given_values=lambda t: ("employee",),
      when=lambda t: yes("months_ok") & eq("kind", "claim") & one_of("item", ("delivery", *TERMINATIONS)) & no("wage"))
def _wage_missing(t: Tariff, f: Fact, v: str) -> list[Effect]:
    return [Note("ALLOWANCE_WAGE_MISSING", "用人单位上年度职工月平均工资未登记（人员表 employer_avg_monthly_wage 为空），"
                                           "生育津贴（及按工资计发的一次性生育补助金）按0计发，请补充后重新申报。")]
