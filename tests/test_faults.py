"""The fault corpus through `yibao score` as a user runs it: no traceback, nothing lost, no
personal data in a message (tests/faults.py holds the faults)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run_cli
from faults import CASE_FAULTS, FAULTS, Fault
from yibao.io import read_table, table_file, write_tables
from yibao.money import yuan_array_to_fen
from yibao.synth import generate

FUNDS = ("fund_pay_sumamt", "psn_part_amt", "hosp_part_amt")
EXAMPLE = Path(__file__).parent / "examples" / "e1_resident_county_inpatient.case.json"


@pytest.fixture(scope="module")
def clean_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clean") / "batch"
    write_tables(generate(claims=40, seed=11), folder, "csv")
    return folder


def personal_data(folder: Path) -> set[str]:
    """Person numbers, and birth dates that appear nowhere else in the batch."""
    persons = read_table(folder / "persons.csv")
    others = " ".join(p.read_text(encoding="utf-8") for p in folder.glob("*.csv") if p.stem != "persons")
    births = {d for d in persons["birth_date"] if d and d not in others}
    return {p for p in persons["psn_no"] if p} | births


def rows_in(folder: Path, table: str) -> int:
    return len(read_table(table_file(folder, table, True), table))


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_fault(fault: Fault, clean_batch: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
               monkeypatch: pytest.MonkeyPatch) -> None:
    batch = tmp_path / "batch"
    shutil.copytree(clean_batch, batch)
    secrets = personal_data(batch)
    fault.edit(batch)
    monkeypatch.chdir(batch)  # the arguments name files beside the batch relative to it
    code, err = run_cli(["score", str(batch), "--out", str(tmp_path / "out"), "--quiet", *fault.args],
                        capsys, monkeypatch)

    assert "Traceback" not in err
    assert not any(s in err for s in secrets), f"personal data in: {err}"
    assert code == {"scored": 0, "refused": 2}[fault.outcome], err
    if code == 2:
        message = err.strip()
        assert message.startswith("error:") and "\n" not in message, err
        assert not (tmp_path / "out" / "claims.parquet").exists()
        return
    assert err.strip() == "", err
    out = tmp_path / "out"  # tables as files, or as folders of parts (--partitions)
    claims, lines, rejects = (read_table(table_file(out, name, True)) for name in ("claims", "lines", "rejects"))
    rejected = rejects.drop_duplicates(["table", "row"]).groupby("table").size()
    # nothing lost: every input row scored or rejected, never both
    assert len(claims) + rejected.get("claims", 0) == rows_in(batch, "claims")
    assert len(lines) + rejected.get("lines", 0) == rows_in(batch, "lines")
    assert not set(claims["mdtrt_id"]) & set(rejects.loc[rejects["table"] == "claims", "key"])
    if fault.rejected is not None:
        named = set(zip(rejects["table"], rejects["column"]))
        assert fault.rejected in named, rejects[["table", "row", "column", "reason"]].to_string()
    assert not any(s in reason for reason in rejects["reason"] for s in secrets)
    # every claim that was scored adds up, and no fund pays a negative amount
    fen = {f: yuan_array_to_fen(claims[f].to_numpy(dtype=np.float64)) for f in FUNDS + ("medfee_sumamt",)}
    assert (fen["fund_pay_sumamt"] + fen["psn_part_amt"] + fen["hosp_part_amt"] == fen["medfee_sumamt"]).all()
    for f in ("hifp_pay", "hifmi_pay", "hifob_pay", "maf_pay", "fund_pay_sumamt"):
        assert (claims[f] >= 0).all(), f


def test_a_2027_batch_scores_with_flagged_estimates(clean_batch: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from faults import shift_years

    batch = tmp_path / "batch"
    shutil.copytree(clean_batch, batch)
    shift_years(2)(batch)
    code, err = run_cli(["score", str(batch), "--out", str(tmp_path / "out"), "--quiet"], capsys, monkeypatch)
    assert code == 0, err
    claims = pd.read_parquet(tmp_path / "out" / "claims.parquet")
    due = pd.to_datetime(claims["due_date"].replace("", None))
    beyond = due > pd.Timestamp("2026-12-31")
    assert beyond.any()  # manual claims and applications of 2027 have due dates, estimated
    assert claims.loc[beyond, "calendar_estimated"].all()
    # a due date estimated by weekends only falls on a weekday
    assert (due[beyond].dt.day_of_week < 5).all()


@pytest.mark.parametrize("name,change,outcome", CASE_FAULTS, ids=[c[0] for c in CASE_FAULTS])
def test_case_fault(name: str, change: Callable[[dict], None] | str, outcome: str, tmp_path: Path,
                    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    case = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    secrets = (case["person"]["psn_no"], case["person"]["birth_date"])
    path = tmp_path / "case.json"
    if isinstance(change, str):
        path.write_text(change, encoding="utf-8")
    else:
        change(case)
        path.write_text(json.dumps(case, ensure_ascii=False), encoding="utf-8")
    code, err = run_cli(["whatif", str(path), "--json"], capsys, monkeypatch)
    assert "Traceback" not in err
    assert not any(s in err for s in secrets), err
    assert code == {"scored": 0, "refused": 2}[outcome], err
    if code == 2:
        assert err.strip().startswith("error:") and "\n" not in err.strip(), err


CELLS = st.one_of(st.text(max_size=12), st.sampled_from(
    ["", " ", "0", "-1", "1e308", "-0.0", "NaN", "9" * 30, "2025-02-29", "2025/13/1", "19991231",
     "true", "否", "\u3000", "\ufeff", "'", '"', ";;", "=1+1", "\x00"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_cell_anywhere(clean_batch: Path, tmp_path_factory: pytest.TempPathFactory,
                           capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                           data: st.DataObject) -> None:
    """Whatever text lands in whichever cell, `yibao score` scores or refuses in one line, and
    every row is accounted for."""
    from faults import REQUIRED, _rows, cell

    batch = tmp_path_factory.mktemp("any") / "batch"
    shutil.copytree(clean_batch, batch)
    table = data.draw(st.sampled_from(REQUIRED), label="table")
    rows = _rows(batch, table)
    if len(rows) < 2:
        return
    column = data.draw(st.sampled_from(rows[0]), label="column")
    row = data.draw(st.integers(0, len(rows) - 2), label="row")
    cell(table, column, data.draw(CELLS, label="value"), row)(batch)
    out = batch.parent / "out"
    code, err = run_cli(["score", str(batch), "--out", str(out), "--quiet"], capsys, monkeypatch)
    assert "Traceback" not in err and code in (0, 2), err
    if code == 2:
        assert err.strip().startswith("error:") and "\n" not in err.strip(), err
        return
    claims, lines = pd.read_parquet(out / "claims.parquet"), pd.read_parquet(out / "lines.parquet")
    rejected = pd.read_parquet(out / "rejects.parquet").drop_duplicates(["table", "row"]).groupby("table").size()
    assert len(claims) + rejected.get("claims", 0) == rows_in(batch, "claims")
    assert len(lines) + rejected.get("lines", 0) == rows_in(batch, "lines")
