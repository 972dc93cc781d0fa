"""The working-day calendar (工作日): until when it is known, and where its years come from.

Legal due dates count working days, which only the State Council's yearly holiday notice
fixes. A date beyond the known years is estimated by weekends only and its claims are flagged
`calendar_estimated`; this command tells the operator before that happens, so the next year's
notice can be typed into a calendar file (`YIBAO_CALENDAR`, docs/calendar.md) in time.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Optional

import typer

from yibao.calendar import ENV_VAR, default_calendar
from yibao.cli.options import quiet_option
from yibao.errors import InputError

app = typer.Typer(no_args_is_help=True, help=__doc__.splitlines()[0])


@app.command()
def check(until: Optional[str] = typer.Option(
              None, "--until", help="exit 1 unless the calendar is known through this date (YYYY-MM-DD), or if it starts after it"),
          as_json: bool = typer.Option(False, "--json", help="print the answer as JSON"),
          quiet: bool = quiet_option("print nothing; the exit code answers"),
          ) -> None:
    """Say until when working days are known; with --until, exit 1 if not known through that date."""
    calendar = default_calendar()
    user_file = os.environ.get(ENV_VAR, "").strip() or None
    needed = None
    if until is not None:
        try:
            needed = dt.date.fromisoformat(until)
        except ValueError:
            raise InputError(f"--until {until!r}: not a date (YYYY-MM-DD)") from None
    known = needed is None or calendar.first <= needed <= calendar.last
    if as_json and not quiet:
        print(json.dumps({"known_from": str(calendar.first), "known_until": str(calendar.last),
                          "user_file": user_file, "until": until, "known": known}, sort_keys=True))
    elif not quiet:
        source = f"the chinesecalendar package and {user_file}" if user_file else "the chinesecalendar package"
        print(f"working days known {calendar.first} … {calendar.last} (from {source}); dates outside "
              f"are estimated by weekends only and their claims flagged calendar_estimated")
        if needed is not None and needed < calendar.first:
            print(f"not known at {needed}: the calendar starts {calendar.first}")
        elif not known:
            print(f"not known through {needed}: add the State Council's notice for "
                  f"{calendar.last.year + 1} to a calendar file and set {ENV_VAR} (docs/calendar.md)")
    if not known:
        raise typer.Exit(1)
