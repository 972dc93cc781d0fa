"""`score_batch(release=True)`: `yibao score` lets the pipeline drop the lines' input columns once
the line pass has read them (issue 13, peak memory). The answer must not change, and only the
columns the output still reads may stay."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from yibao.io import read_batch
from yibao.pipeline import LINE_KEYS, score_batch

TABLES = ("claims", "lines", "accumulators", "violations", "rejects")


def test_release_gives_the_same_result_and_keeps_only_the_line_keys(synth_folder: Path) -> None:
    kept, rejects = read_batch(synth_folder)
    released, _ = read_batch(synth_folder)
    expected = score_batch(kept, rejects)
    got = score_batch(released, rejects, release=True)
    for table in TABLES:
        pd.testing.assert_frame_equal(getattr(got, table), getattr(expected, table), check_exact=True)
    assert list(released.lines.columns) == [c for c in kept.lines.columns if c in LINE_KEYS]
    assert "pric" in kept.lines.columns  # without release the caller's batch is left as it was
