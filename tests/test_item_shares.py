"""Items with a fixed person share (issue 16 part 1, the catalogue's `person_share`): the person
pays that share of the line's covered amount, the basic fund the rest directly, outside the
deductible and the ratio bands. Figures are computed by hand in the comments, through the real
pipeline under a tariff folder the test writes from the bundled sample county."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import line, make_case, run_cli
from yibao.cases import case_batch, parse_case
from yibao.cli.tariffs import app as tariffs_app
from yibao.decision import decision_object
from yibao.errors import InputError
from yibao.pipeline import score_batch
from yibao.tariffs.edit import apply_edits
from yibao.tariffs.registry import BUNDLED, LoadedTariff, tariff_spec

IMPLANT = "M-IMPL"  # 进口人工髋关节: a 乙类 material whose person share is 30 %
WIDE = {"COLUMNS": "250"}


def _folder(root: Path, rows: dict[str, str] | None = None, yaml_tail: str = "") -> Path:
    """The bundled sample county with one more catalogue item, the implant (person share 0.30,
    price cap 30,000, county hospitals and above), the `person_share` column, and `yaml_tail`
    appended to each version file."""
    folder = root / "sample-county"
    shutil.copytree(BUNDLED / "sample-county", folder)
    cat = pd.read_csv(folder / "catalogue.csv", dtype=str, keep_default_na=False)
    implant = cat[cat["code"] == "M-IOL"].assign(code=IMPLANT, name="进口人工髋关节", price_cap="30000.00",
                                                 person_share="0.30")
    for column, value in (rows or {}).items():
        implant[column] = value
    pd.concat([cat.assign(person_share=""), implant]).to_csv(folder / "catalogue.csv", index=False)
    for name in ("2024.yaml", "2025.yaml"):
        with (folder / name).open("a", encoding="utf-8") as f:
            f.write(yaml_tail)
    return folder


@pytest.fixture(scope="module")
def shares(tmp_path_factory: pytest.TempPathFactory) -> list[LoadedTariff]:
    return tariff_spec(_folder(tmp_path_factory.mktemp("shares")))


@pytest.fixture(scope="module")
def outside_caps(tmp_path_factory: pytest.TempPathFactory) -> list[LoadedTariff]:
    return tariff_spec(_folder(tmp_path_factory.mktemp("outside"), yaml_tail="\nitem_shares: {within_caps: false}\n"))


def _decide(case: dict[str, Any], tariff: Any) -> dict[str, Any]:
    parsed = parse_case(case)
    return decision_object(score_batch(case_batch(parsed), tariff=tariff, trace=True), parsed.claim.mdtrt_id)


def _implant_case(**kw: Any) -> dict[str, Any]:
    # a resident (390) at a county hospital (level 2): dialysis 420 × 10 = 4,200 (甲类) and the
    # implant at 20,000
    return make_case(lines=[line("S-DIAL", 420.0, 10), line(IMPLANT, 20000.0)], **kw)


def test_the_fund_pays_the_rest_of_the_item_directly(shares: list[LoadedTariff]) -> None:
    got = _decide(_implant_case(), shares)
    # implant: person 20,000 × 0.30 = 6,000; the fund 14,000, no pre-self-pay
    assert (got["share_selfpay_amt"], got["share_fund_amt"], got["preselfpay_amt"]) == (6000.0, 14000.0, 0.0)
    assert got["inscp_scp_amt"] == 24200.0  # both parts are in policy
    # the bands see only the dialysis: deductible 500; (1,500 − 500) × 0.65 = 650;
    # (4,200 − 1,500) × 0.83 = 2,241 → 2,891; plus the implant's 14,000 → 16,891
    assert (got["act_pay_dedc"], got["hifp_pay"], got["fund_pay_sumamt"]) == (500.0, 16891.0, 16891.0)
    # the person: deductible 500 + band rests 350 + 459 + the share 6,000 = 7,309
    assert (got["psn_part_amt"], got["hosp_part_amt"]) == (7309.0, 0.0)
    # the person's share is in-policy self-pay: in the catastrophic burden 24,200 − 16,891
    assert got["accumulators"]["catastrophic_base"] == 7309.0
    assert got["accumulators"]["hifp_paid"] == 16891.0
    implant = next(ln for ln in got["lines"] if ln["med_list_codg"] == IMPLANT)
    assert (implant["inscp_scp_amt"], implant["share_selfpay_amt"], implant["share_fund_amt"]) == (
        20000.0, 6000.0, 14000.0)


def test_the_trace_names_the_catalogue_entry(shares: list[LoadedTariff]) -> None:
    got = _decide(_implant_case(), shares)
    step = next(s for s in got["trace"] if s["action"] == "item_share")
    assert (step["fund"], step["tariff_path"], step["base"], step["ratio"], step["amount"]) == (
        "hifp", f"catalogue[code={IMPLANT}].person_share", 20000.0, 0.7, 14000.0)
    hifp = sum(s["amount"] for s in got["trace"] if s["fund"] == "hifp")
    assert round(hifp, 2) == got["hifp_pay"]
    deductible = next(s for s in got["trace"] if s["action"] == "deductible")
    assert deductible["base"] == 4200.0  # what the deductible saw: the implant passes it by
    person = next(s for s in got["trace"] if s["action"] == "item_share_self_pay")
    assert (person["fund"], person["amount"]) == ("lines", 6000.0)


def test_the_trace_names_the_period_of_an_item_listed_twice(tmp_path: Path) -> None:
    """The implant's share falls from 30 % to 20 % on 10 May: each line's step names the row in
    force on its day, by the path `--set` takes (`catalogue[code=M-IMPL].person_share` matched
    both rows, and both lines' steps were one)."""
    folder = _folder(tmp_path)
    cat = pd.read_csv(folder / "catalogue.csv", dtype=str, keep_default_na=False)
    implant = cat["code"] == IMPLANT
    cat.loc[implant, "valid_to"] = "2025-05-09"
    later = cat[implant].assign(valid_from="2025-05-10", valid_to="", person_share="0.20")
    pd.concat([cat, later]).to_csv(folder / "catalogue.csv", index=False)
    tariff = tariff_spec(folder)
    case = make_case(lines=[line("S-DIAL", 420.0, 10), line(IMPLANT, 20000.0, line_id="i1"),
                            line(IMPLANT, 20000.0, day="2025-05-11", line_id="i2")])
    got = _decide(case, tariff)
    steps = {s["tariff_path"]: (s["ratio"], s["amount"]) for s in got["trace"] if s["action"] == "item_share"}
    # 20,000 × 0.70 = 14,000 before 10 May, 20,000 × 0.80 = 16,000 from then on
    assert steps == {f"catalogue[code={IMPLANT},valid_from=].person_share": (0.7, 14000.0),
                     f"catalogue[code={IMPLANT},valid_from=2025-05-10].person_share": (0.8, 16000.0)}
    for path in steps:  # each is the path of its row: an edit by it moves that line's share alone
        edited = _decide(case, [apply_edits(lt, [f"{path}=0.5"]) for lt in tariff])
        assert sorted(s["amount"] for s in edited["trace"] if s["action"] == "item_share") == sorted(
            [10000.0, 16000.0 if "2025-05-10" not in path else 14000.0])


def test_within_the_annual_cap_or_outside_it(shares: list[LoadedTariff], outside_caps: list[LoadedTariff]) -> None:
    used = {"hifp_paid": 145000}  # 5,000 left of the residents' annual cap of 150,000
    within = _decide(_implant_case(accumulators=used), shares)
    # within the caps: min(2,891 + 14,000, 5,000) = 5,000; the burden 24,200 − 5,000 = 19,200 is
    # above the threshold 11,000: (19,200 − 11,000) × 0.60 = 4,920 catastrophic
    assert (within["hifp_pay"], within["hifmi_pay"]) == (5000.0, 4920.0)
    assert within["accumulators"]["hifp_paid"] == 150000.0
    assert "CAP-001" in within["rules_fired"]
    outside = _decide(_implant_case(accumulators=used), outside_caps)
    # outside: min(2,891, 5,000) + 14,000; the cap counts only the banded 2,891
    assert (outside["hifp_pay"], outside["hifmi_pay"]) == (16891.0, 0.0)
    assert outside["accumulators"]["hifp_paid"] == 147891.0
    for got in (within, outside):
        assert round(got["fund_pay_sumamt"] + got["psn_part_amt"] + got["hosp_part_amt"], 2) == got["medfee_sumamt"]


def test_an_audited_item_leaves_its_direct_part_to_the_hospital(shares: list[LoadedTariff]) -> None:
    township = {"institution": {"id": "T1", "level": 1, "out_of_area": False, "networked": True,
                                "agreement": "active"}}
    got = _decide(_implant_case(claim=township), shares)
    # the implant needs a level-2 hospital (LEVEL edit): audited, only the dialysis is paid —
    # deductible 200; 800 × 0.75 + 1,000 × 0.80 + 2,200 × 0.90 = 3,380. Declared at discharge:
    # 3,380 + the implant's 14,000 = 17,380, so the hospital bears 14,000 and the person keeps
    # the declared part 24,200 − 17,380 = 6,820
    assert (got["violation_amt"], got["share_fund_amt"], got["hifp_pay"]) == (20000.0, 0.0, 3380.0)
    assert (got["declared_fund_pay_sumamt"], got["hosp_part_amt"], got["psn_part_amt"]) == (17380.0, 14000.0, 6820.0)


def test_one_rounding_per_line(shares: list[LoadedTariff]) -> None:
    gauze = [apply_edits(lt, ["catalogue[code=M-GAUZE].person_share=0.15"]) for lt in shares]
    lines = [line("S-DIAL", 420.0, 10), line("M-GAUZE", 0.10, line_id="g1"), line("M-GAUZE", 0.10, line_id="g2")]
    got = _decide(make_case(lines=lines), gauze)
    # each line: 10 fen × 0.15 = 1.5 → 2 fen (half-up), the fund 8 fen; summed per claim, not
    # 20 fen × 0.15 = 3 fen
    assert (got["share_selfpay_amt"], got["share_fund_amt"]) == (0.04, 0.16)
    # the fund: 2,891 for the dialysis (as above) + 0.16
    assert got["hifp_pay"] == 2891.16


def test_default_tariff_has_no_shares() -> None:
    got = _decide(_implant_case(), None)  # the bundled catalogue has no such item: full self-pay
    assert (got["share_selfpay_amt"], got["share_fund_amt"], got["fulamt_ownpay_amt"]) == (0.0, 0.0, 20000.0)


@pytest.mark.parametrize("rows,message", [
    ({"level": "03", "price_cap": "", "min_level": ""},  # a 丙类 item's cap and restrictions are refused alike
     "column person_share: '0.30': M-IMPL: person_share is read only for items of level 01 or 02, and this item is "
     "丙类 (03), self-paid whole: make its level 01 or 02, or empty the cell"),
    ({"selfpay_prop": "0.10"}, "column person_share: '0.30': give selfpay_prop or person_share, not both"),
    ({"person_share": "1.5"}, "column person_share: '1.5': ratio outside [0, 1]"),
])
def test_validate_names_file_row_and_column(tmp_path: Path, rows: dict[str, str], message: str,
                                            capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _folder(tmp_path, rows)
    code, err = run_cli(["tariffs", "validate", str(folder)], capsys, monkeypatch)
    row = len(pd.read_csv(folder / "catalogue.csv")) + 1  # the implant is the last row; the header is row 1
    assert (code, len(err.strip().splitlines())) == (2, 1)
    assert f"{folder / 'catalogue.csv'}, row {row}, {message}" in err


def test_show_and_diff_item_by_item(shares: list[LoadedTariff], tmp_path: Path) -> None:
    folder = Path(shares[0].catalogue_file).parent
    run = CliRunner().invoke(tariffs_app, ["show", str(folder), "--catalogue"], env=WIDE)
    assert run.exit_code == 0, run.output
    shown = next(ln for ln in run.output.splitlines() if f"catalogue[code={IMPLANT}].person_share" in ln)
    assert "0.3" in shown
    other = _folder(tmp_path, {"person_share": "0.20"})
    run = CliRunner().invoke(tariffs_app, ["diff", str(folder), str(other)], env=WIDE)
    assert run.exit_code == 0, run.output
    changed = next(ln for ln in run.output.splitlines() if f"catalogue[code={IMPLANT}].person_share" in ln)
    assert "0.3" in changed and "0.2" in changed


def test_an_edit_names_the_column_even_where_the_file_has_none() -> None:
    from yibao.tariffs.registry import load_version

    edited = apply_edits(load_version("sample-county", "2025"), ["catalogue[code=M-GAUZE].person_share=0.15"])
    assert edited.catalogue.set_index("code").loc["M-GAUZE", "person_share_bp"] == 1500
    with pytest.raises(InputError, match="person_share"):
        apply_edits(load_version("sample-county", "2025"), ["catalogue[code=C-LENS].person_share=0.15"])


@settings(max_examples=min(settings().max_examples, 100))  # one case per example: keep the suite short
@given(share_bp=st.integers(0, 10_000), implant_fen=st.integers(1, 5_000_000), used_yuan=st.integers(0, 150_000),
       level=st.sampled_from([1, 2]), within=st.booleans(), manual=st.booleans())
def test_shares_add_up_whatever_the_share_cap_and_audit(shares: list[LoadedTariff], outside_caps: list[LoadedTariff],
                                                         share_bp: int, implant_fen: int, used_yuan: int, level: int,
                                                         within: bool, manual: bool) -> None:
    tariff = [apply_edits(lt, [f"catalogue[code={IMPLANT}].person_share={share_bp / 10_000}"])
              for lt in (shares if within else outside_caps)]
    claim = {"institution": {"id": "H", "level": level, "out_of_area": False, "networked": True, "agreement": "active"},
             "settlement_mode": "manual" if manual else "direct",
             "materials": ["id_document", "invoice", "fee_list", "diagnosis_certificate"]}
    case = make_case(claim=claim, lines=[line("S-DIAL", 420.0, 10), line(IMPLANT, implant_fen / 100)],
                     accumulators={"hifp_paid": used_yuan})
    got = _decide(case, tariff)
    fen = {k: round(v * 100) for k, v in got.items() if isinstance(v, float)}
    assert fen["medfee_sumamt"] == fen["fund_pay_sumamt"] + fen["psn_part_amt"] + fen["hosp_part_amt"]
    # covered: in the audit (the implant needs a county hospital: LEVEL edit) and up to the price cap
    covered = min(implant_fen, 3_000_000) if level == 2 else 0
    person = (covered * share_bp + 5_000) // 10_000  # half-up, once
    assert (fen["share_selfpay_amt"], fen["share_fund_amt"]) == (person, covered - person)
    assert 0 <= fen["hifp_pay"] <= fen["inscp_scp_amt"]
    if within:
        assert round(got["accumulators"]["hifp_paid"] * 100) <= 15_000_000  # the residents' annual cap
    else:
        assert fen["hifp_pay"] >= fen["share_fund_amt"]


def test_a_bad_within_caps_is_one_line_naming_file_and_path(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _folder(tmp_path, yaml_tail="\nitem_shares: {within_caps: sometimes}\n")
    code, err = run_cli(["tariffs", "validate", str(folder)], capsys, monkeypatch)
    assert (code, len(err.strip().splitlines())) == (2, 1)
    assert f"{folder / '2024.yaml'}: item_shares.within_caps = 'sometimes'" in err
