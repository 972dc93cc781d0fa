"""A hospital stay the ledger paid is an earlier claim of GEN-007's duplicate check (重复报销) in
every later batch: sent again under a new claim id it is refused DUPLICATE, naming the claim
paid, and pays nothing; a stay at another institution or on other days is paid; once the earlier
claim is reversed or corrected it is no earlier claim any more. Whole and partitioned runs, SQLite
and PostgreSQL (tests/pg.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from typer.testing import CliRunner

import yibao
import yibao.cli.app as cli_app
from conftest import fen
from pg import postgres_server  # noqa: F401 (a fixture)
from test_ledger import ledger_url, months, only, status  # noqa: F401 (a fixture)
from test_partitions import _table
from yibao.io import write_tables
from yibao.ledger import scoring
from yibao.ledger.store import MIGRATIONS
from yibao.pipeline import Result
from yibao.rules.facts import EARLIER
from yibao.synth import generate

PAID = ("approved", "partially_approved")
DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def year() -> dict[str, pd.DataFrame]:
    return generate(1500, 7)


@pytest.fixture(scope="module")
def whole_year(year: dict[str, pd.DataFrame]) -> Result:
    return yibao.score(year)


@pytest.fixture(scope="module")
def stay(year: dict[str, pd.DataFrame], whole_year: Result) -> pd.Series:
    """Claim A: a direct inpatient stay of three days or more in the county, paid by the basic fund,
    its person's only claim of the year."""
    claims, scored = year["claims"], whole_year.claims.set_index("mdtrt_id")
    inst = year["institutions"].set_index("institution_id")
    alone = claims.groupby("psn_no")["mdtrt_id"].transform("size") == 1
    claims = claims[alone & (claims["kind"] == "claim")]
    pick = claims[(claims["med_type"] == "21") & (claims["settlement_mode"] == "direct")
                  & ((claims["discharge_date"] - claims["admit_date"]).dt.days >= 3)
                  & ~inst.loc[claims["institution_id"], "out_of_area"].to_numpy(dtype=bool)]
    pick = pick[scored.loc[pick["mdtrt_id"], "decision"].isin(PAID).to_numpy()
                & (fen(scored.loc[pick["mdtrt_id"], "hifp_pay"]) > 0)]
    return pick.iloc[0]


def copy_of(year: dict[str, pd.DataFrame], a: pd.Series, new_id: str, shift: int = 0,
            institution: str | None = None, **cells: object) -> dict[str, pd.DataFrame]:
    """Claim A and its lines under a new id, every date `shift` days later, at `institution`."""
    claim = year["claims"][year["claims"]["mdtrt_id"] == a["mdtrt_id"]].assign(mdtrt_id=new_id, **cells)
    for column in ("admit_date", "discharge_date", "submitted_date"):
        claim[column] = claim[column] + shift * DAY
    if institution:
        claim["institution_id"] = institution
    lines = year["lines"][year["lines"]["mdtrt_id"] == a["mdtrt_id"]].assign(mdtrt_id=new_id)
    lines["service_date"] = lines["service_date"] + shift * DAY
    return {"claims": claim, "lines": lines}


def batch_of(year: dict[str, pd.DataFrame], *parts: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """A batch of the given claims, persons and the rest of the year's tables whole."""
    return dict(year, **{t: pd.concat([p[t] for p in parts], ignore_index=True) for t in ("claims", "lines")})


def twin_institution(year: dict[str, pd.DataFrame], a: pd.Series) -> str:
    """Another institution like A's (kind, level, area, network, agreement)."""
    inst = year["institutions"].set_index("institution_id")
    like = (inst.drop(columns="name") == inst.drop(columns="name").loc[a["institution_id"]]).all(axis=1)
    return str(inst.index[like & (inst.index != a["institution_id"])][0])


def june(year: dict[str, pd.DataFrame], a: pd.Series) -> dict[str, pd.DataFrame]:
    """B: A's stay again under a new id, admitted the day A was discharged (the days overlap on
    that one day); C: A's very days at another institution; D: at A's institution, from the
    day after B's discharge (overlapping neither A nor B)."""
    s = int((a["discharge_date"] - a["admit_date"]).days)
    return batch_of(year, copy_of(year, a, "B", s), copy_of(year, a, "C", 0, twin_institution(year, a)),
                    copy_of(year, a, "D", 2 * s + 1))


def paid_in_may(year: dict[str, pd.DataFrame], a: pd.Series, url: str) -> str:
    """A scored into the ledger as the May batch; its batch id."""
    may = yibao.score(only(year, [a["mdtrt_id"]]), ledger=url, period="2025-05")
    assert may.claims["decision"].isin(PAID).all()
    return status(url)["batches"][0]["batch_id"]


def check_june(claims: pd.DataFrame, a: pd.Series, may_batch: str) -> None:
    c = claims.set_index("mdtrt_id")
    assert c.at["B", "decision"] == "rejected" and c.at["B", "reason_codes"] == "DUPLICATE"
    message = json.loads(c.at["B", "reasons"])[0]["message"]
    assert a["mdtrt_id"] in message and may_batch[:12] in message and "2025-05" in message
    assert fen(c.at["B", "fund_pay_sumamt"]) == 0
    for other in ("C", "D"):
        assert c.at[other, "decision"] in PAID and "DUPLICATE" not in c.at[other, "reason_codes"], other
        assert fen(c.at[other, "fund_pay_sumamt"]) > 0


def test_a_stay_paid_before_is_a_duplicate_under_a_new_id(
        year: dict[str, pd.DataFrame], stay: pd.Series, ledger_url: str) -> None:
    may_batch = paid_in_may(year, stay, ledger_url)
    before = status(ledger_url)
    result = yibao.score(june(year, stay), ledger=ledger_url, period="2025-06")
    check_june(result.claims, stay, may_batch)
    after = status(ledger_url)
    c = result.claims.set_index("mdtrt_id")
    # B adds nothing: the ledger grew by C's and D's payments only
    assert after["claims"] == before["claims"] + 2
    assert round(after["fund_pay_sumamt"] * 100) == round(before["fund_pay_sumamt"] * 100) + int(
        fen(c.loc[["C", "D"], "fund_pay_sumamt"]).sum())
    # without the ledger the June batch alone cannot see A: B is paid like C
    alone = yibao.score(june(year, stay)).claims.set_index("mdtrt_id")
    assert alone.at["B", "decision"] in PAID


def test_a_reversed_claim_is_no_earlier_claim(year: dict[str, pd.DataFrame], stay: pd.Series,
                                              ledger_url: str) -> None:
    paid_in_may(year, stay, ledger_url)
    done = CliRunner().invoke(cli_app.app, ["ledger", "reverse", str(stay["mdtrt_id"]), "--ledger", ledger_url,
                                            "--period", "2025-06"])
    assert done.exit_code == 0, done.output
    s = int((stay["discharge_date"] - stay["admit_date"]).days)
    again = yibao.score(batch_of(year, copy_of(year, stay, "B", s)), ledger=ledger_url, period="2025-06")
    assert again.claims["decision"].isin(PAID).all() and (fen(again.claims["fund_pay_sumamt"]) > 0).all()


def test_a_correction_of_the_claim_paid_before_is_paid(year: dict[str, pd.DataFrame], stay: pd.Series,
                                                       tmp_path: Path) -> None:
    url = str(tmp_path / "ledger.db")
    paid_in_may(year, stay, url)
    fixed = batch_of(year, copy_of(year, stay, "A2", 0, correction_of=stay["mdtrt_id"]))
    result = yibao.score(fixed, ledger=url, period="2025-06")
    assert result.claims["decision"].isin(PAID).all() and status(url)["claims"] == 1


def _score_folder(folder: Path, out: Path, url: str, *extra: str) -> pd.DataFrame:
    done = CliRunner().invoke(cli_app.app, ["score", str(folder), "--out", str(out), "--ledger", url,
                                            "--period", "2025-06", "--quiet", *extra])
    assert done.exit_code == 0, done.output
    return _table(out, "claims")


@pytest.mark.parametrize("partitions", [[], ["--partitions", "3"]], ids=["whole", "partitioned"])
def test_run_again_or_partitioned_the_june_batch_gives_the_same(
        year: dict[str, pd.DataFrame], stay: pd.Series, tmp_path: Path, partitions: list[str]) -> None:
    url = str(tmp_path / "ledger.db")
    may_batch = paid_in_may(year, stay, url)
    folder = tmp_path / "june"
    write_tables(june(year, stay), folder, "csv")
    first = _score_folder(folder, tmp_path / "a", url, *partitions)
    check_june(first, stay, may_batch)
    state = status(url)
    # scored again once the batch is committed (its own payments now in the ledger): the same answers
    again = _score_folder(folder, tmp_path / "b", url, *partitions)
    assert status(url) == state
    columns = ["mdtrt_id", "decision", "reasons", "fund_pay_sumamt"]
    assert again.sort_values("mdtrt_id")[columns].reset_index(drop=True).equals(
        first.sort_values("mdtrt_id")[columns].reset_index(drop=True))


def test_a_year_with_a_stay_sent_again_next_month_pays_monthly_what_it_pays_yearly(
        year: dict[str, pd.DataFrame], stay: pd.Series, tmp_path: Path) -> None:
    """A sent again as B: admitted on A's discharge day, discharged 20 days later (next month):
    one batch of the year refuses B (GEN-007); so must the month B is settled in."""
    tables = batch_of(year, {"claims": year["claims"], "lines": year["lines"]},
                      copy_of(year, stay, "B", 0, discharge_date=stay["discharge_date"] + 20 * DAY))
    tables["claims"].loc[tables["claims"]["mdtrt_id"] == "B", "admit_date"] = stay["discharge_date"]
    whole = yibao.score(tables)
    per_month = months(whole)
    url = str(tmp_path / "ledger.db")
    monthly = pd.concat([yibao.score(only(tables, ids), ledger=url, period=m).claims
                         for m, ids in sorted(per_month.items())]).set_index("mdtrt_id").sort_index()
    whole_claims = whole.claims.set_index("mdtrt_id").sort_index()
    assert whole_claims.at["B", "reason_codes"] == "DUPLICATE"
    assert list(monthly.index) == list(whole_claims.index)
    assert (monthly["decision"] == whole_claims["decision"]).all()
    assert (monthly["reason_codes"] == whole_claims["reason_codes"]).all()
    assert (fen(monthly["fund_pay_sumamt"]) == fen(whole_claims["fund_pay_sumamt"])).all()
    assert whole_claims.at["B", "setl_date"][:7] != whole_claims.at[stay["mdtrt_id"], "setl_date"][:7]


def test_a_batch_committed_before_the_check_is_scored_again_as_then(
        year: dict[str, pd.DataFrame], stay: pd.Series, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """June's B, sharing A's discharge day, was paid by a batch committed before the ledger's paid
    claims were earlier claims (a ledger of revision 0005 or before). Run again, the batch is
    recognised and must give its outputs as then — B paid, as the ledger holds it — not refuse B
    now: the institution was paid for B on the first run's settlement."""
    url = str(tmp_path / "ledger.db")
    paid_in_may(year, stay, url)
    s = int((stay["discharge_date"] - stay["admit_date"]).days)
    tables = batch_of(year, copy_of(year, stay, "B", s))
    with monkeypatch.context() as before:  # as the code before the check scored it
        before.setattr(scoring, "earlier_claims", lambda *args, **kwargs: pd.DataFrame(columns=list(EARLIER)))
        first = yibao.score(tables, ledger=url, period="2025-06").claims
    assert first["decision"].isin(PAID).all()
    _migrate(url, "downgrade", "0005")  # the ledger as that code left it
    state = status(url)
    again = yibao.score(tables, ledger=url, period="2025-06").claims
    assert status(url) == state
    columns = ["mdtrt_id", "decision", "reasons", "fund_pay_sumamt"]
    assert again[columns].equals(first[columns])


def _migrate(url: str, how: str, revision: str) -> None:
    engine = sa.create_engine(f"sqlite:///{url}")
    with engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = conn
        getattr(command, how)(config, revision)
    engine.dispose()
