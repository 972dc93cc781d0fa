"""What a rule is: an id, its policy basis, a condition on the facts and the effects it concludes.

Examiners must be able to answer "why" for every decision, so each rule carries a stable id, a
title, the policy text it encodes and the tariff parameters it uses; `yibao rules list|show`
prints them. A rule's condition is written in durable_rules' expression language on the claim
fact (and, for chained rules, on one finding another rule derived); its action returns plain
effect objects, so rules read like the policy and the engine alone talks to durable_rules.

Conditions must never match one fact twice: durable_rules fires a rule once per satisfied branch
of an `|`, so an "or" is written only over values of one field (`one_of`) or over branches that
exclude each other.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from functools import reduce
from typing import Any, Callable, Iterable, Sequence, Union

from durable.lang import m

from yibao.tariffs.model import Tariff

Cond = Any  # a durable_rules expression (durable.lang.value)
Fact = dict[str, Any]

NEVER_VALUE = "$never"  # a value no fact holds: tests that are never true

APPEAL = "如对本决定不服，可依法申请行政复议或提起行政诉讼。"
"""The appeal-rights sentence (救济权) every refusal ends with (右玉县流程图, items 9–10)."""


# --- conditions on the claim fact ------------------------------------------------------------

def eq(name: str, value: Any) -> Cond:
    return getattr(m, name) == value


def ne(name: str, value: Any) -> Cond:
    return getattr(m, name) != value


def yes(name: str) -> Cond:
    return getattr(m, name) == True  # noqa: E712 (durable_rules builds a test from ==)


def no(name: str) -> Cond:
    return getattr(m, name) == False  # noqa: E712


def gt(name: str, value: int) -> Cond:
    return getattr(m, name) > value


def le(name: str, value: int) -> Cond:
    return getattr(m, name) <= value


def all_of(conds: Sequence[Cond]) -> Cond:
    return reduce(operator.and_, conds)


def any_of(conds: Sequence[Cond]) -> Cond:
    """Branches that must exclude each other; never true if there are none."""
    return reduce(operator.or_, conds) if conds else eq("kind", NEVER_VALUE)


def one_of(name: str, values: Iterable[Any]) -> Cond:
    """The field equals one of the values (the branches exclude each other)."""
    return any_of([eq(name, v) for v in dict.fromkeys(values)])


def none_of(name: str, values: Iterable[Any]) -> Cond:
    """The field equals none of the values; always true if there are none."""
    return all_of([ne(name, NEVER_VALUE)] + [ne(name, v) for v in dict.fromkeys(values)])


# --- effects -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Refuse:
    """A failed condition that refuses the claim or application (the appeal sentence is added)."""

    code: str
    message: str


@dataclass(frozen=True)
class Note:
    """A reason listed without changing the decision (e.g. a reduced ratio)."""

    code: str
    message: str


@dataclass(frozen=True)
class Pending:
    """The case waits for another office's verification (医疗救助 not yet certified)."""

    code: str
    message: str


@dataclass(frozen=True)
class Missing:
    """Materials to hand in; `materials` are codes, `a|b` for "either a or b"."""

    code: str
    lead: str  # the message's opening, e.g. "手工报销申请材料不齐全，"; the names follow
    materials: tuple[str, ...]


@dataclass(frozen=True)
class Set:
    """Conclusion columns (ARCHITECTURE.md) this rule decides."""

    values: dict[str, Any]


@dataclass(frozen=True)
class Derive:
    """A finding other rules chain on, e.g. ("pool", "inpatient")."""

    kind: str
    value: str = ""


Effect = Union[Refuse, Note, Pending, Missing, Set, Derive]
Then = Callable[[Tariff, Fact, str], list[Effect]]


def pool(name: str) -> list[Effect]:
    """Which pool pays the claim: the conclusion, and the finding pool rules chain on."""
    return [Set({"fund_pool": name}), Derive("pool", name)]


def split(codes: str) -> tuple[str, ...]:
    """A missing-materials fact (`;`-joined codes) as a tuple."""
    return tuple(c for c in codes.split(";") if c)


# --- the rule ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    basis: str
    concludes: str
    when: Callable[[Tariff], Cond]  # condition on the claim fact
    then: Then
    given: str = ""  # kind of finding the rule chains on ("" for none)
    given_values: Callable[[Tariff], Sequence[str]] | None = None  # accepted finding values
    params: tuple[str, ...] = ()  # tariff fields the rule reads, dotted paths
    uses: tuple[str, ...] = ()  # facts the action reads beyond its condition

    def reads(self, tariff: Tariff) -> list[str]:
        """Facts the rule reads (its condition's fields and `uses`), then the finding."""
        names = dict.fromkeys(_fields(self.when(tariff).define()))
        names.update(dict.fromkeys(self.uses))
        reads = [n for n in names if n != "t"]
        if self.given:
            values = "|".join(self.given_values(tariff)) if self.given_values else "any"
            reads.append(f"finding {self.given}={values}")
        return reads


def _fields(definition: Any) -> Iterable[str]:
    """Field names in a durable_rules condition definition (keys that are not `$` operators)."""
    if isinstance(definition, list):
        for d in definition:
            yield from _fields(d)
    elif isinstance(definition, dict):
        for key, value in definition.items():
            if key.startswith("$"):
                yield from _fields(value)
            else:
                yield key


@dataclass
class RuleList:
    """The rules of one area, in the order they are listed; `rule(...)` adds one by decorator."""

    rules: list[Rule] = field(default_factory=list)

    def rule(self, id: str, title: str, *, basis: str, concludes: str,  # noqa: A002
             when: Callable[[Tariff], Cond], given: str = "",
             given_values: Callable[[Tariff], Sequence[str]] | None = None,
             params: tuple[str, ...] = (), uses: tuple[str, ...] = ()) -> Callable[[Then], Then]:
        def add(then: Then) -> Then:
            self.rules.append(Rule(id, title, basis, concludes, when, then, given, given_values,
                                   params, uses))
            return then
        return add
