"""The decision object of docs/cases.md, read off a scored batch.

`yibao whatif --json` prints it; tests compare it with the worked examples. Amounts are yuan
numbers with two decimals, exactly the fen the calculator computed.
"""

from __future__ import annotations

import json
from typing import Any

from yibao.errors import InputError, shortened
from yibao.pipeline import LINE_AMOUNTS, Result
from yibao.calculator.claims import AMOUNT_FIELDS, BENEFIT_FIELDS
from yibao.tables import LIST_SEP, amount_items

ACCUMULATOR_FIELDS = ("hifp_paid", "inpatient_admissions", "outpatient_deductible_used",
                      "outpatient_paid", "catastrophic_base", "catastrophic_paid",
                      "maf_deductible_used", "maf_paid", "prenatal_paid", "outpatient_covered", "chronic_covered",
                      "large_amount_base", "large_amount_paid", "maf_stage2_deductible_used", "maf_stage2_paid")


def _split(text: str) -> list[str]:
    return [x for x in text.split(LIST_SEP) if x]


def _money(v: float) -> float:
    return round(float(v), 2)


def decision_object(result: Result, mdtrt_id: str) -> dict[str, Any]:
    """Everything docs/cases.md promises for one claim or application of a scored batch."""
    claims = result.claims.set_index("mdtrt_id")
    if mdtrt_id not in claims.index:  # set aside, e.g. its person's resident_category is not the tariff's
        rejects = result.rejects
        key = shortened(mdtrt_id)  # as rejects hold it (`yibao.io._key_text`)
        reason = rejects.loc[(rejects["table"] == "claims") & (rejects["key"] == key), "reason"]
        raise InputError(f"claim {key} cannot be decided: {next(iter(reason), 'not scored')}")
    row = claims.loc[mdtrt_id]
    codes, names = _split(row["missing_materials"]), row["missing_material_names"].split(LIST_SEP)
    obj: dict[str, Any] = {
        "mdtrt_id": mdtrt_id,
        "decision": row["decision"],
        "reasons": json.loads(row["reasons"]),
        "missing_materials": [{"code": c, "name": n} for c, n in zip(codes, names)],
        "rules_fired": _split(row["rules_fired"]),
        "tariff": row["tariff"],
        "due_date": row["due_date"] or None,
        "calendar_estimated": bool(row["calendar_estimated"]),
    }
    for f in AMOUNT_FIELDS + BENEFIT_FIELDS:
        obj[f] = _money(row[f])
    obj["declared_fund_pay_sumamt"] = _money(row["declared_fund_pay_sumamt"])
    obj["pool_prop"] = float(row["pool_prop"])
    obj["fund_pool"] = row["fund_pool"]
    obj["resident_category"] = row["resident_category"]
    obj["violation_codes"] = _split(row["violation_codes"])
    obj["suspect_codes"] = _split(row["suspect_codes"])
    lines = result.lines[result.lines["mdtrt_id"] == mdtrt_id]
    obj["lines"] = [{"line_id": ln["line_id"], "med_list_codg": ln["med_list_codg"],
                     **{f: _money(ln[f]) for f in LINE_AMOUNTS},
                     "violations": _split(ln["violations"])} for _, ln in lines.iterrows()]
    obj["accumulators"] = _accumulators(result, row["psn_no"], int(row["year"]))
    if result.trace is not None:
        obj["trace"] = _trace(result, mdtrt_id)
    return obj


def _trace(result: Result, mdtrt_id: str) -> list[dict[str, Any]]:
    """The claim's steps (docs/trace.md); a ratio or limit a step does not have is None."""
    steps = result.trace[result.trace["mdtrt_id"] == mdtrt_id]
    out = []
    for step in steps.drop(columns="mdtrt_id").to_dict("records"):
        for key in ("base", "limit", "amount"):
            step[key] = None if step[key] != step[key] else _money(step[key])
        step["ratio"] = None if step["ratio"] != step["ratio"] else float(step["ratio"])
        step["step"] = int(step["step"])
        step["rule_ids"] = _split(step["rule_ids"])
        out.append(step)
    return out


def _accumulators(result: Result, psn_no: str, year: int) -> dict[str, Any] | None:
    acc = result.accumulators
    hit = acc[(acc["psn_no"] == psn_no) & (acc["year"] == year)]
    if hit.empty:
        return None
    row = hit.iloc[0]
    out: dict[str, Any] = {"year": int(row["year"])}
    for f in ACCUMULATOR_FIELDS:
        out[f] = int(row[f]) if f == "inpatient_admissions" else _money(row[f])
    out["chronic_paid"] = {code: _money(v) for code, v in amount_items(row["chronic_paid"])}
    return out
