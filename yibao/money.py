"""Integer money and exact ratios.

Money is held as integer fen (分) and ratios as integer basis points (1/10,000) so that every sum
reconciles to the fen; the only rounding is half-up, applied where docs/domain.md §4 says. These
helpers work on Python ints and on numpy int64 arrays alike, so the calculator has one route.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

import numpy as np

BP = 10_000  # basis points in one
FEN = 100  # fen in one yuan

IntLike = TypeVar("IntLike", int, np.ndarray)


def div_half_up(num: IntLike, den: IntLike | int) -> IntLike:
    """Round num/den half-up for num ≥ 0, den > 0, in integers (no float ever touches money)."""
    return (2 * num + den) // (2 * den)


def mul_bp(amount: IntLike, bp: IntLike | int) -> IntLike:
    """round_half_up(amount × bp / 10,000): a fen amount times a ratio in basis points."""
    return div_half_up(amount * bp, BP)


ROUNDING_UNITS = {"fen": 1, "jiao": 10, "yuan": 100}  # fen in one unit of rounding


def divide_rounded(num: IntLike, den: IntLike | int, unit_fen: IntLike | int = 1,
                   truncate: IntLike | bool = False) -> IntLike:
    """num/den fen, for num ≥ 0, den > 0, rounded to a whole `unit_fen` (1 fen, 10 a jiao, 100
    a yuan) half-up, or truncated where `truncate`: the rounding a tariff states per amount (some
    allowances are paid in whole yuan, truncated)."""
    step = den * unit_fen
    return np.where(truncate, num // step, div_half_up(num, step)) * unit_fen


def yuan_to_fen(value: Decimal | float | int | str) -> int:
    """Exact yuan → fen; rejects more than two decimals rather than silently rounding."""
    d = Decimal(str(value))
    fen = d * FEN
    if fen != fen.to_integral_value():
        raise ValueError(f"{value} yuan has more than two decimals")
    return int(fen)


def fen_to_yuan(fen: int) -> Decimal:
    """Fen → yuan as an exact two-decimal Decimal, for output."""
    return (Decimal(int(fen)) / FEN).quantize(Decimal("0.01"))


def ratio_to_bp(value: Decimal | float | int | str) -> int:
    """Exact ratio → basis points; rejects more than four decimals."""
    d = Decimal(str(value))
    bp = d * BP
    if bp != bp.to_integral_value():
        raise ValueError(f"ratio {value} has more than four decimals")
    return int(bp)


def bp_to_ratio(bp: int) -> Decimal:
    return (Decimal(int(bp)) / BP).normalize()


def round_half_up(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def yuan_array_to_fen(values: np.ndarray) -> np.ndarray:
    """Vectorized yuan → fen for input columns already limited to two decimals.

    Input files carry yuan as decimals; the nearest integer of value × 100 is exact for any
    amount with at most two decimals below 10^13 fen (float64 carries 15–16 significant digits).
    """
    return np.rint(np.asarray(values, dtype=np.float64) * FEN).astype(np.int64)
