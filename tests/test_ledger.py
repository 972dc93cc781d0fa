"""The ledger: a year as twelve monthly batches pays what one batch of the year pays; a batch
scored twice adds nothing; a re-sent claim is rejected as DUPLICATE_CLAIM and paid once; a
correction reverses the earlier payment and its accumulators; a job killed during its commit
leaves the ledger as it was. Every ledger test runs on SQLite and, when its server binaries are
installed, on a throw-away PostgreSQL (tests/pg.py)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import yibao
from conftest import fen, kill_while_writing
from pg import new_database, postgres_server  # noqa: F401 (a fixture)
import yibao.cli.app as cli_app
from yibao.errors import InputError
from yibao.io import write_tables
from yibao.ledger import Ledger
from yibao.ledger.store import PAUSE_ENV
from yibao.pipeline import Result
from yibao.settlement import verify_folder, write_settlement
from yibao.synth import generate

AMOUNTS = ("medfee_sumamt", "act_pay_dedc", "hifp_pay", "hifmi_pay", "hifob_pay", "maf_pay",
           "fund_pay_sumamt", "psn_part_amt", "hosp_part_amt", "declared_fund_pay_sumamt")
YEAR_CLAIMS, SEED = 3000, 7


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "ledger.db")
    return new_database(request.getfixturevalue("postgres_server"))


@pytest.fixture(scope="module")
def year() -> dict[str, pd.DataFrame]:
    return generate(YEAR_CLAIMS, SEED)


@pytest.fixture(scope="module")
def whole_year(year: dict[str, pd.DataFrame]) -> Result:
    return yibao.score(year)


def only(tables: dict[str, pd.DataFrame], ids: object) -> dict[str, pd.DataFrame]:
    """The tables with the claims (and their lines) `ids`; persons, institutions and the
    person details whole, as a monthly extract of the agency's system has them."""
    out = dict(tables)
    out["claims"] = tables["claims"][tables["claims"]["mdtrt_id"].isin(ids)].reset_index(drop=True)
    out["lines"] = tables["lines"][tables["lines"]["mdtrt_id"].isin(ids)].reset_index(drop=True)
    return out


def months(whole_year: Result) -> dict[str, np.ndarray]:
    """Claim ids per settlement month, as the scorer dates them."""
    claims = whole_year.claims
    assert (claims["setl_date"] != "").all()
    return {m: g["mdtrt_id"].to_numpy() for m, g in claims.groupby(claims["setl_date"].str[:7])}


def downgrade(path: Path, revision: str) -> dict[str, list[str]]:
    """The SQLite ledger at `path` taken back to Alembic `revision`, as an older yibao left it:
    its tables and their columns then."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from yibao.ledger.store import MIGRATIONS

    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = conn
            command.downgrade(config, revision)
            inspector = sa.inspect(conn)
            return {t: [c["name"] for c in inspector.get_columns(t)] for t in inspector.get_table_names()}
    finally:
        engine.dispose()


def status(url: str) -> dict:
    ledger = Ledger(url)
    try:
        return ledger.status()
    finally:
        ledger.close()


def by_claim(claims: pd.DataFrame) -> pd.DataFrame:
    return claims.set_index("mdtrt_id").sort_index()


def test_a_year_in_twelve_monthly_batches_pays_what_one_batch_of_the_year_pays(
        year: dict[str, pd.DataFrame], whole_year: Result, ledger_url: str) -> None:
    per_month = months(whole_year)
    assert len(per_month) == 12
    parts = [yibao.score(only(year, ids), ledger=ledger_url, period=month).claims
             for month, ids in sorted(per_month.items())]
    monthly, whole = by_claim(pd.concat(parts)), by_claim(whole_year.claims)
    assert list(monthly.index) == list(whole.index)
    assert (monthly["decision"] == whole["decision"]).all()
    for column in AMOUNTS:
        assert (fen(monthly[column]) == fen(whole[column])).all(), column
    state = status(ledger_url)
    assert [b["period"] for b in state["batches"]] == sorted(per_month)
    paid = whole.loc[whole["decision"].isin(("approved", "partially_approved")) | (fen(whole["fund_pay_sumamt"]) > 0)]
    assert state["claims"] >= len(paid)
    assert round(state["fund_pay_sumamt"] * 100) == int(fen(whole["fund_pay_sumamt"]).sum())


def test_the_same_batch_twice_adds_nothing_and_gives_the_same_outputs(
        year: dict[str, pd.DataFrame], whole_year: Result, tmp_path: Path) -> None:
    url = str(tmp_path / "ledger.db")
    batch = tmp_path / "may"
    write_tables(only(year, months(whole_year)["2025-05"]), batch, "csv")
    runner = CliRunner()
    first = runner.invoke(cli_app.app, ["score", str(batch), "--out", str(tmp_path / "a"),
                                              "--ledger", url, "--quiet"])
    assert first.exit_code == 0, first.output
    before = status(url)
    again = runner.invoke(cli_app.app, ["score", str(batch), "--out", str(tmp_path / "b"), "--ledger", url])
    assert again.exit_code == 0, again.output
    assert "already committed in period 2025-05" in again.output
    assert status(url) == before
    for name in ("claims.parquet", "lines.parquet", "accumulators.parquet", "rejects.parquet", "summary.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_the_api_says_whether_it_committed_the_batch_or_found_it_committed(
        year: dict[str, pd.DataFrame], whole_year: Result, tmp_path: Path) -> None:
    """A settlement job re-run after a crash must know that its batch was committed by the first
    run: `Result.booked.already_committed`, with the counts of the first commit."""
    url = str(tmp_path / "ledger.db")
    tables = only(year, months(whole_year)["2025-05"])
    first = yibao.score(tables, ledger=url)
    again = yibao.score(tables, ledger=url)
    state = status(url)
    assert (first.booked.already_committed, again.booked.already_committed) == (False, True)
    assert first.booked.batch_id == again.booked.batch_id == state["batches"][0]["batch_id"]
    assert first.booked.period == again.booked.period == "2025-05"
    paid = int((fen(first.claims["fund_pay_sumamt"]) > 0).sum())
    assert first.booked.paid == again.booked.paid == state["claims"] >= paid > 0
    assert (first.booked.duplicates, first.booked.reversals) == (again.booked.duplicates, again.booked.reversals) == (0, 0)
    assert again.booked.message().endswith("nothing added, outputs as then")
    pd.testing.assert_frame_equal(first.claims, again.claims)


def test_a_resent_claim_is_rejected_as_duplicate_and_paid_once(
        year: dict[str, pd.DataFrame], whole_year: Result, ledger_url: str) -> None:
    per_month = months(whole_year)
    january = yibao.score(only(year, per_month["2025-01"]), ledger=ledger_url, period="2025-01")
    paid = january.claims[fen(january.claims["fund_pay_sumamt"]) > 0]["mdtrt_id"].to_numpy()[:5]
    after_january = status(ledger_url)
    batch_id = after_january["batches"][0]["batch_id"]
    february = yibao.score(only(year, np.concatenate([per_month["2025-02"], paid])), ledger=ledger_url,
                           period="2025-02")
    resent = by_claim(february.claims).loc[sorted(paid)]
    assert (resent["decision"] == "rejected").all()
    assert (resent["reason_codes"] == "DUPLICATE_CLAIM").all()
    assert (fen(resent["fund_pay_sumamt"]) == 0).all() and (fen(resent["medfee_sumamt"]) == 0).all()
    for reasons in resent["reasons"]:
        message = json.loads(reasons)[0]["message"]
        assert batch_id[:12] in message and "2025-01" in message
    lines = february.rejects[february.rejects["table"] == "lines"]
    assert set(lines["key"].str.split("/").str[0]) >= set(paid)
    state = status(ledger_url)
    others = by_claim(february.claims).drop(index=paid)
    assert state["batches"][1]["duplicates"] == 5
    assert round(state["fund_pay_sumamt"] * 100) == round(after_january["fund_pay_sumamt"] * 100) + int(
        fen(others["fund_pay_sumamt"]).sum())


def _single_claim_person(ids: np.ndarray, whole_year: Result) -> str:
    """A claim of the month, paid by the basic fund, whose person has no other claim that year."""
    claims = whole_year.claims
    counts = claims.groupby(["psn_no", "year"])["mdtrt_id"].transform("size")
    pick = claims[claims["mdtrt_id"].isin(ids) & (counts == 1) & (fen(claims["hifp_pay"]) > 0)
                  & (claims["fund_pool"] == "inpatient") & (claims["settlement_mode"] == "direct")]
    return str(pick["mdtrt_id"].iat[0])


def april_in_ledger(year: dict[str, pd.DataFrame], whole_year: Result, url: str, settled: Path | None = None) -> str:
    """April scored into the ledger, and settled into `settled` when given (a month that takes
    back April's payments is settled after it); the id of one of its claims to correct or reverse."""
    april = months(whole_year)["2025-04"]
    result = yibao.score(only(year, april), ledger=url, period="2025-04")
    if settled is not None:
        write_settlement(yibao.settle(result, period="2025-04", ledger=url), settled, "csv")
    return _single_claim_person(april, whole_year)


def reverse(url: str, claim: str) -> object:
    return CliRunner().invoke(cli_app.app, ["ledger", "reverse", claim, "--ledger", url, "--period", "2025-05"])


def test_a_correction_reverses_the_earlier_payment_and_its_accumulators(
        year: dict[str, pd.DataFrame], whole_year: Result, ledger_url: str) -> None:
    old = april_in_ledger(year, whole_year, ledger_url)
    before = status(ledger_url)
    # the hospital re-sends the claim under a new id without its last line
    claim = year["claims"][year["claims"]["mdtrt_id"] == old].assign(mdtrt_id=old + "-R", correction_of=old)
    lines = year["lines"][year["lines"]["mdtrt_id"] == old].iloc[:-1].assign(mdtrt_id=old + "-R")
    corrected = dict(year, claims=claim.reset_index(drop=True), lines=lines.reset_index(drop=True))
    result = yibao.score(corrected, ledger=ledger_url, period="2025-05")
    # independent route: the corrected claim scored on its own, from no accumulators at all
    alone = yibao.score(corrected)
    new, was = by_claim(result.claims).loc[old + "-R"], by_claim(whole_year.claims).loc[old]
    assert fen(new["fund_pay_sumamt"]) == fen(by_claim(alone.claims).loc[old + "-R", "fund_pay_sumamt"])
    ledger = Ledger(ledger_url)
    try:
        assert ledger.paid([old]).empty and len(ledger.paid([old + "-R"])) == 1
        entries = ledger.period_entries("2025-05")
        held = ledger.accumulators([str(was["psn_no"])])
    finally:
        ledger.close()
    reversal = entries[entries["entry"] == "reversal"]
    assert list(reversal["mdtrt_id"]) == [old]
    assert int(reversal["fund_pay_sumamt"].iat[0]) == -fen(was["fund_pay_sumamt"])
    expected = alone.accumulators[alone.accumulators["psn_no"] == was["psn_no"]]
    assert int(held["hifp_paid"].iat[0]) == fen(expected["hifp_paid"].iat[0])
    assert int(held["inpatient_admissions"].iat[0]) == int(expected["inpatient_admissions"].iat[0]) == 1
    state = status(ledger_url)
    assert state["claims"] == before["claims"]
    assert round(state["fund_pay_sumamt"] * 100) == round(before["fund_pay_sumamt"] * 100) \
        - fen(was["fund_pay_sumamt"]) + fen(new["fund_pay_sumamt"])


def test_a_reversal_is_a_negative_line_of_the_next_settlement(
        year: dict[str, pd.DataFrame], whole_year: Result, tmp_path: Path) -> None:
    url = str(tmp_path / "ledger.db")
    old = april_in_ledger(year, whole_year, url, tmp_path / "april")
    assert reverse(url, old).exit_code == 0
    may = yibao.score(only(year, months(whole_year)["2025-05"]), ledger=url, period="2025-05")
    settlement = yibao.settle(may, period="2025-05", ledger=url)
    was = by_claim(whole_year.claims).loc[old]
    line = settlement.claims.set_index("mdtrt_id").loc[old + "/冲正"]
    assert line["status"] == "settled" and line["decision"] == "reversed"
    assert fen(line["declared"]) == fen(line["audited"]) == -fen(was["fund_pay_sumamt"])
    assert fen(line["violation_fee"]) == fen(line["penalty"]) == 0
    without = yibao.settle(may, period="2025-05").statements.set_index("institution_id")
    statement = settlement.statements.set_index("institution_id").loc[was["institution_id"]]
    assert fen(statement["declared"]) == fen(without.loc[was["institution_id"], "declared"]) \
        - fen(was["fund_pay_sumamt"])
    write_settlement(settlement, tmp_path / "settlement", "csv")
    assert verify_folder(tmp_path / "settlement") == []


def test_ledger_reverse_takes_a_payment_back_once(
        year: dict[str, pd.DataFrame], whole_year: Result, tmp_path: Path) -> None:
    url = str(tmp_path / "ledger.db")
    old = april_in_ledger(year, whole_year, url)
    before = status(url)
    done = reverse(url, old)
    assert done.exit_code == 0, done.output
    state = status(url)
    assert state["claims"] == before["claims"] - 1
    paid = by_claim(whole_year.claims).loc[old, "fund_pay_sumamt"]
    assert round(state["fund_pay_sumamt"] * 100) == round(before["fund_pay_sumamt"] * 100) - fen(paid)
    shown = CliRunner().invoke(cli_app.app, ["ledger", "status", "--ledger", url, "--json"])
    assert json.loads(shown.output)["claims"] == state["claims"]
    short = CliRunner().invoke(cli_app.app, ["ledger", "status", "--ledger", url, "-q"])
    assert short.output == f"{state['claims']} {state['fund_pay_sumamt']:.2f}\n"
    ledger = Ledger(url)
    try:
        held = ledger.accumulators([str(by_claim(whole_year.claims).loc[old, "psn_no"])])
    finally:
        ledger.close()
    assert int(held["hifp_paid"].iat[0]) == 0 and int(held["inpatient_admissions"].iat[0]) == 0
    again = reverse(url, old)
    assert again.exit_code != 0 and status(url) == state


def test_a_job_killed_during_its_commit_leaves_the_ledger_as_before(
        year: dict[str, pd.DataFrame], whole_year: Result, tmp_path: Path) -> None:
    url = str(tmp_path / "ledger.db")
    per_month = months(whole_year)
    yibao.score(only(year, per_month["2025-01"]), ledger=url, period="2025-01")
    before = status(url)
    batch = tmp_path / "february"
    write_tables(only(year, per_month["2025-02"]), batch, "csv")
    command = [sys.executable, "-c", "from yibao.cli.app import main; main()", "score", str(batch),
               "--out", str(tmp_path / "out"), "--ledger", url, "--quiet"]
    job = subprocess.Popen(command, stderr=subprocess.PIPE, text=True,
                           env=os.environ | {"YIBAO_TEST_PAUSE_COMMIT": "60"})
    try:
        assert job.stderr is not None
        for line in job.stderr:
            if "ledger: committing" in line:
                break
        else:
            pytest.fail(f"the job ended before its commit (exit {job.wait()})")
        job.send_signal(signal.SIGKILL)
    finally:
        job.wait()
    assert job.returncode == -signal.SIGKILL
    assert status(url) == before
    yibao.score(only(year, per_month["2025-02"]), ledger=url, period="2025-02")  # the job run again
    assert len(status(url)["batches"]) == 2


def _score_job(batch: Path, out: Path, url: str, pause: str = "") -> subprocess.Popen:
    command = [sys.executable, "-c", "from yibao.cli.app import main; main()", "score", str(batch),
               "--out", str(out), "--ledger", url, "--period", "2025-01", "--quiet"]
    return subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=os.environ | {PAUSE_ENV: pause})


def test_two_jobs_at_once_on_persons_of_their_own_both_commit(
        year: dict[str, pd.DataFrame], whole_year: Result, ledger_url: str, tmp_path: Path) -> None:
    """docs/ledger.md: two jobs may run at once. The second read the next batch number and entry id
    before the first committed, and failed on the key ("another job wrote to the ledger at the same
    time"). Now it waits for the first's commit, then commits its own."""
    january = by_claim(whole_year.claims.loc[whole_year.claims["mdtrt_id"].isin(months(whole_year)["2025-01"])])
    persons = sorted(set(january["psn_no"]))
    halves = [january.index[january["psn_no"].isin(persons[i::2])] for i in (0, 1)]
    for name, ids in zip("ab", halves):
        write_tables(only(year, ids), tmp_path / name, "csv")
    first = _score_job(tmp_path / "a", tmp_path / "out-a", ledger_url, pause="8")  # the second reaches its commit
    assert first.stderr is not None and "ledger: committing" in first.stderr.readline()
    second = _score_job(tmp_path / "b", tmp_path / "out-b", ledger_url)  # while the first holds its commit
    said = [job.communicate(timeout=300)[1] for job in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], said
    one_after_the_other = str(tmp_path / "reference.db")
    for ids in halves:
        yibao.score(only(year, ids), ledger=one_after_the_other, period="2025-01")
    state, reference = status(ledger_url), status(one_after_the_other)
    assert len(state["batches"]) == 2 and state["claims"] > 0
    assert {k: v for k, v in state.items() if k not in ("ledger", "batches")} == \
        {k: v for k, v in reference.items() if k not in ("ledger", "batches")}


def test_a_job_killed_while_writing_its_output_has_committed_nothing(
        year: dict[str, pd.DataFrame], whole_year: Result, tmp_path: Path) -> None:
    """The ledger commits after the output is written whole and before it is put in place, so a
    job killed in its write leaves the ledger as before and no folder settle accepts; run again,
    it commits once."""
    url = str(tmp_path / "ledger.db")
    per_month = months(whole_year)
    yibao.score(only(year, per_month["2025-01"]), ledger=url, period="2025-01")
    before = status(url)
    batch, out = tmp_path / "february", tmp_path / "out"
    write_tables(only(year, per_month["2025-02"]), batch, "csv")
    command = [sys.executable, "-c", "from yibao.cli.app import main; main()", "score", str(batch),
               "--out", str(out), "--ledger", url, "--period", "2025-02", "--quiet"]
    assert kill_while_writing(command, out) == -signal.SIGKILL
    assert status(url) == before and not out.exists()
    again = subprocess.run(command, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert len(status(url)["batches"]) == 2 and (out / "manifest.json").is_file()


def test_a_ledger_whose_creation_fails_is_left_empty_and_opens_later(
        ledger_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A job killed, or a disk filled, while the tables were created left some of them and no
    revision: every later run failed ("table batches already exists"). The failure is made here
    just after Alembic's real migrations ran, before their transaction ends."""
    import sqlalchemy
    from alembic import command

    from yibao.ledger import store

    upgrade = command.upgrade

    def upgrade_then_die(config, revision):  # type: ignore[no-untyped-def]
        upgrade(config, revision)
        raise sqlalchemy.exc.OperationalError("CREATE", {}, Exception("database or disk is full"))

    monkeypatch.setattr(store.command, "upgrade", upgrade_then_die)
    with pytest.raises(InputError, match="database or disk is full"):
        Ledger(ledger_url, create=True)
    monkeypatch.undo()
    engine = sqlalchemy.create_engine(store.ledger_url(ledger_url))
    try:
        assert sqlalchemy.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()
    Ledger(ledger_url, create=True).close()
    assert status(ledger_url)["claims"] == 0


def test_the_migrations_create_the_tables_the_code_uses(ledger_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from yibao.ledger.schema import metadata

    ledger = Ledger(ledger_url, create=True)
    try:
        with ledger.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        ledger.close()


@pytest.mark.parametrize("paid", [10.0, "10x"])  # a table whose every row is rejected is a table too
def test_a_batch_with_its_own_accumulators_is_refused_by_the_ledger(
        year: dict[str, pd.DataFrame], tmp_path: Path, paid: float | str) -> None:
    from yibao.errors import InputError

    accumulators = pd.DataFrame({"psn_no": [year["persons"]["psn_no"].iat[0]], "year": [2025], "hifp_paid": [paid]})
    with pytest.raises(InputError, match="come from the ledger"):
        yibao.score(dict(year, accumulators=accumulators), ledger=tmp_path / "ledger.db", period="2025-01")
    assert status(str(tmp_path / "ledger.db"))["batches"] == []


@pytest.mark.parametrize("args, says", [
    (["--period", "2025-05"], "with --ledger"),
    (["--ledger", "x.db", "--accumulators", "acc.csv"], "not both"),
    (["--ledger", "x.db", "--period", "May"], "YYYY-MM"),
])
def test_ledger_options_that_cannot_work_stop_with_one_line(
        args: list[str], says: str, synth_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    done = subprocess.run([sys.executable, "-c", "from yibao.cli.app import main; main()", "score",
                           str(synth_folder), "--out", "out", "--quiet", *args], capture_output=True, text=True)
    assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr


def test_a_batch_of_only_claims_paid_before_pays_nothing_again(
        year: dict[str, pd.DataFrame], whole_year: Result, tmp_path: Path) -> None:
    url = str(tmp_path / "ledger.db")
    january = months(whole_year)["2025-01"]
    yibao.score(only(year, january), ledger=url, period="2025-01")
    before = status(url)
    tables = only(year, january)
    resent_tables = dict(tables, claims=tables["claims"].iloc[::-1])  # re-sent in another order
    again = yibao.score(resent_tables, ledger=url, period="2025-02")
    ledger = Ledger(url)
    try:
        paid = set(ledger.paid(january)["mdtrt_id"])
    finally:
        ledger.close()
    resent = again.claims[again.claims["mdtrt_id"].isin(paid)]
    assert len(resent) == len(paid) and (resent["reason_codes"] == "DUPLICATE_CLAIM").all()
    after = status(url)
    assert after["claims"] == before["claims"] and after["fund_pay_sumamt"] == before["fund_pay_sumamt"]


def test_a_batch_of_nothing_but_claims_paid_before_scores_nothing(
        year: dict[str, pd.DataFrame], whole_year: Result, tmp_path: Path) -> None:
    from yibao.rules import engine

    if not hasattr(engine, "empty_conclusions"):
        pytest.skip("scoring an empty batch comes with main's empty-batch fix (75957a2)")
    url = str(tmp_path / "ledger.db")
    january = months(whole_year)["2025-01"]
    first = yibao.score(only(year, january), ledger=url, period="2025-01")
    paid = first.claims.loc[fen(first.claims["fund_pay_sumamt"]) > 0, "mdtrt_id"].to_numpy()
    before = status(url)
    again = yibao.score(only(year, paid), ledger=url, period="2025-02")
    assert sorted(again.claims["mdtrt_id"]) == sorted(paid)
    assert (again.claims["reason_codes"] == "DUPLICATE_CLAIM").all() and again.lines.empty
    after = status(url)
    assert after["claims"] == before["claims"] and after["fund_pay_sumamt"] == before["fund_pay_sumamt"]


def test_a_correction_under_the_same_id_replaces_the_payment(
        year: dict[str, pd.DataFrame], whole_year: Result, tmp_path: Path) -> None:
    url = str(tmp_path / "ledger.db")
    old = april_in_ledger(year, whole_year, url)
    before = status(url)
    claim = year["claims"][year["claims"]["mdtrt_id"] == old].assign(correction_of=old)
    result = yibao.score(dict(only(year, [old]), claims=claim.reset_index(drop=True)), ledger=url, period="2025-05")
    assert by_claim(result.claims).loc[old, "decision"] != "rejected"
    after = status(url)
    assert after["claims"] == before["claims"] and after["fund_pay_sumamt"] == before["fund_pay_sumamt"]
    assert after["batches"][-1]["reversals"] == 1


def test_a_claim_reversed_twice_in_a_month_is_one_reversal_line(
        year: dict[str, pd.DataFrame], whole_year: Result, tmp_path: Path) -> None:
    """Paid in April, corrected under its own id in May (its April payment reversed, the claim
    paid anew), then that payment reversed by hand in May: two reversals of one claim in May.
    The settlement listed two lines `<id>/冲正`, and --verify refused it ("listed more than once")."""
    url = str(tmp_path / "ledger.db")
    old = april_in_ledger(year, whole_year, url, tmp_path / "april")
    claim = year["claims"][year["claims"]["mdtrt_id"] == old].assign(correction_of=old)
    may = yibao.score(dict(only(year, [old]), claims=claim.reset_index(drop=True)), ledger=url, period="2025-05")
    assert reverse(url, old).exit_code == 0
    taken = Ledger(url).period_entries("2025-05").query("entry == 'reversal'")["fund_pay_sumamt"]  # fen, negative
    assert len(taken) == 2
    write_settlement(yibao.settle(may, period="2025-05", ledger=url), tmp_path / "settled", "csv")
    claims = pd.read_csv(tmp_path / "settled" / "claims.csv", dtype={"mdtrt_id": str})
    lines = claims[claims["mdtrt_id"] == f"{old}/冲正"]
    assert len(lines) == 1 and fen(lines["audited"]).sum() == taken.sum()
    assert verify_folder(tmp_path / "settled") == []


@pytest.mark.parametrize("command", [["ledger", "status"], ["ledger", "reverse", "C1", "--period", "2025-05"]])
def test_reading_a_ledger_that_is_not_there_stops_with_one_line(command: list[str], tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", "from yibao.cli.app import main; main()", *command,
                           "--ledger", str(tmp_path / "typo.db")], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2 and "no ledger at" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "typo.db").exists()


def test_a_read_only_sqlite_uri_reads_and_refuses_a_commit_as_the_database_says(
        year: dict[str, pd.DataFrame], whole_year: Result, tmp_path: Path) -> None:
    """SQLite's own URI (`file:PATH?mode=ro&uri=true`) opens the ledger file for reading; a
    commit through it is refused with the database's reason, and nothing is added."""
    ids = months(whole_year)
    path = tmp_path / "ledger.db"
    yibao.score(only(year, ids["2025-04"]), ledger=str(path), period="2025-04")
    before = status(str(path))
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    assert status(read_only) == before | {"ledger": read_only.replace("file:", "file%3A")}
    with pytest.raises(InputError, match="^nothing was committed to the ledger .*: attempt to write a readonly "
                                         "database; run again once that is mended$"):
        yibao.score(only(year, ids["2025-05"]), ledger=read_only, period="2025-05")
    assert status(str(path)) == before


def test_a_sqlite_url_whose_options_the_driver_ignores_is_refused(
        year: dict[str, pd.DataFrame], whole_year: Result, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`sqlite:///ledger.db?mode=ro` (SQLite's mode without its `uri=true`) was opened for
    writing, the driver's warning printed over two lines with a line of yibao's source, and a
    batch scored through it was committed to the ledger meant to be read only."""
    from conftest import run_cli

    ids = months(whole_year)
    path = tmp_path / "ledger.db"
    yibao.score(only(year, ids["2025-04"]), ledger=str(path), period="2025-04")
    before = status(str(path))
    read_only = f"sqlite:///{path}?mode=ro"
    says = (f"cannot open the ledger {read_only}: Query string argument(s) 'mode' are not accepted by the pysqlite "
            f"driver and are being ignored; SQLite URI arguments require that 'uri=true' also be present in the URL.")
    with pytest.raises(InputError) as refused:
        yibao.score(only(year, ids["2025-05"]), ledger=read_only, period="2025-05")
    assert str(refused.value) == says
    assert status(str(path)) == before
    assert run_cli(["ledger", "status", "--ledger", read_only], capsys, monkeypatch) == (2, f"error: {says}\n")


def test_the_twelve_month_example_of_the_docs_runs(capsys: pytest.CaptureFixture[str]) -> None:
    text = (Path(__file__).parent.parent / "docs" / "ledger.md").read_text(encoding="utf-8")
    example = text.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(example, "docs/ledger.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert [p[:7] for p in printed] == [f"2025-{m:02d}" for m in range(1, 13)]


def test_a_ledger_of_an_earlier_revision_is_migrated_when_opened(tmp_path: Path) -> None:
    """A ledger made at revision 0001, with a batch in it, gains the columns of later revisions
    (chronic_deductible_used = 0 for what it holds) when yibao opens it, and keeps its data."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from yibao.ledger.store import MIGRATIONS

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.execute(sa.text("INSERT INTO batches VALUES ('b1', 1, '2025-01', 't', 0, 0, 0, 'committed')"))
    engine.dispose()
    Ledger(str(tmp_path / "old.db")).close()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("accumulators")}
        assert "chronic_deductible_used" in columns
        assert conn.execute(sa.text("SELECT batch_id FROM batches")).scalars().all() == ["b1"]
    engine.dispose()


def test_a_job_scored_from_accumulators_another_job_changed_commits_nothing(
        year: dict[str, pd.DataFrame], whole_year: Result, tmp_path: Path) -> None:
    """Two jobs at once with persons in common: the one that commits second was scored from
    accumulators the first changed, so it is refused whole (its deductibles and caps would be used
    again); run again, it pays what it pays after the first, as if the two had run one by one."""
    from yibao.io import load_batch
    from yibao.ledger import score_into

    url = str(tmp_path / "ledger.db")
    per_month = months(whole_year)
    march, april = only(year, per_month["2025-03"]), only(year, per_month["2025-04"])
    assert set(march["claims"]["psn_no"]) & set(april["claims"]["psn_no"])
    _, _, commit_march = score_into(url, *load_batch(march), period="2025-03")  # scored, not yet committed
    yibao.score(april, ledger=url, period="2025-04")  # another job commits first
    after_april = status(url)
    with pytest.raises(InputError, match="another job changed the accumulators"):
        commit_march()
    assert status(url) == after_april
    yibao.score(march, ledger=url, period="2025-03")  # run again: scored from April's accumulators
    one_by_one = str(tmp_path / "sequential.db")
    yibao.score(april, ledger=one_by_one, period="2025-04")
    yibao.score(march, ledger=one_by_one, period="2025-03")
    assert status(url)["fund_pay_sumamt"] == status(one_by_one)["fund_pay_sumamt"]


def test_a_file_that_is_not_a_ledger_is_refused_in_one_line(tmp_path: Path) -> None:
    not_a_db = tmp_path / "claims.csv"
    not_a_db.write_text("mdtrt_id\nC1\n", encoding="utf-8")
    with pytest.raises(InputError, match="cannot open the ledger .*not a database"):
        Ledger(str(not_a_db))
    assert not_a_db.read_text(encoding="utf-8") == "mdtrt_id\nC1\n"


@pytest.mark.parametrize("name", ["ledger?2025.db", "ledger#2.db", "ledger%41.db"])
def test_a_ledger_path_is_the_file_it_names_whatever_its_characters(name: str, tmp_path: Path) -> None:
    """A path was pasted after `sqlite:///` as it was: `ledger?2025.db` made and read a ledger in
    the file `ledger` (the rest read as a URL query), `ledger%41.db` one in `ledgerA.db`."""
    from yibao.ledger.store import ledger_file

    path = tmp_path / name
    yibao.score(generate(20, 1, 2025, None), ledger=str(path), period="2025-05")
    assert [p.name for p in tmp_path.iterdir()] == [name]
    assert status(str(path))["claims"] > 0
    assert ledger_file(str(path)) == path

def test_a_reversal_is_never_made_in_a_month_before_the_payment(
        year: dict[str, pd.DataFrame], whole_year: Result, tmp_path: Path) -> None:
    """A charge-back booked in a month settled before the payment is on no statement: the
    hospital would keep the money. Refused, by `ledger reverse` and by a correction batch alike,
    with the ledger as it was."""
    url = str(tmp_path / "ledger.db")
    old = april_in_ledger(year, whole_year, url)
    before = status(url)
    done = CliRunner().invoke(cli_app.app, ["ledger", "reverse", old, "--ledger", url, "--period", "2025-03"])
    assert isinstance(done.exception, InputError)
    assert str(done.exception) == (f"claim {old} was paid in period 2025-04: its reversal cannot be made in the "
                                   f"earlier period 2025-03; give --period 2025-04 or later. Nothing was committed")
    claim = year["claims"][year["claims"]["mdtrt_id"] == old].assign(mdtrt_id=old + "-R", correction_of=old)
    lines = year["lines"][year["lines"]["mdtrt_id"] == old].assign(mdtrt_id=old + "-R")
    corrected = dict(year, claims=claim.reset_index(drop=True), lines=lines.reset_index(drop=True))
    with pytest.raises(InputError, match="its reversal cannot be made in the earlier period 2025-03"):
        yibao.score(corrected, ledger=url, period="2025-03")
    assert status(url) == before
    done = CliRunner().invoke(cli_app.app, ["ledger", "reverse", old, "--ledger", url, "--period", "2025-04"])
    assert done.exit_code == 0, done.output


@pytest.mark.parametrize("period", ["9999-12", "1899-12", "2201-01"])
def test_a_reversal_in_a_period_outside_the_years_yibao_works_in_is_refused(
        period: str, year: dict[str, pd.DataFrame], whole_year: Result, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """`--period 9999-12` (a typo) was taken: the reversal was booked in a month no settlement
    reaches, and the hospital kept the money."""
    from conftest import run_cli

    url = str(tmp_path / "ledger.db")
    old = april_in_ledger(year, whole_year, url)
    before = status(url)
    code, err = run_cli(["ledger", "reverse", old, "--ledger", url, "--period", period], capsys, monkeypatch)
    assert (code, err) == (2, f"error: --period '{period}': not a month from 1900-01 to 2200-12\n")
    assert status(url) == before


def _sqlite(statement: str) -> object:
    def make(path: Path) -> str:
        import sqlite3

        yibao.score(generate(20, 1, 2025, None), ledger=path, period="2025-05")
        with sqlite3.connect(path) as conn:
            conn.execute(statement)
        return str(path)
    return make


def _another_database(path: Path) -> str:
    """Another application's SQLite database: read as a ledger, the ledger's tables were written
    into it beside its own, and an empty ledger shown."""
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE patients (name TEXT)")
    return str(path)


@pytest.mark.parametrize("make, says", [
    (lambda path: "sqlite://", "a SQLite ledger in memory keeps nothing once the command ends"),
    (lambda path: "sqlite:///:memory:", "a SQLite ledger in memory keeps nothing"),
    (lambda path: path.write_bytes(b"") or str(path), "no ledger at"),  # it became an empty ledger
    (_another_database, r"no ledger at sqlite:///.*ledger\.db \(yibao score --ledger creates one\)"),
    (lambda path: "postgresql://u:secret@[::1/db", r"cannot open the ledger \(unreadable URL\): not a database URL"),
    (_sqlite("UPDATE alembic_version SET version_num = '9999_future'"), "its schema is of a newer yibao"),
    (_sqlite("DROP TABLE paid_claims"), "cannot read the ledger sqlite:///.*: no such table: paid_claims"),
])
def test_a_ledger_that_cannot_be_read_stops_with_one_line(make, says: str, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Each of these was a traceback, or (in memory) a ledger that forgot every payment."""
    from conftest import run_cli

    url = make(tmp_path / "ledger.db")
    code, err = run_cli(["ledger", "status", "--ledger", url], capsys, monkeypatch)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert re.search(says, err) and "secret" not in err
    if make is _another_database:
        import sqlite3

        with sqlite3.connect(tmp_path / "ledger.db") as conn:
            assert conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall() == [("patients",)]


def test_another_applications_alembic_database_is_no_ledger_of_a_newer_yibao(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A database another application migrates with Alembic (its own `alembic_version`) was
    called a ledger of a newer yibao, to be opened with that version, by reading and scoring
    alike; it is no ledger, and is left as it was."""
    import sqlite3

    from conftest import run_cli

    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('3f2a9c1d0b7e')")
        conn.execute("CREATE TABLE patients (name TEXT)")
    says = (f"error: cannot open the ledger sqlite:///{path}: it holds another application's tables (Alembic "
            f"revision '3f2a9c1d0b7e', none of yibao's), not a ledger: give the ledger's file or URL\n")
    write_tables(generate(20, 1, 2025, None), tmp_path / "batch")
    assert run_cli(["ledger", "status", "--ledger", str(path)], capsys, monkeypatch) == (2, says)
    assert run_cli(["score", str(tmp_path / "batch"), "--out", str(tmp_path / "o"), "-q", "--ledger", str(path),
                    "--period", "2025-05"], capsys, monkeypatch) == (2, says)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall() == [
            ("alembic_version",), ("patients",)]


def test_an_out_folder_holding_the_ledger_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """`score --out o --overwrite --ledger o/ledger.db` committed the batch to the ledger, then
    replaced the folder o and the ledger with it: exit 0, and the next month's batch would pay
    every claim again. So did a settlement whose --out held the ledger it recorded its month in."""
    from conftest import run_cli

    write_tables(generate(20, 1, 2025, None), tmp_path / "batch")
    out, ledger = tmp_path / "o", tmp_path / "o" / "ledger.db"
    says = f"error: {out}: is the command's input, or holds it, or lies inside it: choose another --out\n"
    assert run_cli(["score", str(tmp_path / "batch"), "--out", str(out), "-q"], capsys, monkeypatch)[0] == 0
    for given in (str(ledger), f"sqlite:///{ledger}", f"sqlite:///file:{ledger}?mode=ro&uri=true"):
        assert run_cli(["score", str(tmp_path / "batch"), "--out", str(out), "--overwrite", "-q", "--ledger", given,
                        "--period", "2025-05"], capsys, monkeypatch) == (2, says)
        assert not ledger.exists()
    settle = ["settle", str(tmp_path / "s"), "--period", "2025-05", "--out", str(tmp_path / "st"), "-q", "--ledger"]
    assert run_cli(["score", str(tmp_path / "batch"), "--out", str(tmp_path / "s"), "-q", "--ledger",
                    str(tmp_path / "ledger.db"), "--period", "2025-05"], capsys, monkeypatch)[0] == 0
    assert run_cli([*settle, str(tmp_path / "ledger.db")], capsys, monkeypatch)[0] == 0
    ledger = (tmp_path / "ledger.db").rename(tmp_path / "st" / "ledger.db")
    assert run_cli([*settle, str(ledger), "--overwrite"], capsys, monkeypatch) == (
        2, says.replace(str(out), str(tmp_path / "st")))
    assert ledger.is_file()
