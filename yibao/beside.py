"""A function computed in a forked child process beside the caller's own work (the second core).

Scoring spends about as long on the rules' conclusions as on the line pass, and the line pass
needs them only late. With a core free, the conclusions are computed in a forked copy of this
process, which sees the batch as it is (nothing copied or pickled on the way in), and only the
result comes back through a pipe. Where a child cannot or should not be forked (one core, a
daemonic process such as a Dask worker, a system other than Linux, a small batch), the very same
function runs here when its result is asked for, so the answer never depends on where it was
computed. An exception in the child is raised here as itself (type and message); a child that
dies without an answer (killed for memory) is replaced by computing here. The child is always
waited for, or ended and waited for, when the `with` block ends: no process is left behind.

Other threads of this process (a progress bar) do not follow into the child; locks they might
hold at the fork are made anew there: logging's by Python itself, the rule engine's by
yibao.rules.engine.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import pickle
import signal
import sys
import traceback
from multiprocessing.connection import Connection
from typing import Any, Callable, Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


def can_fork() -> bool:
    """Whether a forked child would run beside us: on Linux (where forking a process that uses
    numpy, Arrow and durable_rules is safe; macOS frameworks are not fork-safe), in a process that
    may have children (a daemonic one may not), with a second core ours."""
    return sys.platform == "linux" and not mp.current_process().daemon and len(os.sched_getaffinity(0)) > 1


def _run(fn: Callable[[], Any], send: Connection) -> None:  # pragma: no cover - runs in the child
    # Ctrl-C is the parent's to handle: it ends the child (SIGTERM) as it leaves the `with` block
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        outcome: tuple[bool, Any] = (True, fn())
    except BaseException as exc:  # every error goes back to be raised in the parent
        exc.add_note("raised in the forked child:\n" + traceback.format_exc())
        outcome = (False, exc)
    try:
        send.send(outcome)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:  # an answer that does not pickle
        send.send((False, RuntimeError(f"the forked child's answer could not be sent: {exc}")))


class Beside(Generic[T]):
    """`fn()`, started in a forked child when `fork` is asked and possible, else run here by
    `result()`. Use as a context manager so the child never outlives the block."""

    def __init__(self, fn: Callable[[], T], fork: bool = True) -> None:
        self._fn = fn
        self._proc: Any = None
        self._conn: Connection | None = None
        self._exit_code: int | None = None
        if fork and can_fork():
            context = mp.get_context("fork")
            self._conn, send = context.Pipe(duplex=False)
            self._proc = context.Process(target=_run, args=(fn, send), daemon=True)
            self._proc.start()
            send.close()

    @property
    def forked(self) -> bool:
        return self._proc is not None

    def result(self) -> T:
        """The answer: the child's (waited for), else `fn()` computed here. Ask once."""
        if self._conn is None:
            return self._fn()
        try:
            ok, value = self._conn.recv()
        except EOFError:  # the child died without an answer: compute it here instead
            self._close(abandon=False)
            exit_code = self._exit_code
            log.warning("forked child ended without a result (exit code %s); computing here", exit_code)
            return self._fn()
        self._close(abandon=False)
        if ok:
            return value
        raise value

    def _close(self, abandon: bool) -> None:
        if self._proc is None:
            return
        if abandon:  # an error here: the answer is not wanted, and the child may wait to send it
            self._proc.terminate()
        self._proc.join()
        self._exit_code = self._proc.exitcode
        self._proc.close()
        if self._conn is not None:
            self._conn.close()
        self._proc, self._conn = None, None

    def __enter__(self) -> Beside[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close(abandon=True)
