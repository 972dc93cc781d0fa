"""A tariff version's catalogue (医保目录: drugs, services, materials) as the arrays the compiled
line pass reads.

Made once per batch and tariff version, not per block of lines: a real catalogue lists tens of
thousands of items, and ten million lines are a few dozen blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from yibao.calculator.audit import gender_codes
from yibao.codes import positions
from yibao.money import ratio_to_bp
from yibao.tariffs.registry import LoadedTariff

LEVELS = ("", "01", "02", "03")  # 甲/乙/丙 catalogue levels as codes 1/2/3; 0: not given inline


def level_codes(values: pd.Series) -> np.ndarray:
    return np.maximum(positions(values, LEVELS), 0)


def day_numbers(dates: np.ndarray | pd.Series) -> np.ndarray:
    """Dates as day numbers (int64), as the compiled loops compare them."""
    return np.asarray(dates, dtype="datetime64[D]").view(np.int64)


def code_rows(codes: pd.Series, items: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Per item its code's first catalogue row (-1: not listed), and per row the next row of its
    code (-1: none). A code listed for two periods is two rows: a line takes the one in force on
    its day (a line in the second period was read as not listed, full self-pay)."""
    group, _ = pd.factorize(codes)
    order = np.argsort(group, kind="stable")
    next_row = np.full(len(codes), -1, np.int64)
    same = group[order[1:]] == group[order[:-1]]
    next_row[order[:-1][same]] = order[1:][same]
    first = np.flatnonzero(~codes.duplicated().to_numpy())
    if not len(items) or not len(first):
        return np.full(len(items), -1, np.int64), next_row
    found = positions(items, codes.iloc[first].reset_index(drop=True))
    return np.where(found >= 0, first[np.maximum(found, 0)], -1), next_row


@dataclass(frozen=True)
class CatalogueArrays:
    """Per catalogue row, numbers and codes; `item_rows`: per distinct item of the batch's lines
    (`LineInputs.items`) its code's first row, -1 where the catalogue does not list it;
    `next_row`: per row the next row of its code, -1 none."""

    item_rows: np.ndarray
    next_row: np.ndarray
    valid_from: np.ndarray  # day numbers: when the row is in force
    valid_to: np.ndarray
    level: np.ndarray  # LEVELS code
    share_bp: np.ndarray  # 乙类 pre-self-pay share: the row's, else its kind's
    price_cap: np.ndarray  # fen (NO_LIMIT: none)
    person_bp: np.ndarray  # fixed person share (NO_SHARE: none)
    gender: np.ndarray  # GENDER_CODES, 0: either
    age_from: np.ndarray
    age_below: np.ndarray
    min_level: np.ndarray  # the lowest institution level allowed
    inpatient_only: np.ndarray  # bool
    indications: np.ndarray  # text, "" unrestricted (decided per distinct pair, never per line)
    max_per_day: np.ndarray  # milli-units a day (NO_LIMIT: none)
    bed: np.ndarray  # bool: a bed day item

    @classmethod
    def of(cls, lt: LoadedTariff, items: pd.Series) -> CatalogueArrays:
        cat = lt.catalogue
        kind_share = {k: ratio_to_bp(v) for k, v in lt.tariff.preselfpay_by_kind.items()}
        by_kind = np.array([kind_share.get(k, 0) for k in cat["kind"]], dtype=np.int64)
        item_rows, next_row = code_rows(cat["code"], items)
        return cls(item_rows=item_rows, next_row=next_row,
                   valid_from=day_numbers(cat["valid_from"]), valid_to=day_numbers(cat["valid_to"]),
                   level=level_codes(cat["level"]),
                   share_bp=np.where(cat["selfpay_bp"].isna(), by_kind, cat["selfpay_bp"].fillna(0)).astype(np.int64),
                   price_cap=cat["price_cap_fen"].to_numpy(np.int64), person_bp=cat["person_share_bp"].to_numpy(np.int64),
                   gender=gender_codes(cat["gender"]), age_from=cat["age_from"].to_numpy(np.int64),
                   age_below=cat["age_below"].to_numpy(np.int64), min_level=cat["min_level"].to_numpy(np.int64),
                   inpatient_only=cat["inpatient_only"].to_numpy(bool),
                   indications=cat["indications"].to_numpy(dtype=object),
                   max_per_day=cat["max_per_day_milli"].to_numpy(np.int64), bed=(cat["kind"] == "bed").to_numpy())
