"""One what-if case (docs/cases.md) as a batch of one.

Policy staff write a case as JSON or YAML; it is validated here so an error names the field
(`claim.admit_date`), then flattened into the batch tables of `yibao/tables.py`, so a case runs
through exactly the code that scores a month of claims.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import re
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from yibao.errors import InputError, os_reason, path_shown, quoted

from yibao.tables import LIST_SEP, PERSONAL, TABLES
from yibao.unique_keys import safe_load, unique_pairs
from yibao.yaml_numbers import Digits, integer

Yuan = float
MISSPELT = 0.8  # an extra field this similar to a field of the case (difflib's ratio) is a slip
_NUMBER = re.compile(r"\s*[-+]?[0-9]+(?:\.[0-9]*)?\s*")  # text pydantic would read as seconds since 1970


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)  # one schema, built on first use

    @field_validator("*", mode="before")
    @classmethod
    def _no_truth_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """JSON's true is 1 to pydantic's numbers: a price of `true` was 1 yuan. Only a field
        that is true or false takes one."""
        annotation = cls.model_fields[info.field_name].annotation
        if isinstance(value, bool) and annotation is not bool and bool not in get_args(annotation):
            raise ValueError("true or false where a value of another kind belongs")
        return value

    @field_validator("*", mode="before")
    @classmethod
    def _no_number_for_dates(cls, value: Any, info: ValidationInfo) -> Any:
        """Pydantic reads a number, or text of digits, as seconds since 1970: `birth_date: 0` was
        1970-01-01, and `19700615` was refused as "Datetimes provided to dates should have zero
        time". A date is written YYYY-MM-DD."""
        annotation = cls.model_fields[info.field_name].annotation
        if (annotation is dt.date or dt.date in get_args(annotation)) and not isinstance(value, bool) and (
                isinstance(value, (int, float, Digits)) or isinstance(value, str) and _NUMBER.fullmatch(value)):
            raise ValueError("a date is written YYYY-MM-DD, not as a number")
        return value

    @model_validator(mode="after")
    def _no_misspelt_field(self) -> _Model:
        """An extra field is the user's own (a note), but one that looks like a field of the
        case left unset is a slip: `settlment_mode` was ignored and the claim taken as direct,
        `levle` and the institution's level default. Refused, naming the field meant."""
        if not self.model_extra:
            return self
        declared = {name.lower(): name for name in type(self).model_fields if name not in self.model_fields_set}
        for extra in self.model_extra:
            meant = difflib.get_close_matches(str(extra).lower(), declared, n=1, cutoff=MISSPELT)
            if meant:
                raise ValueError(f"{extra!r} is no field of the case: did you mean {declared[meant[0]]!r}? "
                                 f"(a field of your own must not look like one of the case's)")
        return self

    def fields(self) -> dict[str, Any]:
        """The declared fields, as the batch tables take them: extra fields (a note, an id of the
        user's own) stay out of the calculation, even one named like a batch column."""
        return self.model_dump(exclude=set(self.model_extra or ()))


class Status(_Model):
    kind: Literal["tekun", "dibao", "low_income", "relapse_monitored", "retired_cadre", "priority_care"]
    valid_from: dt.date
    valid_to: dt.date | None = None


class Certification(_Model):
    disease: str
    valid_from: dt.date
    valid_to: dt.date | None = None


class Filing(_Model):
    kind: Literal["referral", "remote_residence", "trauma"]
    referral_kind: Literal["emergency", "chemo", "normal"] | None = None
    filed_date: dt.date | None = None
    target_institution: str | None = None
    materials: list[str] = []
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    third_party_liable: bool | None = None
    mdtrt_id: str | None = None


class Enrolment(_Model):
    valid_from: dt.date
    valid_to: dt.date | None = None


class Person(_Model):
    psn_no: str
    gender: Literal["F", "M"]
    birth_date: dt.date
    insutype: Literal["310", "390"]
    employee_status: Literal["in_service", "retired"] | None = None
    statuses: list[Status] = []
    certifications: list[Certification] = []
    filings: list[Filing] = []
    enrolments: list[Enrolment] | None = None
    waiting_period_until: dt.date | None = None
    maternity_contribution_months: int | None = None
    employer_avg_monthly_wage: Yuan | None = None
    left_employment_date: dt.date | None = None
    spouse_of_insured_male_employee: bool = False
    region: str | None = None
    resident_category: str | None = None


class Institution(_Model):
    id: str
    name: str | None = None
    kind: Literal["hospital", "pharmacy"] | None = None
    level: int = Field(ge=1, le=4)
    out_of_area: bool = False
    networked: bool = True
    agreement: Literal["active", "suspended"] = "active"


class MaternityDetails(_Model):
    item: Literal["prenatal", "delivery", "iud_insertion", "iud_removal", "abortion", "induction",
                  "miscarriage"]
    delivery: Literal["vaginal", "assisted", "caesarean"] | None = None
    infants: int = Field(default=1, ge=1)
    pregnancy_weeks: int | None = Field(default=None, ge=0, le=45)


class Claim(_Model):
    mdtrt_id: str
    kind: Literal["claim", "chronic_application", "referral_application",
                  "assistance_application", "maternity_application"] = "claim"
    med_type: Literal["11", "14", "21", "51", "52"] | None = None
    institution: Institution | None = None
    admit_date: dt.date | None = None
    discharge_date: dt.date | None = None
    diagnoses: list[str] = []
    settlement_mode: Literal["direct", "manual"] | None = None
    submitted_date: dt.date | None = None
    materials: list[str] = []
    trauma: bool = False
    referral_kind: Literal["emergency", "chemo", "normal"] | None = None
    maternity: MaternityDetails | None = None
    region: str | None = None
    correction_of: str | None = None


class Line(_Model):
    line_id: str
    med_list_codg: str
    service_date: dt.date
    pric: Yuan = Field(ge=0)
    cnt: float = Field(gt=0)
    det_item_fee_sumamt: Yuan | None = Field(default=None, ge=0)
    chrgitm_lv: Literal["01", "02", "03"] | None = None
    selfpay_prop: float | None = Field(default=None, ge=0, le=1)
    pric_uplmt_amt: Yuan | None = Field(default=None, ge=0)


class Accumulators(_Model):
    year: int
    hifp_paid: Yuan = 0
    inpatient_admissions: int = 0
    outpatient_deductible_used: Yuan = 0
    outpatient_paid: Yuan = 0
    catastrophic_base: Yuan = 0
    catastrophic_paid: Yuan = 0
    maf_deductible_used: Yuan = 0
    maf_paid: Yuan = 0
    prenatal_paid: Yuan = 0
    outpatient_covered: Yuan = 0
    chronic_covered: Yuan = 0
    chronic_paid: dict[str, Yuan] = {}
    large_amount_base: Yuan = 0
    large_amount_paid: Yuan = 0
    maf_stage2_deductible_used: Yuan = 0
    maf_stage2_paid: Yuan = 0
    chronic_deductible_used: Yuan | None = None
    inpatient_deductible_used: Yuan | None = None
    inpatient_covered: Yuan | None = None
    outpatient_month: int | None = None
    outpatient_month_paid: Yuan | None = None
    outpatient_covered_month: int | None = None
    outpatient_covered_in_month: Yuan | None = None
    chronic_covered_month: int | None = None
    chronic_covered_in_month: Yuan | None = None


class Case(_Model):
    person: Person
    claim: Claim
    lines: list[Line] = []
    accumulators: Accumulators | None = None

    @model_validator(mode="after")
    def _accumulators_of_the_claims_year(self) -> Case:
        """The claim uses its benefit year's accumulators (the year of its discharge, else
        admission, else submission date); another year's were dropped without a word, and the
        claim paid as the person's first of the year."""
        c = self.claim
        named = next(((n, d) for n, d in (("discharge_date", c.discharge_date), ("admit_date", c.admit_date),
                                           ("submitted_date", c.submitted_date)) if d is not None), None)
        if self.accumulators is not None and named is not None and self.accumulators.year != named[1].year:
            raise ValueError(f"accumulators.year is {self.accumulators.year}, but the claim falls in "
                             f"{named[1].year} (its {named[0]}): give the accumulators of {named[1].year}")
        return self


def parse_case(raw: Any, source: str = "case") -> Case:
    try:
        return Case.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        personal = PERSONAL & {str(p) for p in first["loc"]}
        given = first.get("input")
        message = first["msg"].removeprefix("Value error, ")
        # more digits than Python converts (wherever it is), or than a float holds (10^309)
        if isinstance(given, Digits) or type(given) is int and first["type"] == "float_type":
            message, given = "a number out of range", given.text if isinstance(given, Digits) else str(given)
        # a value is quoted only when it is one scalar and no person's: a list or mapping where
        # one belonged may hold a whole case (a psn_no, a birth date) or, by YAML aliases, 200 MB
        scalar = given is None or isinstance(given, (str, int, float, bool, dt.date))
        got = f" (got {quoted(given)})" if scalar and not personal else ""
        raise InputError(f"{loc + ': ' if loc else ''}{message}{got}{more}", file=source) from None


def load_case(path: Path) -> Case:
    """Read a JSON or YAML case file; errors name the file and the field."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM, as Notepad writes it, is no part of the case
        # a key given twice is refused: the readers kept the last (a price of 150 then 15000 was 15000)
        raw = (json.loads(text, object_pairs_hook=unique_pairs, parse_int=integer) if path.suffix.lower() == ".json"
               else safe_load(text))
    except UnicodeDecodeError:  # Python's "'utf-8' codec can't decode byte 0xb8 in position 468"
        raise InputError("cannot read case: the file is not UTF-8 text (save it as UTF-8)", file=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read case: {os_reason(exc)}", file=path_shown(path, exc)) from None
    except (ValueError, yaml.YAMLError, RecursionError) as exc:  # nested past any case; YAML's 2025-02-30
        raise InputError(f"not valid JSON/YAML: {str(exc).splitlines()[0]}", file=str(path)) from None
    if _lone_surrogate(raw):  # JSON's "\ud800" escape: a lone surrogate, which no output can hold
        raise InputError("a text holds a lone surrogate (an escape such as \\ud800 that is no character)",
                         file=str(path))
    return parse_case(raw, str(path))


def _lone_surrogate(raw: Any) -> bool:
    """Whether a text of `raw`, a key or a value, holds a lone surrogate. Each list and mapping is
    looked at once however many YAML aliases name it: written out as JSON, each alias was written
    in full at each place, and nine lists of nine aliases of the one before (444 bytes of YAML)
    took 100 s and 11.8 GB before the case was refused."""
    seen: set[int] = set()
    todo = [raw]
    while todo:
        value = todo.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(value, (list, dict)) and id(value) not in seen:
            seen.add(id(value))
            todo.extend([*value.keys(), *value.values()] if isinstance(value, dict) else value)
    return False


def _cell(v: Any) -> str:
    """A case value as the text a CSV cell would hold."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return LIST_SEP.join(str(x) for x in v)
    if isinstance(v, float):
        return repr(v)
    return str(v)


# The range of datetime64[ns], the dtype of loaded dates; a case date outside it stays text, so
# the batch reader refuses it with its usual message.
_FIRST_DAY, _LAST_DAY = dt.date(1677, 9, 22), dt.date(2262, 4, 11)


def _typed(values: list[Any], kind: str) -> Any:
    """One column of case values with the dtype the batch reader gives a column of this type,
    so it takes the reader's typed path (as for Parquet) instead of parsing text: the same
    values and checks, a fraction of the time for a batch of one. A column holding anything
    else (an extra field of another type, a non-finite number) is text, as a CSV cell."""
    given = [v for v in values if v is not None]
    if kind == "date" and all(type(v) is dt.date and _FIRST_DAY <= v <= _LAST_DAY for v in given):
        return np.array([np.datetime64("NaT") if v is None else v for v in values], dtype="datetime64[ns]")
    if kind in ("yuan", "float") and all(type(v) in (int, float) and math.isfinite(v) for v in given):
        return np.array([math.nan if v is None else v for v in values], dtype=np.float64)
    if kind == "int" and all(type(v) is int and abs(v) < 2**53 for v in given):
        return pd.array(values, dtype="Int64")
    if kind == "bool" and all(type(v) is bool for v in given):
        return pd.array(values, dtype="boolean")
    return pd.array([_cell(v) for v in values], dtype="str" if kind in ("str", "list") else object)


def _frame(rows: list[dict[str, Any]], table: str) -> pd.DataFrame:
    return pd.DataFrame({c.name: _typed([r.get(c.name) for r in rows], c.type) for c in TABLES[table]},
                        index=pd.RangeIndex(len(rows)))


def case_tables(case: Case) -> dict[str, pd.DataFrame]:
    """Flatten a case into raw batch tables (typed columns, as `read_batch` finds them in
    Parquet; lists as `;`-separated text)."""
    return rows_tables(case_rows(case))


def rows_tables(rows: dict[str, list[dict[str, Any]]]) -> dict[str, pd.DataFrame]:
    """Raw batch tables of the rows of cases (`case_rows`): the rows of several cases make one
    table each at once, not a frame per case put together (18 claims: 0.025 s, not 0.19 s)."""
    return {name: _frame(table_rows, name) for name, table_rows in rows.items()}


def case_rows(case: Case) -> dict[str, list[dict[str, Any]]]:
    """The rows of each input table a case makes, by table."""
    p, c = case.person, case.claim
    psn = {"psn_no": p.psn_no}
    claim_row = c.fields() | psn
    institutions = []
    if c.institution is not None:
        institutions.append(c.institution.fields() | {"institution_id": c.institution.id})
        claim_row["institution_id"] = c.institution.id
    if c.maternity is not None:
        m = c.maternity
        claim_row |= {"maternity_item": m.item, "delivery": m.delivery, "infants": m.infants,
                      "pregnancy_weeks": m.pregnancy_weeks}
    accumulators = []
    if case.accumulators is not None:
        acc = case.accumulators.fields()
        acc["chronic_paid"] = [f"{k}={v:.2f}" for k, v in sorted(acc["chronic_paid"].items())]
        accumulators.append(psn | acc)
    tables: dict[str, list[dict[str, Any]]] = {
        "persons": [p.fields()],
        "enrolments": [e.fields() | psn for e in (p.enrolments or [])],
        "statuses": [s.fields() | psn for s in p.statuses],
        "certifications": [x.fields() | psn for x in p.certifications],
        "filings": [f.fields() | psn for f in p.filings],
        "institutions": institutions,
        "claims": [claim_row],
        "lines": [ln.fields() | {"mdtrt_id": c.mdtrt_id} for ln in case.lines],
        "accumulators": accumulators,
    }
    return tables


def case_batch(case: Case, source: str = "case"):  # type: ignore[no-untyped-def]
    """The case as a validated batch of one; a cell the batch reader refuses is an InputError
    naming `source` (the case file)."""
    from yibao.io import CASCADED, normalize

    tables = case_tables(case)
    batch, rejects = normalize(tables, {name: source for name in tables})
    if len(rejects):  # the cell at fault, not a row that went because of it
        first = rejects.iloc[int(np.argmax(~rejects["reason"].str.endswith(CASCADED).to_numpy(dtype=bool)))]
        path = case_path(str(first["table"]), int(first["row"]) - 2, str(first["column"]))
        raise InputError(f"{path}: {first['reason']}", file=source)
    return batch


# where each batch table's rows are in a case ({} the row's position in its list)
CASE_PLACES = {"persons": "person", "enrolments": "person.enrolments.{}", "statuses": "person.statuses.{}",
               "certifications": "person.certifications.{}", "filings": "person.filings.{}",
               "institutions": "claim.institution", "claims": "claim", "lines": "lines.{}",
               "accumulators": "accumulators"}
# the cells `case_tables` moved into another table, by where the case holds them
MOVED = {"psn_no": "person.psn_no", "institution_id": "claim.institution.id", "maternity_item": "claim.maternity.item",
         "delivery": "claim.maternity.delivery", "infants": "claim.maternity.infants",
         "pregnancy_weeks": "claim.maternity.pregnancy_weeks"}


def case_path(table: str, position: int, column: str) -> str:
    """A cell of the batch tables `case_tables` made, named as the case holds it (`lines.2.pric`,
    as pydantic names a field), so that a refused line is found among many."""
    if column in MOVED:
        return MOVED[column]
    if table == "lines" and column == "mdtrt_id":
        return "claim.mdtrt_id"
    place = CASE_PLACES.get(table, table).format(position)
    return f"{place}.{column}" if column else place
