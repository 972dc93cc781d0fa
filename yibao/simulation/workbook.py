"""The simulation workbook (simulation.xlsx) policy staff rework in Excel: one sheet per table.

Each sheet has two header rows — the Chinese heading, then the field name of the files — frozen
above the rows; money is a number formatted `#,##0.00`, so a column sums in Excel to the report's
total. Written with XlsxWriter, byte-identical for the same simulation (fixed document date).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from yibao.excel import xlsx_book
from yibao.simulation.labels import CATEGORY, DIMENSIONS, HEADERS, money_columns
from yibao.simulation.simulation import Simulation

MONEY_FORMAT = "#,##0.00"


def sheets(sim: Simulation) -> dict[str, pd.DataFrame]:
    """Sheet name → table, in reading order (the per-claim table stays in the Parquet/CSV files:
    a county year has more claims than a sheet holds)."""
    out = {"汇总 totals": sim.totals, "参数变化 tariff_diff": sim.tariff_diff}
    out |= {f"按{(DIMENSIONS | CATEGORY)[d]} {d}": frame for d, frame in sim.breakdowns.items()}
    out |= {"十分位 deciles": sim.deciles, "变化最大就诊 top_claims": sim.top_claims,
            "变化最大人员 top_persons": sim.top_persons}
    return out


def _cell(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and value != value) else value


def write_workbook(sim: Simulation, path: Path) -> Path:
    book = xlsx_book(path)
    header = book.add_format({"bold": True, "bg_color": "#DDE4EE", "text_wrap": True, "valign": "vcenter"})
    field = book.add_format({"italic": True, "font_color": "#4A5562", "bg_color": "#F3F5F8"})
    money = book.add_format({"num_format": MONEY_FORMAT})
    money_set = set(money_columns())
    for name, frame in sheets(sim).items():
        ws = book.add_worksheet(name[:31])
        columns = list(frame.columns)
        ws.write_row(0, 0, [HEADERS.get(c, c) for c in columns], header)
        ws.write_row(1, 0, columns, field)
        ws.freeze_panes(2, 0)
        for i, c in enumerate(columns):
            ws.set_column(i, i, 40 if c == "path" else 14, money if c in money_set else None)
        for row, values in enumerate(zip(*(frame[c].tolist() for c in columns)), start=2):
            ws.write_row(row, 0, [_cell(v) for v in values])
    book.close()
    return path
