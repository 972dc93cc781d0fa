"""Every rule of the rule base, by area and by id: what `yibao rules list|show` prints.

Ids are stable: a decision records them, so an id is never reused for a different rule.
"""

from __future__ import annotations

from typing import Sequence

from yibao.errors import InputError
from yibao.rules.assistance import ASSISTANCE
from yibao.rules.calculated import CALCULATOR_RULES, CalculatorRule
from yibao.rules.chronic import CHRONIC
from yibao.rules.general import GENERAL
from yibao.rules.manual import MANUAL
from yibao.rules.maternity import MATERNITY
from yibao.rules.pools import POOLS
from yibao.rules.referral import REFERRAL
from yibao.rules.rule import Rule

AREAS = {
    "general": GENERAL, "manual": MANUAL, "pools": POOLS, "assistance": ASSISTANCE,
    "chronic": CHRONIC, "referral": REFERRAL, "maternity": MATERNITY,
}
RULES: tuple[Rule, ...] = tuple(r for area in AREAS.values() for r in area.rules)
LISTED: dict[str, Sequence[Rule | CalculatorRule]] = {name: area.rules for name, area in AREAS.items()} | {
    "calculator": CALCULATOR_RULES}
"""What `yibao rules list` prints: the rule base's areas, then the calculator's edits and limits."""
BY_ID: dict[str, Rule | CalculatorRule] = {r.id: r for rules in LISTED.values() for r in rules}

if len(BY_ID) != sum(map(len, LISTED.values())):  # a programming error, caught on import
    raise RuntimeError("two rules share an id")


def get(rule_id: str) -> Rule | CalculatorRule:
    try:
        return BY_ID[rule_id.strip().upper()]
    except KeyError:
        raise InputError(f"no rule '{rule_id}' (see `yibao rules list`)") from None
