"""From a batch to the facts the rules read: one small row per claim or application.

The rule base runs once per *distinct* facts row, so a row holds only what the rules compare:
booleans, categories and counts clipped to the window they are compared with (a referral filed
9 or 90 working days after admission is equally late). A month of 100,000 claims then has a few
hundred to a few thousand distinct rows. Everything that needs other tables (statuses and
certifications valid on the service date, the best referral filing, the trauma finding,
duplicates) is worked out here with whole-table pandas/numpy operations; per-value Python runs
only on distinct values (a few hundred diagnoses or material lists), never per claim.

The service date is the admission date of a claim (discharge, then submission date when absent)
and the submission date of an application (admission date when absent). Date windows become
counts here (working days through `WorkCalendar`, calendar days for the filing window), so the
rules compare counts with tariff parameters and never dates. Facts only a few kinds of case
read (referral, chronic, maternity, materials) keep their default elsewhere.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from yibao.calculator.dates import age_on, day_array, ymd
from yibao.calendar import WorkCalendar
from yibao.codes import equal_pairs, frame, positions, row_groups
from yibao.io import Batch
from yibao.rules.maternity import TERMINATIONS
from yibao.rules.pools import own_outpatient
from yibao.tables import LIST_SEP
from yibao.tariffs.model import Tariff
from yibao.tariffs.registry import LoadedTariff

# fact → (default, meaning); the default holds where the fact does not apply
FACTS: dict[str, tuple[Any, str]] = {
    "kind": ("", "claim or an application kind"),
    "med_type": ("", "11, 14, 21, 51, 52 or empty"),
    "mode": ("", "settlement mode: direct, manual or empty"),
    "insutype": ("", "310 employee, 390 resident"),
    "emp": ("", "inpatient and outpatient-type claims (21, 11, 14): the employee status of an employee, "
                "empty for residents"),
    "level": (0, "outpatient-type claims (11, 14): institution level 1–4, 0 without a known institution"),
    "inst": ("", "claims: the institution's agreement (active, suspended) or none (not designated)"),
    "out_of_area": (False, "claims: institution outside the county"),
    "networked": (False, "claims: institution networked for direct settlement"),
    "insured": (False, "enrolled on the service date (a person without enrolment rows: always)"),
    "waiting": (False, "claims: the service date is within the person's waiting period"),
    "duplicate": (False, "claims: same person and institution, overlapping dates, an earlier claim "
                         "of the batch in settlement order or one paid before (the ledger's `earlier`)"),
    "paid_before": ("", "duplicate claims: the claim paid before that it overlaps, as the ledger names it "
                        "(id, batch, period; a value per such claim, and they are rare); empty when the "
                        "earlier claim is of the batch"),
    "superseded_by": ("", "claims another claim of the batch corrects (its correction_of names this one; "
                          "of any person): the correcting claims' ids, ';'-joined; empty: none"),
    "corrected_twice": ("", "corrections of a claim that another claim of the batch corrects too: the "
                            "corrected claim's id; empty: none"),
    "child": (False, "inpatient claims: younger than the tariff's child_age_below on the service date"),
    "category": ("", "resident claims: the resident category (居民类别) the persons table names, else the "
                     "tariff's category whose age range holds the age on the service date; empty: none"),
    "cat_level": ("", "outpatient-type claims (11, 14) of a resident whose category has its own outpatient "
                      "scheme: in or out of that scheme's levels; empty otherwise"),
    "assist": ("", "assistance status valid on the service date, first in the tariff's precedence"),
    "cadre": (False, "a retired-cadre status (离休干部) valid on the service date"),
    "assist_claimed": (False, "an assistance application, or a claim handing in an assistance_pending material"),
    "missing_pending": ("", "assistance_pending materials missing (uncertified applicants)"),
    "filed_days": (0, "manual claims: calendar days discharge → submitted, clipped to [window, window + 1] "
                      "(only being beyond the window is compared)"),
    "trauma": ("", "trauma claims: liable, clear (the filing's finding) or no_finding"),
    "missing_trauma": ("", "trauma_missing materials not handed in (no finding)"),
    "missing": ("", "required materials missing: manual claims by med type, applications by kind"),
    "disease": ("", "chronic: the tariff's disease code for the first diagnosis (a certified one first)"),
    "group": ("", "chronic: ordinary or major"),
    "specialist": (False, "chronic: the disease needs a specialist's diagnosis as evidence"),
    "certified": (False, "chronic claims: a certification valid on the service date matches the first diagnosis"),
    "evidence": (True, "chronic applications: either kind of medical evidence handed in"),
    "missing_specialist": ("", "chronic applications: specialist evidence missing"),
    "assist_proof": (True, "assistance applications: a settlement sheet, prescription or invoice handed in"),
    "remote": (False, "out-of-area inpatient claims: a remote-residence filing valid on the service date"),
    "ref_kind": ("", "the referral's kind (claims: the best filing for the institution), empty: none"),
    "ref_after": (False, "referrals due before admission: filed after the admission date"),
    "ref_workdays": (0, "referrals due within working days: working days admission → filing, clipped to "
                        "[-1, window + 1]"),
    "ref_estimated": (False, "referrals due within working days: admission or filing beyond the known "
                             "calendar, so ref_workdays is an estimate by weekends only"),
    "ref_missing": ("", "the referral kind's materials missing"),
    "ref_cadre_missing": ("", "a retired cadre's referral materials missing"),
    "gender": ("", "maternity: F or M"),
    "months_ok": (False, "maternity: contribution months at least the tariff's minimum (none recorded on a "
                         "spouse's row: true, her husband's insurance is what the spouse flag states)"),
    "left": ("", "maternity: left employment within the window, beyond it, or empty (not left)"),
    "spouse": (False, "maternity: spouse of an insured male employee"),
    "wage": (False, "maternity: the employer's average monthly wage is recorded (the allowance's base)"),
    "item": ("", "maternity item"),
    "delivery": ("", "delivery kind"),
    "infants": (0, "maternity: number of infants (at least 1)"),
    "weeks": (0, "terminations: pregnancy weeks clipped to [-1, the largest week threshold]; -1 unknown"),
    "missing_delivery": ("", "maternity_delivery_extra materials missing (manual delivery claims and applications)"),
    "missing_left_decl": ("", "maternity_left_employment materials missing (separated employees; manual "
                              "claims and applications)"),
    "missing_spouse_decl": ("", "maternity_spouse materials missing (spouses; manual claims and applications)"),
}
NO_ROWS = np.zeros(0, dtype=np.int64)
REFERRAL_FACTS = ("ref_kind", "ref_after", "ref_workdays", "ref_estimated", "ref_missing", "ref_cadre_missing")


# --- helpers ---------------------------------------------------------------------------------

def _text(values: pd.Series) -> np.ndarray:
    return values.fillna("").astype(str).to_numpy(dtype=object)


def _encoded(values: pd.Series) -> pa.DictionaryArray | None:
    """Arrow text dictionary-encoded in Arrow ("" for missing, as `_text`); None if not Arrow text."""
    if not (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"):
        return None
    return pc.dictionary_encode(pa.chunked_array(pa.array(values.array)).fill_null("")).combine_chunks()


def _labels(values: pd.Series) -> np.ndarray:
    """`_text` of a column of few distinct values (kinds, codes): each distinct value is made a
    str once, shared by its rows (2-3x faster than one per row, and later hashing and comparing
    is of the same few objects)."""
    encoded = _encoded(values)
    if encoded is None:
        return _text(values)
    return np.array(encoded.dictionary.to_pylist(), dtype=object)[encoded.indices.to_numpy(zero_copy_only=False)]


def _text_codes(values: pd.Series) -> np.ndarray:
    """Per row a number, equal where `_text` is equal (ids: no Python str is made)."""
    encoded = _encoded(values)
    return pd.factorize(_text(values))[0] if encoded is None else encoded.indices.to_numpy(zero_copy_only=False)


def _isin(values: np.ndarray, choices: Any) -> np.ndarray:
    """Elementwise membership by hashing (numpy's isin sorts object arrays: slow on text)."""
    return pd.Index(values, dtype=object).isin(list(choices))


def _flag(values: pd.Series) -> np.ndarray:
    return values.fillna(False).to_numpy(dtype=bool)


def _take(values: np.ndarray, index: np.ndarray, fill: Any) -> np.ndarray:
    """values[index], with `fill` where the index is -1 (not found)."""
    padded = np.concatenate([np.asarray(values), np.array([fill], dtype=np.asarray(values).dtype)])
    return padded[index]


def _per_distinct(func: Callable[..., Any], *columns: np.ndarray) -> np.ndarray:
    """func applied once per distinct tuple of the columns' values, as an object array."""
    if not len(columns[0]):
        return np.empty(0, dtype=object)
    codes = row_groups(columns)
    first = np.unique(codes, return_index=True)[1]
    values = np.empty(len(first), dtype=object)
    values[:] = [func(*row) for row in zip(*(c[first] for c in columns))]
    return values[codes]


def _codes(text: str) -> list[str]:
    return [c.strip() for c in text.split(LIST_SEP) if c.strip()]


def _missing(required: np.ndarray, materials: np.ndarray) -> np.ndarray:
    """Per row the required codes (`;`-joined) not among the materials, sorted and `;`-joined."""
    return _per_distinct(lambda req, mats: LIST_SEP.join(sorted(set(_codes(req)) - set(_codes(mats)))),
                         required, materials)


def _handed_in(codes: list[str], materials: np.ndarray) -> np.ndarray:
    """Per row whether one of the codes was handed in (never, when there are none)."""
    if not codes:
        return np.zeros(len(materials), dtype=bool)
    return _per_distinct(lambda mats: bool(set(codes) & set(_codes(mats))), materials).astype(bool)


def _required(codes: list[str], count: int) -> np.ndarray:
    """The same requirement (`;`-joined codes) for `count` rows."""
    return np.full(count, LIST_SEP.join(codes), dtype=object)


def _valid_pairs(periods: pd.DataFrame, cl: _Claims, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(claim position, period row) for the periods of each claim's person valid on its day.
    Claims and periods meet on the person's row in the persons table (integers: matching the
    text costs more than the rest); a claim without one (never after io) is matched by text."""
    if not len(rows) or periods.empty:
        return NO_ROWS, NO_ROWS
    person, key = cl.person[rows], cl.person_rows(periods["psn_no"])
    if (person < 0).any():
        codes = row_groups([np.concatenate([cl.psn[rows], _text(periods["psn_no"])])])
        person, key = codes[:len(rows)], codes[len(rows):]
    at, row = equal_pairs(person, key)
    pos = rows[at]
    d = cl.day[pos]
    start, end = day_array(periods["valid_from"])[row], day_array(periods["valid_to"])[row]
    ok = ~np.isnat(d) & (np.isnat(start) | (start <= d)) & (np.isnat(end) | (d <= end))
    return pos[ok], row[ok]


def _add_months(days: np.ndarray, months: int) -> np.ndarray:
    """The same day `months` later (the month's last day when it has no such day)."""
    month = days.astype("datetime64[M]") + months
    last = (month + 1).astype("datetime64[D]") - 1
    _, _, d = ymd(days)
    return np.minimum(month.astype("datetime64[D]") + (d - 1), last)


class _Claims:
    """The claim columns and the person and institution attributes every fact starts from. A
    column becomes Python text when a fact first reads it (the duplicate check reads few)."""

    def __init__(self, batch: Batch) -> None:
        c = self.columns = batch.claims
        self.n = len(c)
        self.kind = _labels(c["kind"])
        self.mode = _labels(c["settlement_mode"])
        self.inst_id = _labels(c["institution_id"])
        self.admit, self.discharge = day_array(c["admit_date"]), day_array(c["discharge_date"])
        self.submitted = day_array(c["submitted_date"])
        self.is_claim = self.kind == "claim"
        self.manual = self.is_claim & (self.mode == "manual")
        claim_day = np.where(np.isnat(self.admit), self.discharge, self.admit)
        claim_day = np.where(np.isnat(claim_day), self.submitted, claim_day)
        app_day = np.where(np.isnat(self.submitted), self.admit, self.submitted)
        self.day = np.where(self.is_claim, claim_day, app_day)
        self.persons = batch.persons

    def text(self, name: str, rows: np.ndarray) -> np.ndarray:
        """A claims column of these rows only (mdtrt_id, diagnoses, ...: a few facts read a few rows)."""
        return _text(self.columns[name].iloc[rows])

    @cached_property
    def psn(self) -> np.ndarray:
        return _text(self.columns["psn_no"])

    @cached_property
    def med(self) -> np.ndarray:
        return _labels(self.columns["med_type"])

    @cached_property
    def materials(self) -> np.ndarray:
        return _labels(self.columns["materials"])

    @cached_property
    def person(self) -> np.ndarray:
        """Per claim its row in the persons table, -1 for none."""
        return self.person_rows(self.columns["psn_no"])

    def person_rows(self, psn: pd.Series) -> np.ndarray:
        """Per psn_no its row in the persons table, -1 for none (text matched in Arrow)."""
        return positions(psn.fillna(""), self.persons["psn_no"].fillna(""))

    def person_col(self, name: str, fill: Any) -> np.ndarray:
        col = self.persons[name]
        if col.dtype.kind == "M":
            values = day_array(col)
        elif isinstance(fill, bool):
            values = _flag(col)
        elif isinstance(fill, int):
            values = col.fillna(fill).to_numpy(dtype=np.int64)
        else:
            values = _labels(col)  # statuses and codes: one shared str per value compares by identity
        return _take(values, self.person, fill)


# --- facts by area ---------------------------------------------------------------------------

def _basics(cl: _Claims, batch: Batch, t: Tariff, facts: dict[str, np.ndarray]) -> None:
    facts["kind"], facts["med_type"], facts["mode"] = cl.kind, cl.med, cl.mode
    insutype = cl.person_col("insutype", "")
    facts["insutype"] = insutype
    outpatient = cl.is_claim & _isin(cl.med, ("11", "14"))  # claims an outpatient scheme may pay
    by_status = cl.is_claim & _isin(cl.med, ("11", "14", "21"))  # claims schemes by employee status may pay
    facts["emp"] = np.where(by_status & (insutype == "310"), cl.person_col("employee_status", ""), "")
    inst = batch.institutions
    where = positions(cl.columns["institution_id"].fillna(""), inst["institution_id"].fillna(""))
    where = np.where(cl.is_claim & (cl.inst_id != ""), where, -1)
    known = where >= 0
    facts["inst"] = np.where(cl.is_claim, np.where(known, _take(_text(inst["agreement"]), where, ""), "none"), "")
    facts["level"] = np.where(outpatient, _take(inst["level"].fillna(0).to_numpy(dtype=np.int64), where, 0), 0)
    facts["out_of_area"] = _take(_flag(inst["out_of_area"]), where, False)
    facts["networked"] = _take(_flag(inst["networked"]), where, False)


def _enrolment(cl: _Claims, batch: Batch, t: Tariff, facts: dict[str, np.ndarray]) -> None:
    enrolled = batch.enrolments
    if (cl.person >= 0).all():  # a flag per person row (-1, an unknown person's enrolment: the last)
        by_person = np.zeros(len(cl.persons) + 1, dtype=bool)
        by_person[cl.person_rows(enrolled["psn_no"])] = True
        has_rows = by_person[cl.person]
    else:  # a claim without its person row (never after io): by text
        has_rows = _isin(cl.psn, _text(enrolled["psn_no"]))
    covered = np.zeros(cl.n, dtype=bool)
    covered[_valid_pairs(enrolled, cl, np.flatnonzero(has_rows))[0]] = True
    facts["insured"] = (cl.person >= 0) & (~has_rows | covered)
    until = cl.person_col("waiting_period_until", np.datetime64("NaT", "D"))
    facts["waiting"] = cl.is_claim & ~np.isnat(until) & ~np.isnat(cl.day) & (cl.day <= until)
    below = t.inpatient.child_age_below
    birth = cl.person_col("birth_date", np.datetime64("NaT", "D"))
    rows = cl.is_claim & (cl.med == "21") & ~np.isnat(cl.day) & ~np.isnat(birth)
    if below is not None and rows.any():
        facts["child"][rows] = age_on(birth[rows], cl.day[rows]) < below


def _category(cl: _Claims, batch: Batch, t: Tariff, facts: dict[str, np.ndarray]) -> None:
    """A resident's category: the one the persons table names (students: age cannot tell), else
    the one of their age (the tariff's age ranges do not overlap)."""
    if not t.resident_categories:
        return
    rows = cl.is_claim & (facts["insutype"] == "390")
    named = cl.person_col("resident_category", "")
    facts["category"][rows] = named[rows]
    birth = cl.person_col("birth_date", np.datetime64("NaT", "D"))
    by_age = np.flatnonzero(rows & (named == "") & ~np.isnat(cl.day) & ~np.isnat(birth))
    age = age_on(birth[by_age], cl.day[by_age])
    for c in t.resident_categories:
        low, below = c.ages()
        if c.by_age:
            facts["category"][by_age[(age >= low) & (age < below)]] = c.name
    for name, levels in own_outpatient(t).items():
        at = (facts["category"] == name) & _isin(cl.med, ("11", "14"))
        facts["cat_level"][at] = np.where(_isin(facts["level"][at], levels), "in", "out")


def _statuses(cl: _Claims, batch: Batch, t: Tariff, facts: dict[str, np.ndarray]) -> None:
    statuses = batch.statuses
    pos, row = _valid_pairs(statuses, cl, np.arange(cl.n))
    kinds = _text(statuses["kind"])[row]
    order = [s.status for s in t.assistance.statuses]
    rank = pd.Series(kinds, dtype=object).map({s: i for i, s in enumerate(order)}).fillna(len(order))
    best = np.full(cl.n, len(order), dtype=np.int64)
    np.minimum.at(best, pos, rank.to_numpy(dtype=np.int64))
    facts["assist"] = np.array(order + [""], dtype=object)[best]
    facts["cadre"] = np.zeros(cl.n, dtype=bool)
    facts["cadre"][pos[kinds == "retired_cadre"]] = True
    pending = t.materials.assistance_pending
    claimed = (cl.kind == "assistance_application") | (cl.is_claim & _handed_in(pending, cl.materials))
    facts["assist_claimed"] = claimed
    rows = claimed & (facts["assist"] == "")
    facts["missing_pending"][rows] = _missing(_required(pending, int(rows.sum())), cl.materials[rows])


def _materials(cl: _Claims, batch: Batch, t: Tariff, facts: dict[str, np.ndarray]) -> None:
    """Required materials of manual claims and applications, and the manual filing delay."""
    m = t.materials
    required = np.full(cl.n, "", dtype=object)
    per_med_type = {med: LIST_SEP.join(codes) for med, codes in m.manual_claim.items()}
    # a maternity application is the paper route of a maternity claim (the county's service list
    # asks the invoice and fee list of it): it needs that manual claim's materials besides its own
    paper = cl.manual | (cl.kind == "maternity_application")
    required[paper] = pd.Series(cl.med[paper], dtype=object).map(per_med_type).fillna("").to_numpy()
    for kind, codes in (("chronic_application", m.chronic_application.required),
                        ("maternity_application", m.maternity_application),
                        ("assistance_application", m.assistance_application)):
        of_kind = cl.kind == kind
        required[of_kind] = required[of_kind] + LIST_SEP + LIST_SEP.join(codes)
    rows = required != ""
    facts["missing"][rows] = _missing(required[rows], cl.materials[rows])
    assistance = cl.kind == "assistance_application"
    facts["assist_proof"][assistance] = (_handed_in(m.assistance_application_any_of, cl.materials[assistance])
                                         | (not m.assistance_application_any_of))
    window = t.deadlines.manual_filing_window_days
    end = np.where(np.isnat(cl.discharge), cl.admit, cl.discharge)
    late = cl.manual & ~np.isnat(end) & ~np.isnat(cl.submitted)
    facts["filed_days"][late] = np.clip((cl.submitted[late] - end[late]).astype(np.int64), window, window + 1)


def _trauma(cl: _Claims, batch: Batch, t: Tariff, facts: dict[str, np.ndarray]) -> None:
    """The trauma filing's finding: the claim's own filing first, then the person's general one."""
    rows = np.flatnonzero(cl.is_claim & _flag(batch.claims["trauma"]))
    if not len(rows):
        return
    finding = np.full(len(rows), "no_finding", dtype=object)
    filings = batch.filings[_text(batch.filings["kind"]) == "trauma"]
    if len(filings):
        left = frame({"pos": rows, "psn_no": cl.text("psn_no", rows), "mdtrt": cl.text("mdtrt_id", rows)})
        liable = filings["third_party_liable"]
        right = frame({"psn_no": _text(filings["psn_no"]), "target": _text(filings["mdtrt_id"]),
                       "open": liable.isna().to_numpy(), "liable": _flag(liable),
                       "filed": day_array(filings["filed_date"]), "row": np.arange(len(filings))})
        pairs = left.merge(right, on="psn_no")
        pairs = pairs[(pairs["target"] == pairs["mdtrt"]) | (pairs["target"] == "")]
        pairs = pairs.assign(general=pairs["target"] == "").sort_values(
            ["pos", "general", "open", "filed", "row"], ascending=[True, True, True, False, True])
        best = pairs.drop_duplicates("pos")
        found = np.where(best["open"], "no_finding", np.where(best["liable"], "liable", "clear"))
        finding[np.searchsorted(rows, best["pos"].to_numpy())] = found
    facts["trauma"][rows] = finding
    unfound = rows[finding == "no_finding"]
    facts["missing_trauma"][unfound] = _missing(_required(t.materials.trauma_missing, len(unfound)),
                                                cl.materials[unfound])


EARLIER = ("psn_no", "institution_id", "admit_date", "discharge_date", "label")
"""The columns of the claims paid before a batch (`derive_facts(earlier=…)`): a label names one in
the refusal."""


def _corrections(cl: _Claims, facts: dict[str, np.ndarray]) -> None:
    """A claim sent beside its correction (`correction_of`) is replaced by it: paid, the stay
    was paid twice, and the correction refused as its duplicate. Two corrections of one claim
    leave no telling which stands. A correction may name another person's claim (one filed under
    the wrong person number): a partitioned run puts both persons in one partition
    (`yibao.partition.Router`), so it finds what a whole run finds. A correction naming its own id
    corrects the ledger's payment, not a claim of the batch."""
    if "correction_of" not in cl.columns:
        return
    given = cl.columns["correction_of"]
    rows = np.flatnonzero((given.notna() & (given != "")).to_numpy(dtype=bool))  # vectorized: most batches have none
    if not len(rows):
        return
    fixes = frame({"target": cl.text("correction_of", rows), "id": cl.text("mdtrt_id", rows), "pos": rows})
    fixes = fixes[fixes["target"] != fixes["id"]]
    by = fixes.groupby("target", sort=False)
    fixes = fixes.assign(ids=by["id"].transform(lambda ids: LIST_SEP.join(sorted(ids))), n=by["id"].transform("size"))
    twice = fixes[fixes["n"] > 1]
    facts["corrected_twice"][twice["pos"].to_numpy()] = twice["target"].to_numpy()
    named = np.flatnonzero(cl.columns["mdtrt_id"].isin(fixes["target"]).to_numpy(dtype=bool))
    claims = frame({"target": cl.text("mdtrt_id", named), "pos": named})
    hit = claims.merge(fixes.drop_duplicates("target")[["target", "ids"]], on="target")
    facts["superseded_by"][hit["pos"].to_numpy()] = hit["ids"].to_numpy()


def _duplicates(cl: _Claims, facts: dict[str, np.ndarray], earlier: pd.DataFrame | None) -> None:
    """Claims overlapping an earlier claim (settlement order) of the same person and institution.
    The claims paid before the batch (`earlier`, from the ledger) come first in that order and
    are never outputs themselves (position -1). A claim its correction replaces (`_corrections`)
    is no earlier claim: the correction is paid in its place."""
    _corrections(cl, facts)
    start = np.where(np.isnat(cl.admit), cl.discharge, cl.admit)
    end = np.where(np.isnat(cl.discharge), start, cl.discharge)
    ref = np.where(np.isnat(cl.discharge), start, cl.discharge)
    ref = np.where(np.isnat(ref), cl.submitted, ref)
    settled = np.where(cl.manual & ~np.isnat(cl.submitted), cl.submitted, ref)
    rows = np.flatnonzero(cl.is_claim & (cl.inst_id != "") & ~np.isnat(start) & (facts["superseded_by"] == ""))
    # only a claim whose person and institution recur (in the batch, or among the person's claims
    # paid before) can overlap another: the pairs below are built for those alone
    groups = row_groups([_text_codes(cl.columns["psn_no"])[rows], cl.inst_id[rows]])
    recur = np.bincount(groups)[groups] > 1
    if earlier is not None and len(earlier):
        recur |= _isin(cl.text("psn_no", rows), _text(earlier["psn_no"]))
    rows = rows[recur]
    if not len(rows):  # no claim can overlap another (a what-if case, most small batches)
        return
    claims = frame({"pos": rows, "psn": cl.text("psn_no", rows), "inst": cl.inst_id[rows], "start": start[rows],
                    "end": end[rows], "year": ref[rows].astype("datetime64[Y]"), "settled": settled[rows],
                    "mdtrt": cl.text("mdtrt_id", rows), "label": np.full(len(rows), "", dtype=object)})
    claims = pd.concat([_paid_before(earlier, claims), claims.assign(batch=True)], ignore_index=True)
    claims = claims[claims.duplicated(["psn", "inst"], keep=False)]
    if claims.empty:
        return
    claims = claims.sort_values(["batch", "psn", "year", "settled", "mdtrt"])
    # each claim (a) beside every claim of its person and institution (b), in that order: b < a is
    # a claim settled before it
    pos, start, end, label = (claims[c].to_numpy() for c in ("pos", "start", "end", "label"))
    a, b = equal_pairs(*[row_groups([claims["psn"].to_numpy(), claims["inst"].to_numpy()])] * 2)
    hit = (b < a) & (start[b] <= end[a]) & (start[a] <= end[b]) & (pos[a] >= 0)
    facts["duplicate"][pos[a[hit]]] = True
    named = hit & (label[b] != "")
    first = np.unique(a[named], return_index=True)[1]  # the earliest claim it overlaps that has a label
    facts["paid_before"][pos[a[named][first]]] = label[b[named][first]]


def _paid_before(earlier: pd.DataFrame | None, claims: pd.DataFrame) -> pd.DataFrame:
    """The claims paid before the batch, of its claims' persons, as rows of the duplicate check
    that sort before the batch's own (`batch` false)."""
    if earlier is None or not len(earlier) or claims.empty:
        return claims.iloc[0:0].assign(batch=True)
    admit, discharge = day_array(earlier["admit_date"]), day_array(earlier["discharge_date"])
    start = np.where(np.isnat(admit), discharge, admit)
    label = _text(earlier["label"])
    past = frame({"pos": np.full(len(earlier), -1), "psn": _text(earlier["psn_no"]),
                  "inst": _text(earlier["institution_id"]), "start": start,
                  "end": np.where(np.isnat(discharge), start, discharge),
                  "year": start.astype("datetime64[Y]"), "settled": start, "mdtrt": label, "label": label,
                  "batch": np.zeros(len(earlier), dtype=bool)})
    keep = (past["inst"] != "").to_numpy() & ~np.isnat(start) & _isin(past["psn"].to_numpy(), claims["psn"])
    return past[keep]


def _chronic(cl: _Claims, batch: Batch, t: Tariff, facts: dict[str, np.ndarray]) -> None:
    """The disease of the first diagnosis and, for claims, a matching certification valid on the day."""
    claims = cl.is_claim & (cl.med == "14")
    rows = np.flatnonzero(claims | (cl.kind == "chronic_application"))
    if not len(rows):
        return
    diseases = {d.code: d for d in t.chronic.diseases}
    rank_of = {code: i for i, code in enumerate(diseases)}
    first = _per_distinct(lambda text: (_codes(text) or [""])[0].upper(), cl.text("diagnoses", rows))
    disease = _per_distinct(lambda dx: getattr(t.chronic.disease_for(dx), "code", "") if dx else "", first)
    pos, row = _valid_pairs(batch.certifications, cl, rows[claims[rows]])
    best = np.full(len(rows), len(diseases), dtype=np.int64)
    if len(pos):
        local = np.searchsorted(rows, pos)
        codes = _text(batch.certifications["disease"])[row]
        matches = _per_distinct(lambda code, dx: code in diseases and diseases[code].matches(dx),
                                codes, first[local]).astype(bool)
        rank = pd.Series(codes, dtype=object).map(rank_of).fillna(len(diseases)).to_numpy(dtype=np.int64)
        np.minimum.at(best, local[matches], rank[matches])
    certified = best < len(diseases)
    disease = np.where(certified, np.array(list(diseases) + [""], dtype=object)[best], disease)
    facts["disease"][rows] = disease
    facts["certified"][rows] = certified
    facts["group"][rows] = [diseases[d].group if d else "" for d in disease]
    specialist = np.array([bool(d) and diseases[d].evidence == "specialist_diagnosis" for d in disease], dtype=bool)
    facts["specialist"][rows] = specialist
    evidence = t.materials.chronic_application
    apps = rows[cl.kind[rows] == "chronic_application"]
    facts["evidence"][apps] = _handed_in(evidence.evidence_any_of, cl.materials[apps]) | (not evidence.evidence_any_of)
    need = rows[(cl.kind[rows] == "chronic_application") & specialist]
    facts["missing_specialist"][need] = _missing(_required(evidence.specialist_evidence, len(need)),
                                                 cl.materials[need])


def _referral_timing(t: Tariff, calendar: WorkCalendar, kind: np.ndarray, filed: np.ndarray, admit: np.ndarray,
                     materials: np.ndarray, cadre: np.ndarray) -> dict[str, np.ndarray]:
    """Per referral (filing or application): timing counts, missing materials and a score (2: in time,
    +1: complete) to choose the best filing of a claim."""
    n = len(kind)
    after, in_time, estimated = np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool)
    workdays = np.zeros(n, np.int64)
    kind_materials = {k: LIST_SEP.join(spec.materials) for k, spec in t.referral.kinds.items()}
    required = pd.Series(kind, dtype=object).map(kind_materials).fillna("").to_numpy()
    own = t.referral.retired_cadre_materials  # a retired cadre's own list, where the tariff has one
    cadre_required = _required(own, n) if own else required
    missing = np.where(cadre, "", _missing(required, materials))
    cadre_missing = np.where(cadre, _missing(cadre_required, materials), "")
    for k, spec in t.referral.kinds.items():
        rows = kind == k
        if spec.filed_by == "before_admission":
            late = np.isnat(filed[rows]) | (~np.isnat(admit[rows]) & (filed[rows] > admit[rows]))
            after[rows], in_time[rows] = late, ~late
            continue
        window = spec.window_workdays
        count = np.full(int(rows.sum()), window + 1, dtype=np.int64)  # no filing date: late
        f, a = filed[rows], admit[rows]
        count[np.isnat(a) & ~np.isnat(f)] = -1  # no admission yet: not late
        known = ~np.isnat(a) & ~np.isnat(f)
        if known.any():
            count[known] = calendar.workdays_between(a[known], f[known])
        workdays[rows] = np.clip(count, -1, window + 1)
        estimated[rows] = known & (calendar.estimated(a) | calendar.estimated(f))
        in_time[rows] = count <= window
    complete = np.where(cadre, cadre_missing == "", missing == "")
    return {"ref_kind": np.where(_isin(kind, list(kind_materials)), kind, ""), "ref_after": after,
            "ref_workdays": workdays, "ref_estimated": estimated, "ref_missing": missing,
            "ref_cadre_missing": cadre_missing, "score": 2 * in_time + complete}


def _referral(cl: _Claims, batch: Batch, t: Tariff, facts: dict[str, np.ndarray], calendar: WorkCalendar) -> None:
    """Remote residence and the best referral filing of out-of-area inpatient claims; referral applications."""
    filings = batch.filings
    kinds = _text(filings["kind"])
    away = np.flatnonzero(cl.is_claim & (cl.med == "21") & facts["out_of_area"])
    facts["remote"][_valid_pairs(filings[kinds == "remote_residence"], cl, away)[0]] = True
    claims = away[~facts["remote"][away]]
    referrals = filings[kinds == "referral"]
    if len(claims) and len(referrals):
        left = frame({"pos": claims, "psn_no": cl.text("psn_no", claims), "inst": cl.inst_id[claims]})
        right = frame({"psn_no": _text(referrals["psn_no"]), "target": _text(referrals["target_institution"]),
                       "kind": _text(referrals["referral_kind"]), "filed": day_array(referrals["filed_date"]),
                       "materials": _text(referrals["materials"]), "row": np.arange(len(referrals))})
        pairs = left.merge(right, on="psn_no")
        for_here = (pairs["target"] == pairs["inst"]) | (pairs["target"] == "")
        pairs = pairs[for_here & pairs["kind"].isin(t.referral.kinds)]
        pos = pairs["pos"].to_numpy()
        timing = _referral_timing(t, calendar, pairs["kind"].to_numpy(dtype=object), pairs["filed"].to_numpy(),
                                  cl.admit[pos], pairs["materials"].to_numpy(dtype=object), facts["cadre"][pos])
        delta = (pairs["filed"].to_numpy() - cl.admit[pos]).astype("timedelta64[D]")
        gap = np.where(np.isnat(delta), np.inf, np.abs(delta.astype(np.int64)))  # days between; unknown: last
        ranked = frame({"pos": pos, "score": -timing["score"], "gap": gap,
                        "row": pairs["row"].to_numpy(), "at": np.arange(len(pos))})
        best = ranked.sort_values(["pos", "score", "gap", "row"]).drop_duplicates("pos")
        chosen, at = best["pos"].to_numpy(), best["at"].to_numpy()
        for name in REFERRAL_FACTS:
            facts[name][chosen] = timing[name][at]
    apps = np.flatnonzero(cl.kind == "referral_application")
    if len(apps):
        timing = _referral_timing(t, calendar, cl.text("referral_kind", apps), cl.submitted[apps],
                                  cl.admit[apps], cl.materials[apps], facts["cadre"][apps])
        for name in REFERRAL_FACTS:
            facts[name][apps] = timing[name]


def _maternity(cl: _Claims, batch: Batch, t: Tariff, facts: dict[str, np.ndarray]) -> None:
    """The mother's eligibility facts, the item, and the materials a paper claim or application needs."""
    rows = np.flatnonzero((cl.is_claim & _isin(cl.med, ("51", "52"))) | (cl.kind == "maternity_application"))
    if not len(rows):
        return
    mt, c, m = t.maternity, batch.claims, t.materials
    facts["gender"][rows] = cl.person_col("gender", "")[rows]
    spouse = cl.person_col("spouse_of_insured_male_employee", False)[rows]
    months = cl.persons["maternity_contribution_months"]
    recorded = _take(months.notna().to_numpy(), cl.person, False)[rows]
    enough = cl.person_col("maternity_contribution_months", 0)[rows] >= mt.min_contribution_months
    facts["months_ok"][rows] = np.where(recorded, enough, spouse)  # a spouse's row may carry no months
    left_day, day = cl.person_col("left_employment_date", np.datetime64("NaT", "D"))[rows], cl.day[rows]
    has_left = ~np.isnat(left_day) & ~np.isnat(day) & (left_day <= day)
    within = np.zeros(len(rows), dtype=bool)
    within[has_left] = day[has_left] <= _add_months(left_day[has_left], mt.left_employment_window_months)
    left = np.where(has_left, np.where(within, "within", "beyond"), "")
    facts["left"][rows] = left
    facts["spouse"][rows] = spouse
    wage = cl.persons["employer_avg_monthly_wage"].fillna(0).to_numpy(dtype=np.float64) > 0
    facts["wage"][rows] = _take(wage, cl.person, False)[rows]
    item = _labels(c["maternity_item"].iloc[rows])
    facts["item"][rows], facts["delivery"][rows] = item, _labels(c["delivery"].iloc[rows])
    facts["infants"][rows] = np.maximum(c["infants"].fillna(1).to_numpy(dtype=np.int64)[rows], 1)
    top = max([mt.abortion_below_weeks, mt.induction_from_weeks] + [b.below_weeks for b in mt.allowance.miscarriage])
    weeks = np.clip(c["pregnancy_weeks"].fillna(-1).to_numpy(dtype=np.int64)[rows], -1, top)
    facts["weeks"][rows] = np.where(_isin(item, TERMINATIONS), weeks, 0)
    paper = (cl.manual | (cl.kind == "maternity_application"))[rows]
    for name, codes, need in (("missing_delivery", m.maternity_delivery_extra, item == "delivery"),
                              ("missing_left_decl", m.maternity_left_employment, left == "within"),
                              ("missing_spouse_decl", m.maternity_spouse, spouse & (facts["insutype"][rows] != "310"))):
        at = rows[paper & need]
        facts[name][at] = _missing(_required(codes, len(at)), cl.materials[at])


DUPLICATE_FACTS = ("duplicate", "paid_before", "superseded_by", "corrected_twice")


def _empty_facts(n: int, names: Iterable[str]) -> dict[str, np.ndarray]:
    """Each fact's default on every row. Text facts copy one array of "" (np.full sets an object
    array element by element, four times slower than a copy)."""
    blank = np.full(n, "", dtype=object)
    return {name: blank.copy() if isinstance(default, str) and default == "" else
            np.full(n, default, dtype=object if isinstance(default, str) else type(default))
            for name, default in ((name, FACTS[name][0]) for name in names)}


def duplicate_facts(batch: Batch, earlier: pd.DataFrame | None = None) -> pd.DataFrame:
    """The DUPLICATE_FACTS of every claim of the batch, whatever tariff version each falls
    under: a stay discharged on 31 December and one admitted that day at the same institution
    are under two versions and still one stay paid twice. `earlier`: the claims paid before the
    batch (columns EARLIER; the ledger's), which a claim must not overlap either."""
    cl = _Claims(batch)
    facts = _empty_facts(cl.n, DUPLICATE_FACTS)
    _duplicates(cl, facts, earlier)
    return frame(facts, index=batch.claims.index)


def derive_facts(batch: Batch, tariff: LoadedTariff, calendar: WorkCalendar,
                 duplicates: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row of facts (FACTS) per claim or application of the batch, with the claims' index.
    `duplicates`: the claims' `duplicate_facts`, found among more claims than these (the
    batch's of every tariff version, and the ledger's); None: among these alone."""
    return frame(fact_arrays(batch, tariff, calendar, duplicates), index=batch.claims.index)


def fact_arrays(batch: Batch, tariff: LoadedTariff, calendar: WorkCalendar,
                duplicates: pd.DataFrame | None = None) -> dict[str, np.ndarray]:
    """`derive_facts` as one array per fact (FACTS order): what the pipeline evaluates (a frame
    of 55 object columns is two copies of each)."""
    t = tariff.tariff
    cl = _Claims(batch)
    facts = _empty_facts(cl.n, FACTS)
    for area in (_basics, _enrolment, _category, _statuses, _materials, _trauma, _chronic, _maternity):
        area(cl, batch, t, facts)
    if duplicates is None:
        _duplicates(cl, facts, None)
    else:
        for name in DUPLICATE_FACTS:
            facts[name] = duplicates[name].to_numpy(dtype=facts[name].dtype)
    _referral(cl, batch, t, facts, calendar)
    return facts
