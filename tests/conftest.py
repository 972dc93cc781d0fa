"""Shared test helpers: build a case as docs/cases.md does and decide it through the real pipeline;
turn rows of a scored batch back into a case; a synthetic batch shared by the batch tests; and
the hypothesis profiles.

Hypothesis profiles (choose with the environment variable HYPOTHESIS_PROFILE):
- `ci` (default): 300 examples per property, what the Calculator issue asks ("a few hundred").
- `dev`: 25 examples per property, for a quick run while editing.
"""

from __future__ import annotations

import copy
import math
import os
import signal
import sys
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, settings

from yibao.cases import case_batch, case_rows, parse_case, rows_tables
from yibao.decision import decision_object
from yibao.io import Batch, normalize, write_tables
from yibao.money import yuan_array_to_fen
from yibao.pipeline import Result, score_batch
from yibao.tables import LIST_SEP, TABLES

EXAMPLES = Path(__file__).parent / "examples"

# Scoring even a one-claim batch costs a few hundred milliseconds (normalizing nine tables, the
# rule base, the scan), so no per-example deadline; health checks would call that "too slow".
for _name, _examples in (("ci", 300), ("dev", 25)):
    settings.register_profile(_name, max_examples=_examples, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# The amount fields of a decision (docs/cases.md), in yuan with two decimals.
AMOUNT_FIELDS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
                 "inscp_scp_amt", "violation_amt", "act_pay_dedc", "hifp_pay", "hifmi_pay", "hifob_pay",
                 "maf_pay", "fund_pay_sumamt", "psn_part_amt", "hosp_part_amt")

PERSON = {"psn_no": "P1", "gender": "M", "birth_date": "1970-06-15", "insutype": "390",
          "statuses": [], "certifications": [], "filings": []}
INSTITUTION = {"id": "H1", "level": 2, "out_of_area": False, "networked": True, "agreement": "active"}
CLAIM = {"mdtrt_id": "C1", "kind": "claim", "med_type": "21", "institution": INSTITUTION,
         "admit_date": "2025-05-06", "discharge_date": "2025-05-12", "diagnoses": ["J18.9"],
         "settlement_mode": "direct", "submitted_date": "2025-05-12", "materials": [], "trauma": False}


def line(code: str, pric: float, cnt: float = 1, day: str = "2025-05-07", line_id: str | None = None,
         **extra: Any) -> dict[str, Any]:
    return {"line_id": line_id or code, "med_list_codg": code, "service_date": day,
            "pric": pric, "cnt": cnt, **extra}


def make_case(person: dict | None = None, claim: dict | None = None, lines: list | None = None,
              accumulators: dict | None = None) -> dict[str, Any]:
    case = {"person": copy.deepcopy(PERSON) | (person or {}),
            "claim": copy.deepcopy(CLAIM) | (claim or {}),
            "lines": lines if lines is not None else [line("S-DIAL", 420.0, 10)]}
    if accumulators is not None:
        case["accumulators"] = {"year": 2025} | accumulators
    return case


def decide(case: dict[str, Any], tariff: Any = None) -> dict[str, Any]:
    """The docs/cases.md decision object for one case, through the same pipeline as a batch."""
    parsed = parse_case(case)
    result = score_batch(case_batch(parsed), tariff=tariff)
    return decision_object(result, parsed.claim.mdtrt_id)


@pytest.fixture
def decide_case():
    return decide


def cases_batch(cases: list[dict[str, Any]]) -> Batch:
    """Several cases (claims of one or more persons) as one batch; a person or institution named
    by several cases becomes one row."""
    tables = cases_tables(cases)
    batch, rejects = normalize(tables, {name: "test" for name in tables})
    assert rejects.empty, rejects.to_dict("records")
    return batch


def cases_tables(cases: list[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    """The input tables of several cases (as `cases_batch` reads them)."""
    rows: dict[str, list] = {}
    for case in cases:
        for name, table_rows in case_rows(parse_case(case)).items():
            rows.setdefault(name, []).extend(table_rows)
    tables = rows_tables(rows)
    for name in ("persons", "institutions"):
        tables[name] = tables[name].drop_duplicates(ignore_index=True)
    tables["accumulators"] = tables["accumulators"].drop_duplicates("psn_no", ignore_index=True)
    return tables


def score_cases(cases: list[dict[str, Any]], tariff: Any = None, accumulators: Any = None) -> Result:
    """Several cases (claims of one or more persons) scored together as one batch."""
    return score_batch(cases_batch(cases), tariff=tariff, accumulators=accumulators)


def fen(values: Any, column: str | None = None) -> np.ndarray:
    """Yuan (a frame's column, a series or an array) as integer fen, for exact comparisons."""
    if column is not None:
        values = values[column]
    return yuan_array_to_fen(np.asarray(values, dtype=np.float64))


# --- a synthetic month, shared by the batch tests --------------------------------------------

SYNTH_CLAIMS, SYNTH_SEED = 600, 7  # with this seed the persons' first claims cover every kind of claim


@pytest.fixture(scope="session")
def synth_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic month of claims as CSV tables, as `yibao synth --format csv` writes them."""
    from yibao.synth import generate

    folder = tmp_path_factory.mktemp("synth")
    write_tables(generate(SYNTH_CLAIMS, SYNTH_SEED), folder, "csv")
    return folder


# --- a scored batch's rows as a what-if case -------------------------------------------------

def _plain(value: Any) -> Any:
    """A typed batch cell as a JSON value: None when empty, dates as ISO text, numpy scalars as
    Python numbers (so the case can be written to a file for `yibao whatif`)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return None if pd.isna(value) else pd.Timestamp(value).date().isoformat()
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    raise TypeError(f"unexpected cell {value!r}")


def _records(frame: pd.DataFrame, table: str, drop: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Rows of a batch table as case objects: list columns as lists, empty cells left out (the
    case model's defaults are what an empty cell means)."""
    kinds = {c.name: c.type for c in TABLES[table]}
    out = []
    for row in frame.to_dict("records"):
        obj = {}
        for column, value in row.items():
            if column in drop:
                continue
            if kinds[column] == "list":
                obj[column] = [x for x in value.split(LIST_SEP) if x]
            elif (plain := _plain(value)) is not None:
                obj[column] = plain
        out.append(obj)
    return out


MATERNITY = {"maternity_item": "item", "delivery": "delivery", "infants": "infants",
             "pregnancy_weeks": "pregnancy_weeks"}  # claims column → case claim.maternity field


def case_from_batch(batch: Batch, mdtrt_id: str) -> dict[str, Any]:
    """The what-if case (docs/cases.md) of one claim of a typed batch, built from the same rows: the
    claim, its lines, its institution, and its person with every status, certification, filing
    and enrolment row.

    Only the claim's own rows go in. What a batch knows from a person's *other* claims (the
    accumulators its scan builds up before this claim, duplicates, split admissions) has no place
    in a case, so a case equals its batch claim for a person's first claim in settlement order;
    the batch must not bring accumulators of its own for the person.
    """
    claim = batch.claims[batch.claims["mdtrt_id"] == mdtrt_id]
    assert len(claim) == 1, mdtrt_id
    psn_no = claim["psn_no"].iat[0]
    assert not (batch.accumulators["psn_no"] == psn_no).any(), f"{psn_no} has accumulators in the batch"

    def of_person(table: str) -> list[dict[str, Any]]:
        frame = getattr(batch, table)
        return _records(frame[frame["psn_no"] == psn_no], table, drop=("psn_no",))

    person = _records(batch.persons[batch.persons["psn_no"] == psn_no], "persons")[0]
    person |= {"statuses": of_person("statuses"), "certifications": of_person("certifications"),
               "filings": of_person("filings")}
    if enrolments := of_person("enrolments"):
        person["enrolments"] = enrolments
    row = _records(claim, "claims", drop=("psn_no",))[0]
    case_claim = {k: v for k, v in row.items() if k not in MATERNITY and k != "institution_id"}
    if maternity := {MATERNITY[k]: v for k, v in row.items() if k in MATERNITY}:
        assert "item" in maternity, f"{mdtrt_id}: maternity details without an item are not a case"
        case_claim["maternity"] = maternity
    institution = batch.institutions[batch.institutions["institution_id"] == row.get("institution_id", "")]
    assert len(institution) or "institution_id" not in row, f"{mdtrt_id}: its institution is not in the batch"
    if len(institution):
        inst = _records(institution, "institutions")[0]
        case_claim["institution"] = {"id": inst.pop("institution_id")} | inst
    lines = batch.lines[batch.lines["mdtrt_id"] == mdtrt_id]
    return {"person": person, "claim": case_claim, "lines": _records(lines, "lines", drop=("mdtrt_id",))}


def kill_while_writing(command: list[str], out: Path, sig: int = signal.SIGKILL,
                       stderr: list[str] | None = None) -> int:
    """Run a `yibao` command writing `out`, held in its write by the test hook of yibao.outputs,
    and send it `sig` (SIGKILL) once its tables are written (before the manifest): its return
    code; what it said on stderr is appended to `stderr`."""
    import subprocess
    import time

    from yibao.outputs import PAUSE

    job = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           env=os.environ | {PAUSE: "60"})
    try:
        deadline = time.monotonic() + 180  # generous: a loaded machine took over 60 s
        while not list(out.parent.glob(f"{out.name}.tmp-*/summary.json")):  # the tables are written
            assert time.monotonic() < deadline and job.poll() is None, "the command never reached its write"
            time.sleep(0.05)
    finally:
        job.send_signal(sig)
        said = job.communicate(timeout=60)[1]
    if stderr is not None:
        stderr.append(said)
    return job.returncode


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
            ) -> tuple[int, str]:
    """`yibao ARGS` in this process, as the console script runs it: (exit code, stderr). Any
    exception but the exit itself propagates, so a traceback fails the test."""
    from yibao.cli.app import main

    monkeypatch.setattr(sys, "argv", ["yibao", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return code, capsys.readouterr().err
