"""Compiled loops (numba), cached so that later processes load them instead of compiling.

Where a pass over ten million values would otherwise make NumPy temporaries (each a fresh
allocation the kernel faults in page by page) or hold Python objects, a loop compiled by numba
reads the arrays once and writes in place. `kernel` compiles with the GIL released, so a loop
also runs beside the threads that encode output.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

import numba


def kernel(func: Callable) -> Callable:
    """A compiled loop, cached so that later processes load it instead of compiling (≈1 s).
    numba caches beside the module, else in the user's cache folder, and refuses at import when
    it can write neither (a read-only image, a worker without a home): then a folder of this
    user's own in the temporary folder, and failing that no cache at all (numba loads its cache
    as pickles, so never from a folder someone else could write)."""
    for folder in (numba.config.CACHE_DIR, _own_temporary_folder()):
        if folder is None:
            continue
        numba.config.CACHE_DIR = folder
        try:
            return numba.njit(cache=True, nogil=True)(func)
        except RuntimeError:  # "cannot cache function …: no locator available"
            continue
    return numba.njit(nogil=True)(func)


def _own_temporary_folder() -> str | None:
    """`$TMPDIR/yibao-numba-<uid>`, made if need be, when only this user can write it."""
    uid = os.getuid() if hasattr(os, "getuid") else None
    folder = Path(tempfile.gettempdir()) / f"yibao-numba-{uid}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
    except OSError:
        return None
    own = stat.S_ISDIR(info.st_mode) and (uid is None or info.st_uid == uid)
    return str(folder) if own and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) else None
