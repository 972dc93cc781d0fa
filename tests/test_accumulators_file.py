"""A year scored as two batches, the second given the first's accumulators file
(`--accumulators`), pays every claim of the second as one batch of the year does: the file
carries all a person used, the annual inpatient deductible, the covered-fee counts and the
month's amounts of the monthly caps included (split mid-month, so June's must carry)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from conftest import cases_tables, line, make_case, run_cli
from test_covered_caps import tariff_folder, visit
from yibao.io import write_tables
from yibao.synth import generate

AMOUNTS = ("act_pay_dedc", "hifp_pay", "hifmi_pay", "hifob_pay", "maf_pay", "fund_pay_sumamt",
           "psn_part_amt", "hosp_part_amt")


def _year_terms(data: dict[str, Any]) -> None:
    data["inpatient"].update(deductible_scope="annual", cap_basis="covered",
                             annual_cap={"390": 12000, "310": 20000})
    for scheme in data["outpatient"]["schemes"]:
        scheme.update(monthly_cap=40, covered_cap={"monthly": 150, "annual": 600})
    data["chronic"]["covered_cap"] = {"monthly": 400, "annual": 2500}


def test_two_halves_chained_by_the_accumulators_file_pay_as_the_year(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    tariff_folder(tmp_path, _year_terms, name="year-county")
    tariff = tmp_path / "year-county"
    tables = generate(2500, 11)
    claims = tables["claims"]
    day = pd.to_datetime(claims["discharge_date"].fillna(claims["submitted_date"]))
    halves = {"h1": claims[day < "2025-06-15"], "h2": claims[day >= "2025-06-15"]}
    for name, part in halves.items():
        write_tables({**tables, "claims": part, "lines": tables["lines"][tables["lines"]["mdtrt_id"].isin(
            part["mdtrt_id"])]}, tmp_path / name, "parquet")
    write_tables(tables, tmp_path / "year", "parquet")
    for args in (["year"], ["h1"], ["h2", "--accumulators", str(tmp_path / "s-h1" / "accumulators.parquet")]):
        out = str(tmp_path / f"s-{args[0]}")
        assert run_cli(["score", str(tmp_path / args[0]), *args[1:], "--out", out, "--tariff", str(tariff),
                        "-q"], capsys, monkeypatch)[0] == 0
    year = pd.read_parquet(tmp_path / "s-year" / "claims.parquet").set_index("mdtrt_id")
    second = pd.read_parquet(tmp_path / "s-h2" / "claims.parquet").set_index("mdtrt_id")
    assert len(second) == len(halves["h2"])
    expected = year.loc[second.index]
    assert (second["decision"] == expected["decision"]).all()
    for column in AMOUNTS:
        assert ((second[column] - expected[column]).abs() < 0.005).all(), column
    # the terms did bind in the second half: deductibles already used, caps reached
    assert ((second["med_type"] == "21") & (second["act_pay_dedc"] == 0) & (second["hifp_pay"] > 0)).any()


def _june_caps(data: dict[str, Any]) -> None:
    scheme = data["outpatient"]["schemes"][0]  # residents at a township centre: 60%
    assert scheme["insutype"] == "390"
    scheme.update(monthly_cap=40, covered_cap={"monthly": 150})


def test_a_months_caps_carry_into_the_next_batch_of_that_month(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """10 June, 200 yuan in policy: 150 covered (the month's covered cap), 60% = 90, cut to the
    fund's 40 a month. 20 June, a later batch, 100 in policy: June's 150 covered and 40 paid are
    used up, so the fund pays 0 — not min(60% × 100, 40) = 40 as a fresh month would."""
    tariff_folder(tmp_path, _june_caps, name="june-county")
    for name, case in (("b1", visit("V1", "2025-06-10", 200)), ("b2", visit("V2", "2025-06-20", 100))):
        tables = cases_tables([case])
        write_tables({k: v for k, v in tables.items() if k != "accumulators"}, tmp_path / name, "csv")
    given = ["--accumulators", str(tmp_path / "s-b1" / "accumulators.csv")]
    for name, extra in (("b1", []), ("b2", given)):
        assert run_cli(["score", str(tmp_path / name), *extra, "--out", str(tmp_path / f"s-{name}"), "--tariff",
                        str(tmp_path / "june-county"), "--format", "csv", "-q"], capsys, monkeypatch)[0] == 0
    paid = {name: pd.read_csv(tmp_path / f"s-{name}" / "claims.csv")["hifp_pay"].tolist() for name in ("b1", "b2")}
    assert paid == {"b1": [40.0], "b2": [0.0]}


def _after(chronic_paid: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A one-claim batch whose person carries `chronic_paid` in: (accumulators after, rejects)."""
    import yibao

    tables = cases_tables([make_case(lines=[line("X-ANY", 100.0, 1)])])
    tables["accumulators"] = pd.DataFrame({"psn_no": ["P1"], "year": [2025], "chronic_paid": [chronic_paid]})
    result = yibao.score(tables)
    return result.accumulators, result.rejects


def test_a_chronic_code_no_tariff_knows_is_carried_not_dropped() -> None:
    """XYZ (another region's disease, or one the tariff dropped) drew on nothing and vanished from
    the accumulators after the batch: the next month's cap started it from zero."""
    accumulators, rejects = _after("XYZ=1.00;I10=5.00")
    assert rejects.empty
    assert accumulators.set_index("psn_no").at["P1", "chronic_paid"] == "I10=5.00;XYZ=1.00"


def test_a_chronic_code_given_twice_rejects_the_row_and_its_person() -> None:
    """I10=2400.00;I10=0.00 kept the last amount: the annual cap of 2,400 paid again."""
    accumulators, rejects = _after("I10=2400.00;I10=0.00")
    row = rejects[rejects["table"] == "accumulators"]
    assert row[["column", "reason"]].values.tolist() == [["chronic_paid", "'I10=2400.00;I10=0.00': a disease code given twice"]]
    assert "claims" in set(rejects["table"])  # the person's claim goes with the row


def test_a_rejected_row_is_carried_into_the_next_batch_until_it_is_corrected() -> None:
    """A hand edit broke a cell of P1's row (1,200.00 paid this year). The row was rejected, and with
    it P1's claim; but the accumulators after the batch held nothing of P1, so the next batch
    scored P1 as if nothing had been used this year. Now the row is carried with where and why,
    rejects P1 again, and P1 is scored once the row is corrected."""
    import yibao

    tables = cases_tables([make_case(lines=[line("X-ANY", 1000.0, 1)])])
    first = dict(tables, accumulators=pd.DataFrame({"psn_no": ["P1", "P2"], "year": ["2025", "2025"],
                                                     "hifp_paid": ["12,00", "3.00"]}))
    after = yibao.score(first).accumulators.set_index("psn_no")
    assert after.at["P1", "rejected"] == "<accumulators> row 2, hifp_paid: '12,00': not a number"
    assert after.at["P2", "rejected"] == "" and after.at["P2", "hifp_paid"] == 3.0
    again = yibao.score(dict(tables, accumulators=after.reset_index()))
    assert again.rejects.set_index("table").at["accumulators", "reason"] == (
        "rejected by an earlier batch (<accumulators> row 2, hifp_paid: '12,00': not a number): correct the row "
        "and empty this cell")
    assert "claims" in set(again.rejects["table"]) and again.claims.empty
    assert again.accumulators.set_index("psn_no").at["P1", "rejected"] == after.at["P1", "rejected"]
    corrected = after.reset_index().assign(hifp_paid=[1200.0, 3.0], rejected="")
    paid = yibao.score(dict(tables, accumulators=corrected))
    assert paid.rejects.empty and len(paid.claims) == 1


def test_a_folder_without_parts_given_as_the_accumulators_file_is_said_to_be_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A score folder given for its accumulators table was refused as "its parts do not have the
    same columns and types", though it has none."""
    write_tables(generate(20, 3), tmp_path / "batch")
    code, err = run_cli(["score", str(tmp_path / "batch"), "--out", str(tmp_path / "out"), "--accumulators",
                         str(tmp_path / "batch")], capsys, monkeypatch)
    assert code == 2 and err == (f"error: {tmp_path / 'batch'}: is a folder without Parquet parts (part-*.parquet): "
                                 "give the table's file, or its folder of parts\n")
