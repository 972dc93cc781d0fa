"""The tables a policy office reads: totals by group, persons' out-of-pocket change and its
distribution, and the claims and persons that move most. Sums are integer fen throughout."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from yibao.money import round_half_up
from yibao.simulation.labels import (CASH, CATEGORY, COMPARED, DIMENSIONS, FIELD_LABELS, NO_CATEGORY,
                                    NO_CATEGORY_LABEL, SIDES, VALUES)

TOP = 20
DECILES = 10
AMOUNTS = tuple(f"{f}_{side}" for f in COMPARED for side in SIDES)


def changed(claims: pd.DataFrame) -> np.ndarray:
    moved = np.zeros(len(claims), dtype=bool)
    for f in COMPARED:
        moved |= claims[f"{f}_change"].to_numpy() != 0
    return moved | (claims["decision_baseline"].to_numpy() != claims["decision_reform"].to_numpy())


def breakdown(claims: pd.DataFrame, dimension: str, values: dict[str, str] | None = None) -> pd.DataFrame:
    """Per value of the dimension: claims, claims that changed, and every amount's totals."""
    grouped = claims.assign(changed=changed(claims)).groupby(dimension, sort=True)
    out = grouped.agg(claims=("mdtrt_id", "size"), changed=("changed", "sum"),
                      **{a: (a, "sum") for a in AMOUNTS}).reset_index()
    out = out.rename(columns={dimension: "key"})
    values = VALUES.get(dimension, {}) if values is None else values
    out.insert(1, "label", [values.get(k, k) for k in out["key"]])
    return out.astype({a: np.int64 for a in AMOUNTS} | {"changed": np.int64})


def category_labels(keys: pd.Series, titles: dict[str, str]) -> dict[str, str]:
    """The Chinese name of each category key: the tariff's title (its name where it has none), and
    `A → B` for claims the reform moved from one category to another."""
    names = {NO_CATEGORY: NO_CATEGORY_LABEL} | {k: t or k for k, t in titles.items()}
    return {k: " → ".join(names.get(part, part) for part in k.split("→")) for k in keys.unique()}


def breakdowns(claims: pd.DataFrame, titles: dict[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """Every breakdown; by resident category too where `titles` (the categories the tariffs of
    either side define: name → title) is not empty."""
    out = {d: breakdown(claims, d) for d in DIMENSIONS}
    if titles:
        (d,) = CATEGORY
        out[d] = breakdown(claims, d, category_labels(claims[d], titles))
    return out


def totals(claims: pd.DataFrame) -> pd.DataFrame:
    """Per amount (each fund, the funds' total, person, hospitals, then the maternity cash
    benefits): baseline, reform, change."""
    rows = [{"field": f, "label": FIELD_LABELS[f], **{side: int(claims[f"{f}_{side}"].sum()) for side in SIDES}}
            for f in COMPARED]
    return pd.DataFrame(rows, columns=["field", "label", *SIDES])


def persons(claims: pd.DataFrame) -> pd.DataFrame:
    """Per person: insurance type, status at their first claim, claims, and the amounts; sorted by
    person number."""
    first = claims.drop_duplicates("psn_no").set_index("psn_no")
    sums = claims.groupby("psn_no", sort=True).agg(claims=("mdtrt_id", "size"), **{a: (a, "sum") for a in AMOUNTS})
    out = sums.join(first[["insutype", "status"]]).reset_index()
    return out[["psn_no", "insutype", "status", "claims", *AMOUNTS]]


def directions(people: pd.DataFrame) -> dict[str, int]:
    change = people["psn_part_amt_change"].to_numpy()
    return {"down": int((change < 0).sum()), "same": int((change == 0).sum()), "up": int((change > 0).sum())}


def _mean_fen(total: int, count: int) -> int:
    return round_half_up(Decimal(total) / count) if count else 0


def deciles(people: pd.DataFrame) -> pd.DataFrame:
    """Persons ranked by the change of their out-of-pocket (psn_part_amt), in ten groups of equal
    size (the first holds the largest falls): per group its persons and the least, largest,
    mean and total change in fen."""
    change = np.sort(people["psn_part_amt_change"].to_numpy(dtype=np.int64), kind="stable")
    groups = np.array_split(change, DECILES) if len(change) else [change[:0]] * DECILES
    rows = [{"decile": i + 1, "persons": len(g), "min": int(g.min()) if len(g) else 0,
             "max": int(g.max()) if len(g) else 0, "mean": _mean_fen(int(g.sum()), len(g)), "total": int(g.sum())}
            for i, g in enumerate(groups)]
    return pd.DataFrame(rows, columns=["decile", "persons", "min", "max", "mean", "total"])


def _largest(frame: pd.DataFrame, by: tuple[str, ...], key: str) -> pd.DataFrame:
    """The TOP rows of largest absolute change (the first of `by`, then the next), ties by key."""
    order = frame.assign(**{f"_{c}": frame[c].abs() for c in by}).sort_values(
        [f"_{c}" for c in by] + [key], ascending=[False] * len(by) + [True], kind="stable")
    order = order[order[f"_{by[0]}"] + sum(order[f"_{c}"] for c in by[1:]) > 0]
    return order.head(TOP).drop(columns=[f"_{c}" for c in by]).reset_index(drop=True)


def top_claims(claims: pd.DataFrame) -> pd.DataFrame:
    """By the funds' change, then the person's, then the cash benefits' (a reform of the grant
    alone changes no fund)."""
    return _largest(claims, ("fund_pay_sumamt_change", "psn_part_amt_change", *(f"{f}_change" for f in CASH)),
                    "mdtrt_id")


def top_persons(people: pd.DataFrame) -> pd.DataFrame:
    return _largest(people, ("psn_part_amt_change", "fund_pay_sumamt_change"), "psn_no")
