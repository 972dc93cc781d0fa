"""Acceptance tests of batch scoring (issue 5): a synthetic month scored as a batch equals
`yibao whatif` claim by claim; every input claim and line is scored or in `rejects`; two runs
write the same bytes; exit codes 0 (even with rejects) and 2 (unusable input, one line, no
traceback).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import yibao
from conftest import AMOUNT_FIELDS, case_from_batch, decide, fen
from yibao.cli.app import app
from yibao.io import Batch, read_batch
from yibao.pipeline import Result
from yibao.tables import LIST_SEP

SAMPLE = 25  # claims compared with whatif
THROUGH_CLI = 4  # of which this many through `yibao whatif CASE --json`
DECISION_AMOUNTS = AMOUNT_FIELDS + ("declared_fund_pay_sumamt", "maternity_allowance")
LINE_AMOUNTS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
                "inscp_scp_amt", "violation_amt")
OUTPUTS = ("claims", "lines", "accumulators", "violations", "rejects")


@pytest.fixture(scope="module")
def scored(synth_folder: Path) -> tuple[Batch, Result]:
    """The synthetic month as read (to build cases from) and as scored through the Python API."""
    batch, rejects = read_batch(synth_folder)
    assert rejects.empty, rejects.head().to_dict("records")
    return batch, yibao.score(synth_folder)


# --- (a) the batch equals whatif, claim by claim -----------------------------------------------

# What a sample must hold, each as a test on a scored claims row.
ASPECTS = {
    "inpatient": lambda c: c["med_type"] == "21",
    "general outpatient": lambda c: c["med_type"] == "11",
    "chronic": lambda c: c["med_type"] == "14",
    "maternity": lambda c: c["med_type"] in ("51", "52"),
    "application": lambda c: c["kind"] != "claim",
    "manual": lambda c: c["settlement_mode"] == "manual",
    "rejected": lambda c: c["decision"] == "rejected",
    "needs materials": lambda c: c["decision"] == "needs_materials",
    "with violations": lambda c: c["violation_codes"] != "",
    "institution bears a part": lambda c: c["hosp_part_amt"] > 0,
    "assistance": lambda c: c["maf_pay"] > 0,
}


def first_claims(claims: pd.DataFrame) -> pd.DataFrame:
    """Each person's first claim in settlement order (person, year, settlement date, mdtrt_id:
    the order the batch pays claims in), unless flagged as a split admission (that flag compares
    the claim with the person's other stays, which a case does not hold)."""
    ordered = claims.sort_values(["psn_no", "year", "setl_date", "mdtrt_id"], kind="stable")
    first = ordered.drop_duplicates("psn_no")
    return first[first["suspect_codes"] == ""].sort_values("mdtrt_id")


def pick_sample(candidates: pd.DataFrame, size: int) -> list[str]:
    """A deterministic, varied sample: for each aspect the first claim showing it, then one claim
    of each (kind, med type, mode, decision, violations) combination in turn until `size`."""
    chosen: list[str] = []
    for aspect, test in ASPECTS.items():
        hit = candidates[candidates.apply(test, axis=1)]
        assert len(hit), f"no first claim shows {aspect}: choose another seed for the synthetic month"
        if hit["mdtrt_id"].iat[0] not in chosen:
            chosen.append(hit["mdtrt_id"].iat[0])
    kind = (candidates["kind"] + "/" + candidates["med_type"] + "/" + candidates["settlement_mode"] + "/"
            + candidates["decision"] + "/" + (candidates["violation_codes"] != "").astype(str))
    queues = [list(ids) for _, ids in candidates.groupby(kind.to_numpy(), sort=True)["mdtrt_id"]]
    while len(chosen) < size and any(queues):
        for queue in queues:
            while queue and queue[0] in chosen:
                queue.pop(0)
            if queue and len(chosen) < size:
                chosen.append(queue.pop(0))
    return chosen


def _split(text: str) -> list[str]:
    return [x for x in text.split(LIST_SEP) if x]


def differences(obj: dict[str, Any], result: Result, mdtrt_id: str) -> list[str]:
    """Where a whatif decision object and the batch's output rows of the same claim differ."""
    row = result.claims.set_index("mdtrt_id").loc[mdtrt_id]
    want: dict[str, Any] = {
        "decision": row["decision"], "reasons": json.loads(row["reasons"]),
        "missing_materials": list(zip(_split(row["missing_materials"]),
                                      _split(row["missing_material_names"]))),
        "due_date": row["due_date"] or None, "rules_fired": _split(row["rules_fired"]),
        "tariff": row["tariff"], "fund_pool": row["fund_pool"], "pool_prop": float(row["pool_prop"]),
        "violation_codes": _split(row["violation_codes"]), "suspect_codes": _split(row["suspect_codes"]),
    }
    got = obj | {"missing_materials": [(m["code"], m["name"]) for m in obj["missing_materials"]]}
    diffs = [f"{mdtrt_id} {k}: whatif {got[k]!r}, batch {v!r}" for k, v in want.items() if got[k] != v]
    diffs += [f"{mdtrt_id} {f}: whatif {obj[f]}, batch {row[f]}" for f in DECISION_AMOUNTS
              if fen([obj[f]])[0] != fen([row[f]])[0]]
    lines = result.lines[result.lines["mdtrt_id"] == mdtrt_id]
    batch_lines = {ln["line_id"]: ([int(fen([ln[f]])[0]) for f in LINE_AMOUNTS], _split(ln["violations"]))
                   for ln in lines.to_dict("records")}
    whatif_lines = {ln["line_id"]: ([int(fen([ln[f]])[0]) for f in LINE_AMOUNTS], ln["violations"])
                    for ln in obj["lines"]}
    if whatif_lines != batch_lines:
        diffs.append(f"{mdtrt_id} lines: whatif {whatif_lines}, batch {batch_lines}")
    return diffs


def whatif_cli(case: dict[str, Any], folder: Path) -> dict[str, Any]:
    """`yibao whatif CASE --json` on the case written to a file, as policy staff run it."""
    path = folder / f"{case['claim']['mdtrt_id']}.case.json"
    path.write_text(json.dumps(case, ensure_ascii=False), encoding="utf-8")
    run = CliRunner().invoke(app, ["whatif", str(path), "--json"])
    assert run.exit_code == 0, run.output
    return json.loads(run.stdout)


def test_batch_equals_whatif_claim_by_claim(scored: tuple[Batch, Result], tmp_path: Path) -> None:
    """A sample of claims, each rebuilt as a what-if case from the rows the batch read, decided
    by `yibao whatif` (CLI for a few, the Python route for the rest), equals the batch's output
    to the fen: decision, reasons, missing materials, due date, rules fired, every amount, lines.

    Route: each claim is its person's *first* claim in settlement order. The batch pays a
    person's claims in that order, carrying deductibles, caps and tiers from one to the next, and
    checks duplicates against the earlier ones; a case holds one claim and what was used before
    it only as accumulators, which do not carry everything the scan carries (monthly and
    covered-amount caps, an annual inpatient deductible) nor the earlier claims themselves. For
    a first claim the batch's state before it is empty, exactly what a case without
    accumulators means, so the comparison needs nothing the case format cannot say. (That a
    person's later claims are paid as if scored one by one with the accumulators carried over
    is the hypothesis property `test_batch_equals_claims_one_by_one`.)
    """
    batch, result = scored
    sample = pick_sample(first_claims(result.claims), SAMPLE)
    assert len(sample) == SAMPLE
    diffs = []
    for i, mdtrt_id in enumerate(sample):
        case = case_from_batch(batch, mdtrt_id)
        obj = whatif_cli(case, tmp_path) if i < THROUGH_CLI else decide(case)
        diffs += differences(obj, result, mdtrt_id)
    assert not diffs, "\n".join(diffs)


# --- (b) nothing lost ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Broken:
    """A copy of the synthetic month with deliberately broken rows, and the claims they sink."""

    folder: Path
    claims: pd.DataFrame  # the input claims table, as text
    lines: pd.DataFrame  # the input lines table, as text
    sunk: dict[str, str]  # mdtrt_id → why the claim cannot be scored (what was broken)


def _read_text(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def broken(synth_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Broken:
    """Break one cell in each of several rows, each sinking a different claim: a line's date, a
    negative price, an unknown person, a duplicate line id, a claim dated before every tariff
    version, and a person's birth date (which sinks all of that person's claims)."""
    folder = tmp_path_factory.mktemp("broken")
    for path in synth_folder.iterdir():
        shutil.copy(path, folder / path.name)
    claims, lines = _read_text(folder / "claims.csv"), _read_text(folder / "lines.csv")
    persons = _read_text(folder / "persons.csv")
    counts = lines["mdtrt_id"].value_counts()
    with_lines = claims[(claims["kind"] == "claim") & claims["mdtrt_id"].isin(counts.index[counts >= 2])]
    # distinct persons, so that no break sinks another break's claim
    targets = with_lines.drop_duplicates("psn_no").iloc[[3, 10, 20, 30, 40, 50]]
    (bad_date, negative, unknown, duplicate, too_old, person_claim) = targets["mdtrt_id"]
    sunk = {bad_date: "bad date", negative: "negative price", unknown: "unknown person",
            duplicate: "duplicate line id", too_old: "no tariff version"}

    def first_line(mdtrt_id: str) -> int:
        return int(lines.index[lines["mdtrt_id"] == mdtrt_id][0])

    lines.loc[first_line(bad_date), "service_date"] = "2025-02-30"
    lines.loc[first_line(negative), "pric"] = "-3.00"
    lines.loc[first_line(duplicate) + 1, "line_id"] = lines.loc[first_line(duplicate), "line_id"]
    claims.loc[claims["mdtrt_id"] == unknown, "psn_no"] = "NOBODY"
    for column in ("admit_date", "discharge_date", "submitted_date"):
        claims.loc[claims["mdtrt_id"] == too_old, column] = "2019-03-04"
    psn_no = targets["psn_no"].iat[5]
    persons.loc[persons["psn_no"] == psn_no, "birth_date"] = "1970-13-01"
    sunk |= {mdtrt_id: "its person's birth date"
             for mdtrt_id in claims.loc[claims["psn_no"] == psn_no, "mdtrt_id"]}
    assert person_claim in sunk
    for name, frame in (("claims", claims), ("lines", lines), ("persons", persons)):
        frame.to_csv(folder / f"{name}.csv", index=False)
    return Broken(folder, claims, lines, sunk)


def test_every_claim_and_line_is_scored_or_rejected(broken: Broken) -> None:
    """Each input claim and line is either in the output exactly once or has exactly one reject
    row naming it; the rejected ones are exactly the claims the broken rows sink, with all their
    lines, and each reject row's spreadsheet row holds the key it names."""
    result = yibao.score(broken.folder)
    rejects = result.rejects
    claim_rejects, line_rejects = rejects[rejects["table"] == "claims"], rejects[rejects["table"] == "lines"]

    input_ids = Counter(broken.claims["mdtrt_id"])
    assert Counter(result.claims["mdtrt_id"]) + Counter(claim_rejects["key"]) == input_ids
    assert set(claim_rejects["key"]) == set(broken.sunk)
    assert (claim_rejects["key"].to_numpy() == broken.claims["mdtrt_id"].to_numpy()[claim_rejects["row"] - 2]).all()

    keys = broken.lines["mdtrt_id"] + "/" + broken.lines["line_id"]
    scored = result.lines["mdtrt_id"] + "/" + result.lines["line_id"]
    assert Counter(scored) + Counter(line_rejects["key"]) == Counter(keys)
    sunk_rows = set(broken.lines.index[broken.lines["mdtrt_id"].isin(broken.sunk)] + 2)
    assert sorted(line_rejects["row"]) == sorted(sunk_rows)  # each row once
    assert (line_rejects["key"].to_numpy() == keys.to_numpy()[line_rejects["row"] - 2]).all()

    # the broken cells themselves are named by their column
    named = set(zip(rejects["table"], rejects["column"]))
    for where in (("lines", "service_date"), ("lines", "pric"), ("lines", "line_id"),
                  ("claims", "psn_no"), ("persons", "birth_date")):
        assert where in named, where
    too_old = next(k for k, why in broken.sunk.items() if why == "no tariff version")
    assert "no version of sample-county in force" in claim_rejects.set_index("key").at[too_old, "reason"]


# --- (c) the same input gives the same bytes; exit codes ----------------------------------------

def yibao_cli(*args: str, hash_seed: int = 0) -> subprocess.CompletedProcess[str]:
    """The `yibao` command in a fresh process, as a user runs it (its entry point turns input
    errors into exit code 2); `hash_seed` varies Python's string hashing between runs."""
    env = os.environ | {"PYTHONHASHSEED": str(hash_seed)}
    return subprocess.run([sys.executable, "-c", "from yibao.cli.app import main; main()", *args],
                          capture_output=True, text=True, env=env, timeout=300)


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_two_runs_write_identical_bytes(broken: Broken, tmp_path: Path, fmt: str) -> None:
    """Two runs of `yibao score` on the same input, in separate processes with different string
    hashing, write byte-identical tables and summary.json; both exit 0 although the batch has
    rejects."""
    runs = []
    for seed in (1, 2):
        out = tmp_path / f"run{seed}"
        run = yibao_cli("score", str(broken.folder), "--out", str(out), "--format", fmt, "--quiet",
                        hash_seed=seed)
        assert run.returncode == 0, run.stderr
        runs.append(digests(out))
    assert sorted(runs[0]) == sorted([f"{name}.{fmt}" for name in OUTPUTS] + ["summary.json", "manifest.json"])
    assert runs[0] == runs[1]
    rejects = pd.read_csv(tmp_path / "run1" / "rejects.csv") if fmt == "csv" else \
        pd.read_parquet(tmp_path / "run1" / "rejects.parquet")
    assert len(rejects) > 0


def test_unusable_input_exits_2_naming_file_and_column(synth_folder: Path, tmp_path: Path) -> None:
    """A table without a required column cannot be scored at all: one line naming the file and
    the column on stderr, exit code 2, no traceback, nothing written."""
    folder = tmp_path / "in"
    shutil.copytree(synth_folder, folder)
    claims = _read_text(folder / "claims.csv")
    claims.drop(columns="psn_no").to_csv(folder / "claims.csv", index=False)
    run = yibao_cli("score", str(folder), "--out", str(tmp_path / "out"), "--quiet")
    assert run.returncode == 2
    assert "claims.csv" in run.stderr and "psn_no" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert not (tmp_path / "out").exists()
