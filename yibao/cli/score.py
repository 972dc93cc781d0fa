"""`yibao score`: a month of claims, scored for examiners."""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Callable, Iterator, Optional

import typer
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                           TimeElapsedColumn)

from yibao.cli.app import keep_heap
from yibao.cli.options import choices, ledger_files, print_written, quiet_option
from yibao.summary import print_summary

FORMATS = ("parquet", "csv", "xlsx")
Format = choices("Format", FORMATS)
Engine = choices("Engine", ("local", "dask"))
DASK_PARTITIONS = 8  # --engine dask without --partitions: enough tasks to keep a few workers busy
MAX_PARTITIONS = 10_000  # a province's 500M lines in parts of 50,000; a split keeps a file open per partition
log = logging.getLogger(__name__)


class Stages:
    """Progress on stderr, one step per stage; shown only for batches worth waiting for. Each
    stage is also logged (`yibao -v score …`), with its time at DEBUG."""

    def __init__(self, enabled: bool) -> None:
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                 console=Console(stderr=True), transient=True, disable=not enabled)
        self.task = self.progress.add_task("starting", total=None)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.progress.update(self.task, description=name)
        log.info("%s", name)
        started = time.perf_counter()
        yield
        log.debug("%s: %.2f s", name, time.perf_counter() - started)


def run(input: Path = typer.Argument(..., help="folder of batch tables (Parquet, CSV or xlsx), or one .xlsx workbook"),
        out: Path = typer.Option(..., "--out", help="output folder"),
        tariff: Optional[list[str]] = typer.Option(None, "--tariff",
                                                   help="ID, ID@VERSION or a tariff folder: the tariff of claims "
                                                        "without a region; again for other regions' tariffs "
                                                        "(docs/tariffs.md regions)"),
        accumulators: Optional[Path] = typer.Option(None, "--accumulators",
                                                    help="accumulators of earlier batches"),
        fmt: Format = typer.Option("parquet", "--format", help="output format"),
        quiet: bool = quiet_option("no progress, no summary tables"),
        overwrite: bool = typer.Option(False, "--overwrite", help="replace an existing --out folder"),
        ledger: Optional[str] = typer.Option(None, "--ledger",
                                             help="ledger (SQLite path or database URL): accumulators from it, "
                                                  "the batch committed to it"),
        period: Optional[str] = typer.Option(None, "--period",
                                             help="with --ledger: settlement month YYYY-MM (default: the "
                                                  "latest settlement date's)"),
        trace: bool = typer.Option(False, "--trace", help="also a `trace` table: every step of every claim's "
                                                          "amounts (docs/trace.md)"),
        partitions: Optional[str] = typer.Option(None, "--partitions",
                                                 help="N or auto: score in N partitions of persons, one after "
                                                      "another, memory bounded by a partition (auto: about 1M "
                                                      "lines each); tables written as <table>/part-*.parquet "
                                                      "(docs/scale.md)"),
        engine: Engine = typer.Option("local", "--engine", help="dask: the partitions as tasks on a Dask cluster"),
        scheduler: Optional[str] = typer.Option(None, "--scheduler",
                                                help="with --engine dask: a Dask scheduler's address "
                                                     "(default: a local cluster, a worker per core)"),
        ) -> None:
    """Score a batch: decisions, reasons and amounts of every claim; exit 0 even with rejects."""
    from yibao.errors import InputError
    from yibao.io import Ahead, load_batch
    from yibao.outputs import check_out
    from yibao.pipeline import score_batch, tariff_set
    from yibao.scored import write_scored

    if ledger is not None and accumulators is not None:
        raise InputError("--ledger holds the accumulators: give --ledger or --accumulators, not both")
    if period is not None and ledger is None:
        raise InputError("--period places a batch in the ledger: give it with --ledger")
    check_out(out, overwrite, kind="score",
              inputs=[input] + ([accumulators] if accumulators else []) + ledger_files(ledger))
    spec, regions = tariff_set(tariff or [])
    if ledger is not None:
        from yibao.ledger.scoring import check_ledger_tariff

        check_ledger_tariff(spec, regions)
    started = time.perf_counter()
    if partitions is not None or engine.value == "dask" or scheduler is not None:
        if regions:
            raise InputError("--partitions and --engine dask take --tariff once: install the other regions' "
                             "folders on YIBAO_TARIFF_PATH")
        told: list = []
        summary = _partitioned(input, out, partitions, engine.value, scheduler, tariff=tariff[0] if tariff else None,
                               accumulators=accumulators, fmt=fmt.value, ledger=ledger, period=period, trace=trace,
                               overwrite=overwrite, quiet=quiet, tell=told.append)
        if not quiet:
            for outcome in told:
                Console(stderr=True).print(outcome.message(), highlight=False, soft_wrap=True)
            console = Console()
            print_summary(summary, console)
            print_written(out, started)
        return
    keep_heap()
    big = not quiet and sum(f.stat().st_size for f in input.glob("lines.*")) > 5_000_000
    stages = Stages(big)
    with stages.progress, Ahead() as ahead:
        with stages.stage("reading tables"):
            batch, rejects = load_batch(input, accumulators)
        with stages.stage(f"scoring {len(batch.claims):,} claims, {len(batch.lines):,} lines"):
            if ledger is None:
                result = score_batch(batch, rejects, tariff=spec, trace=trace, regions=regions, release=True,
                                     ahead=ahead if fmt.value == "parquet" else None)
            else:
                from yibao.ledger import score_into

                result, outcome, commit = score_into(ledger, batch, rejects, spec, period, trace)
        with stages.stage("writing results"):
            inputs = [input] + ([accumulators] if accumulators is not None else [])
            # the ledger commits once the output is written whole and before it is put in place
            summary = write_scored(result, out, fmt.value, inputs=inputs, overwrite=overwrite,
                                   before_swap=None if ledger is None else commit, ahead=ahead)
    if not quiet:
        if ledger is not None:
            Console(stderr=True).print(outcome.message(), highlight=False, soft_wrap=True)
        console = Console()
        print_summary(summary, console)
        print_written(out, started)


def _partitioned(input: Path, out: Path, partitions: Optional[str], engine: str, scheduler: Optional[str], *,
                 tariff: Optional[str], accumulators: Optional[Path], fmt: str, ledger: Optional[str],
                 period: Optional[str], trace: bool, overwrite: bool, quiet: bool, tell: Callable) -> dict:
    """`--partitions` / `--engine dask`: the batch scored by partitions of persons (yibao.partition)."""
    from yibao.errors import InputError
    from yibao.partition import Runner, auto_partitions, score_partitioned

    if scheduler is not None and engine != "dask":
        raise InputError("--scheduler is the address of a Dask scheduler: give it with --engine dask")
    if scheduler is not None and not scheduler.strip():
        raise InputError("--scheduler is empty: give the scheduler's address, tcp://HOST:8786 (or leave the option "
                         "out for a cluster on this machine)")
    if fmt != "parquet":
        raise InputError(f"--partitions and --engine dask write Parquet parts: --format {fmt} is not possible")
    if partitions is None:
        count = DASK_PARTITIONS
    elif partitions == "auto":
        count = auto_partitions(input)
    elif partitions.isdecimal() and 1 <= int(partitions) <= MAX_PARTITIONS:
        count = int(partitions)
    else:
        raise InputError(f"--partitions {partitions}: give a whole number from 1 to {MAX_PARTITIONS:,}, or auto")
    console = Console(stderr=True)
    # not on a pipe: the bar it cannot draw left an empty line above a run's one-line error
    with Progress(TextColumn("scoring partitions"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=quiet or not console.is_terminal) as progress:
        task = progress.add_task("", total=count)
        done = partial(progress.advance, task)
        if engine == "dask":
            from yibao.cluster import DaskRunner

            run: Runner = DaskRunner(scheduler, done=done)
        else:
            run = Runner(done=done)
        return score_partitioned(input, out, count, run=run, tariff=tariff, accumulators=accumulators,
                                 trace=trace, overwrite=overwrite, ledger=ledger, period=period, tell=tell)
