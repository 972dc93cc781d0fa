"""Text cells are stripped only when some cell may need it (yibao/io.py `_unpadded` reads each
cell's first and last bytes): whatever the cells, the typed text is the plainly stripped text."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from yibao.io import _text

# ASCII codes, the spaces Arrow and Python strip (ASCII, no-break, ideographic, NEL), Chinese, é
CELL = st.text(alphabet=st.sampled_from(["A", "7", "-", " ", "\t", "\n", "\xa0", "\u3000", "\x85", "中", "é", "~"]),
               max_size=4)


@given(st.lists(CELL, max_size=8), st.integers(min_value=0, max_value=3))
def test_typed_text_is_the_stripped_text(cells: list[str], skip: int) -> None:
    # a column read in two chunks, the first sliced (Arrow offsets not starting at 0)
    arrow = pa.chunked_array([pa.array(["pad"] * skip + cells[:3], pa.large_string()).slice(skip),
                              pa.array(cells[3:], pa.large_string())], pa.large_string())
    column = pd.Series(pd.arrays.ArrowStringArray(arrow), dtype=pd.StringDtype("pyarrow", na_value=float("nan")))
    assert _text(column).tolist() == pd.Series(cells, dtype="str").str.strip().tolist()


def test_codes_stay_and_a_space_is_stripped() -> None:
    assert _text(pd.Series(["A01", "B-2", ""], dtype="str")).tolist() == ["A01", "B-2", ""]
    assert _text(pd.Series(["A01 ", "中 "], dtype="str")).tolist() == ["A01", "中"]
