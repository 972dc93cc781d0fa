"""`yibao settle --verify`: recompute a written settlement from its claim-level tables.

A statement is paid from files that travel (to the finance office, to the hospital, back after
a dispute); anyone holding them must be able to check that nothing was altered and that the
arithmetic holds without rerunning the scorer. So the check starts from the claim rows alone
— each claim's declared and audited funds and violation fee, and per violation code its
`violation_amt` and penalty rate — and rebuilds every allocation, penalty, deposit and total,
reporting each disagreement on one line.

Before any arithmetic the folder must match its manifest (`yibao.outputs.read_manifest`): a
folder a killed run left half-written is internally consistent — it just lacks claims — so
only the manifest can tell. And when the manifest names the score folder the settlement was
paid from, that folder must still match the digest recorded, and settling its claims again for
the period must give the same claims and statements: a settlement that reconciles with itself
but left out claims, or was re-sealed after an edit, is caught there.

The reversal lines (冲正) are the one part of a settlement the score folder cannot vouch for:
they come from the ledger. A forged line paying money out reconciled with everything, so a
reversal line must take money back, once per claim, in a settlement made with a ledger, and
must be one of that ledger's reversals of the period when the ledger can be read.

What people read, the workbook and the pages, must be what the verified tables give
(`rebuild.py`). What could not be checked (no score folder named, a ledger that cannot be
opened) is a notice: no mismatch, but said, since the check is weaker for it.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from typing import Any, Mapping

from yibao.errors import InputError, expect
from yibao.money import BP, mul_bp
from yibao.outputs import read_manifest
from yibao.settlement.allocate import largest_remainder
from yibao.settlement.batches import check_booked, ledger_problem
from yibao.settlement.inputs import (Period, combine, no_claims, parse_period, read_columns, read_listed,
                                     read_scored)
from yibao.settlement.rebuild import rebuilt_differences
from yibao.settlement.statement import REVERSAL_LINE, SETTLED, WITHHELD, claim_penalty, settle_scored, taken_back

LAYOUT: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # table → (text, money) columns
    "statements": (("institution_id", "claims", "withheld_claims", "suspect_claims", "deposit_ratio"),
                   ("declared_total", "withheld", "declared", "audited", "violation_fees", "penalties",
                    "deposit", "paid")),
    "claims": (("institution_id", "mdtrt_id", "status"),
               ("declared", "audited", "violation_amt", "violation_fee", "penalty")),
    "claim_codes": (("institution_id", "mdtrt_id", "code", "penalty_rate"),
                    ("violation_amt", "violation_fee", "penalty")),
    "by_code": (("institution_id", "code", "penalty_rate", "claims"), ("violation_amt", "violation_fee", "penalty")),
    "data_incorrect": (("institution_id", "mdtrt_id", "scored", "declared"), ()),
    "suspects": (("institution_id", "mdtrt_id"), ()),
}


def _read(folder: Path, name: str, manifest: Mapping[str, Any]) -> pd.DataFrame:
    frame, source = read_listed(folder, name, manifest)
    return read_columns(frame, source, *LAYOUT[name])


def _yuan(fen: int) -> str:
    return f"{fen / 100:.2f}"


def _number(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)


def _bp(rates: pd.Series) -> np.ndarray:
    return np.rint(_number(rates) * BP).astype(np.int64)


class Report:
    """Mismatches, one line each (`table key: what actual ≠ expected`), and notices: what could
    not be checked, which is no mismatch (a settlement computed from a `Result` names no score
    folder) but must be said, as the check is weaker for it."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.notices: list[str] = []

    def compare(self, table: str, keys: pd.Series | np.ndarray, what: str, actual: np.ndarray,
                expected: np.ndarray, money: bool = True) -> None:
        show = _yuan if money else str
        for k, a, e in zip(np.asarray(keys)[actual != expected], actual[actual != expected],
                           expected[actual != expected]):
            self.lines.append(f"{table} {k}: {what} {show(int(a))} ≠ {show(int(e))}")

    def missing(self, table: str, keys: set[str], where: str) -> None:
        self.lines.extend(f"{table} {k}: not in {where}" for k in sorted(keys))

    def unique(self, table: str, frame: pd.DataFrame, key: str) -> pd.DataFrame:
        """The frame without repeated keys (the first row kept), each repeat reported."""
        repeated = frame[key].duplicated().to_numpy()
        self.lines.extend(f"{table} {k}: listed more than once" for k in sorted(set(frame[key][repeated])))
        return frame[~repeated].reset_index(drop=True)


def verify_folder(folder: str | Path) -> list[str]:
    """Every mismatch between the written totals and their recomputation ([] when all holds);
    an `InputError` when the folder does not match its manifest."""
    return verify_report(folder).lines


def verify_report(folder: str | Path) -> Report:
    """The mismatches and the notices of `verify_folder` (`folder` a path, or its text)."""
    expect(folder, (str, os.PathLike), "the settlement folder is a path")
    folder = Path(folder)
    manifest, _ = read_manifest(folder, "settlement", LAYOUT)
    report = Report()
    t = {name: _read(folder, name, manifest) for name in LAYOUT}
    t["claims"] = report.unique("claims", t["claims"], "mdtrt_id")
    t["statements"] = report.unique("statements", t["statements"], "institution_id")
    _check_claims(t["claims"], t["claim_codes"], report)
    _check_by_code(t["claim_codes"], t["by_code"], report)
    _check_data_incorrect(t["claims"], t["data_incorrect"], report)
    _check_statements(t["claims"], t, report)
    period = _period(manifest, report)
    if period is not None:
        report.lines.extend(rebuilt_differences(folder, manifest, period.text))
        _check_source(manifest, period, _check_reversals(manifest, period, t["claims"], report), t, report)
    return report


def _check_claims(claims: pd.DataFrame, codes: pd.DataFrame, report: Report) -> None:
    """Per claim: declared = audited + fee (settled), nothing deducted (withheld), and the fee and
    penalty rebuilt from its violation codes."""
    ids = claims["mdtrt_id"].to_numpy()
    settled = (claims["status"] == SETTLED).to_numpy()
    bad_status = ~settled & (claims["status"] != WITHHELD).to_numpy()
    report.lines.extend(f"claims {k}: status {s!r} is neither settled nor withheld"
                        for k, s in zip(ids[bad_status], claims["status"].to_numpy()[bad_status]))
    fee, penalty = claims["violation_fee_fen"].to_numpy(), claims["penalty_fen"].to_numpy()
    report.compare("claims", ids[settled], "declared", claims["declared_fen"].to_numpy()[settled],
                   claims["audited_fen"].to_numpy()[settled] + fee[settled])
    for what, values in (("violation_fee of a withheld claim", fee), ("penalty of a withheld claim", penalty)):
        report.compare("claims", ids[~settled], what, values[~settled], np.zeros((~settled).sum(), np.int64))

    codes = codes.sort_values(["mdtrt_id", "code"], kind="stable").reset_index(drop=True)
    report.missing("claim_codes", set(codes["mdtrt_id"]) - set(ids[settled]), "claims as a settled claim")
    codes = codes[codes["mdtrt_id"].isin(ids[settled])].reset_index(drop=True)
    group = pd.factorize(codes["mdtrt_id"])[0]
    row_of = pd.Index(ids).get_indexer(codes["mdtrt_id"])
    amount = codes["violation_amt_fen"].to_numpy()
    weight = _bp(codes["penalty_rate"]) * amount
    claim_fee = fee[row_of]
    expected_penalty = claim_penalty(claim_fee, weight, amount, group)
    key = (codes["mdtrt_id"] + "/" + codes["code"]).to_numpy()
    report.compare("claim_codes", key, "violation_fee", codes["violation_fee_fen"].to_numpy(),
                   largest_remainder(claim_fee, amount, group))
    report.compare("claim_codes", key, "penalty", codes["penalty_fen"].to_numpy(),
                   largest_remainder(expected_penalty, weight, group))

    sums = codes.groupby("mdtrt_id").agg(amount=("violation_amt_fen", "sum"), fee=("violation_fee_fen", "sum"))
    per_claim = pd.Series(expected_penalty, index=codes["mdtrt_id"]).groupby(level=0).first()
    for what, column, expected in (("violation_amt", "violation_amt_fen", sums["amount"]),
                                   ("violation_fee", "violation_fee_fen", sums["fee"]),
                                   ("penalty", "penalty_fen", per_claim)):
        report.compare("claims", ids[settled], f"{what} (from claim_codes)", claims[column].to_numpy()[settled],
                       expected.reindex(ids[settled], fill_value=0).to_numpy(dtype=np.int64))


def _check_by_code(codes: pd.DataFrame, by_code: pd.DataFrame, report: Report) -> None:
    keys = ["institution_id", "code", "bp"]
    sums = codes.assign(bp=_bp(codes["penalty_rate"])).groupby(keys).agg(
        claims=("mdtrt_id", "nunique"), violation_amt_fen=("violation_amt_fen", "sum"),
        violation_fee_fen=("violation_fee_fen", "sum"), penalty_fen=("penalty_fen", "sum"))
    written = by_code.assign(bp=_bp(by_code["penalty_rate"]),
                             claims=_number(by_code["claims"]).astype(np.int64)).set_index(keys)
    report.missing("by_code", set(_labels(sums.index)) - set(_labels(written.index)), "by_code")
    report.missing("by_code", set(_labels(written.index)) - set(_labels(sums.index)), "claim_codes")
    both = sums.index.intersection(written.index)
    for column in ("claims", "violation_amt_fen", "violation_fee_fen", "penalty_fen"):
        report.compare("by_code", _labels(both), column.removesuffix("_fen"),
                       written.loc[both, column].to_numpy(dtype=np.int64),
                       sums.loc[both, column].to_numpy(dtype=np.int64), money=column != "claims")


def _labels(index: pd.MultiIndex) -> list[str]:
    """institution/code@rate, naming a by_code row."""
    return [f"{i}/{c}@{bp / BP:g}" for i, c, bp in index]


def _claim_counts(table: pd.DataFrame, ids: list[str]) -> np.ndarray:
    return table.groupby("institution_id")["mdtrt_id"].nunique().reindex(ids, fill_value=0).to_numpy(dtype=np.int64)


def _check_data_incorrect(claims: pd.DataFrame, data_incorrect: pd.DataFrame, report: Report) -> None:
    scored = data_incorrect[data_incorrect["scored"].str.lower() == "true"]
    withheld = set(claims.loc[claims["status"] == WITHHELD, "mdtrt_id"])
    report.missing("data_incorrect", set(scored["mdtrt_id"]) - withheld, "claims as a withheld claim")
    report.missing("claims", withheld - set(scored["mdtrt_id"]), "data_incorrect")
    declared = claims.set_index("mdtrt_id")["declared_fen"]
    scored = scored[scored["mdtrt_id"].isin(withheld)]
    report.compare("data_incorrect", scored["mdtrt_id"].to_numpy(), "declared",
                   np.rint(_number(scored["declared"]) * 100).astype(np.int64),
                   declared.reindex(scored["mdtrt_id"]).to_numpy(dtype=np.int64))


def _check_statements(claims: pd.DataFrame, t: dict[str, pd.DataFrame], report: Report) -> None:
    """Totals = sums over the claim rows; declared_total = declared + withheld;
    deposit = R(ratio × max(0, declared − fees − penalties)); paid = declared − fees − penalties − deposit."""
    statements = t["statements"].set_index("institution_id")
    settled = claims["status"] == SETTLED
    fen = pd.DataFrame({
        "institution_id": claims["institution_id"], "n": 1,
        "declared": np.where(settled, claims["declared_fen"], 0),
        "withheld": np.where(settled, 0, claims["declared_fen"]),
        "audited": np.where(settled, claims["audited_fen"], 0),
        "violation_fees": claims["violation_fee_fen"], "penalties": claims["penalty_fen"]})
    listed = set(fen["institution_id"]) | set(t["data_incorrect"]["institution_id"])
    report.missing("statements", listed - set(statements.index), "statements")
    ids = sorted(statements.index)
    sums = fen.groupby("institution_id").sum().reindex(ids, fill_value=0)
    written = statements.loc[ids]
    for column, expected in (("claims", sums["n"].to_numpy()),
                             ("withheld_claims", _claim_counts(t["data_incorrect"], ids)),
                             ("suspect_claims", _claim_counts(t["suspects"], ids))):
        report.compare("statements", ids, column, _number(written[column]).astype(np.int64), expected, money=False)
    for column in ("declared", "withheld", "audited", "violation_fees", "penalties"):
        report.compare("statements", ids, column, written[f"{column}_fen"].to_numpy(), sums[column].to_numpy())
    declared, withheld = written["declared_fen"].to_numpy(), written["withheld_fen"].to_numpy()
    fees, penalties = written["violation_fees_fen"].to_numpy(), written["penalties_fen"].to_numpy()
    deposit = written["deposit_fen"].to_numpy()
    report.compare("statements", ids, "declared_total", written["declared_total_fen"].to_numpy(), declared + withheld)
    report.compare("statements", ids, "deposit", deposit,
                   mul_bp(np.maximum(declared - fees - penalties, 0), _bp(written["deposit_ratio"])))
    report.compare("statements", ids, "paid", written["paid_fen"].to_numpy(), declared - fees - penalties - deposit)


# what a settlement must agree on with the score folder it names: table → key, money, text columns
AGAINST_SCORED = {
    "claims": ("mdtrt_id", ("declared", "audited", "violation_amt", "violation_fee", "penalty"), ("status",)),
    "statements": ("institution_id", ("declared_total", "withheld", "declared", "audited", "violation_fees",
                                      "penalties", "deposit", "paid"), ("claims",)),
}


def _period(manifest: Mapping[str, Any], report: Report) -> Period | None:
    """The month the manifest says was settled (None, reported, when it names none)."""
    try:
        return parse_period(str(manifest.get("period", "")))
    except InputError:
        report.lines.append(f"manifest: period {manifest.get('period')!r} is not a month YYYY-MM")
        return None


def _check_source(manifest: Mapping[str, Any], period: Period, reversals: pd.DataFrame,
                  t: dict[str, pd.DataFrame], report: Report) -> None:
    """The score folder the manifest names, unchanged, settled again for the period with the
    reversal lines `_check_reversals` accepts: the same claims with the same amounts and
    status, the same statements. No folder (`[]`) is a month settled from the ledger alone: no
    claims settled again, and the ledger must still book no scored batch in it."""
    source = manifest.get("scored")
    if not source and source != []:  # settled from a `Result` in memory, or the entry taken out: said, as no claim
        report.notices.append("not checked against a score folder: the manifest names none (settled from "
                              "a Result in memory); the claims are checked against each other only")
        return
    if source == [] and manifest.get("ledger") is None:
        report.lines.append("manifest: names no score folder and no ledger: a settlement is made from score folders, "
                            "or from the ledger alone")
        return
    sources = source if isinstance(source, list) else [source]
    if not all(isinstance(s, dict) and all(isinstance(s.get(k), str) for k in ("folder", "manifest_sha256"))
               for s in sources):
        report.lines.append("manifest: 'scored' is not the score folder's path and manifest sha256")
        return
    parts = []
    for entry in sources:
        folder = Path(entry["folder"])
        try:
            part = read_scored(folder)
        except InputError as exc:
            report.lines.append(f"scored folder: {exc}")
            return
        if part.origins[0].manifest_sha256 != entry["manifest_sha256"]:
            report.lines.append(f"scored folder {folder}: rewritten since this settlement (its manifest differs)")
            return
        parts.append(part)
    replacing: dict[str, str] = {}  # the claims the ledger paid again in the month (`combine`)
    if manifest.get("ledger") is not None and parts and not any(p.booked for p in parts):
        report.notices.append("settled with the ledger from score folders that name no ledger batch (written "
                              "before they did): its claims are checked as then, picked by discharge date")
    elif manifest.get("ledger") is not None:  # settled with the ledger: the claims of the month's batches
        period = replace(period, by_batch=True)
        try:
            check_booked(parts, period)
        except InputError as exc:
            report.lines.append(f"scored folder {exc}")
            return
        from yibao.ledger import read_ledger

        try:  # a ledger that cannot be read is the reversal lines' notice already
            problem, replacing = read_ledger(
                manifest["ledger"], lambda book: (ledger_problem(parts, period, book), book.replacing(period.text))) \
                if isinstance(manifest["ledger"], str) else (None, replacing)
        except InputError:
            problem = None
        if problem is not None:
            report.lines.append(f"scored folders: {problem}")
    try:
        scored = combine(parts, replacing) if parts else no_claims()
    except InputError as exc:
        report.lines.append(f"scored folders: {exc}")
        return
    again = settle_scored(scored, period, reversals).tables()
    for name, (key, money, text) in AGAINST_SCORED.items():
        expected = read_columns(again[name], f"<{name}>", *LAYOUT[name]).set_index(key)
        written = t[name].set_index(key)
        report.missing(name, set(expected.index) - set(written.index), f"{name}, but in the scored claims")
        report.missing(name, set(written.index) - set(expected.index), "the scored claims")
        both = np.array(sorted(set(expected.index) & set(written.index)), dtype=object)
        for column in money:
            report.compare(name, both, f"{column} (from the scored claims)",
                           written.loc[both, f"{column}_fen"].to_numpy(), expected.loc[both, f"{column}_fen"].to_numpy())
        for column in text:
            a, e = written.loc[both, column].to_numpy(dtype=object), expected.loc[both, column].to_numpy(dtype=object)
            report.lines.extend(f"{name} {k}: {column} {x} ≠ {y} (from the scored claims)"
                                for k, x, y in zip(both[a != e], a[a != e], e[a != e]))


def _check_reversals(manifest: Mapping[str, Any], period: Period, claims: pd.DataFrame,
                     report: Report) -> pd.DataFrame:
    """The reversal lines (冲正) the score folder settled again must get, as `settle_scored`
    takes them (audited_fen the funds taken back, positive). A line `<mdtrt_id>/冲正` takes the
    claim's funds back: settled, audited < 0, declared = audited, no violation, fee or penalty;
    one per claim (`claims` is unique by id); and only in a settlement made with a ledger (the
    manifest names it). When that ledger can be read, its reversals of the period are what the
    folder is settled again with, and every line must be one of them with its amount."""
    lines = claims[claims["mdtrt_id"].str.endswith(REVERSAL_LINE)].reset_index(drop=True)
    ids = lines["mdtrt_id"].to_numpy()
    audited = lines["audited_fen"].to_numpy()
    ledger = manifest.get("ledger")
    if not isinstance(ledger, str) and "benefits" not in manifest["rows"]:  # benefits: only with a ledger
        report.lines.extend(f"claims {k}: a reversal line (冲正) in a settlement made without a ledger" for k in ids)
        return _as_reversals(lines.iloc[:0])
    takes_back = audited < 0
    for bad, why in ((~takes_back, "is not negative: a reversal line (冲正) takes money back"),
                     ((lines["status"] != SETTLED).to_numpy(), "is on a line that is not settled"),
                     ((lines[["violation_amt_fen", "violation_fee_fen", "penalty_fen"]] != 0).any(axis=1).to_numpy(),
                      "is on a reversal line (冲正) with a violation, a fee or a penalty")):
        report.lines.extend(f"claims {k}: audited {_yuan(int(a))} {why}" for k, a in zip(ids[bad], audited[bad]))
    from yibao.ledger import read_ledger

    try:
        if not isinstance(ledger, str):
            raise InputError("the manifest does not name it (written by an earlier yibao)")
        held = read_ledger(ledger, lambda book: book.reversals(period.text))
    except InputError as exc:
        report.notices.append(f"reversal lines (冲正) and the month's batches not checked against the ledger: {exc}")
        return _as_reversals(lines[takes_back])
    taken = taken_back(held, claims)
    expected = taken.assign(mdtrt_id=taken["mdtrt_id"] + REVERSAL_LINE, audited_fen=-taken["audited_fen"])
    expected, written = expected.set_index("mdtrt_id"), lines.set_index("mdtrt_id")
    report.missing("claims", set(written.index) - set(expected.index), f"the ledger's reversals of {period.text}")
    report.missing("claims", set(expected.index) - set(written.index), "claims, but a reversal in the ledger")
    both = np.array(sorted(set(expected.index) & set(written.index)), dtype=object)
    report.compare("claims", both, "audited (from the ledger)", written.loc[both, "audited_fen"].to_numpy(),
                   expected.loc[both, "audited_fen"].to_numpy())
    a, e = written.loc[both, "institution_id"].to_numpy(), expected.loc[both, "institution_id"].to_numpy()
    report.lines.extend(f"claims {k}: institution_id {x} ≠ {y} (from the ledger)"
                        for k, x, y in zip(both[a != e], a[a != e], e[a != e]))
    return held


def _as_reversals(lines: pd.DataFrame) -> pd.DataFrame:
    """Reversal lines as `settle_scored` takes them (the claim's id, the funds taken back)."""
    return pd.DataFrame({"institution_id": lines["institution_id"],
                         "mdtrt_id": lines["mdtrt_id"].str[:-len(REVERSAL_LINE)], "psn_no": "", "med_type": "",
                         "admit_date": "", "discharge_date": "", "audited_fen": -lines["audited_fen"],
                         "this_month_fen": 0})
