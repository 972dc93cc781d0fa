"""The maternity cash benefits of employee maternity insurance: the allowance (生育津贴) and the
one-off maternity grant (一次性生育补助金).

They are paid to the mother beside the claim's medical costs, not out of them, so they stay
outside `medfee_sumamt = fund_pay_sumamt + psn_part_amt + hosp_part_amt`. The rule base decides
who gets them (allowance days, grant units); here they become fen, per tariff version, with the
rounding each tariff states.
"""

from __future__ import annotations

import numpy as np

from yibao.money import BP, ROUNDING_UNITS, divide_rounded, ratio_to_bp, yuan_to_fen
from yibao.tariffs.model import Rounding
from yibao.tariffs.registry import LoadedTariff


def _per_claim(values: list[int], version: np.ndarray, none: int) -> np.ndarray:
    """A value per tariff version, spread to the claims (`version` -1: `none`)."""
    return np.array(values + [none], dtype=np.int64)[version]


def _rounded(num: np.ndarray, den: np.ndarray, roundings: list[Rounding], version: np.ndarray) -> np.ndarray:
    """num ÷ den fen, rounded as each claim's tariff version says."""
    unit = _per_claim([ROUNDING_UNITS[r.unit] for r in roundings], version, 1)
    truncate = _per_claim([r.mode == "truncate" for r in roundings], version, 0).astype(bool)
    return divide_rounded(num, den, unit, truncate)


def allowance_fen(days: np.ndarray, wage: np.ndarray, version: np.ndarray,
                  tariffs: dict[str, LoadedTariff]) -> np.ndarray:
    """生育津贴 = wage × days ÷ divisor_days, where the rule base gave allowance days."""
    allowances = [lt.tariff.maternity.allowance for lt in tariffs.values()]
    divisor = _per_claim([a.divisor_days for a in allowances], version, 1)
    return np.where(days > 0, _rounded(wage * days, divisor, [a.rounding for a in allowances], version), 0)


def grant_fen(units: np.ndarray, wage: np.ndarray, version: np.ndarray,
              tariffs: dict[str, LoadedTariff]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """一次性生育补助金 = units (deliveries or infants, by the rule base) × the grant: a fixed amount,
    or wage × `wage_months` rounded as the grant's `rounding` says (once per unit). Also, per
    claim, the grant of one unit and `wage_months` in basis points (0: a fixed amount), which the
    trace shows."""
    grants = [lt.tariff.maternity.grant for lt in tariffs.values()]
    fixed = _per_claim([yuan_to_fen(g.amount) if g and g.amount is not None else 0 for g in grants], version, 0)
    months_bp = _per_claim([ratio_to_bp(g.wage_months) if g and g.wage_months is not None else 0 for g in grants],
                           version, 0)
    by_wage = _rounded(wage * months_bp, np.full(len(units), BP), [g.rounding if g else Rounding() for g in grants],
                       version)
    one = np.where(months_bp > 0, by_wage, fixed)
    return units * one, one, months_bp
