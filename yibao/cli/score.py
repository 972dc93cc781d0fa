"""`yibao score`: a month of claims, scored for examiners."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from yibao.summary import print_summary, summarize, with_decision_words

FORMATS = ("parquet", "csv", "xlsx")


class Stages:
    """Progress on stderr, one step per stage; shown only for batches worth waiting for."""

    def __init__(self, enabled: bool) -> None:
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                 console=Console(stderr=True), transient=True, disable=not enabled)
        self.task = self.progress.add_task("starting", total=None)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.progress.update(self.task, description=name)
        yield


def run(input: Path = typer.Argument(..., help="folder of batch tables (Parquet or CSV)"),
        out: Path = typer.Option(..., "--out", help="output folder"),
        tariff: Optional[str] = typer.Option(None, "--tariff", help="ID or ID@VERSION"),
        accumulators: Optional[Path] = typer.Option(None, "--accumulators",
                                                    help="accumulators of earlier batches"),
        fmt: str = typer.Option("parquet", "--format", help="parquet, csv or xlsx"),
        quiet: bool = typer.Option(False, "--quiet", help="no progress, no summary tables"),
        trace: bool = typer.Option(False, "--trace", help="also a `trace` table: every step of every claim's "
                                                          "amounts (docs/trace.md)"),
        ) -> None:
    """Score a batch: decisions, reasons and amounts of every claim; exit 0 even with rejects."""
    from yibao.errors import InputError
    from yibao.io import load_batch, write_tables
    from yibao.pipeline import score_batch

    if fmt not in FORMATS:
        raise InputError(f"--format {fmt}: choose one of {', '.join(FORMATS)}")
    started = time.perf_counter()
    big = not quiet and sum(f.stat().st_size for f in input.glob("lines.*")) > 5_000_000
    stages = Stages(big)
    with stages.progress:
        with stages.stage("reading tables"):
            batch, rejects = load_batch(input, accumulators)
        with stages.stage(f"scoring {len(batch.claims):,} claims, {len(batch.lines):,} lines"):
            result = score_batch(batch, rejects, tariff=tariff, trace=trace)
        with stages.stage("writing results"):
            summary = summarize(result)
            out.mkdir(parents=True, exist_ok=True)
            tables = {"claims": result.claims, "lines": result.lines, "accumulators": result.accumulators,
                      "violations": result.violations, "rejects": result.rejects}
            if fmt == "xlsx":  # people read the sheets: the decision in Chinese beside its code
                tables["claims"] = with_decision_words(result.claims)
            if result.trace is not None:
                tables["trace"] = result.trace
            write_tables(tables, out, fmt)
            (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=True)
                                              + "\n", encoding="utf-8")
    if not quiet:
        console = Console()
        print_summary(summary, console)
        console.print(f"[dim]written to {out} in {time.perf_counter() - started:.1f} s[/dim]")
