"""A table made when it is first read, once.

`yibao score` has the lines' Parquet file encoded while the claims are settled, and then never
reads the scored lines' frame: made anyway, its yuan and service-date text were 0.25M fresh
pages at 10M lines, about 0.3 s of a run. Library callers read it as any other table.
"""

from __future__ import annotations

import threading
from typing import Callable

import pandas as pd


class Later:
    """A frame of `rows` rows that `make` makes on the first `frame()` (whichever thread asks
    first; the others wait for it). Its length is known without making it."""

    def __init__(self, rows: int, make: Callable[[], pd.DataFrame]) -> None:
        self._rows = rows
        self._make: Callable[[], pd.DataFrame] | None = make
        self._frame: pd.DataFrame | None = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, frame: pd.DataFrame) -> Later:
        """A frame already made."""
        return cls(len(frame), lambda: frame)

    def __len__(self) -> int:
        return self._rows

    def __reduce__(self) -> tuple[Callable[[pd.DataFrame], Later], tuple[pd.DataFrame]]:
        """Pickled (a `Result` sent or copied) as its frame, made."""
        return Later.of, (self.frame(),)

    def frame(self) -> pd.DataFrame:
        with self._lock:
            if self._frame is None:
                assert self._make is not None
                self._frame, self._make = self._make(), None  # what it holds (the fen columns) goes with it
        return self._frame


def made(table: pd.DataFrame | Later) -> pd.DataFrame:
    """The frame of a table given made or `Later`."""
    return table.frame() if isinstance(table, Later) else table
