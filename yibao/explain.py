"""What the scored claims carry to explain their amounts: the calculator's reasons joined to the
rule base's, and the trace as examiners read it (yuan, ratios, claim ids).

The calculator works in fen, basis points and claim positions; the outputs speak yuan and
`mdtrt_id`, like every other table of a scored batch (docs/trace.md).
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring  # what json.dumps(..., ensure_ascii=False) quotes text with

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from yibao.calculator.trace import NONE
from yibao.codes import join_text, row_groups, text_column
from yibao.money import BP
from yibao.tables import LIST_SEP

TRACE_COLUMNS = ("mdtrt_id", "step", "fund", "action", "label_zh", "tariff_path", "base", "ratio", "limit",
                 "amount", "rule_ids")


def reason_columns(reasons: pd.Series, fired: pd.Series, extra: pa.Table) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Per claim its reasons as JSON (rule_id, code, message), their codes and the rules fired, as
    text columns: the rule base's, followed, on the claims that have them, by the calculator's
    reasons (deductions, limits; `extra`: calculator/notes.py REASONS, by claim) and their rule ids.

    The rule base's repeat across claims and are worded once per distinct value; the calculator's
    are a claim's own (amounts, line ids), so they are joined in Arrow from the items' columns,
    not as a tuple and a JSON document per claim (2M lines: the claims output took 0.34 s that
    way, 0.145 s so)."""
    rule, code, message = (extra[c].combine_chunks() for c in ("rule_id", "code", "message"))
    counts = np.bincount(extra["claim"].to_numpy(), minlength=len(reasons))
    own = np.flatnonzero(counts)
    counts = counts[own]
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]), pa.int64())

    def per_claim(values: pa.Array, sep: str) -> pa.Array:
        return pc.binary_join(pa.LargeListArray.from_arrays(offsets, values), pa.scalar(sep, pa.large_string()))

    item_json = join_text('{"rule_id": ', _json_text(rule), ', "code": ', _json_text(code),
                          ', "message": ', _json_text(message), "}")
    base_codes, base = pd.factorize(reasons)
    base_json = [", ".join(json.dumps({"rule_id": r, "code": c, "message": m}, ensure_ascii=False)
                           for r, c, m in value) for value in base]
    rows = _rows(base_codes, base, own)
    texts = join_text("[", _prefixes(base_json, base, ", ", base_codes[own]), per_claim(item_json, ", "), "]")
    json_column = text_column(rows, [f"[{t}]" for t in base_json] + [""], texts)
    base_lists = [LIST_SEP.join(c for _, c, _ in value) for value in base]
    texts = join_text(_prefixes(base_lists, base, LIST_SEP, base_codes[own]), per_claim(code, LIST_SEP))
    codes_column = text_column(rows, base_lists + [""], texts)
    return json_column, codes_column, _fired_column(fired, own, rule, counts)


def _json_text(texts: pa.Array) -> pa.Array:
    """Each text as `json.dumps(..., ensure_ascii=False)` writes it (`encode_basestring`): quoted,
    `\\` and `"` escaped in Arrow; the few texts with a control character (a line id may hold
    one) escaped by `encode_basestring` itself."""
    escaped = pc.replace_substring(pc.replace_substring(texts, "\\", "\\\\"), '"', '\\"')
    quoted = join_text('"', escaped, '"')
    control = pc.match_substring_regex(texts, r"[\x00-\x1f]")
    if not pc.any(control).as_py():
        return quoted
    return pc.replace_with_mask(quoted, control, pa.array(map(encode_basestring, texts.filter(control).to_pylist()),
                                                          pa.large_string()))


def _fired_column(fired: pd.Series, own: np.ndarray, rule: pa.Array, counts: np.ndarray) -> pd.Series:
    """The rules fired, then the calculator's rule ids a claim does not list yet: worded once per
    distinct (rules fired, sequence of the calculator's rule ids)."""
    fired_codes, distinct = pd.factorize(fired)
    encoded = pc.dictionary_encode(rule)
    ids, names = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary.to_pylist()
    sequence = np.full((len(own), int(counts.max(initial=0))), -1, dtype=np.int64)
    within = np.arange(len(ids)) - np.repeat(np.cumsum(counts) - counts, counts)
    sequence[np.repeat(np.arange(len(own)), counts), within] = ids
    groups = row_groups([fired_codes[own]] + list(sequence.T))
    first = np.unique(groups, return_index=True)[1]
    texts = []
    for row, claim in zip(first.tolist(), own[first].tolist()):
        listed = tuple(distinct[fired_codes[claim]])
        added = tuple(r for r in dict.fromkeys(names[i] for i in sequence[row].tolist() if i >= 0) if r not in listed)
        texts.append(LIST_SEP.join(str(r) for r in listed + added))
    words = [LIST_SEP.join(str(r) for r in value) for value in distinct]
    own_texts = pa.array(texts, pa.large_string()).take(pa.array(groups, pa.int64()))
    return text_column(_rows(fired_codes, distinct, own), words + [""], own_texts)


def _prefixes(texts: list[str], values: pd.Index | np.ndarray, sep: str, codes: np.ndarray) -> pa.Array:
    """Per row the text of its distinct value, with `sep` after it when the value has items, so
    the calculator's items can follow."""
    return pa.array([t + sep if len(v) else t for t, v in zip(texts, values)], pa.large_string()).take(
        pa.array(codes, pa.int64()))


def _rows(codes: np.ndarray, distinct: pd.Index | np.ndarray, own: np.ndarray) -> np.ndarray:
    """Per row where its text is among (distinct values' texts, "" for missing, then the texts of
    the `own` rows in order)."""
    where = np.where(codes < 0, len(distinct), codes)
    where[own] = len(distinct) + 1 + np.arange(len(own))
    return where


def _yuan_or_none(fen: np.ndarray) -> np.ndarray:
    return np.where(fen == NONE, np.nan, fen / 100)


def trace_output(trace: pd.DataFrame, mdtrt_ids: pd.Series) -> pd.DataFrame:
    """The calculator's trace with claim ids, amounts in yuan and ratios as fractions (NaN: none)."""
    out = pd.DataFrame({"mdtrt_id": mdtrt_ids.to_numpy(dtype=object)[trace["claim_pos"].to_numpy()]})
    for c in ("step", "fund", "action", "label_zh", "tariff_path"):
        out[c] = trace[c].to_numpy()
    out["base"] = _yuan_or_none(trace["base"].to_numpy())
    ratio = trace["ratio_bp"].to_numpy()
    out["ratio"] = np.where(ratio == NONE, np.nan, ratio / BP)
    out["limit"] = _yuan_or_none(trace["limit"].to_numpy())
    out["amount"] = trace["amount"].to_numpy() / 100
    out["rule_ids"] = trace["rule_ids"].to_numpy()
    return out
