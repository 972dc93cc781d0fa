"""How fast `yibao score` is, measured against the targets of issue 13, in one run.

Why: examiners score a city's month (about ten million lines) at once, and the point of the
vectorized pipeline is that this takes seconds where row-by-row engines take hours. The targets
(issue 13, speed of one partition) are: 10M lines end to end (read, score, write) in ≤ 10 s on
this 2-core machine, scoring alone ≥ 5M lines/s, peak memory ≤ 200 bytes per input line for a
single-partition run (`yibao score` without `--partitions`), and ≥ 25× a plain row-by-row
Python implementation of the same arithmetic and rules; from issue 5 it keeps ≥ 50×
durable_rules posting one event per claim. The baselines are measured in the same run on the
same data, so the ratios compare like with like on whatever machine runs this.

    python benchmarks/score.py [--lines 1000000 10000000] [--keep DIR] [--json FILE]

Method. Every measurement runs in a fresh child process (`python benchmarks/score.py --child
…`), so imports, caches and memory of one measurement never leak into another; peak RSS is the
child's own (`os.wait4`), i.e. the largest resident set of that one process. Wall and CPU
seconds are both reported: on a busy machine wall time suffers, CPU time much less.

- Data: `yibao synth --claims round(lines / 11.8) --seed S` (Parquet), about 11.8 lines per
  claim; the same seed gives the same batch. Rates use the actual line and claim counts.
- End to end: wall and CPU time and peak RSS of `yibao score IN --out OUT --quiet`, interpreter start
  included.
- Scoring alone: the child reads the batch with `yibao.io.read_batch`, then times
  `yibao.pipeline.score_batch` only.
- Row by row: on the first batch, the persons are shuffled with the seed and taken whole until
  the sample holds `--reference-claims` claims, so accumulators and duplicate checks see the
  same history as in the full batch. Facts are derived vectorized (`derive_facts`, not
  counted), then for each claim the durable_rules rule base is evaluated once (not once per
  distinct fact signature as the pipeline does) and `benchmarks/reference.py score_rows` does
  the arithmetic. Counted: the rule evaluations and `score_rows`; not counted: facts and the
  conversion of frames to dicts. The row-by-row rate is thus an upper bound and the ratio a
  lower bound. Its amounts and decisions are compared claim by claim with the end-to-end
  output; disagreements are counted and shown, not hidden.
- durable_rules: a minimal ruleset (three exhaustive rules on kind and med type) created once,
  then one `post` per claim with a few of its fields; claims/s over `--durable-claims` claims
  of the first batch.
- Ratios: vectorized scoring lines/s over row-by-row lines/s; vectorized scoring claims/s over
  durable_rules claims/s. The targets are judged on the largest batch measured.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd

T = TypeVar("T")
LINES_PER_CLAIM = 11.8  # what `yibao synth` generates on average
YIBAO = Path(sys.executable).with_name("yibao")
# issue 13 targets (the durable_rules ratio is issue 5's)
E2E_SECONDS_AT_10M = 10.0
E2E_TARGET_RATE = 10_000_000 / E2E_SECONDS_AT_10M
SCORING_TARGET_RATE = 5_000_000.0
RSS_TARGET_BYTES_PER_LINE = 200.0
REFERENCE_TARGET_RATIO = 25.0
DURABLE_TARGET_RATIO = 50.0
BUSY_LOAD = 0.5  # 1-minute load average before the run above which the machine was not idle


@dataclass(frozen=True)
class Run:
    """A finished child process: its wall and CPU time, peak RSS and what it printed last (JSON)."""

    seconds: float
    cpu_seconds: float
    peak_rss_bytes: int
    report: dict[str, Any]


def run_child(cmd: list[str]) -> Run:
    """Run `cmd`, timing it and taking its own peak RSS from `os.wait4`."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)
        assert proc.stdout is not None
        out = proc.stdout.read()  # until the child exits; it is reaped here, not by Popen
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{err.read().decode(errors='replace')}")
    last = out.decode().strip().splitlines()[-1:]
    report = json.loads(last[0]) if last and last[0].startswith("{") else {}
    # ru_maxrss is in KiB on Linux
    return Run(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, report)


def timed(fn: Callable[..., T], *args: Any) -> tuple[T, float, float]:
    """fn(*args), with the wall and CPU seconds it took."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn(*args)
    return value, time.perf_counter() - wall, time.process_time() - cpu


def child(kind: str, params: dict[str, Any]) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--child", kind, json.dumps(params)]


# --- children: each prints one JSON line; imports are local, each loads only what it measures

def measure_scoring(batch_dir: str) -> dict[str, Any]:
    """Read the batch, then time `score_batch` alone."""
    import gc

    from yibao.io import read_batch
    from yibao.pipeline import score_batch

    batch, rejects = read_batch(Path(batch_dir))
    gc.collect()  # the reader's garbage is not the scoring's cost
    result, seconds, cpu_seconds = timed(score_batch, batch, rejects)
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "claims": len(batch.claims), "lines": len(batch.lines),
            "scored_claims": len(result.claims), "scored_lines": len(result.lines)}


def _plain(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of Python values, None where a cell is empty (NaN, NaT, NA)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def measure_reference(batch_dir: str, scored_dir: str, sample_claims: int, seed: int) -> dict[str, Any]:
    """Rules once per claim and `reference.score_rows` on a sample of whole persons, timed, and
    compared claim by claim with the end-to-end output of the full batch."""
    from dataclasses import replace

    import numpy as np
    import pandas as pd

    import reference
    from yibao.calendar import default_calendar
    from yibao.io import read_batch
    from yibao.pipeline import assign_tariffs
    from yibao.rules.engine import compiled
    from yibao.rules.facts import derive_facts

    batch, _ = read_batch(Path(batch_dir))
    keys, tariffs, ref = assign_tariffs(batch.claims.reset_index(drop=True), None)
    claims = batch.claims.reset_index(drop=True).assign(tariff_key=keys, ref_date=ref)
    claims = claims[claims["tariff_key"] != ""]

    per_person = claims.groupby("psn_no", sort=True).size()
    order = np.random.default_rng(seed).permutation(len(per_person))
    take = order[: int(np.searchsorted(per_person.to_numpy()[order].cumsum(), sample_claims)) + 1]
    sample = claims[claims["psn_no"].isin(per_person.index[take])]
    lines = batch.lines[batch.lines["mdtrt_id"].isin(sample["mdtrt_id"])]

    # the claim context (claim, person, institution level) and facts, prepared untimed
    persons = {p["psn_no"]: p for p in _plain(batch.persons)}
    levels = dict(zip(batch.institutions["institution_id"], batch.institutions["level"].fillna(0).astype(int)))
    lines_by_claim: dict[str, list[dict[str, Any]]] = {}
    for ln in _plain(lines):
        lines_by_claim.setdefault(ln["mdtrt_id"], []).append(ln | {"chrgitm_lv": ln["chrgitm_lv"] or ""})
    jobs = []  # (rule base, facts row, claim dict)
    for key, lt in tariffs.items():
        part = sample[sample["tariff_key"] == key]
        facts = derive_facts(replace(batch, claims=part, lines=lines), lt, default_calendar())
        rules = compiled(lt.tariff)
        for fact, c in zip(facts.to_dict("records"), _plain(part)):
            p = persons[c["psn_no"]]
            setl = c["submitted_date"] if c["settlement_mode"] == "manual" and c["submitted_date"] else c["ref_date"]
            jobs.append((rules, fact, c | {
                "gender": p["gender"], "birth_date": p["birth_date"], "insutype": p["insutype"],
                "employee_status": p["employee_status"] or "", "level": levels.get(c["institution_id"], 0),
                "diagnoses": [d for d in (c["diagnoses"] or "").split(";") if d],
                "year": pd.Timestamp(c["ref_date"]).year, "setl_date": pd.Timestamp(setl)}))

    def conclude_each() -> list[dict[str, Any]]:
        return [c | rules.conclude(fact) for rules, fact, c in jobs]

    rows, rules_seconds, rules_cpu_seconds = timed(conclude_each)
    amounts, arithmetic_seconds, arithmetic_cpu_seconds = timed(reference.score_rows, rows, lines_by_claim, tariffs)
    return {"claims": len(rows), "lines": len(lines), "persons": len(take),
            "rules_seconds": rules_seconds, "rules_cpu_seconds": rules_cpu_seconds,
            "arithmetic_seconds": arithmetic_seconds, "arithmetic_cpu_seconds": arithmetic_cpu_seconds,
            "disagreements": _disagreements(rows, amounts, Path(scored_dir))}


def _disagreements(rows: list[dict[str, Any]], amounts: dict[str, dict[str, int]],
                   scored_dir: Path) -> dict[str, Any]:
    """Where the row-by-row route and the pipeline's output differ, on every amount the
    reference computes and the decision: counts per field, examples (fen, pipeline first)."""
    import numpy as np
    import pandas as pd

    ids = [r["mdtrt_id"] for r in rows]
    fields = list(amounts[ids[0]])
    out = pd.read_parquet(scored_dir / "claims.parquet", columns=["mdtrt_id", "decision", *fields])
    pipeline = out.set_index("mdtrt_id").loc[ids]
    for f in fields:
        pipeline[f] = np.rint(pipeline[f].to_numpy() * 100).astype(np.int64)
    rowwise = pd.DataFrame([amounts[i] for i in ids], index=pipeline.index)[fields]
    partial = [r["rule_decision"] == "approved" and amounts[r["mdtrt_id"]]["violation_amt"] > 0 for r in rows]
    rowwise["decision"] = ["partially_approved" if p else r["rule_decision"] for r, p in zip(rows, partial)]
    differs = rowwise.ne(pipeline[rowwise.columns])
    examples = [{"mdtrt_id": i, "fields": {f: [pipeline.at[i, f], rowwise.at[i, f]] for f in differs.columns[row]}}
                for i, row in zip(differs.index, differs.to_numpy()) if row.any()][:5]
    by_field = differs.sum()
    return {"compared": list(differs.columns), "claims": int(differs.any(axis=1).sum()), "by_field": {f: int(n) for f, n in by_field.items() if n},
            "examples": json.loads(json.dumps(examples, default=int))}  # numpy integers → int


def measure_durable(batch_dir: str, claims: int) -> dict[str, Any]:
    """durable_rules, one event per claim: a ruleset created once, then one `post` per claim."""
    import pyarrow.parquet as pq
    from durable.lang import m, post, ruleset, when_all

    fields = ["mdtrt_id", "kind", "med_type", "settlement_mode"]
    table = pq.read_table(Path(batch_dir) / "claims.parquet", columns=fields).slice(0, claims)
    events = [{f: str(v or "") for f, v in row.items()} for row in table.to_pylist()]
    handled = {"inpatient": 0, "other_claim": 0, "application": 0}

    with ruleset("benchmark"):  # exhaustive: every event is handled by exactly one rule
        @when_all((m.kind == "claim") & (m.med_type == "21"))
        def inpatient(c: Any) -> None:
            handled["inpatient"] += 1

        @when_all((m.kind == "claim") & (m.med_type != "21"))
        def other_claim(c: Any) -> None:
            handled["other_claim"] += 1

        @when_all(m.kind != "claim")
        def application(c: Any) -> None:
            handled["application"] += 1

    post("benchmark", events[0] | {"mdtrt_id": "warm-up"})  # the host compiles the ruleset here
    handled.update(dict.fromkeys(handled, 0))

    def post_each() -> None:
        for event in events:
            post("benchmark", event)

    _, seconds, cpu_seconds = timed(post_each)
    if sum(handled.values()) != len(events):
        raise RuntimeError(f"{len(events)} events posted, {sum(handled.values())} handled")
    return {"claims": len(events), "seconds": seconds, "cpu_seconds": cpu_seconds, "handled": handled}


def run_as_child(kind: str, params: dict[str, Any]) -> None:
    report = {"scoring": measure_scoring, "reference": measure_reference, "durable": measure_durable}[kind](**params)
    print(json.dumps(report), flush=True)
    sys.stderr.flush()
    os._exit(0)  # durable_rules' timer threads must not keep the process alive


# --- the parent ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Size:
    """Measurements of one batch size."""

    target_lines: int
    claims: int
    lines: int
    synth_seconds: float
    e2e_seconds: float
    e2e_cpu_seconds: float
    e2e_peak_rss_bytes: int
    scoring_seconds: float
    scoring_cpu_seconds: float
    scoring_peak_rss_bytes: int

    @property
    def e2e_lines_per_s(self) -> float:
        return self.lines / self.e2e_seconds

    @property
    def rss_bytes_per_line(self) -> float:
        return self.e2e_peak_rss_bytes / self.lines

    @property
    def scoring_lines_per_s(self) -> float:
        return self.lines / self.scoring_seconds

    @property
    def scoring_claims_per_s(self) -> float:
        return self.claims / self.scoring_seconds

    def figures(self) -> dict[str, Any]:
        return asdict(self) | {"e2e_lines_per_s": self.e2e_lines_per_s,
                               "rss_bytes_per_line": self.rss_bytes_per_line,
                               "scoring_lines_per_s": self.scoring_lines_per_s,
                               "scoring_claims_per_s": self.scoring_claims_per_s}


def measure_size(target_lines: int, seed: int, root: Path, console: Console) -> tuple[Size, Path, Path]:
    batch_dir, scored_dir = root / f"batch-{target_lines}", root / f"scored-{target_lines}"
    claims = round(target_lines / LINES_PER_CLAIM)
    console.print(f"[bold]{target_lines:,} lines[/bold]: yibao synth --claims {claims:,} --seed {seed}")
    synth = run_child([str(YIBAO), "synth", "--claims", str(claims), "--seed", str(seed), "--out", str(batch_dir),
                       "--overwrite"])  # a --keep DIR of an earlier run is written again
    console.print(f"  yibao score {batch_dir.name} --out {scored_dir.name} --quiet")
    e2e = run_child([str(YIBAO), "score", str(batch_dir), "--out", str(scored_dir), "--quiet", "--overwrite"])
    console.print("  score_batch alone")
    scoring = run_child(child("scoring", {"batch_dir": str(batch_dir)}))
    r = scoring.report
    if (r["scored_claims"], r["scored_lines"]) != (r["claims"], r["lines"]):
        console.print(f"  [yellow]scored {r['scored_claims']:,} of {r['claims']:,} claims and "
                      f"{r['scored_lines']:,} of {r['lines']:,} lines; the rest are rejects[/yellow]")
    size = Size(target_lines, r["claims"], r["lines"], synth.seconds, e2e.seconds, e2e.cpu_seconds,
                e2e.peak_rss_bytes, r["seconds"], r["cpu_seconds"], scoring.peak_rss_bytes)
    return size, batch_dir, scored_dir


def measure_baselines(batch_dir: Path, scored_dir: Path, args: argparse.Namespace,
                      console: Console) -> tuple[dict[str, Any], dict[str, Any]]:
    """The row-by-row route and durable_rules, one event per claim, on this batch."""
    console.print(f"  row by row on about {args.reference_claims:,} claims")
    reference = run_child(child("reference", {"batch_dir": str(batch_dir), "scored_dir": str(scored_dir),
                                              "sample_claims": args.reference_claims, "seed": args.seed})).report
    seconds = reference["rules_seconds"] + reference["arithmetic_seconds"]
    reference |= {"seconds": seconds,
                  "cpu_seconds": reference["rules_cpu_seconds"] + reference["arithmetic_cpu_seconds"],
                  "lines_per_s": reference["lines"] / seconds, "claims_per_s": reference["claims"] / seconds}
    console.print(f"  durable_rules, one event per claim, {args.durable_claims:,} claims")
    durable = run_child(child("durable", {"batch_dir": str(batch_dir), "claims": args.durable_claims})).report
    durable["claims_per_s"] = durable["claims"] / durable["seconds"]
    return reference, durable


def measure(args: argparse.Namespace, root: Path, console: Console) -> dict[str, Any]:
    """Every batch size, and the baselines on the first batch."""
    load_before = os.getloadavg()[0]
    sizes: list[Size] = []
    for target in args.lines:
        size, batch_dir, scored_dir = measure_size(target, args.seed, root, console)
        if not sizes:
            reference, durable = measure_baselines(batch_dir, scored_dir, args, console)
        sizes.append(size)
        if not args.keep:
            shutil.rmtree(batch_dir)
            shutil.rmtree(scored_dir)
    per_size = [s.figures() | {"vs_row_by_row": s.scoring_lines_per_s / reference["lines_per_s"],
                               "vs_durable_rules": s.scoring_claims_per_s / durable["claims_per_s"]}
                for s in sizes]
    return {"when": dt.datetime.now().isoformat(timespec="seconds"), "commit": _commit(),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "platform": platform.platform(), "load_1min_before": load_before,
                        "load_1min_after": os.getloadavg()[0]},
            "seed": args.seed, "sizes": per_size, "row_by_row": reference, "durable_rules": durable,
            "targets": targets(per_size[-1])}


def targets(largest: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue-13 targets, judged on the largest batch measured."""
    rows = [(f"end to end (10M lines in {E2E_SECONDS_AT_10M:g} s)", "e2e_lines_per_s", E2E_TARGET_RATE, "lines/s", True),
            ("scoring alone", "scoring_lines_per_s", SCORING_TARGET_RATE, "lines/s", True),
            ("peak RSS per input line", "rss_bytes_per_line", RSS_TARGET_BYTES_PER_LINE, "B", False),
            ("vs row by row (lines/s)", "vs_row_by_row", REFERENCE_TARGET_RATIO, "×", True),
            ("vs durable_rules (claims/s)", "vs_durable_rules", DURABLE_TARGET_RATIO, "×", True)]
    return [{"target": name, "figure": key, "measured": largest[key], "required": required, "unit": unit,
             "at_least": at_least, "lines": largest["lines"],
             "pass": largest[key] >= required if at_least else largest[key] <= required}
            for name, key, required, unit, at_least in rows]


def _commit() -> str:
    done = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
                          cwd=Path(__file__).parent)
    return done.stdout.strip()


# --- output --------------------------------------------------------------------------------

def _n(x: float, digits: int = 0) -> str:
    return f"{x:,.{digits}f}"


def print_report(figures: dict[str, Any], console: Console) -> None:
    sizes = figures["sizes"]
    table = Table("", *(f"{s['lines']:,} lines" for s in sizes), title="yibao score", title_justify="left")
    rows = [("claims", lambda s: _n(s["claims"])),
            ("synth (s)", lambda s: _n(s["synth_seconds"], 1)),
            ("end to end (s)", lambda s: _n(s["e2e_seconds"], 1)),
            ("end to end CPU (s)", lambda s: _n(s["e2e_cpu_seconds"], 1)),
            ("end to end (lines/s)", lambda s: _n(s["e2e_lines_per_s"])),
            ("end to end peak RSS (MB)", lambda s: _n(s["e2e_peak_rss_bytes"] / 1e6)),
            ("end to end peak RSS (B/line)", lambda s: _n(s["rss_bytes_per_line"])),
            ("scoring alone (s)", lambda s: _n(s["scoring_seconds"], 1)),
            ("scoring alone CPU (s)", lambda s: _n(s["scoring_cpu_seconds"], 1)),
            ("scoring alone (lines/s)", lambda s: _n(s["scoring_lines_per_s"])),
            ("scoring alone (claims/s)", lambda s: _n(s["scoring_claims_per_s"])),
            ("scoring alone peak RSS (MB)", lambda s: _n(s["scoring_peak_rss_bytes"] / 1e6)),
            ("scoring vs row by row (×)", lambda s: _n(s["vs_row_by_row"], 1)),
            ("scoring vs durable_rules (×)", lambda s: _n(s["vs_durable_rules"], 1))]
    for name, cell in rows:
        table.add_row(name, *(cell(s) for s in sizes))
    console.print(table)

    ref, dr = figures["row_by_row"], figures["durable_rules"]
    base = Table("baseline", "claims", "lines", "s", "CPU s", "lines/s", "claims/s",
                 title=f"baselines, same run, from the {sizes[0]['lines']:,}-line batch", title_justify="left")
    claims, lines = _n(ref["claims"]), _n(ref["lines"])
    base.add_row("rules, once per claim", claims, lines, _n(ref["rules_seconds"], 1),
                 _n(ref["rules_cpu_seconds"], 1), "", _n(ref["claims"] / ref["rules_seconds"]))
    base.add_row("reference.score_rows", claims, lines, _n(ref["arithmetic_seconds"], 1),
                 _n(ref["arithmetic_cpu_seconds"], 1), _n(ref["lines"] / ref["arithmetic_seconds"]), "")
    base.add_row("row by row (both)", claims, lines, _n(ref["seconds"], 1), _n(ref["cpu_seconds"], 1),
                 _n(ref["lines_per_s"]), _n(ref["claims_per_s"]))
    base.add_row("durable_rules, event per claim", _n(dr["claims"]), "", _n(dr["seconds"], 1),
                 _n(dr["cpu_seconds"], 1), "", _n(dr["claims_per_s"]))
    console.print(base)
    bad = ref["disagreements"]
    if bad["claims"]:
        console.print(f"[yellow]row by row vs pipeline: {bad['claims']:,} of {ref['claims']:,} claims differ; "
                      f"by field {bad['by_field']} (amounts in fen)[/yellow]")
        for example in bad["examples"]:
            console.print(f"  {example['mdtrt_id']}: " + ", ".join(
                f"{f} pipeline {a} reference {b}" for f, (a, b) in example["fields"].items()))
    else:
        console.print(f"row by row vs pipeline: all {ref['claims']:,} sampled claims agree on "
                      f"{', '.join(bad['compared'])}")

    verdicts = Table("target", "measured", "required", "on lines", "", title="issue 13 targets", title_justify="left")
    for t in figures["targets"]:
        digits = 1 if t["unit"] == "×" else 0
        verdicts.add_row(t["target"], f"{_n(t['measured'], digits)} {t['unit']}",
                         f"{'≥' if t['at_least'] else '≤'} {_n(t['required'], digits)} {t['unit']}",
                         _n(t["lines"]), "[green]PASS[/green]" if t["pass"] else "[red]MISS[/red]")
    console.print(verdicts)
    machine = figures["machine"]
    console.print(f"[dim]commit {figures['commit']}, {machine['cpus']} CPUs, Python {machine['python']}, "
                  f"seed {figures['seed']}, load average {machine['load_1min_before']:.1f} before, "
                  f"{machine['load_1min_after']:.1f} after[/dim]")
    if machine["load_1min_before"] >= BUSY_LOAD:
        console.print("[yellow]other processes were running: wall times are pessimistic; "
                      "compare the CPU seconds[/yellow]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[1_000_000, 10_000_000],
                        help="batch sizes in lines (default: 1000000 10000000)")
    parser.add_argument("--keep", type=Path, help="generate and score in DIR and keep the files")
    parser.add_argument("--json", type=Path, help="also write the figures to FILE")
    parser.add_argument("--seed", type=int, default=7, help="yibao synth seed and sampling seed (default 7)")
    parser.add_argument("--reference-claims", type=int, default=20_000, help="row-by-row sample (default 20000)")
    parser.add_argument("--durable-claims", type=int, default=50_000, help="durable_rules events (default 50000)")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PARAMS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_as_child(args.child[0], json.loads(args.child[1]))
    if not YIBAO.exists():
        parser.error(f"no {YIBAO}: run with the Python of the environment yibao is installed in (.venv/bin/python)")
    console = Console()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        figures = measure(args, args.keep, console)
    else:
        with tempfile.TemporaryDirectory(prefix="yibao-bench-") as tmp:
            figures = measure(args, Path(tmp), console)
    print_report(figures, console)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
