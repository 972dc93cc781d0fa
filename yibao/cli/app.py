"""The `yibao` command: one sub-command module per user task, wired here.

Every command turns `InputError` into a one-line message on stderr and exit code 2, so bad input
never shows a traceback. `main` imports only the module of the command it runs (a what-if answer
should not wait for the settlement, synth and tariff-diff code); `app`, the whole command tree,
is built on first use (tests, `yibao --help`, shell completion).

Conventions shared by every command: `-h` is `--help`; `yibao --version`; `-v`/`-vv` on the root
turn on the standard `logging` module's INFO/DEBUG lines on stderr (stage boundaries, files
read and written); choices are listed in the help; every command takes `-q`/`--quiet` (nothing,
or the short answer a script needs).
"""

from __future__ import annotations

import atexit
import errno
import gc
import logging
import os
import sys
from importlib import import_module
from typing import Any

import typer

from yibao import __version__
from yibao.errors import InputError, RunError, path_shown

HELP = "yibao — medical insurance claim rules and calculator (医保审核结算)."
PROG = "yibao"  # also under `python -m yibao`, whose argv[0] is a path

# module name → how it is mounted: a sub-app (group of commands) or a single command; a module
# not written yet is skipped
_COMMANDS = {
    "tariffs": "group",
    "rules": "group",
    "calendar": "group",
    "ledger": "group",
    "synth": "command",
    "whatif": "command",
    "score": "command",
    "settle": "command",
    "simulate": "command",
}


def _version(show: bool) -> None:
    if show:
        typer.echo(f"{PROG} {__version__}")
        raise typer.Exit()


def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="print the version and exit"),
          verbose: int = typer.Option(0, "--verbose", "-v", count=True,
                                      help="log progress on stderr: -v INFO, -vv DEBUG"),
          ) -> None:
    # force: each run (and each test invocation) logs to the stderr of the moment
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(stream=sys.stderr, level=level, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # psycopg warns of the pipeline it ends when a commit fails; the one line of that failure says it all
    logging.getLogger("psycopg").setLevel(logging.ERROR if level > logging.DEBUG else logging.NOTSET)


def _build(only: str | None = None) -> typer.Typer:
    """The command tree: every command, or just `only` (still as a sub-command of `yibao`)."""
    cli = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False, help=HELP,
                      context_settings={"help_option_names": ["-h", "--help"]})
    cli.callback()(_root)
    for name, how in _COMMANDS.items():
        if only is not None and name != only:
            continue
        try:
            module = import_module(f"yibao.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"yibao.cli.{name}":
                continue  # not built yet
            raise
        if how == "group":
            cli.add_typer(module.app, name=name, help=module.__doc__.splitlines()[0])
        else:
            cli.command(name=name, help=module.run.__doc__)(module.run)
    return cli


_APP: typer.Typer | None = None


def __getattr__(name: str) -> Any:
    global _APP
    if name == "app":
        if _APP is None:
            _APP = _build()
        return _APP
    raise AttributeError(name)


COLLECTIONS = (10_000, 50, 100)
"""Thresholds of Python's cyclic garbage collector while a command runs: a full pass rescans every
long-lived object (the modules, numba's, pandas' and the tariff models' own), and at the default
(700, 10, 10) `yibao score` made five of them, 0.4-0.65 s of a 2M-line run. A command's data lives
in NumPy and Arrow buffers, not in reference cycles, so passes are made far less often."""


# At exit the interpreter's last full collections would scan every object left (0.1 s for the
# imports alone, 0.3-0.6 s after a 2M-line score) to free memory the process is giving back
# anyway; frozen, they are skipped. Objects not in cycles are still freed (files closed) as ever.
atexit.register(gc.freeze)


HUGE_PAGES_ENV = "NUMPY_MADVISE_HUGEPAGE"


def huge_pages(enabled: bool) -> bool | None:
    """Set whether NumPy asks the kernel for transparent huge pages for its large arrays; returns
    what it was (None where this NumPy cannot say). Where the kernel compacts memory to find a
    huge page at the fault (THP defrag `madvise`, as on this project's 2-core VMs), every fresh
    large array paid for it: a 10M-line `yibao score` spent 4.2-7.6 s in the kernel with the
    advice, 3.1 s without. Commands turn it off unless `NUMPY_MADVISE_HUGEPAGE` says otherwise."""
    import numpy as np

    setter = getattr(getattr(np, "_core", np).multiarray, "_set_madvise_hugepage", None)
    return None if setter is None else bool(setter(enabled))


ARROW_POOL_ENV = "ARROW_DEFAULT_MEMORY_POOL"
ARROW_POOL = "jemalloc"
"""Arrow's allocator in commands, unless `ARROW_DEFAULT_MEMORY_POOL` says otherwise. Its default,
mimalloc, keeps what Arrow freed and commits its arenas eagerly: a 10M-line `yibao score` peaked
at 3.54 GB with it, 3.25 GB with jemalloc (eight alternating runs, wall times equal within their
noise). Read by Arrow when its pool is first made, so it is set before Arrow is imported; the
forked rules child and Dask's local workers inherit it. Not under a limit of the address space
(`ulimit -v`, RLIMIT_AS): jemalloc's background threads then cannot start, and it said so on
stderr in a loop, 15 million lines in 20 s, until the disk was full or the job killed."""


def _address_space_unlimited() -> bool:
    import resource

    return resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY


M_TOP_PAD, M_MMAP_THRESHOLD = -2, -3  # glibc's mallopt options (malloc.h)
HEAP = {M_TOP_PAD: 512 << 20, M_MMAP_THRESHOLD: 64 << 20}
"""How glibc's malloc, which NumPy allocates with, keeps memory in `yibao score`. By default an
array above its mmap threshold (moving, at most 32 MB) is mapped fresh and unmapped when freed,
and the heap's free top is given back: every page of the next array is faulted in again, about
2 µs a page on this project's VMs (10M lines: 2.4M faults, 4.3 s of system time). Here arrays up
to 64 MB come from the heap, and 512 MB of its free top is kept for the next ones: 10M lines,
twelve alternating pairs, 0.34 s faster on average, 0.5-0.7 s less system time, peak +2%. Set in
one process only: a partitioned run is there to bound memory, and the kept top raised its peak by
a third (10M lines in 4 partitions: 1.41 -> 1.90 GB)."""
HEAP_ENV = ("MALLOC_TOP_PAD_", "MALLOC_MMAP_THRESHOLD_")


def keep_heap() -> None:
    """Set `HEAP` for the rest of the process (glibc cannot say what it was, nor let its threshold
    move again), unless glibc's own variables set it, or the C library is not glibc."""
    import ctypes
    import platform

    if platform.libc_ver()[0] != "glibc" or any(name in os.environ for name in HEAP_ENV):
        return
    libc = ctypes.CDLL(None)
    for option, value in HEAP.items():
        libc.mallopt(option, value)


INTERRUPTED = 130  # the shell's code for Ctrl-C (128 + SIGINT), which Typer returns for a KeyboardInterrupt


def main() -> None:
    thresholds = gc.get_threshold()
    gc.set_threshold(*COLLECTIONS)
    pages = None if HUGE_PAGES_ENV in os.environ else huge_pages(False)
    # Linux wheels of Arrow carry jemalloc
    pool = ARROW_POOL_ENV not in os.environ and sys.platform == "linux" and _address_space_unlimited()
    if pool:
        os.environ[ARROW_POOL_ENV] = ARROW_POOL
    try:
        _main()
    except KeyboardInterrupt:  # Ctrl-C while a command's modules load; Typer answers it later (INTERRUPTED)
        _interrupted()
    except MemoryError:
        _error("out of memory: a smaller batch, or for score --partitions auto (docs/scale.md)")
        sys.exit(1)
    finally:  # main() is also called in-process (tests)
        gc.set_threshold(*thresholds)
        if pages is not None:
            huge_pages(pages)
        if pool:
            del os.environ[ARROW_POOL_ENV]


def _main() -> None:
    words = [arg for arg in sys.argv[1:] if not arg.startswith("-")]  # root options are flags
    command = words[0] if words else ""
    if command in _COMMANDS:
        cli = _build(command)
    elif "--version" in sys.argv[1:]:
        cli = _build("")  # the version needs no command module
    else:
        cli = __getattr__("app")
    try:
        code = cli(prog_name=PROG, standalone_mode=False)
    except InputError as exc:
        _error(str(exc))
        sys.exit(2)
    except RunError as exc:
        _error(str(exc))
        sys.exit(1)
    except typer.Abort:
        sys.exit(1)
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG:
            raise
        # Python 3.11's Path.is_dir(), is_file() and exists() answer False for a path that is not
        # there, but raise for one whose name the system will not look up: every path a command
        # takes (a batch, a score folder, --institutions, a ledger file, a name a manifest lists)
        _error(f"{path_shown(exc.filename, exc)}: cannot be looked up ({exc.strerror})")
        sys.exit(2)
    except Exception as exc:  # a usage error of the command line (Typer's own click exceptions)
        if not hasattr(exc, "format_message") or not hasattr(exc, "exit_code"):
            raise
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError":
            print(exc.format_message())
        else:
            hint = f" (see `{ctx.command_path} -h`)" if ctx is not None else ""
            _error(" ".join(exc.format_message().split()) + hint)
        sys.exit(exc.exit_code)
    if code == INTERRUPTED:
        _interrupted()
    sys.exit(code if isinstance(code, int) else 0)


def _interrupted() -> None:
    _error("interrupted: an output folder or a ledger commit is whole or not there at all; run the command again")
    sys.exit(INTERRUPTED)


def _error(message: str) -> None:
    """One line on stderr: what is wrong, never a traceback or a usage box."""
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True).print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
