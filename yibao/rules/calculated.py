"""Rules the calculator applies rather than the rule base: audit edits and fund limits.

A deduction or a cap changes what a claim is paid as surely as an eligibility rule does, so each
has a stable id like the rule base's: a reason row and a trace step name it, and
`yibao rules list|show` prints it with its policy basis. Ids are never reused.
"""

from __future__ import annotations

from dataclasses import dataclass

from yibao.calculator.audit import EDIT_CODES
from yibao.tariffs.model import Tariff


@dataclass(frozen=True)
class CalculatorRule:
    id: str
    title: str
    basis: str
    concludes: str
    params: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()  # what the calculator reads

    def reads(self, tariff: Tariff) -> list[str]:
        return list(self.inputs)


_LINE = ("line amounts and quantities", "catalogue restrictions")
AUDIT_RULES = (
    CalculatorRule("AUD-001", "Item limited to the other gender (限性别)", "docs/domain.md §4.1; docs/tariffs.md `audit`",
                   "violation GENDER: the whole line", ("audit.edits",), _LINE + ("person's gender",)),
    CalculatorRule("AUD-002", "Item outside its age range (限年龄)", "docs/domain.md §4.1; docs/tariffs.md `audit`",
                   "violation AGE: the whole line", ("audit.edits",), _LINE + ("age on the service date",)),
    CalculatorRule("AUD-003", "Institution below the item's minimum level (限医院级别)",
                   "docs/domain.md §4.1; docs/tariffs.md `audit`", "violation LEVEL: the whole line",
                   ("audit.edits",), _LINE + ("institution level",)),
    CalculatorRule("AUD-004", "Inpatient-only item outside a stay (限住院)", "docs/domain.md §4.1; docs/tariffs.md `audit`",
                   "violation SETTING: the whole line", ("audit.edits",), _LINE + ("med_type",)),
    CalculatorRule("AUD-005", "Item outside its indications (限适应症)", "docs/domain.md §4.1; docs/tariffs.md `audit`",
                   "violation INDICATION: the whole line", ("audit.edits",), _LINE + ("diagnoses",)),
    CalculatorRule("AUD-006", "Daily quantity above the maximum (超每日限量)", "docs/domain.md §4.1; docs/tariffs.md `audit`",
                   "violation QTY_DAY: the excess quantity, latest lines first", ("audit.edits",), _LINE),
    CalculatorRule("AUD-007", "Bed days beyond the stay (床位天数超住院天数)", "docs/domain.md §4.1; docs/tariffs.md `audit`",
                   "violation BED_DAYS: the excess days, latest lines first", ("audit.edits",),
                   _LINE + ("admission and discharge dates",)),
)
AUDIT_RULE_IDS = dict(zip(EDIT_CODES, (r.id for r in AUDIT_RULES)))

LIMIT_RULES = (
    CalculatorRule("CAP-001", "Basic fund's annual cap reached (统筹基金年度限额)",
                   "docs/domain.md §4.2; docs/tariffs.md `inpatient`, `outpatient`, `chronic` (annual caps)",
                   "hifp_pay limited to what is left of the cap; note CAP_REACHED",
                   ("inpatient.annual_cap", "inpatient.cap_basis", "inpatient.cap_counts_deductible", "outpatient.schemes",
                    "chronic.diseases"),
                   ("accumulators: fund paid or covered amount this year",)),
    CalculatorRule("CAP-002", "Maternity quota (生育定额)", "docs/tariffs.md `maternity`",
                   "hifp_pay limited to the quota; note QUOTA_REACHED",
                   ("maternity.quotas", "maternity.resident_quotas"), ("maternity quota key", "spouse factor")),
    CalculatorRule("CAP-003", "Outpatient monthly cap reached (门诊月度限额)", "docs/tariffs.md `outpatient`",
                   "hifp_pay limited to what is left of the month; note MONTHLY_CAP_REACHED",
                   ("outpatient.schemes",), ("accumulators: outpatient fund paid this month",)),
    CalculatorRule("CAP-004", "Catastrophic / large-amount annual cap reached (大病保险年度限额)",
                   "docs/tariffs.md `catastrophic`",
                   "hifmi_pay or hifob_pay limited to what is left of that fund's cap; note CAT_CAP_REACHED "
                   "naming the fund (大额补充 or 大病保险)",
                   ("catastrophic.funds",), ("accumulators: catastrophic and large-amount paid this year",)),
    CalculatorRule("CAP-005", "Assistance annual cap reached (医疗救助年度限额)",
                   "docs/tariffs.md `assistance`", "maf_pay limited to what is left of the cap (or of a stage's own "
                   "cap); note MAF_CAP_REACHED naming the stage",
                   ("assistance.annual_cap", "assistance.statuses"),
                   ("accumulators: assistance paid this year, per stage",)),
    CalculatorRule("CAP-006", "Covered-fee cap reached (政策范围内费用限额)",
                   "docs/tariffs.md `outpatient`, `chronic` (covered_cap)",
                   "the in-policy amount above the deductible the ratio is applied to limited to what is left of "
                   "the cap per visit, month or year; note COVERED_VISIT_CAP, COVERED_MONTHLY_CAP_REACHED or "
                   "COVERED_CAP_REACHED", ("outpatient.schemes", "chronic.covered_cap"),
                   ("accumulators: covered fees counted this year and this month",)),
)
CALCULATOR_RULES = AUDIT_RULES + LIMIT_RULES
