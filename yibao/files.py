"""The state of a file, as caches of what was read from it are keyed.

A settlement job scores month after month in one long-running process; a file it reads and
caches (a tariff version, its catalogue, the holiday calendar) may be corrected in place
meanwhile, and the next batch must then read it again, as a fresh process would.
"""

from __future__ import annotations

from pathlib import Path

FileState = tuple[int, int]
"""A file's size and modification time (ns): a file rewritten has another."""


def file_state(path: Path) -> FileState:
    """The state of `path` now; an `OSError` when it cannot be looked up."""
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns
