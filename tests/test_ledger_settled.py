"""A settled period is closed: the ledger remembers which months were settled, and nothing is
booked in one after its statements were written. A reversal (冲正) or a batch booked in May once
May's settlement was written would be on no statement — May's was written without it, and no later
one takes May's entries — so the institution would keep the money. Refused, by `ledger reverse`,
whole and partitioned batches alike, with the ledger as it was; settling May again (a re-run)
reads the same; a reversal committed between a settlement's reading of the ledger and its
writing stops the settlement. SQLite and PostgreSQL (tests/pg.py)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import yibao
import yibao.cli.app as cli_app
from conftest import fen, run_cli
from pg import new_database, postgres_server  # noqa: F401 (a fixture)
from test_ledger import _single_claim_person, downgrade, ledger_url, months, only, status, whole_year  # noqa: F401
from yibao.errors import InputError
from yibao.io import write_tables
from yibao.pipeline import Result
from yibao.settlement import settle, write_settlement
from yibao.synth import generate

MAY, JUNE = "2025-05", "2025-06"


@pytest.fixture(scope="module")
def year() -> dict[str, pd.DataFrame]:
    return generate(1500, 7)  # half test_ledger's year: enough for a paid direct claim a month


def may_settled(year: dict[str, pd.DataFrame], whole_year: Result, url: str, out: Path) -> str:
    """April and May scored into the ledger and May's settlement written to `out`; the id of a
    direct claim paid in May, whose reversal would be a line of May's statement."""
    per_month = months(whole_year)
    yibao.score(only(year, per_month["2025-04"]), ledger=url, period="2025-04")
    may = yibao.score(only(year, per_month[MAY]), ledger=url, period=MAY)
    write_settlement(settle(may, MAY, ledger=url), out, "csv")
    return _single_claim_person(per_month[MAY], whole_year)


def reverse(url: str, claim: str, period: str, capsys: pytest.CaptureFixture[str],
            monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    return run_cli(["ledger", "reverse", claim, "--ledger", url, "--period", period], capsys, monkeypatch)


def refused(code: int, err: str, url: str) -> None:
    """One line, exit 2, naming May, when it was settled and the month to use instead."""
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    settled_at = status(url)["settled"][MAY]["settled_at"]
    assert f"period {MAY} was settled at {settled_at}" in err and f"give --period {JUNE} or later" in err, err
    assert "Nothing was committed" in err


def test_a_reversal_in_a_settled_period_is_refused(year: dict[str, pd.DataFrame], whole_year: Result,
                                                   ledger_url: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: exit 0, the charge-back booked in May after May's statement was written."""
    claim = may_settled(year, whole_year, ledger_url, tmp_path / "settled")
    before = status(ledger_url)
    refused(*reverse(ledger_url, claim, MAY, capsys, monkeypatch), ledger_url)
    assert status(ledger_url) == before
    code, err = reverse(ledger_url, claim, JUNE, capsys, monkeypatch)  # a later month: on June's statement
    assert code == 0, err
    assert status(ledger_url)["claims"] == before["claims"] - 1


@pytest.mark.parametrize("partitions", [[], ["--partitions", "3"]], ids=["whole", "partitioned"])
def test_a_batch_in_a_settled_period_is_refused_and_one_committed_before_runs_again(
        year: dict[str, pd.DataFrame], whole_year: Result, tmp_path: Path, partitions: list[str],
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """June's claims booked in May once May is settled: refused, no output, nothing committed.
    May's own batch run again (already committed) still gives its outputs as then."""
    url = str(tmp_path / "ledger.db")
    per_month = months(whole_year)
    write_tables(only(year, per_month[MAY]), tmp_path / "may", "csv")
    write_tables(only(year, per_month[JUNE]), tmp_path / "june", "csv")
    score = ["score", "--ledger", url, "--quiet", *partitions]
    code, err = run_cli(score + [str(tmp_path / "may"), "--out", str(tmp_path / "scored-may"), "--period", MAY],
                        capsys, monkeypatch)
    assert code == 0, err
    code, err = run_cli(["settle", str(tmp_path / "scored-may"), "--period", MAY, "--out", str(tmp_path / "settled"),
                         "--ledger", url, "--quiet"], capsys, monkeypatch)
    assert code == 0, err
    before = status(url)
    code, err = run_cli(score + [str(tmp_path / "june"), "--out", str(tmp_path / "late"), "--period", MAY],
                        capsys, monkeypatch)
    refused(code, err, url)
    assert status(url) == before and not (tmp_path / "late").exists()
    done = CliRunner().invoke(cli_app.app, ["score", str(tmp_path / "may"), "--out", str(tmp_path / "again"),
                                            "--ledger", url, "--period", MAY, *partitions])
    assert done.exit_code == 0, done.output
    assert f"already committed in period {MAY}: nothing added, outputs as then" in done.output
    assert status(url) == before
    claims = "claims" if partitions else "claims.parquet"
    assert _claims(tmp_path / "again" / claims).equals(_claims(tmp_path / "scored-may" / claims))


def _claims(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path).sort_values("mdtrt_id").reset_index(drop=True)


def test_a_settled_period_settled_again_reads_the_same(year: dict[str, pd.DataFrame], whole_year: Result,
                                                       tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """May settled, then a reversal and a correction tried in May (refused): May settled again
    writes the same bytes, and the ledger keeps when May was first settled. Before, the reversal
    was booked in May and the second settlement differed from the statement paid."""
    url = str(tmp_path / "ledger.db")
    claim = may_settled(year, whole_year, url, tmp_path / "first")
    first = status(url).get("settled")
    assert reverse(url, claim, MAY, capsys, monkeypatch)[0] == 2
    corrected = year["claims"][year["claims"]["mdtrt_id"] == claim].assign(mdtrt_id=claim + "-R", correction_of=claim)
    lines = year["lines"][year["lines"]["mdtrt_id"] == claim].assign(mdtrt_id=claim + "-R")
    with pytest.raises(InputError, match=f"period {MAY} was settled at"):
        yibao.score(dict(year, claims=corrected.reset_index(drop=True), lines=lines.reset_index(drop=True)),
                    ledger=url, period=MAY)
    may = yibao.score(only(year, months(whole_year)[MAY]), ledger=url, period=MAY)  # the May job run again
    write_settlement(settle(may, MAY, ledger=url), tmp_path / "again", "csv")
    files = sorted(p.relative_to(tmp_path / "first") for p in (tmp_path / "first").rglob("*") if p.is_file())
    assert files and files == sorted(p.relative_to(tmp_path / "again") for p in (tmp_path / "again").rglob("*")
                                     if p.is_file())
    for name in files:
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name
    assert first and status(url)["settled"] == first


def test_a_reversal_committed_while_the_period_is_settled_stops_the_settlement(
        year: dict[str, pd.DataFrame], whole_year: Result, ledger_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The settlement read May's reversals; a reversal in May was committed before it recorded May
    as settled. Written, it would leave that reversal off every statement: it is not written, May
    is not recorded, and settled again it has the reversal's line."""
    per_month = months(whole_year)
    may = yibao.score(only(year, per_month[MAY]), ledger=ledger_url, period=MAY)
    claim = _single_claim_person(per_month[MAY], whole_year)
    settlement = settle(may, MAY, ledger=ledger_url)  # read, not written yet
    code, err = reverse(ledger_url, claim, MAY, capsys, monkeypatch)  # May is not settled yet
    assert code == 0, err
    with pytest.raises(InputError, match=f"period {MAY} changed while it was settled"):
        write_settlement(settlement, tmp_path / "stale", "csv")
    assert not (tmp_path / "stale").exists() and status(ledger_url)["settled"] == {}
    write_settlement(settle(may, MAY, ledger=ledger_url), tmp_path / "settled", "csv")
    lines = pd.read_csv(tmp_path / "settled" / "claims.csv", dtype={"mdtrt_id": str}).set_index("mdtrt_id")
    paid = whole_year.claims.set_index("mdtrt_id").at[claim, "fund_pay_sumamt"]
    assert fen([lines.at[claim + "/冲正", "audited"]]) == -fen([paid])
    assert list(status(ledger_url)["settled"]) == [MAY]


def test_status_shows_the_settled_periods(year: dict[str, pd.DataFrame], whole_year: Result,
                                          tmp_path: Path) -> None:
    url = str(tmp_path / "ledger.db")
    may_settled(year, whole_year, url, tmp_path / "settled")
    shown = json.loads(CliRunner().invoke(cli_app.app, ["ledger", "status", "--ledger", url, "--json"]).output)
    manifest = hashlib.sha256((tmp_path / "settled" / "manifest.json").read_bytes()).hexdigest()
    assert list(shown["settled"]) == [MAY]
    assert shown["settled"][MAY]["manifest_sha256"] == manifest
    assert shown["settled"][MAY]["settled_at"].endswith("Z")
    printed = CliRunner().invoke(cli_app.app, ["ledger", "status", "--ledger", url]).output
    assert "settled periods" in printed and shown["settled"][MAY]["settled_at"] in printed


def test_a_ledger_of_revision_0006_is_migrated_with_no_settled_period(
        year: dict[str, pd.DataFrame], whole_year: Result, tmp_path: Path) -> None:
    """A ledger written before revision 0007 recorded no settlement: opened, it gains the table,
    empty, keeps its batches, and records the next settlement."""
    path = tmp_path / "old.db"
    may = yibao.score(only(year, months(whole_year)[MAY]), ledger=str(path), period=MAY)
    assert "settled_periods" not in downgrade(path, "0006")
    state = status(str(path))
    assert state["settled"] == {} and [b["period"] for b in state["batches"]] == [MAY]
    write_settlement(settle(may, MAY, ledger=str(path)), tmp_path / "settled", "csv")
    assert list(status(str(path))["settled"]) == [MAY]
    assert status(str(path))["claims"] == state["claims"]
