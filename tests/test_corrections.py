"""A claim sent beside its correction (`correction_of`) in one batch is replaced by it.

Before, both were scored as claims: with the institution corrected (often the reason for the
correction) both were paid, the stay twice; at the same institution the original was paid and
the correction refused as its duplicate (GEN-007), the wrong one standing. Through the ledger,
the original paid in May and sent again in June beside its correction was reversed, paid again,
and the correction paid too. Two corrections of one claim each paid.

The expected amounts are those of the correction scored without the original beside it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import yibao
from conftest import fen
from test_ledger import only, status
from test_partitions import _assert_equal, _whole
from yibao.io import write_tables
from yibao.partition import _hashes, score_partitioned
from yibao.synth import generate

AMOUNTS = ("fund_pay_sumamt", "hifp_pay", "psn_part_amt", "hosp_part_amt", "medfee_sumamt")


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return generate(300, 1)


def inpatient(tables: dict[str, pd.DataFrame]) -> str:
    """A direct inpatient claim the batch pays."""
    c = tables["claims"]
    pick = c[(c["kind"] == "claim") & (c["med_type"] == "21") & (c["settlement_mode"] == "direct")]
    return str(pick["mdtrt_id"].iat[0])


def with_corrections(tables: dict[str, pd.DataFrame], claim: str, fixes: dict[str, str],
                     keep: bool = True, person: str | None = None) -> dict[str, pd.DataFrame]:
    """The tables with corrections of `claim` (id → institution), its lines copied; `keep`:
    the claim itself stays beside them; `person`: the corrections' person (else the claim's)."""
    c, lines = tables["claims"], tables["lines"]
    own = c[c["mdtrt_id"] == claim]
    if person is not None:
        own = own.assign(psn_no=person)
    added = [own.assign(mdtrt_id=i, correction_of=claim, institution_id=inst) for i, inst in fixes.items()]
    claims = pd.concat([c if keep else c[c["mdtrt_id"] != claim], *added], ignore_index=True)
    own_lines = lines[lines["mdtrt_id"] == claim]
    lines = pd.concat([lines if keep else lines[lines["mdtrt_id"] != claim],
                       *[own_lines.assign(mdtrt_id=i) for i in fixes]], ignore_index=True)
    return dict(tables, claims=claims, lines=lines)


def by_id(result: yibao.pipeline.Result) -> pd.DataFrame:
    return result.claims.set_index("mdtrt_id")


@pytest.mark.parametrize("moved", [True, False], ids=["institution-corrected", "same-institution"])
def test_a_claim_sent_beside_its_correction_is_replaced_by_it(tables: dict[str, pd.DataFrame], moved: bool) -> None:
    claim = inpatient(tables)
    institution = "H410002" if moved else str(tables["claims"].set_index("mdtrt_id").at[claim, "institution_id"])
    scored = by_id(yibao.score(with_corrections(tables, claim, {"B1": institution})))
    alone = by_id(yibao.score(with_corrections(tables, claim, {"B1": institution}, keep=False)))
    original = scored.loc[claim]
    assert original["decision"] == "rejected" and "SUPERSEDED" in original["reason_codes"].split(";")
    assert "GEN-010" in original["rules_fired"].split(";") and "（B1）替代" in original["reasons"]
    assert all(fen(original[a]) == 0 for a in ("fund_pay_sumamt", "hifp_pay", "maf_pay"))
    assert "DUPLICATE" not in scored.at["B1", "reason_codes"]
    for a in AMOUNTS:  # the correction is paid what it is paid without the original beside it
        assert fen(scored.at["B1", a]) == fen(alone.at["B1", a]), a
    assert fen(scored.at["B1", "fund_pay_sumamt"]) > 0


def test_a_correction_filed_under_another_person_replaces_the_claim(tables: dict[str, pd.DataFrame],
                                                                   tmp_path: Path) -> None:
    """A claim filed under the wrong person number, corrected in the same batch under the right
    one. Before, only a correction of the same person's claim counted: both were paid, the stay
    twice. Partitioned, the two persons (in different partitions by their hashes) meet."""
    c = tables["claims"].set_index("mdtrt_id")
    paid = by_id(yibao.score(tables))["fund_pay_sumamt"]
    claim = str(paid[c["kind"].eq("claim") & c["med_type"].eq("21") & c["settlement_mode"].eq("direct")]
                .astype(float).idxmax())  # the inpatient claim paid most: its correction is paid under anyone
    bucket = lambda psn: int(_hashes(pd.Series([psn]))[0] % 3)  # noqa: E731
    person = next(str(p) for p in tables["persons"]["psn_no"] if bucket(p) != bucket(c.at[claim, "psn_no"]))
    fix = {"B1": str(c.at[claim, "institution_id"])}
    batch = with_corrections(tables, claim, fix, person=person)
    scored = by_id(yibao.score(batch))
    alone = by_id(yibao.score(with_corrections(tables, claim, fix, keep=False, person=person)))
    assert scored.at[claim, "reason_codes"].startswith("SUPERSEDED") and fen(scored.at[claim, "fund_pay_sumamt"]) == 0
    for a in AMOUNTS:
        assert fen(scored.at["B1", a]) == fen(alone.at["B1", a]), a
    assert fen(scored.at["B1", "fund_pay_sumamt"]) > 0
    write_tables(batch, tmp_path / "batch", "parquet")
    score_partitioned(tmp_path / "batch", tmp_path / "parts", 3)
    _assert_equal(_whole(tmp_path / "batch", tmp_path / "whole"), tmp_path / "parts")


def test_two_corrections_of_one_claim_are_both_refused(tables: dict[str, pd.DataFrame]) -> None:
    claim = inpatient(tables)
    scored = by_id(yibao.score(with_corrections(tables, claim, {"B1": "H410002", "B2": "H410003"})))
    for fix in ("B1", "B2"):
        assert "CORRECTED_TWICE" in scored.at[fix, "reason_codes"] and f"（{claim}）" in scored.at[fix, "reasons"]
    assert scored.at[claim, "reason_codes"].startswith("SUPERSEDED") and "B1、B2" in scored.at[claim, "reasons"]
    assert fen(scored.loc[[claim, "B1", "B2"], "fund_pay_sumamt"]).sum() == 0


def test_through_the_ledger_the_stay_is_paid_once(tables: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    """May pays the claim; June sends it again beside its correction at another institution.
    Before: the ledger reversed May's payment, paid the claim again and the correction too."""
    url = str(tmp_path / "ledger.db")
    claim = inpatient(tables)
    may = yibao.score(only(tables, [claim]), ledger=url, period="2025-05")
    paid = fen(may.claims["fund_pay_sumamt"]).sum()
    june_tables = with_corrections(only(tables, [claim]), claim, {"B1": "H410002"})
    result = yibao.score(june_tables, ledger=url, period="2025-06")
    june = by_id(result)
    assert june.at[claim, "reason_codes"].startswith("SUPERSEDED") and fen(june.at[claim, "fund_pay_sumamt"]) == 0
    alone = by_id(yibao.score(with_corrections(only(tables, [claim]), claim, {"B1": "H410002"}, keep=False)))
    state = status(url)
    assert state["claims"] == 1 and result.booked.reversals == 1
    assert round(state["fund_pay_sumamt"] * 100) == fen(june.at["B1", "fund_pay_sumamt"]) \
        == fen(alone.at["B1", "fund_pay_sumamt"]) > 0
    assert paid > 0
