"""Several supplementary layers for one person (issue 16, part 1): large-amount (大额补充, hifob) and
catastrophic (大病保险, hifmi) funds side by side, each on its own `base` and accumulators, and
medical assistance in chained stages.

Every figure is worked by hand in the comment above it, from the sample-county 2025 tariff with
the edit the test writes into a copy of its YAML file; the claims go through the whole pipeline.
`X` lines carry an inline 甲类 level and no price cap: the in-policy amount is exactly the price.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from typer.testing import CliRunner

import yibao
import yibao.cli.app as cli_app

from conftest import cases_batch, cases_tables, fen, line, make_case
import test_tariff_faults
from test_tariff_faults import TariffFault
from test_properties import flat, persons_st
from test_trace import check_messages, check_sums
from yibao.ledger import Ledger
from yibao.pipeline import Result, score_batch
from yibao.tariffs.diff import parameters
from yibao.tariffs.edit import apply_edits
from yibao.tariffs.registry import BUNDLED, LoadedTariff, load_file

HIFOB_310 = "    - {fund: hifob, insutype: \"310\", threshold: 20000, tiers: [{ratio: 0.90}], annual_cap: 400000}\n"
DIBAO = "    - {status: dibao,             deductible: 0,    bands: [{ratio: 0.70}]}\n"
LOW_INCOME = "    - {status: low_income,        deductible: 2100, bands: [{ratio: 0.60}]}\n"
EMPLOYEE = {"insutype": "310", "employee_status": "in_service"}
LEVEL3 = {"id": "H1", "level": 3, "out_of_area": False, "networked": True, "agreement": "active"}


def tariff(tmp_path: Path, *edits: tuple[str, str], tariff_id: str = "sample-county") -> LoadedTariff:
    """The bundled sample-county 2025 file, copied with each (old, new) text replaced once, in a
    folder `tariff_id` (the id and region of the file)."""
    folder = tmp_path / tariff_id
    shutil.copytree(BUNDLED / "sample-county", folder)
    (folder / "2024.yaml").unlink()
    path = folder / "2025.yaml"
    text = path.read_text(encoding="utf-8").replace("sample-county\n", f"{tariff_id}\n")
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return load_file(path)


def score_cases(cases: list[dict], tariff: LoadedTariff) -> Result:
    return score_batch(cases_batch(cases), tariff=tariff, trace=True)


def x(amount: float, day: str) -> dict:
    return line("X-ANY", amount, 1, day=day, chrgitm_lv="01")


def admission(mdtrt_id: str, month: str, amount: float, person: dict, inst: dict | None = None,
              accumulators: dict | None = None) -> dict:
    day = f"2025-{month}-06"
    claim = {"mdtrt_id": mdtrt_id, "admit_date": day, "discharge_date": f"2025-{month}-12",
             "submitted_date": f"2025-{month}-12"} | ({"institution": inst} if inst else {})
    return make_case(person=person, claim=claim, lines=[x(amount, f"2025-{month}-07")], accumulators=accumulators)


def amounts(result: Result, *columns: str) -> dict[str, tuple[float, ...]]:
    claims = result.claims.set_index("mdtrt_id").sort_index()
    fen_sum = fen(claims, "fund_pay_sumamt") + fen(claims, "psn_part_amt") + fen(claims, "hosp_part_amt")
    assert (fen_sum == fen(claims, "medfee_sumamt")).all()  # funds + person + hospital = total
    return {c: tuple(claims[c]) for c in columns}


def accumulator(result: Result, column: str) -> float:
    return float(result.accumulators[column].iat[0])


# ---- large-amount and catastrophic for one employee ----

BOTH = (HIFOB_310, HIFOB_310 + "    - {fund: hifmi, insutype: \"310\", threshold: 5000, tiers: [{ratio: 0.60}]}\n")


def test_large_amount_then_catastrophic_over_two_admissions(tmp_path: Path) -> None:
    # employee, level 3: deductible 600 (300 for the year's 2nd admission), 85%, annual cap 60,000.
    # large-amount (hifob): threshold 20,000, 90%; catastrophic (hifmi): threshold 5,000, 60%; both
    # on the burden, hifob first, hifmi on what hifob left.
    # May, 30,000: basic (30,000 − 600) × 0.85 = 24,990; burden 5,010.
    #   hifob base 5,010 (below 20,000): 0.  hifmi base 5,010 − 0: (5,010 − 5,000) × 0.60 = 6.
    # June, 100,000: basic (100,000 − 300) × 0.85 = 84,745, cut to the cap left 60,000 − 24,990 = 35,010;
    #   burden 64,990.  hifob: base 5,010 + 64,990 = 70,000 → (70,000 − 20,000) × 0.90 = 45,000.
    #   hifmi: base 64,990 − 45,000 = 19,990 → 25,000: (25,000 − 5,000) × 0.60 − 6 = 11,994.
    result = score_cases([admission("C1", "05", 30000, EMPLOYEE, LEVEL3),
                          admission("C2", "06", 100000, EMPLOYEE, LEVEL3)], tariff=tariff(tmp_path, BOTH))
    assert amounts(result, "hifp_pay", "hifob_pay", "hifmi_pay", "psn_part_amt") == {
        "hifp_pay": (24990.0, 35010.0), "hifob_pay": (0.0, 45000.0), "hifmi_pay": (6.0, 11994.0),
        "psn_part_amt": (5004.0, 7996.0)}
    # catastrophic_* keep the single fund's meaning (hifmi here); large_amount_* are hifob's
    assert [accumulator(result, c) for c in ("large_amount_base", "large_amount_paid", "catastrophic_base",
                                             "catastrophic_paid")] == [70000.0, 45000.0, 25000.0, 12000.0]
    check_sums(result)
    steps = result.trace[result.trace["mdtrt_id"] == "C2"]
    tiers = steps[steps["action"] == "tier"]
    assert list(tiers["fund"]) == ["hifob", "hifmi"]
    assert list(tiers["tariff_path"]) == ["catastrophic.funds[fund=hifob,insutype=310].tiers[0].ratio",
                                          "catastrophic.funds[fund=hifmi,insutype=310].tiers[0].ratio"]


def test_large_amount_cap_is_named(tmp_path: Path) -> None:
    # as the June claim above from the accumulators, with hifob's cap at 400,000 nearly used (399,000):
    # hifob pays 1,000 of its 45,000, so hifmi's base is 64,990 − 1,000 = 63,990 → 69,000:
    # (69,000 − 5,000) × 0.60 − 6 = 38,394
    acc = {"hifp_paid": 24990, "inpatient_admissions": 1, "large_amount_base": 5010, "large_amount_paid": 399000,
           "catastrophic_base": 5010, "catastrophic_paid": 6}
    result = score_cases([admission("C2", "06", 100000, EMPLOYEE, LEVEL3, acc)], tariff=tariff(tmp_path, BOTH))
    assert amounts(result, "hifob_pay", "hifmi_pay") == {"hifob_pay": (1000.0,), "hifmi_pay": (38394.0,)}
    reasons = json.loads(result.claims["reasons"].iat[0])
    assert [r["message"] for r in reasons if r["rule_id"] == "CAP-004"] == [
        "大额补充年度支付限额所余不足，本次大额补充按比例应付45000.00元，按限额支付1000.00元，少付44000.00元。"]
    cap = result.trace[result.trace["action"] == "cap"]
    assert list(zip(cap["fund"], cap["tariff_path"])) == [
        ("hifp", "inpatient.annual_cap.310"), ("hifob", "catastrophic.funds[fund=hifob,insutype=310].annual_cap")]
    check_sums(result)


def test_each_fund_keeps_its_accumulators_when_a_status_brings_the_other(tmp_path: Path) -> None:
    # employee, level 3, as above, but hifmi (threshold 5,000, 60%) only for dibao, a status the
    # person has from June: May gets hifob alone, June both. hifob's year base runs on from May.
    # May, 30,000: basic 24,990; burden 5,010; hifob base 5,010: 0.
    # June, 100,000: basic 35,010 (the cap left); burden 64,990.
    #   hifob: base 5,010 + 64,990 = 70,000 → (70,000 − 20,000) × 0.90 = 45,000 (its threshold once).
    #   hifmi: base 64,990 − 45,000 = 19,990, its first → (19,990 − 5,000) × 0.60 = 8,994.
    # (Before, May's hifob counted in catastrophic_*: June's hifob started again from 0 and paid
    # 40,491, and hifmi's tiers started from hifob's 5,010.)
    tilted = HIFOB_310 + "    - {fund: hifmi, insutype: \"310\", statuses: [dibao], threshold: 5000, tiers: [{ratio: 0.60}]}\n"
    person = EMPLOYEE | {"statuses": [{"kind": "dibao", "valid_from": "2025-06-01"}]}
    result = score_cases([admission("C1", "05", 30000, person, LEVEL3), admission("C2", "06", 100000, person, LEVEL3)],
                         tariff=tariff(tmp_path, (HIFOB_310, tilted)))
    assert amounts(result, "hifp_pay", "hifob_pay", "hifmi_pay") == {
        "hifp_pay": (24990.0, 35010.0), "hifob_pay": (0.0, 45000.0), "hifmi_pay": (0.0, 8994.0)}
    assert [accumulator(result, c) for c in ("large_amount_base", "large_amount_paid", "catastrophic_base",
                                             "catastrophic_paid")] == [70000.0, 45000.0, 19990.0, 8994.0]
    check_sums(result)


def test_the_ledger_carries_and_reverses_both_layers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the two admissions above as two monthly batches through a ledger: June is paid from May's
    # accumulators as in one batch, and reversing June takes its part of both bases back out
    folder = "layers-county"
    tariff(tmp_path / "tariffs", BOTH, tariff_id=folder)
    monkeypatch.setenv("YIBAO_TARIFF_PATH", str(tmp_path / "tariffs"))
    url = str(tmp_path / "ledger.db")
    yibao.score(cases_tables([admission("C1", "05", 30000, EMPLOYEE, LEVEL3)]), tariff=folder, ledger=url,
                period="2025-05")
    june = yibao.score(cases_tables([admission("C2", "06", 100000, EMPLOYEE, LEVEL3)]), tariff=folder, ledger=url,
                       period="2025-06")
    assert amounts(june, "hifob_pay", "hifmi_pay") == {"hifob_pay": (45000.0,), "hifmi_pay": (11994.0,)}
    columns = ["large_amount_base", "large_amount_paid", "catastrophic_base", "catastrophic_paid"]
    assert held(url, columns) == [7000000, 4500000, 2500000, 1200000]  # fen
    done = CliRunner().invoke(cli_app.app, ["ledger", "reverse", "C2", "--ledger", url, "--period", "2025-07"])
    assert done.exit_code == 0, done.output
    assert held(url, columns) == [501000, 0, 501000, 600]


def held(url: str, columns: list[str]) -> list[int]:
    ledger = Ledger(url)
    try:
        return [int(v) for v in ledger.accumulators(["P1"]).loc[0, columns]]
    finally:
        ledger.close()


# ---- a tier fund's `base` ----

@pytest.mark.parametrize("base,paid,accumulated", [
    # employee level 3, 30,000 in policy, 50,000 of the 60,000 cap used: the basic fund pays 10,000
    # of its (30,000 − 600) × 0.85 = 24,990. hifob alone (the single fund): threshold 1,000, 90%.
    # burden: 30,000 − 10,000 = 20,000 → (20,000 − 1,000) × 0.90
    ("burden", 17100.0, 20000.0),
    # burden_after_deductible: 20,000 − 600 = 19,400 → (19,400 − 1,000) × 0.90
    ("burden_after_deductible", 16560.0, 19400.0),
    # above_basic_cap: 10,000 paid at 85% covers 10,000 ÷ 0.85 = 11,764.71 (rounded up to the fen) of
    # the 29,400 above the deductible; 17,635.29 lies beyond → (17,635.29 − 1,000) × 0.90 = 14,971.761
    ("above_basic_cap", 14971.76, 17635.29),
])
def test_tier_fund_base(tmp_path: Path, base: str, paid: float, accumulated: float) -> None:
    fund = HIFOB_310.replace("threshold: 20000", "threshold: 1000").replace("}\n", f", base: {base}}}\n")
    result = score_cases([admission("C1", "05", 30000, EMPLOYEE, LEVEL3, {"hifp_paid": 50000})],
                         tariff=tariff(tmp_path, (HIFOB_310, fund)))
    assert amounts(result, "hifp_pay", "hifob_pay") == {"hifp_pay": (10000.0,), "hifob_pay": (paid,)}
    assert accumulator(result, "catastrophic_base") == accumulated
    check_sums(result)


def test_above_basic_cap_on_covered_fees(tmp_path: Path) -> None:
    # cap_basis covered: the 60,000 cap counts the in-policy amount above the deductible.
    # May, 50,600: 50,000 covered, basic 42,500; nothing above the cap.
    # June, 20,300 (deductible 300): 20,000 above it, 10,000 of the cap left: basic 8,500, and the
    # other 10,000 is above the cap → hifob (threshold 1,000, 90%): (10,000 − 1,000) × 0.90 = 8,100
    fund = HIFOB_310.replace("threshold: 20000", "threshold: 1000").replace("}\n", ", base: above_basic_cap}\n")
    result = score_cases([admission("C1", "05", 50600, EMPLOYEE, LEVEL3),
                          admission("C2", "06", 20300, EMPLOYEE, LEVEL3)],
                         tariff=tariff(tmp_path, (HIFOB_310, fund), ("cap_basis: fund", "cap_basis: covered")))
    assert amounts(result, "hifp_pay", "hifob_pay") == {"hifp_pay": (42500.0, 8500.0), "hifob_pay": (0.0, 8100.0)}


# ---- assistance in chained stages ----

STAGES = (DIBAO, "    - {status: dibao, stages: [{deductible: 0, bands: [{ratio: 0.70}]},\n"
                 "                               {deductible: 1000, bands: [{ratio: 0.50}], annual_cap: 100}]}\n")
DIBAO_PERSON = {"statuses": [{"kind": "dibao", "valid_from": "2025-01-01", "valid_to": "2025-12-31"}]}


def test_two_assistance_stages(tmp_path: Path) -> None:
    # resident, level 2 (deductible 500, repeat 250; ≤1,500 → 65%, above → 83%), dibao: tilted hifmi
    # threshold 5,500 (not reached). Stage 1: no deductible, 70%; stage 2 on what stage 1 left:
    # annual deductible 1,000, 50%, its own cap 100.
    # May, 10,000: basic 1,000 × 0.65 + 8,500 × 0.83 = 7,705; base 2,295; stage 1: 1,606.50;
    #   stage 2 base 688.50, all of it deductible: 0.
    # June, 10,000: basic 1,250 × 0.65 + 7,055 = 7,867.50; base 2,132.50; stage 1: 1,492.75;
    #   stage 2 base 639.75 − the 311.50 of deductible left = 328.25 × 0.50 = 164.125, cut to its cap 100.
    result = score_cases([admission("C1", "05", 10000, DIBAO_PERSON), admission("C2", "06", 10000, DIBAO_PERSON)],
                         tariff=tariff(tmp_path, STAGES))
    assert amounts(result, "hifmi_pay", "maf_pay") == {"hifmi_pay": (0.0, 0.0), "maf_pay": (1606.5, 1592.75)}
    assert [accumulator(result, c) for c in ("maf_deductible_used", "maf_stage2_deductible_used",
                                             "maf_stage2_paid", "maf_paid")] == [0.0, 1000.0, 100.0, 3199.25]
    check_sums(result)
    reasons = json.loads(result.claims.set_index("mdtrt_id").at["C2", "reasons"])
    assert [r["message"] for r in reasons if r["rule_id"] == "CAP-005"] == [
        "医疗救助第二段年度限额所余不足，本次医疗救助第二段按比例应付164.13元，按限额支付100.00元，少付64.13元。"]
    steps = result.trace[(result.trace["mdtrt_id"] == "C2") & (result.trace["fund"] == "maf")]
    assert list(zip(steps["label_zh"], fen(steps, "amount"))) == [
        ("救助 第1档", 149275), ("第二段救助起付线（个人自付）", 0), ("第二段救助 第1档", 16413),
        ("第二段救助年度限额", -6413)]
    paths = set(steps["tariff_path"])
    assert "assistance.statuses[status=dibao].stages[1].annual_cap" in paths
    # the trace's path is one `--set` accepts: without the stage's cap June pays 1,492.75 + 164.13
    edited = apply_edits(tariff(tmp_path / "again", STAGES),
                         ["assistance.statuses[status=dibao].stages[1].annual_cap=null"])
    result = score_cases([admission("C1", "05", 10000, DIBAO_PERSON), admission("C2", "06", 10000, DIBAO_PERSON)],
                         tariff=edited)
    assert amounts(result, "maf_pay") == {"maf_pay": (1606.5, 1656.88)}


def test_stages_are_the_status_parameters(tmp_path: Path) -> None:
    # `tariffs show` lists a staged status by its stages; the flat form's fields are not "none"
    paths = {p.path for p in parameters(tariff(tmp_path, STAGES).tariff)}
    dibao = "assistance.statuses[status=dibao]"
    assert {f"{dibao}.stages[1].deductible", f"{dibao}.stages[1].annual_cap"} <= paths
    assert not {f"{dibao}.deductible", f"{dibao}.bands"} & paths


def test_one_stage_is_the_single_form(tmp_path: Path) -> None:
    # low income: deductible 2,100, 60% — written as one stage it pays what the flat form pays:
    # base 10,000 − 7,705 = 2,295; (2,295 − 2,100) × 0.60 = 117
    one = (LOW_INCOME, "    - {status: low_income, stages: [{deductible: 2100, bands: [{ratio: 0.60}]}]}\n")
    person = {"statuses": [{"kind": "low_income", "valid_from": "2025-01-01", "valid_to": "2025-12-31"}]}
    result = score_cases([admission("C1", "05", 10000, person)], tariff=tariff(tmp_path, one))
    assert amounts(result, "maf_pay") == {"maf_pay": (117.0,)}
    assert accumulator(result, "maf_deductible_used") == 2100.0


# ---- invariants on generated claims under a tariff with every new key ----

EVERYTHING = (
    ('annual_cap: {"390": 150000, "310": 60000}', 'annual_cap: {"390": 3000, "310": 5000}'),  # caps cut often
    ("    - {fund: hifob, insutype: \"310\"",
     "    - {fund: hifob, insutype: \"390\", threshold: 500, base: above_basic_cap,"
     " tiers: [{upto: 20000, ratio: 0.50}, {ratio: 0.80}], annual_cap: 2000}\n    - {fund: hifob, insutype: \"310\""),
    (HIFOB_310, HIFOB_310 + "    - {fund: hifmi, insutype: \"310\", threshold: 500, tiers: [{ratio: 0.60}],"
                            " annual_cap: 1000, base: burden_after_deductible}\n"),
    STAGES,
    ("    - {status: tekun,             deductible: 0,    bands: [{ratio: 0.90}]}",
     "    - {status: tekun, stages: [{deductible: 0, bands: [{upto: 500, ratio: 0.50}, {ratio: 0.90}],"
     " annual_cap: 300},"
     " {deductible: 200, bands: [{ratio: 0.60}]}]}"),
    ("  annual_cap: 60000\n  statuses:", "  annual_cap: 1500\n  statuses:"),
)


@pytest.fixture(scope="module")
def everything(tmp_path_factory: pytest.TempPathFactory) -> LoadedTariff:
    return tariff(tmp_path_factory.mktemp("everything"), *EVERYTHING)


@settings(max_examples=min(settings.default.max_examples, 15))  # a few seconds in the ci profile too
@given(persons_st())
def test_layers_conserve_and_explain_every_fen(everything: LoadedTariff, persons: list[list[dict]]) -> None:
    # funds + person + hospital = total, nothing negative, funds within the in-policy amount, the
    # trace's steps add up to each fund and each cap message states its steps' amounts
    result = score_batch(cases_batch(flat(persons)), tariff=everything, trace=True)
    claims = result.claims
    amounts(result)
    for column in ("hifp_pay", "hifmi_pay", "hifob_pay", "maf_pay", "psn_part_amt"):
        assert (fen(claims, column) >= 0).all(), column
    assert (fen(claims, "fund_pay_sumamt") <= fen(claims, "inscp_scp_amt")).all()
    check_sums(result)
    check_messages(result)


# ---- validation: one line naming the file and the entry ----

FAULTS = [
    TariffFault("unknown base", "2025.yaml", HIFOB_310, HIFOB_310.replace("}\n", ", base: gross}\n"),
                ("catastrophic.funds[fund=hifob,insutype=310].base", "burden_after_deductible")),
    TariffFault("stages beside a deductible", "2025.yaml", DIBAO,
                DIBAO.replace("]}\n", "], stages: [{deductible: 0, bands: [{ratio: 0.70}]}]}\n"),
                ("assistance.statuses[status=dibao]", "not both")),
    TariffFault("three stages", "2025.yaml", DIBAO,
                "    - {status: dibao, stages: [" + ", ".join(["{deductible: 0, bands: [{ratio: 0.70}]}"] * 3) + "]}\n",
                ("assistance.statuses[status=dibao]", "at most 2")),
    TariffFault("two default hifob funds", "2025.yaml", HIFOB_310, HIFOB_310 * 2, ("catastrophic", "two default (untilted) hifob funds for insutype 310", "give one of them statuses")),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_layer_fault(fault: TariffFault, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                     monkeypatch: pytest.MonkeyPatch) -> None:
    test_tariff_faults.test_tariff_fault(fault, tmp_path, capsys, monkeypatch)
