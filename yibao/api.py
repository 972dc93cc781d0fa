"""The Python API for settlement jobs and notebooks: the same pipeline as the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

import pandas as pd

from yibao.errors import InputError, expect
from yibao.io import Batch, load_batch
from yibao.pipeline import Regions, Result, TariffSpec, loaded_spec, score_batch, tariff_set

if TYPE_CHECKING:
    from yibao.settlement import Settlement
    from yibao.simulation import Simulation


Tables = str | Path | Mapping[str, pd.DataFrame]
Accumulators = str | Path | pd.DataFrame | None


def _load(tables_or_folder: Tables, accumulators: Accumulators) -> tuple[Batch, pd.DataFrame]:
    expect(accumulators, (str, Path, pd.DataFrame, type(None)), "accumulators are a file or a DataFrame")
    source = Path(tables_or_folder) if isinstance(tables_or_folder, (str, Path)) else tables_or_folder
    acc = Path(accumulators) if isinstance(accumulators, (str, Path)) else accumulators
    return load_batch(source, acc)


def _tariffs(tariff: TariffSpec | Path | Sequence[str | Path]) -> tuple[TariffSpec, Regions]:
    """The tariff as users give it (an id, `ID@VERSION`, a folder, or several: the first for
    claims without a region, the others for their own regions) as `score_batch` takes it."""
    if isinstance(tariff, (str, Path)):
        return tariff_set([tariff])
    if isinstance(tariff, (list, tuple)) and all(isinstance(t, (str, Path)) for t in tariff):
        return tariff_set(tariff)
    return loaded_spec(tariff), {}


def score(tables_or_folder: Tables, tariff: TariffSpec | Path | Sequence[str | Path] = None,
          accumulators: Accumulators = None, ledger: str | Path | None = None, period: str | None = None,
          trace: bool = False) -> Result:
    """Score a batch: a folder of tables (as `yibao synth` writes) or a mapping of table name →
    DataFrame with the columns of docs/tables.md. Rows that cannot be scored are in
    `Result.rejects`; unusable input raises `yibao.errors.InputError`.

    `tariff`: an id, `ID@VERSION` or a tariff folder (default: the bundled tariff), or a list of
    them: the first serves claims without a pooling region, each other one the claims of its
    region (docs/tariffs.md).

    `ledger` (a SQLite path or SQLAlchemy URL, docs/ledger.md): take the accumulators from the
    ledger, reject claims it holds as paid (DUPLICATE_CLAIM), reverse corrected claims, and
    commit the batch to it in the settlement month `period` ("YYYY-MM"; by default the month of
    the latest settlement date). Not together with `accumulators`. `Result.booked` then says what
    the ledger did (`yibao.ledger.Outcome`): `already_committed` is True when the ledger held the
    batch committed already, so nothing was added and the result is as it was then; `paid`,
    `duplicates`, `reversals` count the claims. `trace=True`: also
    `Result.trace`, every step of every claim's amounts (docs/trace.md)."""
    if ledger is not None and accumulators is not None:
        raise InputError("the ledger holds the accumulators: give either a ledger or accumulators")
    if period is not None and ledger is None:  # else ignored without a word, as the command line refuses it
        raise InputError("period places a batch in the ledger: give it with ledger")
    spec, regions = _tariffs(tariff)
    if ledger is not None:
        from yibao.ledger.scoring import check_ledger_tariff

        check_ledger_tariff(spec, regions)
    batch, rejects = _load(tables_or_folder, accumulators)
    if ledger is not None:
        from yibao.ledger import score_into

        result, _, commit = score_into(ledger, batch, rejects, spec, period, trace)
        commit()
        return result
    return score_batch(batch, rejects, tariff=spec, trace=trace, regions=regions)


def simulate(tables_or_folder: Tables, set: Sequence[str] = (), reform: TariffSpec | Path = None,
             tariff: TariffSpec | Path = None, accumulators: Accumulators = None) -> Simulation:
    """What a tariff change costs (基金测算): the batch scored under `tariff` (default: the tariffs
    in force) and under the reform — `set` edits (PATH=VALUE, as `yibao whatif --set`, catalogue
    included) applied to every version in force, or `reform` (an id, `ID@VERSION`, a tariff
    folder) — compared per claim, person and group (docs/simulate.md)."""
    from yibao.simulation import simulate_batch

    edits = [set] if isinstance(set, str) else set  # one edit, not its characters
    expect(edits, (list, tuple), "set is a list of PATH=VALUE edits")
    for edit in edits:
        expect(edit, (str,), "an edit of set is text, PATH=VALUE")
    batch, rejects = _load(tables_or_folder, accumulators)
    return simulate_batch(batch, rejects, edits=edits, reform=reform, tariff=tariff)


def settle(result_or_folder: Result | str | Path | Sequence[Result | str | Path], period: str,
           institutions: str | Path | pd.DataFrame | None = None, ledger: str | Path | None = None) -> Settlement:
    """Settle designated institutions for a month ("YYYY-MM"): from a `Result` of `score` or a
    `yibao score --out` folder (or a list of them), per institution the declared funds, violation
    fees (by claim and by code), penalties, quality deposit and amount paid, with withheld claims
    and suspects (docs/settlement.md). `institutions` (a table, a batch folder or a frame) names
    them. With `ledger`, the claims are those of the batches the ledger booked in the period,
    whatever their dates, and every batch that paid a direct claim in it must be given; payments
    reversed (冲正) in the period are negative lines, and writing the settlement
    (`yibao.settlement.write_settlement`) records the period as settled in the ledger, which then
    books nothing more in it (docs/ledger.md).
    Unusable input raises `yibao.errors.InputError`."""
    from yibao.settlement import settle as settle_month

    expect(institutions, (str, Path, pd.DataFrame, type(None)),
            "institutions are a table file, a batch folder or a DataFrame")
    return settle_month(result_or_folder, period, institutions, ledger)
