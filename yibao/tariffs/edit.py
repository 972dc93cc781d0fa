"""What-if edits of tariff parameters (`yibao whatif --set PATH=VALUE`).

Policy staff ask "what if the county-hospital deductible were 400?" without editing files: an
edit names a parameter by its path in the tariff file and gives a YAML value; the edited tariff
is validated like a file, so an impossible edit (a ratio of 1.5) is refused with the path.

Paths are dotted; list items are picked by position or by their fields:
`inpatient.schemes[insutype=390,level=2].deductible=400`,
`catastrophic.funds[0].threshold=10000`, `assistance.annual_cap=80000`.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import yaml
from pydantic import ValidationError

from yibao.errors import InputError
from yibao.tariffs.model import Tariff
from yibao.tariffs.registry import LoadedTariff

_EDIT = re.compile(r"^(?P<path>(?:[^=\[]|\[[^\]]*\])+)=(?P<value>.*)$", re.S)
"""PATH=VALUE split at the first '=' outside a [selector], which may hold '=' itself."""
_SEGMENT = re.compile(r"^(?P<name>[^\[\]]+)(?:\[(?P<sel>[^\]]*)\])?$")


def _select(items: list[Any], selector: str, path: str) -> int:
    if selector.strip().lstrip("-").isdigit():
        i = int(selector)
        if not -len(items) <= i < len(items):
            raise InputError(f"--set {path}: index {i} is outside the list of {len(items)}")
        return i % len(items)
    wanted = dict(part.split("=", 1) for part in selector.split(",") if "=" in part)
    hits = [i for i, item in enumerate(items)
            if isinstance(item, dict) and all(_text(item.get(k)) == v for k, v in wanted.items())]
    if len(hits) > 1:  # `tariffs show` leaves empty lists out of a selector: an omitted list is empty
        hits = [i for i in hits if not any(k not in wanted and isinstance(v, list) and v and not isinstance(v[0], dict)
                                           for k, v in items[i].items())]
    if len(hits) != 1:
        raise InputError(f"--set {path}: [{selector}] matches {len(hits)} items, not one")
    return hits[0]


def _text(value: Any) -> str:
    """A field as a selector names it: a list as its sorted items joined by '+' (`dibao+tekun`)."""
    return "+".join(sorted(map(str, value))) if isinstance(value, list) else str(value)


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    node: Any = data
    segments = path.split(".")
    for depth, segment in enumerate(segments):
        m = _SEGMENT.match(segment)
        if not m:
            raise InputError(f"--set {path}: cannot read '{segment}'")
        name, sel = m["name"], m["sel"]
        key: Any = int(name) if isinstance(node, dict) and name.isdigit() and int(name) in node else name
        if not isinstance(node, dict) or key not in node:
            raise InputError(f"--set {path}: no parameter '{'.'.join(segments[:depth + 1])}'")
        last = depth == len(segments) - 1
        if sel is None:
            if last:
                node[key] = value
            node = node[key]
            continue
        items = node[key]
        if not isinstance(items, list):
            raise InputError(f"--set {path}: '{name}' is not a list")
        i = _select(items, sel, path)
        if last:
            items[i] = value
        node = items[i]


def apply_edits(lt: LoadedTariff, edits: list[str]) -> LoadedTariff:
    """A copy of the tariff with PATH=VALUE edits applied and validated."""
    if not edits:
        return lt
    data = lt.tariff.model_dump(mode="json")
    for edit in edits:
        m = _EDIT.match(edit)
        if not m:
            raise InputError(f"--set {edit}: expected PATH=VALUE")
        _set(data, m["path"].strip(), yaml.safe_load(m["value"]))
    data["version"] = f"{lt.tariff.version}+edited"
    try:
        tariff = Tariff.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise InputError(f"--set: {loc} = {first.get('input')!r}: "
                         f"{first['msg'].removeprefix('Value error, ')}") from None
    return replace(lt, tariff=tariff)
