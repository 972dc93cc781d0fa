"""`yibao whatif --set … --compare`: the difference of the baseline and the edited case, field by
field, as an examiner reads it; and the paths `--set` refuses, as no edit of them changes a case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import run_cli
from yibao.cli.app import app
from yibao.tariffs.diff import METADATA

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


# Paths `--set` took without effect: the version is chosen before it is edited (by the case's date,
# or --tariff), the catalogue file is read with it, and an item is found by its code
UNCHANGED = {
    "region=elsewhere": "--set region: region says which tariff this is, not how it pays: choose the tariff "
                        "with --tariff ID@VERSION (simulate: --reform)",
    "title=x": "--set title: title is text about the tariff, not how it pays",
    "effective_from=2025-06-01": "--set effective_from: effective_from says when the version is in force, not how "
                                 "it pays",
    "effective_to=2025-05-01": "--set effective_to: effective_to says when the version is in force, not how it pays",
    "catalogue=other.csv": "--set catalogue: catalogue names the catalogue file, not how it pays: edit its items",
    "catalogue[code=B-CEFU].code=B-XXX": "--set catalogue[code=B-CEFU].code: code says which item this is, "
                                         "not how it pays",
    # no score, trace, reason or report shows an item's name: only `tariffs show` and diffs, as a title
    "catalogue[code=B-CEFU].name=头孢": "--set catalogue[code=B-CEFU].name: name is text about the item, not how "
                                      "it pays",
    # the edit kept applying as GENDER, its reason lost its title and settlement its penalty rate
    "audit.edits[code=GENDER].code=GX": "--set: audit: audit edit GX is not one yibao applies",
}


@pytest.mark.parametrize("edit", UNCHANGED)
def test_an_edit_of_what_names_or_chooses_the_tariff_is_refused(edit: str, capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Each was taken and the what-if showed the baseline's numbers, read as "the change does not
    matter" (a code edit showed the item dropped from the catalogue instead)."""
    code, err = run_cli(["whatif", E1, "--set", edit], capsys, monkeypatch)
    assert code == 2 and err.startswith(f"error: {UNCHANGED[edit]}") and err.count("\n") == 1, err


def test_a_catalogue_cell_an_edit_gets_wrong_is_named_as_typed(capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """It named the bundled catalogue file's row 2, which the user never edited."""
    code, err = run_cli(["whatif", E1, "--set", "catalogue[code=A-AMOX].price_cap=six"], capsys, monkeypatch)
    assert (code, err) == (2, "error: --set catalogue[code=A-AMOX].price_cap: 'six': not a number\n")


def test_every_metadata_field_is_refused_with_its_reason() -> None:
    """The fields `tariffs diff` lists apart from the parameters are the ones `--set` refuses."""
    from yibao.tariffs.edit import NOT_TERMS

    assert set(NOT_TERMS) == METADATA


def test_a_simulated_period_no_longer_drops_the_claims_outside_it(synth_folder: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """`simulate --set effective_to=2025-03-31` scored the later claims on the baseline side only
    and counted them as changed: a saving of the funds that no term of the tariff made."""
    code, err = run_cli(["simulate", str(synth_folder), "--out", str(tmp_path / "sim"), "--set",
                         "effective_to=2025-03-31"], capsys, monkeypatch)
    assert code == 2 and err.startswith("error: --set effective_to: effective_to says when") and err.count("\n") == 1
    assert not (tmp_path / "sim").exists()


@pytest.mark.parametrize("edit, field, baseline, edited", [
    ("catalogue[code=S-CT].price_cap=100", "overlmt_selfpay", 0.0, 50.0),
    # an item's own period is a parameter of the catalogue, unlike the version's
    ("catalogue[code=B-CEFU].valid_to=2025-05-01", "fulamt_ownpay_amt", 2600.0, 2780.0),
    # made 丙类, the item keeps its share and cap in the edited catalogue, no longer read: a file
    # holding them is refused (`tariffs validate`), the edit of the level is what was asked
    ("catalogue[code=B-CEFU].level=03", "fulamt_ownpay_amt", 2600.0, 2780.0),
])
def test_an_edit_of_how_it_pays_still_changes_the_case(edit: str, field: str, baseline: float, edited: float) -> None:
    run = CliRunner().invoke(app, ["whatif", E1, "--set", edit, "--compare", "--json"])
    assert run.exit_code == 0, run.output
    diff = json.loads(run.output)["difference"][field]
    assert (diff["baseline"], diff["edited"]) == (baseline, edited)


# Edits of what the edited tariff does not read, taken without a word: the what-if showed the
# baseline's numbers, and a policy officer read "no change" as the reform's effect
UNREAD = {
    "catalogue[code=A-AMOX].selfpay_prop=1": "--set catalogue[code=A-AMOX].selfpay_prop: selfpay_prop is read only "
                                             "for items of level 02, and this item is 甲类 (01), in policy whole: "
                                             "set catalogue[code=A-AMOX].level=02 too",
    "catalogue[code=C-LENS].price_cap=100": "--set catalogue[code=C-LENS].price_cap: price_cap is read only for "
                                            "items of level 01 or 02, and this item is 丙类 (03), self-paid whole: "
                                            "set catalogue[code=C-LENS].level=01 too (or =02)",
    "catalogue[code=C-LENS].max_per_day=1": "--set catalogue[code=C-LENS].max_per_day: max_per_day is read only",
    "inpatient.deductible_scope=annual;inpatient.repeat_admission_factor=0.3":
        "--set inpatient.repeat_admission_factor: not read while inpatient.deductible_scope is annual",
    "inpatient.child_age_below=null;inpatient.child_deductible_factor=0.3":
        "--set inpatient.child_deductible_factor: not read while inpatient.child_age_below is null",
    "inpatient.out_of_area_cut.unreferred_refused=true;inpatient.out_of_area_cut.unreferred=0.3":
        "--set inpatient.out_of_area_cut.unreferred: not read while inpatient.out_of_area_cut.unreferred_refused "
        "is true",
}


@pytest.mark.parametrize("edits", UNREAD)
def test_an_edit_the_tariff_does_not_read_is_refused(edits: str) -> None:
    from yibao.errors import InputError
    from yibao.tariffs.edit import apply_edits
    from yibao.tariffs.registry import resolve

    with pytest.raises(InputError) as exc:
        apply_edits(resolve("sample-county@2025"), edits.split(";"))
    assert str(exc.value).startswith(UNREAD[edits]), exc.value


@pytest.mark.parametrize("edits", [
    ["catalogue[code=A-AMOX].level=02", "catalogue[code=A-AMOX].selfpay_prop=1"],
    ["catalogue[code=A-AMOX].selfpay_prop=1", "catalogue[code=A-AMOX].level=02"],  # in either order
])
def test_an_edit_made_read_by_another_still_changes_the_case(edits: list[str]) -> None:
    """A-AMOX made 乙类 with all of it pre-self-paid: its 55.00 (100 × 0.55) leaves the policy
    amount, of which the fund paid 65 %: the person pays 55 × 0.65 = 35.75 more."""
    run = CliRunner().invoke(app, ["whatif", E1, *(a for e in edits for a in ("--set", e)), "--compare", "--json"])
    assert run.exit_code == 0, run.output
    assert json.loads(run.output)["difference"]["psn_part_amt"]["change"] == 35.75


def test_a_case_without_lines_is_refused_as_score_sets_it_aside(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """An inpatient case with no line was approved, its deductible step 0 and an admission counted."""
    case = json.loads(Path(E1).read_text(encoding="utf-8")) | {"lines": []}
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case), encoding="utf-8")
    code, err = run_cli(["whatif", str(path)], capsys, monkeypatch)
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"error: {path}: claim.mdtrt_id: no line in lines names this claim: a claim is paid on its "
                          "fee lines (费用明细)"), err


def test_a_case_no_version_is_in_force_on_names_its_date_and_the_versions(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """"no tariff version in force on the case's date" named neither the date nor the periods."""
    from conftest import cases_batch
    from yibao.pipeline import score_batch

    case = json.loads(Path(E1).read_text(encoding="utf-8"))
    case["claim"] |= {"admit_date": "1990-05-06", "discharge_date": "1990-05-12", "submitted_date": "1990-05-12"}
    for ln in case["lines"]:
        ln["service_date"] = "1990-05-07"
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case), encoding="utf-8")
    code, err = run_cli(["whatif", str(path)], capsys, monkeypatch)
    said = "in force on the {}'s date, 1990-05-12 (its versions: 2024-01-01 to 2024-12-31, 2025-01-01 to open)"
    assert code == 2 and err == f"error: {path}: no version of sample-county {said.format('case')}\n", err
    rejects = score_batch(cases_batch([case])).rejects
    assert set(rejects["reason"]) == {f"no version of sample-county {said.format('claim')}",
                                      "its claim was not scored: no version of sample-county " + said.format("claim")}


LONG = "x" * 5000
CUT = f"'{'x' * 80}'… (5,000 characters)"  # `errors.quoted`: its first 80 characters and its length
# a long value, key or selector typed in an edit, and each line it gave, whole: 5,000 characters
# and more, 10,000 where the reason repeated the value or the path
LONG_EDITS = {
    f"catalogue[code=A-AMOX].price_cap={LONG}": f"--set catalogue[code=A-AMOX].price_cap: {CUT}: not a number",
    f"catalogue[code=A-AMOX].indications=K70-{LONG}-K":
        f"--set catalogue[code=A-AMOX].indications: 'K70-{'x' * 76}'… (5,006 characters): 'K70-{'x' * 76}'… "
        "(5,006 characters) is neither a code nor a range LOW-HIGH (K70, C00-C97)",
    # int's own reason repeated 200 characters of it
    f"catalogue[code=A-AMOX].age_from={LONG}": f"--set catalogue[code=A-AMOX].age_from: {CUT}: not a whole number",
    f"inpatient.annual_cap.390={LONG}": f"--set: inpatient.annual_cap.390 = {CUT}: Input should be a valid decimal",
    f"inpatient.deductible_scope={LONG}":
        f"--set: inpatient.deductible_scope = {CUT}: Input should be 'per_admission' or 'annual'",
    # a validator's reason quoting the value
    f"chronic.review_days=[{LONG}]":
        f"--set: chronic.review_days: '{'x' * 80}… (5,000 characters)' is not a day of the year (MM-DD)",
    f"inpatient.annual_cap.390=!{LONG} 1": "--set inpatient.annual_cap.390: the value is not YAML (could not determine "
                                           f"a constructor for the tag '!{'x' * 78}… (5,003 characters))",
    f"inpatient.{LONG}=1": f"--set inpatient.{'x' * 70}… (5,010 characters): no parameter 'inpatient.{'x' * 70}… "
                           "(5,010 characters)'",
    f"inpatient.schemes[insutype={LONG}].deductible=1":
        f"--set inpatient.schemes[insutype={'x' * 53}… (5,039 characters): [insutype={'x' * 71}… "
        "(5,009 characters)] matches 0 items, not one",
    f"catalogue[code={LONG}].price_cap=1":
        f"--set catalogue[code={'x' * 65}… (5,026 characters): [code={'x' * 75}… (5,005 characters)] matches 0 "
        "items, not one",
    f"inpatient.annual_cap={{{'k' * 1000}: 1}}":
        f"--set: inpatient.annual_cap.{'k' * 59}… (1,021 characters) = '{'k' * 80}'… (1,000 characters): "
        "Input should be '310' or '390'",
    LONG: f"--set {'x' * 80}… (5,000 characters): expected PATH=VALUE",
}


@pytest.mark.parametrize("edit", LONG_EDITS, ids=range(len(LONG_EDITS)))
def test_a_long_value_key_or_selector_an_edit_gives_is_quoted_cut(edit: str, capsys: pytest.CaptureFixture[str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """`--set 'catalogue[code=A-AMOX].price_cap=<5,000 x>'` printed a line of 5,064 characters,
    the indications 10,122: now each is cut as every long value a message quotes (`errors.quoted`)."""
    code, err = run_cli(["whatif", E1, "--set", edit], capsys, monkeypatch)
    assert (code, err) == (2, f"error: {LONG_EDITS[edit]}\n")
    assert len(err) < 400


def test_simulate_quotes_a_long_edit_cut(synth_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """`simulate --set` edits each version in force as `whatif` does, and says which."""
    edit = f"catalogue[code=A-AMOX].price_cap={LONG}"
    code, err = run_cli(["simulate", str(synth_folder), "--out", str(tmp_path / "o"), "--set", edit], capsys,
                        monkeypatch)
    assert code == 2 and err.startswith(f"error: {LONG_EDITS[edit]} (in version sample-county@20"), err
    assert err.count("\n") == 1 and len(err) < 400


DIGITS = "1" * 5000


@pytest.mark.parametrize("edit, expected", [
    (f"inpatient.schemes[{DIGITS}].deductible=1",
     f"--set inpatient.schemes[{'1' * 62}… (5,030 characters): index {'1' * 80}… (5,000 characters) is outside the "
     "list of 12"),
    (f"inpatient.schemes[-{DIGITS}].deductible=1",
     f"--set inpatient.schemes[-{'1' * 61}… (5,031 characters): index -{'1' * 79}… (5,001 characters) is outside the "
     "list of 12"),
    (f"inpatient.annual_cap.{DIGITS}=1",
     f"--set inpatient.annual_cap.{'1' * 59}… (5,021 characters): no parameter 'inpatient.annual_cap.{'1' * 59}… "
     "(5,021 characters)'"),
])
def test_a_position_or_key_of_thousands_of_digits_is_refused_in_one_line(
        edit: str, expected: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Read as a number, more digits than Python converts (4,300) ended in a traceback
    (ValueError: Exceeds the limit (4300 digits) for integer string conversion)."""
    code, err = run_cli(["whatif", E1, "--set", edit], capsys, monkeypatch)
    assert (code, err) == (2, f"error: {expected}\n")
