"""Synthetic claims (就诊结算) and applications of one year, with the situations examiners meet.

The mix follows a county's month: inpatient, general outpatient and chronic claims, a few
maternity claims, and applications (chronic certification, referral, assistance, maternity).
On top of the ordinary cases it plants the ones the rules exist for: residents at level ≥ 2
for general outpatient care (refused), out-of-area admissions with and without referral
(emergencies admitted just before a long holiday, filed days later), injuries with and without
a trauma filing, readmissions within days, manual claims with missing materials, chronic
claims without a valid certification.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

import chinese_calendar
import numpy as np
import pandas as pd

from yibao.calculator.audit import INPATIENT_MED_TYPES
from yibao.calculator.dates import age_on
from yibao.synth import vocab
from yibao.synth.draw import Rng, chance, day, days_between, join_columns, offset, split, typed_frame, weighted
from yibao.synth.people import People
from yibao.tables import LIST_SEP
from yibao.tariffs.registry import LoadedTariff

SHARES = {  # of all rows of the claims table
    "21": 0.96 * 0.37, "11": 0.96 * 0.383, "14": 0.96 * 0.21, "51": 0.96 * 0.02, "52": 0.96 * 0.017,
    "chronic_application": 0.015, "referral_application": 0.01, "assistance_application": 0.01,
    "maternity_application": 0.005,
}
CHRONIC_VISITS = 8  # chronic claims per chronic patient and year
MATERNITY_VISITS = 1.6
INPATIENT_LEVELS = {1: 0.25, 2: 0.45, 3: 0.18, 4: 0.12}
EMPLOYEE_OUTPATIENT_LEVELS = {1: 0.40, 2: 0.35, 3: 0.20, 4: 0.05}
RESIDENT_OUTPATIENT_ABOVE_1 = 0.10  # refused: resident general outpatient is for level 1 only
HOLIDAY_ADMISSIONS = 0.04  # inpatient admissions out of area just before a long holiday
TRAUMA = 0.06
READMISSIONS = 0.02
MANUAL_NETWORKED_OUT_OF_AREA = 0.03
MATERIALS_INCOMPLETE = 0.15
INPATIENT_MATERNITY = (("delivery", 85), ("induction", 5), ("miscarriage", 10))
OUTPATIENT_MATERNITY = (("prenatal", 80), ("iud_insertion", 8), ("iud_removal", 5), ("abortion", 7))
DELIVERIES = (("vaginal", 55), ("assisted", 10), ("caesarean", 35))
PREGNANCY_WEEKS = {"delivery": (37, 41), "induction": (28, 34), "miscarriage": (8, 27), "prenatal": (8, 38),
                   "abortion": (6, 11)}
COLUMNS = ("psn", "kind", "med_type", "inst", "admit", "discharge", "submitted", "dx", "trauma",
           "referral_kind", "maternity_item", "delivery", "infants", "weeks", "holiday", "materials")


@dataclass(frozen=True)
class Institutions:
    """Arrays of the institutions table the generators select on."""

    ids: np.ndarray
    level: np.ndarray
    pharmacy: np.ndarray
    out_of_area: np.ndarray
    networked: np.ndarray

    @classmethod
    def of(cls, table: pd.DataFrame) -> Institutions:
        return cls(table["institution_id"].to_numpy(dtype=object), table["level"].to_numpy(dtype=np.int64),
                   (table["kind"] == "pharmacy").to_numpy(),
                   table["out_of_area"].to_numpy(dtype=bool), table["networked"].to_numpy(dtype=bool))

    def pick(self, rng: Rng, levels: np.ndarray, *, pharmacy: bool = False, area: str = "any") -> np.ndarray:
        """An institution of each wanted level (hospitals, or pharmacies for level 1 when
        allowed), in or out of area; falls back to any level when none fits."""
        out = np.zeros(len(levels), dtype=np.int64)
        for level in np.unique(levels):
            rows = np.flatnonzero(levels == level)
            kind_ok = ~self.pharmacy | (pharmacy & (level == 1))
            area_ok = {"any": True, "in": ~self.out_of_area, "out": self.out_of_area}[area]
            for mask in (kind_ok & area_ok & (self.level == level), kind_ok & (self.level == level),
                         kind_ok & area_ok, np.ones(len(self.ids), dtype=bool)):
                candidates = np.flatnonzero(mask)
                if len(candidates):
                    out[rows] = candidates[rng.integers(0, len(candidates), len(rows))]
                    break
        return out


@dataclass(frozen=True)
class Generated:
    """The claims table and, aligned with its rows, what the lines generator needs."""

    table: pd.DataFrame
    filings: pd.DataFrame
    certifications: pd.DataFrame
    person: np.ndarray  # row of the persons table
    level: np.ndarray
    dx: np.ndarray  # (n, 3) diagnosis codes, "" where none


def person_counts(rng: Rng, claims: int) -> tuple[dict[str, int], dict[str, int]]:
    """(claims per kind, persons per role): about one person per 3–5 claims."""
    kinds = split(claims, SHARES)
    total = max(3, round(claims / rng.uniform(3, 5)))
    chronic = max(1, -(-(kinds["14"] + kinds["chronic_application"]) // CHRONIC_VISITS))
    maternity = kinds["51"] + kinds["52"] + kinds["maternity_application"]
    mothers = max(1, int(np.ceil(maternity / MATERNITY_VISITS)))
    return kinds, {"general": max(1, total - chronic - mothers), "chronic": chronic, "mother": mothers}


def generate(rng: Rng, kinds: dict[str, int], people: People, institutions: pd.DataFrame,
             statuses: pd.DataFrame, tariff: LoadedTariff, year: int) -> Generated:
    inst = Institutions.of(institutions)
    disease, disease_dx = _chronic_diseases(rng, people, tariff)
    parts = [
        _inpatient(rng, kinds["21"], people, inst, year),
        _outpatient(rng, kinds["11"], people, inst, year),
        _chronic(rng, kinds["14"], people, inst, year, disease, disease_dx),
        _maternity(rng, kinds["51"], kinds["52"], people, inst, year),
        _chronic_applications(rng, kinds["chronic_application"], people, year, disease, disease_dx, tariff),
        _referral_applications(rng, kinds["referral_application"], people, inst, year, tariff),
        _assistance_applications(rng, kinds["assistance_application"], people, statuses, year, tariff),
        _maternity_applications(rng, kinds["maternity_application"], people, year, tariff),
    ]
    c = {k: np.concatenate([p[k] for p in parts]) for k in COLUMNS}
    is_claim = c["kind"] == "claim"
    reference = np.where(is_claim, c["discharge"], c["submitted"])
    order = np.lexsort((np.arange(len(reference)), reference))
    c = {k: v[order] for k, v in c.items()}
    is_claim = is_claim[order]
    ids = np.array([("C" if claim else "A") + f"{year}{i + 1:08d}" for i, claim in enumerate(is_claim)],
                   dtype=object)
    _settle(rng, c, is_claim, people, inst, tariff, year)
    psn = people.table["psn_no"].to_numpy(dtype=object)
    has_inst = c["inst"] >= 0
    table = typed_frame({
        "mdtrt_id": ids, "psn_no": psn[c["psn"]], "kind": c["kind"], "med_type": c["med_type"],
        "institution_id": np.where(has_inst, inst.ids[np.maximum(c["inst"], 0)], ""),
        "admit_date": c["admit"], "discharge_date": c["discharge"],
        "diagnoses": join_columns([c["dx"][:, j] for j in range(3)], LIST_SEP),
        "settlement_mode": c["settlement_mode"], "submitted_date": c["submitted"], "materials": c["materials"],
        "trauma": pd.array(np.where(is_claim, c["trauma"], None), dtype="boolean"),
        "referral_kind": c["referral_kind"], "maternity_item": c["maternity_item"], "delivery": c["delivery"],
        "infants": pd.array(c["infants"], dtype="Int64"),
        "pregnancy_weeks": pd.array(c["weeks"], dtype="Int64"),
    })
    filings = _filings(rng, c, ids, is_claim, people, inst, tariff, year)
    certifications = _certifications(rng, people, disease, year)
    level = np.where(has_inst, inst.level[np.maximum(c["inst"], 0)], 0)
    return Generated(table, filings, certifications, c["psn"], level, c["dx"])


# --- the parts ----------------------------------------------------------------------------

def _part(n: int, **columns: np.ndarray) -> dict[str, np.ndarray]:
    """A block of claims; columns not given are empty."""
    def nat() -> np.ndarray:
        return np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")

    def empty() -> np.ndarray:
        return np.full(n, "", dtype=object)

    defaults = {"psn": np.zeros(n, dtype=np.int64), "kind": np.full(n, "claim", dtype=object),
                "med_type": empty(), "inst": np.full(n, -1, dtype=np.int64), "admit": nat(), "discharge": nat(),
                "submitted": nat(), "dx": np.full((n, 3), "", dtype=object), "trauma": np.zeros(n, dtype=bool),
                "referral_kind": empty(), "maternity_item": empty(), "delivery": empty(),
                "infants": np.full(n, np.nan), "weeks": np.full(n, np.nan), "holiday": np.zeros(n, dtype=bool),
                "materials": empty()}
    return defaults | columns


def _year_days(rng: Rng, year: int, n: int, room: np.ndarray | int = 0) -> np.ndarray:
    """Uniform days of the year, leaving `room` days before its end (for a stay)."""
    last = offset(np.full(n, day(dt.date(year, 12, 31))), -np.asarray(room))
    return days_between(rng, day(dt.date(year, 1, 1)), last, n)


def _by_weight(rng: Rng, people: People, n: int, among: np.ndarray | None = None) -> np.ndarray:
    rows = np.arange(len(people.role)) if among is None else np.flatnonzero(among)
    if len(rows) == 0:
        rows = np.arange(len(people.role))
    w = people.weight[rows]
    return rows[rng.choice(len(rows), size=n, p=w / w.sum())]


def _levels(rng: Rng, shares: dict[int, float], n: int) -> np.ndarray:
    return weighted(rng, [(str(k), v) for k, v in shares.items()], n).astype(np.int64)


def _ages(people: People, psn: np.ndarray, on: np.ndarray) -> np.ndarray:
    return age_on(people.birth[psn], on)


def _secondary(rng: Rng, dx: np.ndarray, p_second: float = 0.4, p_third: float = 0.4) -> np.ndarray:
    """(n, 3) diagnoses: the first, then comorbidities with probability p_second, and a third
    with probability p_third among those with a second."""
    n = len(dx)
    second = np.where(chance(rng, p_second, n), weighted(rng, vocab.COMORBIDITY_DX, n), "")
    third = np.where((second != "") & chance(rng, p_third, n), weighted(rng, vocab.COMORBIDITY_DX, n), "")
    second = np.where(second == dx, "", second)
    third = np.where((third == second) | (third == dx), "", third)
    return np.stack([dx, second, third], axis=1)


def holiday_starts(year: int) -> list[np.datetime64]:
    """First days of the year's two longest statutory holidays (Spring Festival, National Day)."""
    try:
        days = sorted(chinese_calendar.get_holidays(dt.date(year, 1, 1), dt.date(year, 12, 31)))
    except NotImplementedError:  # a year the calendar package does not know: National Day only
        return [day(dt.date(year, 10, 1))]
    runs: list[list[dt.date]] = []
    for d in days:
        if runs and (d - runs[-1][-1]).days == 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    longest = sorted(runs, key=lambda r: (-len(r), r[0]))[:2]
    return sorted(day(r[0]) for r in longest)


def _inpatient(rng: Rng, n: int, people: People, inst: Institutions, year: int) -> dict[str, np.ndarray]:
    psn = _by_weight(rng, people, n, people.role != "mother")
    level = _levels(rng, INPATIENT_LEVELS, n)
    holiday = chance(rng, HOLIDAY_ADMISSIONS, n)
    level = np.where(holiday, 4, level)
    los = np.clip(np.rint(rng.gamma(2.0, 1.5 + 0.8 * level)), 1, 60).astype(np.int64)
    admit = _year_days(rng, year, n, los)
    starts = np.array(holiday_starts(year), dtype="datetime64[D]")
    before_holiday = offset(starts[rng.integers(0, len(starts), n)], -rng.integers(1, 4, n))
    admit = np.where(holiday, before_holiday, admit)
    chosen = np.zeros(n, dtype=np.int64)
    chosen[holiday] = inst.pick(rng, level[holiday], area="out")
    chosen[~holiday] = inst.pick(rng, level[~holiday])
    child = _ages(people, psn, admit) < 14
    trauma = chance(rng, TRAUMA, n) & ~child
    dx = np.where(child, weighted(rng, vocab.CHILD_DX, n), weighted(rng, vocab.INPATIENT_DX, n))
    dx = np.where(trauma, weighted(rng, vocab.TRAUMA_DX, n), dx)
    discharge = offset(admit, los)
    # readmissions: the same person, institution and first diagnosis within days of a discharge
    again = np.flatnonzero(chance(rng, READMISSIONS, n) & ~holiday)
    if len(again):
        base = rng.integers(0, n, len(again))
        re_admit = offset(discharge[base], rng.integers(1, 15, len(again)))
        fits = offset(re_admit, los[again]) <= day(dt.date(year, 12, 31))
        again, base, re_admit = again[fits], base[fits], re_admit[fits]
        psn[again], chosen[again], dx[again] = psn[base], chosen[base], dx[base]
        trauma[again] = trauma[base]
        admit[again], discharge[again] = re_admit, offset(re_admit, los[again])
    return _part(n, psn=psn, med_type=np.full(n, "21", dtype=object), inst=chosen, admit=admit,
                 discharge=discharge, dx=_secondary(rng, dx), trauma=trauma, holiday=holiday)


def _outpatient(rng: Rng, n: int, people: People, inst: Institutions, year: int) -> dict[str, np.ndarray]:
    psn = _by_weight(rng, people, n)
    employee = people.employee[psn]
    resident_level = np.where(chance(rng, RESIDENT_OUTPATIENT_ABOVE_1, n), rng.integers(2, 4, n), 1)
    level = np.where(employee, _levels(rng, EMPLOYEE_OUTPATIENT_LEVELS, n), resident_level)
    visit = _year_days(rng, year, n)
    child = _ages(people, psn, visit) < 14
    dx = np.where(child, weighted(rng, vocab.CHILD_DX, n), weighted(rng, vocab.OUTPATIENT_DX, n))
    return _part(n, psn=psn, med_type=np.full(n, "11", dtype=object),
                 inst=inst.pick(rng, level, pharmacy=True, area="in"), admit=visit, discharge=visit,
                 dx=_secondary(rng, dx, 0.2, 0.25))


def _chronic_diseases(rng: Rng, people: People, tariff: LoadedTariff) -> tuple[np.ndarray, np.ndarray]:
    """Per person the tariff's chronic-disease code ("" for all but chronic patients) and the
    diagnosis their claims carry."""
    n = len(people.role)
    codes = [d.code for d in tariff.tariff.chronic.diseases]
    disease = np.where(people.role == "chronic",
                       weighted(rng, [(c, vocab.CHRONIC_WEIGHTS.get(c, 1)) for c in codes], n), "")
    dx = np.full(n, "", dtype=object)
    for d in tariff.tariff.chronic.diseases:
        rows = np.flatnonzero(disease == d.code)
        options = vocab.CHRONIC_DX.get(d.code) or tuple(c for c in vocab.CANCER_DX if d.matches(c)) or (d.code,)
        dx[rows] = np.array(options, dtype=object)[rng.integers(0, len(options), len(rows))]
    return disease, dx


def _chronic(rng: Rng, n: int, people: People, inst: Institutions, year: int, disease: np.ndarray,
             disease_dx: np.ndarray) -> dict[str, np.ndarray]:
    patients = np.flatnonzero(people.role == "chronic")
    psn = patients[rng.integers(0, len(patients), n)]
    d = disease[psn]
    level = _levels(rng, {1: 0.6, 2: 0.3, 3: 0.1}, n)
    level = np.where(d == "N18", rng.integers(2, 4, n), level)
    level = np.where(np.char.startswith(d.astype(str), "C"), rng.integers(3, 5, n), level)
    visit = _year_days(rng, year, n)
    dx = _secondary(rng, disease_dx[psn], 0.3, 0.15)
    return _part(n, psn=psn, med_type=np.full(n, "14", dtype=object),
                 inst=inst.pick(rng, level, pharmacy=True, area="in"), admit=visit, discharge=visit, dx=dx)


def _maternity(rng: Rng, n51: int, n52: int, people: People, inst: Institutions,
               year: int) -> dict[str, np.ndarray]:
    n = n51 + n52
    mothers = np.flatnonzero(people.role == "mother")
    psn = mothers[rng.integers(0, len(mothers), n)]
    inpatient = np.arange(n) >= n51
    item = np.where(inpatient, weighted(rng, INPATIENT_MATERNITY, n), weighted(rng, OUTPATIENT_MATERNITY, n))
    delivery = np.where(item == "delivery", weighted(rng, DELIVERIES, n), "")
    infants = np.where(item == "delivery", np.where(chance(rng, 0.03, n), 2, 1), np.nan)
    weeks = pd.Series(item).map(PREGNANCY_WEEKS)
    low, high = weeks.str[0].to_numpy(dtype=np.float64), weeks.str[1].to_numpy(dtype=np.float64)
    stay = np.where(delivery == "caesarean", rng.integers(4, 8, n), rng.integers(1, 5, n))
    los = np.where(inpatient, stay, 0)
    admit = _year_days(rng, year, n, los)
    dx = pd.Series(np.where(delivery != "", delivery, item)).map(vocab.MATERNITY_DX).to_numpy(dtype=object)
    return _part(n, psn=psn, med_type=np.where(inpatient, "52", "51").astype(object),
                 inst=inst.pick(rng, rng.integers(2, 4, n), area="in"), admit=admit,
                 discharge=offset(admit, los), dx=_secondary(rng, dx, 0.0, 0.0), maternity_item=item,
                 delivery=delivery, infants=infants, weeks=np.floor(low + rng.random(n) * (high - low + 1)))


def _presented(rng: Rng, need: np.ndarray, required: Callable[[str], list[str]], p: float) -> np.ndarray:
    """The materials presented, `;`-joined: all that `required(need)` lists, except that with
    probability p one of them (at random) is missing. Decided per distinct `need`."""
    n = len(need)
    incomplete = chance(rng, p, n)
    which = rng.integers(0, 1 << 30, n)
    out = np.full(n, "", dtype=object)
    for key in np.unique(need.astype(str)):
        rows = np.flatnonzero(need == key)
        items = [m for m in dict.fromkeys(required(key)) if m]
        variants = np.array([LIST_SEP.join(items)] + [LIST_SEP.join(items[:j] + items[j + 1:])
                                                      for j in range(len(items))], dtype=object)
        pick = np.where(incomplete[rows] & (len(items) > 0), 1 + which[rows] % max(len(items), 1), 0)
        out[rows] = variants[pick]
    return out


def _chronic_applications(rng: Rng, n: int, people: People, year: int, disease: np.ndarray,
                          disease_dx: np.ndarray, tariff: LoadedTariff) -> dict[str, np.ndarray]:
    patients = np.flatnonzero(people.role == "chronic")
    psn = patients[rng.integers(0, len(patients), n)]
    spec = tariff.tariff.materials.chronic_application
    specialist = [d.code for d in tariff.tariff.chronic.diseases if d.evidence == "specialist_diagnosis"]
    evidence = np.array(spec.evidence_any_of or [""], dtype=object)
    need = np.where(np.isin(disease[psn], specialist), "specialist", evidence[rng.integers(0, len(evidence), n)])

    def required(key: str) -> list[str]:
        return spec.required + (spec.specialist_evidence if key == "specialist" else [key])

    return _part(n, psn=psn, kind=np.full(n, "chronic_application", dtype=object),
                 submitted=_year_days(rng, year, n), dx=_secondary(rng, disease_dx[psn], 0, 0),
                 materials=_presented(rng, need, required, 0.3))


def _referral_applications(rng: Rng, n: int, people: People, inst: Institutions, year: int,
                           tariff: LoadedTariff) -> dict[str, np.ndarray]:
    kinds = tariff.tariff.referral.kinds
    kind = weighted(rng, [(k, {"normal": 60, "emergency": 25, "chemo": 15}.get(k, 10)) for k in kinds], n)
    submitted = _year_days(rng, year, n, 10)
    admit = np.where(kind == "emergency", offset(submitted, -rng.integers(0, 8, n)),
                     offset(submitted, rng.integers(0, 11, n)))
    return _part(n, psn=_by_weight(rng, people, n), kind=np.full(n, "referral_application", dtype=object),
                 inst=inst.pick(rng, rng.integers(3, 5, n), area="out"), admit=admit, submitted=submitted,
                 referral_kind=kind, materials=_presented(rng, kind, lambda k: kinds[k].materials, 0.2))


def _assistance_applications(rng: Rng, n: int, people: People, statuses: pd.DataFrame, year: int,
                             tariff: LoadedTariff) -> dict[str, np.ndarray]:
    holders = people.table["psn_no"].isin(statuses["psn_no"]).to_numpy()
    psn = np.where(chance(rng, 0.7, n), _by_weight(rng, people, n, holders), _by_weight(rng, people, n))
    m = tariff.tariff.materials
    any_of = np.array(m.assistance_application_any_of or [""], dtype=object)
    pending = ~holders[psn] & chance(rng, 0.6, n)
    need = np.where(pending, "pending|", "") + any_of[rng.integers(0, len(any_of), n)]

    def required(key: str) -> list[str]:
        pending_card = m.assistance_pending if key.startswith("pending|") else []
        return m.assistance_application + [key.removeprefix("pending|")] + pending_card

    return _part(n, psn=psn, kind=np.full(n, "assistance_application", dtype=object),
                 submitted=_year_days(rng, year, n),
                 materials=_presented(rng, need, required, MATERIALS_INCOMPLETE))


def _declarations(tariff: LoadedTariff, mother_kind: str) -> list[str]:
    """The declaration a maternity case needs: none for an insured employee."""
    m = tariff.tariff.materials
    return {"left": m.maternity_left_employment, "spouse": m.maternity_spouse}.get(mother_kind, [])


def _paper_materials(tariff: LoadedTariff, key: str) -> list[str]:
    """What a paper claim (`med_type|maternity item|mother kind`) hands in: the manual claim's
    list of its med type, a delivery's medical records, the mother's declaration."""
    m = tariff.tariff.materials
    med_type, item, mother_kind = key.split("|")
    extra = m.maternity_delivery_extra if item == "delivery" else []
    return list(m.manual_claim.get(med_type, [])) + extra + _declarations(tariff, mother_kind)


def _maternity_applications(rng: Rng, n: int, people: People, year: int,
                            tariff: LoadedTariff) -> dict[str, np.ndarray]:
    mothers = np.flatnonzero(people.role == "mother")
    psn = mothers[rng.integers(0, len(mothers), n)]
    delivery = chance(rng, 0.6, n)
    med_type = np.where(delivery, "52", "51").astype(object)
    item = np.where(delivery, "delivery", "prenatal").astype(object)

    def required(key: str) -> list[str]:  # an application is the paper route of the same claim
        return tariff.tariff.materials.maternity_application + _paper_materials(tariff, key)

    return _part(n, psn=psn, kind=np.full(n, "maternity_application", dtype=object),
                 med_type=med_type, submitted=_year_days(rng, year, n), maternity_item=item,
                 delivery=np.where(delivery, weighted(rng, DELIVERIES, n), "").astype(object),
                 infants=np.where(delivery, 1, np.nan), weeks=np.where(delivery, rng.integers(37, 42, n), np.nan),
                 materials=_presented(rng, med_type + "|" + item + "|" + people.mother_kind[psn], required, 0.2))


# --- settlement mode, materials, filings, certifications --------------------------------------

def _settle(rng: Rng, c: dict[str, np.ndarray], is_claim: np.ndarray, people: People, inst: Institutions,
            tariff: LoadedTariff, year: int) -> None:
    """Direct settlement at networked institutions; manual claims elsewhere, filed with their
    materials (some incomplete) days to weeks after discharge."""
    n = len(is_claim)
    where = np.maximum(c["inst"], 0)
    away_by_choice = inst.out_of_area[where] & chance(rng, MANUAL_NETWORKED_OUT_OF_AREA, n)
    manual = is_claim & (~inst.networked[where] | away_by_choice)
    c["settlement_mode"] = np.where(is_claim, np.where(manual, "manual", "direct"), "").astype(object)
    year_end = day(dt.date(year, 12, 31))
    filed = np.minimum(offset(c["discharge"], rng.integers(3, 61, n)), year_end)
    c["submitted"] = np.where(is_claim, np.where(manual, filed, c["discharge"]), c["submitted"])
    rows = np.flatnonzero(manual)
    maternity = np.isin(c["med_type"][rows], ("51", "52"))
    need = (c["med_type"][rows] + "|" + np.where(maternity, c["maternity_item"][rows], "") + "|"
            + np.where(maternity, people.mother_kind[c["psn"][rows]], ""))
    c["materials"][rows] = _presented(rng, need, lambda key: _paper_materials(tariff, key), MATERIALS_INCOMPLETE)


def _filings(rng: Rng, c: dict[str, np.ndarray], ids: np.ndarray, is_claim: np.ndarray, people: People,
             inst: Institutions, tariff: LoadedTariff, year: int) -> pd.DataFrame:
    """Referral and remote-residence filings for out-of-area admissions (some late, some
    incomplete, some missing), and trauma filings for most injuries."""
    where = np.maximum(c["inst"], 0)
    away = np.flatnonzero(is_claim & np.isin(c["med_type"], INPATIENT_MED_TYPES) & (c["inst"] >= 0)
                          & inst.out_of_area[where])
    n = len(away)
    holiday = c["holiday"][away]
    how = np.where(holiday, "referral", weighted(rng, [("referral", 55), ("remote", 12), ("none", 33)], n))
    cancer = np.char.startswith(c["dx"][away, 0].astype(str), "C")
    kind = np.where(cancer & chance(rng, 0.7, n), "chemo", weighted(rng, [("emergency", 35), ("normal", 65)], n))
    kind = np.where(holiday, "emergency", kind)
    kinds = tariff.tariff.referral.kinds
    kind = np.where(np.isin(kind, list(kinds)), kind, next(iter(kinds)))
    admit = c["admit"][away]
    before = offset(admit, -rng.integers(1, 16, n))
    late = offset(admit, rng.integers(1, 6, n))
    emergency_day = offset(admit, np.where(holiday, rng.integers(3, 13, n), rng.integers(0, 9, n)))
    filed = np.where(kind == "emergency", emergency_day, np.where(chance(rng, 0.85, n), before, late))
    target = np.where(chance(rng, 0.95, n), inst.ids[where[away]], inst.ids[rng.integers(0, len(inst.ids), n)])
    referral = np.flatnonzero(how == "referral")
    remote = np.flatnonzero(how == "remote")
    remote = remote[np.unique(c["psn"][away[remote]], return_index=True)[1]]  # one filing per person
    remote_from = days_between(rng, day(dt.date(year - 2, 1, 1)), day(dt.date(year, 1, 31)), len(remote))
    injured = np.flatnonzero(is_claim & c["trauma"])
    injured = injured[chance(rng, 0.75, len(injured))]
    k = len(injured)
    psn = people.table["psn_no"].to_numpy(dtype=object)
    presented = _presented(rng, kind[referral], lambda r: kinds[r].materials, MATERIALS_INCOMPLETE)
    rows = [
        _filing_rows(psn[c["psn"][away[referral]]], "referral", referral_kind=kind[referral],
                     filed_date=filed[referral], target_institution=target[referral], materials=presented),
        _filing_rows(psn[c["psn"][away[remote]]], "remote_residence", filed_date=remote_from,
                     valid_from=remote_from, valid_to=offset(remote_from, 3 * 365)),
        _filing_rows(psn[c["psn"][injured]], "trauma",
                     filed_date=offset(c["admit"][injured], rng.integers(0, 11, k)),
                     third_party_liable=chance(rng, 0.2, k).astype(object),
                     mdtrt_id=np.where(chance(rng, 0.8, k), ids[injured], "").astype(object)),
    ]
    columns = {key: np.concatenate([r[key] for r in rows]) for key in rows[0]}
    columns["third_party_liable"] = pd.array(columns["third_party_liable"], dtype="boolean")
    return typed_frame(columns).sort_values(["psn_no", "filed_date"], kind="stable").reset_index(drop=True)


def _filing_rows(psn_no: np.ndarray, kind: str, **columns: np.ndarray) -> dict[str, np.ndarray]:
    """Filings of one kind; columns not given are empty."""
    n = len(psn_no)
    nat = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    empty = np.full(n, "", dtype=object)
    return {"psn_no": psn_no, "kind": np.full(n, kind, dtype=object), "referral_kind": empty,
            "filed_date": nat, "target_institution": empty, "materials": empty, "valid_from": nat,
            "valid_to": nat, "third_party_liable": np.full(n, None, dtype=object), "mdtrt_id": empty} | columns


def _certifications(rng: Rng, people: People, disease: np.ndarray, year: int) -> pd.DataFrame:
    """Most chronic patients are certified for their disease, for two years from a day between
    two and a half years ago and mid-year: some certifications run out, some start, this year."""
    rows = np.flatnonzero((disease != "") & chance(rng, 0.88, len(disease)))
    start = days_between(rng, day(dt.date(year - 2, 3, 1)), day(dt.date(year, 6, 30)), len(rows))
    month = start.astype("datetime64[M]")
    day_of_month = start - month.astype("datetime64[D]")
    end = offset((month + np.timedelta64(24, "M")).astype("datetime64[D]") + day_of_month, -1)
    return typed_frame({"psn_no": people.table["psn_no"].to_numpy(dtype=object)[rows],
                        "disease": disease[rows], "valid_from": start, "valid_to": end})
