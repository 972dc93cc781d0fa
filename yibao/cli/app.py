"""The `yibao` command: one sub-command module per user task, wired here.

Every command turns `InputError` into a one-line message on stderr and exit code 2, so bad input
never shows a traceback.
"""

from __future__ import annotations

import sys
from importlib import import_module

import typer
from rich.console import Console
from rich.markup import escape

from yibao.errors import InputError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="yibao — medical insurance claim rules and calculator (医保审核结算).")

# module name → how it is mounted: a sub-app (group of commands) or a single command
_COMMANDS = {
    "tariffs": "group",
    "rules": "group",
    "synth": "command",
    "whatif": "command",
    "score": "command",
    "settle": "command",
}


def _mount() -> None:
    for name, how in _COMMANDS.items():
        try:
            module = import_module(f"yibao.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"yibao.cli.{name}":
                continue  # not built yet
            raise
        if how == "group":
            app.add_typer(module.app, name=name, help=module.__doc__.splitlines()[0])
        else:
            app.command(name=name, help=module.run.__doc__)(module.run)


_mount()
err_console = Console(stderr=True)


def main() -> None:
    try:
        app()
    except InputError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
