"""The words on a settlement statement (结算单), shared by the workbook and the printable page.

Examiners and hospital accountants read statements in Chinese; the tables keep the English
column names of the code. One place maps the one to the other, so the Excel sheet and the HTML
page of an institution say the same thing in the same order.
"""

from __future__ import annotations

from yibao.fields import LABELS
from yibao.labels import DECISIONS, MED_TYPES, VIOLATIONS, beside, codes_beside
from yibao.settlement.statement import REVERSED

TITLE = "定点医药机构费用结算单"

# the statement's totals, top to bottom, as the identities read:
# declared_total − withheld = declared; declared − fees − penalties − deposit = paid
TOTALS = (
    ("declared_total", "申报基金支付合计"),
    ("withheld", "数据不正确暂不拨付"),
    ("declared", "本期结算申报金额"),
    ("audited", "审核后基金支付"),
    ("violation_fees", "扣除违规费用"),
    ("penalties", "扣除违约金"),
    ("deposit", "预留质量保证金"),
    ("paid", "本期拨付金额"),
)
COUNTS = (("claims", "直接结算就诊数"), ("withheld_claims", "数据不正确就诊数"), ("suspect_claims", "疑点就诊数"))

# sections of a statement: (table, title, columns shown)
SECTIONS = (
    ("by_code", "违规费用按违规代码", ("code", "title", "penalty_rate", "claims", "violation_amt",
                                   "violation_fee", "penalty", "deduction")),
    ("claims", "就诊明细及扣款", ("mdtrt_id", "psn_no", "med_type", "decision", "admit_date", "discharge_date",
                            "status", "declared", "audited", "violation_amt", "violation_fee", "penalty",
                            "violation_codes")),  # suspect codes: in their own section
    ("data_incorrect", "数据不正确(暂不拨付)", ("mdtrt_id", "scored", "declared", "reason")),
    ("suspects", "疑点(供审核人员复核,不扣款)", ("mdtrt_id", "psn_no", "code", "title", "admit_date",
                                       "discharge_date", "status")),
)
UNKNOWN_INSTITUTION = ("unknown_institution", "机构不明的就诊(未结算)",
                       ("mdtrt_id", "institution_id", "file", "row", "reason"))
# with a ledger: the cash benefits paid to persons, on the summary only (no institution is paid them)
BENEFITS = ("benefits", "生育津贴与一次性生育补助金(支付给个人,不计入机构结算)",
            ("mdtrt_id", "entry", "psn_no", "institution_id", "med_type", "admit_date", "discharge_date",
             "maternity_allowance", "maternity_grant"))

HEADERS = {**LABELS, "entry": "支付或冲正"}  # one label per field for every table people open (yibao/fields.py)
STATEMENT_HEADERS = {**HEADERS, **dict(TOTALS), **dict(COUNTS)}  # the statements table's columns
WRAPPED = frozenset({"name", "title", "reason", "file", "violation_codes", "suspect_codes"})  # long text
class _Codes(dict):  # type: ignore[type-arg]
    """Cell words for a `;`-joined list of codes: each code with its Chinese name."""

    def __init__(self, names: dict[str, str]) -> None:
        super().__init__()
        self.names = names

    def get(self, value: object, default: object = None) -> object:
        return codes_beside(value, self.names) if isinstance(value, str) else value


WORDS: dict[str, dict] = {  # cell values shown in Chinese  # type: ignore[type-arg]
    "status": {"settled": "结算", "withheld": "暂不拨付"},
    "entry": {"payment": "支付", "reversal": "冲正"},
    "decision": {**DECISIONS, REVERSED: "冲正"},  # a reversal line's decision: the payment taken back
    "med_type": {code: beside(code, MED_TYPES) for code in MED_TYPES},
    "violation_codes": _Codes(VIOLATIONS),
    "suspect_codes": _Codes(VIOLATIONS),
    "scored": {True: "是", False: "否(未能计算)"},
}
