"""The `yibao` command: one sub-command module per user task, wired here.

Every command turns `InputError` into a one-line message on stderr and exit code 2, so bad input
never shows a traceback. `main` imports only the module of the command it runs (a what-if answer
should not wait for the settlement, synth and tariff-diff code); `app`, the whole command tree,
is built on first use (tests, `yibao --help`).
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import Any

import typer

from yibao.errors import InputError

HELP = "yibao — medical insurance claim rules and calculator (医保审核结算)."

# module name → how it is mounted: a sub-app (group of commands) or a single command
_COMMANDS = {
    "tariffs": "group",
    "rules": "group",
    "synth": "command",
    "whatif": "command",
    "score": "command",
    "settle": "command",
    "simulate": "command",
    "calendar": "group",
}


def _build(only: str | None = None) -> typer.Typer:
    """The command tree: every command, or just `only` (still as a sub-command of `yibao`)."""
    cli = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                      help=HELP)
    if only is not None:
        # a Typer app with a single command would run it without its name; a callback keeps
        # `yibao NAME …` a group, exactly as with every command mounted
        cli.callback()(lambda: None)
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


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    cli = _build(command) if command in _COMMANDS else __getattr__("app")
    try:
        cli()
    except InputError as exc:
        from rich.console import Console
        from rich.markup import escape

        Console(stderr=True).print(f"[red]error:[/red] {escape(str(exc))}", highlight=False,
                                   soft_wrap=True)
        sys.exit(2)
