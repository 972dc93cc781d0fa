"""`yibao simulate`: what a tariff change costs the funds and who gains or loses (基金测算)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from yibao.cli.options import choices, print_written, quiet_option
from yibao.cli.score import Stages

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from yibao.simulation import Simulation

FORMATS = ("parquet", "csv")
Format = choices("Format", FORMATS)
TOP_SHOWN = 10


def _table(title: str, headers: list[str], rows: list[list[Any]], numeric_from: int = 1) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left")
    for i, h in enumerate(headers):
        table.add_column(h, justify="right" if i >= numeric_from else "left", overflow="fold")
    for row in rows:
        table.add_row(*(Text(str(v)) for v in row))  # paths hold [selectors]: never markup
    return table


def _signed(yuan: float) -> str:
    return f"{yuan:+,.2f}" if yuan else "0.00"


def show(sim: Simulation, console: Console) -> None:
    """The simulation as tables in the terminal: diff, totals, groups, persons, largest claims."""
    from rich.markup import escape

    from yibao.simulation.labels import CASH, CATEGORY, DIMENSIONS, DIRECTIONS, FIELD_LABELS, VALUES

    s = sim.summary
    c = s["claims"]
    console.print(f"[bold]基金测算[/] baseline {escape(', '.join(s['baseline']['versions']) or '—')} → reform "
                  f"{escape(', '.join(s['reform']['versions']) or '—')}: {c['compared']:,} claims compared, "
                  f"{c['changed']:,} changed, {c['decisions_changed']:,} decisions changed"
                  + (f"; {s['batch']['rejected_claims']:,} claims rejected by the reading, not compared "
                     f"(yibao score lists why)" if s["batch"]["rejected_claims"] else "")
                  + (f"; {s['batch']['unscored_claims']:,} claims scored on neither side (a date no tariff "
                     f"version is in force on: yibao score lists why), not compared"
                     if s["batch"]["unscored_claims"] else ""))
    if len(sim.tariff_diff):
        console.print(_table("参数变化 tariff diff", ["baseline", "reform", "path", "from", "to"],
                             sim.tariff_diff.values.tolist(), numeric_from=3))
    elif c.get("both"):
        console.print("参数变化 tariff diff: none (a no-op reform)")
    else:  # the diff is per pair of versions that met on a claim: with none, it says nothing of the reform
        console.print("参数变化 tariff diff: none listed, no claim was scored on both sides")
    totals = _table("基金 totals (yuan)", ["", "field", "baseline", "reform", "change"],
                    [[r.label, r.field, f"{r.baseline:,.2f}", f"{r.reform:,.2f}", _signed(r.change)]
                     for r in sim.totals.itertuples()], numeric_from=2)
    totals.rows[len(sim.totals) - len(CASH) - 1].end_section = True
    console.print(totals)
    console.print("[dim]生育津贴, 一次性生育补助金: paid to the mother beside the medical costs, "
                  "no part of fund_pay_sumamt[/dim]")
    cash = sim.cash_changed
    for d, frame in sim.breakdowns.items():
        console.print(_table(f"按{(DIMENSIONS | CATEGORY)[d]} by {d} (yuan)",
                             [d, "claims", "changed", "funds change", "person change", "hospital change",
                              *(f"{FIELD_LABELS[f]} change" for f in cash)],
                             [[r.label, f"{r.claims:,}", f"{r.changed:,}", _signed(r.fund_pay_sumamt_change),
                               _signed(r.psn_part_amt_change), _signed(r.hosp_part_amt_change),
                               *(_signed(getattr(r, f"{f}_change")) for f in cash)]
                              for r in frame.itertuples()]))
    p = s["persons"]
    console.print("个人负担 persons' out-of-pocket: " + ", ".join(
        f"{DIRECTIONS[k]} {k} {p[k]:,}" for k in DIRECTIONS) + f" (of {p['persons']:,})")
    console.print(_table("十分位 deciles of the change (yuan)", ["decile", "persons", "min", "max", "mean", "total"],
                         [[r.decile, f"{r.persons:,}", _signed(r.min), _signed(r.max), _signed(r.mean), _signed(r.total)]
                          for r in sim.deciles.itertuples()]))
    if len(sim.top_claims):
        console.print(_table("变化最大就诊 largest changes (yuan)",
                             ["claim", "med_type", "funds change", "person change",
                              *(f"{FIELD_LABELS[f]} change" for f in cash)],
                             [[r.mdtrt_id, VALUES["med_type"].get(r.med_type, r.med_type),
                               _signed(r.fund_pay_sumamt_change), _signed(r.psn_part_amt_change),
                               *(_signed(getattr(r, f"{f}_change")) for f in cash)]
                              for r in sim.top_claims.head(TOP_SHOWN).itertuples()], numeric_from=2))


def run(batch: Path = typer.Argument(..., help="folder of batch tables (Parquet or CSV)"),
        out: Path = typer.Option(..., "--out", help="output folder"),
        set_: list[str] = typer.Option([], "--set", help="PATH=VALUE edit of every version in force (repeatable; "
                                                         "catalogue too: 'catalogue\\[code=X].price_cap=2.50')"),
        reform: Optional[str] = typer.Option(None, "--reform", help="the reform tariff: ID, ID@VERSION or a folder"),
        tariff: Optional[str] = typer.Option(None, "--tariff", help="the baseline: ID, ID@VERSION or a folder"),
        accumulators: Optional[Path] = typer.Option(None, "--accumulators", help="accumulators of earlier batches"),
        fmt: Format = typer.Option("parquet", "--format", help="output format"),
        json_out: bool = typer.Option(False, "--json", help="print summary.json instead of tables"),
        overwrite: bool = typer.Option(False, "--overwrite", help="replace an existing --out folder"),
        quiet: bool = quiet_option("no progress, no tables"),
        ) -> None:
    """Simulate a tariff change on a batch: funds, persons and institutions before and after."""
    from yibao.io import load_batch
    from yibao.outputs import check_out
    from yibao.simulation import simulate_batch
    from yibao.simulation.output import write_simulation

    check_out(out, overwrite, kind="simulation", inputs=[batch] + ([accumulators] if accumulators else []))
    started = time.perf_counter()
    stages = Stages(not json_out and not quiet and sum(f.stat().st_size for f in batch.glob("lines.*")) > 5_000_000)
    with stages.progress:
        with stages.stage("reading tables"):
            tables, rejects = load_batch(batch, accumulators)
        with stages.stage(f"scoring {len(tables.claims):,} claims twice: baseline and reform"):
            sim = simulate_batch(tables, rejects, edits=set_, reform=reform, tariff=tariff)
        with stages.stage("writing results"):
            write_simulation(sim, out, fmt.value, overwrite)
    if quiet:
        return
    if json_out:
        typer.echo(json.dumps(sim.summary, ensure_ascii=False, indent=2, sort_keys=True))
        return
    from rich.console import Console

    console = Console()
    show(sim, console)
    print_written(out, started)
