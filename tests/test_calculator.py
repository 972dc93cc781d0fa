"""Each tariff feature, with amounts worked by hand from docs/tariffs.md (sample-county 2025).

`X` lines carry an inline 甲类 level and no price cap, so the in-policy amount is exactly the price:
that keeps the hand arithmetic about the feature under test.
"""

from __future__ import annotations

import pytest

from conftest import EXAMPLES, decide, line, make_case


def x(amount: float, **extra) -> dict:
    return line("X-ANY", amount, 1, chrgitm_lv="01", **extra)


def pay(case: dict) -> dict:
    got = decide(case)
    fen = {k: round(v * 100) for k, v in got.items() if isinstance(v, float)}
    assert fen["medfee_sumamt"] == fen["fund_pay_sumamt"] + fen["psn_part_amt"] + fen["hosp_part_amt"]
    return got


# ---- inpatient deductible and bands (resident level 2: 500; ≤1,500 → 0.65, above → 0.83) ----

def test_resident_county_bands() -> None:
    # (1,500 − 500) × 0.65 + (4,200 − 1,500) × 0.83 = 650 + 2,241
    got = pay(make_case(lines=[line("S-DIAL", 420.0, 10)]))
    assert (got["act_pay_dedc"], got["hifp_pay"]) == (500.0, 2891.0)


def test_repeat_admission_halves_deductible() -> None:
    # deductible 250: (1,500 − 250) × 0.65 + 2,241 = 812.50 + 2,241
    got = pay(make_case(accumulators={"inpatient_admissions": 1}))
    assert (got["act_pay_dedc"], got["hifp_pay"]) == (250.0, 3053.5)
    assert got["accumulators"]["inpatient_admissions"] == 2


def test_child_and_repeat_factors_multiply() -> None:
    # 500 × 0.5 × 0.5 = 125: (1,500 − 125) × 0.65 + 2,241 = 893.75 + 2,241
    got = pay(make_case(person={"birth_date": "2015-01-01"}, accumulators={"inpatient_admissions": 1}))
    assert (got["act_pay_dedc"], got["hifp_pay"]) == (125.0, 3134.75)


def test_township_three_bands() -> None:
    # level 1, deductible 200: 800 × 0.75 + 1,000 × 0.80 + 1,000 × 0.90 = 2,300
    inst = {"id": "H1", "level": 1, "out_of_area": False, "networked": True, "agreement": "active"}
    got = pay(make_case(claim={"institution": inst}, lines=[x(3000)]))
    assert got["hifp_pay"] == 2300.0
    assert got["pool_prop"] == 0.75


def test_deductible_never_exceeds_in_policy() -> None:
    got = pay(make_case(lines=[x(300)]))
    assert (got["act_pay_dedc"], got["hifp_pay"]) == (300.0, 0.0)


# ---- out-of-area (level 4: deductible 2,000; ≤7,000 → 0.50, above → 0.68) ----

OUT_OF_AREA = {"id": "H9", "level": 4, "out_of_area": True, "networked": True, "agreement": "active"}


@pytest.mark.parametrize("filings, expected", [
    # remote residence: no cut: 5,000 × 0.50 + 3,000 × 0.68
    ([{"kind": "remote_residence", "valid_from": "2025-01-01", "valid_to": "2027-12-31"}], 4540.0),
    # valid normal referral, filed before admission: cut 0.10: 5,000 × 0.40 + 3,000 × 0.58
    ([{"kind": "referral", "referral_kind": "normal", "filed_date": "2025-05-01",
       "target_institution": "H9", "materials": ["referral_approval_form"]}], 3740.0),
    # no filing: cut 0.20: 5,000 × 0.30 + 3,000 × 0.48
    ([], 2940.0),
    # referral filed after admission counts as none
    ([{"kind": "referral", "referral_kind": "normal", "filed_date": "2025-05-07",
       "target_institution": "H9", "materials": ["referral_approval_form"]}], 2940.0),
])
def test_out_of_area_cut(filings: list, expected: float) -> None:
    got = pay(make_case(person={"filings": filings}, claim={"institution": OUT_OF_AREA}, lines=[x(10000)]))
    assert got["hifp_pay"] == expected
    assert got["decision"] == "approved"
    if expected == 2940.0:
        assert got["reasons"], "the reduced ratio is explained"


# ---- retired cadres, annual cap ----

def test_retired_cadre_pays_everything_without_cap() -> None:
    person = {"insutype": "310", "employee_status": "retired",
              "statuses": [{"kind": "retired_cadre", "valid_from": "2000-01-01", "valid_to": None}]}
    got = pay(make_case(person=person, lines=[x(10000)], accumulators={"hifp_paid": 59000}))
    assert (got["act_pay_dedc"], got["hifp_pay"], got["psn_part_amt"]) == (0.0, 10000.0, 0.0)


def test_annual_basic_cap() -> None:
    # raw 650 + (10,000 − 1,500) × 0.83 = 7,705; only 100 left of 150,000
    got = pay(make_case(lines=[x(10000)], accumulators={"hifp_paid": 149900}))
    assert got["hifp_pay"] == 100.0
    assert got["accumulators"]["hifp_paid"] == 150000.0


# ---- catastrophic (residents: threshold 11,000; ≤100,000 → 0.60, above → 0.70; cap 400,000) ----

def test_catastrophic_on_accumulated_burden() -> None:
    # burden 10,000 − 7,705 = 2,295; F(12,295) − F(10,000) = 1,295 × 0.60
    got = pay(make_case(lines=[x(10000)], accumulators={"catastrophic_base": 10000}))
    assert got["hifmi_pay"] == 777.0
    assert got["accumulators"]["catastrophic_base"] == 12295.0


def test_catastrophic_crosses_a_tier() -> None:
    # F(101,295) − F(99,000) = (89,000 × 0.60 + 1,295 × 0.70) − 88,000 × 0.60 = 54,306.50 − 52,800
    got = pay(make_case(lines=[x(10000)], accumulators={"catastrophic_base": 99000}))
    assert got["hifmi_pay"] == 1506.5


def test_catastrophic_annual_cap() -> None:
    got = pay(make_case(lines=[x(10000)], accumulators={"catastrophic_base": 99000,
                                                       "catastrophic_paid": 399500}))
    assert got["hifmi_pay"] == 500.0


def test_employee_large_amount_fund() -> None:
    # employee level 3: (30,000 − 600) × 0.85 = 24,990; burden 5,010; (23,010 − 20,000) × 0.90
    inst = {"id": "H1", "level": 3, "out_of_area": False, "networked": True, "agreement": "active"}
    person = {"insutype": "310", "employee_status": "in_service"}
    got = pay(make_case(person=person, claim={"institution": inst}, lines=[x(30000)],
                        accumulators={"catastrophic_base": 18000}))
    assert (got["hifp_pay"], got["hifob_pay"], got["hifmi_pay"]) == (24990.0, 2709.0, 0.0)


# ---- medical assistance (after basic and catastrophic) ----

def status(kind: str) -> dict:
    return {"kind": kind, "valid_from": "2025-01-01", "valid_to": "2025-12-31"}


def test_low_income_assistance_deductible() -> None:
    # base 10,000 − 7,705 − 0 = 2,295; deductible 2,100 → 195 × 0.60
    got = pay(make_case(person={"statuses": [status("low_income")]}, lines=[x(10000)]))
    assert got["maf_pay"] == 117.0
    assert got["accumulators"]["maf_deductible_used"] == 2100.0


def test_low_income_deductible_used_earlier_and_cap() -> None:
    got = pay(make_case(person={"statuses": [status("low_income")]}, lines=[x(10000)],
                        accumulators={"maf_deductible_used": 2100}))
    assert got["maf_pay"] == 1377.0  # 2,295 × 0.60
    got = pay(make_case(person={"statuses": [status("low_income")]}, lines=[x(10000)],
                        accumulators={"maf_deductible_used": 2100, "maf_paid": 59900}))
    assert got["maf_pay"] == 100.0


def test_status_precedence_dibao_before_low_income() -> None:
    got = pay(make_case(person={"statuses": [status("low_income"), status("dibao")]}, lines=[x(10000)]))
    assert got["maf_pay"] == 1606.5  # 2,295 × 0.70, no deductible


def test_tekun_tilted_catastrophic_and_assistance() -> None:
    # tilted threshold 5,500: burden 2,295 + earlier 5,000 → (7,295 − 5,500) × 0.65 = 1,166.75;
    # assistance (2,295 − 1,166.75) × 0.90 = 1,015.425 → 1,015.43
    got = pay(make_case(person={"statuses": [status("tekun")]}, lines=[x(10000)],
                        accumulators={"catastrophic_base": 5000}))
    assert (got["hifmi_pay"], got["maf_pay"]) == (1166.75, 1015.43)


# ---- general outpatient ----

LEVEL1 = {"id": "H1", "level": 1, "out_of_area": False, "networked": True, "agreement": "active"}


def test_resident_outpatient_ratio_and_cap() -> None:
    claim = {"med_type": "11", "institution": LEVEL1, "admit_date": "2025-05-06", "discharge_date": "2025-05-06"}
    got = pay(make_case(claim=claim, lines=[x(400, service_date="2025-05-06")]))
    assert (got["fund_pool"], got["hifp_pay"]) == ("outpatient", 240.0)
    got = pay(make_case(claim=claim, lines=[x(400, service_date="2025-05-06")],
                        accumulators={"outpatient_paid": 200}))
    assert got["hifp_pay"] == 100.0  # 300 − 200 left


def test_employee_outpatient_annual_deductible() -> None:
    claim = {"med_type": "11", "admit_date": "2025-05-06", "discharge_date": "2025-05-06"}
    employee = {"insutype": "310", "employee_status": "in_service"}
    got = pay(make_case(person=employee, claim=claim, lines=[x(500, service_date="2025-05-06")]))
    assert (got["act_pay_dedc"], got["hifp_pay"]) == (200.0, 180.0)  # (500 − 200) × 0.60
    got = pay(make_case(person=employee, claim=claim, lines=[x(500, service_date="2025-05-06")],
                        accumulators={"outpatient_deductible_used": 150}))
    assert (got["act_pay_dedc"], got["hifp_pay"]) == (50.0, 270.0)
    retired = {"insutype": "310", "employee_status": "retired"}
    got = pay(make_case(person=retired, claim=claim, lines=[x(500, service_date="2025-05-06")]))
    assert got["hifp_pay"] == 210.0  # (500 − 200) × 0.70


# ---- chronic diseases ----

def chronic_case(disease: str, dx: str) -> dict:
    cert = [{"disease": disease, "valid_from": "2024-07-01", "valid_to": "2026-06-30"}]
    claim = {"med_type": "14", "institution": LEVEL1, "admit_date": "2025-05-06",
             "discharge_date": "2025-05-06", "diagnoses": [dx]}
    lines = [line("B-CEFU", 3.0, 30, day="2025-05-06"), line("S-DIAL", 420.0, 2, day="2025-05-06")]
    return make_case(person={"certifications": cert}, claim=claim, lines=lines)


def test_major_chronic_waives_pre_self_pay() -> None:
    got = pay(chronic_case("N18", "N18.0"))
    assert (got["preselfpay_amt"], got["inscp_scp_amt"], got["hifp_pay"]) == (0.0, 930.0, 744.0)


def test_ordinary_chronic_keeps_pre_self_pay() -> None:
    got = pay(chronic_case("E11", "E11.9"))  # in-policy 930 − 9 = 921; × 0.65
    assert (got["preselfpay_amt"], got["hifp_pay"], got["fund_pool"]) == (9.0, 598.65, "chronic")


# ---- maternity ----

MOTHER = {"gender": "F", "birth_date": "1992-08-09", "insutype": "310", "employee_status": "in_service",
          "maternity_contribution_months": 30, "employer_avg_monthly_wage": 6000.0}


def maternity_claim(item: str, **details) -> dict:
    return {"med_type": "52" if item == "delivery" else "51", "diagnoses": ["O80.0"],
            "maternity": {"item": item, **details}}


def test_allowance_days_for_twins_by_caesarean() -> None:
    # (188 + 15 + 15) days × 6,000 ÷ 30
    claim = maternity_claim("delivery", delivery="caesarean", infants=2, pregnancy_weeks=38)
    got = pay(make_case(person=MOTHER, claim=claim, lines=[line("S-CSEC", 1800.0)]))
    assert (got["maternity_allowance"], got["hifp_pay"]) == (43600.0, 1800.0)


def test_vaginal_delivery_quota_limits_the_fund() -> None:
    claim = maternity_claim("delivery", delivery="vaginal", infants=1, pregnancy_weeks=39)
    got = pay(make_case(person=MOTHER, claim=claim, lines=[x(2500)]))
    assert (got["hifp_pay"], got["maternity_allowance"]) == (1800.0, 37600.0)


def test_prenatal_quota_per_pregnancy() -> None:
    claim = maternity_claim("prenatal", pregnancy_weeks=20) | {"admit_date": "2025-05-06",
                                                                "discharge_date": "2025-05-06"}
    got = pay(make_case(person=MOTHER, claim=claim, lines=[x(400, service_date="2025-05-06")],
                        accumulators={"prenatal_paid": 300}))
    assert got["hifp_pay"] == 200.0


def test_resident_delivery_lump_sum() -> None:
    resident = {"gender": "F", "birth_date": "1995-01-01", "insutype": "390"}
    claim = maternity_claim("delivery", delivery="caesarean", infants=1, pregnancy_weeks=39)
    got = pay(make_case(person=resident, claim=claim, lines=[x(2500)]))
    assert (got["hifp_pay"], got["maternity_allowance"]) == (2000.0, 0.0)


# ---- audit edits and who bears them ----

def test_gender_violation_on_direct_claim_is_borne_by_the_hospital() -> None:
    # declared: in-policy 4,200 + 180 − 14.40 = 4,365.60 → 650 + 2,865.60 × 0.83 = 3,028.448 → 3,028.45
    # audited: 4,200 → 2,891.00; the hospital bears 137.45; the person what was settled at discharge
    got = pay(make_case(lines=[line("S-DIAL", 420.0, 10), line("S-HPV", 180.0)]))
    assert got["decision"] == "partially_approved"
    assert (got["violation_amt"], got["fund_pay_sumamt"], got["hosp_part_amt"], got["psn_part_amt"]) == \
        (180.0, 2891.0, 137.45, 1351.55)
    hpv = next(ln for ln in got["lines"] if ln["med_list_codg"] == "S-HPV")
    assert hpv["violations"] == ["GENDER"]


def test_manual_claim_violation_is_borne_by_the_person() -> None:
    claim = {"settlement_mode": "manual", "submitted_date": "2025-05-20",
             "materials": ["id_document", "invoice", "fee_list", "diagnosis_certificate"]}
    got = pay(make_case(claim=claim, lines=[line("S-DIAL", 420.0, 10), line("S-HPV", 180.0)]))
    assert (got["fund_pay_sumamt"], got["hosp_part_amt"], got["psn_part_amt"]) == (2891.0, 0.0, 1489.0)


def test_daily_quantity_excess_taken_from_the_latest_line() -> None:
    lines = [line("A-SALINE", 3.2, 3, line_id="01"), line("A-SALINE", 3.2, 3, line_id="02")]
    got = pay(make_case(lines=lines))
    by_id = {ln["line_id"]: ln for ln in got["lines"]}
    assert (by_id["01"]["violation_amt"], by_id["02"]["violation_amt"]) == (0.0, 6.4)
    assert by_id["02"]["violations"] == ["QTY_DAY"]


def test_bed_days_beyond_the_stay() -> None:
    got = pay(make_case(lines=[line("S-BED2", 30.0, 8)]))  # stay 6 days: 2 bed-days too many
    assert (got["violation_amt"], got["inscp_scp_amt"]) == (60.0, 180.0)


def test_over_cap_with_a_fractional_quantity() -> None:
    # 3.50 × 2.5 = 8.75; over-cap (3.50 − 3.20) × 2.5 = 0.75; 乙类 10% of 8.00 = 0.80; in-policy 7.20
    got = pay(make_case(lines=[line("B-CEFU", 3.5, 2.5)]))
    assert (got["medfee_sumamt"], got["overlmt_selfpay"], got["preselfpay_amt"], got["inscp_scp_amt"]) == \
        (8.75, 0.75, 0.8, 7.2)


@pytest.mark.parametrize("rounding,expected", [
    # 6,543.21 yuan × 203 days ÷ 30 = 44,275.721 yuan (by hand)
    ([], 44275.72),                                                   # default: half-up to the fen
    (["maternity.allowance.rounding.unit=jiao"], 44275.70),           # half-up to the jiao
    (["maternity.allowance.rounding.unit=yuan"], 44276.00),           # half-up to the yuan
    (["maternity.allowance.rounding.unit=yuan", "maternity.allowance.rounding.mode=truncate"], 44275.00),
    (["maternity.allowance.rounding.mode=truncate"], 44275.72),      # truncated to the fen
])
def test_allowance_rounding_per_tariff(rounding: list[str], expected: float) -> None:
    import json

    from yibao.tariffs.edit import apply_edits
    from yibao.tariffs.registry import resolve

    case = json.loads((EXAMPLES / "e6_maternity_caesarean.case.json").read_text(encoding="utf-8"))
    case["person"]["employer_avg_monthly_wage"] = 6543.21
    got = decide(case, tariff=apply_edits(resolve("sample-county@2025"), rounding))
    assert got["maternity_allowance"] == expected


def test_catastrophic_on_general_outpatient_where_the_tariff_lists_it() -> None:
    """A resident's CT at a level-1 institution, 20,000 yuan of burden already this year (above the
    11,000 threshold). By hand: 300 yuan, 150 over the price cap, 12 pre-self-pay (10% of 120),
    138 in policy; the basic fund pays 60% = 82.80; the burden 55.20 at the first tier's 60% is
    33.12 of catastrophic insurance — only where `burden_med_types` lists "11"."""
    from yibao.tariffs.edit import apply_edits
    from yibao.tariffs.registry import resolve

    claim = {"med_type": "11", "admit_date": "2025-05-06", "discharge_date": "2025-05-06",
             "submitted_date": "2025-05-06", "institution": {"id": "H1", "level": 1, "out_of_area": False,
                                                             "networked": True, "agreement": "active"}}
    case = make_case(claim=claim, lines=[line("S-CT", 300, day="2025-05-06")],
                     accumulators={"year": 2025, "catastrophic_base": 20000})
    plain = decide(case)
    assert (plain["inscp_scp_amt"], plain["hifp_pay"], plain["hifmi_pay"]) == (138.0, 82.8, 0.0)
    listed = decide(case, tariff=apply_edits(resolve("sample-county@2025"),
                                             ['catastrophic.burden_med_types=["21", "14", "11"]']))
    assert (listed["hifp_pay"], listed["hifmi_pay"], listed["psn_part_amt"]) == (82.8, 33.12, 184.08)
    assert listed["accumulators"]["catastrophic_base"] == 20055.2


@pytest.mark.parametrize("scope,expected", [
    # by hand, deductible 300, ratio 65%: C1 200 in policy, C2 500 in policy
    ("per_claim", [(200.0, 0.0), (300.0, 130.0)]),   # each visit pays up to 300
    ("annual", [(200.0, 0.0), (100.0, 260.0)]),      # 300 over the year: 100 left for C2, 65% of 400
])
def test_chronic_deductible_per_claim_or_annual(scope: str, expected: list[tuple[float, float]]) -> None:
    from conftest import score_cases
    from yibao.tariffs.edit import apply_edits
    from yibao.tariffs.registry import resolve

    cert = [{"disease": "E11", "valid_from": "2024-03-01", "valid_to": "2026-02-28"}]
    inst = {"id": "H1", "level": 1, "out_of_area": False, "networked": True, "agreement": "active"}

    def visit(mdtrt_id: str, day: str, cnt: int) -> dict:
        return make_case(person={"certifications": cert},
                         claim={"mdtrt_id": mdtrt_id, "med_type": "14", "institution": inst, "admit_date": day,
                                "discharge_date": day, "submitted_date": day, "diagnoses": ["E11.9"]},
                         lines=[line("A-AMOX", 0.5, cnt, day=day)])

    tariff = apply_edits(resolve("sample-county@2025"),
                         ["chronic.deductible=300", f"chronic.deductible_scope={scope}"])
    result = score_cases([visit("C1", "2025-03-03", 400), visit("C2", "2025-04-07", 1000)], tariff=tariff)
    claims = result.claims.set_index("mdtrt_id")
    assert list(zip(claims.loc[["C1", "C2"], "act_pay_dedc"], claims.loc[["C1", "C2"], "hifp_pay"])) == expected
    used = result.accumulators["chronic_deductible_used"].iat[0]
    assert used == (300.0 if scope == "annual" else 0.0)


def test_line_amounts_above_int32_fen_when_a_region_raises_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """Per-line amounts are held in int32 fen while the line bound (10M yuan) keeps them below
    2^31 fen, in int64 once a region raises it: a line of 30,000,000.01 yuan (3 × 10^9 fen, above
    2^31) under a bound of 100M yuan is still counted to the fen, with a 10M-yuan line beside it."""
    monkeypatch.setenv("YIBAO_MAX_LINE_YUAN", "100000000")
    got = pay(make_case(lines=[x(30_000_000.01, line_id="1"), x(10_000_000, line_id="2")]))
    assert got["medfee_sumamt"] == 40_000_000.01
    assert got["inscp_scp_amt"] == 40_000_000.01


def test_an_item_listed_for_two_periods_is_priced_by_the_row_in_force_on_its_day() -> None:
    """S-CT capped at 150.00 to 30 June and at 120.00 from 1 July (docs/tariffs.md: a code listed
    twice, two periods): the July line was read as not listed, 150.00 full self-pay."""
    from dataclasses import replace

    import pandas as pd

    from yibao.tariffs import resolve
    from yibao.tariffs.catalogue import parse_catalogue, read_catalogue_text

    lt = resolve(None)
    text = read_catalogue_text(lt.catalogue_file)
    ct = text[text["code"] == "S-CT"]
    text = pd.concat([text[text["code"] != "S-CT"], ct.assign(valid_to="2025-06-30"),
                      ct.assign(valid_from="2025-07-01", price_cap="120.00")], ignore_index=True)
    periods = replace(lt, catalogue=parse_catalogue(text, lt.catalogue_file))
    case = make_case(claim={"admit_date": "2025-06-28", "discharge_date": "2025-07-03"},
                     lines=[line("S-CT", 150.0, day="2025-06-29", line_id="june"),
                            line("S-CT", 150.0, day="2025-07-02", line_id="july")])
    got = {ln["line_id"]: ln for ln in decide(case, tariff=periods)["lines"]}
    split = ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")
    assert [got["june"][k] for k in split] == [0.0, 0.0, 12.0, 138.0]  # 8% pre-self-pay of 150
    assert [got["july"][k] for k in split] == [0.0, 30.0, 9.6, 110.4]  # over the cap of 120, 8% of 120


def test_an_item_off_the_catalogue_declared_2_reads_no_other_items_share() -> None:
    """X-ANY, in no row of the catalogue, declared 乙类 with no share of its own: it took the share
    of the catalogue's first row (A-AMOX, a drug: 0.10, 5.00 of 50.00), whichever item that was.
    With no kind it has none (docs/tariffs.md `preselfpay_by_kind`), as benchmarks/reference.py."""
    got = pay(make_case(lines=[line("X-ANY", 50.0, 1, chrgitm_lv="02")]))["lines"][0]
    assert (got["preselfpay_amt"], got["inscp_scp_amt"]) == (0.0, 50.0)
    declared = pay(make_case(lines=[line("X-ANY", 50.0, 1, chrgitm_lv="02", selfpay_prop=0.2)]))["lines"][0]
    assert (declared["preselfpay_amt"], declared["inscp_scp_amt"]) == (10.0, 40.0)  # its own share, 20 %
