"""`yibao whatif --set … --compare`: the difference of the baseline and the edited case, field by
field, as an examiner reads it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from yibao.cli.app import app

E1 = str(Path(__file__).parent / "examples" / "e1_resident_county_inpatient.case.json")
RATIO = "inpatient.schemes[insutype=390,level=2].bands[0].ratio=0.6525"
WIDE = {"COLUMNS": "250"}


def test_a_ratio_changed_in_its_third_decimal_shows_its_change() -> None:
    """0.65 → 0.6525 was shown as `0.65  0.65  0.00` (rounded to the fen, as an amount)."""
    run = CliRunner().invoke(app, ["whatif", E1, "--set", RATIO, "--compare", "--json"], env=WIDE)
    assert run.exit_code == 0, run.output
    assert json.loads(run.output)["difference"]["pool_prop"] == {"baseline": 0.65, "edited": 0.6525, "change": 0.0025}
    run = CliRunner().invoke(app, ["whatif", E1, "--set", RATIO, "--compare"], env=WIDE)
    row = next(ln for ln in run.output.splitlines() if "pool_prop" in ln)
    assert row.replace("│", " ").split() == ["pool_prop", "65%", "65.25%", "0.25%"], row
