"""The maternity cash benefits in the ledger (docs/ledger.md): the allowance (生育津贴) and the
one-off grant (一次性生育补助金) are paid to the mother beside a delivery claim's funds, so a
correction or a reversal takes them back as it takes back the funds, and the sums over the
ledger are one payment of the claim that stands. Figures by hand from the bundled sample
county with `maternity.grant: {amount: 1000}` added, on SQLite and PostgreSQL (tests/pg.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import yibao
import yibao.cli.app as cli_app
from conftest import cases_tables, fen
from pg import postgres_server  # noqa: F401 (a fixture)
from test_categories import write_tariff
from test_ledger import downgrade, ledger_url, status  # noqa: F401 (a fixture)
from test_simulate_benefits import delivery
from test_rules_maternity import MATERNITY_LINE
from yibao.ledger import Ledger
from yibao.io import write_tables
from yibao.settlement import verify_folder, write_settlement
from yibao.settlement.verify import verify_report
from test_settle import forge

COUNTY = "grant-county"
# The allowance is wage × 188 days ÷ 30 (a vaginal delivery), to the fen, half up:
#   May, wage 6,000.00:  6,000.00 × 188 ÷ 30 = 37,600.00 → A  = 3,760,000 fen
#   June, wage 6,123.45: 6,123.45 × 188 ÷ 30 = 1,151,208.60 ÷ 30 = 38,373.62 → A' = 3,837,362 fen
# and the grant a fixed 1,000.00 = 100,000 fen per delivery.
A, A_NEW, GRANT = 3_760_000, 3_837_362, 100_000
CASH = ("maternity_allowance", "maternity_grant")


@pytest.fixture
def county(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The tariff id of the sample county's 2025 version with a grant of 1,000 per delivery, on
    the search path (the ledger records a batch's tariff by id)."""
    write_tariff(tmp_path / "tariffs", COUNTY,
                 lambda text: text.replace(MATERNITY_LINE, MATERNITY_LINE + "  grant: {amount: 1000}\n"))
    monkeypatch.setenv("YIBAO_TARIFF_PATH", str(tmp_path / "tariffs"))
    return COUNTY


def may() -> dict[str, pd.DataFrame]:
    """Mother M1's delivery D1, discharged in May, her employer's wage 6,000."""
    tables = cases_tables([delivery(1, 6000.0, "vaginal")])
    del tables["accumulators"]
    return tables


def june() -> dict[str, pd.DataFrame]:
    """The correction D1-R of D1: the same stay, the wage corrected to 6,123.45."""
    tables = cases_tables([delivery(1, 6123.45, "vaginal")])
    del tables["accumulators"]
    tables["claims"] = tables["claims"].assign(mdtrt_id="D1-R", correction_of="D1")
    tables["lines"] = tables["lines"].assign(mdtrt_id="D1-R")
    return tables


def entries(url: str, period: str | None = None) -> pd.DataFrame:
    ledger = Ledger(url)
    try:
        if period is not None:
            return ledger.period_entries(period)
        return pd.concat([ledger.period_entries(p) for p in ("2025-05", "2025-06")], ignore_index=True)
    finally:
        ledger.close()


def first_funds(url: str) -> int:
    """fund_pay_sumamt (fen) of D1's payment."""
    e = entries(url, "2025-05")
    return int(e.loc[e["mdtrt_id"] == "D1", "fund_pay_sumamt"].iat[0])


def cash(frame: pd.DataFrame) -> list[list[Any]]:
    return frame[["entry", "mdtrt_id", *CASH]].astype({c: int for c in CASH}).values.tolist()


def test_a_corrected_delivery_takes_the_cash_benefits_back_and_pays_them_once(
        county: str, ledger_url: str) -> None:  # noqa: F811
    first = yibao.score(may(), tariff=county, ledger=ledger_url, period="2025-05")
    assert list(fen(first.claims.set_index("mdtrt_id").loc["D1", list(CASH)])) == [A, GRANT]
    corrected = yibao.score(june(), tariff=county, ledger=ledger_url, period="2025-06")
    # June: −A and −1,000 taken back from D1, A' and 1,000 paid on D1-R
    assert cash(entries(ledger_url, "2025-06")) == [["reversal", "D1", -A, -GRANT], ["payment", "D1-R", A_NEW, GRANT]]
    # over the whole ledger: one payment of the corrected claim, as it scores on its own
    alone = yibao.score(june(), tariff=county).claims.set_index("mdtrt_id").loc["D1-R"]
    assert list(entries(ledger_url)[list(CASH)].sum()) == list(fen(alone[list(CASH)])) == [A_NEW, GRANT]
    state = status(ledger_url)
    assert state["periods"]["2025-05"] == {"fund_pay_sumamt": first_funds(ledger_url) / 100,
                                           "maternity_allowance": 37_600.0, "maternity_grant": 1_000.0,
                                           "withheld": 0.0}
    # June: 38,373.62 − 37,600.00 = 773.62 more allowance; the grant once more, once less
    assert (state["periods"]["2025-06"]["maternity_allowance"], state["periods"]["2025-06"]["maternity_grant"]) \
        == (773.62, 0.0)
    assert (state["maternity_allowance"], state["maternity_grant"]) == (38_373.62, 1_000.0)
    assert (state["years"]["2025"]["maternity_allowance"], state["years"]["2025"]["maternity_grant"]) \
        == (38_373.62, 1_000.0)
    # the same June batch again adds nothing and gives the same claims; May's again, nothing either
    again = yibao.score(june(), tariff=county, ledger=ledger_url, period="2025-06")
    assert status(ledger_url) == state
    pd.testing.assert_frame_equal(again.claims, corrected.claims)
    pd.testing.assert_frame_equal(yibao.score(may(), tariff=county, ledger=ledger_url, period="2025-05").claims,
                                  first.claims)
    assert status(ledger_url) == state


def test_settlement_lists_the_cash_benefits_apart_from_the_institutions(county: str, tmp_path: Path) -> None:
    url = may_settled(county, tmp_path)
    scored = yibao.score(june(), tariff=county, ledger=url, period="2025-06")
    settlement = yibao.settle(scored, period="2025-06", ledger=url)
    listed = settlement.benefits
    assert listed is not None
    assert listed[["period", "mdtrt_id", "entry", "psn_no", "institution_id"]].values.tolist() == [
        ["2025-06", "D1/冲正", "reversal", "M1", "H1"], ["2025-06", "D1-R", "payment", "M1", "H1"]]
    assert [list(fen(listed[c])) for c in CASH] == [[-A, A_NEW], [-GRANT, GRANT]]
    # the institution is paid its funds only: its statement takes D1's funds back and pays D1-R's
    # (booked in June, though discharged in May: before, June's statement left D1-R out, and H1 was
    # never paid it)
    d1 = first_funds(url)
    statement = settlement.statements.set_index("institution_id").loc["H1"]
    d1r = settlement.claims.set_index("mdtrt_id").loc["D1-R"]
    assert d1r["status"] == "settled" and fen(d1r["audited"]) == fen(scored.claims.set_index("mdtrt_id").loc[
        "D1-R", "fund_pay_sumamt"]) > 0
    assert fen(statement["declared"]) == -d1 + fen(d1r["declared"])
    assert fen(statement["audited"]) == -d1 + fen(d1r["audited"])
    write_settlement(settlement, tmp_path / "settlement", "csv")
    assert verify_folder(tmp_path / "settlement") == []
    assert pd.read_csv(tmp_path / "settlement" / "benefits.csv")["maternity_allowance"].tolist() == [-37_600.0,
                                                                                                     38_373.62]
    page = (tmp_path / "settlement" / "html" / "index.html").read_text(encoding="utf-8")
    assert "生育津贴与一次性生育补助金" in page and "冲正" in page
    statement_page = (tmp_path / "settlement" / "html" / "H1.html").read_text(encoding="utf-8")
    assert "生育津贴与一次性生育补助金" not in statement_page
    without = yibao.settle(scored, period="2025-06")
    assert without.benefits is None and "benefits" not in without.tables()


def test_ledger_reverse_alone_leaves_the_cash_benefits_at_nothing(county: str, ledger_url: str) -> None:  # noqa: F811
    yibao.score(may(), tariff=county, ledger=ledger_url, period="2025-05")
    done = CliRunner().invoke(cli_app.app, ["ledger", "reverse", "D1", "--ledger", ledger_url, "--period", "2025-06"])
    assert done.exit_code == 0, done.output
    assert cash(entries(ledger_url, "2025-06")) == [["reversal", "D1", -A, -GRANT]]
    assert list(entries(ledger_url)[list(CASH)].sum()) == [0, 0]
    shown = json.loads(CliRunner().invoke(cli_app.app, ["ledger", "status", "--ledger", ledger_url, "--json"]).output)
    assert (shown["maternity_allowance"], shown["maternity_grant"]) == (0.0, 0.0)
    assert shown["periods"]["2025-06"]["maternity_allowance"] == -37_600.0
    printed = CliRunner().invoke(cli_app.app, ["ledger", "status", "--ledger", ledger_url]).output
    assert "-37,600.00" in printed and "-1,000.00" in printed


def test_a_ledger_of_revision_0004_is_migrated_with_no_cash_benefits(county: str, tmp_path: Path) -> None:
    """A ledger written before revision 0005, with D1's payment in it, gains the two columns
    (0 for what it holds) when opened; a reversal then takes back the 0 it recorded."""
    path = tmp_path / "old.db"
    yibao.score(may(), tariff=county, ledger=str(path), period="2025-05")
    assert not set(CASH) & set(downgrade(path, "0004")["entries"])
    assert cash(entries(str(path), "2025-05")) == [["payment", "D1", 0, 0]]
    done = CliRunner().invoke(cli_app.app, ["ledger", "reverse", "D1", "--ledger", str(path), "--period", "2025-06"])
    assert done.exit_code == 0, done.output
    assert cash(entries(str(path), "2025-06")) == [["reversal", "D1", 0, 0]]


def test_settle_verify_holds_for_a_settlement_with_reversal_lines(county: str, tmp_path: Path) -> None:
    """June's score folder settled through the ledger has the reversal line D1/冲正 (from the
    ledger, not the folder). `settle --verify` settles the folder again and compares: it must take
    the reversal lines the settlement lists, or every settlement with a reversal fails its check
    (before: "statements H1: paid (from the scored claims) … ≠ …", exit 1)."""
    url = june_settled(county, tmp_path)
    lines = pd.read_parquet(tmp_path / "settled" / "claims.parquet").set_index("mdtrt_id")
    assert fen(lines.at["D1/冲正", "audited"]) == -first_funds(url)
    assert verify_folder(tmp_path / "settled") == []
    done = CliRunner().invoke(cli_app.app, ["settle", "--verify", str(tmp_path / "settled")])
    assert done.exit_code == 0, done.output


def may_settled(county: str, tmp_path: Path) -> str:
    """May, which paid D1, scored into a SQLite ledger and settled through it into `may-settled`
    (June takes D1 back, and is settled after May): the ledger's path."""
    url = str(tmp_path / "ledger.db")
    first = yibao.score(may(), tariff=county, ledger=url, period="2025-05")
    write_settlement(yibao.settle(first, period="2025-05", ledger=url), tmp_path / "may-settled", "csv")
    return url


def june_settled(county: str, tmp_path: Path) -> str:
    """May paid D1 into a SQLite ledger; June's correction scored into `scored` and settled
    through the ledger into `settled` (the command lines): the ledger's path."""
    url = may_settled(county, tmp_path)
    write_tables(june(), tmp_path / "june", "csv")
    runner = CliRunner()
    for args in (["score", str(tmp_path / "june"), "--out", str(tmp_path / "scored"), "--tariff", county,
                  "--ledger", url, "--period", "2025-06"],
                 ["settle", str(tmp_path / "scored"), "--period", "2025-06", "--out", str(tmp_path / "settled"),
                  "--ledger", url]):
        done = runner.invoke(cli_app.app, args + ["--quiet"])
        assert done.exit_code == 0, done.output
    return url


def test_settle_verify_holds_reversal_lines_against_the_ledger(county: str, tmp_path: Path) -> None:
    """The manifest names the ledger; --verify reads its reversals of the period (a SQLite file
    here) and settles the score folder again with them: a reversal line the ledger does not
    hold, or of another amount, is a mismatch (before: exit 0, each one paid as written)."""
    url, settled = june_settled(county, tmp_path), tmp_path / "settled"
    shown = f"sqlite:///{Path(url).resolve()}"
    assert json.loads((settled / "manifest.json").read_text(encoding="utf-8"))["ledger"] == shown
    assert verify_report(settled).lines == verify_report(settled).notices == []
    d1 = first_funds(url)
    forge(tmp_path / "scored", "2025-06", tmp_path / "forged", [("H1", "D1", d1 - 100), ("H1", "D7", 50_000)],
          ledger=shown)
    lines = verify_folder(tmp_path / "forged")
    assert "claims D7/冲正: not in the ledger's reversals of 2025-06" in lines
    assert f"claims D1/冲正: audited (from the ledger) {(100 - d1) / 100:.2f} ≠ {-d1 / 100:.2f}" in lines
    assert any(line.startswith("statements H1: paid (from the scored claims)") for line in lines)
    Path(url).rename(tmp_path / "moved.db")  # the ledger gone: said, and the lines checked as far as they can be
    assert verify_report(settled).notices == [f"reversal lines (冲正) and the month's batches not checked against "
                                              f"the ledger: no ledger at {Path(url).resolve()} (yibao score "
                                              f"--ledger creates one)"]
    assert verify_folder(settled) == []
