"""Time the rules' conclusions on a batch and print a digest of them, column by column.

`yibao score` computes the conclusions (`yibao.pipeline._conclude`: facts, durable_rules per
distinct facts row, due dates) in a forked child beside the line pass; once the line pass is
fast, that child is the critical path. This measures `_conclude` alone (best of --repeat, the
rule bases compiled before the clock starts) and prints, per conclusion column, its dtype and a
sha256 of its values, so two versions of the code are shown to conclude the same: run it on the
same batch with each tree first on PYTHONPATH and compare the digests (`diff` of the --json
files, or the `values` line alone when only dtypes may differ).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from yibao.calendar import default_calendar
from yibao.io import read_batch
from yibao.pipeline import _conclude, assign_tariffs
from yibao.rules.engine import compiled


def digest(conclusions: pd.DataFrame) -> dict[str, dict[str, str]]:
    """Per column its dtype and the sha256 of its values as Python values (repr, one per row),
    and the index; equal digests of `values` mean every row of every column is equal."""
    def sha(values: list) -> str:
        return hashlib.sha256("\n".join(map(repr, values)).encode()).hexdigest()
    out = {"index": {"dtype": str(conclusions.index.dtype), "sha256": sha(conclusions.index.tolist())}}
    for name, column in conclusions.items():
        out[name] = {"dtype": str(column.dtype), "sha256": sha(column.tolist())}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("batch", type=Path, help="a batch folder (yibao synth)")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best is reported")
    parser.add_argument("--json", type=Path, help="write the timing and digests here")
    args = parser.parse_args()
    batch, _ = read_batch(args.batch)
    batch = replace(batch, claims=batch.claims.reset_index(drop=True))
    keys, tariffs, _ = assign_tariffs(batch.claims, None, batch.persons)
    calendar = default_calendar()
    for loaded in tariffs.values():
        compiled(loaded.tariff)
    best, conclusions = float("inf"), None
    for _ in range(args.repeat):
        start = time.perf_counter()
        conclusions = _conclude(batch, keys, tariffs, calendar)
        best = min(best, time.perf_counter() - start)
    columns = digest(conclusions)
    values = hashlib.sha256("".join(c["sha256"] for c in columns.values()).encode()).hexdigest()
    print(f"{len(batch.claims)} claims: _conclude {best:.3f} s (best of {args.repeat})")
    print(f"values {values}")
    if args.json:
        args.json.write_text(json.dumps({"claims": len(batch.claims), "seconds": best, "values": values,
                                         "columns": columns}, indent=1))


if __name__ == "__main__":
    main()
