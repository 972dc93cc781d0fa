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


def test_a_key_of_megabytes_is_cut_in_rejects_and_settles_as_without_its_claims(synth_folder, tmp_path):
    """A 3 MB line id, and a 3 MB claim id, were copied whole into the `key` of their reject rows
    (1.9 MB of rejects.parquet for one such line). Now each such cell is cut as a quoted value
    is (its first 80 characters and its length), every row is still rejected by its row, and
    the settlement still finds a rejected claim's row, by the cut key, to name its institution:
    the money of the month is that of the batch without the two claims."""
    import shutil

    import pandas as pd

    from yibao.errors import QUOTED
    from yibao.io import KEY_LENGTH

    assert QUOTED > KEY_LENGTH  # a cut key is longer than any key a scored row may have
    big = "K" * 3_000_000
    cut = "K" * 80 + "… (3,000,000 characters)"
    batch, without = tmp_path / "batch", tmp_path / "without"
    shutil.copytree(synth_folder, batch)
    claims = pd.read_csv(batch / "claims.csv", dtype=str, keep_default_na=False)
    lines = pd.read_csv(batch / "lines.csv", dtype=str, keep_default_na=False)
    may = np.flatnonzero((claims["settlement_mode"] == "direct") & (claims["kind"] == "claim")
                         & claims["discharge_date"].str.startswith("2025-05"))
    a, b = claims.at[may[0], "mdtrt_id"], claims.at[may[1], "mdtrt_id"]
    shutil.copytree(synth_folder, without)
    claims[~claims["mdtrt_id"].isin([a, b])].to_csv(without / "claims.csv", index=False)
    lines[~lines["mdtrt_id"].isin([a, b])].to_csv(without / "lines.csv", index=False)
    a_line = int(np.flatnonzero(lines["mdtrt_id"] == a)[0])
    lines.at[a_line, "line_id"] = big
    lines.loc[lines["mdtrt_id"] == b, "mdtrt_id"] = big
    claims.at[may[1], "mdtrt_id"] = big
    claims.to_csv(batch / "claims.csv", index=False)
    lines.to_csv(batch / "lines.csv", index=False)

    result = yibao.score(batch)
    rejects = result.rejects
    assert rejects["key"].str.len().max() < 200
    by_row = rejects.drop_duplicates(["table", "row"]).set_index(["table", "row"])["key"]
    assert by_row[("lines", a_line + 2)] == f"{a}/{cut}"
    assert by_row[("claims", may[1] + 2)] == cut
    assert set(by_row["claims"]) == {a, cut}  # every claim row: scored, or rejected by its row
    assert len(result.claims) + len(by_row["claims"]) == len(claims)
    assert len(result.lines) + len(by_row["lines"]) == len(lines)

    settled, clean = yibao.settle(result, period="2025-05"), yibao.settle(yibao.score(without), period="2025-05")
    withheld = settled.data_incorrect.set_index("mdtrt_id")["institution_id"].to_dict()
    assert withheld == {a: claims.at[may[0], "institution_id"], cut: claims.at[may[1], "institution_id"]}
    money = ["declared", "audited", "violation_fees", "penalties", "deposit", "paid"]
    st, cl = (s.statements.set_index("institution_id")[money] for s in (settled, clean))
    pd.testing.assert_frame_equal(st.loc[cl.index], cl)
    assert (st.drop(cl.index) == 0).all(axis=None)  # an institution of withheld claims alone: nothing paid
