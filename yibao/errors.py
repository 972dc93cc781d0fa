"""The one error type users see: a message naming file, row and column, never a traceback."""

from __future__ import annotations

import errno
import re
from decimal import Decimal
from typing import Any, Iterator


class InputError(Exception):
    """Unusable input (a case, a batch table, a tariff): the CLI prints it and exits with 2."""

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None,
                 column: str | None = None) -> None:
        where = ", ".join(p for p in (file, None if row is None else f"row {row}",
                                      None if column is None else f"column {column}") if p)
        super().__init__(f"{where}: {message}" if where else message)
        self.file, self.row, self.column = file, row, column


class RunError(Exception):
    """A run stopped by something other than its input (a Dask cluster that lost its workers):
    the CLI prints it in one line and exits with 1, as for running out of memory; the same
    command may pass when run again."""


def first_line(exc: BaseException) -> str:
    """What another library's exception says, as one line of an `InputError` (its type's name
    when it says nothing)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def expect(value: object, kinds: type | tuple[type, ...], what: str) -> None:
    """An argument of the library given as another kind (`period=202505`) refused in one line,
    where it would fail deep inside: "`what`, not an int"."""
    if not isinstance(value, kinds):
        raise InputError(f"{what}, not {kind(value)}")


def kind(value: object) -> str:
    """"an int", "a list": the type of a value given to the library, as a message names it."""
    name = type(value).__name__
    return f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name}"


QUOTED = 80  # characters of a faulty value a message quotes


def quoted(value: object) -> str:
    """A faulty value as a message quotes it: its repr, a long one cut to its first characters
    (a 1,000,000-character id was echoed whole, and YAML aliases make 200 MB of one value)."""
    if isinstance(value, str) and len(value) > QUOTED:
        return f"{value[:QUOTED]!r}… ({len(value):,} characters)"
    return shortened(repr(value))


def shortened(text: str) -> str:
    """`text`, or when longer than `QUOTED` its first characters and its length: a cut text is
    longer than `QUOTED` and never equals an uncut one."""
    return text if len(text) <= QUOTED else f"{text[:QUOTED]}… ({len(text):,} characters)"


LONGEST_PATH = 2 * QUOTED
"""Characters of a parameter path a message names whole: the longest of the sample tariff is 97
(`catastrophic.funds[fund=hifmi,insutype=390,statuses=dibao+relapse_monitored+tekun].tiers[0].ratio`),
and cut at `QUOTED` such a path lost the field it names."""


def shortened_path(path: str) -> str:
    """A parameter path as a message names it (`--set PATH`, the entry of a tariff file): whole,
    or when longer than any tariff's (`LONGEST_PATH`: a 5,000-character key or selector typed)
    cut as `shortened` cuts a text."""
    return path if len(path) <= LONGEST_PATH else shortened(path)


def cut_within(text: str, value: Any) -> str:
    """`text` with each long text of `value` (itself, or the keys and items of a mapping or list,
    nested) cut where it repeats it, as `shortened` cuts it: a reason worded by another check or
    library may repeat the faulty value whole (int's `invalid literal for int() with base 10:
    'xxxx…'`, a validator's `status 'xxxx…' is not declared`)."""
    for long in sorted(set(_long_texts(value)), key=len, reverse=True):
        text = text.replace(long, shortened(long))
    return text


def words_shortened(text: str) -> str:
    """`text` with each run of characters but spaces longer than any path (`LONGEST_PATH`) cut as
    `shortened` cuts it: a reason another library worded quoting a piece of the value, not the
    value (YAML's `could not determine a constructor for the tag '!xxxx…'`). A value a message
    cut itself (`quoted`) is shorter, and is not cut twice."""
    return re.sub(rf"\S{{{LONGEST_PATH + 1},}}", lambda m: shortened(m[0]), text)


def _long_texts(value: Any) -> Iterator[str]:
    """The texts of `value` longer than `QUOTED`, each mapping or list walked once (YAML aliases
    share one, and may hold themselves)."""
    seen: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (dict, list, tuple, set)):
            if id(item) not in seen:
                seen.add(id(item))
                stack.extend(item if not isinstance(item, dict) else (*item.keys(), *item.values()))
        elif isinstance(item, (str, int, float, Decimal)) and len(text := str(item)) > QUOTED:
            yield text


def path_shown(path: object, exc: BaseException) -> str:
    """`path` as a message about `exc` names it: whole, but cut as a long value is (`shortened`)
    when the system refused it as too long to look up (ENAMETOOLONG). Such a path names no file
    anyone could look for; a 5,000-character one was echoed whole, twice where the reason
    repeated it (`os_reason`). A path that can be looked up stays whole: it is how its file is
    found."""
    return shortened(str(path)) if _too_long(exc) else str(path)


def os_reason(exc: OSError) -> str:
    """What an OSError says in one line, the path it names cut as `path_shown` cuts it
    (`[Errno 36] File name too long: 'aaaa…'… (5,000 characters)`)."""
    if not _too_long(exc) or exc.filename is None:
        return str(exc)
    return f"[Errno {exc.errno}] {exc.strerror}: {quoted(str(exc.filename))}"


def _too_long(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG
