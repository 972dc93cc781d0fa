"""`yibao tariffs diff` (issue 16 part 4): catalogue changes item by item, two regions compared,
and every path it prints is accepted verbatim by `whatif --set`, giving the new value."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from test_faults import run_cli
from yibao.cli.tariffs import app as tariffs_app
from yibao.tariffs.diff import ABSENT, Change, catalogue_parameters, diff_catalogues, diff_tariffs, parameters
from yibao.tariffs.edit import apply_edits
from yibao.tariffs.registry import BUNDLED, LoadedTariff, load_file, resolve

OTHER = "diff-county"
DEDUCTIBLE = "level: 2, deductible: 500,"


@pytest.fixture(scope="module")
def search_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`diff-county`: the sample tariff with another county-hospital deductible, a cheaper
    cefuroxime, the nursing fee moved to 乙类, one item dropped and one added."""
    root = tmp_path_factory.mktemp("tariffs")
    folder = root / OTHER
    shutil.copytree(BUNDLED / "sample-county", folder)
    for name in ("2024.yaml", "2025.yaml"):
        text = (folder / name).read_text(encoding="utf-8")
        text = text.replace("id: sample-county", f"id: {OTHER}").replace(DEDUCTIBLE, DEDUCTIBLE.replace("500", "450"))
        (folder / name).write_text(text, encoding="utf-8")
    cat = pd.read_csv(folder / "catalogue.csv", dtype=str, keep_default_na=False)
    cat.loc[cat["code"] == "B-CEFU", "price_cap"] = "2.80"
    cat.loc[cat["code"] == "S-NURSE1", ["level", "selfpay_prop"]] = ["02", "0.05"]
    added = cat[cat["code"] == "A-AMOX"].assign(code="A-NEW", name="新增药品")
    cat = pd.concat([cat[cat["code"] != "A-SALINE"], added])
    cat.to_csv(folder / "catalogue.csv", index=False)
    return root


@pytest.fixture
def on_path(search_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIBAO_TARIFF_PATH", str(search_path))


def _printed_paths(args: list[str], env: dict[str, str]) -> tuple[set[str], str]:
    result = CliRunner().invoke(tariffs_app, ["diff", *args], env={**env, "COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    rows = [line.strip().split("  ")[0] for line in result.output.splitlines() if line.startswith("  ")]
    return set(rows), result.output


def _cell(value: Any) -> str:
    """A value as `--set` reads it (YAML; catalogue cells as text)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)


def _value(lt: LoadedTariff, path: str) -> Any:
    params = parameters(lt.tariff) + catalogue_parameters(lt.catalogue)
    return next(p.value for p in params if p.path == path)


def _changes(old: LoadedTariff, new: LoadedTariff) -> list[Change]:
    return [c for c in diff_tariffs(old.tariff, new.tariff) if not c.metadata] + diff_catalogues(
        old.catalogue, new.catalogue)


@pytest.mark.parametrize("args,old_spec,new_spec", [
    (["sample-county", "--from", "2024", "--to", "2025"], "sample-county@2024", "sample-county@2025"),
    (["sample-county@2025", OTHER], "sample-county@2025", f"{OTHER}@2025"),
    (["sample-county", OTHER, "--from", "2024", "--to", "2025"], "sample-county@2024", f"{OTHER}@2025"),
])
def test_every_printed_path_is_a_set_path(args: list[str], old_spec: str, new_spec: str, search_path: Path,
                                          on_path: None) -> None:
    printed, _ = _printed_paths(args, {"YIBAO_TARIFF_PATH": str(search_path)})
    old, new = resolve(old_spec), resolve(new_spec)
    changes = _changes(old, new)
    assert changes and {c.path for c in changes} <= printed
    for c in changes:
        if c.path.endswith("(order)"):
            continue  # a reordered list: reorder it in the file
        if c.path.startswith("catalogue[") and c.path.endswith(".name"):
            continue  # what an added or dropped item is; text, which --set refuses (test_whatif)
        base, value = (new, c.new) if c.old is ABSENT else (old, c.new if c.new is not ABSENT else c.old)
        # an item's changes go together: S-NURSE1's new selfpay_prop is read only at its new level 02
        item = c.path.rpartition(".")[0] if c.path.startswith("catalogue[") else c.path
        together = [] if base is new else [f"{d.path}={_cell(d.new)}" for d in changes if d is not c
                                           and d.new is not ABSENT and d.path.rpartition(".")[0] == item]
        edited = apply_edits(base, [*together, f"{c.path}={_cell(value)}"])
        assert _value(edited, c.path) == value, c.path


def test_two_regions_item_by_item(search_path: Path, on_path: None) -> None:
    _, out = _printed_paths(["sample-county@2025", OTHER], {"YIBAO_TARIFF_PATH": str(search_path)})
    rows = {line.strip().split("  ")[0]: line.split() for line in out.splitlines() if line.startswith("  ")}
    assert "sample-county@2025 → diff-county@2025" in out
    assert rows["id"][1:] == ["sample-county", OTHER]
    assert rows["inpatient.schemes[insutype=390,employee_status=any,level=2].deductible"][1:] == [
        "500", "yuan", "450", "yuan"]
    assert rows["catalogue[code=B-CEFU].price_cap"][1:] == ["3.20", "yuan", "2.80", "yuan"]
    assert rows["catalogue[code=S-NURSE1].level"][1:] == ["01", "02"]
    assert rows["catalogue[code=S-NURSE1].selfpay_prop"][1:] == ["none", "0.05", "(5%)"]
    assert rows["catalogue[code=A-SALINE].price_cap"][1:] == ["3.50", "yuan", "(absent)"]
    assert rows["catalogue[code=A-NEW].name"][1:] == ["(absent)", "新增药品"]
    assert "catalogue (4 items changed)" in out


def test_quiet_counts_catalogue_changes(search_path: Path, on_path: None) -> None:
    env = {"YIBAO_TARIFF_PATH": str(search_path)}
    run = CliRunner().invoke(tariffs_app, ["diff", f"{OTHER}@2025", str(search_path / OTHER), "-q"], env=env)
    assert (run.exit_code, run.output) == (0, "")
    run = CliRunner().invoke(tariffs_app, ["diff", "sample-county@2025", OTHER, "-q"], env=env)
    assert (run.exit_code, run.output) == (1, "")


def test_one_tariff_needs_a_version_to_compare_with_its_latest(capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    code, err = run_cli(["tariffs", "diff", "sample-county"], capsys, monkeypatch)
    assert code == 2 and err.startswith("error: give --from or --to") and "\n" not in err.strip()
    # as the help says, the version not given is the latest: 2024 → 2025 however 2024 is named
    both = CliRunner().invoke(tariffs_app, ["diff", "sample-county", "--from", "2024", "--to", "2025"])
    assert both.exit_code == 0 and "sample-county@2024 → sample-county@2025" in both.output
    for args in (["sample-county", "--from", "2024"], ["sample-county@2024"]):
        run = CliRunner().invoke(tariffs_app, ["diff", *args])
        assert (run.exit_code, run.output) == (0, both.output)


def test_a_section_added_whole_is_one_settable_row() -> None:
    """`maternity.grant` absent in one version and set in the other is one row of the section,
    and its printed mapping, given to `--set` on the old version, makes the new one's grant —
    not `none → (absent)` above fields the old version cannot set."""
    from yibao.cli.tariffs import format_value

    old = resolve("sample-county@2025")
    new = apply_edits(old, ["maternity.grant={amount: 1000, per: infant}"])
    changes = [c for c in diff_tariffs(old.tariff, new.tariff) if not c.metadata]
    assert [c.path for c in changes] == ["maternity.grant"]
    printed = format_value(changes[0].new, "")
    assert printed.startswith("{amount: 1000, wage_months: null, per: infant, routes: [employee, spouse], rounding: {")
    assert apply_edits(old, [f"maternity.grant={printed}"]).tariff == new.tariff
    back = [c for c in diff_tariffs(new.tariff, old.tariff) if not c.metadata]
    assert [(c.path, c.new) for c in back] == [("maternity.grant", None)]
    removed = apply_edits(new, ["maternity.grant=null"]).tariff
    assert not [c for c in diff_tariffs(removed, old.tariff) if not c.metadata]


def test_an_item_listed_for_two_periods_is_shown_by_paths_set_accepts(tmp_path: Path) -> None:
    """A code listed twice is picked with its start date, `catalogue[code=S-CT,valid_from=2025-07-01]`:
    `show` printed `valid_from=2025-07-01T00:00:00`, which `--set` found no item for, and the
    dates as `2025-06-30T00:00:00`."""
    folder = tmp_path / "sample-county"
    shutil.copytree(BUNDLED / "sample-county", folder)
    cat = pd.read_csv(folder / "catalogue.csv", dtype=str, keep_default_na=False)
    ct = cat[cat["code"] == "S-CT"]
    later = ct.assign(valid_from="2025-07-01", price_cap="120.00")
    cat = pd.concat([cat[cat["code"] != "S-CT"], ct.assign(valid_to="2025-06-30"), later])
    cat.to_csv(folder / "catalogue.csv", index=False)
    lt = load_file(folder / "2025.yaml")
    shown = {p.path: p.value for p in catalogue_parameters(lt.catalogue)}
    assert shown["catalogue[code=S-CT,valid_from=].valid_to"] == pd.Timestamp("2025-06-30").date()
    path = "catalogue[code=S-CT,valid_from=2025-07-01].price_cap"
    assert shown[path] == 120
    edited = apply_edits(lt, [f"{path}=99"])
    assert [(c.path, c.old, c.new) for c in diff_catalogues(lt.catalogue, edited.catalogue)] == [(path, 120, 99)]


def test_show_marks_every_catalogue_value_set_refuses() -> None:
    """`tariffs show --catalogue` heads its items "edit: --set …" and printed each name (and a 丙类
    item's kind) as one more path, which `--set` refuses (61ffdaf, a9520a3); such a value is marked
    now, and a value is marked exactly where `--set PATH=VALUE` with it is refused: one printed row
    of each column, item level and mark is tried (the whole catalogue takes a minute)."""
    from yibao.cli.tariffs import NOT_AN_EDIT
    from yibao.errors import InputError

    run = CliRunner().invoke(tariffs_app, ["show", "sample-county", "--catalogue"], env={"COLUMNS": "400"})
    assert run.exit_code == 0, run.output
    marked = {line.split()[0]: line.rstrip().endswith(NOT_AN_EDIT)
              for line in run.output.split("catalogue (edit:", 1)[1].splitlines() if line.startswith("  catalogue[")}
    lt = resolve("sample-county@2025")
    level = dict(zip(lt.catalogue["code"], lt.catalogue["level"]))
    assert {path for path, mark in marked.items() if mark and path.endswith(".kind")} == {
        f"catalogue[code={code}].kind" for code, at in level.items() if at == "03"}  # 14 items
    assert marked["catalogue[code=A-AMOX].name"] and marked["catalogue[code=C-LENS].name"]
    assert not marked["catalogue[code=A-AMOX].kind"] and not marked["catalogue[code=C-LENS].level"]
    assert not marked["catalogue[code=C-LENS].inpatient_only"]  # false says nothing, and is taken
    tried: dict[tuple[str, str, bool], str] = {}
    for path, mark in marked.items():
        item, _, column = path.rpartition(".")
        tried.setdefault((column, level[item[len("catalogue[code="):-1]], mark), path)
    assert len(tried) > 10 and {mark for _, _, mark in tried} == {True, False}
    for path in tried.values():
        edit = f"{path}={_cell(_value(lt, path))}"
        try:
            apply_edits(lt, [edit])
        except InputError as exc:
            assert marked[path], f"{edit} refused, not marked: {exc}"
        else:
            assert not marked[path], f"{edit} taken, marked {NOT_AN_EDIT}"

