"""The partitions of a batch scored on a Dask cluster (`yibao score --engine dask`).

A province's month is more than one machine should score in one go; its partitions of persons
(`yibao.partition`) are independent, so each becomes one Dask task: it reads its partition's
split Parquet files, scores them through the one pipeline (`yibao.partition.score_part`) and
writes its own output parts. The split is tasks too, a slice of each input table each
(`yibao.partition.split_slice`), routed by the claim keys the client reads and hands to the
cluster as one task's result (`DaskRunner.share`). The client reads the keys, waits, and seals
the output folder with its manifest, so an output is still written whole or not at all. A task
is run again when its worker is lost, so each writes only its own files, whole. Workers and
client must see the input and the output's parent folder at the same paths (shared storage,
docs/scale.md).

Without a scheduler address the cluster is a `LocalCluster` on this machine: one single-threaded
worker process per core (the pipeline's arithmetic holds the GIL, so processes, not threads).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import warnings
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

from yibao.errors import InputError, RunError, first_line
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


WORKERS_SECONDS = 30
"""How long a run waits for a worker when the cluster has none: at the start (workers not started
yet) and when it lost them all (a nanny restarts a killed worker in a few seconds). Tasks waiting
for a worker would wait forever, so the run stops in one line instead."""

POLL_SECONDS = 2
"""How often a run waiting for its tasks looks whether the cluster still has workers."""


def _wait_for_workers(client: Any, scheduler: str | None) -> None:
    """Return once the cluster has a worker, else say in one line that it has none."""
    if client.nthreads():
        return
    try:
        client.wait_for_workers(1, timeout=WORKERS_SECONDS)
    except TimeoutError:
        start = "" if scheduler is None else f": start workers (dask worker {scheduler}) and run the command again"
        raise RunError(f"the Dask cluster {_where(scheduler)} has no workers (none for {WORKERS_SECONDS} s){start}") \
            from None


def _where(scheduler: str | None) -> str:
    return "on this machine" if scheduler is None else f"at {scheduler}"


def _held(value: Any) -> Any:
    """The task whose result is a shared value (`DaskRunner.share`)."""
    return value


@contextmanager
def _interrupts_held() -> Iterator[None]:
    """SIGINT blocked in this thread while a local cluster starts, so that the threads it starts
    and the worker processes they spawn (again when a lost worker is restarted) keep it blocked
    for good: Ctrl-C, sent to the terminal's whole process group, reaches only the client, which
    closes its workers. They printed KeyboardInterrupt tracebacks, and a nanny whose worker died
    of one while starting failed the run. A Ctrl-C meanwhile is the client's once the cluster is
    up: one interrupted in the making was closed at exit by distributed, with tracebacks."""
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()  # when it starts, it unblocks SIGINT in the thread that started it
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


NOISY = ("distributed", "asyncio", "tornado")
"""Loggers silenced for the rest of the process once a Dask run is interrupted: closing a cluster
in the middle of its work makes distributed (and the asyncio tasks it leaves) log tracebacks of
comms it closed itself — 15 to 117 lines above the one line that says the run was interrupted."""


def _quiet() -> None:
    for name in NOISY:  # their child loggers (distributed.nanny, …) have no level of their own
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


class DaskRunner(Runner):
    """The tasks of a partitioned run on the Dask scheduler at `scheduler`, or on a local cluster
    of `workers` processes (default: one per core), one client for the whole run; `done` is called
    after each scored partition (a progress bar).

    A task whose worker is lost is run again by Dask on another worker (or on the worker its nanny
    restarts): every task only reads its inputs and writes its own files whole, replacing what a
    killed attempt left. A cluster left without workers, or a task that killed its workers (Dask
    gives up after three), stops the run in one line (`RunError`): nothing is committed and no
    output folder is written."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None,
                 done: Callable[[], None] = lambda: None) -> None:
        super().__init__(done)
        self.scheduler, self.local_workers = scheduler, workers
        self.cluster: Any = None
        self.client: Any = None

    def __enter__(self) -> DaskRunner:
        from distributed import Client, LocalCluster

        logging.getLogger("distributed").setLevel(logging.WARNING)  # its INFO lines would bury ours
        try:
            if self.scheduler is None:
                # the workers print only what is critical: the client tells what matters of theirs (a
                # task's error, a worker lost); the rest were tracebacks of comms closed as a run was
                # interrupted, or as a peer was killed, from processes that are our children
                with _interrupts_held():
                    self.cluster = LocalCluster(n_workers=self.local_workers or os.cpu_count() or 1,
                                                threads_per_worker=1, processes=True, host="127.0.0.1",
                                                dashboard_address=None, silence_logs=logging.CRITICAL,
                                                # its HTTP routes (health, metrics) on a free port: on 8787, taken
                                                # by another cluster's dashboard, they warned in four lines
                                                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
                self.client = Client(self.cluster)
            else:
                self.scheduler = self.scheduler.strip()
                self.client = _client(self.scheduler)
            _wait_for_workers(self.client, self.scheduler)
            self.workers = max(1, sum(self.client.nthreads().values()))
        except BaseException as exc:
            self.__exit__(type(exc))
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None = None, *exc: object) -> None:
        if kind is not None and issubclass(kind, KeyboardInterrupt):
            _quiet()
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        self.client = self.cluster = None

    def share(self, value: Any) -> Any:
        """`value` as the result of a task: Dask sends it to one worker, the others fetch it from
        there, and a worker lost with it is not the run's end — the task is run again (the
        scheduler keeps the value meanwhile). Scattered data lost with its worker is lost for good,
        and a broadcast scatter hung, or failed in distributed's `replicate`, when a worker died
        while it ran."""
        with warnings.catch_warnings():  # it is one task: the graph is large only by the value
            warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
            return self.client.submit(_held, value, pure=False)

    def map(self, fn: Callable[..., Any], items: Sequence[Any], scoring: bool = False, **shared: Any) -> list[Any]:
        from distributed import wait
        from distributed.comm import CommClosedError
        from distributed.scheduler import KilledWorker
        from distributed.utils import CancelledError  # a future lost with the scheduler, or forgotten

        futures = self.client.map(fn, list(items), pure=False, **shared)
        if scoring:
            for future in futures:
                future.add_done_callback(lambda _: self.done())  # on a thread of Dask's; a rich bar locks
        try:
            while True:
                try:
                    wait(futures, timeout=POLL_SECONDS)
                    break
                except TimeoutError:  # tasks without workers would wait for ever
                    _wait_for_workers(self.client, self.scheduler)
            return self.client.gather(futures)  # a task's own exception (an InputError) raised as a local run raises it
        except (KilledWorker, CancelledError, CommClosedError) as exc:
            raise RunError(f"the Dask cluster {_where(self.scheduler)} failed: {first_line(exc)}") from None
