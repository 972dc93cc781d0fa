"""The partitions of a batch scored on a Dask cluster (`yibao score --engine dask`).

A province's month is more than one machine should score in one go; its partitions of persons
(`yibao.partition`) are independent, so each becomes one Dask task: it reads its partition's
split Parquet files, scores them through the one pipeline (`yibao.partition.score_part`) and
writes its own output parts. The client only splits the input, waits, and seals the output
folder with its manifest, so an output is still written whole or not at all. Workers and client
must see the output's parent folder at the same path (shared storage, docs/scale.md).

Without a scheduler address the cluster is a `LocalCluster` on this machine: one single-threaded
worker process per core (the pipeline's arithmetic holds the GIL, so processes, not threads).
"""

from __future__ import annotations

import logging
import os

from yibao.errors import InputError
from yibao.partition import Job, PartStats, Runner, score_part


def dask_runner(scheduler: str | None = None, workers: int | None = None, progress: bool = False) -> Runner:
    """A runner of partitions on the Dask scheduler at `scheduler`, or on a local cluster of
    `workers` processes (default: one per core)."""

    def run(job: Job, partitions: int) -> list[PartStats]:
        from distributed import Client, LocalCluster
        from distributed import progress as show_progress

        logging.getLogger("distributed").setLevel(logging.WARNING)  # its INFO lines would bury ours
        cluster = None
        if scheduler is None:
            cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                   processes=True, host="127.0.0.1", dashboard_address=None)
        try:
            try:
                client = Client(scheduler or cluster)
            except (OSError, TimeoutError) as exc:
                raise InputError(f"cannot reach the Dask scheduler {scheduler}: {str(exc).splitlines()[0]}") from None
            with client:
                futures = client.map(score_part, [job] * partitions, range(partitions), pure=False)
                if progress:
                    show_progress(futures)
                return client.gather(futures)
        finally:
            if cluster is not None:
                cluster.close()

    return run
