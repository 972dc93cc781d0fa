"""Claim by claim, baseline against reform: amounts in integer fen and who the claim belongs to.

Both runs score the same claims, in the same order, unless a reform has no version in force on
some claim's date (or the baseline has none where the reform has): such a claim counts in the run
that scored it and is zero in the other, so totals are exactly what two separate `score` runs give.
The attributes the breakdowns group by — insurance type, institution level, the person's status
on the claim's date, the settlement month — are joined from the batch tables once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from yibao.codes import positions
from yibao.io import Batch
from yibao.money import yuan_array_to_fen
from yibao.simulation.labels import COMPARED, NO_CATEGORY, STATUS_ORDER

CARRIED = ("mdtrt_id", "psn_no", "kind", "med_type", "institution_id", "setl_date", "discharge_date",
           "admit_date")


def _fen(claims: pd.DataFrame, rows: np.ndarray, field: str) -> np.ndarray:
    """Amounts of the claims at `rows` (-1: not scored in this run, 0)."""
    values = yuan_array_to_fen(claims[field].to_numpy(dtype=np.float64))
    return np.where(rows >= 0, values[np.maximum(rows, 0)] if len(values) else 0, 0)


def _text(claims: pd.DataFrame, rows: np.ndarray, field: str) -> np.ndarray:
    values = claims[field].to_numpy(dtype=object)
    return np.where(rows >= 0, values[np.maximum(rows, 0)] if len(values) else "", "")


def claims_diff(base: pd.DataFrame, reform: pd.DataFrame, batch: Batch) -> pd.DataFrame:
    """One row per claim scored in either run: attributes, tariff and decision on each side, and
    per amount of `COMPARED` the baseline, reform and change in fen."""
    same = len(base) == len(reform) and bool((base["mdtrt_id"].to_numpy() == reform["mdtrt_id"].to_numpy()).all())
    if same:
        carried, b_rows = base[list(CARRIED)].reset_index(drop=True), np.arange(len(base))
        r_rows = b_rows
    else:
        extra = reform[positions(reform["mdtrt_id"], base["mdtrt_id"]) < 0]
        carried = pd.concat([base[list(CARRIED)], extra[list(CARRIED)]], ignore_index=True)
        b_rows = positions(carried["mdtrt_id"], base["mdtrt_id"])
        r_rows = positions(carried["mdtrt_id"], reform["mdtrt_id"])
    out = carried[["mdtrt_id", "psn_no", "kind", "med_type", "institution_id"]].copy()
    out["scored"] = np.where(b_rows < 0, "reform_only", np.where(r_rows < 0, "baseline_only", "both"))
    _attributes(out, carried, batch)
    for side, frame, rows in (("baseline", base, b_rows), ("reform", reform, r_rows)):
        out[f"tariff_{side}"] = _text(frame, rows, "tariff")
        out[f"decision_{side}"] = _text(frame, rows, "decision")
        out[f"category_{side}"] = _category(frame, rows)
    out["category"] = _category_key(out["category_baseline"].to_numpy(), out["category_reform"].to_numpy())
    for f in COMPARED:
        before, after = _fen(base, b_rows, f), _fen(reform, r_rows, f)
        out[f"{f}_baseline"], out[f"{f}_reform"], out[f"{f}_change"] = before, after, after - before
    return out


def _category(claims: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """The resident category (居民类别) each claim was paid on, `NO_CATEGORY` for none; "" where this
    run did not score it."""
    named = _text(claims, rows, "resident_category")
    return np.where(rows < 0, "", np.where(named == "", NO_CATEGORY, named))


def _category_key(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """A claim's group in the breakdown by category: its category, or `before→after` where the
    reform moved it (a claim scored on one side only: that side's)."""
    key = np.where(before == "", after, before)
    moved = (before != "") & (after != "") & (before != after)
    key[moved] = before[moved] + "→" + after[moved]
    return key


def _attributes(out: pd.DataFrame, claims: pd.DataFrame, batch: Batch) -> None:
    persons, inst = batch.persons, batch.institutions
    p_pos = positions(claims["psn_no"], persons["psn_no"])
    out["insutype"] = np.where(p_pos >= 0, persons["insutype"].to_numpy(dtype=object)[np.maximum(p_pos, 0)]
                               if len(persons) else "", "")
    i_pos = positions(claims["institution_id"], inst["institution_id"])
    level = inst["level"].astype("Int64").fillna(0).to_numpy(dtype=np.int64)
    out["level"] = np.where(i_pos >= 0, level[np.maximum(i_pos, 0)] if len(level) else 0, 0).astype(str)
    day = claims["discharge_date"].where(claims["discharge_date"] != "", claims["admit_date"])
    day = day.where(day != "", claims["setl_date"])
    out["status"] = _status_on(claims["psn_no"], pd.to_datetime(day, errors="coerce"), batch.statuses)
    out["month"] = claims["setl_date"].str.slice(0, 7).to_numpy(dtype=object)


def _status_on(psn_no: pd.Series, day: pd.Series, statuses: pd.DataFrame) -> np.ndarray:
    """Per claim the person's status on the day, the first of `STATUS_ORDER` when several."""
    out = np.full(len(psn_no), "", dtype=object)
    if statuses.empty:
        return out
    claims = pd.DataFrame({"row": np.arange(len(psn_no)), "psn_no": psn_no.to_numpy(), "day": day.to_numpy()})
    hits = claims.merge(statuses[["psn_no", "kind", "valid_from", "valid_to"]], on="psn_no")
    valid = (hits["valid_from"] <= hits["day"]) & (hits["valid_to"].isna() | (hits["day"] <= hits["valid_to"]))
    hits = hits[valid.fillna(False).to_numpy(dtype=bool)]
    rank = pd.Series(range(len(STATUS_ORDER)), index=STATUS_ORDER)
    hits = hits.assign(rank=hits["kind"].map(rank)).dropna(subset=["rank"])
    first = hits.sort_values(["row", "rank"], kind="stable").drop_duplicates("row")
    out[first["row"].to_numpy()] = first["kind"].to_numpy(dtype=object)
    return out
