"""The simulation folder, written whole or not at all: every file goes into a temporary sibling
folder, which replaces `out` by a rename only once all are written. A run that fails leaves
`out` as it was."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from yibao.io import write_tables
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


def write_simulation(sim: Simulation, out: Path, fmt: str = "parquet") -> list[Path]:
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        write_tables(tables(sim), work, fmt)
        (work / "summary.json").write_text(json.dumps(sim.summary, ensure_ascii=False, indent=2, sort_keys=True)
                                           + "\n", encoding="utf-8")
        write_workbook(sim, work / "simulation.xlsx")
        (work / "report.html").write_text(render(sim), encoding="utf-8")
        os.chmod(work, 0o755)  # mkdtemp makes it private; the folder is a report to share
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, old / out.name)
            os.replace(work, out)
            shutil.rmtree(old)
        else:
            os.replace(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return sorted(out.iterdir())
