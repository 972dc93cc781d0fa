"""Splitting an integer amount of fen over parts exactly: the largest-remainder method.

A claim's violation fee (and its penalty) is attributed to the violation codes that caused it
in proportion to their `violation_amt`. Rounding each share separately would make the by-code
amounts miss the claim's total by a fen now and then, and a hospital disputing a statement
checks exactly that sum. So each part gets the floor of its exact share, and the fen left over
go one each to the parts with the largest remainders, ties to the earlier row (rows are in code
order within a group). Products are taken in Python integers: fee × weight can pass 2^63.
"""

from __future__ import annotations

import numpy as np


def largest_remainder(total: np.ndarray, weight: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per row, its share of its group's `total` (the same value on every row of a group) in
    proportion to `weight`; the shares of a group add up to its total exactly.

    `group` holds group numbers 0…k−1 with each group's rows contiguous and in tie order.
    A group whose weights are all zero must have a zero total (every share is then 0).
    """
    n = len(group)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    weight_sum = np.bincount(group, weights=weight).astype(np.int64)
    denominator = np.maximum(weight_sum, 1)[group].astype(object)
    product = total.astype(object) * weight.astype(object)
    share = (product // denominator).astype(np.int64)
    remainder = (product % denominator).astype(np.int64)
    left = np.zeros(len(weight_sum), dtype=np.int64)
    left[group] = total
    left -= np.bincount(group, weights=share, minlength=len(left)).astype(np.int64)
    # rank rows within their group: largest remainder first, then row order
    order = np.lexsort((np.arange(n), -remainder, group))
    start = np.searchsorted(group[order], group[order], side="left")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - start
    return share + (rank < left[group])
