"""List the eligibility rules (规则库) and show one: its basis, what it reads and concludes.

An examiner who reads `rules_fired` or a reason's rule id on a decision looks the rule up here:
the policy text it encodes, the facts it compares, what it concludes and the tariff parameters
it uses with their values in the chosen tariff version.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Optional

import typer
from pydantic import BaseModel
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from yibao.cli.options import choices, quiet_option
from yibao.rules.registry import LISTED, get
from yibao.tariffs.model import Tariff
from yibao.tariffs.registry import resolve

app = typer.Typer(no_args_is_help=True, help=__doc__.splitlines()[0])
def _console() -> Console:
    """A console per command: it reads the terminal width (COLUMNS) when the command runs."""
    return Console(highlight=False, markup=False, soft_wrap=False)

TARIFF_HELP = "tariff ID or ID@VERSION (default: the latest bundled version)"
Area = choices("Area", LISTED)


def _table(*headers: str, title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_header=bool(headers))
    for header in headers or ("", ""):
        table.add_column(header, overflow="fold")
    return table


def parameter(tariff: Tariff, path: str) -> Any:
    """A tariff parameter by its dotted path (`inpatient.out_of_area_cut.unreferred`)."""
    value: Any = tariff
    for name in path.split("."):
        value = value[name] if isinstance(value, dict) else getattr(value, name)
    return value


def _data(value: Any) -> Any:
    """Plain data for display: models as dicts, amounts and ratios as numbers."""
    if isinstance(value, BaseModel):
        return _data(value.model_dump())
    if isinstance(value, dict):
        return {str(k): _data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_data(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _plain(value: Any) -> str:
    return json.dumps(_data(value), ensure_ascii=False, default=str)


@app.command("list")
def list_rules(area: Optional[Area] = typer.Option(None, "--area", help="only one area"),
               quiet: bool = quiet_option("the rule ids, one per line"),
               ) -> None:
    """Every rule: id, title and policy basis, by area."""
    chosen = [(name, rule) for name, rules in LISTED.items() if area in (None, name) for rule in rules]
    if quiet:
        typer.echo("\n".join(rule.id for _, rule in chosen))
        return
    table = _table("id", "area", "title", "basis")
    for name, rule in chosen:
        table.add_row(Text(rule.id), Text(name), Text(rule.title), Text(rule.basis))
    _console().print(table)


@app.command("show")
def show(rule_id: str = typer.Argument(..., help="rule id, e.g. REF-004"),
         tariff: Optional[str] = typer.Option(None, help=TARIFF_HELP),
         quiet: bool = quiet_option("the policy basis, to quote in a notice"),
         ) -> None:
    """One rule: basis, the facts it reads, what it concludes and the tariff parameters it uses."""
    rule = get(rule_id)
    if quiet:
        typer.echo(rule.basis)
        return
    lt = resolve(tariff)
    area = next(name for name, rules in LISTED.items() if rule in rules)
    table = _table(title=f"{rule.id}  {rule.title}")
    for label, value in (("area", area), ("basis", rule.basis), ("reads", ", ".join(rule.reads(lt.tariff))),
                         ("concludes", rule.concludes), ("tariff", lt.key)):
        table.add_row(Text(label), Text(value))
    for path in rule.params:
        table.add_row(Text(f"  {path}"), Text(_plain(parameter(lt.tariff, path))))
    _console().print(table)
