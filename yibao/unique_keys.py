"""Mappings that name each key once, in the YAML and JSON files people write (tariffs, cases).

YAML and JSON readers keep the last of two equal keys without a word: a tariff line copied as
`{level: 2, deductible: 500, deductible: 50}` paid with a deductible of 50, and a case line with
`"pric": 150, …, "pric": 15000` was priced at 15,000. A key given twice is a slip to fix, not a
value to pick, so it is refused with its place.
"""

from __future__ import annotations

from typing import Any

import yaml

from yibao.errors import quoted
from yibao.yaml_numbers import decimal_numbers

_MERGE = "tag:yaml.org,2002:merge"


class UniqueKeys:
    """A YAML loader mix-in (before the loader class) refusing a key given twice in one mapping;
    a YAML merge (`<<:`) may still be overridden, as YAML means it to be."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == _MERGE:
                    continue
                key = self.construct_object(key_node, deep=True)  # type: ignore[attr-defined]
                try:
                    repeated = key in seen
                except TypeError:  # an unhashable key: the loader itself refuses it
                    continue
                if repeated:
                    mark = key_node.start_mark
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {quoted(key)} is given twice (line {mark.line + 1}, column "
                        f"{mark.column + 1}): keep one of them", mark)
                seen.add(key)
        return super().construct_mapping(node, deep)  # type: ignore[misc]


@decimal_numbers
class SafeLoader(UniqueKeys, yaml.SafeLoader):
    """`yaml.safe_load`'s loader, refusing a key given twice and reading numbers as decimals
    (`yibao.yaml_numbers`)."""


def safe_load(text: str) -> Any:
    """`yaml.safe_load`, refusing a key given twice (a `yaml.YAMLError` naming the key and line),
    numbers read as the decimals they show."""
    return yaml.load(text, Loader=SafeLoader)  # noqa: S506 - a safe loader


def unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`json.loads(..., object_pairs_hook=unique_pairs)`: an object naming a key twice is a
    ValueError, as JSON's own syntax errors are."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {quoted(key)} is given twice in one object: keep one of them")
        out[key] = value
    return out
