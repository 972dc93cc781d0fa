"""The trace (计算过程) and the calculator's reasons: every amount explained, to the fen.

Checked against the claims' own fields (an independent output of the same run): the steps of a
fund add up to its payment, the line-split steps equal the split fields, every violation code of
a claim has a reason, and each deduction or cap message states the amounts of its trace step.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings

from conftest import decide, fen, line, make_case
from test_properties import flat, persons_st
from yibao.calculator.trace import FUND_FIELDS, SPLIT_ACTIONS
from yibao.cases import case_batch, load_case
from yibao.cli.whatif import _decide
from yibao.io import load_batch
from yibao.pipeline import Result, score_batch

EXAMPLES = sorted(Path(__file__).parent.glob("examples/*.case.json"))


def check_sums(result: Result) -> None:
    """Per claim and fund, Σ steps == the fund's field; each line-split step == its field."""
    claims, steps = result.claims.set_index("mdtrt_id"), result.trace
    amount = pd.Series(fen(steps, "amount"), index=steps.index)
    for fund, column in FUND_FIELDS.items():
        got = amount[steps["fund"] == fund].groupby(steps["mdtrt_id"]).sum()
        want = pd.Series(fen(claims, column), index=claims.index)
        assert (got.reindex(claims.index, fill_value=0) == want).all(), fund
    lines = steps[steps["fund"] == "lines"]
    for action, (column, _) in SPLIT_ACTIONS.items():
        got = amount[lines.index[lines["action"] == action]].groupby(lines["mdtrt_id"]).sum()
        assert (got.reindex(claims.index, fill_value=0).to_numpy() == fen(claims, column)).all(), action
    got = amount[lines.index[lines["action"] == "violation"]].groupby(lines["mdtrt_id"]).sum()
    assert (got.reindex(claims.index, fill_value=0).to_numpy() == fen(claims, "violation_amt")).all()
    order = steps.groupby("mdtrt_id", sort=False)["step"].apply(lambda s: list(s) == list(range(1, len(s) + 1)))
    assert order.all()


def _yuan_in(message: str) -> list[int]:
    return [round(float(v) * 100) for v in re.findall(r"(\d+(?:\.\d+)?)元", message)]


_ENTRIES: dict[str, float] = {}


def check_cut(message: str, bands: pd.DataFrame) -> None:
    """A RATIO_CUT message's points are what each band's ratio lost against its tariff entry."""
    from yibao.tariffs import resolve
    from yibao.tariffs.diff import parameters

    if not _ENTRIES:
        _ENTRIES.update({p.path: float(p.value) for p in parameters(resolve(None).tariff) if p.unit == "ratio"})
    points = float(re.search(r"降低(\d+(?:\.\d+)?)个百分点", message).group(1))
    for band in bands.itertuples():  # none when nothing is above the deductible, or the claim is refused
        if "ASS-" in band.rule_ids:  # a status tilt moved the ratio too
            continue
        assert band.ratio == pytest.approx(max(_ENTRIES[band.tariff_path] - points / 100, 0)), (message, band)


def check_messages(result: Result) -> None:
    """Each deduction message states its violation step's amount; each cap message the cap step's."""
    steps = result.trace
    for row in result.claims.itertuples():
        reasons = json.loads(row.reasons)
        mine = steps[steps["mdtrt_id"] == row.mdtrt_id]
        said: dict[str, int] = {}  # per limit rule, Σ (paid − due) of its messages (one per layer it cut)
        for r in reasons:
            if r["rule_id"].startswith("AUD-"):
                step = mine[(mine["action"] == "violation") & (mine["rule_ids"] == r["rule_id"])]
                assert len(step) == 1 and _yuan_in(r["message"])[0] == fen(step, "amount")[0], r
            elif r["rule_id"] == "CAP-006":  # … 本次起付线以上政策范围内费用{base}，按{limit}计算…，超出的{base − limit}…
                step = mine[(mine["action"] == "covered_cap") & mine["rule_ids"].str.contains("CAP-006")]
                base, limit = fen(step, "base")[0], fen(step, "limit")[0]
                assert len(step) == 1 and _yuan_in(r["message"])[-3:] == [base, limit, base - limit], r
            elif r["rule_id"].startswith("CAP-"):
                due, paid = _yuan_in(r["message"])[:2]
                if r["rule_id"] != "CAP-001" or "按政策范围内" not in r["message"]:
                    said[r["rule_id"]] = said.get(r["rule_id"], 0) + paid - due
            elif r["code"] == "RATIO_CUT":
                check_cut(r["message"], mine[mine["action"] == "band"])
        for rule, cut in said.items():
            steps_cut = mine[mine["rule_ids"].str.contains(rule) & (mine["action"] != "tier")]
            assert fen(steps_cut, "amount").sum() == cut, (row.mdtrt_id, rule)
    partial = result.claims[result.claims["decision"] == "partially_approved"]
    for row in partial.itertuples():
        codes = {r["code"] for r in json.loads(row.reasons) if r["rule_id"].startswith("AUD-")}
        assert codes == set(row.violation_codes.split(";")), row.mdtrt_id


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name.split(".")[0])
def test_examples_trace_adds_up(path: Path) -> None:
    result = score_batch(case_batch(load_case(path)), trace=True)
    check_sums(result)
    check_messages(result)


@pytest.mark.parametrize("path", EXAMPLES[:3], ids=lambda p: p.name.split(".")[0])
def test_whatif_trace_adds_up_to_the_decision(path: Path) -> None:
    obj, _ = _decide(path, None, [])
    for fund, column in FUND_FIELDS.items():
        assert round(sum(s["amount"] for s in obj["trace"] if s["fund"] == fund) * 100) == round(obj[column] * 100)


def test_synthetic_batch(synth_folder: Path) -> None:
    batch, rejects = load_batch(synth_folder)
    result = score_batch(batch, rejects, trace=True)
    check_sums(result)
    check_messages(result)
    partial = result.claims[result.claims["decision"] == "partially_approved"]
    assert len(partial) and (partial["reasons"] != "[]").all()


def test_every_fund_step_names_its_tariff_entry(synth_folder: Path) -> None:
    """Only the lines' own split (catalogue and audit) has no tariff entry; a maternity claim's
    basic-fund band, 100% up to its quota, named none."""
    batch, rejects = load_batch(synth_folder)
    trace = score_batch(batch, rejects, trace=True).trace
    funds = trace[trace["fund"] != "lines"]
    assert len(funds) and (funds["tariff_path"] != "").all(), funds[funds["tariff_path"] == ""].head()
    maternity = trace[trace["tariff_path"].str.startswith("maternity.quotas.") & (trace["action"] == "band")]
    assert len(maternity)


def test_plain_score_has_no_trace_and_the_same_claims(synth_folder: Path) -> None:
    batch, rejects = load_batch(synth_folder)
    plain, traced = score_batch(batch, rejects), score_batch(batch, rejects, trace=True)
    assert plain.trace is None
    pd.testing.assert_frame_equal(plain.claims, traced.claims)


@settings(max_examples=min(settings.default.max_examples, 60))  # a few seconds even in the ci profile
@given(persons_st())
def test_trace_adds_up_on_generated_claims(persons: list[list[dict]]) -> None:
    cases = flat(persons)
    from conftest import cases_batch

    result = score_batch(cases_batch(cases), trace=True)
    check_sums(result)
    check_messages(result)


OUT_OF_AREA = {"id": "H9", "level": 4, "out_of_area": True, "networked": True, "agreement": "active"}


def test_retired_cadre_out_of_area_cut_is_applied_and_said() -> None:
    """A cadre (ratio 1, deductible 0) out of area without a referral: the message says 20 points,
    the trace shows 80%, and the fund pays 80% of 4,200."""
    cadre = {"insutype": "310", "employee_status": "retired",
             "statuses": [{"kind": "retired_cadre", "valid_from": "2000-01-01", "valid_to": None}]}
    case = make_case(person=cadre, claim={"institution": OUT_OF_AREA})
    got = decide(case)
    assert got["hifp_pay"] == 3360.0
    assert any(r["code"] == "RATIO_CUT" and "20个百分点" in r["message"] for r in got["reasons"])
    result = score_batch(case_batch(load_case_dict(case)), trace=True)
    band = result.trace[result.trace["action"] == "band"]
    assert band["ratio"].tolist() == [0.8] and band["tariff_path"].tolist() == ["inpatient.retired_cadre.ratio"]
    assert "REF-007" in band["rule_ids"].iloc[0]


def load_case_dict(case: dict):
    from yibao.cases import parse_case

    return parse_case(case)


def test_exhausted_chronic_cap_pays_nothing_and_says_why() -> None:
    cert = [{"disease": "E11", "valid_from": "2024-03-01", "valid_to": "2026-02-28"}]
    level1 = {"id": "H1", "level": 1, "out_of_area": False, "networked": True, "agreement": "active"}
    claim = {"med_type": "14", "institution": level1, "admit_date": "2025-05-06", "discharge_date": "2025-05-06",
             "diagnoses": ["E11.9"]}
    case = make_case(person={"certifications": cert}, claim=claim,
                     lines=[line("B-CEFU", 3.0, 30, day="2025-05-06")],
                     accumulators={"chronic_paid": {"E11": 3000.0}})
    result = score_batch(case_batch(load_case_dict(case)), trace=True)
    claim_row = result.claims.iloc[0]
    assert claim_row["hifp_pay"] == 0.0
    reasons = json.loads(claim_row["reasons"])
    cap = [r for r in reasons if r["code"] == "CAP_REACHED"]
    assert len(cap) == 1 and cap[0]["rule_id"] == "CAP-001" and "已用完" in cap[0]["message"]
    step = result.trace[result.trace["action"] == "cap"].iloc[0]
    assert (step["tariff_path"], step["limit"]) == ("chronic.diseases[code=E11].annual_cap", 0.0)
    assert step["amount"] == -step["base"] < 0
    check_sums(result)
    check_messages(result)


def test_violation_reason_names_amount_and_lines() -> None:
    """S-HPV is limited to women: the whole line (2 × 180) goes, and the reason says so."""
    case = make_case(lines=[line("S-DIAL", 420.0, 2, line_id="01"), line("S-HPV", 180.0, 2, line_id="02")])
    got = decide(case)
    assert got["decision"] == "partially_approved"
    gender = [r for r in got["reasons"] if r["code"] == "GENDER"]
    assert len(gender) == 1 and gender[0]["rule_id"] == "AUD-001"
    assert "360.00元" in gender[0]["message"] and "02" in gender[0]["message"]
    assert "AUD-001" in got["rules_fired"]


def test_trace_paths_are_accepted_by_whatif_set() -> None:
    """Every tariff path a trace names is one `--set` can edit (and `tariffs show` prints)."""
    from yibao.tariffs import resolve
    from yibao.tariffs.diff import parameters
    from yibao.tariffs.edit import apply_edits

    lt = resolve(None)
    shown = {p.path for p in parameters(lt.tariff)}
    paths = set()
    for path in EXAMPLES:
        paths |= set(score_batch(case_batch(load_case(path)), trace=True).trace["tariff_path"])
    paths.discard("")
    assert paths
    for path in sorted(paths):
        assert path in shown, path
        value = next(p.value for p in parameters(lt.tariff) if p.path == path)
        apply_edits(lt, [f"{path}={json.dumps(str(value)) if value is not None else 'null'}"])


def test_people_read_chinese_labels(synth_folder: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from yibao.cli.app import app
    from yibao.settlement.labels import WORDS

    run = CliRunner().invoke(app, ["whatif", str(EXAMPLES[0])], env={"COLUMNS": "200"})
    assert run.exit_code == 0 and "通过 approved" in run.output and "计算过程" in run.output
    run = CliRunner().invoke(app, ["score", str(synth_folder), "--out", str(tmp_path), "--trace"],
                             env={"COLUMNS": "200"})
    assert run.exit_code == 0 and "部分通过 partially_approved" in run.output
    trace = pd.read_parquet(tmp_path / "trace.parquet")
    claims = pd.read_parquet(tmp_path / "claims.parquet")
    assert set(trace["mdtrt_id"]) <= set(claims["mdtrt_id"]) and len(trace) > len(claims)
    assert WORDS["violation_codes"].get("AGE;QTY_DAY") == "限年龄 AGE;超每日限量 QTY_DAY"
    assert WORDS["med_type"]["21"] == "普通住院 21" and WORDS["decision"]["rejected"] == "拒付"


def test_api_result_trace(synth_folder: Path) -> None:
    import yibao

    assert yibao.score(synth_folder).trace is None
    check_sums(yibao.score(synth_folder, trace=True))
