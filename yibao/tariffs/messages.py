"""A tariff file's first problem as one line a policy officer can act on: the file, the path of
the entry, what is wrong and the fix.

Pydantic reports every consequence of one slip (a misspelt key is both an unknown key and a
missing one); the line shows the cause: an unknown key comes first, with the key it most likely
meant (`did you mean `threshold`?`). YAML reads `390` as a number where the tariff wants the text
"390" (insurance types, quota names): the fix is to quote it.

An entry of a list is named by its selector, the one path grammar of `tariffs show`, `tariffs
diff`, `--set` and the trace (`inpatient.schemes[insutype=390,employee_status=any,level=2]`,
`diff.selector`): `schemes[1]` had to be found by counting entries, and named another one once
they were reordered. An entry whose key fields name none (one missing or not valid, or another
entry with the same) is named by its position, and the line says so and why.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
from pathlib import Path
from typing import Annotated, Any, get_args

from pydantic import BaseModel, TypeAdapter, ValidationError

from yibao.errors import cut_within, quoted, shortened, shortened_path
from yibao.tariffs.diff import KEYS, selector
from yibao.tariffs.model import Tariff
from yibao.yaml_numbers import Digits

_CAUSES = ("extra_forbidden", "missing")
"""Error types shown before others: they explain the errors that follow from them."""


def _path(loc: tuple[Any, ...], typed: dict[tuple[Any, ...], str], data: Any) -> tuple[str, str]:
    """`inpatient.schemes[insutype=390,level=2].bands[1].ratio`, `inpatient.annual_cap.390` (a
    text key): a keyed list's entry by its selector, formed from `data` (what was validated) as
    `tariffs show` forms it, the path a policy officer finds in the file whatever its order; a
    part of the path an edit picked by a selector as the edit wrote it (`typed`, by its loc); a
    long path (a 5,000-character key) cut (`shortened_path`). With it a note for an entry no
    selector names, which is named by its position instead."""
    out, notes, node = "", [], data
    for depth, p in enumerate(loc):
        if p == "[key]":
            continue
        model = _model_at(loc[:depth])
        if isinstance(node, list) and isinstance(p, int) and model is not None and model in KEYS:
            name, why = _entry(node, p, model)
            out += name
            if why:
                notes.append(f"{loc[depth - 1]}[{p}] is named by its position, counted from 0: {why}")
        else:
            out += f"[{p}]" if isinstance(p, int) else f".{p}"
        if tuple(loc[:depth + 1]) in typed:
            out, notes = typed[tuple(loc[:depth + 1])], []
        node = _child(node, p)
    return shortened_path(out.lstrip(".")), "; ".join(notes)


def _child(node: Any, part: Any) -> Any:
    """The value at `part` of a mapping or list as the file gave it; None where there is none."""
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and -len(node) <= part < len(node):
        return node[part]
    return None


def _entry(items: list[Any], i: int, model: type[BaseModel]) -> tuple[str, str]:
    """An entry of a keyed list by its selector (`[insutype=390,level=2]`, `diff.selector`); or
    by its position, with why no selector names it: a key field missing or not valid, or
    another entry with the same."""
    values = _key_values(items[i], model)
    if isinstance(values, str):
        return f"[{i}]", values
    name = selector(values)
    alike = [j for j, item in enumerate(items)
             if j != i and not isinstance(other := _key_values(item, model), str) and selector(other) == name]
    if alike:
        return f"[{i}]", f"[{alike[0]}] has the same {shortened(name)}"
    return name, ""


def _key_values(item: Any, model: type[BaseModel]) -> dict[str, Any] | str:
    """An entry's key fields as the model reads them (`level: "2"` is level 2, a left-out
    `employee_status` is `any`), or why it has none."""
    if not isinstance(item, dict):
        return "it is not a mapping of fields"
    values = {}
    for key in KEYS[model]:
        field = model.model_fields[key]
        if key not in item:
            if field.is_required():
                return f"its {key} is missing"
            values[key] = field.get_default(call_default_factory=True)
            continue
        try:
            values[key] = _reader(model, key).validate_python(item[key])
        except ValidationError:
            return f"its {key} is not valid"
    return values


@functools.cache
def _reader(model: type[BaseModel], key: str) -> TypeAdapter[Any]:
    """What validates one field of `model` on its own, constraints included."""
    field = model.model_fields[key]
    return TypeAdapter(Annotated[field.annotation, field])


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for m in map(_model_in, get_args(annotation)) if m is not None), None)


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model of the value at `loc` (of its items or values, for a list or a mapping of
    models); None where it is no model."""
    model: type[BaseModel] | None = Tariff
    for part in loc:
        if model is not None and isinstance(part, str) and part in model.model_fields:
            model = _model_in(model.model_fields[part].annotation)
    return model


def _keys_at(loc: tuple[Any, ...]) -> list[str]:
    """The keys the model allows where `loc` points (the parent of its last part)."""
    model = _model_at(loc[:-1])
    return list(model.model_fields) if model is not None else []


def _unknown_key(loc: tuple[Any, ...], siblings_missing: list[str]) -> str:
    """The key most like it: among the keys missing beside it first (the misspelt one), then
    among all the keys allowed there."""
    key = str(loc[-1])
    close = (difflib.get_close_matches(key, siblings_missing, n=1, cutoff=0.6)
             or difflib.get_close_matches(key, _keys_at(loc), n=1, cutoff=0.6))
    if close:
        return f"unknown key '{shortened(key)}': did you mean `{close[0]}`?"
    return f"unknown key '{shortened(key)}': the keys here are {', '.join(_keys_at(loc))}"


def _unquoted(error: dict[str, Any]) -> bool:
    """A number where text is expected and its text would do (`390` for `"390"`)."""
    value = error.get("input")
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    expected = str(error.get("ctx", {}).get("expected", ""))
    return error["type"] == "string_type" or f"'{value}'" in expected


def _shown(value: Any) -> str:
    """A value as the file or the edit wrote it, a long one cut (`quoted`): a date read by YAML
    (`--set chronic.deductible=2020-01-01`) as '2020-01-01', not as Python's datetime.date(2020, 1, 1)."""
    return quoted(value.isoformat() if isinstance(value, dt.date) else value)


def describe(path: Path | str, err: ValidationError, data: Any,
             typed: dict[tuple[Any, ...], str] | None = None) -> str:
    """`file: inpatient.schemes[insutype=390,level=1].bands[0].ratio = 1.5: why (the fix)`, an
    entry named as `tariffs show`, `--set` and the trace name it, from `data`, what was validated
    (by position, saying so, where its key fields name none); `path` is `--set` for an edit, and
    `typed` the list items its edits picked, by loc, as they wrote them: the entry is named as the
    edit named it (`inpatient.schemes[insutype=390, level=2].deductible`). A long key, selector or
    value is cut wherever the line names it, in the reason pydantic or a validator worded too
    (`shortened_path`, `quoted`, `cut_within`): a 5,000-character value made a 5,000-character line."""
    errors = err.errors()
    first = min(errors, key=lambda e: _CAUSES.index(e["type"]) if e["type"] in _CAUSES else len(_CAUSES))
    loc, value = tuple(first["loc"]), first.get("input")
    where, note = _path(loc, typed or {}, data)
    if first["type"] == "extra_forbidden":
        parent = loc[:-1]
        missing = [str(e["loc"][-1]) for e in errors if e["type"] == "missing" and tuple(e["loc"][:-1]) == parent]
        text = f"{where}: {_unknown_key(loc, missing)}"
    elif first["type"] == "missing":
        text = f"{where}: missing: add `{loc[-1]}:` here"
    elif _unquoted(first):
        what, digits = "key" if "[key]" in loc else "value", shortened(str(value))
        text = f"{where}: {what} {digits} must be text: write it in quotes, \"{digits}\""
    else:
        msg = cut_within(first["msg"].removeprefix("Value error, "), value)
        if isinstance(value, Digits):  # more digits than Python converts: no field's kind fits
            msg = "a number out of range"
        elif first["type"].startswith("date"):
            msg += " (write a date as YYYY-MM-DD)"
        shown = where if isinstance(value, (dict, list)) else f"{where or '(top)'} = {_shown(value)}"
        text = f"{shown}: {msg}" if shown else msg
    more = (f" ({note})" if note else "") + (f" (+{len(errors) - 1} more)" if len(errors) > 1 else "")
    return f"{path}: {text.lstrip(': ')}{more}"
