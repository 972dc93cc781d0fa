"""What goes on each institution's statement, and names its sheet and page can safely carry.

The workbook and the printable pages show the same statements; both walk `statements()` so an
institution's sheet and page hold the same rows, and both name them with `safe_names` so the
sheet and the file of an institution are found under its id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pandas as pd

from yibao.settlement.inputs import fen_total
from yibao.fields import MONEY
from yibao.settlement.labels import SECTIONS
from yibao.settlement.statement import WITHHELD, Settlement

UNSAFE = re.compile(r"[^0-9A-Za-z_.\-\u4e00-\u9fff]")
SUMMARY_PAGE, SUMMARY_SHEET = "index", "汇总"  # html/index.html and the workbook's first sheet
RESERVED = (SUMMARY_PAGE, SUMMARY_SHEET, "History")  # History: a sheet name Excel keeps for itself
DEVICE = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?", re.IGNORECASE)  # Windows' devices


@dataclass(frozen=True)
class Statement:
    """One institution's statement row and its rows of every section table."""

    row: pd.Series
    sections: dict[str, pd.DataFrame]

    @property
    def institution_id(self) -> str:
        return str(self.row["institution_id"])


def statements(settlement: Settlement) -> Iterator[Statement]:
    """Statements in institution order, each with its rows of the SECTIONS tables."""
    tables = settlement.tables()
    grouped = {name: dict(tuple(tables[name].groupby("institution_id", sort=False)))
               for name, _, _ in SECTIONS}
    for _, row in settlement.statements.iterrows():
        yield Statement(row, {name: grouped[name].get(row["institution_id"], tables[name].iloc[:0])
                              for name, _, _ in SECTIONS})


def total_row(frame: pd.DataFrame, columns: list[str]) -> tuple[str, list[int | None]] | None:
    """The 合计 row of a table: its label and, per column, the fen total of a money column
    (None for others); None when the table has no money column. A claims list totals its
    settled claims only, so its 合计 matches the statement (withheld claims have their own)."""
    if not set(columns) & MONEY:
        return None
    settled = frame["status"].to_numpy() != WITHHELD if "status" in frame.columns else np.ones(len(frame), bool)
    label = "合计(结算)" if "status" in frame.columns else "合计"
    return label, [fen_total(frame.loc[settled, c]) if c in MONEY else None for c in columns]


def safe_names(ids: list[str], limit: int) -> list[str]:
    """Per id a distinct name of at most `limit` characters, usable as a file and a sheet name:
    other characters become "_", and a clash gets "~2", "~3", … (same ids → same names). Names
    differing only in case clash too: Excel's sheet names, and the files of Windows and macOS,
    are one name whatever the case. No institution takes a name of `RESERVED` (an institution
    "index" wrote its statement over the summary page; one "History" is a sheet Excel repairs
    away), and the workbook and the pages reserve the same names, so that an institution's
    sheet and page have one name (up to the sheet's 31 characters). A name Windows cannot give
    a file (CON, NUL, COM1, … also before a dot) or one that would hide the file (a leading
    ".") gets a leading "_"."""
    names: list[str] = []
    taken = {r.casefold() for r in RESERVED}
    for i in ids:
        base = UNSAFE.sub("_", i) or "_"
        base = ("_" + base if base.startswith(".") or DEVICE.fullmatch(base) else base)[:limit]
        name, n = base, 1
        while name.casefold() in taken:
            n += 1
            name = base[:limit - len(f"~{n}")] + f"~{n}"
        taken.add(name.casefold())
        names.append(name)
    return names
