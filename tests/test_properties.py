"""Invariants of the arithmetic over generated claims (hypothesis).

Scoring even a one-claim batch has a fixed cost far above its arithmetic (about 0.25 s, and
about as much for eight persons of a few claims each), so where a property holds for each person
on their own, one example scores several generated persons in one batch: persons never share
accumulators, caps or tiers, and the batch pays each person's claims exactly as it would pay
them alone. An example holds 1 to 8 persons, and a property runs `BATCHES` examples: in the `ci`
profile (tests/conftest.py) 140, about 630 persons, as many as 300 examples of 1 to 3 persons
held, in half the time (the six properties were 40% of the suite's time);
`HYPOTHESIS_PROFILE=dev` runs 25 for a quick run.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import AMOUNT_FIELDS, fen, line, make_case, score_cases
from yibao.tariffs import resolve
from yibao.tariffs.edit import apply_edits

CODES = [("S-DIAL", 420.0), ("B-CEFU", 3.0), ("B-STENT", 7800.0), ("C-LENS", 2600.0),
         ("S-CT", 150.0), ("A-SALINE", 3.2), ("S-BED2", 30.0), ("S-HPV", 180.0), ("B-ALBU", 400.0)]
STATUSES = st.sampled_from([[], ["dibao"], ["tekun"], ["low_income"], ["relapse_monitored"],
                            ["priority_care"], ["low_income", "dibao"]])
PERSONS = st.integers(1, 8)  # persons scored together in one example
BATCHES = settings(max_examples=min(settings().max_examples, 140))  # examples of a property scoring PERSONS


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
def person_year_st(draw, psn_no: str = "P1") -> list[dict]:
    """One person's claims in 2025, each a case, in settlement order (one a month)."""
    employee = draw(st.booleans())
    person = {"psn_no": psn_no, "gender": draw(st.sampled_from(["F", "M"])),
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
        claim = draw(claim_st(f"{psn_no}-C{i}", month))
        cases.append(make_case(person=person, claim=claim, lines=draw(lines_st(day=claim["admit_date"]))))
    return cases


@st.composite
def persons_st(draw) -> list[list[dict]]:
    """Several persons' years, each a list of cases."""
    return [draw(person_year_st(f"P{p}")) for p in range(draw(PERSONS))]


def flat(persons: list[list[dict]]) -> list[dict]:
    return [case for cases in persons for case in cases]


def renamed(cases: list[dict], suffix: str) -> list[dict]:
    """A copy of one person's cases as another person (person and claim ids suffixed)."""
    out = copy.deepcopy(cases)
    for case in out:
        case["person"]["psn_no"] += suffix
        case["claim"]["mdtrt_id"] += suffix
    return out


@BATCHES
@given(persons_st())
def test_conservation_and_non_negative(persons: list[list[dict]]) -> None:
    claims = score_cases(flat(persons)).claims
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


@BATCHES
@given(persons_st(), st.randoms(use_true_random=False))
def test_permuting_input_rows_changes_nothing(persons: list[list[dict]], rnd) -> None:
    # a copy of every claim, as another person's, comes in the same batch in another row order:
    # claims at random places among the originals, each claim's lines shuffled
    cases = flat(persons)
    for case in renamed(cases, "~"):
        rnd.shuffle(case["lines"])
        cases.insert(rnd.randint(0, len(cases)), case)
    claims = score_cases(cases).claims.drop(columns="psn_no").set_index("mdtrt_id")
    copies = claims.index.str.endswith("~")
    original = claims[~copies].sort_index()
    permuted = claims[copies].rename(index=lambda i: i.removesuffix("~")).sort_index()
    pd.testing.assert_frame_equal(permuted, original)


@BATCHES
@given(persons_st(), st.data())
def test_raising_a_price_never_lowers_the_persons_part(persons: list[list[dict]], data) -> None:
    # the raised copy of one person is scored in the same batch, as a person of its own
    person = data.draw(st.sampled_from(persons))
    raised = renamed(person, "+")
    case = data.draw(st.sampled_from(raised))
    ln = data.draw(st.sampled_from(case["lines"]))
    ln["pric"] = round(ln["pric"] + data.draw(st.integers(1, 50000)) / 100, 2)
    claims = score_cases(flat(persons) + raised).claims.set_index("mdtrt_id")
    after = case["claim"]["mdtrt_id"]
    assert claims.loc[after, "psn_part_amt"] >= claims.loc[after.removesuffix("+"), "psn_part_amt"]


@BATCHES
@given(persons_st())
def test_batch_equals_claims_one_by_one(persons: list[list[dict]]) -> None:
    # One by one: step k scores each person's k-th claim (one claim per person) with the
    # accumulators every person had after step k − 1. Step 0 shares the batch of all claims
    # together, as copies under other person numbers.
    together = score_cases(flat(persons) + [renamed([cases[0]], "#")[0] for cases in persons])
    first = together.claims.set_index("mdtrt_id")
    singles = [first[first.index.str.endswith("#")].rename(index=lambda i: i.removesuffix("#"))]
    acc = together.accumulators
    for k in range(1, max(len(cases) for cases in persons)):
        step = score_cases([renamed([cases[k]], "#")[0] for cases in persons if k < len(cases)],
                           accumulators=acc)
        acc = step.accumulators
        singles.append(step.claims.set_index("mdtrt_id").rename(index=lambda i: i.removesuffix("#")))
    single = pd.concat(singles)
    expected = first.loc[single.index]
    for column in AMOUNT_FIELDS:
        assert (fen(single, column) == fen(expected, column)).all(), column


@BATCHES
@given(st.lists(st.lists(st.integers(1, 40_000_00), min_size=1, max_size=6), min_size=1, max_size=8))
def test_annual_caps_hold_across_claims(amounts_fen: list[list[int]]) -> None:
    statuses = [{"kind": "low_income", "valid_from": "2025-01-01", "valid_to": "2025-12-31"}]
    cases = [make_case(person={"psn_no": f"P{p}", "statuses": statuses},
                       claim={"mdtrt_id": f"P{p}-C{i}", "admit_date": f"2025-{i + 2:02d}-01",
                              "discharge_date": f"2025-{i + 2:02d}-05"},
                       lines=[line("X-ANY", a * 10 / 100, 1, chrgitm_lv="01", day=f"2025-{i + 2:02d}-02")])
             for p, amounts in enumerate(amounts_fen) for i, a in enumerate(amounts)]
    claims = score_cases(cases).claims
    per_person = claims.assign(**{c: fen(claims, c) for c in ("hifp_pay", "hifmi_pay", "maf_pay")}) \
        .groupby("psn_no")[["hifp_pay", "hifmi_pay", "maf_pay"]].sum()
    assert (per_person["hifp_pay"] <= 150_000_00).all()
    assert (per_person["hifmi_pay"] <= 400_000_00).all()
    assert (per_person["maf_pay"] <= 60_000_00).all()


def tier(burden_fen: int) -> int:
    """Catastrophic tiers of docs/tariffs.md, written out: 11,000; 0.60 to 100,000; 0.70 above."""
    first = max(0, min(burden_fen, 100_000_00) - 11_000_00) * 6000
    second = max(0, burden_fen - 100_000_00) * 7000
    return (first + second + 5000) // 10000


NO_CHRONIC_FUND = apply_edits(resolve("sample-county@2025"),
                              ["chronic.ratios[insutype=390,group=major].ratio=0",
                               "chronic.diseases[code=N18].annual_cap=0"])


@BATCHES
@given(st.lists(st.tuples(st.integers(1, 300_000_00),
                          st.lists(st.integers(1, 99), min_size=0, max_size=5, unique=True)),
                min_size=1, max_size=8))
def test_splitting_a_year_keeps_the_catastrophic_total(years: list[tuple[int, list[int]]]) -> None:
    # with the chronic pool paying nothing, each claim's burden is its in-policy amount
    certified = [{"disease": "N18", "valid_from": "2024-01-01", "valid_to": "2026-12-31"}]
    cases = []
    for p, (total_fen, cuts) in enumerate(years):
        points = sorted({total_fen * c // 100 for c in cuts} - {0, total_fen})
        parts = np.diff([0] + points + [total_fen])
        cases += [make_case(person={"psn_no": f"P{p}", "certifications": certified},
                            claim={"mdtrt_id": f"P{p}-C{i}", "med_type": "14", "diagnoses": ["N18.0"],
                                   "admit_date": f"2025-{i + 2:02d}-03", "discharge_date": f"2025-{i + 2:02d}-03"},
                            lines=[line("X-ANY", int(part) / 100, 1, chrgitm_lv="01", day=f"2025-{i + 2:02d}-03")])
                  for i, part in enumerate(parts)]
    claims = score_cases(cases, tariff=NO_CHRONIC_FUND).claims
    paid = pd.Series(fen(claims, "hifmi_pay"), index=claims["psn_no"]).groupby(level=0).sum()
    expected = pd.Series({f"P{p}": min(tier(total), 400_000_00) for p, (total, _) in enumerate(years)})
    assert (paid.sort_index() == expected.sort_index()).all()
