"""From lines to claim amounts: the calculator's entry point (DOMAIN.md §4).

Lines are split (audited and declared views), summed per claim, paid in settlement order, and
the part each party bears is settled so that for every claim
`medfee_sumamt = fund_pay_sumamt + psn_part_amt + hosp_part_amt`, to the fen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from yibao.calculator import scan
from yibao.calculator.audit import split_admissions
from yibao.calculator.lines import SPLIT_FIELDS, LineResult, compute_lines
from yibao.calculator.terms import POOLS, build_terms, disease_codes
from yibao.money import div_half_up, yuan_array_to_fen
from yibao.tables import LIST_SEP
from yibao.tariffs.registry import LoadedTariff

FUND_FIELDS = ("act_pay_dedc", "hifp_pay", "hifmi_pay", "hifob_pay", "maf_pay", "fund_pay_sumamt")
AMOUNT_FIELDS = ("medfee_sumamt",) + SPLIT_FIELDS + ("violation_amt",) + FUND_FIELDS + (
    "psn_part_amt", "hosp_part_amt")


@dataclass(frozen=True)
class Calculation:
    """Amounts in integer fen; `accumulators` is the table to feed the next batch."""

    claims: pd.DataFrame
    lines: pd.DataFrame
    violations: pd.DataFrame  # mdtrt_id, code, violation_amt: what each audit edit took
    accumulators: pd.DataFrame


def _lines(lines: pd.DataFrame, claims: pd.DataFrame,
           tariffs: dict[str, LoadedTariff]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict]:
    """Both views of every line, each tariff version's lines against its own catalogue."""
    n = len(lines)
    audited = {f: np.zeros(n, np.int64) for f in SPLIT_FIELDS + ("medfee_sumamt", "violation_amt")}
    declared = {f: np.zeros(n, np.int64) for f in SPLIT_FIELDS}
    codes = np.full(n, "", dtype=object)
    by_code: dict[str, np.ndarray] = {}
    line_tariff = claims["tariff_key"].to_numpy()[lines["claim_pos"].to_numpy()]
    for key, lt in tariffs.items():
        rows = np.flatnonzero(line_tariff == key)
        if not len(rows):
            continue
        res: LineResult = compute_lines(lines.iloc[rows], claims, lt)
        audited["medfee_sumamt"][rows] = res.amount
        audited["violation_amt"][rows] = res.violations.amount_fen
        for f in SPLIT_FIELDS:
            audited[f][rows] = res.audited[f]
            declared[f][rows] = res.declared[f]
        codes[rows] = res.violations.codes()
        for code, amt in res.violations.by_code.items():
            by_code.setdefault(code, np.zeros(n, np.int64))[rows] = amt
    return audited, declared, {"codes": codes, "by_code": by_code}


def _per_claim(values: np.ndarray, claim_pos: np.ndarray, n_claims: int) -> np.ndarray:
    # float64 sums of integer fen are exact below 2^53 fen (about 9 × 10^13 yuan)
    return np.bincount(claim_pos, weights=values, minlength=n_claims).astype(np.int64)


def calculate(claims: pd.DataFrame, lines: pd.DataFrame, tariffs: dict[str, LoadedTariff],
              accumulators: pd.DataFrame) -> Calculation:
    """Amounts of every claim. `claims` carries the claim, person and institution columns and the
    rule base's conclusions (docs/ARCHITECTURE.md); `lines.claim_pos` indexes `claims`."""
    n = len(claims)
    pos = lines["claim_pos"].to_numpy()
    audited_l, declared_l, viol = _lines(lines, claims, tariffs)
    sums = {f: _per_claim(v, pos, n) for f, v in audited_l.items()}
    declared_inscp = _per_claim(declared_l["inscp_scp_amt"], pos, n)

    terms = build_terms(claims, tariffs)
    diseases = disease_codes(tariffs)
    result = scan.run(claims, sums["inscp_scp_amt"], declared_inscp, terms, accumulators, diseases)
    zeros = np.zeros(n, np.int64)
    paid = {f: result.audited.get(f, zeros) for f in FUND_FIELDS}
    declared_funds = result.declared.get("fund_pay_sumamt", zeros)

    direct = (claims["settlement_mode"] == "direct").to_numpy()
    hosp = np.where(direct, np.maximum(declared_funds - paid["fund_pay_sumamt"], 0), 0)
    medfee = sums["medfee_sumamt"]
    out = pd.DataFrame({"mdtrt_id": claims["mdtrt_id"].to_numpy()})
    for f in ("medfee_sumamt",) + SPLIT_FIELDS + ("violation_amt",):
        out[f] = sums[f]
    for f in FUND_FIELDS:
        out[f] = paid[f]
    out["psn_part_amt"] = medfee - paid["fund_pay_sumamt"] - hosp
    out["hosp_part_amt"] = hosp
    out["declared_fund_pay_sumamt"] = np.where(direct, declared_funds, paid["fund_pay_sumamt"])
    out["fund_pool"] = np.array(POOLS, dtype=object)[terms.pool]
    out["pool_prop_bp"] = terms.pool_prop_bp
    wage = yuan_array_to_fen(np.nan_to_num(claims["employer_avg_monthly_wage"].to_numpy(dtype=np.float64)))
    days = claims["allowance_days"].to_numpy(dtype=np.int64)
    divisor = np.array([tariffs[k].tariff.maternity.allowance.divisor_days
                        for k in claims["tariff_key"]], dtype=np.int64) if n else zeros
    out["maternity_allowance"] = np.where(days > 0, div_half_up(wage * days, np.maximum(divisor, 1)), 0)

    line_out = pd.DataFrame({"mdtrt_id": lines["mdtrt_id"].to_numpy(), "line_id": lines["line_id"].to_numpy(),
                             "med_list_codg": lines["med_list_codg"].to_numpy()})
    for f in ("medfee_sumamt",) + SPLIT_FIELDS + ("violation_amt",):
        line_out[f] = audited_l[f]
    line_out["violations"] = viol["codes"]
    out["violation_codes"] = _claim_codes(line_out, n, pos, list(viol["by_code"]))
    split_flag = split_admissions(claims, _split_window(claims, tariffs))
    out["suspect_codes"] = np.where(split_flag, "SPLIT_ADMISSION", "")

    parts = [pd.DataFrame({"mdtrt_id": lines["mdtrt_id"].to_numpy(), "code": code, "violation_amt": amt})
             for code, amt in viol["by_code"].items()]
    violations = pd.concat(parts) if parts else pd.DataFrame(
        {"mdtrt_id": pd.Series(dtype=object), "code": pd.Series(dtype=object),
         "violation_amt": pd.Series(dtype=np.int64)})
    violations = violations[violations["violation_amt"] > 0]
    violations = violations.groupby(["mdtrt_id", "code"], sort=True, as_index=False)["violation_amt"].sum()
    return Calculation(out, line_out, violations,
                       scan.state_table(result.state, result.groups, diseases))


def _claim_codes(line_out: pd.DataFrame, n: int, pos: np.ndarray, order: list[str]) -> np.ndarray:
    """Distinct violation codes of each claim's lines, `;`-joined in edit order (`order`), so
    the text does not depend on the order of the input lines."""
    codes = np.full(n, "", dtype=object)
    hit = line_out["violations"].to_numpy() != ""
    if hit.any():
        frame = pd.DataFrame({"pos": pos[hit], "codes": line_out["violations"].to_numpy()[hit]})
        exploded = frame.assign(code=frame["codes"].str.split(LIST_SEP)).explode("code")
        exploded["rank"] = pd.Index(order).get_indexer(exploded["code"])
        exploded = exploded.drop_duplicates(["pos", "code"]).sort_values(["pos", "rank"], kind="stable")
        joined = exploded.groupby("pos", sort=True)["code"].agg(LIST_SEP.join)
        codes[joined.index.to_numpy()] = joined.to_numpy()
    return codes


def _split_window(claims: pd.DataFrame, tariffs: dict[str, LoadedTariff]) -> int:
    windows = {lt.tariff.audit.split_admission_days for lt in tariffs.values()}
    return max(windows) if windows else 0
