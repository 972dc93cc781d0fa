"""The workbook and the printable pages of a written settlement, made again from its tables.

People read `settlement.xlsx` and `html/`, not the tables `--verify` recomputes: a number edited
in a page or a sheet, the manifest sealed again, passed every check. Both are written
deterministically from the tables alone (`write_workbook`, `write_pages`: no date, no input
outside the folder), so the tables a settlement holds give exactly one workbook and one set of
pages, and any other byte is an edit. The same reading checks that every table's `period` is
the month the manifest says was settled. A page no table gives is an edit too, listed in the
manifest or put beside the pages after it was written (a hidden file, as Finder's .DS_Store, is
no page).
"""

from __future__ import annotations

import tempfile
from dataclasses import fields
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from yibao.fields import MONEY, RATIOS
from yibao.outputs import MANIFEST
from yibao.settlement.html import write_pages
from yibao.settlement.inputs import read_listed
from yibao.settlement.output import PAGES, WORKBOOK
from yibao.settlement.statement import Settlement
from yibao.settlement.workbook import write_workbook

COUNTS = frozenset({"claims", "withheld_claims", "suspect_claims", "row"})  # integer columns
FLAGS = frozenset({"scored"})  # bool columns


def rebuilt_differences(folder: Path, manifest: Mapping[str, Any], period: str) -> list[str]:
    """One line per table whose rows are not all of `period`, and per workbook or page file that
    is not what the tables give (or is missing, or was never written from them)."""
    tables = {f.name: _typed(read_listed(folder, f.name, manifest)[0]) for f in fields(Settlement)
              if f.name in manifest["rows"]}
    lines = [f"{name}: period {frame['period'][other].iat[0]!r} in {int(other.sum())} of {len(frame)} rows, "
             f"not the manifest's {period}" for name, frame in tables.items()
             if "period" in frame.columns and (other := (frame["period"].astype(str) != period).to_numpy()).any()]
    settlement = Settlement(**tables, period=period)
    listed = {rel for rel in manifest["files"] if rel == WORKBOOK or rel.startswith(f"{PAGES}/")}
    added = {rel for rel in (p.relative_to(folder).as_posix() for p in (folder / PAGES).rglob("[!.]*") if p.is_file())
             if rel not in manifest["files"]}
    with tempfile.TemporaryDirectory(prefix="yibao-verify-") as tmp:
        again = Path(tmp)
        write_workbook(settlement, again / WORKBOOK)
        write_pages(settlement, again / PAGES)
        made = {p.relative_to(again).as_posix() for p in again.rglob("*") if p.is_file()}
        lines += [f"{rel}: missing, though its tables give it" for rel in sorted(made - listed)]
        lines += [f"{rel}: not written from the tables" for rel in sorted(listed - made)]
        lines += [f"{rel}: not in {MANIFEST} (added after the folder was written), and no table gives it"
                  for rel in sorted(added - made)]
        lines += [f"{rel}: differs from what the tables give (edited?)" for rel in sorted(made & listed)
                  if (folder / rel).read_bytes() != (again / rel).read_bytes()]
    return lines


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """A table with the types `write_settlement` wrote it from (a CSV gives every cell as text):
    amounts and ratios as floats (an empty amount NaN), counts as integers, flags as bools."""
    out = frame.copy()
    for column in frame.columns:
        if column in MONEY or column in RATIOS:
            out[column] = pd.to_numeric(frame[column], errors="coerce").astype(np.float64)
        elif column in COUNTS:
            out[column] = pd.to_numeric(frame[column], errors="coerce").fillna(-1).astype(np.int64)
        elif column in FLAGS:
            out[column] = frame[column].astype(str).str.lower() == "true"
    return out
