"""The one error type users see: a message naming file, row and column, never a traceback."""

from __future__ import annotations

import errno


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
