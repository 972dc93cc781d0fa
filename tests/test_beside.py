"""The rules concluded in a forked child beside the line pass (yibao.beside): the same answer as
here, the same errors, no process left behind, and computed here where no child may be forked."""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

import yibao.calculator.claims
import yibao.pipeline
import yibao.rules.engine as engine
from yibao.beside import Beside, can_fork
from yibao.errors import InputError
from yibao.io import read_batch

needs_fork = pytest.mark.skipif(not can_fork(), reason="no second core or no fork here")


def _answer() -> pd.DataFrame:
    reasons = [("R1", "C1", "说明"), ("R2", "C2", "")]
    return pd.DataFrame({"decision": ["approved", "rejected"], "reasons": [tuple(reasons), ()]})


@needs_fork
def test_forked_answer_is_the_answer_computed_here() -> None:
    with Beside(_answer) as child:
        assert child.forked
        forked = child.result()
    here = Beside(_answer, fork=False)
    assert not here.forked
    pd.testing.assert_frame_equal(forked, here.result())


def _refuse() -> None:
    raise InputError("must be a date", file="claims.csv", row=7, column="admit_date")


@needs_fork
def test_an_error_in_the_child_is_raised_as_itself() -> None:
    with Beside(_refuse) as child, pytest.raises(InputError) as raised:
        child.result()
    assert str(raised.value) == "claims.csv, row 7, column admit_date: must be a date"
    assert (raised.value.row, raised.value.column) == (7, "admit_date")


@needs_fork
def test_an_answer_that_does_not_pickle_is_an_error_not_a_hang() -> None:
    with Beside(lambda: (lambda: 1)) as child, pytest.raises(RuntimeError, match="could not be sent"):
        child.result()


@needs_fork
def test_an_abandoned_child_is_ended_and_waited_for() -> None:
    started, before = time.monotonic(), set(mp.active_children())
    with pytest.raises(ZeroDivisionError):
        with Beside(lambda: time.sleep(60)):
            1 / 0  # an error beside the child: its answer is never asked for
    assert time.monotonic() - started < 30
    assert set(mp.active_children()) <= before


@needs_fork
def test_a_child_that_dies_is_replaced_by_computing_here() -> None:
    parent = os.getpid()

    def here_only() -> int:
        if os.getpid() != parent:
            os._exit(3)  # killed, as for memory, without an answer
        return 42

    with Beside(here_only) as child:
        assert child.result() == 42


@needs_fork
def test_a_lock_another_thread_holds_does_not_stop_the_child() -> None:
    held, release = threading.Event(), threading.Event()

    def hold() -> None:  # another thread evaluating rules when the fork happens
        with engine._LOCK:
            held.set()
            release.wait()

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait()
    try:
        with Beside(lambda: engine._LOCK.acquire(timeout=10)) as child:
            assert child.result() is True
    finally:
        release.set()
        thread.join()


def _in_daemon(send) -> None:  # type: ignore[no-untyped-def]
    with Beside(_answer) as child:
        send.send((child.forked, child.result()))


@needs_fork
def test_a_daemonic_process_computes_here() -> None:
    # a Dask worker is a daemonic process, which may not have children
    context = mp.get_context("fork")
    recv, send = context.Pipe(duplex=False)
    worker = context.Process(target=_in_daemon, args=(send,), daemon=True)
    worker.start()
    forked, answer = recv.recv()
    worker.join()
    assert not forked
    pd.testing.assert_frame_equal(answer, _answer())


def _score(folder: Path) -> yibao.pipeline.Result:
    batch, rejects = read_batch(folder)
    return yibao.pipeline.score_batch(batch, rejects)


@needs_fork
def test_scores_are_the_same_with_the_rules_beside(synth_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    here = _score(synth_folder)
    forks: list[bool] = []

    class Counted(Beside):  # type: ignore[type-arg]
        def __init__(self, fn, fork=True) -> None:  # type: ignore[no-untyped-def]
            super().__init__(fn, fork)
            forks.append(self.forked)

    monkeypatch.setattr(yibao.pipeline, "Beside", Counted)
    monkeypatch.setattr(yibao.pipeline, "BESIDE_LINES", 0)
    monkeypatch.setattr(yibao.calculator.claims, "BLOCK_LINES", 700)  # many blocks before the conclusions
    beside = _score(synth_folder)
    assert forks == [True]
    for name in ("claims", "lines", "accumulators", "violations", "rejects"):
        pd.testing.assert_frame_equal(getattr(beside, name), getattr(here, name))
