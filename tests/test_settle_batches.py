"""A settlement with the ledger pays the batches booked in its month, whatever their claims' dates.

Late claims: May is settled, then claims discharged in May arrive. The ledger refuses to book them
in May and books them in June, where they are paid — but June's settlement picked claims by
discharge date and listed none of them, so the institutions were never paid (672.17 yuan in the
case that found it). With the ledger a month is now settled from the score outputs of all its
batches; one left out, or one of another month, is refused.

A month in which no batch was scored, its only entries `ledger reverse` reversals, could not be
settled at all (settle wanted a score folder), so the institutions kept that money; it is now
settled from the ledger alone, and refused so when a batch was scored in it. SQLite and
PostgreSQL (tests/pg.py) for those.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest

import yibao
from conftest import fen, run_cli
from pg import postgres_server  # noqa: F401 (a fixture)
from test_corrections import with_corrections
from test_ledger import ledger_url, only, status  # noqa: F401 (a fixture)
from test_settle import reseal
from yibao.errors import InputError
from yibao.io import write_tables
from yibao.ledger import Ledger
from yibao.pipeline import Result
from yibao.settlement import verify_folder, write_settlement
from yibao.synth import generate


@pytest.fixture(scope="module")
def batch() -> dict[str, pd.DataFrame]:
    return generate(1200, 23)


def direct(tables: dict[str, pd.DataFrame], month: str) -> np.ndarray:
    """Ids of the direct claims discharged in `month`."""
    c = tables["claims"]
    chosen = (c["settlement_mode"] == "direct") & (c["discharge_date"].astype(str).str[:7] == month)
    return c.loc[chosen, "mdtrt_id"].to_numpy()


def in_month(tables: dict[str, pd.DataFrame], month: str) -> np.ndarray:
    """Ids of the claims the scorer dates in `month` (a batch's claims)."""
    c = tables["claims"]
    discharged = c["discharge_date"].astype(str)
    dated = discharged.where(discharged != "", c["submitted_date"].astype(str))
    return c.loc[dated.str[:7] == month, "mdtrt_id"].to_numpy()


def direct_paid(url: str, period: str = "2025-06") -> int:
    """Funds the ledger paid, less what it took back, for direct claims in `period` (fen): an
    independent route to what the period's statements must add up to."""
    ledger = Ledger(url)
    try:
        e = ledger.period_entries(period)
    finally:
        ledger.close()
    e = e[(e["settlement_mode"] == "direct") & (e["kind"] == "claim")]
    return int(e["fund_pay_sumamt"].sum())


@pytest.fixture()
def late(batch: dict[str, pd.DataFrame], tmp_path: Path) -> tuple[str, Result, Result, np.ndarray]:
    """May settled without 5 of its direct claims; those 5 booked in June as a batch of their own
    beside June's batch: (ledger, late batch, June batch, the late ids)."""
    url = str(tmp_path / "ledger.db")
    may = direct(batch, "2025-05")
    late_ids = may[:5]
    on_time = np.setdiff1d(in_month(batch, "2025-05"), late_ids)
    may_result = yibao.score(only(batch, on_time), ledger=url, period="2025-05")
    write_settlement(yibao.settle(may_result, period="2025-05", ledger=url), tmp_path / "may", "csv")
    with pytest.raises(InputError, match="period 2025-05 was settled at"):
        yibao.score(only(batch, late_ids), ledger=url, period="2025-05")
    late_result = yibao.score(only(batch, late_ids), ledger=url, period="2025-06")
    june_result = yibao.score(only(batch, in_month(batch, "2025-06")), ledger=url, period="2025-06")
    return url, late_result, june_result, late_ids


def test_late_claims_booked_in_june_are_on_june_statements(late: tuple[str, Result, Result, np.ndarray]) -> None:
    url, late_result, june_result, late_ids = late
    settlement = yibao.settle([late_result, june_result], period="2025-06", ledger=url)
    lines = settlement.claims.set_index("mdtrt_id")
    paid = late_result.claims.set_index("mdtrt_id").loc[late_ids]
    assert (fen(paid["fund_pay_sumamt"]) > 0).any()
    assert set(late_ids) <= set(lines.index)
    assert list(fen(lines.loc[late_ids, "audited"])) == list(fen(paid["fund_pay_sumamt"]))
    # every June payment of the ledger is on a June statement, and nothing else is
    assert int(fen(settlement.claims["audited"]).sum()) == direct_paid(url)
    listed = int(fen(settlement.statements["audited"]).sum() + fen(settlement.statements["withheld"]).sum())
    withheld_audited = int(fen(settlement.claims.loc[settlement.claims["status"] == "withheld", "audited"]).sum())
    withheld_declared = int(fen(settlement.claims.loc[settlement.claims["status"] == "withheld", "declared"]).sum())
    assert listed - withheld_declared + withheld_audited == direct_paid(url)
    # the order given does not matter
    again = yibao.settle([june_result, late_result], period="2025-06", ledger=url)
    pd.testing.assert_frame_equal(again.statements, settlement.statements)


def test_a_batch_of_the_month_left_out_is_refused(late: tuple[str, Result, Result, np.ndarray]) -> None:
    """Before, June's statements were written from June's batch alone, the late claims on none."""
    url, late_result, june_result, late_ids = late
    with pytest.raises(InputError) as caught:
        yibao.settle(june_result, period="2025-06", ledger=url)
    booked = late_result.booked
    assert booked is not None and booked.period == "2025-06"
    assert str(caught.value) == (
        f"period 2025-06: batch {booked.batch_id[:12]}, booked in it, paid {len(late_ids)} direct claims and its "
        f"score folder is not given: settle the month's batches together (yibao settle FOLDER FOLDER … --period "
        f"2025-06), or their claims are on no statement")


def test_a_batch_of_another_month_or_none_or_twice_is_refused(
        batch: dict[str, pd.DataFrame], late: tuple[str, Result, Result, np.ndarray]) -> None:
    url, late_result, june_result, _ = late
    with pytest.raises(InputError, match=r"the Result of batch \w{12}: its batch \w{12} is booked in period "
                                         r"2025-06, not 2025-07: settle it with --period 2025-06"):
        yibao.settle([late_result, june_result], period="2025-07", ledger=url)
    with pytest.raises(InputError, match="the Result: names no ledger batch"):
        yibao.settle([late_result, june_result, yibao.score(only(batch, []))], period="2025-06", ledger=url)
    with pytest.raises(InputError, match=r"the same batch \w{12}, given twice"):
        yibao.settle([late_result, june_result, late_result], period="2025-06", ledger=url)
    with pytest.raises(InputError, match="settle takes score folders or Results, not both"):
        yibao.settle([late_result, "/no/such/folder"], period="2025-06", ledger=url)


def test_a_claim_sent_again_in_a_later_batch_of_the_month_is_listed_once(
        batch: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    """The re-sent claim is refused DUPLICATE_CLAIM with nothing drawn; the month lists its payment."""
    url = str(tmp_path / "ledger.db")
    june = in_month(batch, "2025-06")
    first = yibao.score(only(batch, june[:-3]), ledger=url, period="2025-06")
    again_ids = np.concatenate([june[:2], june[-3:]])
    second = yibao.score(only(batch, again_ids), ledger=url, period="2025-06")
    assert (second.claims.set_index("mdtrt_id").loc[june[:2], "decision"] == "rejected").all()
    settlement = yibao.settle([second, first], period="2025-06", ledger=url)
    lines = settlement.claims.set_index("mdtrt_id")
    assert not lines.index.duplicated().any()
    paid = first.claims.set_index("mdtrt_id")
    for mdtrt_id in set(june[:2]) & set(lines.index):
        assert fen(lines.loc[mdtrt_id, "audited"]) == fen(paid.loc[mdtrt_id, "fund_pay_sumamt"])
    assert int(fen(settlement.claims["audited"]).sum()) == direct_paid(url)


def test_a_claim_that_drew_funds_in_two_outputs_is_refused(batch: dict[str, pd.DataFrame]) -> None:
    """Without the ledger nothing stops the same claims being scored twice; settled together, they
    would be paid twice."""
    tables = only(batch, in_month(batch, "2025-06"))
    one, two = yibao.score(tables), yibao.score(tables)
    with pytest.raises(InputError, match=r"claim \S+ drew funds in both the Result and the Result: settled "
                                         r"together, the month would pay it twice"):
        yibao.settle([one, two], period="2025-06")


def test_settle_takes_the_month_s_score_folders_and_verify_reads_them_all(
        batch: dict[str, pd.DataFrame], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    url = str(tmp_path / "ledger.db")
    may = direct(batch, "2025-05")
    folders = {"may": np.setdiff1d(in_month(batch, "2025-05"), may[:4]), "late": may[:4],
               "june": in_month(batch, "2025-06")}
    for name, ids in folders.items():
        write_tables(only(batch, ids), tmp_path / f"in-{name}", "csv")
        period = "2025-05" if name == "may" else "2025-06"
        code, err = run_cli(["score", str(tmp_path / f"in-{name}"), "--out", str(tmp_path / name), "--ledger", url,
                             "--period", period, "--quiet"], capsys, monkeypatch)
        assert code == 0, err
        manifest = json.loads((tmp_path / name / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["ledger_batch"]["period"] == period
        if name == "may":
            code, err = run_cli(["settle", str(tmp_path / "may"), "--period", "2025-05", "--ledger", url,
                                 "--out", str(tmp_path / "st-may"), "--quiet"], capsys, monkeypatch)
            assert code == 0, err
    code, err = run_cli(["settle", str(tmp_path / "june"), "--period", "2025-06", "--ledger", url,
                         "--out", str(tmp_path / "st-june"), "--quiet"], capsys, monkeypatch)
    assert code == 2 and "booked in it, paid 4 direct claims and its score folder is not given" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "st-june").exists()
    code, err = run_cli(["settle", str(tmp_path / "june"), str(tmp_path / "late"), "--period", "2025-06",
                         "--ledger", url, "--out", str(tmp_path / "st-june"), "--format", "csv", "--quiet"],
                        capsys, monkeypatch)
    assert code == 0, err
    claims = pd.read_csv(tmp_path / "st-june" / "claims.csv", dtype={"mdtrt_id": str})
    assert set(may[:4]) <= set(claims["mdtrt_id"])
    assert int(fen(claims["audited"]).sum()) == direct_paid(url)
    manifest = json.loads((tmp_path / "st-june" / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(Path(s["folder"]).name for s in manifest["scored"]) == ["june", "late"]
    assert verify_folder(tmp_path / "st-june") == []
    assert verify_folder(tmp_path / "st-may") == []
    # a manifest that names June's folder alone, sealed again: the ledger says a batch is missing
    forged = tmp_path / "forged"
    shutil.copytree(tmp_path / "st-june", forged)
    manifest["scored"] = [s for s in manifest["scored"] if Path(s["folder"]).name == "june"]
    (forged / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    lines = verify_folder(forged)
    assert any(line.startswith("scored folders: period 2025-06: batch ") and "paid 4 direct claims" in line
               for line in lines), lines
    # a score folder changed since is caught, whichever of the month's it is
    late_claims = tmp_path / "late" / "claims.parquet"
    late_claims.write_bytes(late_claims.read_bytes() + b" ")
    assert any(line.startswith("scored folder:") and "late" in line for line in verify_folder(tmp_path / "st-june"))


@pytest.mark.parametrize("how", ["filed again", "corrected under its own id", "filed again and reversed"])
def test_a_claim_paid_again_in_its_month_after_a_reversal_is_settled_once(
        how: str, batch: dict[str, pd.DataFrame], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """June's batch pays direct claim C; C is reversed in June (`ledger reverse`, or a correction
    under its own id with one line fewer) and paid again by a second June batch. The month's
    statement pays C once, the second payment (its first payment, made and reversed in June, is
    on no statement), and the month's total is what the ledger paid less what it took back;
    `--verify` holds. Reversed again, C is paid and taken back on the statement: 0 in all. Before,
    every settlement of the month was refused (`drew funds in both`)."""
    url = str(tmp_path / "ledger.db")
    june = in_month(batch, "2025-06")
    def run(*args: str) -> None:
        code, err = run_cli([*args, "--ledger", url], capsys, monkeypatch)
        assert code == 0, err

    def score(name: str, tables: dict[str, pd.DataFrame]) -> None:
        write_tables(tables, tmp_path / f"in-{name}", "csv")
        run("score", str(tmp_path / f"in-{name}"), "--out", str(tmp_path / name), "--period", "2025-06",
            "--format", "csv", "--quiet")

    score("first", only(batch, june))
    first = pd.read_csv(tmp_path / "first" / "claims.csv", dtype={"mdtrt_id": str})
    paid = first.loc[(first["settlement_mode"] == "direct") & (first["fund_pay_sumamt"] > 100), "mdtrt_id"]
    c = next(m for m in paid if (batch["lines"]["mdtrt_id"] == m).sum() >= 3)
    again = only(batch, [c])
    if how == "corrected under its own id":
        again["claims"] = again["claims"].assign(correction_of=c)
        again["lines"] = again["lines"].iloc[1:]
    else:
        run("ledger", "reverse", c, "--period", "2025-06")
    score("again", again)
    if how == "filed again and reversed":
        run("ledger", "reverse", c, "--period", "2025-06")
    run("settle", str(tmp_path / "first"), str(tmp_path / "again"), "--period", "2025-06",
        "--out", str(tmp_path / "st"), "--format", "csv", "--quiet")
    lines = pd.read_csv(tmp_path / "st" / "claims.csv", dtype={"mdtrt_id": str}).set_index("mdtrt_id")
    second = pd.read_csv(tmp_path / "again" / "claims.csv", dtype={"mdtrt_id": str}).set_index("mdtrt_id")
    assert fen(second.loc[[c], "fund_pay_sumamt"]).item() > 0
    assert fen(lines.loc[[c], "audited"]).item() == fen(second.loc[[c], "fund_pay_sumamt"]).item()
    taken = lines.index == f"{c}/冲正"
    if how == "filed again and reversed":
        assert fen(lines.loc[taken, "audited"]).item() == -fen(second.loc[[c], "fund_pay_sumamt"]).item()
    else:
        assert not taken.any()
    assert int(fen(lines["audited"]).sum()) == direct_paid(url)
    assert verify_folder(tmp_path / "st") == []


# May's direct claims the tests reverse in June (generate(1200, 23); May's statement paid their
# audited funds): H410006 172.31 and 97.39, H410010 286.68 (declared 297.58, fee 10.90, penalty 3.27)
REVERSED = {"C202500000439": ("H410006", 17_231), "C202500000474": ("H410006", 9_739),
            "C202500000450": ("H410010", 28_668)}


def with_ledger(url: str, capsys: pytest.CaptureFixture[str],
                monkeypatch: pytest.MonkeyPatch) -> Callable[..., tuple[int, str]]:
    """`yibao ARGS --ledger URL` in this process: (exit code, stderr)."""
    return lambda *args: run_cli([*args, "--ledger", url], capsys, monkeypatch)


def done(outcome: tuple[int, str]) -> None:
    code, err = outcome
    assert code == 0, err


def may_settled(batch: dict[str, pd.DataFrame], run: Callable[..., tuple[int, str]], tmp_path: Path) -> None:
    """May scored into the ledger and settled with it, by the command line, as every month is."""
    write_tables(only(batch, in_month(batch, "2025-05")), tmp_path / "in-may", "csv")
    done(run("score", str(tmp_path / "in-may"), "--out", str(tmp_path / "may"), "--period", "2025-05", "--quiet"))
    done(run("settle", str(tmp_path / "may"), "--period", "2025-05", "--out", str(tmp_path / "st-may"),
             "--format", "csv", "--quiet"))
    paid = pd.read_csv(tmp_path / "st-may" / "claims.csv", dtype={"mdtrt_id": str}).set_index("mdtrt_id")
    assert {m: (paid.at[m, "institution_id"], fen(paid.at[m, "audited"])) for m in REVERSED} == REVERSED


def test_a_month_of_reversals_alone_is_settled_from_the_ledger(
        batch: dict[str, pd.DataFrame], ledger_url: str, tmp_path: Path,  # noqa: F811
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Three of May's claims reversed in June (`ledger reverse`), no batch scored for June: June's
    statements take back what May paid for them, H410006 −(172.31 + 97.39) = −269.70 and H410010
    −286.68 (its audited funds: May's fee of 10.90 was never paid, its penalty of 3.27 stands), in
    all −556.38; nothing is deducted or withheld as deposit. Before, `settle` wanted a score folder
    and the month could not be settled: the institutions kept 556.38."""
    url, run = ledger_url, with_ledger(ledger_url, capsys, monkeypatch)
    may_settled(batch, run, tmp_path)
    for mdtrt_id in REVERSED:
        done(run("ledger", "reverse", mdtrt_id, "--period", "2025-06", "--quiet"))
    out = tmp_path / "st-june"
    done(run("settle", "--period", "2025-06", "--out", str(out), "--institutions", str(tmp_path / "in-may"),
             "--format", "csv", "--quiet"))
    statements = pd.read_csv(out / "statements.csv", dtype={"institution_id": str}).set_index("institution_id")
    names = batch["institutions"].set_index("institution_id")["name"]
    assert list(statements.index) == ["H410006", "H410010"]
    assert list(statements["name"]) == [names["H410006"], names["H410010"]]
    assert list(statements["claims"]) == [2, 1]
    assert list(statements["withheld_claims"]) == [0, 0] and list(statements["suspect_claims"]) == [0, 0]
    for column in ("declared_total", "declared", "audited", "paid"):
        assert list(fen(statements[column])) == [-26_970, -28_668], column
    for column in ("withheld", "violation_fees", "penalties", "deposit"):
        assert list(fen(statements[column])) == [0, 0], column
    assert int(fen(statements["paid"]).sum()) == -55_638 == direct_paid(url)
    claims = pd.read_csv(out / "claims.csv", dtype={"mdtrt_id": str}).set_index("mdtrt_id")
    assert {m.removesuffix("/冲正"): (i, -fen(a)) for m, i, a in zip(claims.index, claims["institution_id"],
                                                                    claims["audited"])} == REVERSED
    assert (claims["decision"] == "reversed").all() and (claims["status"] == "settled").all()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert (manifest["scored"], manifest["input_digest"], manifest["tariffs"]) == ([], None, [])
    assert manifest["ledger"] is not None and manifest["rows"]["claims"] == 3
    assert "2025-06" in status(url)["settled"]
    page = (out / "html" / "H410006.html").read_text(encoding="utf-8")
    assert "C202500000439/冲正" in page and "C202500000474/冲正" in page and "-269.70" in page
    assert "reversed" not in page  # the decision of a reversal line is shown in Chinese, as every other
    assert "-556.38" in (out / "html" / "index.html").read_text(encoding="utf-8")
    code, err = run_cli(["settle", "--verify", str(out)], capsys, monkeypatch)
    assert (code, err) == (0, "")
    # the same taken-back line, edited to take back 100.00 less and sealed again: the ledger says otherwise
    forged = tmp_path / "forged"
    shutil.copytree(out, forged)
    for table, key in (("claims", "C202500000450/冲正"), ("statements", "H410010")):
        rows = (forged / f"{table}.csv").read_text(encoding="utf-8").splitlines(keepends=True)
        (forged / f"{table}.csv").write_text("".join(r.replace("-286.68", "-186.68") if key in r else r for r in rows),
                                             encoding="utf-8")
    code, err = run_cli(["settle", "--verify", str(forged)], capsys, monkeypatch)
    assert code == 2 and "does not match its manifest" in err and len(err.strip().splitlines()) == 1, err
    reseal(forged)
    code, err = run_cli(["settle", "--verify", str(forged)], capsys, monkeypatch)
    assert code == 1, err
    assert "claims C202500000450/冲正: audited (from the ledger) -186.68 ≠ -286.68" in err.splitlines()
    assert "statements H410010: paid (from the scored claims) -186.68 ≠ -286.68" in err.splitlines()


@pytest.mark.parametrize("scored", ["June's batch", "an empty batch", "two corrections refused"])
def test_a_month_with_a_scored_batch_is_not_settled_from_the_ledger_alone(
        scored: str, batch: dict[str, pd.DataFrame], ledger_url: str, tmp_path: Path,  # noqa: F811
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Its claims — paid, refused or waiting, each on its institution's statement — are in its score
    folder alone, so without the folder the month is refused in one line naming the batch, and
    nothing is written or closed. That holds for a batch that paid nothing (the old workaround, an
    empty batch scored for the month) and for one whose only entry is a reversal: two corrections
    of one May claim, both refused (CORRECTED_TWICE), reverse its payment and pay nothing, as a
    `ledger reverse` would, and still have a score folder. A month with nothing booked is refused
    too (settling it would close it), and so is no folder without a ledger."""
    url, run = ledger_url, with_ledger(ledger_url, capsys, monkeypatch)
    may_settled(batch, run, tmp_path)
    done(run("ledger", "reverse", "C202500000439", "--period", "2025-06", "--quiet"))
    tables = {"June's batch": only(batch, in_month(batch, "2025-06")), "an empty batch": only(batch, []),
              "two corrections refused": only(with_corrections(batch, "C202500000474", {"B1": "H410006",
                                                                                          "B2": "H410006"}),
                                              ["B1", "B2"])}[scored]
    write_tables(tables, tmp_path / "in-june", "csv")
    done(run("score", str(tmp_path / "in-june"), "--out", str(tmp_path / "june"), "--period", "2025-06", "--quiet"))
    booked = json.loads((tmp_path / "june" / "manifest.json").read_text(encoding="utf-8"))["ledger_batch"]
    if scored == "two corrections refused":  # held as a `ledger reverse` batch is: no payment, one reversal
        last = status(url)["batches"][-1]
        assert last["batch_id"] == booked["batch_id"]
        assert (last["claims"], last["duplicates"], last["reversals"]) == (0, 0, 1)
    code, err = run("settle", "--period", "2025-06", "--out", str(tmp_path / "st"), "--quiet")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert err.strip() == (
        f"error: period 2025-06: batch {booked['batch_id'][:12]}, scored and booked in it, and no score folder is "
        f"given: give the score folders of the month's batches (yibao settle FOLDER … --period 2025-06 --ledger "
        f"…); a month is settled from the ledger alone only when its entries are all reversals (yibao ledger "
        f"reverse)")
    assert not (tmp_path / "st").exists() and "2025-06" not in status(url)["settled"]
    with pytest.raises(InputError, match="scored and booked in it, and no score folder is given"):
        yibao.settle([], period="2025-06", ledger=url)
    # with its folder the month is settled as before, the reversal beside the batch's claims
    done(run("settle", str(tmp_path / "june"), "--period", "2025-06", "--out", str(tmp_path / "st"), "--format", "csv",
             "--quiet"))
    lines = pd.read_csv(tmp_path / "st" / "claims.csv", dtype={"mdtrt_id": str}).set_index("mdtrt_id")
    assert fen(lines.at["C202500000439/冲正", "audited"]) == -17_231
    assert verify_folder(tmp_path / "st") == []
    # its manifest made to say "from the ledger alone" (no score folder): the ledger knows the batch
    manifest = json.loads((tmp_path / "st" / "manifest.json").read_text(encoding="utf-8"))
    (tmp_path / "st" / "manifest.json").write_text(json.dumps(manifest | {"scored": []}), encoding="utf-8")
    assert f"scored folders: period 2025-06: batch {booked['batch_id'][:12]}, scored and booked in it, and no " \
           f"score folder is given" in "\n".join(verify_folder(tmp_path / "st"))

    code, err = run("settle", "--period", "2025-07", "--out", str(tmp_path / "st-july"), "--quiet")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "period 2025-07: the ledger" in err and "books nothing in it (no batch, no reversal)" in err
    code, err = run_cli(["settle", "--period", "2025-07", "--out", str(tmp_path / "st-july")], capsys, monkeypatch)
    assert code == 2 and err.strip() == (
        "error: give SCORED, the month's score folders: without one a month is settled only from the ledger "
        "(--ledger URL), when its only entries there are reversals (yibao ledger reverse)")
    assert not (tmp_path / "st-july").exists() and "2025-07" not in status(url)["settled"]
    with pytest.raises(InputError, match=r"settle takes at least one score folder or Result, or none with a ledger"):
        yibao.settle([], period="2025-07")
