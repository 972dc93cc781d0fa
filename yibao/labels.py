"""Chinese names of the codes people read: decisions, medical types, violation codes.

The tables keep the codes (they are what programs join on); wherever a person reads a decision —
the what-if panel, the score summary, Excel sheets, a settlement statement — the Chinese word
stands beside the code, from this one place.
"""

from __future__ import annotations

DECISIONS = {"approved": "通过", "partially_approved": "部分通过", "rejected": "拒付",
             "needs_materials": "需补材料", "pending_verification": "待核实"}
MED_TYPES = {"11": "普通门诊", "14": "门诊慢特病", "21": "普通住院", "51": "生育门诊", "52": "生育住院"}
VIOLATIONS = {"GENDER": "限性别", "AGE": "限年龄", "LEVEL": "限医院级别", "SETTING": "限住院",
              "INDICATION": "限适应症", "QTY_DAY": "超每日限量", "BED_DAYS": "床位天数超住院天数",
              "SPLIT_ADMISSION": "疑似分解住院"}


def beside(code: str, names: dict[str, str]) -> str:
    """`通过 approved`: the Chinese name, then the code ("" stays "", an unknown code stays itself)."""
    return f"{names[code]} {code}" if code in names else code


def codes_beside(codes: str, names: dict[str, str], sep: str = ";") -> str:
    """Each code of a `;`-joined list with its name: `限年龄 AGE;超每日限量 QTY_DAY`."""
    return sep.join(beside(c, names) for c in codes.split(sep) if c)
