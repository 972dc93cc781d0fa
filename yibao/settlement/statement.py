"""The settlement arithmetic (定点医药机构费用结算): what each institution is paid for a month.

docs/domain.md §4.3 and docs/settlement.md are the contract. Per
direct claim discharged in the period: the violation fee (违规费用) is `hosp_part_amt`
(declared funds − audited funds), attributed to its violation codes in proportion to their
`violation_amt` (largest remainder, exact to the fen); the penalty (违约金) is
R(fee × Σ(rate × violation_amt) ÷ Σ violation_amt), one rounding. Per institution: declared,
fees and penalties are sums over its settled claims; the quality deposit (质量保证金) is
R(deposit_ratio × (declared − fees − penalties)); paid = declared − fees − penalties − deposit.
A claim with incorrect data is withheld (暂不拨付): its declared amount is shown as `withheld`,
outside `declared`, so every identity above holds on the settled claims alone. All money is
int64 fen here; the tables hold yuan, exact to the fen, like the score output.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from yibao.money import BP, div_half_up, mul_bp, ratio_to_bp
from yibao.settlement.allocate import largest_remainder
from yibao.settlement.checks import claim_problems, rejected_claims
from yibao.settlement.inputs import Period, Scored, Source, days
from yibao.tables import LIST_SEP
from yibao.tariffs import registry

if TYPE_CHECKING:  # the ledger (SQLAlchemy) is imported only by settlements that use it
    from yibao.ledger.periods import Mark

WITHHELD, SETTLED = "withheld", "settled"


@dataclass(frozen=True)
class Settlement:
    """One period's settlement; every table has the period and institution_id first.

    statements: one row per institution — claims, withheld_claims, suspect_claims,
      declared_total = declared + withheld, withheld, declared, audited, violation_fees,
      penalties, deposit_ratio, deposit, paid.
    claims: every direct claim of the period the scorer scored, with its status (settled or
      withheld), declared, audited, violation_amt, violation_fee, penalty.
    claim_codes: per settled claim and violation code, its violation_amt and its shares of the
      claim's fee and penalty.
    by_code: claim_codes summed per institution, code and penalty rate.
    suspects: flags for an examiner to review (they deduct nothing).
    data_incorrect: withheld claims with the reason; `scored` false for claims the scorer
      rejected (their declared amount is not known).
    unknown_institution: rejected claims no statement can hold, for the whole run.
    period: the month (YYYY-MM); sources: the score folders it was computed from (several for a
      month of several ledger batches; none, `()`, for a month settled from the ledger alone, its
      only entries reversals; None, not known, when settled from a `Result` in memory).
    benefits: settled with a ledger only — the maternity cash benefits (生育津贴, 一次性生育补助金)
      the ledger paid to persons in the period, one row per entry, reversals (冲正) negative.
      They are paid to the mother, not the institution: no statement counts them.
    ledger: settled with a ledger only — the period as read there, recorded as settled when
      the settlement is written (`write_settlement`), so that nothing is booked in it after;
      its URL without the password goes into the manifest, so that `--verify` can hold the
      reversal lines (冲正) against the ledger's reversals of the period.
    """

    statements: pd.DataFrame
    claims: pd.DataFrame
    claim_codes: pd.DataFrame
    by_code: pd.DataFrame
    suspects: pd.DataFrame
    data_incorrect: pd.DataFrame
    unknown_institution: pd.DataFrame
    period: str = ""
    sources: tuple[Source, ...] | None = None
    benefits: pd.DataFrame | None = None
    ledger: Mark | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        return {f.name: getattr(self, f.name) for f in fields(self)
                if isinstance(getattr(self, f.name), pd.DataFrame)}


def _yuan(fen: np.ndarray | pd.Series) -> np.ndarray:
    return np.asarray(fen, dtype=np.int64) / 100


@dataclass(frozen=True)
class TariffTerms:
    """The audit edits of the tariff versions the claims used, and the deposit ratio."""

    edits: pd.DataFrame  # tariff, code, title, penalty_bp
    deposit_bp: int

    @staticmethod
    def of(keys: list[str]) -> TariffTerms:
        """Edits of every version; the deposit ratio of the latest one (the version in force at
        the end of the period), 0 when no claim was scored. A claim scored under no version (a
        re-sent claim the ledger refused as DUPLICATE_CLAIM: tariff "") brings none."""
        loaded = [registry.load_version(tariff_id, version).tariff
                  for tariff_id, _, version in (k.partition("@") for k in sorted(set(keys) - {""}))]
        versions = sorted(loaded, key=lambda t: (t.effective_from, t.key))
        edits = pd.DataFrame([(t.key, e.code, e.title, ratio_to_bp(e.penalty_rate))
                              for t in versions for e in t.audit.edits],
                             columns=["tariff", "code", "title", "penalty_bp"])
        return TariffTerms(edits, ratio_to_bp(versions[-1].settlement.deposit_ratio) if versions else 0)

    def titles(self) -> dict[str, str]:
        return dict(zip(self.edits["code"], self.edits["title"]))


REVERSED = "reversed"  # decision of a reversal line (冲正)
REVERSAL_LINE = "/冲正"  # a reversal line is named after the claim it reverses, and this


def settle_scored(scored: Scored, period: Period, reversals: pd.DataFrame | None = None,
                  benefits: pd.DataFrame | None = None) -> Settlement:
    """Settle the direct claims discharged in `period` (docs/domain.md §4.3), or every direct claim
    given when the period is placed `by_batch` (with the ledger). `reversals`: payments
    reversed (冲正) in this period (institution_id, mdtrt_id, psn_no, med_type, admit_date,
    discharge_date, audited_fen, this_month_fen: `yibao.ledger.periods.reversal_lines`), each a
    negative line that takes back the funds the institution was paid (`taken_back`); the
    violation fee was never paid and the penalty stands, so both are 0.
    `benefits`: the ledger's cash benefit entries of the period (`Ledger.benefits`), listed
    apart from the statements."""
    claims = _period_claims(scored.claims, period)
    terms = TariffTerms.of(list(claims["tariff"].unique()))
    violations = scored.violations[scored.violations["mdtrt_id"].isin(claims["mdtrt_id"])]
    violations = violations.merge(claims[["mdtrt_id", "institution_id", "tariff"]], on="mdtrt_id")
    reason = claim_problems(claims, scored.lines, violations, terms.edits[["tariff", "code"]])
    settled = reason == ""
    claims = claims.assign(status=np.where(settled, SETTLED, WITHHELD), reason=reason,
                           violation_fee_fen=np.where(settled, claims["hosp_part_amt_fen"], 0))
    codes = _claim_codes(claims, violations, terms)
    claims["penalty_fen"] = codes.groupby("mdtrt_id")["penalty_fen"].sum().reindex(
        claims["mdtrt_id"], fill_value=0).to_numpy()
    taken = None if reversals is None else taken_back(reversals, claims)
    if taken is not None and len(taken):
        claims = pd.concat([claims, _reversal_lines(taken)], ignore_index=True)
    placed, unknown = rejected_claims(scored.sources, period)
    data_incorrect = _data_incorrect(claims, placed, period)
    suspects = _suspects(claims, terms, period)
    statements = _statements(claims, data_incorrect, suspects, scored.institutions, terms.deposit_bp, period)
    return Settlement(statements, _claims_table(claims, period), _codes_table(codes, period),
                      _by_code(codes, terms, period), suspects, data_incorrect,
                      unknown.assign(period=period.text)[["period"] + list(unknown.columns)],
                      period.text, scored.origins, None if benefits is None else _benefits_table(benefits, period))


def _benefits_table(entries: pd.DataFrame, period: Period) -> pd.DataFrame:
    """One row per cash benefit entry, in ledger order; a reversal named `<mdtrt_id>/冲正` like
    its funds' line, so a claim corrected under its own id keeps distinct rows."""
    reversal = (entries["entry"] == "reversal").to_numpy()
    out = pd.DataFrame({"period": period.text, "mdtrt_id": np.where(reversal, entries["mdtrt_id"] + REVERSAL_LINE,
                                                                     entries["mdtrt_id"]),
                        "entry": entries["entry"].to_numpy()})
    for column in ("psn_no", "institution_id", "med_type", "admit_date", "discharge_date"):
        out[column] = entries[column].to_numpy()
    for column in ("maternity_allowance", "maternity_grant"):
        out[column] = _yuan(entries[f"{column}_fen"])
    return out


def taken_back(reversals: pd.DataFrame, claims: pd.DataFrame) -> pd.DataFrame:
    """The reversals with `audited_fen` the funds their lines take back: what earlier statements
    paid, and of this month's payments those this statement pays — a claim it withholds (`claims`:
    mdtrt_id, status) was paid nothing, so its reversal takes nothing back. A reversal that takes
    nothing back is no line."""
    withheld = reversals["mdtrt_id"].isin(claims.loc[claims["status"] == WITHHELD, "mdtrt_id"]).to_numpy()
    audited = reversals["audited_fen"].to_numpy(dtype=np.int64) + np.where(
        withheld, 0, reversals["this_month_fen"].to_numpy(dtype=np.int64))
    return reversals.assign(audited_fen=audited)[audited != 0].reset_index(drop=True)


def _reversal_lines(reversals: pd.DataFrame) -> pd.DataFrame:
    """Settled lines of negative declared = audited funds, named `<mdtrt_id>/冲正` (the corrected
    claim may be settled in the same period under its own id)."""
    taken = -reversals["audited_fen"].to_numpy(dtype=np.int64)
    zero = np.zeros(len(reversals), dtype=np.int64)
    return pd.DataFrame({
        "institution_id": reversals["institution_id"].to_numpy(), "mdtrt_id": reversals["mdtrt_id"] + REVERSAL_LINE,
        "psn_no": reversals["psn_no"].to_numpy(), "med_type": reversals["med_type"].to_numpy(),
        "decision": REVERSED, "admit_date": reversals["admit_date"].to_numpy(),
        "discharge_date": reversals["discharge_date"].to_numpy(), "tariff": "", "status": SETTLED,
        "declared_fund_pay_sumamt_fen": taken, "fund_pay_sumamt_fen": taken, "violation_amt_fen": zero,
        "hosp_part_amt_fen": zero, "violation_fee_fen": zero, "penalty_fen": zero,
        "violation_codes": "", "suspect_codes": "", "reason": ""})


def _period_claims(claims: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Direct claims discharged in the period (settled on the settlement date when undated);
    all of them when the ledger placed their batches in it."""
    discharge = days(claims["discharge_date"].to_numpy())
    placed = np.where(np.isnat(discharge), days(claims["setl_date"].to_numpy()), discharge)
    direct = (claims["kind"] == "claim").to_numpy() & (claims["settlement_mode"] == "direct").to_numpy()
    chosen = claims[direct & period.holds(placed)]
    return chosen.sort_values(["institution_id", "mdtrt_id"], kind="stable").reset_index(drop=True)


def _claim_codes(claims: pd.DataFrame, violations: pd.DataFrame, terms: TariffTerms) -> pd.DataFrame:
    """Per settled claim and code (codes in alphabetical order): violation_amt, its share of
    the fee, its penalty rate, and its share of the claim's penalty."""
    rows = violations[violations["mdtrt_id"].isin(claims.loc[claims["status"] == SETTLED, "mdtrt_id"])]
    rows = rows.merge(terms.edits[["tariff", "code", "penalty_bp"]], on=["tariff", "code"])
    rows = rows.sort_values(["institution_id", "mdtrt_id", "code"], kind="stable").reset_index(drop=True)
    group = pd.factorize(rows["mdtrt_id"])[0]
    fee = claims.set_index("mdtrt_id")["violation_fee_fen"].reindex(rows["mdtrt_id"]).to_numpy()
    amount = rows["violation_amt_fen"].to_numpy()
    weight = rows["penalty_bp"].to_numpy(dtype=np.int64) * amount
    rows["violation_fee_fen"] = largest_remainder(fee, amount, group)
    penalty = claim_penalty(fee, weight, amount, group)
    rows["penalty_fen"] = largest_remainder(penalty, weight, group)
    return rows


def claim_penalty(fee: np.ndarray, weight: np.ndarray, amount: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per row, its claim's penalty R(fee × Σ(rate × amount) ÷ Σ amount): one half-up
    rounding, in Python integers (the product can pass 2^63)."""
    if not len(group):
        return np.zeros(0, dtype=np.int64)
    weights = np.bincount(group, weights=weight).astype(np.int64)[group]
    amounts = np.bincount(group, weights=amount).astype(np.int64)[group]
    penalty = div_half_up(fee.astype(object) * weights.astype(object),
                          (BP * np.maximum(amounts, 1)).astype(object))
    return np.asarray(penalty, dtype=np.int64)


def _data_incorrect(claims: pd.DataFrame, placed: pd.DataFrame, period: Period) -> pd.DataFrame:
    withheld = claims[claims["status"] == WITHHELD]
    scored = pd.DataFrame({"institution_id": withheld["institution_id"], "mdtrt_id": withheld["mdtrt_id"],
                           "scored": True, "declared": _yuan(withheld["declared_fund_pay_sumamt_fen"]),
                           "reason": withheld["reason"]})
    unscored = placed.assign(scored=False, declared=np.nan,
                             reason="not scored: " + placed["reason"])[scored.columns]
    out = pd.concat([scored, unscored], ignore_index=True) if len(unscored) else scored
    out = out.sort_values(["institution_id", "mdtrt_id"], kind="stable").reset_index(drop=True)
    out.insert(0, "period", period.text)
    return out.astype({"scored": bool, "declared": np.float64})


def _suspects(claims: pd.DataFrame, terms: TariffTerms, period: Period) -> pd.DataFrame:
    flagged = claims.assign(code=claims["suspect_codes"].str.split(LIST_SEP)).explode("code")
    flagged = flagged[flagged["code"].fillna("") != ""]
    titles = terms.titles()
    return pd.DataFrame({
        "period": period.text, "institution_id": flagged["institution_id"], "mdtrt_id": flagged["mdtrt_id"],
        "psn_no": flagged["psn_no"], "code": flagged["code"],
        "title": [titles.get(c, c) for c in flagged["code"]],
        "admit_date": flagged["admit_date"], "discharge_date": flagged["discharge_date"],
        "status": flagged["status"]}).reset_index(drop=True)


def _statements(claims: pd.DataFrame, data_incorrect: pd.DataFrame, suspects: pd.DataFrame,
                institutions: pd.DataFrame, deposit_bp: int, period: Period) -> pd.DataFrame:
    settled = claims["status"] == SETTLED
    fen = pd.DataFrame({
        "institution_id": claims["institution_id"],
        "declared": np.where(settled, claims["declared_fund_pay_sumamt_fen"], 0),
        "withheld": np.where(settled, 0, claims["declared_fund_pay_sumamt_fen"]),
        "audited": np.where(settled, claims["fund_pay_sumamt_fen"], 0),
        "violation_fees": claims["violation_fee_fen"], "penalties": claims["penalty_fen"]})
    ids = sorted(set(claims["institution_id"]) | set(data_incorrect["institution_id"]))
    sums = fen.groupby("institution_id").sum().reindex(ids, fill_value=0)
    out = pd.DataFrame({"period": period.text, "institution_id": ids})
    names = institutions.set_index("institution_id")["name"]
    out["name"] = names.reindex(ids).fillna(pd.Series(ids, index=ids)).to_numpy(dtype=object)
    for column, table in (("claims", claims), ("withheld_claims", data_incorrect),
                          ("suspect_claims", suspects.drop_duplicates("mdtrt_id"))):
        out[column] = table.groupby("institution_id").size().reindex(ids, fill_value=0).to_numpy(dtype=np.int64)
    declared = sums["declared"].to_numpy()
    base = declared - sums["violation_fees"].to_numpy() - sums["penalties"].to_numpy()
    deposit = mul_bp(np.maximum(base, 0), deposit_bp)
    money = {"declared_total": declared + sums["withheld"].to_numpy(), "withheld": sums["withheld"].to_numpy(),
             "declared": declared, "audited": sums["audited"].to_numpy(),
             "violation_fees": sums["violation_fees"].to_numpy(), "penalties": sums["penalties"].to_numpy()}
    for column, values in money.items():
        out[column] = _yuan(values)
    out["deposit_ratio"] = deposit_bp / BP
    out["deposit"] = _yuan(deposit)
    out["paid"] = _yuan(base - deposit)
    return out


def _claims_table(claims: pd.DataFrame, period: Period) -> pd.DataFrame:
    out = claims[["institution_id", "mdtrt_id", "psn_no", "med_type", "decision", "admit_date",
                  "discharge_date", "tariff", "status"]].copy()
    out.insert(0, "period", period.text)
    for column, source in (("declared", "declared_fund_pay_sumamt_fen"), ("audited", "fund_pay_sumamt_fen"),
                           ("violation_amt", "violation_amt_fen"), ("violation_fee", "violation_fee_fen"),
                           ("penalty", "penalty_fen")):
        out[column] = _yuan(claims[source])
    for column in ("violation_codes", "suspect_codes", "reason"):
        out[column] = claims[column].to_numpy()
    return out


def _codes_table(codes: pd.DataFrame, period: Period) -> pd.DataFrame:
    return pd.DataFrame({
        "period": period.text, "institution_id": codes["institution_id"], "mdtrt_id": codes["mdtrt_id"],
        "code": codes["code"], "penalty_rate": codes["penalty_bp"] / BP,
        "violation_amt": _yuan(codes["violation_amt_fen"]), "violation_fee": _yuan(codes["violation_fee_fen"]),
        "penalty": _yuan(codes["penalty_fen"])})


def _by_code(codes: pd.DataFrame, terms: TariffTerms, period: Period) -> pd.DataFrame:
    sums = codes.groupby(["institution_id", "code", "penalty_bp"], sort=True).agg(
        claims=("mdtrt_id", "nunique"), violation_amt=("violation_amt_fen", "sum"),
        violation_fee=("violation_fee_fen", "sum"), penalty=("penalty_fen", "sum")).reset_index()
    titles = terms.titles()
    return pd.DataFrame({
        "period": period.text, "institution_id": sums["institution_id"], "code": sums["code"],
        "title": [titles.get(c, c) for c in sums["code"]], "penalty_rate": sums["penalty_bp"] / BP,
        "claims": sums["claims"].astype(np.int64), "violation_amt": _yuan(sums["violation_amt"]),
        "violation_fee": _yuan(sums["violation_fee"]), "penalty": _yuan(sums["penalty"]),
        "deduction": _yuan(sums["violation_fee"] + sums["penalty"])})
