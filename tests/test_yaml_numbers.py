"""Numbers in the YAML people write are the decimals they show (yibao.yaml_numbers).

PyYAML reads YAML 1.1: a tariff's `deductible: 0500` was octal, 320 yuan; a case's `cnt: 1:30`
was base 60, 90 units; `--set …deductible=0x10` was 16 yuan. Each paid another amount without a
word. The expected values are the decimals as written, or a refusal naming the field.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from conftest import EXAMPLES, decide, run_cli
from yibao.cases import load_case
from yibao.cli.app import app
from yibao.errors import InputError
from yibao.tariffs.registry import BUNDLED, load_file
from yibao.unique_keys import safe_load

LEVEL2 = "inpatient.schemes[insutype=390,level=2].deductible"


@pytest.mark.parametrize("text, value", [
    ("0500", "0500"), ("08", "08"), ("0", 0), ("500", 500), ("-5", -5), ("+12", 12), ("0.30", 0.3), (".5", 0.5), ("1.5e3", 1500.0),
    ("1:00", "1:00"), ("0b11", "0b11"), ("0x10", "0x10"), ("0o17", "0o17"), ("1_000", "1_000"),
])
def test_a_number_is_the_decimal_it_shows_or_text(text: str, value: object) -> None:
    assert safe_load(f"a: {text}") == {"a": value}
    assert type(safe_load(f"a: {text}")["a"]) is type(value)


def test_a_tariff_deductible_with_a_leading_zero_is_that_many_yuan(tmp_path: Path) -> None:
    folder = shutil.copytree(BUNDLED / "sample-county", tmp_path / "sample-county")
    version = folder / "2025.yaml"
    text = version.read_text(encoding="utf-8")
    assert "level: 2, deductible: 500," in text
    version.write_text(text.replace("level: 2, deductible: 500,", "level: 2, deductible: 0500,"), encoding="utf-8")
    schemes = load_file(version).tariff.inpatient.schemes
    assert [s.deductible for s in schemes if s.insutype == "390" and s.level == 2] == [500]


def test_a_yaml_case_reads_its_numbers_as_written(tmp_path: Path) -> None:
    case = json.loads((EXAMPLES / "e1_resident_county_inpatient.case.json").read_text(encoding="utf-8"))
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(case, sort_keys=False, allow_unicode=True)
                    .replace("pric: 30.0", "pric: 030", 1), encoding="utf-8")
    assert decide(load_case(path).model_dump(exclude_none=True)) == decide(case)
    path.write_text(yaml.safe_dump(case, sort_keys=False).replace("cnt: 1", "cnt: 1:30", 1), encoding="utf-8")
    with pytest.raises(InputError, match=r"lines\.0\.cnt: Input should be a valid number.*'1:30'"):
        load_case(path)


def test_a_set_value_is_the_decimal_it_shows(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    case = str(EXAMPLES / "e1_resident_county_inpatient.case.json")
    deductible = [json.loads(CliRunner().invoke(app, ["whatif", case, "--json", "--set", f"{LEVEL2}={v}"]).stdout)
                  ["act_pay_dedc"] for v in ("0500", "500", "320")]
    assert deductible == [500, 500, 320]
    for value in ("0x10", "1:00", "0b11"):
        code, err = run_cli(["whatif", case, "--set", f"{LEVEL2}={value}"], capsys, monkeypatch)
        assert code == 2 and f"'{value}': Input should be a valid decimal" in err


def test_a_tariff_number_of_thousands_of_digits_is_out_of_range(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Python's "Exceeds the limit (4300 digits) for integer string conversion" was a traceback."""
    folder = shutil.copytree(BUNDLED / "sample-county", tmp_path / "sample-county")
    version = folder / "2025.yaml"
    text = version.read_text(encoding="utf-8")
    assert "child_deductible_factor: 0.5\n" in text
    version.write_text(text.replace("child_deductible_factor: 0.5\n", f"child_deductible_factor: {'9' * 5000}\n"),
                       encoding="utf-8")
    code, err = run_cli(["tariffs", "validate", str(folder)], capsys, monkeypatch)
    assert (code, err) == (2, f"error: {version}: inpatient.child_deductible_factor = a number of 5,000 digits: "
                              "a number out of range\n")
