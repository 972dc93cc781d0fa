"""`yibao settle`: a month's statements for designated institutions, and their verification."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console
from rich.table import Table

from yibao.cli.options import choices, ledger_files, print_written, quiet_option
from yibao.settlement.output import FORMATS

Format = choices("Format", FORMATS)
log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from yibao.settlement import Settlement


def run(scored: Optional[list[Path]] = typer.Argument(None, help="yibao score output folders: one, or with "
                                                                  "--ledger those of the month's batches (none "
                                                                  "when its only entries are reversals)"),
        period: Optional[str] = typer.Option(None, "--period", help="settlement month, YYYY-MM"),
        out: Optional[Path] = typer.Option(None, "--out", help="output folder"),
        fmt: Format = typer.Option("parquet", "--format", help="output format"),
        institutions: Optional[Path] = typer.Option(
            None, "--institutions", help="institutions table (or batch folder) for the names on statements"),
        verify: Optional[Path] = typer.Option(None, "--verify", help="recompute a written settlement folder"),
        quiet: bool = quiet_option("no summary table"),
        overwrite: bool = typer.Option(False, "--overwrite", help="replace an existing --out folder"),
        ledger: Optional[str] = typer.Option(None, "--ledger", help="ledger (SQLite path or database URL): "
                                             "the claims of the batches booked in the period, whatever "
                                             "their dates; payments reversed in it are negative lines (冲正)"),
        ) -> None:
    """Pay institutions for a month (declared − fees − penalties − deposit); --verify DIR rechecks one."""
    from yibao.errors import InputError
    from yibao.outputs import check_out
    from yibao.settlement import settle, write_settlement
    from yibao.settlement.verify import verify_report

    if verify is not None:
        if scored or period is not None or out is not None:
            raise InputError("--verify DIR takes no SCORED, --period or --out")
        if not verify.is_dir():
            raise InputError("not a settlement folder", file=str(verify))
        report = verify_report(verify)
        for line in report.notices + report.lines:  # notices: what was not checked (exit 0 all the same)
            print(line, file=sys.stderr)
        if report.lines:
            raise typer.Exit(1)
        if not quiet:
            Console().print(f"{verify}: every total reconciles to its claims", markup=False)
        return
    if period is None or out is None:
        raise InputError("give SCORED, --period YYYY-MM and --out DIR (or --verify DIR)")
    if not scored and ledger is None:
        raise InputError("give SCORED, the month's score folders: without one a month is settled only from the "
                         "ledger (--ledger URL), when its only entries there are reversals (yibao ledger reverse)")
    scored = scored or []
    check_out(out, overwrite, kind="settlement", inputs=scored + ledger_files(ledger))
    started = time.perf_counter()
    log.info("settling %s for %s", ", ".join(map(str, scored)) or "the ledger's reversals alone", period)
    settlement = settle(scored, period, institutions, ledger)
    log.info("writing %d statements to %s", len(settlement.statements), out)
    write_settlement(settlement, out, fmt.value, overwrite=overwrite)
    if not quiet:
        _print_summary(settlement, Console())
        print_written(out, started)


def _print_summary(settlement: Settlement, console: Console) -> None:
    from yibao.money import fen_to_yuan
    from yibao.settlement.inputs import fen_total
    from yibao.settlement.labels import TOTALS

    s = settlement.statements
    table = Table(title=f"结算 settlement {s['period'].iat[0] if len(s) else ''}: "
                        f"{len(s):,} institutions, {int(s['claims'].sum()):,} claims", title_justify="left")
    table.add_column("")
    table.add_column("yuan", justify="right")
    for key, label in TOTALS:
        table.add_row(f"{label} {key}", f"{fen_to_yuan(fen_total(s[key])):,}")
    console.print(table)
    problems = {"data incorrect (withheld)": len(settlement.data_incorrect),
                "unknown institution": len(settlement.unknown_institution),
                "suspects": settlement.suspects["mdtrt_id"].nunique()}
    console.print(", ".join(f"{k}: {v:,}" for k, v in problems.items()))
