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
