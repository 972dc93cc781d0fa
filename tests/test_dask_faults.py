"""A Dask run that loses a worker, a cluster without workers, Ctrl-C during a Dask run.

Dask runs a task again when its worker is lost (the nanny restarts it), so every task of a
partitioned run must be safe to run twice: a retry replaces what a killed attempt wrote. A
cluster that cannot run the tasks ends the run in one line naming the cluster, exit 1, with
nothing committed and no output folder. Real `dask.distributed` clusters on the loopback, never
mocks; every cluster is closed, every process started is killed, in a `finally`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any, Callable, Sequence

import pytest

import yibao.cluster
from conftest import run_cli
from test_partitions import clean  # noqa: F401 (a fixture)
from test_ledger import status
from test_partitions_ledger import assert_same_ledger, assert_same_outputs
from yibao.cluster import DaskRunner
from yibao.partition import PAUSE, Job, PartStats, Runner, score_part, score_partitioned

PARTITIONS = 3


class Twice(Runner):
    """Every task run twice, the second after the first wrote its files: what Dask does when a
    worker is lost once a task has written (part of) its outputs."""

    def map(self, fn: Callable[..., Any], items: Sequence[Any], scoring: bool = False, **shared: Any) -> list[Any]:
        super().map(fn, items, **shared)
        return super().map(fn, items, scoring, **shared)


def test_every_task_run_twice_writes_what_one_run_writes(clean: Path, tmp_path: Path) -> None:  # noqa: F811
    """The split, the output parts and the ledger's owed parts all written again: the same rows
    out and the same ledger (a retried partition failed on its owed parts' folder: File exists)."""
    once, twice = str(tmp_path / "once.db"), str(tmp_path / "twice.db")
    score_partitioned(clean, tmp_path / "once", PARTITIONS, ledger=once)
    score_partitioned(clean, tmp_path / "twice", PARTITIONS, run=Twice(), ledger=twice)
    assert_same_outputs(tmp_path / "once", tmp_path / "twice")
    assert_same_ledger(once, twice)


def _killed_after_first_try(k: int, job: Job, marker: str) -> PartStats:
    """Partition `k` scored; partition 0's first attempt then kills its worker process, once its
    output and owed parts are written (`marker`, on the storage the workers share, says it was)."""
    stats = score_part(k, job)
    if k == 0 and not os.path.exists(marker):
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return stats


class LosesAWorker(DaskRunner):
    """A local cluster of two workers, one of which is killed while it scores partition 0."""

    def __init__(self, marker: Path) -> None:
        super().__init__(workers=2)
        self.marker = marker

    def map(self, fn: Callable[..., Any], items: Sequence[Any], scoring: bool = False, **shared: Any) -> list[Any]:
        if scoring:
            fn = partial(_killed_after_first_try, marker=str(self.marker))
        return super().map(fn, items, scoring, **shared)


def test_a_worker_killed_while_scoring_is_replaced_and_the_run_ends_as_a_local_run(
        clean: Path, tmp_path: Path) -> None:  # noqa: F811
    local, dask = str(tmp_path / "local.db"), str(tmp_path / "dask.db")
    score_partitioned(clean, tmp_path / "local", PARTITIONS, ledger=local)
    score_partitioned(clean, tmp_path / "dask", PARTITIONS, run=LosesAWorker(tmp_path / "killed"), ledger=dask)
    assert (tmp_path / "killed").exists()  # partition 0 was scored twice, the first time by a killed worker
    assert_same_outputs(tmp_path / "local", tmp_path / "dask")
    assert_same_ledger(local, dask)


def test_a_scheduler_without_workers_is_named_in_one_line(
        clean: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    """It said "out: could not be written (No valid workers found)" after 30 s, blaming the
    output folder."""
    from distributed import LocalCluster

    monkeypatch.setattr(yibao.cluster, "WORKERS_SECONDS", 2)
    with LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        code, said = run_cli(["score", str(clean), "--out", str(tmp_path / "out"), "--engine", "dask",
                              "--scheduler", address, "--ledger", str(tmp_path / "ledger.db"), "-q"],
                             capsys, monkeypatch)
    assert code == 1, said
    assert said.splitlines() == [f"error: the Dask cluster at {address} has no workers (none for 2 s): start "
                                 f"workers (dask worker {address}) and run the command again"]
    assert not list(tmp_path.glob("out*"))


def test_a_cluster_that_loses_its_only_worker_mid_run_is_named_in_one_line(
        clean: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker (started by its own command, without a nanny to restart it) is killed while it
    holds a partition's task: the task waits for a worker that never comes, so the run stops once
    the cluster has had none for WORKERS_SECONDS, naming it, with nothing committed or written."""
    from distributed import LocalCluster

    monkeypatch.setattr(yibao.cluster, "WORKERS_SECONDS", 2)
    ledger = tmp_path / "ledger.db"
    with LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--no-nanny",
                                   "--nthreads", "1", "--no-dashboard"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, env=os.environ | {PAUSE: "60"})

        written: list[bool] = []

        def kill_once_a_part_is_written() -> None:
            deadline = time.monotonic() + 180  # generous: a loaded machine took over 60 s
            while not list(tmp_path.glob("out.tmp-*/claims/part-*.parquet")) and time.monotonic() < deadline:
                time.sleep(0.05)
            written.append(time.monotonic() < deadline)
            worker.kill()

        killer = threading.Thread(target=kill_once_a_part_is_written)
        killer.start()
        try:
            code, said = run_cli(["score", str(clean), "--out", str(tmp_path / "out"), "--engine", "dask",
                                  "--scheduler", address, "--partitions", "2", "--ledger", str(ledger), "-q"],
                                 capsys, monkeypatch)
        finally:
            killer.join()
            worker.kill()
            worker.wait()
    assert written == [True] and code == 1, said  # killed in its task, a partition's parts written
    assert said.splitlines() == [f"error: the Dask cluster at {address} has no workers (none for 2 s): start "
                                 f"workers (dask worker {address}) and run the command again"]
    assert not list(tmp_path.glob("out*"))
    assert not ledger.exists() or status(str(ledger))["batches"] == []


def test_ctrl_c_during_a_dask_run_says_one_line_and_leaves_no_process(
        clean: Path, tmp_path: Path) -> None:  # noqa: F811
    """Ctrl-C reaches the terminal's whole process group: the client and the local cluster's worker
    processes, held here in their tasks once partition 0's parts are written. It printed 15 to 117
    lines of distributed's tracebacks, from the client and from the workers, above the one line."""
    out = tmp_path / "out"
    command = [sys.executable, "-c", "from yibao.cli.app import main; main()", "score", str(clean), "--out",
               str(out), "--engine", "dask", "--partitions", "2", "-q"]
    job = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           start_new_session=True, env=os.environ | {PAUSE: "60"})
    try:
        deadline = time.monotonic() + 180  # generous: a loaded machine took over 60 s
        while not list(tmp_path.glob("out.tmp-*/claims/part-00000.parquet")):
            assert time.monotonic() < deadline and job.poll() is None, "the run never scored a partition"
            time.sleep(0.05)
        os.killpg(job.pid, signal.SIGINT)
        said = job.communicate(timeout=60)[1]
        deadline = time.monotonic() + 10
        while _group_alive(job.pid):  # the workers, closed by the client
            assert time.monotonic() < deadline, "processes of the run outlived it"
            time.sleep(0.1)
    finally:
        if _group_alive(job.pid):
            os.killpg(job.pid, signal.SIGKILL)
        job.wait()
    assert job.returncode == 130, said
    assert said.splitlines() == ["error: interrupted: an output folder or a ledger commit is whole or not there at "
                                 "all; run the command again"]
    assert not list(tmp_path.glob("out*"))


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True
