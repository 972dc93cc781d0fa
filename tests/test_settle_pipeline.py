"""Settlement on a scored synthetic batch: the statements reconcile to the scorer's claims.

The expected totals are summed here straight from the score result's claims table (direct
claims discharged in the month), independently of the settlement code.
"""

from __future__ import annotations

import numpy as np
import pytest

import yibao
from yibao.money import yuan_array_to_fen
from yibao.settlement import verify_folder, write_settlement
from yibao.synth import generate


@pytest.fixture(scope="module")
def result():
    return yibao.score(generate(3000, 3, 2025, None))


def fen(values) -> np.ndarray:
    return yuan_array_to_fen(np.asarray(values, dtype=np.float64))


def test_statements_reconcile_to_scored_claims(result, tmp_path):
    settlement = yibao.settle(result, period="2025-05")
    claims = result.claims
    may = claims[(claims["settlement_mode"] == "direct") & (claims["kind"] == "claim")
                 & claims["discharge_date"].str.startswith("2025-05")]
    assert settlement.data_incorrect.empty  # synthetic claims carry consistent data
    st = settlement.statements.set_index("institution_id")
    assert sorted(st.index) == sorted(may["institution_id"].unique())
    by_inst = may.assign(declared=fen(may["declared_fund_pay_sumamt"]), audited=fen(may["fund_pay_sumamt"]),
                         fee=fen(may["hosp_part_amt"])).groupby("institution_id")[["declared", "audited", "fee"]].sum()
    assert (fen(st.loc[by_inst.index, "declared"]) == by_inst["declared"].to_numpy()).all()
    assert (fen(st.loc[by_inst.index, "audited"]) == by_inst["audited"].to_numpy()).all()
    assert (fen(st.loc[by_inst.index, "violation_fees"]) == by_inst["fee"].to_numpy()).all()
    assert int(fen(st["violation_fees"]).sum()) > 0  # the month has deductions to reconcile
    paid = fen(st["declared"]) - fen(st["violation_fees"]) - fen(st["penalties"]) - fen(st["deposit"])
    assert (fen(st["paid"]) == paid).all()
    write_settlement(settlement, tmp_path / "st", "parquet")
    assert verify_folder(tmp_path / "st") == []


def test_a_rejected_claims_row_is_read_back_from_any_directory(synth_folder, tmp_path, capsys, monkeypatch):
    """The scorer names a rejected claim's file so that the settlement finds its row again when
    it runs elsewhere: scored as `batch` from one directory and settled from another, a May claim
    with an unreadable admission date is its institution's data_incorrect claim."""
    import shutil

    import pandas as pd

    from conftest import run_cli

    batch = tmp_path / "in" / "batch"
    shutil.copytree(synth_folder, batch)
    claims = pd.read_csv(batch / "claims.csv", dtype=str, keep_default_na=False)
    may = np.flatnonzero((claims["settlement_mode"] == "direct") & (claims["kind"] == "claim")
                         & claims["discharge_date"].str.startswith("2025-05"))[0]
    claims.loc[may, "admit_date"] = "not a date"
    claims.to_csv(batch / "claims.csv", index=False)
    monkeypatch.chdir(tmp_path / "in")
    assert run_cli(["score", "batch", "--out", "scored", "--quiet"], capsys, monkeypatch)[0] == 0
    monkeypatch.chdir(tmp_path)
    assert run_cli(["settle", "in/scored", "--period", "2025-05", "--out", "settled", "--quiet"],
                   capsys, monkeypatch)[0] == 0
    withheld = pd.read_parquet(tmp_path / "settled" / "data_incorrect.parquet")
    assert withheld[["institution_id", "mdtrt_id"]].values.tolist() == [
        [claims.at[may, "institution_id"], claims.at[may, "mdtrt_id"]]]
