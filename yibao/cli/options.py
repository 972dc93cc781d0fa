"""Options several commands share, so they read and behave the same everywhere.

Kept free of heavy imports: every command module imports it, `yibao whatif` included.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Iterable, Optional

import typer


def choices(name: str, values: Iterable[str]) -> type[StrEnum]:
    """An enum of `values`: Typer lists them in the help (`[parquet|csv]`) and refuses others
    with a usage error (exit 2) before the command runs."""
    return StrEnum(name, {value: value for value in values})  # type: ignore[return-value]


def quiet_option(help: str) -> Any:
    """`--quiet`/`-q`, the same flag on every command: nothing, or the short answer a script
    needs; errors still go to stderr and the exit code stays."""
    return typer.Option(False, "--quiet", "-q", help=help)


def print_written(out: Any, started: float) -> None:
    """The last line of a command that wrote a folder: where, and in how long. The path is the
    user's text, never Rich markup (`out[/]` stopped the command after its work was done)."""
    import time

    from rich.console import Console
    from rich.text import Text

    Console().print(Text(f"written to {out} in {time.perf_counter() - started:.1f} s", style="dim"))


def ledger_files(ledger: Optional[str]) -> list[Path]:
    """The SQLite file of a `--ledger`, one of the command's inputs to `check_out` (none for a
    database server): an --out holding it is replaced whole, and with it went the ledger the
    command had just committed to, exit 0."""
    if ledger is None:
        return []
    from yibao.ledger.store import ledger_file

    found = ledger_file(ledger)
    return [found] if found is not None else []
