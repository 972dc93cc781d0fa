"""A partitioned run with --ledger commits what a whole run with --ledger commits (issue 13).

Two months go into two ledgers, one scored whole and one by partitions: January, then February
with five January claims re-sent (duplicates), a correction by the same person and a correction
filed under another person (whose partition differs from the corrected claim's person: the split
must bring them together). Every ledger table must hold the same rows (ids apart: entry numbers
and batch digests are the run's own), and the outputs the same rows; SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import yibao
import yibao.cli.app as cli_app
from conftest import fen, kill_while_writing
from pg import new_database, postgres_server  # noqa: F401 (a fixture)
from test_ledger import months, only, whole_year  # noqa: F401 (a fixture, of this module's year)
from test_partitions import _table
from yibao.io import write_tables
from yibao.ledger import Ledger
from yibao.ledger.schema import metadata
from yibao.partition import _hashes, score_partitioned
from yibao.pipeline import Result
from yibao.scored import TABLES
from yibao.synth import generate

PARTITIONS = 3


@pytest.fixture(scope="module")
def year() -> dict[str, pd.DataFrame]:
    return generate(1500, 7)  # half test_ledger's year: each test scores it four times over
IDS = ("entry_id", "batch_id", "reverses", "paid_batch", "seq")  # numbered or named by the run itself


@pytest.fixture(scope="module")
def batches(year: dict[str, pd.DataFrame], whole_year: Result, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`jan/` and `feb/` batch folders (CSV); February holds re-sent and corrected January claims."""
    root = tmp_path_factory.mktemp("months")
    per_month = months(whole_year)
    claims = whole_year.claims
    paid = claims[claims["mdtrt_id"].isin(per_month["2025-01"]) & (fen(claims["fund_pay_sumamt"]) > 0)]
    paid = paid.drop_duplicates("psn_no")
    february = claims[claims["mdtrt_id"].isin(per_month["2025-02"])]
    # the corrected claim's person has February claims too: both partitions would touch them
    moved = paid[paid["psn_no"].isin(february["psn_no"])].iloc[0]
    paid = paid[paid["psn_no"] != moved["psn_no"]]
    resent, same = list(paid["mdtrt_id"].iloc[:5]), paid["mdtrt_id"].iat[5]
    bucket = lambda psn: int(_hashes(pd.Series([psn]))[0] % np.uint64(PARTITIONS))  # noqa: E731
    other = next(p for p in february["psn_no"] if bucket(p) != bucket(moved["psn_no"]))
    feb = only(year, np.concatenate([per_month["2025-02"], resent]))
    old = year["claims"].set_index("mdtrt_id")
    fixes = pd.DataFrame([old.loc[same].to_dict() | {"mdtrt_id": same + "-R", "correction_of": same},
                          old.loc[moved["mdtrt_id"]].to_dict() | {"mdtrt_id": moved["mdtrt_id"] + "-R",
                                                                   "correction_of": moved["mdtrt_id"],
                                                                   "psn_no": other}])
    lines = year["lines"][year["lines"]["mdtrt_id"].isin([same, moved["mdtrt_id"]])]
    feb["claims"] = pd.concat([feb["claims"], fixes], ignore_index=True)
    feb["lines"] = pd.concat([feb["lines"], lines.assign(mdtrt_id=lines["mdtrt_id"] + "-R")], ignore_index=True)
    write_tables(only(year, per_month["2025-01"]), root / "jan", "csv")
    write_tables(feb, root / "feb", "csv")
    return root


def score(batch: Path, out: Path, url: str, period: str, *extra: str) -> str:
    done = CliRunner().invoke(cli_app.app, ["score", str(batch), "--out", str(out), "--ledger", url,
                                            "--period", period, *extra])
    assert done.exit_code == 0, done.output
    return done.output


def ledger_tables(url: str) -> dict[str, pd.DataFrame]:
    ledger = Ledger(url)
    try:
        with ledger.engine.connect() as conn:
            return {name: pd.read_sql_table(name, conn) for name in metadata.tables}
    finally:
        ledger.close()


def ledger_rows(url: str) -> dict[str, pd.DataFrame]:
    """Every table of the ledger, without the run's own ids, sorted by its remaining columns."""
    out = {}
    for name, frame in ledger_tables(url).items():
        frame = frame.drop(columns=[c for c in IDS if c in frame])
        out[name] = frame.sort_values(list(frame.columns), kind="stable").reset_index(drop=True)
    return out


def assert_same_ledger(a: str, b: str) -> None:
    left, right = ledger_rows(a), ledger_rows(b)
    for name in left:
        pd.testing.assert_frame_equal(left[name], right[name], obj=name)


def assert_same_outputs(a: Path, b: Path) -> None:
    """Row for row, the batch named in a duplicate's reason (each ledger's own id) apart."""
    for name in TABLES:
        pd.testing.assert_frame_equal(_unnamed(_table(a, name)), _unnamed(_table(b, name)), obj=name)


def _unnamed(frame: pd.DataFrame) -> pd.DataFrame:
    for column in ("reasons", "reason"):
        if column in frame:
            frame[column] = frame[column].str.replace(r"batch [0-9a-f]{12}", "batch ID", regex=True)
    return frame


def two_ledgers(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[str, str]:
    if kind == "sqlite":
        return str(tmp_path / "whole.db"), str(tmp_path / "parts.db")
    server = request.getfixturevalue("postgres_server")
    return new_database(server), new_database(server)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_partitioned_ledger_runs_commit_what_whole_runs_commit(
        batches: Path, tmp_path: Path, kind: str, request: pytest.FixtureRequest) -> None:
    whole, parts = two_ledgers(kind, tmp_path, request)
    for month, period in (("jan", "2025-01"), ("feb", "2025-02")):
        score(batches / month, tmp_path / f"w-{month}", whole, period)
        told = score(batches / month, tmp_path / f"p-{month}", parts, period, "--partitions", str(PARTITIONS))
    assert "5 duplicates rejected, 2 reversals" in told
    assert_same_ledger(whole, parts)
    assert_same_outputs(tmp_path / "w-feb", tmp_path / "p-feb")
    claims = _table(tmp_path / "p-feb", "claims")
    assert (claims["reason_codes"] == "DUPLICATE_CLAIM").sum() == 5
    state = ledger_rows(parts)
    assert sorted(state["batches"]["reversals"]) == [0, 2] and sorted(state["batches"]["duplicates"]) == [0, 5]


def test_the_same_batch_partitioned_again_adds_nothing(batches: Path, tmp_path: Path) -> None:
    """Re-run with another number of partitions: recognised by its files, scored from what it
    started from, the same rows out, the ledger untouched (its ids too)."""
    url = str(tmp_path / "ledger.db")
    score(batches / "jan", tmp_path / "jan", url, "2025-01", "--partitions", "2")
    score(batches / "feb", tmp_path / "a", url, "2025-02", "--partitions", "3")
    before = ledger_tables(url)
    told = score(batches / "feb", tmp_path / "b", url, "2025-02", "--partitions", "2")
    assert "already committed in period 2025-02: nothing added" in told
    for name, frame in ledger_tables(url).items():
        pd.testing.assert_frame_equal(frame, before[name], obj=name)
    assert_same_outputs(tmp_path / "a", tmp_path / "b")
    # both outputs name the batch the ledger booked, which a settlement pays in its period
    booked = [json.loads((tmp_path / name / "manifest.json").read_text(encoding="utf-8"))["ledger_batch"]
              for name in ("a", "b")]
    assert booked[0] == booked[1] and booked[0]["period"] == "2025-02"
    assert booked[0]["batch_id"] == before["batches"].sort_values("seq")["batch_id"].iat[-1]


def test_a_claim_resent_in_a_later_partitioned_batch_is_rejected_as_duplicate(batches: Path, tmp_path: Path) -> None:
    """January again under another name (a new batch to the ledger): every claim it paid is
    rejected as paid, nothing is paid twice."""
    url = str(tmp_path / "ledger.db")
    score(batches / "jan", tmp_path / "jan", url, "2025-01", "--partitions", "3")
    paid = ledger_rows(url)["paid_claims"]
    again = tmp_path / "jan-again"
    write_tables({p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in (batches / "jan").glob("*.csv")},
                 again, "parquet")  # the same rows in other files: another batch
    score(again, tmp_path / "out", url, "2025-02", "--partitions", "2")
    claims = _table(tmp_path / "out", "claims")
    duplicate = claims[claims["reason_codes"] == "DUPLICATE_CLAIM"]
    assert sorted(duplicate["mdtrt_id"]) == sorted(paid["mdtrt_id"])
    assert (fen(duplicate["fund_pay_sumamt"]) == 0).all()
    assert len(ledger_rows(url)["paid_claims"]) == len(paid)


def test_a_dask_cluster_commits_what_a_whole_run_commits(batches: Path, tmp_path: Path) -> None:
    """February's partitions as tasks on a LocalCluster of two worker processes reading the
    ledger; the client commits."""
    from yibao.cluster import DaskRunner

    whole, parts = str(tmp_path / "whole.db"), str(tmp_path / "parts.db")
    for url in (whole, parts):
        score(batches / "jan", tmp_path / "jan", url, "2025-01", "--overwrite")
    score(batches / "feb", tmp_path / "w-feb", whole, "2025-02")
    score_partitioned(batches / "feb", tmp_path / "p-feb", PARTITIONS, run=DaskRunner(workers=2),
                      ledger=parts, period="2025-02")
    assert_same_ledger(whole, parts)
    assert_same_outputs(tmp_path / "w-feb", tmp_path / "p-feb")


def test_a_partitioned_job_killed_while_writing_has_committed_nothing(batches: Path, tmp_path: Path) -> None:
    """Killed once its parts are written, before the manifest: the ledger is as before, and the
    run made again commits once and removes what the killed one left beside `--out`."""
    url, out = str(tmp_path / "ledger.db"), tmp_path / "out"
    score(batches / "jan", tmp_path / "jan", url, "2025-01", "--partitions", "2")
    before = ledger_tables(url)
    command = [sys.executable, "-c", "from yibao.cli.app import main; main()", "score", str(batches / "feb"),
               "--out", str(out), "--ledger", url, "--period", "2025-02", "--partitions", "2", "--quiet"]
    assert kill_while_writing(command, out) == -signal.SIGKILL
    assert list(tmp_path.glob("out.tmp-*-ledger"))  # what the partitions would have committed
    for name, frame in ledger_tables(url).items():
        pd.testing.assert_frame_equal(frame, before[name], obj=name)
    again = subprocess.run(command, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert len(ledger_tables(url)["batches"]) == 2 and (out / "manifest.json").is_file()
    assert not list(tmp_path.glob("out.tmp-*"))
