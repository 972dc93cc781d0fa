"""Shared test helpers: build a case as CASES.md does and decide it through the real pipeline."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from yibao.cases import case_batch, parse_case
from yibao.decision import decision_object
from yibao.pipeline import score_batch

EXAMPLES = Path(__file__).parent / "examples"

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
    """The CASES.md decision object for one case, through the same pipeline as a batch."""
    parsed = parse_case(case)
    result = score_batch(case_batch(parsed), tariff=tariff)
    return decision_object(result, parsed.claim.mdtrt_id)


@pytest.fixture
def decide_case():
    return decide


def score_cases(cases: list[dict[str, Any]], tariff: Any = None, accumulators: Any = None):
    """Several cases (claims of one or more persons) scored together as one batch."""
    import pandas as pd

    from yibao.cases import case_tables
    from yibao.io import normalize

    parts: dict[str, list] = {}
    for case in cases:
        for name, frame in case_tables(parse_case(case)).items():
            parts.setdefault(name, []).append(frame)
    tables = {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}
    for name in ("persons", "institutions"):
        tables[name] = tables[name].drop_duplicates(ignore_index=True)
    tables["accumulators"] = tables["accumulators"].drop_duplicates("psn_no", ignore_index=True)
    batch, rejects = normalize(tables, {name: "test" for name in tables})
    assert rejects.empty, rejects.to_dict("records")
    return score_batch(batch, rejects, tariff=tariff, accumulators=accumulators)
