"""Scoring a batch through the ledger: what was paid before is neither forgotten nor paid again.

Around the one pipeline (`score_batch`), never inside it:
1. the batch id is the digest of the input tables and the tariff: a batch already committed is
   scored again from what it started from (the accumulators and duplicates the ledger kept), so
   its outputs are the same and nothing is added;
2. a claim re-sent with `correction_of` = an earlier paid claim reverses that payment (冲正)
   and takes its accumulators back out before anything is scored;
3. a claim the ledger holds as paid is not scored: it is in the claims output as `rejected`,
   reason code DUPLICATE_CLAIM, naming the batch and period it was paid in; nor is a claim a
   correction booked before replaces (reason code SUPERSEDED, as GEN-010 refuses it beside its
   correction in one batch); and the claims it holds as paid to the batch's persons are earlier
   claims of GEN-007's duplicate check (重复报销: the same stay sent again under a new id is
   refused DUPLICATE, naming the claim paid);
4. the rest is scored from the ledger's accumulators — a claim for an earlier month than they
   hold from what the entries counted in its month (`Ledger.months`) — and the whole batch is
   committed in one transaction (`Ledger.commit`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path

from typing import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from yibao.booked import Outcome
from yibao.calculator.scan import MONTH_KEYS
from yibao.errors import InputError
from yibao.io import Batch
from yibao.ledger.schema import ACC, CASH, CORRECTED_TWICE, DUPLICATE, FUNDS, MONEY, SUPERSEDED
from yibao.ledger.store import (Commit, Ledger, accumulators_to_fen, accumulators_to_yuan, empty_accumulators,
                                less_payments, month_amounts, refused_naming)
from yibao.pipeline import REJECT_COLUMNS, Result, score_batch
from yibao.money import yuan_array_to_fen
from yibao.rules.facts import EARLIER
from yibao.settlement.inputs import parse_period
from yibao.tables import LIST_SEP, TABLES
from yibao.tariffs.registry import LoadedTariff

# the rule of each reason a claim is not scored
RULES = {DUPLICATE: "LEDGER-DUPLICATE", SUPERSEDED: "LEDGER-SUPERSEDED", CORRECTED_TWICE: "LEDGER-CORRECTED-TWICE"}
DECISIONS_PAID = ("approved", "partially_approved")


def check_ledger_tariff(tariff: object, regions: Mapping[str, object] | None = None) -> None:
    """The ledger records a batch's tariff by id, to be found again on the search path: a folder
    off it, or other regions' tariffs given with the batch, cannot be recorded."""
    if isinstance(tariff, (list, tuple)) or regions:
        raise InputError("the ledger records the tariff by id: install the folders on YIBAO_TARIFF_PATH "
                         "and give one tariff id (--tariff ID)")


def batch_digest(batch: Batch, rejects: pd.DataFrame, tariff: str | LoadedTariff | None) -> str:
    """sha256 of every input table's columns and content (row order included) and the tariff:
    the same input gives the same id wherever its files lie."""
    h = hashlib.sha256()
    spec = tariff.key if isinstance(tariff, LoadedTariff) else (tariff or "")
    h.update(f"tariff={spec}\n".encode())
    for name in TABLES:
        frame = getattr(batch, name)
        h.update(f"{name}:{json.dumps([str(c) for c in frame.columns])}:{len(frame)}\n".encode())
        h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    h.update(pd.util.hash_pandas_object(rejects.drop(columns="file", errors="ignore"), index=False)
             .to_numpy().tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class Plan:
    """What a batch is scored from: the accumulators (fen), the claims not scored (mdtrt_id,
    paid_batch, paid_period, code, named: `schema.batch_duplicates`), the payment entries its
    corrections reverse, the claims paid to its persons before (`yibao.rules.facts.EARLIER`: the
    duplicate check's), what was counted in each month (a late claim's month is not the
    accumulators') and its corrections of other claims, which the ledger keeps."""

    inputs: pd.DataFrame
    duplicates: pd.DataFrame
    reversed: pd.DataFrame
    persons: tuple[str, ...] = ()  # whose accumulators were read, and what was read: checked at commit
    held: pd.DataFrame | None = None
    earlier: pd.DataFrame | None = None
    months: pd.DataFrame | None = None  # what the entries counted in each month (`Ledger.months`)
    corrections: pd.DataFrame | None = None  # mdtrt_id, correction_of (not its own id)


def earlier_claims(ledger: Ledger, persons: Iterable[str], batch_id: str | None = None,
                   reversed_: pd.DataFrame | None = None) -> pd.DataFrame:
    """The claims paid to `persons` and not reversed (as `batch_id` found them, when it is
    committed already), less the payments the batch's corrections reverse: a corrected claim
    is no earlier claim, or its correction could never be paid. Each labelled as the refusal
    names it: id, batch and period of the payment."""
    paid = ledger.paid_to(persons, batch_id)
    if reversed_ is not None and len(reversed_):
        paid = paid[~paid["entry_id"].isin(reversed_["entry_id"])]
    label = [f"{m}，批次 {b[:12]}，{p} 期已支付"
             for m, b, p in zip(paid["mdtrt_id"], paid["batch_id"], paid["period"])]
    return paid.assign(label=label)[list(EARLIER)].reset_index(drop=True)


def _plan(ledger: Ledger, claims: pd.DataFrame) -> Plan:
    """A new batch's plan, from the ledger as it is now. A claim paid before is not scored
    again; nor is a claim a correction booked before replaces: its payment was reversed then (or
    it was never paid), and paying it now would pay the stay twice, beside its correction; nor a
    correction of a claim whose earlier correction (or one of that one, …) is paid: nothing of the
    claim is paid to reverse, and the two corrections would both stand (`_corrected_before`)."""
    targets = claims["correction_of"].fillna("").astype(str) if "correction_of" in claims else \
        pd.Series("", index=claims.index, dtype=object)
    paid = ledger.paid(set(claims["mdtrt_id"]) | set(targets[targets != ""]))
    corrected = paid[paid["mdtrt_id"].isin(targets)]
    reversed_ = ledger.entries(corrected["entry_id"])
    dup = paid[paid["mdtrt_id"].isin(claims["mdtrt_id"]) & ~paid["mdtrt_id"].isin(corrected["mdtrt_id"])]
    fresh = ~claims["mdtrt_id"].isin(dup["mdtrt_id"])
    replaced = ledger.superseding(claims.loc[(claims["kind"] == "claim") & fresh, "mdtrt_id"])
    # a correction under the id of a claim paid before is refused as that claim: it replaces nothing
    fixes = (targets != "") & (targets != claims["mdtrt_id"]) & fresh
    corrections = pd.DataFrame({"mdtrt_id": claims.loc[fixes, "mdtrt_id"], "correction_of": targets[fixes]})
    twice = _corrected_before(ledger, corrections[~corrections["mdtrt_id"].isin(replaced["mdtrt_id"])])
    dups = pd.concat([pd.DataFrame({"mdtrt_id": dup["mdtrt_id"], "paid_batch": dup["batch_id"],
                                    "paid_period": dup["period"], "code": DUPLICATE, "named": ""}), replaced, twice],
                     ignore_index=True)
    persons = set(claims["psn_no"]) | set(reversed_["psn_no"])
    held = ledger.accumulators(persons)
    taken = month_amounts(reversed_)
    months = pd.concat([ledger.months(claims["psn_no"]), taken.assign(fen=-taken["fen"])], ignore_index=True)
    return Plan(less_payments(held, reversed_), dups, reversed_, tuple(sorted(persons)), held,
                earlier_claims(ledger, claims["psn_no"], reversed_=reversed_), months,
                corrections.reset_index(drop=True))


def _corrected_before(ledger: Ledger, corrections: pd.DataFrame) -> pd.DataFrame:
    """The batch's `corrections` (mdtrt_id, correction_of) of a claim that a claim paid now
    replaces through corrections booked before, as the batch's duplicates are kept (code
    CORRECTED_TWICE, `named` those paid, the batch and period of the first): in one batch two
    corrections of a claim are both refused (GEN-011), and across batches the second would be
    paid beside the first. The hospital corrects the claim that stands instead."""
    standing = ledger.standing(corrections["correction_of"]).rename(columns={"mdtrt_id": "named"})
    hit = corrections.merge(standing, left_on="correction_of", right_on="target")
    return refused_naming(hit[hit["named"] != hit["mdtrt_id"]].sort_values(["mdtrt_id", "named"]), "mdtrt_id",
                          "named", CORRECTED_TWICE)


def replay_plan(ledger: Ledger, batch_id: str, claims: pd.DataFrame,
                persons: Iterable[str] | None = None) -> Plan:
    """A committed batch's plan (of `claims`, a partition of it or the whole): what its scoring
    started from, as the ledger kept it; `persons`: whose accumulators to read (all)."""
    inputs, dups = ledger.batch_inputs(batch_id, persons, None if persons is None else claims["mdtrt_id"])
    return Plan(inputs, dups, pd.DataFrame(), earlier=earlier_claims(ledger, claims["psn_no"], batch_id),
                months=ledger.months(claims["psn_no"], batch_id))


def score_with_ledger(ledger: Ledger, batch: Batch, rejects: pd.DataFrame,
                      tariff: str | LoadedTariff | None = None, period: str | None = None,
                      trace: bool = False) -> tuple[Result, Outcome, Commit | None]:
    """Score a batch against the ledger: the result, what committing it means, and the commit
    to make (None when the batch is already committed). Committing is left to the caller, so a
    command can make it after its output is written and before the output is put in place: a
    run killed while writing then leaves the ledger as it was."""
    if period is not None:
        period = parse_period(period).text
    if len(batch.accumulators) or len(batch.rejected_accumulators):
        raise InputError("the batch has an accumulators table, but with a ledger the accumulators come from "
                         "the ledger: remove the table", file=batch.sources.get("accumulators"))
    batch_id = batch_digest(batch, rejects, tariff)
    known = ledger.batch(batch_id)
    if known is not None:
        plan = replay_plan(ledger, batch_id, batch.claims)
    else:
        if period is not None:
            ledger.refuse_settled(period)  # before scoring it all; the commit checks again
        plan = _plan(ledger, batch.claims)
    result, payments = _score(batch, rejects, tariff, plan, trace)
    if known is not None:
        outcome = Outcome(batch_id, known["period"], True, known["claims"], known["duplicates"], known["reversals"])
        return replace(result, booked=outcome), outcome, None
    period = period or _period_of(result.claims)
    outcome = Outcome(batch_id, period, False, len(payments), len(plan.duplicates), len(plan.reversed))
    result = replace(result, booked=outcome)
    commit = Commit(batch_id, period, "" if tariff is None else str(getattr(tariff, "key", tariff)),
                    payments, plan.reversed, plan.duplicates, plan.inputs, accumulators_to_fen(result.accumulators),
                    plan.persons, plan.held, plan.corrections)
    return result, outcome, commit


def _score(batch: Batch, rejects: pd.DataFrame, tariff: str | LoadedTariff | None,
           plan: Plan, trace: bool = False) -> tuple[Result, pd.DataFrame]:
    """The batch scored without the claims already paid or replaced by a correction, which join
    the claims output as rejected; (result, the payment entries of the claims it pays)."""
    refused = _refusals(plan.duplicates)
    is_dup = batch.claims["mdtrt_id"].isin(refused.index).to_numpy()
    line_dup = batch.lines["mdtrt_id"].isin(refused.index).to_numpy()
    scored = replace(batch, claims=batch.claims[~is_dup], lines=batch.lines[~line_dup])
    if line_dup.any():
        rejects = pd.concat([rejects, _line_rejects(batch, line_dup, refused)], ignore_index=True)
    result = score_batch(scored, rejects, tariff=tariff, accumulators=accumulators_to_yuan(plan.inputs),
                         contributions=True, trace=trace, earlier=plan.earlier, months=plan.months)
    payments = _payments(result)
    if is_dup.any():
        rows = _refused_rows(batch.claims[is_dup], refused, result.claims)
        result = replace(result, claims=pd.concat([result.claims, rows], ignore_index=True))
    return result, payments


def _refusals(dups: pd.DataFrame) -> pd.DataFrame:
    """The claims not scored (`Plan.duplicates`), by id: the rule, reason code and message that
    refuse each — paid before, or replaced by a correction booked before."""
    messages = [_refusal(code, ", ".join(named.split(LIST_SEP)), f"batch {b[:12]}", p)
                for code, named, b, p in zip(dups["code"], dups["named"], dups["paid_batch"], dups["paid_period"])]
    return pd.DataFrame({"rule": dups["code"].map(RULES).to_numpy(dtype=object),
                         "code": dups["code"].to_numpy(dtype=object), "message": messages},
                        index=pd.Index(dups["mdtrt_id"].to_numpy(dtype=object), name="mdtrt_id"))


def _refusal(code: str, named: str, batch: str, period: str) -> str:
    """Why a claim is not scored, in the words of its reason code."""
    if code == SUPERSEDED:
        return f"replaced by its correction {named} ({batch}, period {period})"
    if code == CORRECTED_TWICE:
        return (f"corrects a claim that {named} replaces, paid in {batch} (period {period}): correct {named} "
                f"instead (correction_of)")
    return f"already paid in {batch} (period {period})"


def _period_of(claims: pd.DataFrame) -> str:
    """A batch's settlement month when --period is not given: its latest settlement date's."""
    return period_of(last_settled(claims))


def last_settled(claims: pd.DataFrame) -> str:
    """The latest settlement date of scored claims ("" when none has one)."""
    dates = claims.loc[claims["setl_date"].astype(str) != "", "setl_date"].astype(str)
    return max(dates, default="")


def period_of(last: str) -> str:
    """The month of a batch's latest settlement date."""
    if not last:
        raise InputError("no claim has a settlement date to place the batch in a month: give --period YYYY-MM")
    return last[:7]


def _payments(result: Result) -> pd.DataFrame:
    """Entries for the claims this batch pays: those approved, or that drew from a fund, paid a
    cash benefit or moved an accumulator (a rejected claim drew nothing, so it may be filed again)."""
    c, added = result.claims, result.contributions
    money = {m: yuan_array_to_fen(np.nan_to_num(c[m].to_numpy(dtype=np.float64))) for m in MONEY}
    out = pd.DataFrame({"mdtrt_id": c["mdtrt_id"].to_numpy(), "psn_no": c["psn_no"].to_numpy(),
                        "year": c["year"].to_numpy(dtype=np.int64), "kind": c["kind"].to_numpy(),
                        "institution_id": c["institution_id"].to_numpy(),
                        "settlement_mode": c["settlement_mode"].to_numpy(),
                        "med_type": c["med_type"].to_numpy(), "admit_date": c["admit_date"].to_numpy(),
                        "discharge_date": c["discharge_date"].to_numpy()} | money)
    # the scan reports no contributions for a batch without claims
    acc = accumulators_to_fen(added.assign(psn_no="", year=0)) if added is not None else empty_accumulators()
    for a in ACC + ("chronic_paid",):
        out["add_" + a] = acc[a].to_numpy()
    drew = list(FUNDS + CASH) + ["declared_fund_pay_sumamt", "hosp_part_amt"]
    moved = (out[["add_" + a for a in ACC if a not in MONTH_KEYS.values()] + drew] != 0).any(axis=1)
    keep = moved.to_numpy() | c["decision"].isin(DECISIONS_PAID).to_numpy() | (out["add_chronic_paid"] != "").to_numpy()
    return out[keep].reset_index(drop=True)


def _line_rejects(batch: Batch, line_dup: np.ndarray, refused: pd.DataFrame) -> pd.DataFrame:
    """The lines of the claims not scored, each as `rejects` names it, the reason its claim's: a
    claim's reason looked up once per line by index (a month sent again is ten lines a claim)."""
    lines = batch.lines[line_dup]  # indexed by file row, of the whole file or of a partition's rows
    why = "its claim was " + refused["message"] + ": " + refused["code"]
    reason = why.reindex(lines["mdtrt_id"].to_numpy(dtype=object)).to_numpy(dtype=object)
    return pd.DataFrame({"table": "lines", "file": batch.sources.get("lines", ""),
                         "row": lines.index.to_numpy() + 2, "column": "",
                         "key": (lines["mdtrt_id"] + "/" + lines["line_id"]).to_numpy(),
                         "reason": reason}, columns=REJECT_COLUMNS)


def _refused_rows(claims: pd.DataFrame, refused: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """Claims output rows for claims not scored (`_refusals`): rejected, every amount 0, the
    reason naming the batch and period of the payment, or of the correction."""
    why = refused.loc[claims["mdtrt_id"].to_numpy(dtype=object)]
    rows = pd.DataFrame(index=range(len(claims)))
    for column, dtype in like.dtypes.items():
        rows[column] = np.zeros(len(claims), dtype=dtype) if pd.api.types.is_numeric_dtype(dtype) else ""
    for column in ("mdtrt_id", "psn_no", "kind", "med_type", "institution_id", "settlement_mode"):
        rows[column] = claims[column].astype(str).to_numpy()
    for column in ("admit_date", "discharge_date"):
        rows[column] = claims[column].dt.strftime("%Y-%m-%d").fillna("").to_numpy()
    year = claims["discharge_date"].dt.year.fillna(claims["admit_date"].dt.year).fillna(0)
    rows["year"] = year.to_numpy(dtype=np.int64)
    rows["decision"] = "rejected"
    rows["reasons"] = [json.dumps([{"rule_id": r, "code": c, "message": m}], ensure_ascii=False)
                       for r, c, m in zip(why["rule"], why["code"], why["message"])]
    rows["reason_codes"] = why["code"].to_numpy(dtype=object)
    rows["rules_fired"] = why["rule"].to_numpy(dtype=object)
    return rows[list(like.columns)]


def score_into(url: str | Path, batch: Batch, rejects: pd.DataFrame, tariff: str | LoadedTariff | None = None,
               period: str | None = None, trace: bool = False) -> tuple[Result, Outcome, Callable[[], None]]:
    """`score_with_ledger` on the ledger at `url` (a SQLite path or a SQLAlchemy URL), and the
    function that commits the batch to it in one transaction (nothing, when it was already). A
    period that is not a month is refused before a ledger is made at `url`."""
    period = None if period is None else parse_period(period).text
    ledger = Ledger(url, create=True)
    try:
        result, outcome, pending = score_with_ledger(ledger, batch, rejects, tariff, period, trace)
    finally:
        ledger.close()

    def commit() -> None:
        if pending is None:
            return
        target = Ledger(url, create=True)
        try:
            target.commit(pending)
        finally:
            target.close()

    return result, outcome, commit
