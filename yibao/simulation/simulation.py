"""Score a batch under the baseline and under a reform, and compare.

Both runs go through `score_batch` — the one implementation of the rules and the arithmetic —
on the batch as read once; only the tariff differs. Of the baseline run only its claims are kept
while the reform runs, so the peak memory is one run's plus a claims table.

Hook for the per-claim trace (Explain, built apart): a claim's change is explained by the steps
that moved; `Simulation.claims` names each changed claim and both tariff versions, which is what
a trace of the claim under each version needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from yibao.errors import InputError
from yibao.io import Batch
from yibao.money import fen_to_yuan
from yibao.pipeline import TariffSpec, claim_regions, score_batch, spec_id
from yibao.simulation import tables
from yibao.simulation.claims import claims_diff
from yibao.simulation.labels import CASH, COMPARED, SIDES, money_columns
from yibao.simulation.reform import category_titles, edited_spec, tariff_diff, user_spec, versions_used


@dataclass(frozen=True)
class Simulation:
    """The comparison, amounts in yuan (exact to the fen; summed in fen): per claim, per person,
    per group of each breakdown, the deciles of persons' out-of-pocket change, the claims and
    persons that move most, the tariff diff applied, and `summary` (what summary.json holds)."""

    totals: pd.DataFrame
    claims: pd.DataFrame
    persons: pd.DataFrame
    breakdowns: dict[str, pd.DataFrame]
    deciles: pd.DataFrame
    top_claims: pd.DataFrame
    top_persons: pd.DataFrame
    tariff_diff: pd.DataFrame
    summary: dict[str, Any]

    @property
    def cash_changed(self) -> tuple[str, ...]:
        """The maternity cash benefits the reform changes on some claim: the ones whose change
        the breakdowns show (for a reform of deductibles, a column of zeros would be noise)."""
        return tuple(f for f in CASH if (self.claims[f"{f}_change"] != 0).any())


def _yuan_text(fen: int) -> str:
    return str(fen_to_yuan(int(fen)))


def as_yuan(frame: pd.DataFrame) -> pd.DataFrame:
    """The fen columns as yuan (float, exact to the fen), the form of every API frame and file."""
    money = [c for c in money_columns() if c in frame.columns]
    return frame.assign(**{c: frame[c].to_numpy() / 100 for c in money})


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows for summary.json: fen as yuan text, numpy scalars as Python values."""
    money = set(money_columns())
    return [{k: _yuan_text(v) if k in money else (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
            for row in frame.to_dict("records")]


def rejected_claims(rejects: pd.DataFrame | None) -> int:
    """Claims the reading set aside (a bad cell, an unknown person or institution, a rejected
    line): compared on neither side, so the report counts them beside the claims it compares,
    lest a batch mostly rejected read as a small one."""
    if rejects is None or rejects.empty:
        return 0
    return len(rejects.loc[rejects["table"] == "claims", ["file", "row"]].drop_duplicates())


def _described(tariff: TariffSpec | Path | None, edits: Sequence[str], reform: TariffSpec | Path | None,
               used: dict[str, list[str]]) -> dict[str, Any]:
    def name(spec: Any) -> str:
        return str(spec) if isinstance(spec, (str, Path)) else "(loaded versions)" if spec else "(default)"

    out: dict[str, Any] = {"baseline": {"tariff": name(tariff), "versions": used["baseline"]},
                           "reform": {"versions": used["reform"]}}
    if edits:
        out["reform"]["edits"] = list(edits)
    else:
        out["reform"]["tariff"] = name(reform)
    return out


def simulate_batch(batch: Batch, rejects: pd.DataFrame | None = None, *, edits: Sequence[str] = (),
                   reform: TariffSpec | Path | None = None, tariff: TariffSpec | Path | None = None,
                   accumulators: pd.DataFrame | None = None) -> Simulation:
    """Compare the batch under `tariff` (default: the bundled tariff, version in force per claim)
    and under the reform: `edits` (PATH=VALUE, applied to every version in force) or `reform`."""
    if bool(edits) == (reform is not None):
        raise InputError("give the reform as --set edits or as --reform, one of the two")
    baseline = user_spec(tariff)
    claims = batch.claims.reset_index(drop=True)
    region = spec_id(baseline)
    others = sorted(set(claim_regions(claims, batch.persons)) - {"", region})
    if others:  # a reform is one tariff: claims of other regions would be compared under neither
        raise InputError(f"simulate compares one pooling region: the batch also holds region {others[0]} "
                         f"(the region column of claims or persons); simulate each region's claims alone, "
                         f"with --tariff REGION")
    reformed = edited_spec(claims, baseline, edits) if edits else user_spec(reform)
    # the reform stands in for the region's tariff, also on the claims that name the region in their
    # (or their person's) region column: a reform folder has an id of its own, and those claims
    # would otherwise be scored under the region's tariff on the search path, unreformed
    served = {region: reformed}
    base = score_batch(batch, rejects, tariff=baseline, accumulators=accumulators)
    base_claims, base_rejects = base.claims, base.rejects
    del base  # its lines: the largest frame, not needed while the reform runs
    diff = claims_diff(base_claims, score_batch(batch, rejects, tariff=reformed, accumulators=accumulators,
                                                regions=served).claims, batch)
    pairs = diff.loc[(diff["tariff_baseline"] != "") & (diff["tariff_reform"] != ""),
                     ["tariff_baseline", "tariff_reform"]].drop_duplicates().sort_values(["tariff_baseline", "tariff_reform"])
    used_versions = versions_used(batch, baseline), versions_used(batch, reformed, served)
    changes = tariff_diff(*used_versions, pairs)
    people = tables.persons(diff)
    groups = tables.breakdowns(diff, category_titles(*used_versions))
    dec = tables.deciles(people)
    top_c, top_p = tables.top_claims(diff), tables.top_persons(people)
    used = {side: sorted(set(diff[f"tariff_{side}"]) - {""}) for side in ("baseline", "reform")}
    total = tables.totals(diff)
    summary = {
        **_described(tariff, edits, reform, used),
        "batch": {"claims": int(len(batch.claims)), "lines": int(len(batch.lines)),
                  "rejected_claims": rejected_claims(rejects),
                  # set aside by both runs (no version in force on its date, a resident category
                  # its version does not define): compared on neither side either
                  "unscored_claims": int(len(batch.claims) - len(diff)),
                  "rejects": {str(k): int(v) for k, v in base_rejects.groupby("table").size().items()}},
        "claims": {"compared": int(len(diff)), **{k: int(v) for k, v in diff["scored"].value_counts().sort_index().items()},
                   "changed": int(tables.changed(diff).sum()),
                   "decisions_changed": int((diff["decision_baseline"] != diff["decision_reform"]).sum())},
        "totals": {row["field"]: {side: _yuan_text(row[side]) for side in SIDES} for row in total.to_dict("records")},
        "persons": {"persons": int(len(people)), **tables.directions(people), "deciles": _records(dec)},
        "breakdowns": {d: _records(frame) for d, frame in groups.items()},
        "top_claims": _records(top_c[["mdtrt_id", "med_type", "institution_id"] +
                                     [f"{f}_{s}" for f in COMPARED for s in SIDES]]),
        "tariff_diff": changes.to_dict("records"),
    }
    return Simulation(as_yuan(total), as_yuan(diff), as_yuan(people), {d: as_yuan(g) for d, g in groups.items()}, as_yuan(dec),
                      as_yuan(top_c), as_yuan(top_p), changes, summary)
