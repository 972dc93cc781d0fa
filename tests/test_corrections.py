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
from typer.testing import CliRunner

import yibao
import yibao.cli.app as cli_app
from conftest import fen
from test_ledger import only, status
from test_ledger_history import _migrate
from test_partitions import _assert_equal, _table, _whole
from yibao.errors import InputError
from yibao.io import load_batch, write_tables
from yibao.ledger import score_into
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


def costliest_inpatient(tables: dict[str, pd.DataFrame]) -> str:
    """The direct inpatient claim the batch pays most: its correction is paid under anyone."""
    c = tables["claims"].set_index("mdtrt_id")
    paid = by_id(yibao.score(tables))["fund_pay_sumamt"]
    return str(paid[c["kind"].eq("claim") & c["med_type"].eq("21") & c["settlement_mode"].eq("direct")]
               .astype(float).idxmax())


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
    claim = costliest_inpatient(tables)
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


def july(batch: dict[str, pd.DataFrame], url: str, tmp_path: Path, partitioned: bool) -> pd.DataFrame:
    """`batch` scored through the ledger in July, whole or in two partitions: its claims by id."""
    if not partitioned:
        return by_id(yibao.score(batch, ledger=url, period="2025-07"))
    write_tables(batch, tmp_path / "july", "parquet")
    score_partitioned(tmp_path / "july", tmp_path / "july-out", 2, ledger=url, period="2025-07")
    return _table(tmp_path / "july-out", "claims").set_index("mdtrt_id")


@pytest.mark.parametrize("partitioned", [False, True], ids=["whole", "partitioned"])
def test_a_claim_sent_again_after_its_correction_stays_replaced(tables: dict[str, pd.DataFrame], tmp_path: Path,
                                                                partitioned: bool) -> None:
    """May pays a claim filed under the wrong person number; June's correction under the right
    one reverses it and is paid; in July the hospital sends the original again, beside a claim
    of the month (the same file again would be May's batch, recognised). Before, the
    ledger paid it again — the stay twice, once to each person — where one batch of it beside its
    correction refuses it (GEN-010): once the payment was reversed, the ledger kept no trace of
    the correction. Now it is refused SUPERSEDED naming the correction, and scored again the
    July batch says so again, adding nothing."""
    url = str(tmp_path / "ledger.db")
    claim = costliest_inpatient(tables)
    person = next(str(p) for p in tables["persons"]["psn_no"]
                  if p != tables["claims"].set_index("mdtrt_id").at[claim, "psn_no"])
    yibao.score(only(tables, [claim]), ledger=url, period="2025-05")
    institution = str(tables["claims"].set_index("mdtrt_id").at[claim, "institution_id"])
    june = by_id(yibao.score(with_corrections(only(tables, [claim]), claim, {"B1": institution}, keep=False,
                                              person=person), ledger=url, period="2025-06"))
    assert fen(june.at["B1", "fund_pay_sumamt"]) > 0
    paid = status(url)
    month = only(tables, [claim, inpatient(tables)])
    again = july(month, url, tmp_path, partitioned)
    assert again.at[claim, "decision"] == "rejected" and again.at[claim, "reason_codes"] == "SUPERSEDED"
    assert "B1" in again.at[claim, "reasons"] and fen(again.at[claim, "fund_pay_sumamt"]) == 0
    state = status(url)
    assert state["claims"] == 2 and round(state["fund_pay_sumamt"] * 100) == round(paid["fund_pay_sumamt"] * 100) \
        + fen(again["fund_pay_sumamt"]).sum()
    assert state["batches"][-1]["duplicates"] == 1
    assert july(month, url, tmp_path / "again", partitioned).equals(again)
    assert status(url)["batches"] == state["batches"]


@pytest.mark.parametrize("first, second", [("correction", "claim"), ("claim", "correction"),
                                           ("correction", "another correction")])
def test_a_claim_and_its_correction_scored_at_once_are_not_both_committed(
        tables: dict[str, pd.DataFrame], tmp_path: Path, first: str, second: str) -> None:
    """Two jobs at once: one pays a claim, or books a correction of it under another person, and
    the other does the other, or books a second correction under the claim's own person (no
    payment of the claim to reverse yet). Neither job's persons are the other's, so the
    accumulators' check let both commit, the stay paid twice. Whichever commits second now
    commits nothing; run again, the claim is refused SUPERSEDED, its payment reversed by the
    correction, or the second correction refused CORRECTED_TWICE."""
    url = str(tmp_path / "ledger.db")
    claim = costliest_inpatient(tables)
    own = str(tables["claims"].set_index("mdtrt_id").at[claim, "psn_no"])
    person = next(str(p) for p in tables["persons"]["psn_no"] if p != own)
    jobs = {"claim": only(tables, [claim]),
            "correction": with_corrections(only(tables, [claim]), claim, {"B1": "H410002"}, keep=False, person=person),
            "another correction": with_corrections(only(tables, [claim]), claim, {"B2": "H410003"}, keep=False)}
    _, _, commit = score_into(url, *load_batch(jobs[second]), period="2025-06")  # scored, not yet committed
    paid_first = fen(by_id(yibao.score(jobs[first], ledger=url, period="2025-06"))["fund_pay_sumamt"]).sum()
    before = status(url)
    with pytest.raises(InputError, match="another job booked a correction of a claim of this batch"):
        commit()
    assert status(url) == before
    result = yibao.score(jobs[second], ledger=url, period="2025-06")
    again, state = by_id(result), status(url)
    assert state["claims"] == 1
    expected = {"claim": (claim, "SUPERSEDED"), "another correction": ("B2", "CORRECTED_TWICE")}
    if second in expected:
        refused, code = expected[second]
        assert again.at[refused, "reason_codes"] == code and state["fund_pay_sumamt"] == before["fund_pay_sumamt"]
    else:
        assert result.booked.reversals == 1
        assert round(state["fund_pay_sumamt"] * 100) == fen(again.at["B1", "fund_pay_sumamt"]) > 0 and paid_first > 0


def test_a_ledger_of_the_revision_before_is_migrated_its_duplicates_as_then(
        tables: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    """A ledger of revision 0009 kept no corrections, nor why a batch did not score a claim:
    migrated, a batch that refused a claim paid before refuses it again as DUPLICATE_CLAIM, and
    adds nothing."""
    url = str(tmp_path / "ledger.db")
    claim = inpatient(tables)
    yibao.score(only(tables, [claim]), ledger=url, period="2025-05")
    june = only(tables, [claim, costliest_inpatient(tables)])
    first = yibao.score(june, ledger=url, period="2025-06").claims
    assert first.set_index("mdtrt_id").at[claim, "reason_codes"] == "DUPLICATE_CLAIM"
    _migrate(url, "downgrade", "0009")
    state = status(url)  # opened: migrated
    again = yibao.score(june, ledger=url, period="2025-06")
    assert again.booked.already_committed and status(url) == state and again.claims.equals(first)


def corrected_in_june(tables: dict[str, pd.DataFrame], url: str) -> tuple[str, str, str]:
    """May pays the claim paid most, filed under the wrong person; June's correction B1 under
    another person reverses it and is paid: (the claim, its person, B1's person)."""
    claim = costliest_inpatient(tables)
    own = str(tables["claims"].set_index("mdtrt_id").at[claim, "psn_no"])
    person = next(str(p) for p in tables["persons"]["psn_no"] if p != own)
    yibao.score(only(tables, [claim]), ledger=url, period="2025-05")
    institution = str(tables["claims"].set_index("mdtrt_id").at[claim, "institution_id"])
    yibao.score(with_corrections(only(tables, [claim]), claim, {"B1": institution}, keep=False, person=person),
                ledger=url, period="2025-06")
    return claim, own, person


def test_a_second_correction_of_a_claim_whose_correction_stands_is_refused(tables: dict[str, pd.DataFrame],
                                                                           tmp_path: Path) -> None:
    """June's B1 corrects the claim under another person and is paid; in July the hospital
    corrects the claim again, B2 back under its first person. Before, B2 was paid too — nothing
    of the claim was paid to reverse — and B1 stood: the stay twice. In one batch the two are
    both refused CORRECTED_TWICE; through the ledger B2 is refused so, naming B1, which is what
    stands and what a correction must name."""
    url = str(tmp_path / "ledger.db")
    claim, own, _ = corrected_in_june(tables, url)
    paid = status(url)
    batch = with_corrections(only(tables, [claim]), claim, {"B2": "H410002"}, keep=False, person=own)
    scored = yibao.score(batch, ledger=url, period="2025-07")
    july = scored.claims
    refused = july.set_index("mdtrt_id").loc["B2"]
    assert refused["reason_codes"] == "CORRECTED_TWICE" and fen(refused["fund_pay_sumamt"]) == 0
    assert "B1" in refused["reasons"]
    lines = scored.rejects[scored.rejects["table"] == "lines"]
    assert len(lines) == len(batch["lines"]) and lines["reason"].str.contains("B1").all() \
        and lines["reason"].str.endswith(": CORRECTED_TWICE").all()
    state = status(url)
    assert state["claims"] == 1 and state["fund_pay_sumamt"] == paid["fund_pay_sumamt"]
    again = yibao.score(batch, ledger=url, period="2025-07")
    assert again.booked.already_committed and again.claims.equals(july) and status(url) == state


def test_a_claim_corrected_again_once_no_correction_of_it_stands_is_paid(tables: dict[str, pd.DataFrame],
                                                                        tmp_path: Path) -> None:
    """B1 reversed by hand (the correction was wrong), the hospital corrects the claim again:
    nothing of the stay stands, so B2 is paid. And a correction refused as one of two in a batch
    (CORRECTED_TWICE) is paid when sent again alone, as docs/ledger.md tells the hospital to."""
    url = str(tmp_path / "ledger.db")
    claim, own, _ = corrected_in_june(tables, url)
    assert CliRunner().invoke(cli_app.app, ["ledger", "reverse", "B1", "--ledger", url, "--period", "2025-07"]) \
        .exit_code == 0
    july = by_id(yibao.score(with_corrections(only(tables, [claim]), claim, {"B2": "H410002"}, keep=False, person=own),
                             ledger=url, period="2025-07"))
    assert july.at["B2", "decision"] != "rejected" and fen(july.at["B2", "fund_pay_sumamt"]) > 0
    other = str(tmp_path / "other.db")
    yibao.score(only(tables, [claim]), ledger=other, period="2025-05")
    twice = by_id(yibao.score(with_corrections(only(tables, [claim]), claim, {"B1": "H410002", "B2": "H410003"},
                                               keep=False), ledger=other, period="2025-06"))
    assert all(codes.startswith("CORRECTED_TWICE") for codes in twice["reason_codes"])
    again = by_id(yibao.score(with_corrections(only(tables, [claim]), claim, {"B1": "H410002"}, keep=False),
                              ledger=other, period="2025-07"))
    assert fen(again.at["B1", "fund_pay_sumamt"]) > 0 and status(other)["claims"] == 1


def test_a_correction_refused_as_a_claim_paid_before_replaces_nothing(tables: dict[str, pd.DataFrame],
                                                                     tmp_path: Path) -> None:
    """A correction sent under the id of another claim paid before (a hospital's slip) is refused
    DUPLICATE_CLAIM, and reverses the claim it names as any refused correction does. It replaces
    nothing: that claim, sent again, is paid — nothing of its stay stands — where the ledger,
    keeping the refused correction, refused it SUPERSEDED by the claim of another stay."""
    url = str(tmp_path / "ledger.db")
    claim, other = inpatient(tables), costliest_inpatient(tables)
    assert claim != other
    yibao.score(only(tables, [claim, other]), ledger=url, period="2025-05")
    june = yibao.score(with_corrections(only(tables, [claim]), claim, {other: "H410002"}, keep=False),
                       ledger=url, period="2025-06")
    assert by_id(june).at[other, "reason_codes"] == "DUPLICATE_CLAIM" and june.booked.reversals == 1
    july = by_id(yibao.score(only(tables, [claim]), ledger=url, period="2025-07"))
    assert july.at[claim, "decision"] != "rejected" and fen(july.at[claim, "fund_pay_sumamt"]) > 0
    assert status(url)["claims"] == 2
