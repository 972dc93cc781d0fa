"""Synthetic insured persons (参保人), their statuses (特困, 低保, …) and enrolment periods.

The claim generators draw patients by role, so every kind of claim finds plausible people: the
general population (children to the very old, residents and employees), chronic patients
(older, one certified disease each) and women who give birth or see a doctor for family
planning (employees with contribution months and a wage, some who left work, some insured as
the spouse of a male employee, some residents).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from yibao.synth.draw import Rng, chance, day, days_between, money, offset, typed_frame, weighted

ROLES = ("general", "chronic", "mother")
AGE_BANDS = {"child": (0, 13, 0.14), "teen": (14, 17, 0.03), "adult": (18, 59, 0.50), "elderly": (60, 92, 0.33)}
MOTHER_KINDS = {"employee": 0.55, "left": 0.08, "spouse": 0.12, "resident": 0.25}
STATUS_KINDS = (("dibao", 30), ("low_income", 25), ("tekun", 10), ("relapse_monitored", 20),
                ("priority_care", 15))
STATUS_SHARE = {"390": 0.06, "310": 0.02}
RESIDENT_SHARE = 0.75


@dataclass(frozen=True)
class People:
    """The persons table and, aligned with its rows, what the claim generators draw on."""

    table: pd.DataFrame
    role: np.ndarray  # ROLES
    birth: np.ndarray  # datetime64[D]
    female: np.ndarray
    employee: np.ndarray
    mother_kind: np.ndarray  # "" or a key of MOTHER_KINDS
    weight: np.ndarray  # relative frequency of claims
    retired_cadre: np.ndarray


def people(rng: Rng, counts: dict[str, int], year: int) -> People:
    """`counts`: persons per role; psn_no 410000000001, … in a shuffled order of roles."""
    role = np.concatenate([np.full(counts[r], r, dtype=object) for r in ROLES])
    role = role[rng.permutation(len(role))]
    n = len(role)
    general, chronic, mother = (role == r for r in ROLES)

    bands = np.array([(low, high) for low, high, _ in AGE_BANDS.values()])
    weights = np.array([w for _, _, w in AGE_BANDS.values()])
    low, high = bands[rng.choice(len(bands), n, p=weights / weights.sum())].T
    low, high = np.where(chronic, 40, low), np.where(chronic, 85, high)
    low, high = np.where(mother, 22, low), np.where(mother, 40, high)
    age = (low + np.floor(rng.random(n) * (high - low + 1))).astype(np.int64)

    female = np.where(mother, True, chance(rng, 0.5, n))
    mother_kind = np.where(mother, weighted(rng, list(MOTHER_KINDS.items()), n), "")
    employee = np.where(mother, np.isin(mother_kind, ("employee", "left")),
                        chance(rng, 1 - RESIDENT_SHARE, n) & (age >= 18))
    cadre = np.zeros(n, dtype=bool)  # 离休干部: a handful, very old
    handful = min(5, max(1, n // 2000), int(general.sum()))
    cadre[rng.choice(np.flatnonzero(general), size=handful, replace=False)] = True
    age = np.where(cadre, 92 + np.floor(rng.random(n) * 8).astype(np.int64), age)
    employee |= cadre
    retired = employee & ((age >= 60) | (female & (age >= 55) & chance(rng, 0.5, n)))

    mid = day(dt.date(year, 7, 1))
    birth = offset(np.full(n, mid), -np.rint(age * 365.25).astype(np.int64) - rng.integers(0, 365, n))

    insured_mother = female & employee & ~retired & (age <= 45)
    months = np.where(mother & chance(rng, 0.85, n), rng.integers(12, 121, n), rng.integers(1, 12, n))
    months = np.where(mother, months, rng.integers(0, 241, n))
    wage = money(rng.uniform(3000, 12000, n))
    left = mother_kind == "left"
    left_date = offset(np.full(n, mid), -rng.integers(30, 900, n))

    table = typed_frame({
        "psn_no": np.array([f"41{i + 1:010d}" for i in range(n)], dtype=object),
        "gender": np.where(female, "F", "M").astype(object),
        "birth_date": birth,
        "insutype": np.where(employee, "310", "390").astype(object),
        "employee_status": np.where(employee, np.where(retired, "retired", "in_service"), "").astype(object),
        "waiting_period_until": np.full(n, np.datetime64("NaT"), dtype="datetime64[D]"),
        "maternity_contribution_months": pd.array(np.where(insured_mother, months, np.nan), dtype="Int64"),
        "employer_avg_monthly_wage": np.where(insured_mother & ~left, wage, np.nan),
        "left_employment_date": np.where(left, left_date, np.datetime64("NaT")),
        "spouse_of_insured_male_employee": pd.array(mother_kind == "spouse", dtype="boolean"),
    })
    elderly_or_child = (age >= 60) | (age < 14)
    weight = rng.lognormal(0, 0.7, n) * np.where(elderly_or_child, 1.6, 1.0)
    return People(table, role, birth, female, employee, mother_kind, weight, cadre)


def statuses(rng: Rng, people: People, year: int) -> pd.DataFrame:
    """A few percent of residents (fewer employees) hold an assistance or care status, some
    expiring mid-year; retired cadres hold theirs for good."""
    resident = ~people.employee
    holder = chance(rng, np.where(resident, STATUS_SHARE["390"], STATUS_SHARE["310"]), len(resident))
    holder &= ~people.retired_cadre & (people.role != "mother")
    idx = np.flatnonzero(holder)
    n = len(idx)
    start = days_between(rng, day(dt.date(year - 3, 1, 1)), day(dt.date(year, 6, 30)), n)
    how = weighted(rng, [("open", 50), ("year_end", 30), ("mid_year", 20)], n)
    mid_end = days_between(rng, day(dt.date(year, 3, 1)), day(dt.date(year, 9, 30)), n)
    end = np.where(how == "year_end", day(dt.date(year, 12, 31)), np.maximum(mid_end, offset(start, 30)))
    end = np.where(how == "open", np.datetime64("NaT"), end)
    cadres = np.flatnonzero(people.retired_cadre)
    psn = people.table["psn_no"].to_numpy(dtype=object)
    columns = {
        "psn_no": np.concatenate([psn[idx], psn[cadres]]),
        "kind": np.concatenate([weighted(rng, STATUS_KINDS, n),
                                np.full(len(cadres), "retired_cadre", dtype=object)]),
        "valid_from": np.concatenate([start, np.full(len(cadres), day(dt.date(year - 30, 1, 1)))]),
        "valid_to": np.concatenate([end, np.full(len(cadres), np.datetime64("NaT"))]),
    }
    order = np.argsort(columns["psn_no"].astype(str), kind="stable")
    return typed_frame({k: v[order] for k, v in columns.items()})


def enrolments(rng: Rng, people: People, year: int) -> pd.DataFrame:
    """Enrolment periods of the few whose cover starts or ends this year (everyone else is
    insured throughout). Residents joining mid-year serve a waiting period (待遇等待期),
    written into the persons table."""
    n = len(people.role)
    kind = weighted(rng, [("joined", 2), ("lapsed", 1), ("throughout", 97)], n)
    kind = np.where(people.retired_cadre, "throughout", kind)
    joined, lapsed = kind == "joined", kind == "lapsed"
    start = np.where(joined, days_between(rng, day(dt.date(year, 2, 1)), day(dt.date(year, 6, 30)), n),
                     day(dt.date(year - 10, 1, 1)))
    end = np.where(lapsed, days_between(rng, day(dt.date(year, 4, 1)), day(dt.date(year, 10, 31)), n),
                   np.datetime64("NaT"))
    waits = joined & ~people.employee & chance(rng, 0.5, n)
    people.table["waiting_period_until"] = np.where(waits, offset(start, 89), np.datetime64("NaT")).astype(
        "datetime64[ns]")
    rows = np.flatnonzero(joined | lapsed)
    return typed_frame({"psn_no": people.table["psn_no"].to_numpy(dtype=object)[rows],
                        "valid_from": start[rows], "valid_to": end[rows]})

