"""What-if edits of tariff parameters (`yibao whatif --set PATH=VALUE`).

Policy staff ask "what if the county-hospital deductible were 400?" without editing files: an
edit names a parameter by its path in the tariff file and gives a YAML value; the edited tariff
is validated like a file, so an impossible edit (a ratio of 1.5) is refused with the path.

Paths are dotted; list items are picked by position or by their fields:
`inpatient.schemes[insutype=390,level=2].deductible=400`,
`catastrophic.funds[0].threshold=10000`, `assistance.annual_cap=80000`.

The catalogue (医保目录) is edited with the same grammar, its items picked by their columns and
a column of the CSV named after the item: `catalogue[code=B-CEFU].price_cap=2.50`,
`catalogue[code=C-LENS].level=02`, `catalogue[code=S-CT].selfpay_prop=0.05`. The value is the
cell's text as the CSV would hold it (empty or `null`: no value), and the edited catalogue is
validated like the file. `yibao tariffs show ID --catalogue` prints these paths.

What names or chooses a tariff is no parameter: by the time it is edited the version has been
chosen (by the claims' dates, or `--tariff`) and its catalogue file read, and an item is found by
its code; an item's name is read by nothing that pays. Such an edit changed no number, and the
unchanged what-if read as "this does not matter", so it is refused, saying what to do instead. So is an edit of a parameter the edited
tariff does not read: a 甲类 item's pre-self-pay share, a 丙类 item's price cap (the rule a catalogue
file is checked by too, `catalogue.not_read`), the repeat-admission factor of an annual deductible
(`UNREAD`).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Callable

import pandas as pd
import yaml
from pydantic import ValidationError

from yibao.errors import InputError, shortened, shortened_path, words_shortened
from yibao.tariffs.catalogue import Names, not_read, parse_catalogue, read_catalogue_text
from yibao.tariffs.diff import IMPLIED, item_selectors
from yibao.tariffs.messages import describe
from yibao.tariffs.model import Tariff
from yibao.tariffs.registry import LoadedTariff
from yibao.unique_keys import safe_load
from yibao.yaml_numbers import Digits, integer

_EDIT = re.compile(r"^(?P<path>(?:[^=\[]|\[[^\]]*\])+)=(?P<value>.*)$", re.S)
"""PATH=VALUE split at the first '=' outside a [selector], which may hold '=' itself."""
_SEGMENT = re.compile(r"^(?P<name>[^\[\]]+)(?:\[(?P<sel>[^\]]*)\])?$")
_SEGMENTS = re.compile(r"(?:[^.\[]|\[[^\]]*\])+")
"""Dotted segments; a [selector] may hold dots (catalogue codes, dates)."""
CATALOGUE = "catalogue["
ITEM_NOT_TERMS = {
    # a claim line names its item by its code: a new code took the item out of the catalogue
    "code": "says which item this is, not how it pays: edit its columns (level=03 makes it 丙类 self-paid, "
            "valid_to ends it; yibao tariffs show ID --catalogue lists them)",
    # no score, trace, reason or report shows it: only `tariffs show` and the diffs, as a title
    "name": "is text about the item, not how it pays: edit its columns (yibao tariffs show ID --catalogue lists "
            "them)",
}
"""Per catalogue column that says what an item is, not how it pays, why `--set` refuses it."""
_NOT_TERMS: dict[tuple[str, ...], str] = {
    # an edited version keeps its id and version, with `+edited` after it, so that claims, traces
    # and reports say which tariff was edited
    ("id", "version", "region"): "says which tariff this is, not how it pays: choose the tariff with --tariff "
                                 "ID@VERSION (simulate: --reform)",
    ("title", "note"): "is text about the tariff, not how it pays: edit a parameter (yibao tariffs show ID "
                       "lists them)",
    ("effective_from", "effective_to"): "says when the version is in force, not how it pays: the version was "
                                        "chosen before the edit (by each claim's date, or --tariff); try another "
                                        "version with --tariff ID@VERSION, other periods with a tariff folder of "
                                        "your own (--tariff FOLDER, simulate --reform FOLDER)",
    ("catalogue",): "names the catalogue file, not how it pays: edit its items (catalogue[code=X].price_cap=…), "
                    "or give a tariff folder with another catalogue (--tariff FOLDER, simulate --reform FOLDER)",
}
NOT_TERMS: dict[str, str] = {field: why for fields, why in _NOT_TERMS.items() for field in fields}
"""Per metadata field (what `tariffs diff` lists apart from the parameters) why `--set` refuses it."""

UNREAD: dict[str, tuple[Callable[[Tariff], bool], str]] = {
    "inpatient.repeat_admission_factor": (
        lambda t: t.inpatient.deductible_scope == "annual",
        "inpatient.deductible_scope is annual (one deductible a year, used up across admissions): set "
        "inpatient.deductible_scope=per_admission too"),
    "inpatient.child_deductible_factor": (
        lambda t: t.inpatient.child_age_below is None,
        "inpatient.child_age_below is null (no resident is a child here): set inpatient.child_age_below too "
        "(e.g. =14)"),
    "inpatient.out_of_area_cut.unreferred": (
        lambda t: t.inpatient.out_of_area_cut.unreferred_refused,
        "inpatient.out_of_area_cut.unreferred_refused is true (unreferred care is refused, not cut): set "
        "inpatient.out_of_area_cut.unreferred_refused=false too"),
}
"""Parameters read only where another says so, by path: when the edited tariff does not read one
it was given, the what-if showed the baseline's numbers without a word."""


def _refused(path: str, why: str) -> InputError:
    """`--set PATH: why`, a path longer than any tariff's cut (`shortened_path`): a 5,000-character
    key or selector was echoed whole, twice where the reason named it again."""
    return InputError(f"--set {shortened_path(path)}: {why}")


def _select(items: list[Any], selector: str, path: str) -> int:
    if selector.strip().lstrip("-").isdecimal():
        i = integer(selector.strip())  # Digits: more digits than Python converts, outside any list
        if isinstance(i, Digits) or not -len(items) <= i < len(items):
            raise _refused(path, f"index {shortened(selector.strip())} is outside the list of {len(items)}")
        return i % len(items)
    parts = selector.split(",")
    if not all("=" in part for part in parts):
        raise _refused(path, f"[{shortened(selector)}] is neither a position (0, 1, -1) nor field=value pairs")
    # spaces around a name or value, as one types `[insutype=390, level=2]`, name no field
    wanted = {k.strip(): v.strip() for k, v in (part.split("=", 1) for part in parts)}
    hits = [i for i, item in enumerate(items)
            if isinstance(item, dict) and all(_text(item.get(k)) == v for k, v in wanted.items())]
    if len(hits) > 1:  # `tariffs show` leaves empty lists and IMPLIED values out of a selector
        hits = [i for i in hits if not any(k not in wanted and (isinstance(v, list) and v and not isinstance(v[0], dict)
                                                                or k in IMPLIED and v != IMPLIED[k])
                                           for k, v in items[i].items())]
    if len(hits) != 1:
        raise _refused(path, f"[{shortened(selector)}] matches {len(hits)} items, not one")
    return hits[0]


def _text(value: Any) -> str:
    """A field as a selector names it: a list as its sorted items joined by '+' (`dibao+tekun`)."""
    return "+".join(sorted(map(str, value))) if isinstance(value, list) else str(value)


def _segments(path: str) -> list[str]:
    """A path's names, each one: an empty one (`a..b`, a trailing dot, `.`) is a slip, not
    a path to read past."""
    segments = _SEGMENTS.findall(path)
    if not segments or ".".join(segments) != path:
        raise _refused(path, "a path is names joined by single dots, e.g. inpatient.annual_cap")
    return segments


def _refuse_not_terms(path: str, segments: list[str]) -> None:
    """Refuse an edit of what names or chooses the tariff, or names a catalogue item: the
    what-if would show the baseline's numbers (a new code: its lines out of the catalogue)."""
    if segments[0] in NOT_TERMS:
        raise _refused(path, f"{segments[0]} {NOT_TERMS[segments[0]]}")
    if path.startswith(CATALOGUE) and len(segments) == 2 and segments[1] in ITEM_NOT_TERMS:
        raise _refused(path, f"{segments[1]} {ITEM_NOT_TERMS[segments[1]]}")


def refused(column: str, level: str, cell: str) -> bool:
    """Whether `--set` refuses `cell` as the `column` of an item at `level`, whatever the command
    edits but the level: the column says what the item is (`ITEM_NOT_TERMS`), or no line of the
    item's level reads it (`not_read`). `tariffs show --catalogue` marks such a value, as its
    heading calls the paths it prints edit paths."""
    return column in ITEM_NOT_TERMS or not_read(column, level, cell) is not None


def _value(path: str, text: str) -> Any:
    """An edit's value as YAML reads it (a number, a date, a list, a mapping; a key given twice
    is refused, not the last one kept)."""
    try:
        return safe_load(text)
    except (yaml.YAMLError, ValueError, RecursionError) as exc:  # ValueError: a date such as 2025-02-30
        problem = getattr(exc, "problem", None) or str(exc)
        raise _refused(path, f"the value is not YAML ({words_shortened(problem.splitlines()[0])})") from None


def _set(data: dict[str, Any], path: str, value: Any, typed: dict[tuple[Any, ...], str] | None = None) -> Any:
    """Set the value at `path`; returns what holds it (a catalogue edit: the item's row). Into
    `typed`: the loc of each list item the path picks by a selector, and the path up to it."""
    node: Any = data
    segments = _segments(path)
    loc: tuple[Any, ...] = ()
    for depth, segment in enumerate(segments):
        m = _SEGMENT.match(segment)
        if not m:
            raise _refused(path, f"cannot read '{shortened(segment)}'")
        name, sel = m["name"], m["sel"]
        number = integer(name) if isinstance(node, dict) and name.isdecimal() else None
        key: Any = number if isinstance(number, int) and number in node else name
        if not isinstance(node, dict) or key not in node:
            raise _refused(path, f"no parameter '{shortened_path('.'.join(segments[:depth + 1]))}'")
        holder, last, loc = node, depth == len(segments) - 1, (*loc, key)
        if sel is None:
            if last:
                node[key] = value
            node = node[key]
            continue
        holder = items = node[key]
        if not isinstance(items, list):
            raise _refused(path, f"'{name}' is not a list")
        i = _select(items, sel, path)
        loc = (*loc, i)
        if typed is not None:
            typed[loc] = ".".join(segments[:depth + 1])
        if last:
            items[i] = value
        node = items[i]
    return holder


def _cell(raw: str) -> str:
    """A catalogue value as CSV text: quotes dropped, `null`/`~` empty."""
    text = raw.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return "" if text in ("null", "~") else text


def _edited_catalogue(lt: LoadedTariff, text: pd.DataFrame, rows: list[dict[str, str]],
                      cells: list[tuple[str, dict[str, str]]]) -> pd.DataFrame:
    """The catalogue file's `text` with its `rows` edited, checked as the file is; a faulty cell
    named as an edit names it (`_names`), not by the file's row, which the user never edited."""
    try:
        return parse_catalogue(pd.DataFrame(rows, columns=list(text.columns)), lt.catalogue_file,
                               _names(text, rows, cells))
    except InputError as exc:
        raise InputError(f"--set {exc}") from None


def _names(text: pd.DataFrame, rows: list[dict[str, str]], cells: list[tuple[str, dict[str, str]]]) -> Names:
    """A cell of the edited catalogue (row index, column) as the edits typed it: the path of its
    edit, else its item as an edit of it typed it and the column; a row no edit picked (another
    period of an edited code) by the selector `tariffs show --catalogue` prints. Column None: the
    item alone."""
    at = {id(row): i for i, row in enumerate(rows)}
    typed: dict[tuple[int, str | None], str] = {}
    for path, row in cells:
        item, column = _segments(path)
        typed[at[id(row)], column] = path
        typed.setdefault((at[id(row)], None), item)

    def name(i: int, column: str | None) -> str:
        if (i, column) in typed:
            return typed[i, column]
        item = typed.get((i, None)) or f"catalogue{item_selectors(text)[i]}"
        return item if column is None else f"{item}.{column}"
    return name


def _refuse_unread(paths: list[str], tariff: Tariff, cells: list[tuple[str, dict[str, str]]]) -> None:
    """Refuse an edit the edited tariff does not read (`UNREAD`, `catalogue.not_read`): applied
    with the others, so that the edit of what makes it read (`level=02`) may come with it."""
    for path in paths:
        if path in UNREAD and UNREAD[path][0](tariff):
            raise _refused(path, f"not read while {UNREAD[path][1]}")
    for path, row in cells:
        item, column = _segments(path)
        unread = not_read(column, row["level"], row[column])
        if unread is not None:
            why, (first, *others) = unread
            raise _refused(path, f"{why}: set {shortened_path(item)}.level={first} too"
                             + "".join(f" (or ={o})" for o in others))


def apply_edits(lt: LoadedTariff, edits: list[str]) -> LoadedTariff:
    """A copy of the tariff with PATH=VALUE edits applied and validated. Catalogue edits start
    from the catalogue file, so give a version all its edits in one call."""
    if not edits:
        return lt
    data = lt.tariff.model_dump(mode="json")
    text: pd.DataFrame | None = None
    rows: list[dict[str, str]] = []
    paths: list[str] = []
    cells: list[tuple[str, dict[str, str]]] = []  # per catalogue edit its path and the item's row
    typed: dict[tuple[Any, ...], str] = {}  # list items picked by a selector, as the edits wrote them
    for edit in edits:
        m = _EDIT.match(edit)
        if not m:
            raise _refused(edit, "expected PATH=VALUE")
        path = m["path"].strip()
        _refuse_not_terms(path, _segments(path))
        if not path.startswith(CATALOGUE):
            _set(data, path, _value(path, m["value"]), typed)
            paths.append(path)
            continue
        if text is None:
            text = read_catalogue_text(lt.catalogue_file)
            rows = text.to_dict("records")
        if len(_segments(path)) != 2:
            raise _refused(path, "a catalogue edit names one column of one item")
        cells.append((path, _set({"catalogue": rows}, path, _cell(m["value"]))))
    data["version"] = f"{lt.tariff.version}+edited"
    try:
        tariff = Tariff.model_validate(data)
    except ValidationError as exc:  # named as the edit named it: inpatient.schemes[insutype=390,level=2]
        raise InputError(describe("--set", exc, data, typed)) from None
    catalogue = lt.catalogue if text is None else _edited_catalogue(lt, text, rows, cells)
    _refuse_unread(paths, tariff, cells)
    return replace(lt, tariff=tariff, catalogue=catalogue)
