"""The audit edits' compiled pieces against plain Python written from their definitions: the
grouping of lines (a packed sort key, or a lexsort when the keys do not fit one integer) and the
excess of a group taken from its latest lines first."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.calculator.audit import _ordered_groups, _take_excess

small = st.integers(0, 3)
huge = st.integers(-(2**40), 2**40)  # four such keys cannot share one int64: the lexsort route


def _reference_groups(keys: list[tuple[int, ...]], n_group: int) -> list[list[int]]:
    order = sorted(range(len(keys)), key=lambda r: (keys[r], r))
    groups: list[list[int]] = []
    for r in order:
        if groups and keys[groups[-1][0]][:n_group] == keys[r][:n_group]:
            groups[-1].append(r)
        else:
            groups.append([r])
    return groups


@given(st.lists(st.tuples(small, small, small), max_size=30) | st.lists(st.tuples(huge, huge, huge), max_size=30),
       st.integers(1, 2))
def test_groups_are_the_sorted_keys(keys: list[tuple[int, int, int]], n_group: int) -> None:
    columns = [np.array([k[i] for k in keys], dtype=np.int64) for i in range(3)]
    rows = np.arange(len(keys))
    order, starts = _ordered_groups(rows, columns[:n_group], columns[n_group:])
    got = [order[a:b].tolist() for a, b in zip(starts[:-1], starts[1:])]
    assert got == _reference_groups(keys, n_group)


@given(st.lists(st.integers(-2000, 5000), min_size=1, max_size=12), st.integers(0, 10_000))
def test_excess_is_taken_from_the_latest_lines(qty: list[int], limit: int) -> None:
    # by hand: the group's positive quantities above `limit` are taken from the last line back
    want, remaining = [0] * len(qty), sum(max(q, 0) for q in qty) - limit
    for i in reversed(range(len(qty))):
        if qty[i] > 0 and remaining > 0:
            want[i] = min(remaining, qty[i])
            remaining -= qty[i]
    out = np.zeros(len(qty), dtype=np.int64)
    _take_excess(np.arange(len(qty)), np.array([0, len(qty)]), np.array(qty, dtype=np.int64),
                 np.array([limit], dtype=np.int64), out)
    assert out.tolist() == want


def test_a_read_only_install_without_a_home_compiles_into_the_temporary_folder(tmp_path: Path) -> None:
    """numba refuses at import to cache a function when it can write neither beside the module
    nor in the user's cache folder: a read-only image, or a Dask worker without a home. The
    package is mounted read-only here (a mount namespace, as root) to be that install."""
    package = tmp_path / "ro"
    shutil.copytree(Path(__file__).parents[1] / "yibao", package / "yibao",
                    ignore=shutil.ignore_patterns("__pycache__"))
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    run = (f"mount --bind {package} {package} && mount -o remount,bind,ro {package} && "
           f"HOME={package} XDG_CACHE_HOME={package}/.cache TMPDIR={temporary} PYTHONPATH={package} "
           f"{sys.executable} -c 'import numpy as np; from yibao.calculator.audit import _take_excess; "
           "out = np.zeros(2, np.int64); _take_excess(np.arange(2), np.array([0, 2]), np.array([3, 4]), "
           "np.array([5]), out); print(out.tolist())'")
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode:
        pytest.skip("needs a mount namespace (root)")
    done = subprocess.run(["unshare", "-m", "sh", "-c", run], capture_output=True, text=True, cwd=temporary)
    assert done.returncode == 0, done.stderr[-800:]
    assert done.stdout.split() == ["[0,", "2]"]  # 7 units against a limit of 5: 2 taken from the later line
    assert any((temporary / f"yibao-numba-{os.getuid()}").rglob("*.nbi"))


def test_a_temporary_cache_folder_others_can_write_is_not_used(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """numba loads its cache as pickles: a folder another user made, or can write, is refused."""
    from yibao.compiled import _own_temporary_folder

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    mine = _own_temporary_folder()
    assert mine == str(tmp_path / f"yibao-numba-{os.getuid()}")
    os.chmod(mine, 0o777)
    assert _own_temporary_folder() is None
