"""The fields of every table people open, with their Chinese labels and what kind of cell they are.

Examiners and hospital accountants read Chinese; programs read the field names. Every Excel
sheet, the printable statements and the CSV writer take the labels and the kinds from here, so a
field is called and shown the same everywhere and a new field is labelled in one place.
"""

from __future__ import annotations

from yibao.tables import TABLES

LABELS = {
    # keys and references
    "mdtrt_id": "就诊ID", "psn_no": "人员编号", "institution_id": "机构编码", "name": "机构名称",
    "line_id": "明细号", "med_list_codg": "医保目录编码", "kind": "类别", "year": "年度", "period": "结算期",
    # persons and their details (the batch tables)
    "gender": "性别", "birth_date": "出生日期", "insutype": "险种类型", "employee_status": "在职退休状态",
    "waiting_period_until": "待遇等待期截止", "maternity_contribution_months": "生育保险连续缴费月数",
    "employer_avg_monthly_wage": "单位上年度职工月平均工资", "left_employment_date": "离职日期",
    "spouse_of_insured_male_employee": "男职工未就业配偶", "valid_from": "开始日期", "valid_to": "结束日期",
    "disease": "病种", "referral_kind": "转诊类别", "filed_date": "备案日期", "target_institution": "转入机构",
    "materials": "材料", "third_party_liable": "第三方责任", "level": "机构等级", "out_of_area": "异地",
    "networked": "联网结算", "agreement": "服务协议状态",
    # claims and lines
    "med_type": "医疗类别", "admit_date": "入院日期", "discharge_date": "出院日期", "diagnoses": "诊断",
    "settlement_mode": "结算方式", "submitted_date": "申请日期", "trauma": "外伤", "maternity_item": "生育项目",
    "delivery": "分娩方式", "infants": "胎儿数", "pregnancy_weeks": "孕周", "service_date": "费用发生日期",
    "pric": "单价", "cnt": "数量", "det_item_fee_sumamt": "明细项目费用总额", "chrgitm_lv": "收费项目等级",
    "selfpay_prop": "自付比例", "pric_uplmt_amt": "最高限价",
    # decisions
    "tariff": "政策版本", "decision": "审核结论", "reasons": "原因", "reason_codes": "原因代码",
    "missing_materials": "缺少材料代码", "missing_material_names": "缺少材料", "rules_fired": "触发规则",
    "due_date": "办结期限", "setl_date": "结算日期", "calendar_estimated": "工作日按周末估算",
    "fund_pool": "基金类别", "resident_category": "居民类别", "pool_prop": "统筹支付比例", "violations": "违规代码",
    "violation_codes": "违规代码", "suspect_codes": "疑点代码", "code": "代码", "title": "说明",
    # amounts of a claim and a line
    "medfee_sumamt": "医疗费总额", "fulamt_ownpay_amt": "全自费金额", "overlmt_selfpay": "超限价自费",
    "preselfpay_amt": "先行自付金额", "inscp_scp_amt": "符合政策范围金额", "violation_amt": "违规金额",
    "act_pay_dedc": "实际支付起付线", "hifp_pay": "统筹基金支出", "hifmi_pay": "大病保险支出",
    "hifob_pay": "大额医疗费用补助", "maf_pay": "医疗救助支出", "fund_pay_sumamt": "基金支付总额",
    "psn_part_amt": "个人负担总额", "hosp_part_amt": "医院负担金额", "declared_fund_pay_sumamt": "申报基金支付",
    "maternity_allowance": "生育津贴", "maternity_grant": "一次性生育补助金",
    "share_selfpay_amt": "定比项目个人自付", "share_fund_amt": "定比项目统筹直接支付",
    # accumulators
    "hifp_paid": "统筹基金累计支付", "inpatient_admissions": "住院次数", "inpatient_deductible_used": "住院起付线累计",
    "inpatient_covered": "住院符合范围累计", "outpatient_deductible_used": "门诊起付线累计",
    "outpatient_paid": "门诊统筹累计支付", "outpatient_month": "门诊月份", "outpatient_month_paid": "门诊当月支付",
    "catastrophic_base": "大病保险累计基数", "catastrophic_paid": "大病保险累计支付",
    "maf_deductible_used": "医疗救助起付线累计", "maf_paid": "医疗救助累计支付", "prenatal_paid": "产前检查累计支付",
    "chronic_paid": "慢特病累计支付",
    "large_amount_base": "大额补充累计基数", "large_amount_paid": "大额补充累计支付",
    "maf_stage2_deductible_used": "第二段救助起付线累计", "maf_stage2_paid": "第二段救助累计支付",
    "outpatient_covered": "门诊政策范围内费用累计", "outpatient_covered_month": "门诊政策范围内费用月份",
    "outpatient_covered_in_month": "门诊当月政策范围内费用", "chronic_covered": "慢特病政策范围内费用累计",
    "chronic_covered_month": "慢特病政策范围内费用月份", "chronic_covered_in_month": "慢特病当月政策范围内费用",
    # rejects
    "table": "表", "file": "文件", "row": "行", "column": "列", "key": "键",
    # settlement
    "status": "结算状态", "declared": "申报基金支付", "audited": "审核后基金支付", "violation_fee": "违规费用",
    "penalty": "违约金", "penalty_rate": "违约金比例", "claims": "就诊数", "deduction": "扣款合计",
    "scored": "已计算", "reason": "原因", "deposit_ratio": "质量保证金比例",
}  # the totals of a statement are worded as the statement reads: yibao/settlement/labels.py

# yuan with two decimals: written "12.50" in CSV and as numbers with #,##0.00 in Excel
MONEY = frozenset(
    {"medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "violation_amt",
     "act_pay_dedc", "hifp_pay", "hifmi_pay", "hifob_pay", "maf_pay", "fund_pay_sumamt", "psn_part_amt",
     "hosp_part_amt", "declared_fund_pay_sumamt", "maternity_allowance", "maternity_grant", "share_selfpay_amt",
     "share_fund_amt", "inpatient_deductible_used", "inpatient_covered", "outpatient_month_paid",
     "outpatient_covered_in_month", "chronic_covered_in_month", "declared", "audited", "violation_fee", "penalty",
     "deduction",
     "declared_total", "withheld", "violation_fees", "penalties", "deposit", "paid"}
    | {c.name for columns in TABLES.values() for c in columns if c.type == "yuan"})
RATIOS = frozenset({"pool_prop", "penalty_rate", "deposit_ratio", "selfpay_prop"})  # shown as percentages
# days, in the tables as dates or as ISO text: real date cells in Excel
DATES = frozenset({"due_date", "setl_date"} | {c.name for columns in TABLES.values() for c in columns
                                               if c.type == "date"})


def header(field: str) -> str:
    """A column's header for people: the Chinese label above the field name, which stays the
    header's last line so the sheet can be read back as a table (`yibao.io` takes that line)."""
    label = LABELS.get(field)
    return f"{label}\n{field}" if label else field
