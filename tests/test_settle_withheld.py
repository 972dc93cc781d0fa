"""A claim withheld on its statement (数据不正确暂不拨付) was never paid: its correction takes nothing back.

The ledger pays a claim when its batch is scored; the month's settlement then withholds it from
the institution when its data are incorrect, until the hospital corrects it. The correction
reverses (冲正) the ledger's payment, and the statement that settled it took the funds back as a
negative line: the institution lost the claim's funds, paid to it never. Now the settlement
records the payments it withheld in the ledger, and a reversal of one takes nothing back —
whether the correction comes in a later month or in the same one.

The expected amounts are the scorer's funds of the claims, summed here, and the ledger's entries.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import yibao
from conftest import fen
from pg import postgres_server  # noqa: F401 (a fixture)
from test_ledger import downgrade, ledger_url, only, status  # noqa: F401 (a fixture)
from test_settle import forge
from test_settle_batches import direct_paid, in_month
from yibao.errors import InputError
from yibao.pipeline import Result
from yibao.scored import write_scored
from yibao.settlement import Settlement, verify_folder, write_settlement
from yibao.settlement.verify import verify_report
from yibao.synth import generate


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return generate(600, 31)


def chosen(tables: dict[str, pd.DataFrame]) -> str:
    """A direct claim of May with two lines or more, its person's only claim of the year."""
    c, lines = tables["claims"], tables["lines"]
    alone = (c.groupby("psn_no")["mdtrt_id"].transform("size") == 1).to_numpy()
    counted = lines.groupby("mdtrt_id").size().reindex(c["mdtrt_id"], fill_value=0).to_numpy()
    pick = c[c["mdtrt_id"].isin(in_month(tables, "2025-05")) & (c["settlement_mode"] == "direct").to_numpy()
             & (c["kind"] == "claim").to_numpy() & alone & (counted >= 2)]
    return str(pick["mdtrt_id"].iat[0])


def faulty(tables: dict[str, pd.DataFrame], claim: str) -> dict[str, pd.DataFrame]:
    """The tables with `claim`'s last line dated the day after discharge: a claim the scorer pays
    and the settlement withholds ("dated outside the stay")."""
    lines = tables["lines"].copy()
    own = np.flatnonzero(lines["mdtrt_id"] == claim)
    discharge = tables["claims"].set_index("mdtrt_id").at[claim, "discharge_date"]
    lines.loc[own[-1], "service_date"] = pd.Timestamp(discharge) + pd.Timedelta(days=1)
    return dict(tables, lines=lines)


def correction(tables: dict[str, pd.DataFrame], claim: str) -> dict[str, pd.DataFrame]:
    """The hospital's correction of `claim` under the id `<claim>-R`, its lines as they should be."""
    c = tables["claims"]
    fixed = c[c["mdtrt_id"] == claim].assign(mdtrt_id=claim + "-R", correction_of=claim)
    lines = tables["lines"][tables["lines"]["mdtrt_id"] == claim].assign(mdtrt_id=claim + "-R")
    return dict(tables, claims=fixed.reset_index(drop=True), lines=lines.reset_index(drop=True))


def funds(result: Result, claim: str) -> int:
    return fen(result.claims.set_index("mdtrt_id").at[claim, "fund_pay_sumamt"])


def withheld_entries(url: str) -> list[tuple[str, str]]:
    """(claim id, month) of the payments the ledger holds as withheld, read with SQL of its own."""
    engine = sa.create_engine(url if "://" in url else f"sqlite:///{url}")
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(
                "SELECT e.mdtrt_id, w.period FROM withheld_payments w JOIN entries e ON e.entry_id = w.entry_id "
                "ORDER BY e.mdtrt_id"))]
    finally:
        engine.dispose()


def settled_audited(settlement: Settlement, scored: pd.DataFrame) -> int:
    """The scorer's funds (`scored`: its claims) of the claims the settlement pays, reversal lines
    (冲正) left out (fen), summed here."""
    c = settlement.claims
    paid = c.loc[(c["status"] == "settled") & ~c["mdtrt_id"].str.endswith("/冲正"), "mdtrt_id"]
    return int(fen(scored.set_index("mdtrt_id").loc[paid, "fund_pay_sumamt"]).sum())


def may_and_june(tables: dict[str, pd.DataFrame], url: str) -> tuple[str, Result, Result]:
    """May scored into the ledger with a claim the settlement will withhold, then June with that
    claim's correction: (the claim, May, June)."""
    claim = chosen(tables)
    may = yibao.score(only(faulty(tables, claim), in_month(tables, "2025-05")), ledger=url, period="2025-05")
    june_tables, fix = only(tables, in_month(tables, "2025-06")), correction(tables, claim)
    june_tables |= {k: pd.concat([june_tables[k], fix[k]], ignore_index=True) for k in ("claims", "lines")}
    return claim, may, yibao.score(june_tables, ledger=url, period="2025-06")


def test_a_claim_withheld_in_may_and_corrected_in_june_is_paid_in_full(
        tables: dict[str, pd.DataFrame], ledger_url: str, tmp_path: Path) -> None:  # noqa: F811
    """Before: June's statement took the claim's 834.95 back (`<claim>/冲正`) and paid the
    correction, so its institution netted the correction less money May never paid it."""
    url = ledger_url
    claim, may, june = may_and_june(tables, url)
    with pytest.raises(InputError, match="period 2025-06 takes back payments of 2025-05, which the ledger does not "
                                         "hold as settled: settle 2025-05 with --ledger first"):
        yibao.settle(june, period="2025-06", ledger=url)

    may_settled = yibao.settle(may, period="2025-05", ledger=url)
    line = may_settled.claims.set_index("mdtrt_id").loc[claim]
    assert line["status"] == "withheld" and "dated outside the stay" in line["reason"]
    assert funds(may, claim) > 0  # the ledger paid it: the person's accumulators used it
    write_settlement(may_settled, tmp_path / "may", "csv")
    assert withheld_entries(url) == [(claim, "2025-05")]
    shown = status(url)["periods"]  # `ledger status` lists the funds May's statements withheld
    assert round(shown["2025-05"]["withheld"] * 100) == funds(may, claim) and shown["2025-06"]["withheld"] == 0

    settlement = yibao.settle(june, period="2025-06", ledger=url)
    ids = set(settlement.claims["mdtrt_id"])
    assert claim + "/冲正" not in ids and claim + "-R" in ids
    corrected = settlement.claims.set_index("mdtrt_id").loc[claim + "-R"]
    assert corrected["status"] == "settled" and fen(corrected["audited"]) == funds(june, claim + "-R") > 0
    # the statements pay every June claim the scorer paid, and take nothing back
    audited = int(fen(settlement.statements["audited"]).sum())
    assert audited == settled_audited(settlement, june.claims)
    # by the ledger's route: June's payments less its one reversal, which took back what May never paid
    assert audited == direct_paid(url, "2025-06") + funds(may, claim)
    write_scored(june, tmp_path / "june-scored", "csv")
    write_settlement(yibao.settle(tmp_path / "june-scored", period="2025-06", ledger=url), tmp_path / "june", "csv")
    assert verify_folder(tmp_path / "june") == []
    # a forged line taking the withheld funds back is not one the ledger holds
    forge(tmp_path / "june-scored", "2025-06", tmp_path / "forged",
          [(str(line["institution_id"]), claim, funds(may, claim))], ledger=url)
    assert f"claims {claim}/冲正: not in the ledger's reversals of 2025-06" in verify_report(tmp_path / "forged").lines


def test_a_month_settled_before_revision_0008_recorded_nothing_withheld(
        tables: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    """As docs/ledger.md says: a month settled before the ledger recorded withheld payments (its
    ledger taken back to revision 0007 after May's settlement) has none, and June's reversal
    takes the funds back as it did then."""
    path = tmp_path / "ledger.db"
    claim, may, june = may_and_june(tables, str(path))
    write_settlement(yibao.settle(may, period="2025-05", ledger=str(path)), tmp_path / "may", "csv")
    assert "withheld_payments" not in downgrade(path, "0007")
    settlement = yibao.settle(june, period="2025-06", ledger=str(path))
    assert withheld_entries(str(path)) == []
    line = settlement.claims.set_index("mdtrt_id").loc[claim + "/冲正"]
    assert fen(line["audited"]) == -funds(may, claim)


@pytest.mark.parametrize("withheld", [True, False], ids=["withheld", "paid"])
def test_a_claim_corrected_within_its_month(tables: dict[str, pd.DataFrame], withheld: bool, tmp_path: Path) -> None:
    """May's first batch pays the claim, its second batch corrects it: withheld on May's statement,
    the claim is not taken back; paid there, it is, and the institution nets the correction."""
    claim, url = chosen(tables), str(tmp_path / "ledger.db")
    first_tables = only(tables, in_month(tables, "2025-05"))
    first = yibao.score(faulty(first_tables, claim) if withheld else first_tables, ledger=url, period="2025-05")
    second = yibao.score(correction(tables, claim), ledger=url, period="2025-05")
    settlement = yibao.settle([first, second], period="2025-05", ledger=url)
    lines = settlement.claims.set_index("mdtrt_id")
    assert lines.at[claim, "status"] == ("withheld" if withheld else "settled")
    assert lines.at[claim + "-R", "status"] == "settled"
    reversal = claim + "/冲正"
    taken = fen(lines.at[reversal, "audited"]) if reversal in lines.index else 0
    assert taken == (0 if withheld else -funds(first, claim))
    audited = int(fen(settlement.statements["audited"]).sum())
    assert audited == settled_audited(settlement, pd.concat([first.claims, second.claims])) + taken
    write_settlement(settlement, tmp_path / "may", "csv")
    assert verify_folder(tmp_path / "may") == []
    assert withheld_entries(url) == ([(claim, "2025-05")] if withheld else [])
