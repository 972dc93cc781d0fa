"""Audit edits (智能审核): which part of each line violates a catalogue restriction.

A *definite* violation leaves the line as `violation_amt` before the catalogue split; a
*suspect* one (split admissions) is only flagged for an examiner. Whole-line edits (gender, age,
level, setting, indication) take the line; quantity edits (daily maximum, bed days beyond the
stay) take only the excess, from the latest lines first, so the earlier, legitimate quantities
stay paid. Everything is a column operation over all lines of a batch at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from yibao.calculator.dates import age_on, day_array, length_of_stay
from yibao.money import div_half_up
from yibao.tables import LIST_SEP

WHOLE_LINE_EDITS = ("GENDER", "AGE", "LEVEL", "SETTING", "INDICATION")
INPATIENT_MED_TYPES = ("21", "52")


@dataclass(frozen=True)
class LineViolations:
    """Per line: violating quantity (milli-units) and amount, and per edit code the amount."""

    qty_milli: np.ndarray  # int64
    amount_fen: np.ndarray  # int64
    by_code: dict[str, np.ndarray]  # code → int64 fen per line (only codes that occur)

    def codes(self) -> np.ndarray:
        """`;`-joined violation codes per line ("" when clean), in edit order."""
        out = np.full(len(self.qty_milli), "", dtype=object)
        for code, amt in self.by_code.items():
            hit = amt > 0
            out[hit] = np.where(out[hit] == "", code, out[hit] + LIST_SEP + code)
        return out


def indication_ok(indications: pd.Series, diagnoses: pd.Series) -> np.ndarray:
    """Does any claim diagnosis match any of the item's indications? Decided once per distinct pair."""
    pairs = pd.DataFrame({"ind": indications.to_numpy(), "dx": diagnoses.to_numpy()})
    limited = pairs["ind"] != ""
    ok = np.ones(len(pairs), dtype=bool)
    if not limited.any():
        return ok
    sub = pairs[limited]
    uniq = sub.drop_duplicates()

    def match(ind: str, dx: str) -> bool:
        codes = [d.strip().upper() for d in dx.split(LIST_SEP) if d.strip()]
        for pattern in ind.split(LIST_SEP):
            pattern = pattern.strip().upper()
            if "-" in pattern:
                lo, hi = pattern.split("-")
                if any(lo <= c[:3] <= hi for c in codes):
                    return True
            elif any(c.startswith(pattern) for c in codes):
                return True
        return False

    verdict = {(i, d): match(i, d) for i, d in zip(uniq["ind"], uniq["dx"])}
    ok[limited.to_numpy()] = [verdict[(i, d)] for i, d in zip(sub["ind"], sub["dx"])]
    return ok


def _excess_from_latest(group: np.ndarray, order_keys: list[np.ndarray], qty: np.ndarray,
                        limit: np.ndarray) -> np.ndarray:
    """Per line, the part of `qty` above the group's `limit`, taken from the latest lines first.

    Lines are ordered within their group by `order_keys`; the excess of the group total is
    charged to the last line, then the one before it, and so on.
    """
    n = len(qty)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort(tuple(reversed(order_keys)) + (group,))
    g, q, lim = group[order], qty[order], limit[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    sizes = np.diff(np.r_[starts, n])
    csum = np.cumsum(q)
    before_group = np.repeat(csum[starts] - q[starts], sizes)
    total = np.repeat(np.add.reduceat(q, starts), sizes)
    after = total - (csum - before_group)  # quantity on the later lines of the group
    excess = np.maximum(total - lim, 0)
    take = np.clip(excess - after, 0, q)
    out = np.empty(n, dtype=np.int64)
    out[order] = take
    return out


def find_violations(lines: pd.DataFrame, claims: pd.DataFrame, cat_pos: np.ndarray,
                    catalogue: pd.DataFrame, level: np.ndarray, amount_fen: np.ndarray,
                    cnt_milli: np.ndarray) -> LineViolations:
    """Definite audit edits for every line.

    `lines.claim_pos` points into `claims` (which carries gender, birth_date, med_type, level,
    diagnoses, admit/discharge dates); `cat_pos` is each line's catalogue row (-1: not listed);
    `level` is the effective 甲/乙/丙 level after inline overrides.
    """
    n = len(lines)
    cp = lines["claim_pos"].to_numpy()
    checked = (cat_pos >= 0) & ((level == "01") | (level == "02"))
    safe = np.where(cat_pos >= 0, cat_pos, 0)

    def item(col: str) -> np.ndarray:
        return catalogue[col].to_numpy()[safe]

    def claim(col: str) -> np.ndarray:
        return claims[col].to_numpy()[cp]

    service = day_array(lines["service_date"])
    age = age_on(claim("birth_date"), service)
    item_gender = item("gender")
    whole: dict[str, np.ndarray] = {
        "GENDER": (item_gender != "") & (item_gender != claim("gender")),
        "AGE": (age < item("age_from")) | (age >= item("age_below")),
        "LEVEL": claim("level") < item("min_level"),
        "SETTING": item("inpatient_only") & ~np.isin(claim("med_type"), INPATIENT_MED_TYPES),
        "INDICATION": ~indication_ok(pd.Series(item("indications")), pd.Series(claim("diagnoses"))),
    }
    primary = np.full(n, "", dtype=object)
    for code in reversed(WHOLE_LINE_EDITS):  # the first edit in order names the line
        primary[whole[code] & checked] = code
    whole_hit = primary != ""

    # Quantity edits on what the whole-line edits left.
    open_qty = np.where(whole_hit | ~checked, 0, cnt_milli)
    day_group = pd.factorize(pd.MultiIndex.from_arrays(
        [cp, lines["med_list_codg"].to_numpy(), service]))[0]
    line_key = lines["line_id"].to_numpy().astype(str)
    line_rank = pd.factorize(line_key, sort=True)[0]
    qty_day = _excess_from_latest(day_group, [line_rank], open_qty, item("max_per_day_milli"))
    open_qty = open_qty - qty_day
    is_bed = item("kind") == "bed"
    stay_milli = length_of_stay(claim("admit_date"), claim("discharge_date")) * 1000
    bed_days = _excess_from_latest(cp, [service.astype(np.int64), line_rank],
                                   np.where(is_bed, open_qty, 0), stay_milli)

    qty = np.where(whole_hit, cnt_milli, qty_day + bed_days)
    whole_amt = np.where(whole_hit, amount_fen, 0)
    qty_amt = div_half_up(amount_fen * qty_day, cnt_milli)
    part_amt = div_half_up(amount_fen * (qty_day + bed_days), cnt_milli)
    total = whole_amt + np.where(whole_hit, 0, part_amt)
    by_code = {code: np.where(primary == code, whole_amt, 0) for code in WHOLE_LINE_EDITS}
    by_code["QTY_DAY"] = np.where(whole_hit, 0, qty_amt)
    by_code["BED_DAYS"] = np.where(whole_hit, 0, part_amt - qty_amt)
    by_code = {c: a.astype(np.int64) for c, a in by_code.items() if (a > 0).any()}
    return LineViolations(qty.astype(np.int64), total.astype(np.int64), by_code)


def split_admissions(claims: pd.DataFrame, window_days: int) -> np.ndarray:
    """Suspect SPLIT_ADMISSION: readmission to the same institution within `window_days` of a
    discharge with the same first diagnosis (three characters). Flags only; deducts nothing."""
    inpatient = claims["med_type"].isin(INPATIENT_MED_TYPES).to_numpy() & (claims["kind"] == "claim").to_numpy()
    first_dx = claims["diagnoses"].str.split(LIST_SEP).str[0].fillna("").str[:3].str.upper()
    frame = pd.DataFrame({
        "psn": claims["psn_no"].to_numpy(), "inst": claims["institution_id"].to_numpy(),
        "dx": first_dx.to_numpy(), "admit": day_array(claims["admit_date"]),
        "discharge": day_array(claims["discharge_date"]), "pos": np.arange(len(claims)),
    })[inpatient]
    flag = np.zeros(len(claims), dtype=bool)
    if frame.empty:
        return flag
    frame = frame.sort_values(["psn", "inst", "dx", "admit", "pos"], kind="stable")
    same = (frame[["psn", "inst", "dx"]].shift() == frame[["psn", "inst", "dx"]]).all(axis=1).to_numpy()
    gap = (frame["admit"].to_numpy() - frame["discharge"].shift().to_numpy()).astype("timedelta64[D]")
    within = same & (gap >= np.timedelta64(0, "D")) & (gap <= np.timedelta64(window_days, "D"))
    flag[frame["pos"].to_numpy()[within]] = True
    return flag
