"""The line pass's blocks: lines that come claim by claim are cut into runs of rows, and those
runs are exactly the blocks that sorting the lines makes (the route for lines in any order)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

from yibao.calculator import claims as calc


def _rows(block: calc.Rows) -> list[int]:
    return list(range(block.start, block.stop)) if isinstance(block, slice) else block.tolist()


@given(claims=st.lists(st.tuples(st.integers(1, 40), st.integers(0, 2)), min_size=1, max_size=60),
       block_lines=st.integers(1, 64))
def test_runs_are_the_sorted_blocks(claims: list[tuple[int, int]], block_lines: int) -> None:
    """Per claim its lines and its version; a claim longer than a block and blocks of claims
    under several versions included."""
    sizes, versions = np.array(claims).T
    claim_pos = np.repeat(np.arange(len(claims)), sizes)
    line_tariff = np.repeat(versions, sizes).astype(np.int16)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(calc, "BLOCK_LINES", block_lines)
        runs = calc._blocks(claim_pos, line_tariff, len(claims), 3)
        plain = calc._sorted(claim_pos, line_tariff, len(claims), 3)
        one_version = calc._blocks(claim_pos, np.zeros_like(line_tariff), len(claims), 3)
    assert [(_rows(rows), v) for rows, v in runs] == [(rows.tolist(), v) for rows, v in plain]
    assert all(isinstance(rows, slice) for rows, _ in one_version)  # views of the batch's inputs, no copy


def test_lines_out_of_claim_order_are_sorted() -> None:
    claim_pos = np.array([1, 0, 1, 0])
    blocks = calc._blocks(claim_pos, np.zeros(4, np.int16), 2, 1)
    assert [(rows.tolist(), v) for rows, v in blocks] == [([0, 1, 2, 3], 0)]
