"""Resident categories (issue 16 part 1): students and infants, the elderly and other adults get
their own deductibles, ratios and caps. Hand-computed claims under a test tariff (the bundled
sample with categories added), the default unchanged, validation, and every path the trace,
`tariffs show` and `tariffs diff` print accepted by `--set`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import cases_batch, decide, fen, line, make_case, run_cli, score_cases
from test_trace import check_sums
from test_tariff_diff import _cell, _changes, _printed_paths, _value
from yibao.cases import case_batch, parse_case
from yibao.cli.tariffs import app as tariffs_app
from yibao.pipeline import score_batch
from yibao.tariffs.diff import ABSENT
from yibao.tariffs.edit import apply_edits
from yibao.tariffs.registry import BUNDLED, LoadedTariff, tariff_spec

CAT = "cat-county"
INPATIENT_2 = '    - {insutype: "390", level: 2, deductible: 500,  bands: [{upto: 1500, ratio: 0.65}, {ratio: 0.83}]}\n'
CATEGORIES = """resident_categories:
  - {name: student, title: 中小学生和婴幼儿, age_below: 18}
  - {name: elderly, title: 老年居民, age_from: 60}

"""
CATEGORY_SCHEMES = """    - {insutype: "390", level: 2, category: student, deductible: 250, bands: [{ratio: 0.90}]}
    - {insutype: "390", level: 2, category: elderly, deductible: 500, bands: [{upto: 1500, ratio: 0.70}, {ratio: 0.88}]}
"""
OUTPATIENT_390 = '    - {insutype: "390", levels: [1], deductible: 0, ratio_by_level: {1: 0.60}, annual_cap: 300}\n'
OUTPATIENT_ELDERLY = ('    - {insutype: "390", category: elderly, levels: [1, 2], deductible: 0, '
                      'ratio_by_level: {1: 0.70, 2: 0.55}, annual_cap: 400}\n')
CHRONIC_390 = "    - {insutype: \"390\", group: ordinary, ratio: 0.65}\n"
CHRONIC_ELDERLY = "    - {insutype: \"390\", group: ordinary, category: elderly, ratio: 0.70}\n"
CAP = 'annual_cap: {"390": 150000, "310": 60000}\n'


def category_yaml(text: str) -> str:
    """The sample 2025 version with two resident categories and their entries added."""
    for old in (INPATIENT_2, OUTPATIENT_390, CHRONIC_390, CAP, "inpatient:  "):
        assert text.count(old) == 1, old
    return (text.replace("inpatient:  ", CATEGORIES + "inpatient:  ")
            .replace(INPATIENT_2, INPATIENT_2 + CATEGORY_SCHEMES)
            .replace(CAP, CAP + "  annual_cap_by_category: {student: 200000}\n")
            .replace(OUTPATIENT_390, OUTPATIENT_390 + OUTPATIENT_ELDERLY)
            .replace(CHRONIC_390, CHRONIC_390 + CHRONIC_ELDERLY))


def write_tariff(root: Path, name: str, edit: Any = category_yaml) -> Path:
    """A tariff folder `name`: the bundled sample's 2025 version (id renamed) with `edit` applied."""
    folder = root / name
    folder.mkdir(parents=True)
    shutil.copy(BUNDLED / "sample-county" / "catalogue.csv", folder)
    text = (BUNDLED / "sample-county" / "2025.yaml").read_text(encoding="utf-8")
    (folder / "2025.yaml").write_text(edit(text.replace("id: sample-county", f"id: {name}")), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def search_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tariffs")
    write_tariff(root, CAT)
    return root


@pytest.fixture(scope="module")
def cat(search_path: Path) -> list[LoadedTariff]:
    spec = tariff_spec(search_path / CAT)
    assert isinstance(spec, list)
    return spec


# Admitted 2025-05-06 to a county hospital (level 2), 4,200 yuan of 甲类 dialysis, all in policy.
DIALYSIS = [line("S-DIAL", 420.0, 10)]
BORN = {"adult": "1970-06-15", "student": "2010-01-10", "infant": "2020-01-10", "elderly": "1960-01-10",
        "college": "2006-01-10"}


def inpatient(who: str, tariff: Any, **person: Any) -> dict[str, Any]:
    return decide(make_case({"birth_date": BORN[who], **person}, lines=DIALYSIS), tariff=tariff)


@pytest.mark.parametrize("who,person,deductible,hifp", [
    # other adults (54): the sample's level-2 scheme, 500 deductible, 65% to 1,500 then 83%:
    # (1,500 − 500) × 0.65 + (4,200 − 1,500) × 0.83 = 650 + 2,241 = 2,891
    ("adult", {}, 500.0, 2891.0),
    # a student by age (15 < 18): deductible 250, one band at 90%: (4,200 − 250) × 0.90 = 3,555
    ("student", {}, 250.0, 3555.0),
    # a college student of 19, named by the persons table (age cannot tell): the same 3,555
    ("college", {"resident_category": "student"}, 250.0, 3555.0),
    # an infant of 5: the student scheme, and the child factor still halves its deductible
    # (child_age_below 14): 250 × 0.5 = 125; (4,200 − 125) × 0.90 = 3,667.50
    ("infant", {}, 125.0, 3667.5),
    # elderly (65): deductible 500, 70% to 1,500 then 88%: 1,000 × 0.70 + 2,700 × 0.88 = 700 + 2,376 = 3,076
    ("elderly", {}, 500.0, 3076.0),
])
def test_inpatient_by_category(cat: list[LoadedTariff], who: str, person: dict[str, Any], deductible: float,
                               hifp: float) -> None:
    d = inpatient(who, cat, **person)
    assert d["decision"] == "approved"
    assert (d["act_pay_dedc"], d["hifp_pay"], d["psn_part_amt"]) == (deductible, hifp, round(4200.0 - hifp, 2))
    assert ("RES-001" in d["rules_fired"]) == (who != "adult")
    assert d["resident_category"] == {"adult": "", "elderly": "elderly"}.get(who, "student")


def test_adult_is_paid_as_under_the_sample(cat: list[LoadedTariff]) -> None:
    """Without a category a resident is paid by the "any" entries: as the sample tariff pays."""
    assert inpatient("adult", cat)["hifp_pay"] == inpatient("adult", None)["hifp_pay"] == 2891.0


def test_category_annual_cap(cat: list[LoadedTariff]) -> None:
    """148,000 already paid this year. The student cap is 200,000: the 3,555 is paid in full; the
    other residents' cap of 150,000 leaves the adult 2,000 of the 2,891."""
    acc = {"hifp_paid": 148000.0}
    student = decide(make_case({"birth_date": BORN["student"]}, lines=DIALYSIS, accumulators=acc), tariff=cat)
    adult = decide(make_case({"birth_date": BORN["adult"]}, lines=DIALYSIS, accumulators=acc), tariff=cat)
    assert (student["hifp_pay"], adult["hifp_pay"]) == (3555.0, 2000.0)
    assert any(r["code"] == "CAP_REACHED" for r in adult["reasons"])


AMOXICILLIN = [line("A-AMOX", 0.60, 100)]  # 60 yuan of 甲类 drug, all in policy


def outpatient(who: str, level: int, tariff: Any) -> dict[str, Any]:
    claim = {"med_type": "11", "institution": {"id": "H1", "level": level}, "admit_date": "2025-05-06",
             "discharge_date": "2025-05-06", "submitted_date": "2025-05-06"}
    return decide(make_case({"birth_date": BORN[who]}, claim, AMOXICILLIN), tariff=tariff)


@pytest.mark.parametrize("who,level,hifp", [
    ("adult", 1, 36.0),     # the residents' scheme: level 1 only, 60%: 60 × 0.60 = 36
    ("elderly", 1, 42.0),   # the elderly's own scheme: 70% at level 1: 60 × 0.70 = 42
    ("elderly", 2, 33.0),   # and 55% at a county hospital: 60 × 0.55 = 33
    ("student", 1, 36.0),   # students have no outpatient scheme of their own: the residents' one
])
def test_outpatient_by_category(cat: list[LoadedTariff], who: str, level: int, hifp: float) -> None:
    d = outpatient(who, level, cat)
    assert (d["decision"], d["hifp_pay"], d["psn_part_amt"]) == ("approved", hifp, round(60.0 - hifp, 2))


@pytest.mark.parametrize("who,rule", [("adult", "OUT-002"), ("student", "OUT-002")])
def test_outpatient_level_outside_the_scheme(cat: list[LoadedTariff], who: str, rule: str) -> None:
    """A county hospital is outside the residents' outpatient scheme (level 1 only)."""
    d = outpatient(who, 2, cat)
    assert (d["decision"], d["hifp_pay"]) == ("rejected", 0.0)
    assert [(r["rule_id"], r["code"]) for r in d["reasons"]] == [(rule, "OUTPATIENT_LEVEL")]


def test_elderly_outpatient_level_outside_their_scheme(cat: list[LoadedTariff]) -> None:
    """The elderly's scheme covers levels 1 and 2: a city hospital (3) is refused by OUT-003."""
    d = outpatient("elderly", 3, cat)
    assert [(r["rule_id"], r["code"]) for r in d["reasons"]] == [("OUT-003", "OUTPATIENT_LEVEL")]


@pytest.mark.parametrize("who,hifp", [("adult", 39.0), ("elderly", 42.0)])
def test_chronic_ratio_by_category(cat: list[LoadedTariff], who: str, hifp: float) -> None:
    """Certified hypertension (ordinary group): residents 65% (60 × 0.65 = 39), the elderly 70% (42)."""
    person = {"birth_date": BORN[who], "certifications": [{"disease": "I10", "valid_from": "2025-01-01"}]}
    claim = {"med_type": "14", "diagnoses": ["I10"], "institution": {"id": "H1", "level": 2},
             "admit_date": "2025-05-06", "discharge_date": "2025-05-06", "submitted_date": "2025-05-06"}
    d = decide(make_case(person, claim, AMOXICILLIN), tariff=cat)
    assert (d["decision"], d["hifp_pay"]) == ("approved", hifp)


def test_one_batch_pays_each_category_its_own(cat: list[LoadedTariff]) -> None:
    """The five inpatient cases in one batch: the terms are worked out per combination, and each
    claim gets what it gets alone."""
    cases = []
    for i, (who, person) in enumerate([("adult", {}), ("student", {}), ("college", {"resident_category": "student"}),
                                       ("infant", {}), ("elderly", {})]):
        case = make_case({"psn_no": f"P{i}", "birth_date": BORN[who], **person}, {"mdtrt_id": f"C{i}"}, DIALYSIS)
        cases.append(case)
    result = score_batch(cases_batch(cases), tariff=cat, trace=True)
    claims = result.claims.set_index("mdtrt_id")
    assert claims["hifp_pay"].tolist() == [2891.0, 3555.0, 3555.0, 3667.5, 3076.0]
    assert (fen(claims, "medfee_sumamt") == fen(claims, "fund_pay_sumamt") + fen(claims, "psn_part_amt")
            + fen(claims, "hosp_part_amt")).all()
    check_sums(result)  # every fund's trace steps add up to its payment


def test_trace_paths_are_shown_and_set(search_path: Path, cat: list[LoadedTariff]) -> None:
    """The student's trace names the category's scheme, with RES-001 among the rules behind it;
    `tariffs show` prints the same paths, and `--set` on one changes that claim: a student
    deductible of 300 pays (4,200 − 300) × 0.90 = 3,510."""
    case = make_case({"birth_date": BORN["student"]}, lines=DIALYSIS)
    steps = score_batch(case_batch(parse_case(case)), tariff=cat, trace=True).trace
    scheme = "inpatient.schemes[insutype=390,employee_status=any,level=2,category=student]"
    hifp = steps[steps["fund"] == "hifp"]
    assert hifp["tariff_path"].tolist() == [f"{scheme}.deductible", f"{scheme}.bands[0].ratio"]
    assert all("RES-001" in ids for ids in hifp["rule_ids"])
    shown = CliRunner().invoke(tariffs_app, ["show", str(search_path / CAT)], env={"COLUMNS": "400"})
    assert shown.exit_code == 0 and "schemes[insutype=390,employee_status=any,level=2,category=student].deductible" \
        in shown.output and "[name=student].age_below" in shown.output
    edited = [apply_edits(lt, [f"{scheme}.deductible=300"]) for lt in cat]
    assert decide(case, tariff=edited)["hifp_pay"] == 3510.0
    # the grammar of the issue (employee_status left out) picks the same scheme; without a
    # category a selector means the "any" one, which stays as it was
    short = [apply_edits(lt, ["inpatient.schemes[insutype=390,level=2,category=student].deductible=300",
                              "inpatient.schemes[insutype=390,level=2].deductible=400"]) for lt in cat]
    assert decide(case, tariff=short)["hifp_pay"] == 3510.0
    assert inpatient("adult", short)["act_pay_dedc"] == 400.0


def _second_version(text: str) -> str:
    """The category tariff with the categories' numbers changed: the student deductible, the
    elderly's age, their outpatient ratio and chronic ratio, the student cap."""
    return (category_yaml(text).replace("category: student, deductible: 250", "category: student, deductible: 300")
            .replace("age_from: 60", "age_from: 65").replace("ratio_by_level: {1: 0.70, 2: 0.55}",
                                                             "ratio_by_level: {1: 0.75, 2: 0.55}")
            .replace("category: elderly, ratio: 0.70", "category: elderly, ratio: 0.72")
            .replace("{student: 200000}", "{student: 250000}"))


@pytest.mark.parametrize("old_name,new_edit", [("sample-county", category_yaml), (CAT, _second_version)])
def test_every_diff_path_is_a_set_path(tmp_path: Path, old_name: str, new_edit: Any,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """`tariffs diff` from the sample to the category tariff, and between two category versions:
    every path it prints, fed to `--set` on the old version, gives the new value."""
    old_folder = BUNDLED / "sample-county" if old_name == "sample-county" else write_tariff(tmp_path, "old-county")
    new_folder = write_tariff(tmp_path, "new-county", new_edit)
    monkeypatch.setenv("YIBAO_TARIFF_PATH", str(tmp_path))
    printed, _ = _printed_paths([f"{old_folder}", str(new_folder), "--from", "2025", "--to", "2025"], {})
    old, new = (next(lt for lt in tariff_spec(f) if lt.tariff.version == "2025") for f in (old_folder, new_folder))
    changes = [c for c in _changes(old, new) if c.path not in ("id",)]
    assert {c.path for c in changes} <= printed
    assert "inpatient.schemes[insutype=390,employee_status=any,level=2,category=student].deductible" in printed
    for c in changes:
        base, value = (new, c.new) if c.old is ABSENT else (old, c.new if c.new is not ABSENT else c.old)
        assert _value(apply_edits(base, [f"{c.path}={_cell(value)}"]), c.path) == value, c.path


@pytest.mark.parametrize("edit,message", [
    (lambda text: category_yaml(text).replace("category: student, deductible", "category: pupil, deductible"),
     "inpatient.schemes[insutype=390,employee_status=any,level=2,category=pupil].category: category 'pupil' is "
     "not defined in resident_categories (defined: elderly, student): add it there (name, age_from/age_below) or "
     "correct the name"),
    (lambda text: category_yaml(text).replace("{student: 200000}", "{pupil: 200000}"),
     "inpatient.annual_cap_by_category.pupil: category 'pupil' is not defined in resident_categories"),
    (lambda text: category_yaml(text).replace("age_from: 60", "age_from: 16"),
     "resident_categories: the ages of 'student' and 'elderly' overlap (a resident's age must give one "
     "category): make one end where the other begins"),
    (lambda text: category_yaml(text).replace("age_from: 60", "age_from: 60, age_below: 60"),
     "resident_categories[name=elderly]: age_from 60 is not below age_below 60"),
    (lambda text: category_yaml(text).replace("name: elderly", "name: any"),
     "resident_categories[name=any]: 'any' names the entries that serve every category: choose another name"),
    (lambda text: category_yaml(text).replace("name: elderly", "name: student"),
     "resident category defined twice: ['student']"),
    (lambda text: category_yaml(text).replace('{insutype: "310", group: ordinary,',
                                              '{insutype: "310", category: elderly, group: ordinary,'),
     "chronic.ratios[insutype=310,group=ordinary,category=elderly].category: 'elderly' on an insutype 310 entry "
     "would never apply (resident categories are for insutype 390): remove it"),
    # level 2 for students and the elderly only: an adult's admission there found no scheme, and
    # `yibao score` stopped with a traceback
    (lambda text: category_yaml(text).replace(INPATIENT_2, ""),
     "inpatient.schemes[insutype=390,employee_status=any,level=2,category=student].category: only 'student' has "
     "an entry for insutype 390, level 2: the other residents' claims would find none: add one without a category"),
    (lambda text: category_yaml(text).replace(CHRONIC_390, ""),
     "chronic.ratios[insutype=390,group=ordinary,category=elderly].category: only 'elderly' has an entry for "
     "insutype 390, group ordinary"),
])
def test_validate_names_the_slip(tmp_path: Path, edit: Any, message: str, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """`yibao tariffs validate`: one line naming the file and the entry, exit 2."""
    folder = write_tariff(tmp_path, "bad-county", edit)
    code, err = run_cli(["tariffs", "validate", str(folder)], capsys, monkeypatch)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"error: {folder / '2025.yaml'}: ") and message in err, err


def test_validate_accepts_the_category_tariff(search_path: Path) -> None:
    run = CliRunner().invoke(tariffs_app, ["validate", str(search_path / CAT)], env={"COLUMNS": "400"})
    assert run.exit_code == 0 and run.output.startswith("OK "), run.output


def test_unknown_category_cell_rejects_the_claim(cat: list[LoadedTariff], search_path: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A resident_category the claim's tariff does not define sets the claim and its lines aside
    with the reason; the other claims are scored. A what-if case says it in one line, exit 2."""
    ok = make_case({"psn_no": "P1", "birth_date": BORN["college"], "resident_category": "student"},
                   {"mdtrt_id": "C1"}, DIALYSIS)
    bad = make_case({"psn_no": "P2", "birth_date": BORN["college"], "resident_category": "pupil"},
                    {"mdtrt_id": "C2"}, DIALYSIS)
    result = score_cases([ok, bad], tariff=cat)
    assert result.claims["mdtrt_id"].tolist() == ["C1"]
    rejects = result.rejects
    assert rejects[["table", "key"]].values.tolist() == [["claims", "C2"], ["lines", "C2/S-DIAL"]]
    assert rejects["reason"].iat[0] == ("the person's resident_category 'pupil' is not a resident category of "
                                        "cat-county@2025 (it defines: student, elderly)")
    # where the cell can choose no terms it is not read: under a tariff without categories (a late
    # claim of the year before they came) and for an employee, the claim is scored
    assert score_cases([ok], tariff=None).claims["mdtrt_id"].tolist() == ["C1"]
    employee = make_case({"psn_no": "P3", "insutype": "310", "employee_status": "in_service",
                          "resident_category": "pupil"}, {"mdtrt_id": "C3"}, DIALYSIS)
    assert score_cases([employee], tariff=cat).claims["mdtrt_id"].tolist() == ["C3"]
    case = tmp_path / "case.json"
    case.write_text(json.dumps(bad), encoding="utf-8")
    code, err = run_cli(["whatif", str(case), "--tariff", str(search_path / CAT)], capsys, monkeypatch)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "resident_category 'pupil' is not a resident category of cat-county@2025" in err


@pytest.mark.parametrize("born,hifp", [
    ("2007-05-07", 3555.0),  # 17 on the admission date 2025-05-06: a student
    ("2007-05-06", 2891.0),  # 18 that very day: age_below 18 excludes them, an adult
    ("1965-05-07", 2891.0),  # 59: an adult
    ("1965-05-06", 3076.0),  # 60 that day: age_from 60 includes them, elderly
])
def test_age_bounds_on_the_admission_date(cat: list[LoadedTariff], born: str, hifp: float) -> None:
    d = decide(make_case({"birth_date": born}, lines=DIALYSIS), tariff=cat)
    assert d["hifp_pay"] == hifp


def test_categories_with_the_any_terms_change_nothing(tmp_path: Path) -> None:
    """Categories whose entries copy the `any` ones pay every resident, of every age, at every
    level and in every pool, what the sample pays without categories: only RES-001 is added, and
    OUT-003 refuses an elderly resident's county-hospital visit where OUT-002 did."""
    def copies(text: str) -> str:
        same = INPATIENT_2.replace('level: 2,', 'level: 2, category: student,') + INPATIENT_2.replace(
            'level: 2,', 'level: 2, category: elderly,')
        return category_yaml(text).replace(CATEGORY_SCHEMES, same).replace(
            OUTPATIENT_ELDERLY, OUTPATIENT_390.replace("levels", "category: elderly, levels")).replace(
            CHRONIC_ELDERLY, CHRONIC_390.replace("group", "category: elderly, group")).replace(
            "{student: 200000}", "{student: 150000}")

    copied = tariff_spec(write_tariff(tmp_path, "copy-county", copies))
    cases = []
    for i, year in enumerate(range(1935, 2025, 6)):
        for j, (med, level, dx) in enumerate([("21", 1, "J18.9"), ("21", 2, "J18.9"), ("21", 4, "J18.9"),
                                              ("11", 1, "J06.9"), ("11", 2, "J06.9"), ("14", 2, "I10")]):
            person = {"psn_no": f"P{i}", "birth_date": f"{year}-03-01",
                      "certifications": [{"disease": "I10", "valid_from": "2025-01-01"}]}
            claim = {"mdtrt_id": f"C{i}-{j}", "med_type": med, "diagnoses": [dx],
                     "institution": {"id": f"H{level}", "level": level}}
            cases.append(make_case(person, claim, DIALYSIS if med == "21" else AMOXICILLIN))
    plain, with_copies = (score_cases(cases, tariff=t).claims.set_index("mdtrt_id") for t in (None, copied))
    amounts = ["decision", "reason_codes", "act_pay_dedc", "hifp_pay", "hifmi_pay", "maf_pay", "psn_part_amt"]
    assert plain[amounts].equals(with_copies[amounts])
    fired = with_copies["rules_fired"].str.replace(";RES-001", "").str.replace("OUT-003", "OUT-002")
    assert fired.equals(plain["rules_fired"]) and with_copies["rules_fired"].str.contains("RES-001").any()
