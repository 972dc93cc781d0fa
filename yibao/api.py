"""The Python API for settlement jobs and notebooks: the same pipeline as the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Mapping

import pandas as pd

from yibao.pipeline import Result, score_batch
from yibao.tariffs.registry import LoadedTariff

if TYPE_CHECKING:
    from yibao.settlement import Settlement


def score(tables_or_folder: str | Path | Mapping[str, pd.DataFrame], tariff: str | LoadedTariff | None = None,
          accumulators: str | Path | pd.DataFrame | None = None, trace: bool = False) -> Result:
    """Score a batch: a folder of tables (as `yibao synth` writes) or a mapping of table name →
    DataFrame with the columns of docs/tables.md. Rows that cannot be scored are in
    `Result.rejects`; unusable input raises `yibao.errors.InputError`. `trace=True`: also
    `Result.trace`, every step of every claim's amounts (docs/trace.md)."""
    from yibao.io import load_batch

    source = Path(tables_or_folder) if isinstance(tables_or_folder, (str, Path)) else tables_or_folder
    acc = Path(accumulators) if isinstance(accumulators, (str, Path)) else accumulators
    batch, rejects = load_batch(source, acc)
    return score_batch(batch, rejects, tariff=tariff, trace=trace)


def settle(result_or_folder: Result | str | Path, period: str,
           institutions: str | Path | pd.DataFrame | None = None) -> Settlement:
    """Settle designated institutions for a month ("YYYY-MM"): from a `Result` of `score` or a
    `yibao score --out` folder, per institution the declared funds, violation fees (by claim and
    by code), penalties, quality deposit and amount paid, with withheld claims and suspects
    (docs/settlement.md). `institutions` (a table, a batch folder or a frame) names them.
    Unusable input raises `yibao.errors.InputError`."""
    from yibao.settlement import settle as settle_month

    return settle_month(result_or_folder, period, institutions)
