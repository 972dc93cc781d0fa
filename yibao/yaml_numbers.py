"""Numbers in the YAML people write (tariffs, cases, `--set` values) read as the decimals they show.

PyYAML reads YAML 1.1, where `deductible: 0500` is octal (320 yuan), `cnt: 1:30` is base 60
(90), and `0b11`, `0x10` are 3 and 16: a tariff or case holds money and counts, and each of
these silently paid another amount. Here only decimals are numbers; the rest are text, which a
number field refuses naming the field, except digits with a leading zero, which a number field
reads as the decimal they show (0500 → 500) and a text field keeps as written (a line id `08`,
which YAML 1.1 kept as text too, or `0012`, which it made octal 10).

An integer of more digits than Python converts (4,300) is kept as `Digits`, for JSON cases too:
the parser failed naming no field ("Exceeds the limit (4300 digits) for integer string
conversion"), the field it is in refuses it instead, as a number out of range.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

INT, FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
DECIMAL_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
DECIMAL_FLOAT = re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+(?=[eE]))(?:[eE][-+]?[0-9]+)?$"
                           r"|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$")


class Digits:
    """An integer too long for Python to convert, as the text of its digits: no field takes it,
    and a message names it (`Digits.text`, to be `quoted`) as a number out of range."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"a number of {len(self.text.lstrip('+-')):,} digits"


def integer(text: str) -> int | Digits:
    """The integer the digits show (`json.loads(..., parse_int=integer)`); `Digits` when it has
    more digits than Python converts (`sys.get_int_max_str_digits()`)."""
    try:
        return int(text)
    except ValueError:
        return Digits(text)


def _decimal_int(loader: yaml.constructor.SafeConstructor, node: yaml.ScalarNode) -> int | Digits:
    return integer(str(loader.construct_scalar(node)))


def decimal_numbers(loader: type[Any]) -> type[Any]:
    """`loader` (a SafeLoader class of ours) reading only decimal numbers as numbers."""
    loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in (INT, FLOAT)]
        for first, resolvers in loader.yaml_implicit_resolvers.items()}
    loader.add_implicit_resolver(INT, DECIMAL_INT, list("-+0123456789"))
    loader.add_implicit_resolver(FLOAT, DECIMAL_FLOAT, list("-+0123456789."))
    loader.add_constructor(INT, _decimal_int)
    return loader
