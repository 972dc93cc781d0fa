"""Per-line arithmetic (DOMAIN.md §4.1): amount, audit edits, catalogue split.

The split is computed twice through the same function: the *audited* view (violations leave
the line first) that the funds pay, and the *declared* view (edits off) that a hospital settled
at discharge; their difference is what the institution bears (`hosp_part_amt`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from yibao.calculator.audit import LineViolations, find_violations
from yibao.calculator.dates import day_array
from yibao.money import BP, div_half_up, mul_bp, ratio_to_bp, yuan_array_to_fen
from yibao.tariffs.catalogue import NO_LIMIT
from yibao.tariffs.registry import LoadedTariff

SPLIT_FIELDS = ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")


@dataclass(frozen=True)
class LineItems:
    """What the catalogue (and the line's inline overrides) say about each line."""

    amount: np.ndarray  # fen
    pric: np.ndarray  # fen
    cnt_milli: np.ndarray
    listed: np.ndarray  # bool: in the catalogue on the service date (or given a level inline)
    level: np.ndarray  # "01" / "02" / "03"
    share_bp: np.ndarray  # 乙类 pre-self-pay share
    cap: np.ndarray  # unit price cap, fen (NO_LIMIT: none)
    cat_pos: np.ndarray  # catalogue row, -1 when not listed


def _override(values: pd.Series, present: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    return np.where(present, values.to_numpy(), fallback)


def resolve_items(lines: pd.DataFrame, lt: LoadedTariff) -> LineItems:
    cat = lt.catalogue
    pos = pd.Index(cat["code"]).get_indexer(lines["med_list_codg"].to_numpy())
    safe = np.where(pos >= 0, pos, 0)
    service = day_array(lines["service_date"])
    valid = (pos >= 0) & (cat["valid_from"].to_numpy()[safe] <= service) & \
        (service <= cat["valid_to"].to_numpy()[safe])
    cat_pos = np.where(valid, pos, -1)

    lv_inline = lines["chrgitm_lv"].fillna("").to_numpy().astype(str)
    has_lv = lv_inline != ""
    level = np.where(has_lv, lv_inline, np.where(valid, cat["level"].to_numpy()[safe], "03"))
    listed = valid | has_lv

    kind_share = {k: ratio_to_bp(v) for k, v in lt.tariff.preselfpay_by_kind.items()}
    cat_share = cat["selfpay_bp"].to_numpy(dtype=np.float64, na_value=np.nan)[safe]
    by_kind = np.array([kind_share.get(k, 0) for k in cat["kind"]], dtype=np.int64)[safe] \
        if len(cat) else np.zeros(len(lines), dtype=np.int64)
    share = np.where(np.isnan(cat_share), by_kind, np.nan_to_num(cat_share)).astype(np.int64)
    sp = lines["selfpay_prop"].to_numpy(dtype=np.float64)
    share = np.where(np.isnan(sp), share, np.rint(np.nan_to_num(sp) * BP)).astype(np.int64)

    cap = np.where(valid, cat["price_cap_fen"].to_numpy()[safe], NO_LIMIT)
    cap_inline = lines["pric_uplmt_amt"].to_numpy(dtype=np.float64)
    cap = np.where(np.isnan(cap_inline), cap, yuan_array_to_fen(np.nan_to_num(cap_inline)))

    pric = yuan_array_to_fen(lines["pric"].to_numpy(dtype=np.float64))
    cnt_milli = np.rint(lines["cnt"].to_numpy(dtype=np.float64) * 1000).astype(np.int64)
    given = lines["det_item_fee_sumamt"].to_numpy(dtype=np.float64)
    amount = np.where(np.isnan(given), div_half_up(pric * cnt_milli, 1000),
                      yuan_array_to_fen(np.nan_to_num(given)))
    return LineItems(amount.astype(np.int64), pric, cnt_milli, listed, level, share,
                     cap.astype(np.int64), cat_pos)


def split(items: LineItems, violation_qty: np.ndarray, violation_amt: np.ndarray,
          waive_preselfpay: np.ndarray) -> dict[str, np.ndarray]:
    """Catalogue split of what is left of each line after its violating part (§4.1 steps 3–6)."""
    rest = items.amount - violation_amt
    rest_qty = items.cnt_milli - violation_qty
    covered = items.listed & (items.level != "03")
    over_unit = np.maximum(items.pric - np.minimum(items.cap, items.pric), 0)
    overcap = np.where(covered, np.minimum(div_half_up(over_unit * rest_qty, 1000), rest), 0)
    base = np.where(covered, rest - overcap, 0)
    pre = np.where(covered & (items.level == "02") & ~waive_preselfpay,
                   mul_bp(base, items.share_bp), 0)
    return {
        "fulamt_ownpay_amt": np.where(covered, 0, rest),
        "overlmt_selfpay": overcap,
        "preselfpay_amt": pre,
        "inscp_scp_amt": base - pre,
    }


@dataclass(frozen=True)
class LineResult:
    amount: np.ndarray
    violations: LineViolations
    audited: dict[str, np.ndarray]
    declared: dict[str, np.ndarray]


def compute_lines(lines: pd.DataFrame, claims: pd.DataFrame, lt: LoadedTariff) -> LineResult:
    """Both views of every line of one tariff version; `lines.claim_pos` indexes `claims`."""
    items = resolve_items(lines, lt)
    violations = find_violations(lines, claims, items.cat_pos, lt.catalogue, items.level,
                                 items.amount, items.cnt_milli)
    waive = claims["waive_preselfpay"].to_numpy(dtype=bool)[lines["claim_pos"].to_numpy()]
    none = np.zeros(len(lines), dtype=np.int64)
    return LineResult(
        amount=items.amount,
        violations=violations,
        audited=split(items, violations.qty_milli, violations.amount_fen, waive),
        declared=split(items, none, none, waive),
    )
