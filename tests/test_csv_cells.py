"""No CSV yibao writes holds a cell a spreadsheet would run as a formula.

Examiners open the score and settlement CSVs in Excel or WPS. A hospital's file with a claim id
`=HYPERLINK(…)` was scored, and its id written as it was into claims.csv, lines.csv and the
settlement's claims.csv: opened, the spreadsheet ran it (only the payee names were quoted). Every
text cell starting with = + - @, a tab or a carriage return is now written with a leading "'"
(OWASP's advice), and the settlement and --verify read yibao's own CSVs back exactly.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest

import yibao
from conftest import run_cli
from yibao.io import write_tables
from yibao.settlement import verify_folder, write_settlement
from yibao.synth import generate

EVIL = '=HYPERLINK("http://evil/","x")'
RUNNABLE = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-?\d+(\.\d+)?")


@pytest.fixture(scope="module")
def batch() -> dict[str, pd.DataFrame]:
    """A small year with a May claim whose id is a formula, a line id starting with "-", a payee
    name starting with "@", and a claim id starting with "'" (read back exactly too)."""
    t = generate(200, 5)
    c = t["claims"]
    may = c.loc[(c["settlement_mode"] == "direct") & (c["discharge_date"].astype(str).str[:7] == "2025-05"),
                "mdtrt_id"].to_list()
    renamed = {may[0]: EVIL, may[1]: "'quoted"}
    lines = t["lines"].replace({"mdtrt_id": renamed})
    lines.loc[0, "line_id"] = "-1"
    institutions = t["institutions"].copy()
    payee = c.set_index("mdtrt_id").at[may[0], "institution_id"]
    institutions.loc[institutions["institution_id"] == payee, "name"] = "@SUM(A1)"
    return dict(t, claims=c.replace({"mdtrt_id": renamed}), lines=lines, institutions=institutions)


def runnable_cells(folder: Path) -> list[str]:
    """Every cell of the folder's CSVs a spreadsheet would run, as file: cell (a number such as
    -1 is a number to it)."""
    found = []
    for path in sorted(folder.rglob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as f:
            found += [f"{path.name}: {cell}" for row in csv.reader(f) for cell in row
                      if cell.startswith(RUNNABLE) and not NUMBER.fullmatch(cell)]
    return found


def test_ids_and_names_a_spreadsheet_would_run_are_quoted_and_read_back(
        batch: dict[str, pd.DataFrame], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    write_tables(batch, tmp_path / "in", "csv")
    assert runnable_cells(tmp_path / "in") == []  # the input is quoted as well: read back below
    for name, frame in batch.items():  # the input as a hospital sends it, formulas and all
        frame.to_csv(tmp_path / "in" / f"{name}.csv", index=False)
    assert any(EVIL in cell for cell in runnable_cells(tmp_path / "in"))
    monkeypatch.chdir(tmp_path)
    assert run_cli(["score", "in", "--out", "scored", "--format", "csv", "--quiet"], capsys, monkeypatch)[0] == 0
    assert run_cli(["settle", "scored", "--period", "2025-05", "--out", "settled", "--institutions", "in", "--quiet"],
                   capsys, monkeypatch)[0] == 0
    assert runnable_cells(tmp_path / "scored") == runnable_cells(tmp_path / "settled") == []
    claims = pd.read_csv(tmp_path / "scored" / "claims.csv", dtype=str, keep_default_na=False)
    assert {"'" + EVIL, "''quoted"} <= set(claims["mdtrt_id"])
    # read back exactly: the settlement of the CSV folder is that of the batch scored in memory
    settled = yibao.settle(tmp_path / "scored", period="2025-05", institutions=batch["institutions"])
    direct = yibao.settle(yibao.score(batch), period="2025-05", institutions=batch["institutions"])
    assert {EVIL, "'quoted"} <= set(settled.claims["mdtrt_id"])
    assert "@SUM(A1)" in set(settled.statements["name"])
    for name in ("statements", "claims", "claim_codes"):
        pd.testing.assert_frame_equal(getattr(settled, name), getattr(direct, name))
    assert verify_folder(tmp_path / "settled") == []
    write_settlement(settled, tmp_path / "again", "csv")
    assert verify_folder(tmp_path / "again") == []
