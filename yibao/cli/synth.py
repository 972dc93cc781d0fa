"""`yibao synth`: realistic synthetic batch tables, to try `yibao score` without real claims."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from yibao.cli.options import choices, quiet_option

FORMATS = ("parquet", "csv")
Format = choices("Format", FORMATS)


def run(claims: int = typer.Option(..., "--claims", min=1, help="number of claims and applications"),
        seed: int = typer.Option(..., "--seed", min=0, help="random seed: the same seed writes the same bytes"),
        out: Path = typer.Option(..., "--out", help="output folder"),
        fmt: Format = typer.Option("parquet", "--format", help="output format"),
        year: int = typer.Option(2025, "--year", min=1900, max=2200, help="the year the claims are dated in"),
        tariff: Optional[str] = typer.Option(None, "--tariff",
                                             help="ID or ID@VERSION whose catalogue and materials to use"),
        overwrite: bool = typer.Option(False, "--overwrite", help="replace an existing --out folder"),
        quiet: bool = quiet_option("no table of the files written"),
        ) -> None:
    """Write synthetic batch tables (persons, claims, lines, …) with realistic distributions."""
    from yibao.io import write_tables
    from yibao.outputs import check_out, write_folder
    from yibao.synth import generate

    check_out(out, overwrite, kind="batch")
    started = time.perf_counter()
    tables = generate(claims, seed, year, tariff)
    written: list[Path] = []

    def write(folder: Path) -> dict[str, object]:
        written.extend(out / p.name for p in write_tables(tables, folder, fmt.value))
        return {"rows": {name: len(frame) for name, frame in tables.items()}, "format": fmt.value,
                "synth": {"claims": claims, "seed": seed, "year": year, "tariff": tariff}}

    write_folder(out, write, kind="batch", overwrite=overwrite)
    seconds = time.perf_counter() - started
    if quiet:
        return
    summary = Table("table", "rows", "file", title=f"yibao synth --claims {claims:,} --seed {seed}",
                    title_justify="left")
    for (name, frame), path in zip(tables.items(), written):
        summary.add_row(name, f"{len(frame):,}", Text(str(path)))
    console = Console()
    console.print(summary)
    console.print(f"[dim]written in {seconds:.1f} s[/dim]")
