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
from yibao.codes import text_rank
from yibao.money import div_half_up
from yibao.tables import LIST_SEP
from yibao.tariffs.catalogue import NO_LIMIT

WHOLE_LINE_EDITS = ("GENDER", "AGE", "LEVEL", "SETTING", "INDICATION")
QUANTITY_EDITS = ("QTY_DAY", "BED_DAYS")
EDIT_CODES = WHOLE_LINE_EDITS + QUANTITY_EDITS
"""Definite edits in the order they are applied; bit i of a violation mask is EDIT_CODES[i]."""
INPATIENT_MED_TYPES = ("21", "52")
GENDER_CODES = {"F": 1, "M": 2}  # 0: none / not restricted


@dataclass(frozen=True)
class LineViolations:
    """Per line: violating quantity (milli-units) and amount, the edits that hit it as a bit mask
    over EDIT_CODES, and per edit code the amount it took."""

    qty_milli: np.ndarray  # int64
    amount_fen: np.ndarray  # int64
    mask: np.ndarray  # int64, bit i set when EDIT_CODES[i] took something from the line
    by_code: dict[str, np.ndarray]  # code → int64 fen per line (only codes that occur)


def gender_codes(values: pd.Series) -> np.ndarray:
    return values.map(GENDER_CODES).fillna(0).to_numpy(dtype=np.int64)


def indication_ok(indications: np.ndarray, item: np.ndarray, diagnoses: np.ndarray,
                  dx: np.ndarray) -> np.ndarray:
    """Per row: does any diagnosis of `diagnoses[dx]` match any indication of `indications[item]`
    ("" = unrestricted)? Decided once per distinct (item, diagnoses) pair, so the text work does
    not grow with the number of lines."""
    ok = np.ones(len(item), dtype=bool)
    limited = np.flatnonzero(np.asarray(indications, dtype=object)[item] != "") if len(item) else item
    if not len(limited):
        return ok
    pairs, inverse = np.unique(item[limited].astype(np.int64) * len(diagnoses) + dx[limited],
                               return_inverse=True)
    verdict = np.array([_matches(indications[p // len(diagnoses)], diagnoses[p % len(diagnoses)])
                        for p in pairs.tolist()], dtype=bool)
    ok[limited] = verdict[inverse]
    return ok


def _matches(indications: str, diagnoses: str) -> bool:
    codes = [d.strip().upper() for d in diagnoses.split(LIST_SEP) if d.strip()]
    for pattern in indications.split(LIST_SEP):
        pattern = pattern.strip().upper()
        if "-" in pattern:
            lo, hi = pattern.split("-")
            if any(lo <= c[:3] <= hi for c in codes):
                return True
        elif any(c.startswith(pattern) for c in codes):
            return True
    return False


def _excess_from_latest(group: np.ndarray, order_keys: list[np.ndarray], qty: np.ndarray,
                        limit: np.ndarray) -> np.ndarray:
    """Per line, the part of `qty` above the group's `limit`, taken from the latest lines first.

    Lines are ordered within their group by `order_keys`; the excess of the group total is
    charged to the last line, then the one before it, and so on. Only lines with a quantity
    under a limit take part (the limit is the same for a whole group): the rest give nothing,
    and most lines have no limit at all.
    """
    out = np.zeros(len(qty), dtype=np.int64)
    rows = np.flatnonzero((qty > 0) & (limit < NO_LIMIT))
    n = len(rows)
    if n == 0:
        return out
    order = rows[np.lexsort(tuple(k[rows] for k in reversed(order_keys)) + (group[rows],))]
    g, q, lim = group[order], qty[order], limit[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    sizes = np.diff(np.r_[starts, n])
    csum = np.cumsum(q)
    before_group = np.repeat(csum[starts] - q[starts], sizes)
    total = np.repeat(np.add.reduceat(q, starts), sizes)
    after = total - (csum - before_group)  # quantity on the later lines of the group
    excess = np.maximum(total - lim, 0)
    out[order] = np.clip(excess - after, 0, q)
    return out


@dataclass(frozen=True)
class AuditClaims:
    """What the edits read of each claim, as numbers and codes (indexed by `claim_pos`)."""

    gender: np.ndarray  # GENDER_CODES
    birth: np.ndarray  # datetime64[D]
    inpatient: np.ndarray  # bool: an inpatient med type
    level: np.ndarray  # institution level 1–4 (0 unknown)
    stay_milli: np.ndarray  # length of stay × 1000
    dx: np.ndarray  # code into `diagnoses`
    diagnoses: np.ndarray  # distinct diagnosis lists (text)

    @classmethod
    def of(cls, claims: pd.DataFrame) -> AuditClaims:
        dx, diagnoses = pd.factorize(claims["diagnoses"].fillna(""))
        return cls(gender=gender_codes(claims["gender"]), birth=day_array(claims["birth_date"]),
                   inpatient=claims["med_type"].isin(INPATIENT_MED_TYPES).to_numpy(),
                   level=claims["level"].to_numpy(dtype=np.int64),
                   stay_milli=length_of_stay(claims["admit_date"], claims["discharge_date"]) * 1000,
                   dx=dx.astype(np.int64), diagnoses=np.asarray(diagnoses, dtype=object))


def find_violations(cp: np.ndarray, rank: np.ndarray, service: np.ndarray, item_key: np.ndarray,
                    claims: AuditClaims, cat_pos: np.ndarray, catalogue: pd.DataFrame,
                    checked: np.ndarray, amount_fen: np.ndarray, cnt_milli: np.ndarray) -> LineViolations:
    """Definite audit edits for every line.

    Per line: `cp` its claim, `rank` its order within the claim (line ids sorted), `service` its
    date, `item_key` its item (any integer id), `cat_pos` its catalogue row (-1: not listed),
    `checked` whether the edits apply (listed as 甲 or 乙 after inline overrides).
    """
    n = len(cp)
    safe = np.where(cat_pos >= 0, cat_pos, 0)

    def item(col: str) -> np.ndarray:
        return catalogue[col].to_numpy()[safe]

    item_gender = gender_codes(catalogue["gender"])[safe]
    age = age_on(claims.birth[cp], service)
    whole = np.stack([
        (item_gender != 0) & (item_gender != claims.gender[cp]),
        (age < item("age_from")) | (age >= item("age_below")),
        claims.level[cp] < item("min_level"),
        item("inpatient_only") & ~claims.inpatient[cp],
        ~indication_ok(catalogue["indications"].to_numpy(dtype=object), safe, claims.diagnoses, claims.dx[cp]),
    ]) & checked
    whole_hit = whole.any(axis=0)
    primary = np.where(whole_hit, whole.argmax(axis=0), -1)  # the first edit in order names the line

    # Quantity edits on what the whole-line edits left.
    open_qty = np.where(whole_hit | ~checked, 0, cnt_milli)
    day = service.astype(np.int64)
    day_group = (cp.astype(np.int64) * (int(item_key.max(initial=0)) + 1) + item_key) * 1_000_000 \
        + (day - day.min(initial=0))
    qty_day = _excess_from_latest(day_group, [rank], open_qty, item("max_per_day_milli"))
    open_qty = open_qty - qty_day
    is_bed = (catalogue["kind"] == "bed").to_numpy()[safe] & (cat_pos >= 0)
    bed_days = _excess_from_latest(cp, [day, rank], np.where(is_bed, open_qty, 0), claims.stay_milli[cp])

    qty = np.where(whole_hit, cnt_milli, qty_day + bed_days)
    whole_amt = np.where(whole_hit, amount_fen, 0)
    qty_amt = np.where(whole_hit, 0, div_half_up(amount_fen * qty_day, cnt_milli))
    part_amt = np.where(whole_hit, 0, div_half_up(amount_fen * (qty_day + bed_days), cnt_milli))
    amounts = [np.where(primary == i, whole_amt, 0) for i in range(len(WHOLE_LINE_EDITS))]
    amounts += [qty_amt, part_amt - qty_amt]
    mask = np.zeros(n, dtype=np.int64)
    for bit, amt in enumerate(amounts):
        mask |= (amt > 0).astype(np.int64) << bit
    by_code = {code: amt.astype(np.int64) for code, amt in zip(EDIT_CODES, amounts) if (amt > 0).any()}
    return LineViolations(qty.astype(np.int64), (whole_amt + part_amt).astype(np.int64), mask, by_code)


def split_admissions(claims: pd.DataFrame, window_days: int) -> np.ndarray:
    """Suspect SPLIT_ADMISSION: readmission to the same institution within `window_days` of a
    discharge with the same first diagnosis (three characters). Flags only; deducts nothing."""
    inpatient = claims["med_type"].isin(INPATIENT_MED_TYPES).to_numpy() & (claims["kind"] == "claim").to_numpy()
    rows = np.flatnonzero(inpatient)
    flag = np.zeros(len(claims), dtype=bool)
    if not len(rows):
        return flag
    dx_code, diagnoses = pd.factorize(claims["diagnoses"].fillna("").iloc[rows])
    first_dx = pd.factorize(np.array([d.split(LIST_SEP)[0][:3].upper() for d in diagnoses], dtype=object))[0]
    admit = day_array(claims["admit_date"])[rows]
    discharge = day_array(claims["discharge_date"])[rows]
    same = [text_rank(claims["psn_no"].iloc[rows]), text_rank(claims["institution_id"].iloc[rows]),
            first_dx[dx_code]]
    order = np.lexsort((rows, admit) + tuple(reversed(same)))
    key = np.stack([k[order] for k in same])
    continues = np.r_[False, (key[:, 1:] == key[:, :-1]).all(axis=0)]
    gap = (admit[order] - np.r_[discharge[order][:1], discharge[order][:-1]]).astype("timedelta64[D]")
    within = continues & (gap >= np.timedelta64(0, "D")) & (gap <= np.timedelta64(window_days, "D"))
    flag[rows[order][within]] = True
    return flag
