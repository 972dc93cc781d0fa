"""The vectorized calculator against `benchmarks/reference.py`, claim by claim, to the fen.

The reference is a second, independent implementation of the arithmetic: one claim at a time,
Python integers and `Fraction`s, reading the tariff model directly rather than the calculator's
precomputed terms. Both are fed the same claims and the same rule conclusions (the rule base is
not under test here), so any difference in an amount is a difference in the arithmetic.

Besides the bundled tariff, the batch is scored under edited tariffs that switch on what the
sample county does not use (band bounds above the deductible, an annual inpatient deductible, a
cap on covered amounts, with or without the deductible, caps on outpatient and chronic covered
fees, monthly outpatient caps, a chronic deductible, tiers above the threshold, status tilts)
and with caps and thresholds low enough to bind in a small batch.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType
import numpy as np
import pandas as pd
import pytest

from conftest import cases_batch, decide, fen, line, make_case
from yibao.calendar import default_calendar
from yibao.io import Batch, read_batch
from yibao.pipeline import assign_tariffs, score_batch
from yibao.rules.engine import evaluate
from yibao.rules.facts import derive_facts
from yibao.tables import LIST_SEP
from yibao.tariffs import LoadedTariff, resolve
from yibao.tariffs.catalogue import parse_catalogue, read_catalogue_text
from yibao.tariffs.edit import apply_edits

REFERENCE_PY = Path(__file__).parents[1] / "benchmarks" / "reference.py"


def _load_reference() -> ModuleType:
    """benchmarks/ is not a package: load the file (as `reference`, the name benchmarks use)."""
    spec = importlib.util.spec_from_file_location("reference", REFERENCE_PY)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules.setdefault("reference", module)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


reference = _load_reference()

# Edits switching on the tariff model's options, and caps low enough to bind on a few hundred
# claims; each changes some claim's amounts in the synthetic month.
PER_ADMISSION = [
    "inpatient.repeat_admission_factor=0.3333",
    "inpatient.child_deductible_factor=0.3333",
    'inpatient.annual_cap={"390": 5000, "310": 7000}',
    "inpatient.status_ratio_tilt={dibao: 0.05, tekun: 0.10, low_income: 0.03}",
    "inpatient.out_of_area_cut={remote_residence: 0.05, referral: 0.35, unreferred: 0.6}",
    "inpatient.retired_cadre={deductible_factor: 0.5, ratio: 0.95, capped: true}",
    "outpatient.schemes[insutype=390].monthly_cap=20",
    "outpatient.schemes[insutype=310,employee_status=in_service].monthly_cap=60",
    "outpatient.schemes[insutype=310,employee_status=retired].annual_cap=95.5",
    "chronic.deductible=15",
    "catastrophic.funds[0].threshold=2500",
    "catastrophic.funds[0].annual_cap=900",
    "catastrophic.funds[2].tier_basis=above_threshold",
    "catastrophic.funds[2].threshold=1000",
    "catastrophic.funds[2].tiers=[{upto: 3000, ratio: 0.5}, {ratio: 0.9}]",
    "assistance.annual_cap=200",
    "assistance.statuses[status=low_income].deductible=300",
    "maternity.quotas.prenatal=123.45",
]
ANNUAL_COVERED = [
    "inpatient.band_basis=above_deductible",
    "inpatient.deductible_scope=annual",
    "inpatient.cap_basis=covered",
    'inpatient.annual_cap={"390": 6000, "310": 8000}',
    "catastrophic.funds[0].tier_basis=above_threshold",
    "catastrophic.funds[0].threshold=2000",
    "catastrophic.funds[0].tiers=[{upto: 6000, ratio: 0.6}, {ratio: 0.7}]",
    "chronic.deductible=40",
    "chronic.deductible_scope=annual",
]
# caps on covered fees: outpatient per visit, month and year, chronic, and an inpatient covered cap
# that counts the deductible
COVERED_CAPS = [
    "inpatient.cap_basis=covered",
    "inpatient.cap_counts_deductible=true",
    'inpatient.annual_cap={"390": 4000, "310": 6000}',
    "outpatient.schemes[insutype=390].covered_cap={per_visit: 60, monthly: 100, annual: 150}",
    "outpatient.schemes[insutype=310,employee_status=in_service].covered_cap={monthly: 300}",
    "outpatient.schemes[insutype=310,employee_status=in_service].monthly_cap=100",
    "chronic.covered_cap={per_visit: 400, annual: 900}",
]
UNCAPPED_COVERED = ["inpatient.cap_basis=covered", 'inpatient.annual_cap={"390": null, "310": 60000}']
# catastrophic insurance and assistance on general outpatient claims too (a county that lists them)
OUTPATIENT_LAYERS = ['catastrophic.burden_med_types=["21", "14", "11"]', 'assistance.med_types=["21", "14", "11"]',
                     "catastrophic.funds[0].threshold=300", "catastrophic.funds[2].threshold=200"]

# both tier funds for each insurance type (every `base`), assistance in two stages with caps of
# their own, and basic caps (annual, monthly, per disease) low enough to cut often
LAYERS = [
    'catastrophic.funds=[{fund: hifmi, insutype: "390", threshold: 2000, annual_cap: 1500,'
    ' tiers: [{upto: 8000, ratio: 0.6}, {ratio: 0.7}]},'
    ' {fund: hifmi, insutype: "390", statuses: [tekun, dibao, relapse_monitored], threshold: 1000, tiers: [{ratio: 0.65}]},'
    ' {fund: hifob, insutype: "390", threshold: 300, base: above_basic_cap, annual_cap: 900,'
    ' tiers: [{upto: 1000, ratio: 0.5}, {ratio: 0.8}]},'
    ' {fund: hifob, insutype: "310", threshold: 500, tiers: [{ratio: 0.9}], annual_cap: 2000},'
    ' {fund: hifmi, insutype: "310", threshold: 300, base: burden_after_deductible, tiers: [{ratio: 0.6}]}]',
    'catastrophic.burden_med_types=["21", "14", "11"]',
    'inpatient.annual_cap={"390": 5000, "310": 7000}',
    "outpatient.schemes[insutype=390].monthly_cap=20",
    "chronic.diseases[code=E11].annual_cap=100",
    "assistance.annual_cap=700",
    "assistance.statuses[status=dibao]={status: dibao, stages: [{deductible: 0, bands: [{ratio: 0.7}], annual_cap: 400},"
    " {deductible: 150, bands: [{upto: 500, ratio: 0.5}, {ratio: 0.8}]}]}",
    "assistance.statuses[status=tekun]={status: tekun, stages: [{deductible: 100, bands: [{ratio: 0.9}]},"
    " {deductible: 0, bands: [{ratio: 0.5}], annual_cap: 60}]}",
    "assistance.statuses[status=low_income]={status: low_income, stages: [{deductible: 300, bands: [{ratio: 0.6}],"
    " annual_cap: 250}, {deductible: 100, bands: [{ratio: 0.4}], annual_cap: 80}]}",
    "assistance.statuses[status=priority_care]={status: priority_care, stages: [{deductible: 0, bands: [{ratio: 0.5}]},"
    " {deductible: 50, bands: [{ratio: 0.3}]}]}",
]
# residents have the catastrophic fund only with a tilting status, the large-amount one always: a
# claim with the large-amount fund alone pays it as the large-amount layer, on its own accumulators
HIFMI_TILTED_ONLY = (
    'catastrophic.funds=[{fund: hifmi, insutype: "390", statuses: [tekun, dibao, relapse_monitored], threshold: 1000,'
    ' tiers: [{ratio: 0.65}]}, {fund: hifob, insutype: "390", threshold: 300, annual_cap: 900,'
    ' tiers: [{upto: 1000, ratio: 0.5}, {ratio: 0.8}]}, {fund: hifob, insutype: "310", threshold: 500, tiers: [{ratio: 0.9}]}]')

# items with a fixed person share on every kind of claim of the synthetic month (inpatient,
# maternity, general and chronic outpatient); a 乙类 item's own pre-self-pay share is cleared first
SHARE_ITEMS = ["catalogue[code=S-NURSE1].person_share=0.25", "catalogue[code=A-SALINE].person_share=0.1",
               "catalogue[code=A-ISON].person_share=0.35", "catalogue[code=B-ASPT].selfpay_prop=",
               "catalogue[code=B-ASPT].person_share=0.2", "catalogue[code=B-GLAR].selfpay_prop=",
               "catalogue[code=B-GLAR].person_share=0.05"]


def edited(edits: list[str]) -> LoadedTariff:
    return apply_edits(resolve("sample-county@2025"), edits)


# --- the same claims and conclusions for the reference --------------------------------------

def _conclusions(batch: Batch, keys: np.ndarray, tariffs: dict[str, LoadedTariff]) -> pd.DataFrame:
    """The rule base's conclusions per claim (by row position), each claim under its version."""
    claims = batch.claims.reset_index(drop=True)
    parts = []
    for key, lt in tariffs.items():
        rows = claims[keys == key]
        sub = replace(batch, claims=rows, lines=batch.lines[batch.lines["mdtrt_id"].isin(rows["mdtrt_id"])])
        parts.append(evaluate(derive_facts(sub, lt, default_calendar()), lt))
    return pd.concat(parts).sort_index()


def reference_input(batch: Batch, tariff: str | LoadedTariff | None
                    ) -> tuple[list[dict], dict[str, list[dict]], dict[str, LoadedTariff]]:
    """What `reference.score_rows` reads: per claim the claim, its person and institution level,
    benefit year and settlement date, and the rule conclusions; the lines by claim. Built here
    from the batch with the pipeline's public pieces (tariff assignment, facts, rule base), not
    from the calculator's own context."""
    claims = batch.claims.reset_index(drop=True)
    keys, tariffs, ref_dates = assign_tariffs(claims, tariff)
    conclusions = _conclusions(batch, keys, tariffs)
    persons = batch.persons.set_index("psn_no")
    levels = batch.institutions.set_index("institution_id")["level"]
    rows = []
    for pos, c in enumerate(claims.to_dict("records")):
        if not keys[pos]:
            continue  # no tariff in force: the pipeline rejects the claim
        p = persons.loc[c["psn_no"]]
        ref_day = pd.Timestamp(ref_dates[pos])
        manual = c["settlement_mode"] == "manual" and not pd.isna(c["submitted_date"])
        rows.append(c | conclusions.loc[pos].to_dict() | {
            "diagnoses": [d for d in c["diagnoses"].split(LIST_SEP) if d],
            "gender": p["gender"], "birth_date": p["birth_date"], "insutype": p["insutype"],
            "employee_status": p["employee_status"],
            "level": int(levels.get(c["institution_id"], 0)) if c["institution_id"] else 0,
            "tariff_key": keys[pos], "year": ref_day.year,
            "setl_date": c["submitted_date"] if manual else ref_day})
    lines: dict[str, list[dict]] = {}
    for ln in batch.lines.to_dict("records"):
        lines.setdefault(ln["mdtrt_id"], []).append(ln)
    return rows, lines, tariffs


def disagreements(batch: Batch, tariff: str | LoadedTariff | None) -> list[str]:
    """Every (claim, amount) where the pipeline and the reference differ, in fen."""
    scored = score_batch(batch, tariff=tariff)
    assert scored.rejects.empty, scored.rejects.head().to_dict("records")
    amounts = reference.score_rows(*reference_input(batch, tariff))
    claims = scored.claims.set_index("mdtrt_id")
    assert sorted(amounts) == sorted(claims.index)
    fields = list(next(iter(amounts.values())))
    ids = list(amounts)
    mine = pd.DataFrame([amounts[i] for i in ids], index=ids)[fields]
    pipeline = pd.DataFrame({f: fen(claims.loc[ids, f]) for f in fields}, index=ids)
    differ = np.argwhere((mine != pipeline).to_numpy())
    return [f"{ids[i]} {fields[j]}: pipeline {pipeline.iat[i, j]} fen, reference {mine.iat[i, j]} fen"
            for i, j in differ]


@pytest.fixture(scope="module")
def batch(synth_folder: Path) -> Batch:
    batch, rejects = read_batch(synth_folder)
    assert rejects.empty
    return batch


@pytest.mark.parametrize("edits", [
    pytest.param(None, id="sample-county"),
    pytest.param(PER_ADMISSION, id="per-admission-options"),
    pytest.param(ANNUAL_COVERED, id="annual-deductible-covered-cap"),
    pytest.param(COVERED_CAPS, id="covered-fee-caps"),
    pytest.param(UNCAPPED_COVERED, id="covered-cap-uncapped"),
    pytest.param(OUTPATIENT_LAYERS, id="outpatient-catastrophic-and-assistance"),
    pytest.param(LAYERS, id="two-tier-funds-and-assistance-stages"),
    pytest.param(LAYERS + ["inpatient.cap_basis=covered"], id="two-tier-funds-covered-cap"),
    pytest.param(LAYERS + [HIFMI_TILTED_ONLY], id="catastrophic-fund-only-for-some-statuses"),
    pytest.param(LAYERS + COVERED_CAPS + ['catastrophic.funds[fund=hifob,insutype=310]={fund: hifob, insutype: "310",'
                                          ' threshold: 500, tiers: [{ratio: 0.9}], base: above_basic_cap}'],
                 id="two-tier-funds-covered-fee-caps"),
    pytest.param(PER_ADMISSION + SHARE_ITEMS, id="item-shares-within-caps"),
    pytest.param(PER_ADMISSION + SHARE_ITEMS + ["item_shares.within_caps=false"], id="item-shares-outside-caps"),
    pytest.param(ANNUAL_COVERED + SHARE_ITEMS, id="item-shares-covered-cap"),
    pytest.param(LAYERS + COVERED_CAPS + SHARE_ITEMS + ["item_shares.within_caps=false"],
                 id="layers-covered-caps-item-shares"),
])
def test_pipeline_agrees_with_the_reference(batch: Batch, edits: list[str] | None) -> None:
    diffs = disagreements(batch, None if edits is None else edited(edits))
    assert not diffs, f"{len(diffs)} differences, e.g.\n" + "\n".join(diffs[:20])


def test_child_retired_cadre_deductible_is_rounded_once() -> None:
    """A resident child with a retired-cadre status (what-if: cadre deductible factor 0.3333):
    the factors multiply and the deductible is rounded once (docs/tariffs.md), by hand
    500 × 0.5 × 0.3333 = 83.325 → 83.33 yuan; the reference agrees with the hand figure."""
    tariff = edited(["inpatient.retired_cadre.deductible_factor=0.3333"])
    cadre = [{"kind": "retired_cadre", "valid_from": "2020-01-01"}]
    case = make_case(person={"birth_date": "2016-02-01", "statuses": cadre})
    batch = cases_batch([case])
    rows, lines, tariffs = reference_input(batch, tariff)
    assert reference.score_rows(rows, lines, tariffs)["C1"]["act_pay_dedc"] == 8333
    assert disagreements(batch, tariff) == []


def test_a_row_out_of_its_period_lends_nothing_to_a_line_given_a_level() -> None:
    """S-CT capped at 150.00 with an 8 % share to 30 June and at 120.00 with 5 % from 1 August,
    M-CAST (a material: 30 % by its kind, cap 150.00) listed to 30 June; lines of 160.00 (M-CAST
    200.00). In July neither code is listed (docs/tariffs.md `valid_from`, `valid_to`): a July line
    declared 乙类 with no share of its own has no share, kind or cap (the calculator read its code's
    first row's share: S-CT 12.80, M-CAST 60.00); one giving a share and a cap reads them; one giving
    nothing is full self-pay. The reference, which read one row per code (the last), agrees."""
    lt = resolve("sample-county@2025")
    text = read_catalogue_text(lt.catalogue_file)
    ct, cast = text[text["code"] == "S-CT"], text[text["code"] == "M-CAST"]
    text = pd.concat([text[~text["code"].isin(["S-CT", "M-CAST"])], ct.assign(valid_to="2025-06-30"),
                      ct.assign(valid_from="2025-08-01", price_cap="120.00", selfpay_prop="0.05"),
                      cast.assign(valid_to="2025-06-30")], ignore_index=True)
    periods = replace(lt, catalogue=parse_catalogue(text, lt.catalogue_file))
    case = make_case(claim={"admit_date": "2025-06-28", "discharge_date": "2025-08-03"}, lines=[
        line("S-CT", 160.0, day="2025-06-29", line_id="june"),
        line("S-CT", 160.0, day="2025-07-02", line_id="july", chrgitm_lv="02"),
        line("M-CAST", 200.0, day="2025-07-02", line_id="july-cast", chrgitm_lv="02"),
        line("S-CT", 160.0, day="2025-07-03", line_id="july-own", chrgitm_lv="02", selfpay_prop=0.1,
             pric_uplmt_amt=140.0),
        line("S-CT", 160.0, day="2025-07-04", line_id="july-none"),
        line("S-CT", 160.0, day="2025-08-02", line_id="august")])
    split = ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")
    got = {ln["line_id"]: [ln[k] for k in split] for ln in decide(case, tariff=periods)["lines"]}
    assert got == {"june": [0.0, 10.0, 12.0, 138.0],  # over 150: 10; 8 % of 150
                   "july": [0.0, 0.0, 0.0, 160.0], "july-cast": [0.0, 0.0, 0.0, 200.0],
                   "july-own": [0.0, 20.0, 14.0, 126.0],  # over its 140: 20; its 10 % of 140
                   "july-none": [160.0, 0.0, 0.0, 0.0],
                   "august": [0.0, 40.0, 6.0, 114.0]}  # over 120: 40; 5 % of 120
    batch = cases_batch([case])
    amounts = reference.score_rows(*reference_input(batch, periods))["C1"]
    assert [amounts[k] for k in split] == [16000, 7000, 3200, 73800]
    assert disagreements(batch, periods) == []
