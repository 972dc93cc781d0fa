"""A tariff version as a flat list of parameters, and what changed between two versions.

Policy staff read a version as "which numbers apply" and compare two as "which numbers changed";
one walk over the validated model gives both. Every leaf gets a dotted path. List items are
named by a natural key rather than their position — a scheme by insurance type, employee status
and level, a fund by fund, insurance type and statuses, a disease or audit edit by its code — so
reordering a list is not a change; key fields appear in the path only. Bands, tiers and
miscarriage steps stay positional (their order is their meaning). The assistance statuses are
keyed too, but their order is the precedence, so that order is a parameter of its own
(`assistance.statuses(order)`).

Lists of plain values (levels, statuses, material codes) are sets: order does not count.
Metadata (id, version, title, effective period, …) is flagged apart from parameters; YAML
comments are not part of a tariff and never show up.

The catalogue (医保目录) is walked the same way, an item named by its code, so the catalogue's
paths are the ones `--set` edits (`catalogue[code=B-CEFU].price_cap`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple, Sequence, get_args

import numpy as np
import pandas as pd
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from yibao.money import bp_to_ratio, fen_to_yuan
from yibao.tariffs.catalogue import NO_LIMIT, NO_SHARE
from yibao.tariffs.model import (AssistanceStatus, AuditEdit, ChronicDisease, ChronicRatio,
                                 InpatientScheme, OutpatientScheme, Ratio, ResidentCategory, Tariff, TierFund,
                                 Yuan)

METADATA = frozenset({"id", "version", "region", "title", "note", "effective_from", "effective_to",
                      "catalogue"})

# Natural keys of list items; models not listed here are positional.
KEYS: dict[type[BaseModel], tuple[str, ...]] = {
    InpatientScheme: ("insutype", "employee_status", "level", "category"),
    TierFund: ("fund", "insutype", "statuses"),
    AssistanceStatus: ("status",),
    OutpatientScheme: ("insutype", "employee_status", "category"),
    ChronicRatio: ("insutype", "group", "category"),
    ResidentCategory: ("name",),
    ChronicDisease: ("code",),
    AuditEdit: ("code",),
}
ORDERED = frozenset({AssistanceStatus})  # keyed, and the order is a parameter too
IMPLIED = {"category": "any"}
"""Key fields left out of a selector at this value, as an empty list is: the paths of a tariff
without resident categories stay what they were, and a selector naming no category means "any"."""

_YUAN, _RATIO = Yuan.__metadata__[0], Ratio.__metadata__[0]


class _Absent:
    """The value of a parameter a version does not have."""

    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()


class Parameter(NamedTuple):
    path: str
    value: Any  # Decimal, int, str, bool, date, None; list = unordered set, tuple = ordered;
    # a Change's side may also be a dict: a whole section added or removed
    unit: str  # "yuan", "ratio" or ""


class Change(NamedTuple):
    path: str
    old: Any  # ABSENT when the old version lacks the parameter
    new: Any  # ABSENT when the new version lacks it

    @property
    def metadata(self) -> bool:
        return self.path.split(".", 1)[0] in METADATA


def _marks(annotation: Any) -> list[Any]:
    """Every Annotated metadata object inside a (nested) type annotation."""
    found = list(getattr(annotation, "__metadata__", ()))
    for arg in get_args(annotation):
        found += _marks(arg)
    return found


def _unit(field: FieldInfo) -> str:
    marks = list(field.metadata) + _marks(field.annotation)
    if any(m is _YUAN for m in marks):
        return "yuan"
    return "ratio" if any(m is _RATIO for m in marks) else ""


def _holds_models(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_holds_models(arg) for arg in get_args(annotation))


def selector(values: dict[str, Any]) -> str:
    """`[insutype=390,level=2]`: an item named by the values of its key fields, in `KEYS` order, as
    `tariffs show` prints it, `--set` reads it and a tariff file's error names it."""
    parts = []
    for k, v in values.items():
        if k in IMPLIED and v == IMPLIED[k]:
            continue
        if isinstance(v, list):
            if not v:
                continue
            v = "+".join(sorted(map(str, v)))
        parts.append(f"{k}={v}")
    return "[" + ",".join(parts) + "]"


def _walk(value: Any, path: str, unit: str, out: list[Parameter]) -> None:
    if isinstance(value, BaseModel):
        keys = KEYS.get(type(value), ())
        for name, field in type(value).model_fields.items():
            if name in keys:
                continue  # already in the path
            child = getattr(value, name)
            if child is None and name in getattr(value, "OMIT_WHEN_NONE", ()):
                continue
            sub = f"{path}.{name}" if path else name
            if isinstance(child, list) and _holds_models(field.annotation):
                _walk_items(child, sub, out)
            else:
                _walk(child, sub, _unit(field), out)
    elif isinstance(value, dict):
        for k, v in value.items():
            _walk(v, f"{path}.{k}", unit, out)
    else:
        out.append(Parameter(path, value, unit))


def item_path(path: str, items: list[Any], item: Any) -> str:
    """The path of one item of a list, as `tariffs show` prints it and `whatif --set` reads it."""
    keys = KEYS.get(type(item))
    if keys:
        return path + selector({k: getattr(item, k) for k in keys})
    return f"{path}[{next(i for i, x in enumerate(items) if x is item)}]"


def _walk_items(items: list[BaseModel], path: str, out: list[Parameter]) -> None:
    for item in items:
        _walk(item, item_path(path, items, item), "", out)
    if items and type(items[0]) in ORDERED:
        keys = KEYS[type(items[0])]
        order = tuple(",".join(str(getattr(it, k)) for k in keys) for it in items)
        out.append(Parameter(f"{path}(order)", order, ""))


def parameters(tariff: Tariff) -> list[Parameter]:
    """Every parameter and metadata field of a version, in file order."""
    out: list[Parameter] = []
    _walk(tariff, "", "", out)
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return sorted(a, key=str) == sorted(b, key=str)
    return bool(a == b)


def _changes(old: list[Parameter], new: list[Parameter]) -> list[Change]:
    before = {p.path: p.value for p in old}
    after = {p.path: p.value for p in new}
    paths = list(before) + [p for p in after if p not in before]
    changes = [Change(p, before.get(p, ABSENT), after.get(p, ABSENT)) for p in paths]
    return _whole_sections([c for c in changes if not _same(c.old, c.new)], before, after)


def _section(values: dict[str, Any], path: str) -> dict[str, Any] | None:
    """The fields below `path` as the nested mapping a tariff file (and `--set`) writes, or None
    when a field sits in a list (a selector in its path) and the section cannot be one value."""
    section: dict[str, Any] = {}
    for full, value in values.items():
        if not full.startswith(path + "."):
            continue
        if "[" in full or "(" in full:
            return None
        *parents, name = full[len(path) + 1:].split(".")
        place = section
        for parent in parents:
            place = place.setdefault(parent, {})
        place[name] = value
    return section


def _whole_sections(changes: list[Change], before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """An optional section added or removed whole (`maternity.grant`: none in one version, its
    fields in the other) is one change of the section to or from its mapping, not a `none →
    (absent)` row above fields the version without it cannot set."""
    whole: dict[str, Change] = {}
    for c in changes:
        if c.old is None and c.new is ABSENT and (section := _section(after, c.path)):
            whole[c.path] = Change(c.path, None, section)
        elif c.old is ABSENT and c.new is None and (section := _section(before, c.path)):
            whole[c.path] = Change(c.path, section, None)
    inside = tuple(path + "." for path in whole)
    return [whole.get(c.path, c) for c in changes if not (inside and c.path.startswith(inside))]


def diff_tariffs(old: Tariff, new: Tariff) -> list[Change]:
    """What changed from `old` to `new`: metadata first, then parameters, in file order."""
    kept = _changes(parameters(old), parameters(new))
    return [c for c in kept if c.metadata] + [c for c in kept if not c.metadata]


# --- the catalogue (医保目录) ----------------------------------------------------------------

# loaded column → (CSV column, unit, the loaded value meaning "none")
_CATALOGUE_COLUMNS = {
    "name": ("name", "", None), "kind": ("kind", "", None), "level": ("level", "", None),
    "selfpay_bp": ("selfpay_prop", "ratio", None), "price_cap_fen": ("price_cap", "yuan", NO_LIMIT),
    "gender": ("gender", "", ""), "age_from": ("age_from", "", 0), "age_below": ("age_below", "", 999),
    "min_level": ("min_level", "", 0), "inpatient_only": ("inpatient_only", "", None),
    "max_per_day_milli": ("max_per_day", "", NO_LIMIT), "indications": ("indications", "", ""),
    "valid_from": ("valid_from", "", np.datetime64("1900-01-01")),
    "valid_to": ("valid_to", "", np.datetime64("2999-12-31")),
    "person_share_bp": ("person_share", "ratio", NO_SHARE),
}


def _catalogue_value(column: str, value: Any) -> Any:
    """A loaded cell as the policy value it stands for: yuan, a ratio, a day, or None."""
    _, _, none = _CATALOGUE_COLUMNS[column]
    if value is pd.NA or (none is not None and value == none):
        return None
    if column in ("selfpay_bp", "person_share_bp"):
        return bp_to_ratio(int(value))
    if column == "price_cap_fen":
        return fen_to_yuan(int(value))
    if column == "max_per_day_milli":
        return Decimal(int(value)) / 1000
    if isinstance(value, (np.datetime64, pd.Timestamp)):  # a cell of the day columns reads as a Timestamp
        return pd.Timestamp(value).date()
    return value.item() if isinstance(value, np.generic) else value


def catalogue_unit(path: str) -> str:
    """The unit of a catalogue path's column ("yuan", "ratio" or "")."""
    column = path.rsplit(".", 1)[-1]
    return next((unit for name, unit, _ in _CATALOGUE_COLUMNS.values() if name == column), "")


def item_selectors(catalogue: pd.DataFrame) -> list[str]:
    """How an edit picks each item of a loaded catalogue, or of its text (`read_catalogue_text`):
    by code, with its start date where a code repeats."""
    codes = catalogue["code"].tolist()
    repeated = set(catalogue["code"][catalogue["code"].duplicated(keep=False)])
    starts = catalogue["valid_from"].tolist()  # text: as the CSV and --set write it, "" for none
    if pd.api.types.is_datetime64_any_dtype(catalogue["valid_from"]):  # loaded: days, `2025-07-01` as written
        none = _CATALOGUE_COLUMNS["valid_from"][2]
        days = catalogue["valid_from"].to_numpy().astype("datetime64[D]")
        starts = ["" if d == none else str(d) for d in days]
    return [f"[code={c},valid_from={d}]" if c in repeated else f"[code={c}]" for c, d in zip(codes, starts)]


def catalogue_parameters(catalogue: pd.DataFrame, rows: Sequence[int] | None = None) -> list[Parameter]:
    """The items (all, or `rows`) as parameters with the paths `--set` takes:
    `catalogue[code=B-CEFU].price_cap`."""
    selectors = item_selectors(catalogue)
    out = []
    for i in range(len(catalogue)) if rows is None else rows:
        for column, (name, unit, _) in _CATALOGUE_COLUMNS.items():
            value = _catalogue_value(column, catalogue[column].iat[i])
            out.append(Parameter(f"catalogue{selectors[i]}.{name}", value, unit))
    return out


def diff_catalogues(old: pd.DataFrame, new: pd.DataFrame) -> list[Change]:
    """Items added, removed or changed, column by column. Rows are compared by hash first, so a
    catalogue of a hundred thousand items is diffed in a moment."""
    keys_old, keys_new = item_selectors(old), item_selectors(new)
    hash_old = dict(zip(keys_old, pd.util.hash_pandas_object(old, index=False).to_numpy()))
    hash_new = dict(zip(keys_new, pd.util.hash_pandas_object(new, index=False).to_numpy()))
    rows_old = [i for i, k in enumerate(keys_old) if hash_new.get(k) != hash_old[k]]
    rows_new = [i for i, k in enumerate(keys_new) if hash_old.get(k) != hash_new[k]]
    return _changes(catalogue_parameters(old, rows_old), catalogue_parameters(new, rows_new))
