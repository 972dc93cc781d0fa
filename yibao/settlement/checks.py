"""Data problems that withhold a claim from payment (数据不正确), and claims the scorer rejected.

The agency's procedure (濮阳县服务事项, items 27–28) sends a declaration with incorrect data back
instead of paying it. A settlement job runs unattended, so a bad claim must neither stop the
run nor be paid or dropped silently: each problem becomes a one-line reason, the claim is
listed in its institution's statement and its declared amount is withheld (暂不拨付) until
corrected. Claims the scorer rejected are placed the same way when their source row says
which institution and month they belong to; those naming no known institution are listed for
the whole run.
"""

from __future__ import annotations

import re
from typing import Callable

import numpy as np
import pandas as pd

from yibao.money import fen_to_yuan
from yibao.settlement.inputs import Period, days

INSTITUTION_IN_REASON = re.compile(r"institution_id '([^']*)'|institutions row \d+ \(([^)]*)\)")


def _yuan(fen: int) -> str:
    return str(fen_to_yuan(int(fen)))


def _join(reasons: list[np.ndarray]) -> np.ndarray:
    """Per claim the non-empty reasons joined by "; "."""
    joined = np.full(len(reasons[0]), "", dtype=object)
    for r in reasons:
        has = r != ""
        joined = np.where(has & (joined != ""), joined + "; " + r, np.where(has, r, joined))
    return joined


def _when(mask: np.ndarray, reason: Callable[[int], str]) -> np.ndarray:
    """`reason(i)` for each claim i where `mask` holds (worded only for those), "" elsewhere."""
    out = np.full(len(mask), "", dtype=object)
    for i in np.flatnonzero(mask):
        out[i] = reason(int(i))
    return out


def claim_problems(claims: pd.DataFrame, lines: pd.DataFrame, violations: pd.DataFrame,
                   known_codes: pd.DataFrame) -> np.ndarray:
    """Per claim (row of `claims`) why its data are incorrect, "" when they are not.

    `violations` are the rows of these claims (mdtrt_id, code, violation_amt_fen, tariff);
    `known_codes` has the (tariff, code) pairs the claims' tariff versions define.
    """
    ids = claims["mdtrt_id"].to_numpy()
    admit_text, discharge_text = claims["admit_date"].to_numpy(), claims["discharge_date"].to_numpy()
    admit, discharge = days(admit_text), days(discharge_text)
    declared = claims["declared_fund_pay_sumamt_fen"].to_numpy()
    audited = claims["fund_pay_sumamt_fen"].to_numpy()
    hosp = claims["hosp_part_amt_fen"].to_numpy()
    coded = violations.groupby("mdtrt_id")["violation_amt_fen"].sum().reindex(ids, fill_value=0).to_numpy()
    violation = claims["violation_amt_fen"].to_numpy()
    unknown = violations.merge(known_codes, on=["tariff", "code"], how="left", indicator=True)
    unknown = unknown[unknown["_merge"] == "left_only"].groupby("mdtrt_id")["code"].agg(", ".join)
    unknown_codes = unknown.reindex(ids, fill_value="").to_numpy()
    tariff = claims["tariff"].to_numpy()
    return _join([
        _when(np.isnat(discharge), lambda i: f"no readable discharge date ({discharge_text[i]!r})"),
        _when(discharge < admit, lambda i: f"discharge {discharge_text[i]} is before admission {admit_text[i]}"),
        _lines_outside(ids, np.where(np.isnat(admit), discharge, admit), discharge, lines),
        _when(hosp != declared - audited, lambda i: f"hosp_part_amt {_yuan(hosp[i])} ≠ declared "
                                                    f"{_yuan(declared[i])} − audited {_yuan(audited[i])}"),
        _when(coded != violation, lambda i: f"violations by code add up to {_yuan(coded[i])}, "
                                            f"violation_amt is {_yuan(violation[i])}"),
        _when((hosp > 0) & (coded == 0), lambda i: f"violation fee {_yuan(hosp[i])} has no violation "
                                                   f"to attribute it to"),
        _when(unknown_codes != "", lambda i: f"violation code {unknown_codes[i]} is not an audit edit "
                                             f"of its tariff {tariff[i]}"),
    ])


def _lines_outside(ids: np.ndarray, first: np.ndarray, last: np.ndarray, lines: pd.DataFrame) -> np.ndarray:
    """"n lines dated outside the stay …" for claims with lines before admission or after
    discharge (or undated); claims without a discharge date, or discharged before admission,
    are reported by that instead."""
    own = lines[lines["mdtrt_id"].isin(ids)]
    pos = pd.Index(ids).get_indexer(own["mdtrt_id"])
    service = days(own["service_date"].to_numpy())
    out = ~((service >= first[pos]) & (service <= last[pos])) & (first[pos] <= last[pos])
    count = np.bincount(pos[out], minlength=len(ids))
    head = own[out].drop_duplicates("mdtrt_id").set_index("mdtrt_id").reindex(ids)  # first such line
    line_id, on = head["line_id"].to_numpy(), head["service_date"].to_numpy()

    def reason(i: int) -> str:
        stay = f"{first[i]} – {last[i]}" if first[i] != last[i] else str(first[i])
        return (f"{count[i]} line{'s' if count[i] > 1 else ''} dated outside the stay {stay} "
                f"(line {line_id[i]} on {on[i] or 'no date'})")

    return _when(count > 0, reason)


def rejected_claims(sources: pd.DataFrame, period: Period) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Claims the scorer rejected that may belong to this settlement: (placed, unknown).

    `placed`: institution_id, mdtrt_id, reason — direct claims of a known institution whose
    source row dates them in the period or has no readable discharge date (a mode or kind
    cell that was the rejected one counts as direct / claim).
    `unknown`: mdtrt_id, institution_id, file, row, reason — rejected for their institution,
    or whose source row could not be read (then neither institution nor month is known).
    """
    bad_cells = sources["bad_columns"].str.split(";")

    def matches(column: str, value: str) -> np.ndarray:
        """The cell holds `value`, or it is the cell the scorer rejected (meant as anything)."""
        return (sources[column].to_numpy() == value) | bad_cells.apply(lambda cs: column in cs).to_numpy(dtype=bool)

    discharge = days(sources["discharge_date"].to_numpy())
    in_period = period.holds(discharge) | np.isnat(discharge)  # an unreadable date could be any month
    readable = sources["readable"].to_numpy(dtype=bool)
    ours = readable & in_period & matches("settlement_mode", "direct") & matches("kind", "claim")
    for_institution = bad_cells.apply(lambda cs: "institution_id" in cs).to_numpy(dtype=bool)
    unknown = sources[(for_institution & ours) | ~readable].copy()
    named = [_named(i, r) for i, r in zip(unknown["institution_id"], unknown["reason"])]
    unknown["institution_id"] = np.asarray(named, dtype=object)
    unknown["reason"] = np.where(unknown["readable"], unknown["reason"],
                                 "source row not found, institution and month unknown; " + unknown["reason"])
    unknown = unknown.sort_values("mdtrt_id", kind="stable")
    placed = sources[ours & ~for_institution]
    return (placed[["institution_id", "mdtrt_id", "reason"]].reset_index(drop=True),
            unknown[["mdtrt_id", "institution_id", "file", "row", "reason"]].reset_index(drop=True))


def _named(source_value: str, reason: str) -> str:
    """The institution a rejected claim names: its source cell, else the one quoted in the reason."""
    if source_value:
        return source_value
    m = INSTITUTION_IN_REASON.search(reason)
    return next((g for g in m.groups() if g), "") if m else ""
