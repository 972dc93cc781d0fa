"""Peak memory of the client's split (`yibao score --partitions N`, before any partition is
scored), per million lines (issue 13: client memory at province scale).

Why: with a cluster, the client only splits the input and commits; its memory must not grow
with the batch beyond the claim keys it holds to route lines. This runs `yibao.partition.split`
alone in a fresh child process and reports its peak RSS (`ru_maxrss`) and that of a child that
only imports yibao, so the difference is the split's own.

    python benchmarks/split_memory.py BATCH [BATCH …] [--partitions 8] [--code DIR]

`--code DIR`: import yibao from another checkout (its `yibao/` under DIR), to compare a
revision before a change with the one after on the same batches.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CHILD = """
import json, resource, sys, tempfile, time
from pathlib import Path
import pyarrow.parquet as pq
import yibao
from yibao.partition import Runner, input_tables, split
source, n = Path(sys.argv[1]), int(sys.argv[2])
tables = input_tables(source, None)
lines = tables["lines"]
count = pq.ParquetFile(lines).metadata.num_rows if lines.suffix == ".parquet" else sum(1 for _ in open(lines, "rb")) - 1
if n:
    started = time.perf_counter()
    split(tables, n, Path(tempfile.mkdtemp(dir=sys.argv[3])) / "split", Runner())
    seconds = time.perf_counter() - started
else:
    seconds = 0.0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"code": yibao.__file__, "lines": count, "peak_mb": peak, "seconds": round(seconds, 1)}))
"""


def measure(batch: str, partitions: int, code: str | None, scratch: str) -> dict:
    env = os.environ | {"MALLOC_ARENA_MAX": "2"} | ({"PYTHONPATH": code} if code else {})
    # run in the scratch folder: `python -c` puts the working folder first on sys.path, which
    # would shadow --code with a checkout the command happens to be run from
    done = subprocess.run([sys.executable, "-c", CHILD, os.path.abspath(batch), str(partitions), scratch], env=env,
                          capture_output=True, text=True, check=True, cwd=scratch)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("batches", nargs="+")
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--code")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        base = measure(args.batches[0], 0, args.code, scratch)["peak_mb"]
        print(f"yibao from {measure(args.batches[0], 0, args.code, scratch)['code']}; imports only: {base:.0f} MB")
        for batch in args.batches:
            m = measure(batch, args.partitions, args.code, scratch)
            own = m["peak_mb"] - base
            print(f"{batch}: {m['lines']:,} lines, split peak {m['peak_mb']:.0f} MB "
                  f"({own:.0f} MB above imports, {own / m['lines'] * 1e6:.0f} MB per million lines), {m['seconds']} s")


if __name__ == "__main__":
    main()
