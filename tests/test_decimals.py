"""The decimals check of number cells (yibao.decimals): the compiled pass marks what NumPy's
formula marks, value for value, and nothing when no value is off."""

from __future__ import annotations

import numpy as np
from hypothesis import given, strategies as st

from yibao.decimals import decimals_off
from yibao.io import DECIMAL_TOLERANCE


def test_by_hand() -> None:
    values = np.array([3.505, 7.0, 0.1 + 0.2, np.nan, np.inf, -np.inf, -2.25, 1e-3, 12.3456])
    assert decimals_off(values, 2, DECIMAL_TOLERANCE).tolist() == [True, False, False, False, False, False,
                                                                   False, True, True]
    assert decimals_off(values[[1, 2, 3, 4, 6]], 2, DECIMAL_TOLERANCE) is None  # none off: no mask
    assert decimals_off(np.array([2.0005, 2.005]), 3, DECIMAL_TOLERANCE).tolist() == [True, False]
    assert decimals_off(np.zeros(0), 2, DECIMAL_TOLERANCE) is None
    # a hundredth of a fen off is 0.0005 of a fen from a whole fen: beyond the tolerance of 1e-4
    assert decimals_off(np.array([1.000005, 1.0000005]), 2, DECIMAL_TOLERANCE).tolist() == [True, False]


@given(st.lists(st.floats(min_value=-1e12, max_value=1e12) | st.sampled_from([np.nan, np.inf, -np.inf]) |
                st.integers(-10**9, 10**9).map(lambda fen: fen / 100) |
                st.integers(-10**12, 10**12).map(lambda millionths: millionths / 10**6), max_size=60),
       st.integers(0, 4))
def test_marks_what_numpy_marks(values: list[float], decimals: int) -> None:
    array = np.array(values, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = array * 10.0 ** decimals
        want = np.abs(scaled - np.rint(scaled)) > DECIMAL_TOLERANCE
    got = decimals_off(array, decimals, DECIMAL_TOLERANCE)
    assert (np.zeros(len(array), dtype=bool) if got is None else got).tolist() == want.tolist()
    assert got is None or got.any()
