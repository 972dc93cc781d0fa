"""Invariants of the arithmetic over generated claims (hypothesis)."""

from __future__ import annotations

import copy

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import line, make_case, score_cases
from yibao.money import yuan_array_to_fen
from yibao.tariffs import resolve
from yibao.tariffs.edit import apply_edits

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CODES = [("S-DIAL", 420.0), ("B-CEFU", 3.0), ("B-STENT", 7800.0), ("C-LENS", 2600.0),
         ("S-CT", 150.0), ("A-SALINE", 3.2), ("S-BED2", 30.0), ("S-HPV", 180.0), ("B-ALBU", 400.0)]
STATUSES = st.sampled_from([[], ["dibao"], ["tekun"], ["low_income"], ["relapse_monitored"],
                            ["priority_care"], ["low_income", "dibao"]])


@st.composite
def lines_st(draw, day: str = "2025-05-07") -> list[dict]:
    picked = draw(st.lists(st.tuples(st.sampled_from(CODES), st.integers(1, 40),
                                     st.integers(80, 130)), min_size=1, max_size=6))
    return [line(code, round(price * pct / 100, 2), cnt, day=day, line_id=f"{i:02d}")
            for i, ((code, price), cnt, pct) in enumerate(picked)]


@st.composite
def claim_st(draw, mdtrt_id: str, month: int) -> dict:
    level = draw(st.integers(1, 4))
    med_type = draw(st.sampled_from(["21", "21", "11", "14"]))
    admit = f"2025-{month:02d}-06"
    discharge = f"2025-{month:02d}-{draw(st.integers(6, 20)):02d}" if med_type == "21" else admit
    inst = {"id": f"H{level}", "level": level, "out_of_area": level == 4, "networked": True,
            "agreement": "active"}
    return {"mdtrt_id": mdtrt_id, "med_type": med_type, "institution": inst, "admit_date": admit,
            "discharge_date": discharge, "submitted_date": discharge,
            "diagnoses": [draw(st.sampled_from(["E11.9", "K74.6", "J18.9", "N18.0"]))],
            "settlement_mode": draw(st.sampled_from(["direct", "manual"])),
            "materials": ["id_document", "invoice", "fee_list", "prescription", "diagnosis_certificate"]}


@st.composite
def person_year_st(draw) -> list[dict]:
    """One person's claims in 2025, each a case."""
    employee = draw(st.booleans())
    person = {"psn_no": "P1", "gender": draw(st.sampled_from(["F", "M"])),
              "birth_date": draw(st.sampled_from(["1950-03-01", "1980-07-15", "2016-02-29"])),
              "insutype": "310" if employee else "390",
              "employee_status": draw(st.sampled_from(["in_service", "retired"])) if employee else None,
              "statuses": [{"kind": k, "valid_from": "2025-01-01", "valid_to": "2025-12-31"}
                           for k in draw(STATUSES)],
              "certifications": [{"disease": d, "valid_from": "2024-01-01", "valid_to": "2026-12-31"}
                                 for d in ("E11", "N18")]}
    n = draw(st.integers(1, 4))
    cases = []
    for i in range(n):
        month = i + 2
        claim = draw(claim_st(f"C{i}", month))
        cases.append(make_case(person=person, claim=claim, lines=draw(lines_st(day=claim["admit_date"]))))
    return cases


def fen(frame, column: str) -> np.ndarray:
    return yuan_array_to_fen(frame[column].to_numpy())


@SETTINGS
@given(person_year_st())
def test_conservation_and_non_negative(cases: list[dict]) -> None:
    claims = score_cases(cases).claims
    assert (fen(claims, "medfee_sumamt") == fen(claims, "fund_pay_sumamt") + fen(claims, "psn_part_amt")
            + fen(claims, "hosp_part_amt")).all()
    split = sum(fen(claims, c) for c in ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
                                         "inscp_scp_amt", "violation_amt"))
    assert (split == fen(claims, "medfee_sumamt")).all()
    for column in ("act_pay_dedc", "hifp_pay", "hifmi_pay", "hifob_pay", "maf_pay", "psn_part_amt",
                   "hosp_part_amt", "inscp_scp_amt"):
        assert (fen(claims, column) >= 0).all(), column
    assert (fen(claims, "fund_pay_sumamt") <= fen(claims, "inscp_scp_amt")).all()
    assert (fen(claims, "fund_pay_sumamt") == sum(fen(claims, c) for c in
                                                   ("hifp_pay", "hifmi_pay", "hifob_pay", "maf_pay"))).all()


@SETTINGS
@given(person_year_st(), st.randoms(use_true_random=False))
def test_permuting_input_rows_changes_nothing(cases: list[dict], rnd) -> None:
    shuffled = copy.deepcopy(cases)
    for case in shuffled:
        rnd.shuffle(case["lines"])
    rnd.shuffle(shuffled)
    a = score_cases(cases).claims.sort_values("mdtrt_id").reset_index(drop=True)
    b = score_cases(shuffled).claims.sort_values("mdtrt_id").reset_index(drop=True)
    assert a.equals(b)


@SETTINGS
@given(person_year_st(), st.data())
def test_raising_a_price_never_lowers_the_persons_part(cases: list[dict], data) -> None:
    raised = copy.deepcopy(cases)
    case = data.draw(st.sampled_from(raised))
    ln = data.draw(st.sampled_from(case["lines"]))
    ln["pric"] = round(ln["pric"] + data.draw(st.integers(1, 50000)) / 100, 2)
    before = score_cases(cases).claims.set_index("mdtrt_id")
    after = score_cases(raised).claims.set_index("mdtrt_id")
    cid = case["claim"]["mdtrt_id"]
    assert after.loc[cid, "psn_part_amt"] >= before.loc[cid, "psn_part_amt"]


@SETTINGS
@given(person_year_st())
def test_batch_equals_claims_one_by_one(cases: list[dict]) -> None:
    together = score_cases(cases).claims.set_index("mdtrt_id")
    acc = None
    for case in cases:  # in settlement order: months increase
        single = score_cases([case], accumulators=acc)
        acc = single.accumulators
        row = single.claims.iloc[0]
        expected = together.loc[row["mdtrt_id"]]
        for column in ("hifp_pay", "hifmi_pay", "hifob_pay", "maf_pay", "act_pay_dedc", "psn_part_amt"):
            assert row[column] == expected[column], column


@SETTINGS
@given(st.lists(st.integers(1, 40_000_00), min_size=1, max_size=6))
def test_annual_caps_hold_across_claims(amounts_fen: list[int]) -> None:
    person = {"statuses": [{"kind": "low_income", "valid_from": "2025-01-01", "valid_to": "2025-12-31"}]}
    cases = [make_case(person=person, claim={"mdtrt_id": f"C{i}", "admit_date": f"2025-{i + 2:02d}-01",
                                             "discharge_date": f"2025-{i + 2:02d}-05"},
                       lines=[line("X-ANY", a * 10 / 100, 1, chrgitm_lv="01", day=f"2025-{i + 2:02d}-02")])
             for i, a in enumerate(amounts_fen)]
    claims = score_cases(cases).claims
    assert fen(claims, "hifp_pay").sum() <= 150_000_00
    assert fen(claims, "hifmi_pay").sum() <= 400_000_00
    assert fen(claims, "maf_pay").sum() <= 60_000_00


def tier(burden_fen: int) -> int:
    """Catastrophic tiers of REFERENCE_TARIFF.md, written out: 11,000; 0.60 to 100,000; 0.70 above."""
    first = max(0, min(burden_fen, 100_000_00) - 11_000_00) * 6000
    second = max(0, burden_fen - 100_000_00) * 7000
    return (first + second + 5000) // 10000


NO_CHRONIC_FUND = apply_edits(resolve("sample-county@2025"),
                              ["chronic.ratios[insutype=390,group=major].ratio=0",
                               "chronic.diseases[code=N18].annual_cap=0"])


@SETTINGS
@given(st.integers(1, 300_000_00), st.lists(st.integers(1, 99), min_size=0, max_size=5, unique=True))
def test_splitting_a_year_keeps_the_catastrophic_total(total_fen: int, cuts: list[int]) -> None:
    # with the chronic pool paying nothing, each claim's burden is its in-policy amount
    points = sorted({total_fen * c // 100 for c in cuts} - {0, total_fen})
    parts = np.diff([0] + points + [total_fen])
    person = {"certifications": [{"disease": "N18", "valid_from": "2024-01-01", "valid_to": "2026-12-31"}]}
    cases = [make_case(person=person,
                       claim={"mdtrt_id": f"C{i}", "med_type": "14", "diagnoses": ["N18.0"],
                              "admit_date": f"2025-{i + 2:02d}-03", "discharge_date": f"2025-{i + 2:02d}-03"},
                       lines=[line("X-ANY", int(p) / 100, 1, chrgitm_lv="01", day=f"2025-{i + 2:02d}-03")])
             for i, p in enumerate(parts)]
    claims = score_cases(cases, tariff=NO_CHRONIC_FUND).claims
    assert fen(claims, "hifmi_pay").sum() == min(tier(total_fen), 400_000_00)
