"""A settlement with the ledger pays the batches booked in its month, whatever their claims' dates.

Late claims: May is settled, then claims discharged in May arrive. The ledger refuses to book them
in May and books them in June, where they are paid — but June's settlement picked claims by
discharge date and listed none of them, so the institutions were never paid (672.17 yuan in the
case that found it). With the ledger a month is now settled from the score outputs of all its
batches; one left out, or one of another month, is refused.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import yibao
from conftest import fen, run_cli
from test_ledger import only
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
