"""The simulation folder — tables, summary, workbook and printable report — written whole or not
at all and sealed by a manifest, like every output folder (`yibao.outputs`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from yibao.io import write_tables
from yibao.outputs import write_folder
from yibao.simulation.labels import money_columns
from yibao.simulation.report import render
from yibao.simulation.simulation import Simulation
from yibao.simulation.workbook import write_workbook


def tables(sim: Simulation) -> dict[str, pd.DataFrame]:
    """File name (without extension) → table."""
    out = {"totals": sim.totals, "claims_diff": sim.claims, "persons_diff": sim.persons}
    out |= {f"by_{d}": frame for d, frame in sim.breakdowns.items()}
    out |= {"deciles": sim.deciles, "top_claims": sim.top_claims, "top_persons": sim.top_persons,
            "tariff_diff": sim.tariff_diff}
    return out


def write_simulation(sim: Simulation, out: str | Path, fmt: str = "parquet", overwrite: bool = False) -> dict[str, Any]:
    """The tables, summary.json, simulation.xlsx and report.html, sealed by a manifest; returns it."""
    frames = tables(sim)

    def write(folder: Path) -> dict[str, Any]:
        write_tables(frames, folder, fmt, money=frozenset(money_columns()))  # CSV: 12.50, as score's
        (folder / "summary.json").write_text(json.dumps(sim.summary, ensure_ascii=False, indent=2, sort_keys=True)
                                             + "\n", encoding="utf-8")
        write_workbook(sim, folder / "simulation.xlsx")
        (folder / "report.html").write_text(render(sim), encoding="utf-8")
        return {"rows": {name: len(frame) for name, frame in frames.items()}, "format": fmt}

    return write_folder(out, write, kind="simulation", overwrite=overwrite)
