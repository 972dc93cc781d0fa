"""The words of a simulation report: Chinese labels for policy staff, one place for every output.

The terminal tables, the workbook and the printed report say the same thing in the same order;
files keep the English field names beside the Chinese ones.
"""

from __future__ import annotations

FIELDS = ("hifp_pay", "hifmi_pay", "hifob_pay", "maf_pay", "fund_pay_sumamt", "psn_part_amt", "hosp_part_amt")
"""The amounts compared: each fund, the funds' total, the person's part, the hospitals' part."""

FIELD_LABELS = {
    "hifp_pay": "统筹基金", "hifmi_pay": "大病保险", "hifob_pay": "大额补充", "maf_pay": "医疗救助",
    "fund_pay_sumamt": "基金合计", "psn_part_amt": "个人负担", "hosp_part_amt": "医院承担(扣款)",
    "maternity_allowance": "生育津贴", "maternity_grant": "一次性生育补助金",
}
CASH = ("maternity_allowance", "maternity_grant")
"""Maternity cash benefits paid to the mother beside the medical costs: from the maternity fund,
yet no part of `fund_pay_sumamt` nor of the claim's total, so they are compared apart from it."""
COMPARED = FIELDS + CASH
"""Every amount compared: the medical ones, then the cash benefits."""
SIDES = {"baseline": "现行", "reform": "调整后", "change": "变化"}

DIMENSIONS = {"insutype": "险种", "med_type": "医疗类别", "level": "机构等级", "status": "人员身份",
              "month": "结算月份"}
"""The breakdowns, in report order."""
CATEGORY = {"category": "居民类别"}
"""The breakdown by resident category, after the others where a tariff of either side defines
categories: a claim's key is its category, or `baseline→reform` where the reform moved it."""
NO_CATEGORY, NO_CATEGORY_LABEL = "none", "无类别"
"""The category key of employees and of residents in none (a name no tariff may give a category)."""

STATUS_ORDER = ("tekun", "dibao", "relapse_monitored", "low_income", "priority_care", "retired_cadre")
"""A person holding several statuses at a claim's date is counted under the first of these."""

VALUES = {
    "insutype": {"310": "职工医保", "390": "居民医保"},
    "med_type": {"11": "普通门诊", "14": "门诊慢特病", "21": "住院", "51": "生育门诊", "52": "生育住院",
                 "": "申请(无就诊)"},
    "level": {"0": "无机构", "1": "一级(乡镇/社区)", "2": "二级(县级)", "3": "三级(市级)", "4": "省级"},
    "status": {"tekun": "特困", "dibao": "低保", "relapse_monitored": "防返贫监测", "low_income": "低收入",
               "priority_care": "重点优抚", "retired_cadre": "离休干部", "": "普通参保人"},
    "month": {"": "无日期"},
}

HEADERS = {
    "key": "分组", "label": "名称", "claims": "就诊数", "changed": "变化就诊数", "persons": "人数",
    "mdtrt_id": "就诊ID", "psn_no": "人员编号", "kind": "类别", "institution_id": "机构编码", "scored": "计算情况",
    "decision_baseline": "现行审核结论", "decision_reform": "调整后审核结论",
    "tariff_baseline": "现行政策版本", "tariff_reform": "调整后政策版本",
    "decile": "十分位组", "min": "最小变化", "max": "最大变化", "mean": "平均变化", "total": "变化合计",
    "category_baseline": "现行居民类别", "category_reform": "调整后居民类别",
    "path": "参数", "field": "项目", **SIDES, "from": "现行值", "to": "调整后值", "direction": "方向", "count": "人数",
    **DIMENSIONS, **CATEGORY,
    **{f"{f}_{side}": f"{FIELD_LABELS[f]}{word}" for f in COMPARED for side, word in SIDES.items()},
}
DIRECTIONS = {"down": "个人负担下降", "same": "不变", "up": "个人负担上升"}


def money_columns() -> tuple[str, ...]:
    """Every column holding fen inside (yuan when written)."""
    return tuple(f"{f}_{side}" for f in COMPARED for side in SIDES) + ("min", "max", "mean", "total", *SIDES)
