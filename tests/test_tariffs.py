"""Tariff validation, version choice, the version diff and the `yibao tariffs` commands.

Expected differences between versions 2024 and 2025 are the ones docs/tariffs.md marks:
resident catastrophic threshold 12,000 → 11,000, tilted threshold 6,000 → 5,500, resident
outpatient annual cap 240 → 300.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import decide, line, make_case

from yibao.cli.tariffs import app as tariffs_app
from yibao.errors import InputError
from yibao.tariffs.diff import ABSENT, diff_tariffs
from yibao.tariffs.model import Tariff
from yibao.tariffs.registry import BUNDLED, in_force, load_version, validate_region

SAMPLE = BUNDLED / "sample-county"
YIBAO = Path(sys.executable).parent / "yibao"
RESIDENT_FUND = "catastrophic.funds[fund=hifmi,insutype=390]"
OUTPATIENT_390 = "outpatient.schemes[insutype=390,employee_status=any]"
TILTED_FUND = "catastrophic.funds[fund=hifmi,insutype=390,statuses=dibao+relapse_monitored+tekun]"


def _edit(folder: Path, file: str, old: str, new: str, count: int = 1) -> None:
    text = (folder / file).read_text(encoding="utf-8")
    assert text.count(old) == count, f"{old!r} not found {count} times in {file}"
    (folder / file).write_text(text.replace(old, new), encoding="utf-8")


def _copy_with(tmp_path: Path, file: str, old: str, new: str) -> Path:
    """A copy of the sample tariff folder with one text edit in one file."""
    folder = tmp_path / "sample-county"
    shutil.copytree(SAMPLE, folder)
    _edit(folder, file, old, new)
    return folder


RATIO_15 = ("2025.yaml", "{upto: 1000, ratio: 0.75}", "{upto: 1000, ratio: 1.5}")
LEVEL_1 = "inpatient.schemes[insutype=390,employee_status=any,level=1]"
LEVEL_2 = "inpatient.schemes[insutype=390,employee_status=any,level=2]"
RATIO_15_ERROR = f"{LEVEL_1}.bands[0].ratio = 1.5: ratio 1.5 is outside [0, 1]"

SCHEME_390_1 = ('    - {insutype: "390", level: 1, deductible: 200,  bands: [{upto: 1000, ratio: 0.75}, '
                '{upto: 2000, ratio: 0.80}, {ratio: 0.90}]}\n')
SCHEME_390_2 = '    - {insutype: "390", level: 2, deductible: 500,  bands: [{upto: 1500, ratio: 0.65}, {ratio: 0.83}]}\n'

BAD_COPIES = {
    "ratio above one": (RATIO_15, "2025.yaml: " + RATIO_15_ERROR),
    "bands not ascending": (
        ("2025.yaml", "[{upto: 1000, ratio: 0.75}, {upto: 2000, ratio: 0.80}",
         "[{upto: 2000, ratio: 0.75}, {upto: 1000, ratio: 0.80}"),
        f"2025.yaml: {LEVEL_1}.bands: band bounds ['2000', '1000'] are not ascending"),
    "negative deductible": (
        ("2025.yaml", "level: 2, deductible: 500,", "level: 2, deductible: -500,"),
        f"2025.yaml: {LEVEL_2}.deductible = -500: amount -500 is negative"),
    # named as `tariffs show`, `--set` and the trace name it, wherever it stands: by position it
    # was inpatient.schemes[1] above and inpatient.schemes[0] here, found by counting entries
    "negative deductible, its entry moved first": (
        ("2025.yaml", f"{SCHEME_390_1}{SCHEME_390_2}", SCHEME_390_2.replace(" 500,", " -500,") + SCHEME_390_1),
        f"2025.yaml: {LEVEL_2}.deductible = -500: amount -500 is negative"),
    "overlapping periods": (
        ("2024.yaml", "effective_to: 2024-12-31", "effective_to: 2025-03-31"),
        "2025.yaml: effective_from = '2025-01-01': overlaps version 2024 (2024-01-01 to 2025-03-31)"),
    "undefined material code": (
        ("2025.yaml", '"11": [id_document, invoice, fee_list, prescription]',
         '"11": [id_document, invoice, fee_list, receipt]'),
        "2025.yaml: material codes not defined in materials.names: materials.manual_claim.11: receipt"),
    "disease listed twice": (
        ("2025.yaml", "{code: I25, name: 冠心病", "{code: I10, name: 冠心病"),
        "2025.yaml: chronic: chronic disease defined twice: ['I10']"),
    "bad catalogue level": (
        ("catalogue.csv", "S-CT,CT平扫,service,02,", "S-CT,CT平扫,service,04,"),
        "catalogue.csv, row 11, column level: '04': must be one of ['01', '02', '03']"),
    "bad catalogue price": (
        ("catalogue.csv", "S-CT,CT平扫,service,02,0.08,150.00,", "S-CT,CT平扫,service,02,0.08,15O.00,"),  # letter O
        "catalogue.csv, row 11, column price_cap: '15O.00': not a number"),
    "a key given twice": (  # YAML kept the last: the county hospital's deductible was 50
        ("2025.yaml", "level: 2, deductible: 500,", "level: 2, deductible: 500, deductible: 50,"),
        "2025.yaml: cannot read tariff: key 'deductible' is given twice (line 30, column 52): keep one of them"),
    "a code listed for two overlapping periods": (  # one day in both: the first row in the file priced it
        ("catalogue.csv", "S-CT,CT平扫,service,02,0.08,150.00,,,,,,,,,\n",
         "S-CT,CT平扫,service,02,0.08,150.00,,,,,,,,,2025-07-01\nS-CT,CT平扫,service,02,0.08,120.00,,,,,,,,2025-07-01,\n"),
        "catalogue.csv, row 12, column valid_from: '2025-07-01': S-CT is listed on row 11 too, always to 2025-07-01: "
        "the periods of one code must not overlap"),
    # An audit edit the tariff lacks still took its amount, and settlement withheld every claim it
    # touched; one it adds or renames was never applied (GX kept no title, no penalty)
    "an audit edit left out": (
        ("2025.yaml", "    - {code: QTY_DAY,    title: 单日数量超过上限, severity: definite, penalty_rate: 0.30}\n", ""),
        "2025.yaml: audit: audit edit QTY_DAY is not listed: yibao applies it, and settlement needs its title and "
        "penalty_rate (the edits are GENDER, AGE, LEVEL, SETTING, INDICATION, QTY_DAY, BED_DAYS, SPLIT_ADMISSION)"),
    "an audit edit renamed": (
        ("2025.yaml", "{code: GENDER,", "{code: GX,"),
        "2025.yaml: audit: audit edit GX is not one yibao applies: the edits are GENDER, AGE, LEVEL, SETTING, "
        "INDICATION, QTY_DAY, BED_DAYS, SPLIT_ADMISSION"),
    "a suspect edit called definite": (
        ("2025.yaml", "疑似分解住院, severity: suspect", "疑似分解住院, severity: definite"),
        "2025.yaml: audit: audit edit SPLIT_ADMISSION: severity definite, but yibao treats it as suspect"),
}


@pytest.mark.parametrize("edit,expected", BAD_COPIES.values(), ids=list(BAD_COPIES))
def test_validation_errors_name_file_field_and_value(tmp_path: Path, edit: tuple[str, str, str],
                                                      expected: str) -> None:
    folder = _copy_with(tmp_path, *edit)
    with pytest.raises(InputError) as info:
        validate_region(folder)
    message = str(info.value)
    assert message == f"{folder}/{expected}"
    assert "\n" not in message


LONG, KEY = "x" * 5000, "k" * 1000  # a key YAML reads unquoted may have 1,024 characters
CUT = f"'{'x' * 80}'… (5,000 characters)"  # `errors.quoted`: its first 80 characters and its length
AMOX = "A-AMOX,阿莫西林胶囊 0.25g,drug,01,,0.60,,,,,,,,,"
# a long value or key in a tariff file or its catalogue, and the line it gave, whole: 5,000
# characters and more, 10,000 where the reason quoted it again
LONG_COPIES = {
    "a value": (("2025.yaml", "deductible_scope: per_admission", f"deductible_scope: {LONG}"),
                f"2025.yaml: inpatient.deductible_scope = {CUT}: Input should be 'per_admission' or 'annual'"),
    "a key": (("2025.yaml", 'annual_cap: {"390": 150000,', f'annual_cap: {{{KEY}: 1, "390": 150000,'),
              f"2025.yaml: inpatient.annual_cap.{'k' * 59}… (1,021 characters) = '{'k' * 80}'… (1,000 characters): "
              "Input should be '310' or '390'"),
    "an unknown key": (("2025.yaml", "{status: priority_care,", f"{{status: priority_care, {KEY}: 1,"),
                       f"2025.yaml: assistance.statuses[status=priority_care].{'k' * 38}… (1,042 characters): "
                       f"unknown key '{'k' * 80}… (1,000 characters)': the keys here are status, deductible, bands, "
                       "stages"),
    "a value a validator quotes": (
        ("2025.yaml", 'review_days: ["01-01",', f'review_days: ["{LONG}",'),
        f"2025.yaml: chronic.review_days: '{'x' * 80}… (5,000 characters)' is not a day of the year (MM-DD)"),
    "a key given twice": (
        ("2025.yaml", "deductible_scope: per_admission", f"deductible_scope: per_admission\n  {KEY}: 1\n  {KEY}: 2"),
        f"2025.yaml: cannot read tariff: key '{'k' * 80}'… (1,000 characters) is given twice (line 22, column 3): "
        "keep one of them"),
    "a YAML tag": (("2025.yaml", "deductible_scope: per_admission", f"deductible_scope: !{LONG} 1"),
                   f"2025.yaml: cannot read tariff: could not determine a constructor for the tag '!{'x' * 78}… "
                   "(5,003 characters)"),
    "a catalogue cell": (("catalogue.csv", AMOX, AMOX.replace(",0.60,", f",{LONG},")),
                         f"catalogue.csv, row 2, column price_cap: {CUT}: not a number"),
    "a catalogue cell its reason repeats": (
        ("catalogue.csv", AMOX, AMOX.replace(",0.60,", f",0.{'1' * 4998},")),
        f"catalogue.csv, row 2, column price_cap: '0.{'1' * 78}'… (5,000 characters): 0.{'1' * 78}… (5,000 "
        "characters) yuan has more than two decimals"),
    "indications": (("catalogue.csv", AMOX, AMOX[:-2] + f"K70;{LONG}-K,,"),
                    f"catalogue.csv, row 2, column indications: 'K70;{'x' * 76}'… (5,006 characters): the range "
                    f"{'x' * 80}… (5,002 characters) ends before it starts"),
    "a code": (("catalogue.csv", AMOX, AMOX.replace("A-AMOX,", f"{LONG},").replace(",01,,", ",01,0.1,")),
               f"catalogue.csv, row 2, column selfpay_prop: '0.1': {'x' * 80}… (5,000 characters): selfpay_prop is "
               "read only for items of level 02, and this item is 甲类 (01), in policy whole: make its level 02, or "
               "empty the cell"),
}


@pytest.mark.parametrize("edit,expected", LONG_COPIES.values(), ids=list(LONG_COPIES))
def test_a_long_value_or_key_in_a_tariff_file_is_quoted_cut(tmp_path: Path, edit: tuple[str, str, str],
                                                            expected: str) -> None:
    """Each is cut as every long value a message quotes (`errors.quoted`), in the reason pydantic,
    a validator, YAML or int worded too."""
    test_validation_errors_name_file_field_and_value(tmp_path, edit, expected)


def test_a_version_corrected_in_place_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A settlement job scores month after month in one process: a version file or a catalogue
    corrected in place meanwhile must give the amounts a fresh process gives. `load_version`
    kept its first reading of each version for the life of the process (deductible 500 and the
    old price cap, where a fresh process read 900 and the new cap)."""
    folder = tmp_path / "sample-county"
    shutil.copytree(SAMPLE, folder)
    monkeypatch.setenv("YIBAO_TARIFF_PATH", str(tmp_path))
    case = make_case(lines=[line("S-DIAL", 420.0, 10)])  # resident, level 2 inpatient: deductible 500
    before = decide(case, tariff="sample-county")
    _edit(folder, "2025.yaml", "level: 2, deductible: 500,", "level: 2, deductible: 900,")
    _edit(folder, "catalogue.csv", "S-DIAL,血液透析,service,01,,420.00,", "S-DIAL,血液透析,service,01,,400.00,")
    after = decide(case, tariff="sample-county")
    assert (before["act_pay_dedc"], after["act_pay_dedc"]) == (500, 900)
    assert (before["overlmt_selfpay"], after["overlmt_selfpay"]) == (0, 200)


def test_bundled_tariff_validates() -> None:
    assert [lt.tariff.version for lt in validate_region(SAMPLE)] == ["2024", "2025"]


def test_in_force_picks_the_version_by_date() -> None:
    assert in_force("sample-county", dt.date(2024, 6, 1)).tariff.version == "2024"
    assert in_force("sample-county", dt.date(2024, 12, 31)).tariff.version == "2024"
    assert in_force("sample-county", dt.date(2025, 1, 1)).tariff.version == "2025"
    assert in_force("sample-county", dt.date(2025, 6, 1)).tariff.version == "2025"
    with pytest.raises(InputError, match="'sample-county' has no version in force on 2023-06-01"):
        in_force("sample-county", dt.date(2023, 6, 1))


# -- diff ------------------------------------------------------------------------------------------

def test_diff_2024_to_2025_lists_exactly_the_marked_parameters() -> None:
    old, new = load_version("sample-county", "2024").tariff, load_version("sample-county", "2025").tariff
    changes = diff_tariffs(old, new)
    assert [tuple(c) for c in changes if not c.metadata] == [
        (f"{RESIDENT_FUND}.threshold", Decimal(12000), Decimal(11000)),
        (f"{TILTED_FUND}.threshold", Decimal(6000), Decimal(5500)),
        (OUTPATIENT_390 + ".annual_cap", Decimal(240), Decimal(300)),
    ]
    metadata = [c.path for c in changes if c.metadata]
    assert metadata == ["version", "title", "effective_from", "effective_to"]
    assert diff_tariffs(new, new) == []


def _edited(tariff: Tariff, edit) -> Tariff:  # type: ignore[no-untyped-def]
    data = tariff.model_dump(mode="python")
    edit(data)
    return Tariff.model_validate(data)


def test_diff_matches_list_items_by_key_not_position() -> None:
    base = load_version("sample-county", "2025").tariff

    def reorder(d: dict) -> None:  # type: ignore[type-arg]
        for items in (d["inpatient"]["schemes"], d["catastrophic"]["funds"], d["outpatient"]["schemes"],
                      d["chronic"]["diseases"], d["chronic"]["ratios"], d["audit"]["edits"]):
            items.reverse()
        d["materials"]["manual_claim"]["21"].reverse()

    assert diff_tariffs(base, _edited(base, reorder)) == []


def test_diff_reports_precedence_bands_and_added_items() -> None:
    base = load_version("sample-county", "2025").tariff

    def edit(d: dict) -> None:  # type: ignore[type-arg]
        statuses = d["assistance"]["statuses"]
        statuses[0], statuses[1] = statuses[1], statuses[0]  # dibao before tekun
        d["inpatient"]["schemes"][1]["bands"][0]["upto"] = Decimal(1800)  # resident level 2
        d["chronic"]["diseases"].append({"code": "G20", "name": "帕金森病", "group": "ordinary",
                                         "annual_cap": Decimal(3000)})

    changes = {c.path: (c.old, c.new) for c in diff_tariffs(base, _edited(base, edit))}
    rest = ("relapse_monitored", "low_income", "priority_care")
    assert changes == {
        "inpatient.schemes[insutype=390,employee_status=any,level=2].bands[0].upto":
            (Decimal(1500), Decimal(1800)),
        "assistance.statuses(order)": (("tekun", "dibao", *rest), ("dibao", "tekun", *rest)),
        "chronic.diseases[code=G20].name": (ABSENT, "帕金森病"),
        "chronic.diseases[code=G20].group": (ABSENT, "ordinary"),
        "chronic.diseases[code=G20].annual_cap": (ABSENT, Decimal(3000)),
        "chronic.diseases[code=G20].evidence": (ABSENT, "standard"),
    }


# -- the catalogue ---------------------------------------------------------------------------------

def _catalogue_rows() -> list[dict[str, str]]:
    with (SAMPLE / "catalogue.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_catalogue_is_large_and_consistently_coded() -> None:
    rows = _catalogue_rows()
    assert len(rows) >= 150
    prefix_of_drug_level = {"01": "A-", "02": "B-", "03": "C-"}
    for r in rows:
        if r["kind"] == "drug":
            assert r["code"].startswith(prefix_of_drug_level[r["level"]]), r["code"]
        elif r["kind"] in ("service", "bed"):
            assert r["code"].startswith("S-"), r["code"]
        else:  # materials: M-, except the two the worked examples name
            assert r["code"].startswith("M-") or r["code"] in ("B-STENT", "C-LENS"), r["code"]
    beds = [r for r in rows if r["kind"] == "bed"]
    assert len({r["min_level"] for r in beds}) >= 3  # beds for several institution levels
    assert {r["gender"] for r in rows} == {"", "F", "M"}


# -- the commands ----------------------------------------------------------------------------------

def _yibao(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(YIBAO), *args], capture_output=True, text=True, timeout=120)


def test_validate_command_on_the_bundled_folder() -> None:
    done = _yibao("tariffs", "validate", str(SAMPLE))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"OK {SAMPLE / '2024.yaml'}: sample-county@2024, "
                               "2024-01-01 to 2024-12-31")
    assert lines[1].startswith(f"OK {SAMPLE / '2025.yaml'}: sample-county@2025, 2025-01-01 to open")


def test_validate_command_refuses_a_ratio_of_one_and_a_half(tmp_path: Path) -> None:
    folder = _copy_with(tmp_path, *RATIO_15)
    done = _yibao("tariffs", "validate", str(folder))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [f"error: {folder}/2025.yaml: {RATIO_15_ERROR}"]


runner = CliRunner()
WIDE = {"COLUMNS": "250"}  # rich tables fit in one line per row


def test_show_prints_money_in_yuan_ratios_as_percent_and_catalogue_size() -> None:
    result = runner.invoke(tariffs_app, ["show", "sample-county", "--version", "2024"], env=WIDE)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "sample-county@2024" in out
    assert "12,000 yuan" in out  # resident catastrophic threshold in 2024
    assert "0.75 (75%)" in out  # resident level-1 first band
    assert f"catalogue catalogue.csv: {len(_catalogue_rows())} items" in out
    same = runner.invoke(tariffs_app, ["show", "sample-county@2024"], env=WIDE)
    assert same.output == out


def test_diff_command_lists_the_three_changes() -> None:
    result = runner.invoke(tariffs_app, ["diff", "sample-county", "--from", "2024", "--to", "2025"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "parameters (3 changed)" in result.output
    for path, old, new in ((f"{RESIDENT_FUND}.threshold", "12,000 yuan", "11,000 yuan"),
                           (f"{TILTED_FUND}.threshold", "6,000 yuan", "5,500 yuan"),
                           (OUTPATIENT_390 + ".annual_cap", "240 yuan", "300 yuan")):
        row = next(line for line in result.output.splitlines() if path in line)
        assert row.split()[1:] == [*old.split(), *new.split()]


def test_list_includes_user_tariffs_on_the_search_path(tmp_path: Path) -> None:
    mine = tmp_path / "my-county"
    shutil.copytree(SAMPLE, mine)
    for version in ("2024", "2025"):
        _edit(mine, f"{version}.yaml", "sample-county", "my-county", count=3)  # comment, id, region
    result = runner.invoke(tariffs_app, ["list"], env={"YIBAO_TARIFF_PATH": str(tmp_path), **WIDE})
    assert result.exit_code == 0, result.output
    listed = {tuple(line.split()[:2]) for line in result.output.splitlines() if line.strip()}
    assert {("my-county", "2024"), ("my-county", "2025"), ("sample-county", "2024"),
            ("sample-county", "2025")} <= listed


def test_an_amount_beyond_any_tariff_is_refused_with_its_path() -> None:
    """A typo of 1e30 yuan would overflow the fen arithmetic: refused like any invalid edit."""
    from yibao.tariffs.edit import apply_edits
    from yibao.tariffs.registry import resolve

    with pytest.raises(InputError, match=r"chronic\.deductible.*above 1,000,000,000 yuan"):
        apply_edits(resolve("sample-county@2025"), ["chronic.deductible=1e30"])


@pytest.mark.parametrize("edit, message", [
    # values YAML cannot read were tracebacks of PyYAML
    ("chronic.deductible={", r"--set chronic\.deductible: the value is not YAML \(expected the node content"),
    ("chronic.deductible='abc", "the value is not YAML"),
    ("chronic.deductible=\t1", "the value is not YAML"),
    ("chronic.deductible=!!python/object/apply:os.system ['true']", "could not determine a constructor"),
    ("chronic.deductible=2025-02-30", r"--set chronic\.deductible: the value is not YAML \(day is out of range"),
    ("chronic.deductible=" + "[" * 3000 + "]" * 3000, "the value is not YAML"),
    # a superscript is a digit to str.isdigit, and no number to int()
    ("inpatient.schemes[²].deductible=1", r"\[²\] is neither a position .* nor field=value pairs"),
    ("inpatient.²=1", r"no parameter 'inpatient\.²'"),
    # empty names were read past: `.=5` changed nothing, `a..b` edited a.b
    (".=5", r"--set \.: a path is names joined by single dots"),
    ("inpatient..annual_cap=5", "a path is names joined by single dots"),
    ("chronic.deductible.=5", "a path is names joined by single dots"),
    ("catalogue[code=S-NURSE1].price_cap=1e30", "price_cap: '1e30': above 1,000,000,000 yuan"),
    ("catalogue[code=S-NURSE1].age_from=99999999999999999999", "age_from: '99999999999999999999': above 1,000,000,000"),
    # the id was renamed ("foo@2025+edited" in the claims and the trace); the version was overwritten
    ("id=foo", "--set id: id says which tariff this is, not how it pays"),
    ("version=1999", "--set version: version says which tariff this is, not how it pays"),
    # counts were unbounded: 10^13 days overflowed to a negative allowance, a divisor of 0 was
    # read as 1 (30 times the allowance), a filing window of -1 day rejected every manual claim
    ("maternity.allowance.delivery_days=10000000000000", "delivery_days = 10000000000000: .* less than or equal to 10000"),
    ("maternity.allowance.divisor_days=0", "divisor_days = 0: .* greater than or equal to 1"),
    ("deadlines.manual_filing_window_days=-1", "manual_filing_window_days = -1: .* greater than or equal to 0"),
    ("maternity.min_contribution_months=-1", "greater than or equal to 0"),
    ("inpatient.child_age_below=0", "greater than or equal to 1"),
    # a date as written, not as Python's datetime.date(2020, 1, 1)
    ("chronic.deductible=2020-01-01", r"--set: chronic\.deductible = '2020-01-01': Decimal input should be"),
    # a key given twice in the value: the last was kept, a grant of 2000
    ("maternity.grant={amount: 1000, amount: 2000}", r"the value is not YAML \(key 'amount' is given twice"),
    # named as --set names the entry (it said inpatient.schemes.2.deductible, which --set refuses)
    ("inpatient.schemes[2].deductible=-100", r"--set: inpatient\.schemes\[2\]\.deductible = -100: amount -100 is negative"),
    # an item picked by a selector named by it, as typed: it said inpatient.schemes[4], a position
    # the user never saw
    ("inpatient.schemes[insutype=390, level=2].deductible=-5",
     r"--set: inpatient\.schemes\[insutype=390, level=2\]\.deductible = -5: amount -5 is negative"),
    ("inpatient.schemes[insutype=390,level=2].bands=[{ratio: 2}]",
     r"--set: inpatient\.schemes\[insutype=390,level=2\]\.bands\[0\]\.ratio = 2: ratio 2 is outside"),
    ("assistance.statuses[status=dibao].deductible=-1",
     r"--set: assistance\.statuses\[status=dibao\]\.deductible = -1: amount -1 is negative"),
])
def test_an_edit_that_cannot_be_read_is_refused_with_its_path(edit: str, message: str) -> None:
    from yibao.tariffs.edit import apply_edits
    from yibao.tariffs.registry import resolve

    with pytest.raises(InputError, match=message):
        apply_edits(resolve("sample-county@2025"), [edit])


CT_PERIODS = ("catalogue.csv", "S-CT,CT平扫,service,02,0.08,150.00,,,,,,,,,\n",
              "S-CT,CT平扫,service,02,0.08,150.00,,,,,,,,,2025-06-30\n"
              "S-CT,CT平扫,service,02,0.08,120.00,,,,,,,,2025-07-01,\n")
"""S-CT listed for two periods: to 30 June at 150.00, from 1 July at 120.00."""
OVERLAP = ("S-CT is listed as catalogue[code=S-CT,valid_from=] too, always to 2025-08-01: the periods of one code "
           "must not overlap")


@pytest.mark.parametrize("edits,message", [
    (["catalogue[code=A-AMOX].price_cap=six"], "--set catalogue[code=A-AMOX].price_cap: 'six': not a number"),
    (["catalogue[ code=A-AMOX ].level=04"],
     "--set catalogue[ code=A-AMOX ].level: '04': must be one of ['01', '02', '03']"),
    (["catalogue[code=A-AMOX].valid_from=2025-06"],
     "--set catalogue[code=A-AMOX].valid_from: '2025-06': not a date: write YYYY-MM-DD"),
    (["catalogue[code=A-AMOX].gender=X"], "--set catalogue[code=A-AMOX].gender: 'X': must be one of ['', 'F', 'M']"),
    (["catalogue[code=A-AMOX].age_from=-1"], "--set catalogue[code=A-AMOX].age_from: '-1': must not be negative"),
    (["catalogue[code=A-AMOX].indications=K70-K60"],
     "--set catalogue[code=A-AMOX].indications: 'K70-K60': the range K70-K60 ends before it starts"),
    (["catalogue[code=B-CEFU].person_share=0.1"], "--set catalogue[code=B-CEFU].person_share: '0.1': give selfpay_prop "
                                                  "or person_share, not both: the person share replaces the pre-self-pay"),
    # the other period's row, which no edit picked, by the selector `tariffs show --catalogue` prints
    (["catalogue[code=S-CT,valid_from=].valid_to=2025-08-01"],
     f"--set catalogue[code=S-CT,valid_from=2025-07-01].valid_from: '2025-07-01': {OVERLAP}"),
    # an edited row's other column by its item as the edit typed it
    (["catalogue[code=S-CT,valid_from=].valid_to=2025-08-01",
      "catalogue[code=S-CT, valid_from=2025-07-01].price_cap=99"],
     f"--set catalogue[code=S-CT, valid_from=2025-07-01].valid_from: '2025-07-01': {OVERLAP}"),
    (["catalogue[code=S-CT,valid_from=2025-07-01].valid_from="],
     "--set catalogue[code=S-CT,valid_from=2025-07-01].code: 'S-CT': defined twice"),
])
def test_an_edited_catalogue_cell_is_named_as_the_edit_typed_it(tmp_path: Path, edits: list[str],
                                                                 message: str) -> None:
    """`--set catalogue[code=A-AMOX].price_cap=six` was refused as `--set: …/catalogue.csv, row 2,
    column price_cap: 'six': not a number`, a row of a file the user never edited (other --set
    errors name the entry as the edit typed it, f10a306); and an item another row clashed with
    as `on row 11`."""
    from yibao.tariffs.edit import apply_edits
    from yibao.tariffs.registry import load_file

    lt = load_file(_copy_with(tmp_path, *CT_PERIODS) / "2025.yaml")
    with pytest.raises(InputError) as info:
        apply_edits(lt, edits)
    assert str(info.value) == message


def test_a_selector_reads_past_spaces() -> None:
    """`[insutype=390, level=2]`, as one types a list, matched 0 items: the field ' level'."""
    from yibao.tariffs.edit import apply_edits
    from yibao.tariffs.registry import resolve

    edited = apply_edits(resolve("sample-county@2025"), ["inpatient.schemes[ insutype = 390, level=2 ].deductible=400"])
    scheme = next(s for s in edited.tariff.inpatient.schemes if s.insutype == "390" and s.level == 2)
    assert scheme.deductible == 400
