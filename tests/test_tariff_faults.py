"""The tariff fault corpus through `yibao tariffs validate` as a policy officer runs it (issue 16
part 3): each slip gives exit 2 and one line naming the file, the entry and the fix; never a
traceback."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import NamedTuple

import pytest

from test_faults import run_cli
from yibao.tariffs.registry import BUNDLED

LEVEL_1 = "inpatient.schemes[insutype=390,employee_status=any,level=1]"  # as `tariffs show` names them
LEVEL_2 = "inpatient.schemes[insutype=390,employee_status=any,level=2]"
SETTLEMENT = "\nsettlement:\n  deposit_ratio: 0.05           # 质量保证金 withheld from what remains\n"


class TariffFault(NamedTuple):
    name: str
    file: str  # the file edited, and named in the message
    old: str
    new: str
    says: tuple[str, ...]  # what the one line holds besides the file


FAULTS = [
    TariffFault("five bands", "2024.yaml", "[{upto: 1000, ratio: 0.75}, {upto: 2000, ratio: 0.80}, {ratio: 0.90}]",
                "[{upto: 1000, ratio: 0.75}, {upto: 2000, ratio: 0.80}, {upto: 3000, ratio: 0.82}, "
                "{upto: 4000, ratio: 0.85}, {ratio: 0.90}]",
                (f"{LEVEL_1}.bands", "5 bands", "at most 4", "merge")),
    TariffFault("month 13", "2025.yaml", "effective_from: 2025-01-01", "effective_from: 2025-13-01",
                ("effective_from = '2025-13-01'", "month", "YYYY-MM-DD")),
    TariffFault("day 32", "2024.yaml", "effective_to: 2024-12-31", "effective_to: 2024-12-32",
                ("effective_to = '2024-12-32'", "YYYY-MM-DD")),
    TariffFault("unquoted insurance-type key", "2025.yaml", 'annual_cap: {"390": 150000, "310": 60000}',
                "annual_cap: {390: 150000, 310: 60000}", ("inpatient.annual_cap[390]", 'quotes, "390"')),
    TariffFault("unquoted insurance-type value", "2025.yaml", '{insutype: "390", level: 1,',
                "{insutype: 390, level: 1,", ("inpatient.schemes[0].insutype", 'quotes, "390"',
                                              "(schemes[0] is named by its position, counted from 0: its insutype "
                                              "is not valid)")),
    # an entry whose key fields name it no selector is named by position, saying so
    TariffFault("an entry without its insutype", "2025.yaml", '{insutype: "390", level: 3,', "{level: 3,",
                ("inpatient.schemes[2].insutype: missing: add `insutype:` here",
                 "(schemes[2] is named by its position, counted from 0: its insutype is missing)")),
    TariffFault("an entry twice, one wrong", "2025.yaml", 'level: 2, deductible: 500,', "level: 1, deductible: -500,",
                ("inpatient.schemes[1].deductible = -500: amount -500 is negative",
                 "(schemes[1] is named by its position, counted from 0: [0] has the same "
                 "[insutype=390,employee_status=any,level=1])")),
    TariffFault("an entry that is no mapping", "2025.yaml", "    - {status: relapse_monitored,",
                "    - relapse_monitored\n    - {status: relapse_monitored,",
                ("assistance.statuses[2]",
                 "(statuses[2] is named by its position, counted from 0: it is not a mapping of fields)")),
    TariffFault("misspelt key", "2025.yaml", "threshold: 11000", "treshold: 11000",
                ("catastrophic.funds[fund=hifmi,insutype=390].treshold", "did you mean `threshold`?")),
    TariffFault("misspelt section", "2025.yaml", "\noutpatient:", "\noutpatinet:",
                ("outpatinet", "did you mean `outpatient`?")),
    TariffFault("unknown key far from any", "2025.yaml", "  manual_claim_workdays: 21",
                "  manual_claim_workdays: 21\n  zzz: 1", ("deadlines.zzz", "the keys here are", "manual_claim_workdays")),
    TariffFault("wrong type", "2025.yaml", "level: 2, deductible: 500,", "level: 2, deductible: five hundred,",
                (f"{LEVEL_2}.deductible = 'five hundred'",)),
    TariffFault("missing section", "2025.yaml", SETTLEMENT, "\n", ("settlement", "missing", "add `settlement:`")),
    TariffFault("negative ratio", "2025.yaml", "{upto: 1000, ratio: 0.75}", "{upto: 1000, ratio: -0.75}",
                (f"{LEVEL_1}.bands[0].ratio = -0.75", "outside [0, 1]")),
    TariffFault("overlapping versions", "2025.yaml", "effective_from: 2025-01-01", "effective_from: 2024-12-01",
                ("effective_from = '2024-12-01'", "overlaps version 2024")),
    TariffFault("catalogue bad price", "catalogue.csv", "A-AMOX,阿莫西林胶囊 0.25g,drug,01,,0.60,",
                "A-AMOX,阿莫西林胶囊 0.25g,drug,01,,six,", ("row 2", "column price_cap", "not a number")),
    TariffFault("catalogue bad level", "catalogue.csv", "B-CEFU,头孢呋辛酯片 0.25g,drug,02,",
                "B-CEFU,头孢呋辛酯片 0.25g,drug,2,", ("row 4", "column level", "must be one of")),
    TariffFault("catalogue impossible date", "catalogue.csv", "A-AMOX,阿莫西林胶囊 0.25g,drug,01,,0.60,,,,,,,,,",
                "A-AMOX,阿莫西林胶囊 0.25g,drug,01,,0.60,,,,,,,,2024-13-01,",
                ("row 2", "column valid_from", "'2024-13-01'", "YYYY-MM-DD")),
    # numpy read these as days: a month as its first day (the item left the catalogue on June 2,
    # its lines self-paid), `today` as the day of the run, `NaT` as never
    *(TariffFault(f"catalogue date {cell}", "catalogue.csv", "A-AMOX,阿莫西林胶囊 0.25g,drug,01,,0.60,,,,,,,,,",
                  f"A-AMOX,阿莫西林胶囊 0.25g,drug,01,,0.60,,,,,,,,,{cell}",
                  ("row 2", "column valid_to", f"'{cell}'", "YYYY-MM-DD"))
      for cell in ("2025-06", "today", "NaT", "20250630", " 2025-06-30", "2025-06-30T00")),
    TariffFault("undeclared tilted status", "2025.yaml", "    - {status: relapse_monitored,", "    # ",
                ("catastrophic.funds[fund=hifmi,insutype=390,statuses=dibao+relapse_monitored+tekun].statuses",
                 "'relapse_monitored' is not declared in assistance.statuses",
                 "add it there")),
    TariffFault("undeclared ratio tilt", "2025.yaml", "  retired_cadre: {deductible_factor",
                "  status_ratio_tilt: {retired_cadre: 0.05}\n  retired_cadre: {deductible_factor",
                ("inpatient.status_ratio_tilt.retired_cadre", "not declared in assistance.statuses")),
    TariffFault("id not its folder", "2025.yaml", "id: sample-county", "id: sample-city",
                ("id = 'sample-city'", "write id: sample-county")),
    TariffFault("broken YAML", "2025.yaml", "annual_cap: {", "annual_cap: {{", ("cannot read tariff",)),
    TariffFault("catalogue price beyond any", "catalogue.csv", "A-AMOX,阿莫西林胶囊 0.25g,drug,01,,0.60,",
                "A-AMOX,阿莫西林胶囊 0.25g,drug,01,,1e30,",
                ("row 2", "column price_cap", "above 1,000,000,000 yuan")),
    # indications the audit cannot read: a range of three stopped it, an empty one matched every diagnosis
    TariffFault("catalogue indications of three", "catalogue.csv", ",K70-K77;R18;E88,", ",K70-K77-K99;R18;E88,",
                ("row 5", "column indications", "'K70-K77-K99' is neither a code nor a range")),
    TariffFault("catalogue empty indication", "catalogue.csv", ",K70-K77;R18;E88,", ",K70-K77;;E88,",
                ("row 5", "column indications", "'' is neither a code nor a range")),
    TariffFault("catalogue range backwards", "catalogue.csv", ",J09-J11,", ",J11-J09,",
                ("row 68", "column indications", "the range J11-J09 ends before it starts")),
    # was valid: a code no one sees is wrong, and no claim line's code matched it
    TariffFault("catalogue code with a NUL byte", "catalogue.csv", "A-AMOX,", "A-AMOX\x00,",
                ("row 2", "column code", r"'A-AMOX\x00': holds a control character (such as NUL)", "type the code again")),
    # values no line of the item reads at its level were taken without a word: policy staff set a share
    # and nothing changed (the rule --set applies, yibao/tariffs/catalogue.py READ_AT)
    TariffFault("catalogue share of a 甲类 item", "catalogue.csv", "A-AMOX,阿莫西林胶囊 0.25g,drug,01,,0.60,",
                "A-AMOX,阿莫西林胶囊 0.25g,drug,01,0.10,0.60,",
                ("row 2", "column selfpay_prop", "'0.10'", "A-AMOX: selfpay_prop is read only for items of level 02",
                 "甲类 (01)", "make its level 02, or empty the cell")),
    TariffFault("catalogue price cap of a 丙类 item", "catalogue.csv", "C-LENS,进口人工晶体,material,03,,,",
                "C-LENS,进口人工晶体,material,03,,8000.00,",
                ("row 8", "column price_cap", "C-LENS: price_cap is read only for items of level 01 or 02",
                 "丙类 (03)", "make its level 01 or 02, or empty the cell")),
    TariffFault("catalogue restriction of a 丙类 item", "catalogue.csv", "S-DENT,口腔种植体植入术,service,03,,,,,,,",
                "S-DENT,口腔种植体植入术,service,03,,,,,,3,", ("column min_level", "S-DENT: min_level is read only")),
    # a claim that would find no terms stopped the whole batch with a traceback
    TariffFault("a level without an inpatient scheme", "2025.yaml",
                '    - {insutype: "390", level: 4, deductible: 2000, bands: [{upto: 7000, ratio: 0.50}, {ratio: 0.68}]}\n',
                "", ("inpatient.schemes", "insutype 390, level 4", "add one")),
    TariffFault("a status without an inpatient scheme", "2025.yaml",
                '    - {insutype: "310", employee_status: retired, level: 4, deductible: 900, bands: [{ratio: 0.90}]}\n',
                "", ("inpatient.schemes", "insutype 310, employee_status retired (or any), level 4", "add one")),
    TariffFault("a group without a chronic ratio", "2025.yaml", '    - {insutype: "310", group: major,    ratio: 0.85}\n',
                "", ("chronic.ratios", "insutype 310, group major", "add one")),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_tariff_fault(fault: TariffFault, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                      monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "sample-county"
    shutil.copytree(BUNDLED / "sample-county", folder)
    text = (folder / fault.file).read_text(encoding="utf-8")
    assert text.count(fault.old) == 1, fault.old
    (folder / fault.file).write_text(text.replace(fault.old, fault.new), encoding="utf-8")

    code, err = run_cli(["tariffs", "validate", str(folder)], capsys, monkeypatch)

    assert "Traceback" not in err
    assert code == 2, err
    message = err.strip()
    assert message.startswith("error:") and "\n" not in message, err
    assert str(folder / fault.file) in message
    for part in fault.says:
        assert part in message, f"{part!r} not in {message}"


def test_the_bundled_tariff_is_valid(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, err = run_cli(["tariffs", "validate", "sample-county", "--quiet"], capsys, monkeypatch)
    assert (code, err) == (0, "")


def test_a_catalogue_saying_false_where_it_could_say_nothing_is_valid(tmp_path: Path) -> None:
    """`inpatient_only` false, as a spreadsheet fills a column, says of a 丙类 item no more than
    an empty cell: it is no value the item's level leaves unread."""
    from yibao.tariffs.catalogue import load_catalogue

    cat = (BUNDLED / "sample-county" / "catalogue.csv").read_text(encoding="utf-8")
    filled = cat.replace("C-LENS,进口人工晶体,material,03,,,,,,,,", "C-LENS,进口人工晶体,material,03,,,,,,,false,")
    assert filled != cat
    (tmp_path / "catalogue.csv").write_text(filled, encoding="utf-8")
    assert not load_catalogue(tmp_path / "catalogue.csv").set_index("code").loc["C-LENS", "inpatient_only"]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_a_catalogue_saved_by_excel_reads_as_the_bundled_one(encoding: str, tmp_path: Path) -> None:
    """Excel writes a BOM, or on Chinese Windows GB18030 (that was a traceback)."""
    from yibao.tariffs.catalogue import load_catalogue

    bundled = BUNDLED / "sample-county" / "catalogue.csv"
    (tmp_path / "catalogue.csv").write_text(bundled.read_text(encoding="utf-8"), encoding=encoding)
    assert load_catalogue(tmp_path / "catalogue.csv").equals(load_catalogue(bundled))


def test_an_empty_catalogue_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "sample-county"
    shutil.copytree(BUNDLED / "sample-county", folder)
    (folder / "catalogue.csv").write_bytes(b"")
    code, err = run_cli(["tariffs", "validate", str(folder)], capsys, monkeypatch)
    assert code == 2 and "the catalogue is empty: it needs a header row (code, name" in err


def test_a_catalogue_of_only_its_header_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """It was valid ("catalogue 0 items"), and every claim line was then not in the catalogue."""
    folder = tmp_path / "sample-county"
    shutil.copytree(BUNDLED / "sample-county", folder)
    header = (folder / "catalogue.csv").read_text(encoding="utf-8").splitlines()[0]
    (folder / "catalogue.csv").write_text(header + "\n", encoding="utf-8")
    code, err = run_cli(["tariffs", "validate", str(folder)], capsys, monkeypatch)
    assert (code, err) == (2, f"error: {folder / 'catalogue.csv'}: the catalogue lists no item, only its header "
                              "row: add the items below it\n")


def test_overlapping_versions_are_refused_whatever_their_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Versions labelled as two regions were not checked against each other, and a folder that
    validate refused was used all the same: scoring took the first version in force."""
    from conftest import EXAMPLES

    folder = tmp_path / "sample-county"
    shutil.copytree(BUNDLED / "sample-county", folder)
    text = (folder / "2025.yaml").read_text(encoding="utf-8")
    (folder / "2025.yaml").write_text(text.replace("region: sample-county", "region: elsewhere")
                                      .replace("effective_from: 2025-01-01", "effective_from: 2024-12-01"),
                                      encoding="utf-8")
    says = f"error: {folder / '2025.yaml'}: effective_from = '2024-12-01': overlaps version 2024"
    code, err = run_cli(["tariffs", "validate", str(folder)], capsys, monkeypatch)
    assert code == 2 and err.startswith(says)
    monkeypatch.setenv("YIBAO_TARIFF_PATH", str(tmp_path))
    code, err = run_cli(["whatif", str(EXAMPLES / "e1_resident_county_inpatient.case.json")], capsys, monkeypatch)
    assert code == 2 and err.startswith(says)


LONG = "x" * 300


@pytest.mark.parametrize("args", [
    ["tariffs", "show", LONG],
    ["tariffs", "show", f"sample-county@{LONG}"],
    ["tariffs", "show", "sample-county", "--version", LONG],
    ["tariffs", "show", f"{LONG}/x"],
    ["tariffs", "diff", "sample-county", LONG],
    ["tariffs", "diff", "sample-county", "--from", LONG],
    ["whatif", str(Path(__file__).parent / "examples" / "e1_resident_county_inpatient.case.json"), "--tariff", LONG],
])
def test_a_long_tariff_id_or_version_is_cut_in_the_message(args: list[str], capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Each repeated the 300 characters whole, as other messages no longer do (errors.quoted)."""
    from test_whatif import run_cli as run

    code, err = run(args, capsys, monkeypatch)
    assert code == 2 and err.count("\n") == 1 and " characters)" in err and LONG not in err, err
