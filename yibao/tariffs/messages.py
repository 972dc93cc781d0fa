"""A tariff file's first problem as one line a policy officer can act on: the file, the path of
the entry, what is wrong and the fix.

Pydantic reports every consequence of one slip (a misspelt key is both an unknown key and a
missing one); the line shows the cause: an unknown key comes first, with the key it most likely
meant (`did you mean `threshold`?`). YAML reads `390` as a number where the tariff wants the text
"390" (insurance types, quota names): the fix is to quote it.
"""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from yibao.tariffs.model import Tariff
from yibao.yaml_numbers import Digits

_CAUSES = ("extra_forbidden", "missing")
"""Error types shown before others: they explain the errors that follow from them."""


def _path(loc: tuple[Any, ...], typed: dict[tuple[Any, ...], str]) -> str:
    """`inpatient.schemes[0].bands[1].ratio`, `inpatient.annual_cap.390` (a text key); a part
    of the path an edit picked by a selector as the edit wrote it (`typed`, by its loc)."""
    out = ""
    for depth, p in enumerate(loc):
        if p == "[key]":
            continue
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
        out = typed.get(tuple(loc[:depth + 1]), out)
    return out.lstrip(".")


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for m in map(_model_in, get_args(annotation)) if m is not None), None)


def _keys_at(loc: tuple[Any, ...]) -> list[str]:
    """The keys the model allows where `loc` points (the parent of its last part)."""
    model: type[BaseModel] = Tariff
    for part in loc[:-1]:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is not None:
            model = _model_in(field.annotation) or model
    return list(model.model_fields)


def _unknown_key(loc: tuple[Any, ...], siblings_missing: list[str]) -> str:
    """The key most like it: among the keys missing beside it first (the misspelt one), then
    among all the keys allowed there."""
    key = str(loc[-1])
    close = (difflib.get_close_matches(key, siblings_missing, n=1, cutoff=0.6)
             or difflib.get_close_matches(key, _keys_at(loc), n=1, cutoff=0.6))
    if close:
        return f"unknown key '{key}': did you mean `{close[0]}`?"
    return f"unknown key '{key}': the keys here are {', '.join(_keys_at(loc))}"


def _unquoted(error: dict[str, Any]) -> bool:
    """A number where text is expected and its text would do (`390` for `"390"`)."""
    value = error.get("input")
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    expected = str(error.get("ctx", {}).get("expected", ""))
    return error["type"] == "string_type" or f"'{value}'" in expected


def _shown(value: Any) -> str:
    """A value as the file or the edit wrote it: a date read by YAML (`--set chronic.deductible=2020-01-01`)
    as '2020-01-01', not as Python's datetime.date(2020, 1, 1)."""
    return repr(value.isoformat() if isinstance(value, dt.date) else value)


def describe(path: Path | str, err: ValidationError, typed: dict[tuple[Any, ...], str] | None = None) -> str:
    """`file: inpatient.schemes[0].bands[0].ratio = 1.5: why (the fix)`; `path` is `--set` for an
    edit, and `typed` the list items its edits picked by a selector, by loc, as they wrote them:
    the entry is named as the edit named it (`inpatient.schemes[insutype=390,level=2].deductible`),
    not by a position the user never saw."""
    errors = err.errors()
    first = min(errors, key=lambda e: _CAUSES.index(e["type"]) if e["type"] in _CAUSES else len(_CAUSES))
    loc, value = tuple(first["loc"]), first.get("input")
    where = _path(loc, typed or {})
    if first["type"] == "extra_forbidden":
        parent = loc[:-1]
        missing = [str(e["loc"][-1]) for e in errors if e["type"] == "missing" and tuple(e["loc"][:-1]) == parent]
        text = f"{where}: {_unknown_key(loc, missing)}"
    elif first["type"] == "missing":
        text = f"{where}: missing: add `{loc[-1]}:` here"
    elif _unquoted(first):
        what = "key" if "[key]" in loc else "value"
        text = f"{where}: {what} {value} must be text: write it in quotes, \"{value}\""
    else:
        msg = first["msg"].removeprefix("Value error, ")
        if isinstance(value, Digits):  # more digits than Python converts: no field's kind fits
            msg = "a number out of range"
        elif first["type"].startswith("date"):
            msg += " (write a date as YYYY-MM-DD)"
        shown = where if isinstance(value, (dict, list)) else f"{where or '(top)'} = {_shown(value)}"
        text = f"{shown}: {msg}" if shown else msg
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{path}: {text.lstrip(': ')}{more}"
