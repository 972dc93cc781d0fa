"""Writing a settlement: the tables, the workbook and the printable pages, in one folder.

The tables (Parquet or CSV) are what `yibao settle --verify` and downstream payment systems
read; `settlement.xlsx` and `html/` are for people. All are written from the same `Settlement`,
and all are byte-identical for the same input.
"""

from __future__ import annotations

from pathlib import Path

from yibao.io import write_tables
from yibao.settlement.html import write_pages
from yibao.settlement.statement import Settlement
from yibao.settlement.workbook import write_workbook

FORMATS = ("parquet", "csv")
WORKBOOK = "settlement.xlsx"
PAGES = "html"


def write_settlement(settlement: Settlement, out: Path, fmt: str = "parquet") -> list[Path]:
    """`<table>.<fmt>` per table, `settlement.xlsx`, and `html/index.html` with a page per institution."""
    paths = write_tables(settlement.tables(), out, fmt)
    paths.append(write_workbook(settlement, out / WORKBOOK))
    return paths + write_pages(settlement, out / PAGES)
