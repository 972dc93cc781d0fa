"""The batch summary an examiner reads first: decisions, reasons, fund totals, top violations.

Totals are summed in integer fen and only then shown as yuan, so the summary reconciles to the
claims table to the fen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from yibao.labels import DECISIONS, beside
from yibao.money import fen_to_yuan, yuan_array_to_fen
from yibao.pipeline import Result
from yibao.tables import LIST_SEP

FUNDS = ("medfee_sumamt", "inscp_scp_amt", "violation_amt", "hifp_pay", "hifmi_pay", "hifob_pay",
         "maf_pay", "fund_pay_sumamt", "psn_part_amt", "hosp_part_amt", "maternity_allowance", "maternity_grant")
TOP = 10


def _yuan(fen: int) -> str:
    return str(fen_to_yuan(fen))


def _fund_totals(fen: Mapping[str, int]) -> dict[str, str]:
    return {f: _yuan(int(fen.get(f, 0))) for f in FUNDS}


def _code_counts(lists: pd.Series) -> dict[str, int]:
    """Per code, how often it appears in the `;`-lists: each distinct list split once (a month
    holds a few hundred distinct lists), its count added to each of its codes."""
    counts: Counter[str] = Counter()
    for text, n in lists.value_counts().items():
        for code in str(text).split(LIST_SEP):
            if code:
                counts[code] += int(n)
    return dict(sorted(counts.items()))


@dataclass
class Tally:
    """What the summary adds up from the claims: sums that add across parts of a batch, so a
    partitioned run reduces its parts' tallies and never holds all its claims at once."""

    claims: int = 0
    calendar_estimated: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    funds: Counter[str] = field(default_factory=Counter)  # fen
    by_med_type: dict[str, Counter[str]] = field(default_factory=dict)  # fen
    institutions: dict[str, Counter[str]] = field(default_factory=dict)  # claims, violation, borne (fen)

    @classmethod
    def of(cls, claims: pd.DataFrame) -> Tally:
        # every fund column in fen once; totals by med type as integer sums of a group key, not
        # as a frame per group
        fen = pd.DataFrame({f: yuan_array_to_fen(claims[f].to_numpy(dtype=np.float64)) for f in FUNDS},
                           index=claims.index)
        by_med_type = {str(mt): Counter(totals.astype(int).to_dict())
                       for mt, totals in fen.groupby(claims["med_type"], sort=True).sum().iterrows()}
        violated = fen["violation_amt"].to_numpy() > 0
        by_inst = fen.loc[violated, ["violation_amt", "hosp_part_amt"]].groupby(
            claims.loc[violated, "institution_id"]).agg(["size", "sum"])
        institutions = {str(i): Counter(claims=int(r[("violation_amt", "size")]),
                                        violation=int(r[("violation_amt", "sum")]),
                                        borne=int(r[("hosp_part_amt", "sum")])) for i, r in by_inst.iterrows()}
        return cls(claims=len(claims), calendar_estimated=int(claims["calendar_estimated"].sum()),
                   decisions=Counter({str(k): int(v) for k, v in claims["decision"].value_counts().items()}),
                   reasons=Counter(_code_counts(claims["reason_codes"])),
                   funds=Counter({f: int(v) for f, v in fen.sum().items()}),
                   by_med_type=by_med_type, institutions=institutions)

    def __add__(self, other: Tally) -> Tally:
        def merged(a: dict[str, Counter[str]], b: dict[str, Counter[str]]) -> dict[str, Counter[str]]:
            return {k: _plus(a.get(k, Counter()), b.get(k, Counter())) for k in a.keys() | b.keys()}

        return Tally(self.claims + other.claims, self.calendar_estimated + other.calendar_estimated,
                     _plus(self.decisions, other.decisions), _plus(self.reasons, other.reasons),
                     _plus(self.funds, other.funds), merged(self.by_med_type, other.by_med_type),
                     merged(self.institutions, other.institutions))


def _plus(a: Counter[str], b: Counter[str]) -> Counter[str]:
    """a + b keeping every key (Counter's own + drops the sums that are not positive)."""
    total = Counter(a)
    total.update(b)
    return total


def summarize(result: Result) -> dict[str, Any]:
    return summary_of(Tally.of(result.claims), len(result.scored_lines), result.violations, result.rejects)


def summary_of(tally: Tally, lines: int, violations: pd.DataFrame, rejects: pd.DataFrame) -> dict[str, Any]:
    """The summary of a batch from its claims' tally, its line count, violations and rejects."""
    violations = violations.assign(fen=yuan_array_to_fen(violations["violation_amt"].to_numpy()))
    by_code = violations.groupby("code").agg(claims=("mdtrt_id", "nunique"), fen=("fen", "sum"))
    by_code = by_code.sort_values(["fen", "claims"], ascending=False, kind="stable").head(TOP)
    top = sorted(tally.institutions.items(), key=lambda kv: (-kv[1]["violation"], -kv[1]["claims"], kv[0]))[:TOP]
    return {
        "claims": tally.claims,
        "lines": int(lines),
        "rejects": {str(k): int(v) for k, v in rejects.groupby("table").size().items()},
        "decisions": dict(sorted(tally.decisions.items())),
        "calendar_estimated": tally.calendar_estimated,
        "reasons": dict(sorted(tally.reasons.items())),
        "funds": _fund_totals(tally.funds),
        "funds_by_med_type": {mt or "application": _fund_totals(tally.by_med_type[mt])
                              for mt in sorted(tally.by_med_type)},
        "top_violation_codes": [{"code": c, "claims": int(r.claims), "amount": _yuan(int(r.fen))}
                                for c, r in by_code.iterrows()],
        "top_institutions": [{"institution_id": i, "claims": t["claims"], "violation_amt": _yuan(t["violation"]),
                              "hosp_part_amt": _yuan(t["borne"])} for i, t in top],
    }


def with_decision_words(claims: pd.DataFrame) -> pd.DataFrame:
    """The claims with `decision_zh` (通过, 部分通过, …) right after `decision`, for sheets people read."""
    out = claims.copy()
    out.insert(out.columns.get_loc("decision") + 1, "decision_zh", claims["decision"].map(DECISIONS).fillna(""))
    return out


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    table = Table(*columns, title=title, title_justify="left")
    for row in rows:
        table.add_row(*(Text(str(v)) for v in row))  # codes and ids from the batch: never markup
    return table


def print_summary(summary: dict[str, Any], console: Console) -> None:
    console.print(f"[bold]{summary['claims']:,}[/] claims, {summary['lines']:,} lines scored; "
                  f"rejects: {summary['rejects'] or 'none'}")
    console.print(_table("决定 decisions", ["decision", "claims"],
                         [[beside(k, DECISIONS), v] for k, v in summary["decisions"].items()]))
    if summary["calendar_estimated"]:
        console.print(f"[yellow]{summary['calendar_estimated']:,} claims with working-day answers beyond the "
                      f"known holiday calendar, estimated by weekends only (calendar_estimated); "
                      f"see `yibao calendar check`[/]")
    if summary["reasons"]:
        console.print(_table("理由 reasons", ["code", "claims"], [list(kv) for kv in summary["reasons"].items()]))
    funds = ["medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "hifmi_pay", "hifob_pay", "maf_pay",
             "psn_part_amt", "hosp_part_amt"]
    rows = [["all"] + [summary["funds"][f] for f in funds]]
    rows += [[mt] + [totals[f] for f in funds] for mt, totals in summary["funds_by_med_type"].items()]
    console.print(_table("基金 funds (yuan) by med_type", ["med_type"] + funds, rows))
    if summary["top_violation_codes"]:
        console.print(_table("违规 top violation codes", ["code", "claims", "amount"],
                             [[v["code"], v["claims"], v["amount"]] for v in summary["top_violation_codes"]]))
        console.print(_table("机构 top institutions", ["institution", "claims", "violation", "borne"],
                             [[v["institution_id"], v["claims"], v["violation_amt"], v["hosp_part_amt"]]
                              for v in summary["top_institutions"]]))
