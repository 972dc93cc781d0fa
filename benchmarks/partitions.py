"""Peak memory of `yibao score --partitions N` against a whole run, and a batch 3× larger than
what fits scored under a memory limit (issue 13, part 2).

Why: a whole run needs about 400 bytes per line (benchmarks/score.py), so a city's month needs a
machine of 8 GB and a province's does not fit at all. Scored by partitions of persons, peak memory
should follow the size of a partition, not of the batch.

    python benchmarks/partitions.py [--lines 500000] [--factor 3] [--lines-per-partition 150000]
                                    [--keep DIR] [--json FILE]

Method. Two batches (`yibao synth`, Parquet): S of `--lines` lines and B of `--factor` × as many.
Every run is `yibao score IN --out OUT --quiet [--partitions N]` in a fresh child process with
MALLOC_ARENA_MAX=2 (glibc otherwise reserves 64 MB of address space per thread, which says
nothing about use); peak RSS from `os.wait4`, peak address space (VmPeak) written by the child
when it exits. N is chosen so a partition holds about `--lines-per-partition` lines, so the
partitioned runs of S and B have partitions of one size: their peaks should be alike.

The limit: the address space of the child is capped (RLIMIT_AS) at 110 % of the VmPeak of S
scored whole — S is what "fits". Under that cap B is scored whole (expected to fail) and by
partitions (expected to pass). Both outcomes are printed as they were, not assumed.

With `--dask-workers W`: B is also scored with `--engine dask --scheduler ADDRESS` on a cluster
started as on real machines (`dask scheduler`, `dask worker --nworkers W --nthreads 1`, loopback
only); the time, and each worker's peak RSS (asked of the workers before they are stopped).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

LINES_PER_CLAIM = 11.8  # what `yibao synth` generates on average
YIBAO = Path(sys.executable).with_name("yibao")
HEADROOM = 1.10  # the cap: this much above the address space the whole run of S needed
# the child: the yibao command, writing its VmPeak (from /proc/self/status) to $VMPEAK_FILE at exit
CHILD = ("import atexit, os, re\n"
         "def vm():\n"
         "    peak = re.search(r'VmPeak:\\s+(\\d+)', open('/proc/self/status').read()).group(1)\n"
         "    open(os.environ['VMPEAK_FILE'], 'w').write(peak)\n"
         "atexit.register(vm)\n"
         "from yibao.cli.app import main; main()")


def run(args: list[str], cap_bytes: int | None = None) -> dict[str, Any]:
    """One child: exit code, wall and CPU seconds, peak RSS and peak address space (bytes)."""
    with tempfile.NamedTemporaryFile() as peak, tempfile.TemporaryFile() as err:
        env = os.environ | {"MALLOC_ARENA_MAX": "2", "VMPEAK_FILE": peak.name}

        def limit() -> None:
            if cap_bytes is not None:
                resource.setrlimit(resource.RLIMIT_AS, (cap_bytes, cap_bytes))

        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", CHILD, *args], stdout=subprocess.DEVNULL, stderr=err,
                                env=env, preexec_fn=limit)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        err.seek(0)
        last = (err.read().decode(errors="replace").strip().splitlines() or [""])[-1]
        vm = Path(peak.name).read_text().strip()
    return {"exit": code, "seconds": round(seconds, 1), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_rss_bytes": usage.ru_maxrss * 1024, "peak_vm_bytes": int(vm) * 1024 if vm else None,
            "error": last if code else ""}


def synth(lines: int, seed: int, out: Path) -> int:
    claims = round(lines / LINES_PER_CLAIM)
    subprocess.run([str(YIBAO), "synth", "--claims", str(claims), "--seed", str(seed), "--out", str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    import pyarrow.parquet as pq

    return pq.ParquetFile(out / "lines.parquet").metadata.num_rows


def score(batch: Path, out: Path, partitions: int | None, cap: int | None = None) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    extra = ["--partitions", str(partitions)] if partitions else []
    return run(["score", str(batch), "--out", str(out), "--quiet", *extra], cap) | {"partitions": partitions}


def measure(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    figures: dict[str, Any] = {"runs": []}
    batches = {}
    for name, lines, seed in (("S", args.lines, 7), ("B", args.lines * args.factor, 8)):
        batches[name] = root / name
        figures[f"{name}_lines"] = synth(lines, seed, batches[name])
        print(f"batch {name}: {figures[f'{name}_lines']:,} lines", flush=True)
    for name, path in batches.items():
        n = max(1, round(figures[f"{name}_lines"] / args.lines_per_partition))
        for partitions in (None, n):
            r = score(path, root / "out", partitions) | {"batch": name}
            figures["runs"].append(r)
            print(_line(r, figures[f"{name}_lines"]), flush=True)
    whole_s = next(r for r in figures["runs"] if r["batch"] == "S" and r["partitions"] is None)
    cap = int(whole_s["peak_vm_bytes"] * HEADROOM)
    figures["cap_bytes"] = cap
    print(f"cap (RLIMIT_AS): {cap / 2**20:,.0f} MiB = {HEADROOM:.0%} of S whole's peak address space", flush=True)
    n_b = max(1, round(figures["B_lines"] / args.lines_per_partition))
    for partitions in (None, n_b):
        r = score(batches["B"], root / "out", partitions, cap) | {"batch": "B", "capped": True}
        figures["runs"].append(r)
        print("capped " + _line(r, figures["B_lines"]), flush=True)
    if args.dask_workers:
        figures["dask"] = measure_dask(batches["B"], root / "out", n_b, args.dask_workers, root)
        d = figures["dask"]
        print(f"  B --engine dask, {args.dask_workers} workers, --partitions {n_b}: {d['seconds']:.1f} s "
              f"({figures['B_lines'] / d['seconds']:,.0f} lines/s), exit {d['exit']}; peak RSS per worker "
              + ", ".join(f"{b / 2**20:,.0f} MiB" for b in d["worker_peak_rss_bytes"]), flush=True)
    return figures


def measure_dask(batch: Path, out: Path, partitions: int, workers: int, root: Path) -> dict[str, Any]:
    """`--engine dask --scheduler` on a scheduler and workers started by their own commands."""
    from distributed import Client

    dask = Path(sys.executable).with_name("dask")
    address = root / "scheduler.json"
    address.unlink(missing_ok=True)
    started = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                 "--scheduler-file", str(address)], stderr=subprocess.DEVNULL)]
    try:
        while not address.exists():
            time.sleep(0.2)
        started.append(subprocess.Popen([str(dask), "worker", "--scheduler-file", str(address), "--nworkers",
                                         str(workers), "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
                                        stderr=subprocess.DEVNULL))
        with Client(scheduler_file=str(address)) as client:
            client.wait_for_workers(workers)
            shutil.rmtree(out, ignore_errors=True)
            r = run(["score", str(batch), "--out", str(out), "--quiet", "--engine", "dask", "--scheduler",
                     client.scheduler.address, "--partitions", str(partitions)])
            peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
        return r | {"worker_peak_rss_bytes": sorted(peaks.values())}
    finally:
        for proc in reversed(started):
            proc.terminate()
            proc.wait(timeout=60)


def _line(r: dict[str, Any], lines: int) -> str:
    how = f"--partitions {r['partitions']}" if r["partitions"] else "whole"
    vm = f"{r['peak_vm_bytes'] / 2**20:,.0f} MiB" if r["peak_vm_bytes"] else "?"
    outcome = "ok" if r["exit"] == 0 else f"FAILED (exit {r['exit']}: {r['error'][:120]})"
    return (f"  {r['batch']} {how:>16}: {r['seconds']:6.1f} s, peak RSS {r['peak_rss_bytes'] / 2**20:7,.0f} MiB "
            f"({r['peak_rss_bytes'] / lines:5.0f} B/line), peak VM {vm}: {outcome}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=500_000, help="lines of the batch that fits (default 500,000)")
    parser.add_argument("--factor", type=int, default=3, help="the larger batch, × lines (default 3)")
    parser.add_argument("--lines-per-partition", type=int, default=150_000, help="partition size (default 150,000)")
    parser.add_argument("--dask-workers", type=int, default=0, help="also score B on a Dask cluster of this "
                                                                    "many workers (default: no)")
    parser.add_argument("--keep", type=Path, help="keep the batches and outputs in this folder")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="yibao-partitions-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        figures = measure(args, root)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
