"""The partitions of a batch scored on a Dask cluster (`yibao score --engine dask`).

A province's month is more than one machine should score in one go; its partitions of persons
(`yibao.partition`) are independent, so each becomes one Dask task: it reads its partition's
split Parquet files, scores them through the one pipeline (`yibao.partition.score_part`) and
writes its own output parts. The split is tasks too, a slice of each input table each
(`yibao.partition.split_slice`), routed by the claim keys the client reads and sends to every
worker once. The client reads the keys, waits, and seals the output folder with its manifest,
so an output is still written whole or not at all. Workers and client must see the input and
the output's parent folder at the same paths (shared storage, docs/scale.md).

Without a scheduler address the cluster is a `LocalCluster` on this machine: one single-threaded
worker process per core (the pipeline's arithmetic holds the GIL, so processes, not threads).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any, Callable, Sequence

from yibao.errors import InputError, first_line
from yibao.partition import Runner

CONNECT_SECONDS = 60
"""How long the client waits for the scheduler at `--scheduler` to answer as one. A peer that
takes the connection and never answers (the dashboard's port, a web server) held the run
forever: distributed's own connect timeout (30 s) does not cover its handshake."""


def _client(address: str) -> Any:
    """A client of the scheduler at `address`, made on a thread of its own so that a peer that
    never answers is given up after `CONNECT_SECONDS`; any failure is one line."""
    from distributed import Client

    made: dict[str, Any] = {}

    def connect() -> None:
        try:
            made["client"] = Client(address)
        except BaseException as exc:  # ValueError, TypeError, even MemoryError (a proxy's reply read as a frame)
            made["error"] = exc

    thread = threading.Thread(target=connect, name="yibao-dask-connect", daemon=True)
    thread.start()
    thread.join(CONNECT_SECONDS)
    if thread.is_alive():
        raise InputError(f"the Dask scheduler {address} did not answer in {CONNECT_SECONDS} s: give a scheduler's "
                         f"address (tcp://HOST:8786), not its dashboard's")
    if "error" in made:
        raise InputError(f"cannot reach the Dask scheduler {address}: {first_line(made['error'])}")
    return made["client"]


class DaskRunner(Runner):
    """The tasks of a partitioned run on the Dask scheduler at `scheduler`, or on a local cluster
    of `workers` processes (default: one per core), one client for the whole run."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None, progress: bool = False) -> None:
        super().__init__()
        self.scheduler, self.local_workers, self.progress = scheduler, workers, progress
        self.cluster: Any = None
        self.client: Any = None

    def __enter__(self) -> DaskRunner:
        from distributed import Client, LocalCluster

        logging.getLogger("distributed").setLevel(logging.WARNING)  # its INFO lines would bury ours
        if self.scheduler is None:
            self.cluster = LocalCluster(n_workers=self.local_workers or os.cpu_count() or 1, threads_per_worker=1,
                                        processes=True, host="127.0.0.1", dashboard_address=None)
            self.client = Client(self.cluster)
        else:
            self.client = _client(self.scheduler.strip())
        self.workers = max(1, sum(w.get("nthreads", 1) for w in self.client.scheduler_info()["workers"].values()))
        return self

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        self.client = self.cluster = None

    def share(self, value: Any) -> Any:
        return self.client.scatter(value, broadcast=True)

    def map(self, fn: Callable[..., Any], items: Sequence[Any], scoring: bool = False, **shared: Any) -> list[Any]:
        from distributed import progress as show_progress

        futures = self.client.map(fn, list(items), pure=False, **shared)
        if scoring and self.progress:
            show_progress(futures)
        return self.client.gather(futures)
