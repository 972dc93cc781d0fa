"""List, show, validate and compare tariff versions (政策参数).

A county encodes its benefit table as YAML files; these commands let a policy officer see what is
on the search path, read a version as numbers, check a folder before using it, and see what a new
version changes. Errors are `InputError`s: one line naming the file and field, exit code 2.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Optional

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from yibao.cli.options import quiet_option
from yibao.errors import InputError, quoted, shortened
from yibao.tariffs.diff import (ABSENT, Change, Parameter, catalogue_parameters, catalogue_unit, diff_catalogues,
                                diff_tariffs, item_selectors, parameters)
from yibao.tariffs.edit import refused
from yibao.tariffs.registry import (LoadedTariff, parse_tariff_file, region_dirs, resolve, tariff_spec,
                                    validate_region, version_files)

app = typer.Typer(no_args_is_help=True, help=__doc__.splitlines()[0])
NOT_AN_EDIT = "(no --set)"
"""Beside a catalogue value `show --catalogue` prints that `--set` refuses."""


def _console() -> Console:
    """A console per command: it reads the terminal width (COLUMNS) when the command runs."""
    return Console(highlight=False, markup=False)  # paths hold [brackets]: never markup


def _yuan(v: Decimal) -> str:
    return f"{v:,} yuan" if v == v.to_integral_value() else f"{v:,.2f} yuan"


def _ratio(v: Decimal) -> str:
    percent = (v * 100).normalize()
    return f"{v} ({percent:f}%)"


def format_value(value: Any, unit: str) -> str:
    """A parameter as a policy officer reads it: money in yuan, ratios also as percent."""
    if value is ABSENT:
        return "(absent)"
    if value is None:
        return "none"
    if isinstance(value, Decimal) and unit:
        return _yuan(value) if unit == "yuan" else _ratio(value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return " > ".join(map(str, value))
    if isinstance(value, list):
        return ", ".join(map(str, value)) if value else "(none)"
    if isinstance(value, dict):
        return _flow(value)
    return str(value)


def _flow(value: Any) -> str:
    """A section as one YAML flow mapping, the value `whatif --set PATH=…` takes for it."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(_flow, value)) + "]"
    if value is None:
        return "null"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _table(*headers: str, title: str | None = None) -> Table:
    """A plain table whose cells fold rather than cut: paths and values are never truncated."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for header in headers:
        table.add_column(header, overflow="fold")
    return table


def _period(start: dt.date, end: dt.date | None) -> str:
    return f"{start} to {end or 'open'}"


def _catalogue_size(lt: LoadedTariff) -> str:
    counts = lt.catalogue["kind"].value_counts()
    by_kind = ", ".join(f"{k} {counts[k]}" for k in sorted(counts.index))
    return f"{len(lt.catalogue)} items ({by_kind})"


@app.command("list")
def list_(quiet: bool = quiet_option("ID@VERSION of every valid version, one per line")) -> None:
    """Every tariff on the search path (YIBAO_TARIFF_PATH, then the bundled ones), with its versions."""
    table = _table("tariff", "version", "effective", "title", "folder")
    for tariff_id, folder in region_dirs().items():
        for path in version_files(tariff_id):
            try:
                t = parse_tariff_file(path)
            except InputError as exc:
                table.add_row(tariff_id, path.name, Text("invalid", style="red"), str(exc), str(folder))
                continue
            if quiet:
                typer.echo(t.key)
            table.add_row(tariff_id, t.version, _period(t.effective_from, t.effective_to), t.title,
                          str(folder))
    if not quiet:
        _console().print(table)


def _sections(params: list[Parameter]) -> dict[str, list[Parameter]]:
    out: dict[str, list[Parameter]] = {}
    for p in params:
        # the section: the top-level key (a top-level list, resident_categories, shows its items by key)
        head = re.match(r"[^.\[]*", p.path)[0]  # type: ignore[index]
        rest = p.path[len(head):].removeprefix(".")
        head, rest = (head, rest) if rest else ("(version)", p.path)
        out.setdefault(head, []).append(p._replace(path=rest))
    return out


def _version_of(spec: str, version: str | None, option: str) -> LoadedTariff:
    """One side of a diff: `ID`, `ID@VERSION` or a tariff folder, at `version` (default: its
    latest, or the one the spec names)."""
    found = tariff_spec(spec)
    versions = found if isinstance(found, list) else None
    if versions is None:
        tariff_id, _, at = found.partition("@")
        if version and at and version != at:
            raise InputError(f"{shortened(spec)}: conflicts with {option} {shortened(version)}")
        return resolve(f"{tariff_id}@{version or at}" if version or at else tariff_id)
    if version is None:
        return versions[-1]
    hit = [lt for lt in versions if lt.tariff.version == version]
    if not hit:
        raise InputError(f"{shortened(spec)}: has no version {quoted(version)}")
    return hit[0]


@app.command()
def show(tariff: str = typer.Argument(..., help="tariff ID, ID@VERSION or folder"),
         version: Optional[str] = typer.Option(None, "--version", help="version (default: the latest)"),
         quiet: bool = quiet_option("ID@VERSION of the version shown (which one is the latest)"),
         catalogue: bool = typer.Option(False, "--catalogue",
                                        help="also every catalogue item, by the paths --set edits; a value --set "
                                             "refuses is marked (no --set)"),
         ) -> None:
    """Every parameter of one version, section by section, and the catalogue (its size, or with
    --catalogue every item's values by their `--set` paths)."""
    lt = _version_of(tariff, version, "--version")
    if quiet:
        typer.echo(lt.key)
        return
    _console().print(f"{lt.tariff.key}  {lt.tariff.title}  ({lt.path})", style="bold")
    for section, params in _sections(parameters(lt.tariff)).items():
        table = _table("parameter", "value", title=section)
        for p in params:
            table.add_row(p.path, format_value(p.value, p.unit))
        _console().print(table)
    _console().print(f"catalogue {lt.tariff.catalogue}: {_catalogue_size(lt)}")
    if catalogue:
        _console().print(_catalogue_table(lt))


def _catalogue_table(lt: LoadedTariff) -> Table:
    """Every item's values by their `--set` paths, a value `--set` refuses whatever it is marked
    (`edit.refused`: an item's name, a 丙类 item's kind), so that the heading's "edit" is true."""
    table = _table("parameter", "value", title=f"catalogue (edit: --set 'catalogue[code=CODE].COLUMN=VALUE', but "
                                               f"not a value marked {NOT_AN_EDIT}: an item's name says what it "
                                               "is, and a 丙类 item's kind is read by no line: set its level too)")
    levels = dict(zip(item_selectors(lt.catalogue), lt.catalogue["level"]))
    for p in catalogue_parameters(lt.catalogue):
        if p.value is not None:
            item, _, column = p.path.rpartition(".")
            mark = f"  {NOT_AN_EDIT}" if refused(column, levels[item.removeprefix("catalogue")], _flow(p.value)) else ""
            table.add_row(p.path, format_value(p.value, p.unit) + mark)
    return table


def _validation_target(spec: str) -> Path:
    """A folder or file as given; otherwise a tariff on the search path: ID (its folder) or
    ID@VERSION (that version's file)."""
    path = Path(spec)
    if path.exists():
        return path
    tariff_id, _, version = spec.partition("@")
    if tariff_id not in region_dirs():
        known = ", ".join(region_dirs()) or "none"
        raise InputError(f"{shortened(spec)}: no such file or folder, nor a tariff id (known: {known})")
    if not version:
        return region_dirs()[tariff_id]
    for file in version_files(tariff_id):
        if parse_tariff_file(file).version == version:
            return file
    raise InputError(f"tariff {quoted(tariff_id)} has no version {quoted(version)}")


@app.command()
def validate(spec: str = typer.Argument(..., metavar="ID|PATH",
                                        help="a tariff ID or ID@VERSION on the search path, a tariff folder "
                                             "or one YAML version file"),
             quiet: bool = quiet_option("the exit code (0 valid, 2 invalid)"),
             ) -> None:
    """Check every version and its catalogue; one line OK per version, or the first error (exit 2)."""
    for lt in validate_region(_validation_target(spec)):
        t = lt.tariff
        if not quiet:
            _console().print(f"OK {lt.path}: {t.key}, {_period(t.effective_from, t.effective_to)}, "
                             f"catalogue {_catalogue_size(lt)}", soft_wrap=True)


def _change_table(title: str, changes: list[Change], units: dict[str, str]) -> Table:
    table = _table("parameter", "from", "to", title=title)
    for c in changes:
        unit = units.get(c.path, "")
        table.add_row(c.path, format_value(c.old, unit), format_value(c.new, unit))
    return table


@app.command()
def diff(tariff: str = typer.Argument(..., metavar="OLD", help="tariff ID, ID@VERSION or folder"),
         other: Optional[str] = typer.Argument(None, metavar="[NEW]",
                                               help="another region (ID, ID@VERSION or folder) to compare with; "
                                                    "default: OLD itself"),
         from_: Optional[str] = typer.Option(None, "--from", help="the version of OLD (default: its latest)"),
         to: Optional[str] = typer.Option(None, "--to", help="the version of NEW (default: its latest)"),
         quiet: bool = quiet_option("the exit code: 1 when a parameter or catalogue item changed, else 0 "
                                    "(as `diff -q`)"),
         ) -> None:
    """What changed between two versions, or two regions: parameter by parameter, then catalogue
    item by item (metadata listed apart). Every path printed is a `whatif --set` path, but a
    reordered list's and an item's name (docs/tariffs.md)."""
    if other is None:  # the other side is the same tariff, at --to or its latest
        found = tariff_spec(tariff)
        if from_ is None and to is None and not (isinstance(found, str) and "@" in found):
            raise InputError("give --from or --to (a version of the tariff to compare with its latest), or a "
                             "second tariff to compare with")
        other = found.partition("@")[0] if isinstance(found, str) else tariff
    old = _version_of(tariff, from_, "--from")
    new = _version_of(other, to, "--to")
    changes = diff_tariffs(old.tariff, new.tariff)
    items = diff_catalogues(old.catalogue, new.catalogue)
    params = [c for c in changes if not c.metadata]
    if quiet:
        raise typer.Exit(int(bool(params or items)))
    units = {p.path: p.unit for p in parameters(old.tariff) + parameters(new.tariff)}
    units.update({c.path: catalogue_unit(c.path) for c in items})
    _console().print(f"{old.key} → {new.key}", style="bold")
    meta = [c for c in changes if c.metadata]
    if meta:
        _console().print(_change_table("metadata", meta, units))
    if params:
        _console().print(_change_table(f"parameters ({len(params)} changed)", params, units))
    else:
        _console().print("no parameter changes")
    if items:
        changed = len({c.path.rsplit(".", 1)[0] for c in items})
        _console().print(_change_table(f"catalogue ({changed} items changed)", items, units))
    else:
        _console().print("no catalogue changes")
