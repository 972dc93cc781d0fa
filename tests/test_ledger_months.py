"""A claim for an earlier month filed late (补报) meets that month's caps as they were used.

The accumulators hold one month per person-year, the latest. Before the ledger read each claim's
month from its entries, a May claim scored after June was committed found May unused: with the
basic fund's monthly cap of 40 yuan, May paid 30 + 30 = 60. Resident outpatient visits at a
township centre (deductible 0, 60% of the in-policy fees), by hand:

    M1 May 5    50 → 30          J1 June 10  50 → 30          U1 July 3  50 → 30
    M2 May 20   50 → 30, May has 10 left → 10
    M3 May 25   50 → May used up → 0
    J2 June 15  50 → June has 10 left → 10

With a monthly cap of 60 on covered fees instead of the fund's: M2 and J2 are paid on the 10
yuan of fees left, 6 each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import yibao
import yibao.cli.app as cli_app
from pg import new_database, postgres_server  # noqa: F401 (a fixture)
from test_covered_caps import paid, resident_outpatient, tables, tariff_folder, visit
from test_ledger_history import _migrate
from test_partitions import _table
from yibao.io import write_tables
from yibao.ledger import Ledger
from yibao.pipeline import Result

DAYS = {"M1": "2025-05-05", "M2": "2025-05-20", "M3": "2025-05-25", "J1": "2025-06-10", "J2": "2025-06-15",
        "U1": "2025-07-03"}
CAPS = {"fund": ({"monthly_cap": 40}, {"M2": 10.0, "J2": 10.0}),
        "covered": ({"covered_cap": {"monthly": 60}}, {"M2": 6.0, "J2": 6.0})}
MAY_2025 = (2025 - 1970) * 12 + 4


def by_hand(cap: str) -> dict[str, float]:
    return {"M1": 30.0, "M2": 0.0, "M3": 0.0, "J1": 30.0, "J2": 0.0, "U1": 30.0} | CAPS[cap][1]


def batch(*ids: str) -> dict[str, pd.DataFrame]:
    """The visits' tables, 50 yuan in policy each; no accumulators table (the ledger holds them)."""
    return {name: t for name, t in tables([visit(v, DAYS[v], 50) for v in ids]).items() if name != "accumulators"}


@pytest.fixture(params=list(CAPS))
def cap(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The tariff `capped` on the search path, with the cap named by the parameter."""
    monkeypatch.setenv("YIBAO_TARIFF_PATH", str(tmp_path))
    tariff_folder(tmp_path, lambda d: resident_outpatient(d, annual_cap=None, **CAPS[request.param][0]), "capped")
    return request.param


def score(ids: tuple[str, ...], url: str, period: str) -> Result:
    return yibao.score(batch(*ids), tariff="capped", ledger=url, period=period)


def held(url: str) -> pd.Series:
    ledger = Ledger(url)
    try:
        return ledger.accumulators(["P1"]).iloc[0]
    finally:
        ledger.close()


def status(url: str) -> dict[str, Any]:
    ledger = Ledger(url)
    try:
        return ledger.status()
    finally:
        ledger.close()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_late_claims_meet_their_months_caps_as_one_batch_does(
        cap: str, database: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """May, June, then July with two late May claims, a late June one and July's own: each paid
    what one batch of all six pays, and May's and June's funds stay within their caps. The
    accumulators still hold July. Scored again, July gives the same outputs and adds nothing."""
    url = str(tmp_path / "ledger.db") if database == "sqlite" else \
        new_database(request.getfixturevalue("postgres_server"))
    whole = yibao.score(batch(*DAYS), tariff="capped")
    assert paid(whole) == by_hand(cap)
    score(("M1",), url, "2025-05")
    score(("J1",), url, "2025-06")
    july = score(("M2", "M3", "J2", "U1"), url, "2025-07")
    assert paid(july) == {v: by_hand(cap)[v] for v in ("M2", "M3", "J2", "U1")}
    acc = held(url)
    month, amount = ("outpatient_month", "outpatient_month_paid") if cap == "fund" else \
        ("outpatient_covered_month", "outpatient_covered_in_month")
    assert (acc[month], acc[amount]) == (MAY_2025 + 2, 3000 if cap == "fund" else 5000)  # July, fen
    before = status(url)
    again = score(("M2", "M3", "J2", "U1"), url, "2025-07")
    assert again.booked.already_committed and status(url) == before
    assert again.claims.equals(july.claims)


def test_a_partitioned_run_reads_the_months_as_a_whole_run_does(cap: str, tmp_path: Path) -> None:
    """July through `yibao score --partitions 2` after May and June: the same payments."""
    url = str(tmp_path / "ledger.db")
    score(("M1",), url, "2025-05")
    score(("J1",), url, "2025-06")
    write_tables(batch("M2", "M3", "J2", "U1"), tmp_path / "july", "csv")
    run = CliRunner().invoke(cli_app.app, ["score", str(tmp_path / "july"), "--out", str(tmp_path / "out"),
                                           "--tariff", "capped", "--ledger", url, "--period", "2025-07",
                                           "--partitions", "2", "--quiet"])
    assert run.exit_code == 0, run.output
    claims = _table(tmp_path / "out", "claims")
    assert dict(zip(claims["mdtrt_id"], claims["hifp_pay"])) == \
        {v: by_hand(cap)[v] for v in ("M2", "M3", "J2", "U1")}


def test_a_late_correction_meets_its_month_less_the_claim_it_reverses(cap: str, tmp_path: Path) -> None:
    """May pays M1 and M2 (30 + 10: May's 40 used), June J1. In July M1 is corrected to 100 yuan
    (60 at 60%): its reversal gives May back M1's 30, so the correction is paid 30 with the fund's
    cap (May's 40 less M2's 10; not 40, as May unused would give), and on 50 of fees with the
    covered cap (60 less M2's 10 fees): 30."""
    url = str(tmp_path / "ledger.db")
    score(("M1", "M2"), url, "2025-05")
    score(("J1",), url, "2025-06")
    corrected = visit("M1-R", DAYS["M1"], 100)
    corrected["claim"]["correction_of"] = "M1"
    july = yibao.score(tables([corrected]), tariff="capped", ledger=url, period="2025-07")
    assert paid(july) == {"M1-R": 30.0}
    assert july.booked.reversals == 1


def test_a_batch_committed_before_the_months_were_read_is_scored_again_as_then(
        cap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """July's M2 committed by a yibao that read no months (a ledger of revision 0008) was paid 30:
    scored again, the batch gives that again, as the ledger and the institution's statement hold
    it, and adds nothing."""
    url = str(tmp_path / "ledger.db")
    score(("M1",), url, "2025-05")
    score(("J1",), url, "2025-06")
    with monkeypatch.context() as before:  # as the code before revision 0009 scored it
        before.setattr(Ledger, "months", lambda self, persons, batch_id=None: None)
        first = score(("M2",), url, "2025-07")
    assert paid(first) == {"M2": 30.0}
    _migrate(url, "downgrade", "0008")
    state = status(url)
    again = score(("M2",), url, "2025-07")
    assert again.booked.already_committed and status(url) == state
    assert again.claims.equals(first.claims)


def test_without_a_ledger_a_claim_of_the_accumulators_month_follows_a_late_one(cap: str) -> None:
    """Accumulators holding June (J1's 30 paid, or 50 of fees), a batch of M2 and J2: J2 still
    finds June's amount after M2 (filed late: without a ledger May is unknown, so M2 finds it
    unused), and the accumulators after hold June."""
    month, amount = ("outpatient_month", "outpatient_month_paid") if cap == "fund" else \
        ("outpatient_covered_month", "outpatient_covered_in_month")
    june = pd.DataFrame({"psn_no": ["P1"], "year": [2025], month: [MAY_2025 + 1],
                         amount: [30.0 if cap == "fund" else 50.0]})
    result = yibao.score(batch("M2", "J2"), tariff="capped", accumulators=june)
    assert paid(result) == {"M2": 30.0, "J2": by_hand(cap)["J2"]}
    after = result.accumulators.iloc[0]
    assert (after[month], after[amount]) == (MAY_2025 + 1, 40.0 if cap == "fund" else 60.0)
