"""What the scored claims carry to explain their amounts: the calculator's reasons joined to the
rule base's, and the trace as examiners read it (yuan, ratios, claim ids).

The calculator works in fen, basis points and claim positions; the outputs speak yuan and
`mdtrt_id`, like every other table of a scored batch (docs/trace.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from yibao.calculator.trace import NONE
from yibao.money import BP

TRACE_COLUMNS = ("mdtrt_id", "step", "fund", "action", "label_zh", "tariff_path", "base", "ratio", "limit",
                 "amount", "rule_ids")


def with_calculator_reasons(reasons: pd.Series, fired: pd.Series, extra: pd.Series | np.ndarray
                            ) -> tuple[np.ndarray, np.ndarray]:
    """The rule base's reasons and rules fired, followed, on the claims that have them, by the
    calculator's reasons (deductions, limits) and their rule ids."""
    reasons_out = reasons.to_numpy(dtype=object).copy()
    fired_out = fired.to_numpy(dtype=object).copy()
    extra = np.asarray(extra, dtype=object)
    for i in np.flatnonzero([bool(e) for e in extra]).tolist():
        reasons_out[i] = tuple(reasons_out[i]) + extra[i]
        ids = tuple(dict.fromkeys(r[0] for r in extra[i]))
        fired_out[i] = tuple(fired_out[i]) + tuple(r for r in ids if r not in fired_out[i])
    return reasons_out, fired_out


def _yuan_or_none(fen: np.ndarray) -> np.ndarray:
    return np.where(fen == NONE, np.nan, fen / 100)


def trace_output(trace: pd.DataFrame, mdtrt_ids: pd.Series) -> pd.DataFrame:
    """The calculator's trace with claim ids, amounts in yuan and ratios as fractions (NaN: none)."""
    out = pd.DataFrame({"mdtrt_id": mdtrt_ids.to_numpy(dtype=object)[trace["claim_pos"].to_numpy()]})
    for c in ("step", "fund", "action", "label_zh", "tariff_path"):
        out[c] = trace[c].to_numpy()
    out["base"] = _yuan_or_none(trace["base"].to_numpy())
    ratio = trace["ratio_bp"].to_numpy()
    out["ratio"] = np.where(ratio == NONE, np.nan, ratio / BP)
    out["limit"] = _yuan_or_none(trace["limit"].to_numpy())
    out["amount"] = trace["amount"].to_numpy() / 100
    out["rule_ids"] = trace["rule_ids"].to_numpy()
    return out
