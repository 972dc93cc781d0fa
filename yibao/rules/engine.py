"""The rule base on durable_rules: forward chaining from one facts row to the conclusions of a claim.

Each distinct facts row is asserted as a fact in its own session; rules fire on it and on the
findings other rules derive (`Derive`), until nothing new follows. Rows are evaluated once per
distinct value and joined back by position, so a month of claims costs a few thousand sessions.

durable_rules needs care (docs/rules.md): rule sets are compiled once per process and tariff
content (re-creating them leaks), on a host without the polling threads (everything runs inside
`assert_fact`); every fact is "handled" by a guard rule that never fires; a finding already
known is not derived again; an exception in a rule is caught by durable_rules and only stored in
the session state, so actions record it and `evaluate` raises it.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from durable import engine as durable
from durable.lang import m

from yibao.codes import frame, row_groups, text_column
from yibao.rules.registry import RULES
from yibao.rules.rule import (APPEAL, NEVER_VALUE, Derive, Effect, Missing, Note, Pending, Refuse, Rule, Set,
                              one_of)
from yibao.tariffs.model import Tariff
from yibao.tariffs.registry import LoadedTariff

log = logging.getLogger(__name__)

DECISIONS = ("rejected", "needs_materials", "pending_verification", "approved")  # precedence order
CONCLUSIONS: dict[str, Any] = {  # ARCHITECTURE.md "Facts and conclusions", with their defaults
    "rule_decision": "approved", "reasons": (), "missing_materials": (), "rules_fired": (),
    "due_workdays": -1, "due_quarterly": False, "pays_basic": False, "pays_maf": False, "fund_pool": "",
    "ratio_cut_bp": 0, "status_tilt_bp": 0, "retired_cadre": False, "child_deductible": False,
    "tier_status": "", "assistance_status": "", "chronic_disease": "", "waive_preselfpay": False,
    "maternity_scheme": "", "maternity_quota": "", "maternity_factor_bp": 10_000, "allowance_days": 0,
    "resident_category": "",
    "grant_units": 0,
}
EITHER = " 或 "  # joins the names of either-of materials


class _QuietHost(durable.Host):
    """A host without the timer threads that poll for queued events: this rule base asserts facts
    and every action runs synchronously inside `assert_fact`."""

    def _run(self) -> None:
        pass


@dataclass
class _Session:
    """What the rules concluded about one facts row."""

    tariff: Tariff
    fact: dict[str, Any]  # the row asserted; rules read it and never change it
    fired: list[str] = field(default_factory=list)
    reasons: list[tuple[str, str, str]] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    set_by: dict[str, str] = field(default_factory=dict)
    refused: bool = False
    pending: bool = False
    error: BaseException | None = None

    def apply(self, rule_id: str, effect: Effect, derive: Callable[[dict[str, str]], None]) -> None:
        if isinstance(effect, Refuse):
            self.refused = True
            self.reasons.append((rule_id, effect.code, effect.message + APPEAL))
        elif isinstance(effect, Note):
            self.reasons.append((rule_id, effect.code, effect.message))
        elif isinstance(effect, Pending):
            self.pending = True
            self.reasons.append((rule_id, effect.code, effect.message))
        elif isinstance(effect, Missing):
            names = self.tariff.materials.names
            entries = {code: EITHER.join(names[c] for c in code.split("|"))
                       for code in self._ordered(effect.materials)}
            self.missing.update(entries)
            self.reasons.append((rule_id, effect.code,
                                 f"{effect.lead}请一次性补齐以下材料：{'、'.join(entries.values())}。"))
        elif isinstance(effect, Set):
            for name, value in effect.values.items():
                if name in self.values and self.values[name] != value:
                    raise RuntimeError(f"rules {self.set_by[name]} and {rule_id} both conclude {name}")
                self.values[name], self.set_by[name] = value, rule_id
        elif isinstance(effect, Derive):
            try:
                derive({"t": "finding", "k": effect.kind, "v": effect.value})
            except durable.MessageObservedException:
                pass  # already known: forward chaining adds nothing

    def _ordered(self, codes: Any) -> list[str]:
        """Material codes (`a|b` for either-of) in the order of the tariff's materials.names."""
        order = {code: i for i, code in enumerate(self.tariff.materials.names)}
        return sorted(codes, key=lambda code: order[code.split("|")[0]])

    def conclusions(self) -> dict[str, Any]:
        """The conclusion columns, with the decision by precedence (rejected > needs_materials >
        pending_verification > approved) and what it allows to be paid."""
        holds = {"rejected": self.refused, "needs_materials": bool(self.missing),
                 "pending_verification": self.pending, "approved": True}
        decision = next(d for d in DECISIONS if holds[d])
        missing = [(code, self.missing[code]) for code in self._ordered(self.missing)]
        out = CONCLUSIONS | self.values | {
            "rule_decision": decision, "reasons": tuple(self.reasons), "missing_materials": tuple(missing),
            "rules_fired": tuple(self.fired)}
        paying = decision in ("approved", "pending_verification")
        out["pays_basic"] = paying and out["fund_pool"] != ""
        out["pays_maf"] = bool(out["pays_maf"]) and decision == "approved"
        out["allowance_days"] = out["allowance_days"] if decision == "approved" else 0
        out["grant_units"] = out["grant_units"] if decision == "approved" else 0
        return out


_HOST: _QuietHost | None = None
_COMPILED: dict[str, CompiledRules] = {}
_LOCK = threading.Lock()
_SESSION_IDS = itertools.count()
GUARD = "$guard"


def _new_lock_in_child() -> None:
    """A forked child (yibao.beside) has only the thread that forked: a lock another thread of
    the parent held at that moment would never be released there, so the child makes its own."""
    global _LOCK
    _LOCK = threading.Lock()


os.register_at_fork(after_in_child=_new_lock_in_child)


def _host() -> _QuietHost:
    global _HOST
    if _HOST is None:
        _HOST = _QuietHost()
    return _HOST


class CompiledRules:
    """The rule base compiled for one tariff's parameters, registered once on the process's host."""

    def __init__(self, tariff: Tariff, name: str) -> None:
        self.tariff, self.name = tariff, name
        self._session: _Session | None = None
        definition = {r.id: self._definition(r) for r in RULES}
        # every fact must match some rule, or durable_rules raises MessageNotHandledException:
        # this join never completes, so it never fires (facts go with their session)
        definition[GUARD] = {"all": [{"a": (+m.t).define()}, {"b": (m.t == NEVER_VALUE).define()}],
                             "run": lambda c: None}
        _host().register_rulesets({name: definition})

    def _definition(self, rule: Rule) -> dict[str, Any]:
        parts = [{"claim": ((m.t == "claim") & rule.when(self.tariff)).define()}]
        if rule.given:
            finding = (m.t == "finding") & (m.k == rule.given)
            if rule.given_values is not None:
                finding = finding & one_of("v", rule.given_values(self.tariff))
            parts.append({"finding": finding.define()})
        return {"all": parts, "run": self._action(rule)}

    def _action(self, rule: Rule) -> Callable[[Any], None]:
        def run(c: Any) -> None:
            session = self._session
            assert session is not None
            try:
                session.fired.append(rule.id)
                value = c.finding["v"] if c.finding is not None else ""
                # the claim fact as asserted: what durable_rules hands back is its JSON copy
                for effect in rule.then(self.tariff, session.fact, value):
                    session.apply(rule.id, effect, c.assert_fact)
            except BaseException as exc:  # durable_rules would swallow it
                session.error = session.error or exc
        return run

    def conclude(self, fact: dict[str, Any]) -> dict[str, Any]:
        """The conclusions of one facts row (one durable_rules session)."""
        sid = f"s{next(_SESSION_IDS)}"
        session = self._session = _Session(self.tariff, fact | {"t": "claim", "sid": sid})
        host = _host()
        try:
            host.assert_fact(self.name, session.fact)
        finally:
            host.delete_state(self.name, sid)
            self._session = None
        if session.error is not None:
            raise session.error
        return session.conclusions()


def compiled(tariff: Tariff) -> CompiledRules:
    """The rule base for this tariff's content, compiled on first use (what-if edits change it)."""
    digest = hashlib.sha256(tariff.model_dump_json().encode()).hexdigest()[:16]
    key = f"{tariff.key}#{digest}"
    with _LOCK:
        if key not in _COMPILED:
            log.debug("compiling the rule base for %s", key)
            _COMPILED[key] = CompiledRules(tariff, "yibao_" + re.sub(r"\W", "_", key))
        return _COMPILED[key]


Distinct = dict[str, np.ndarray]
"""Conclusion columns (CONCLUSIONS) with one row per distinct facts row."""


def empty_distinct() -> Distinct:
    """No rows, every conclusion column with its dtype: what a batch without claims concludes."""
    return {name: np.zeros(0, dtype=object if isinstance(v, (str, tuple)) else type(v))
            for name, v in CONCLUSIONS.items()}


def empty_conclusions() -> pd.DataFrame:
    return frame(empty_distinct())


def _columns(facts: pd.DataFrame | Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The facts as arrays of what durable_rules serializes to JSON: numbers and booleans (made
    Python values by `tolist`), text as Python str."""
    return {name: col if isinstance(col, np.ndarray) else
            col.to_numpy() if col.dtype.kind in "biu" else col.to_numpy(dtype=object)
            for name, col in ((name, facts[name]) for name in facts)}


def distinct_conclusions(facts: pd.DataFrame | Mapping[str, np.ndarray],
                         tariff: LoadedTariff) -> tuple[Distinct, np.ndarray]:
    """The conclusions of each distinct facts row, and per facts row the number of its distinct
    row: the rule base runs once per distinct row, and the columns are spread once at the end."""
    columns = _columns(facts)
    codes = row_groups(list(columns.values()))
    # groups are numbered in order of first appearance: a row is the first of its group where
    # the running maximum of the numbers rises
    first = np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1) > 0)
    log.info("rules: %d claims, %d distinct facts rows, tariff %s", len(codes), len(first), tariff.key)
    rows = [dict(zip(columns, values)) for values in zip(*(col[first].tolist() for col in columns.values()))]
    rules = compiled(tariff.tariff)
    with _LOCK:
        per_row = [rules.conclude(row) for row in rows]
    table = {}
    for name, default in CONCLUSIONS.items():
        values = np.empty(len(per_row), dtype=object if isinstance(default, (str, tuple)) else type(default))
        for i, row in enumerate(per_row):  # one by one: a tuple must stay one object, not a row of values
            values[i] = row[name]
        table[name] = values
    return table, codes


def concat_distinct(tables: Sequence[Distinct]) -> Distinct:
    """Distinct conclusions of several tariff versions as one table (codes offset by the rows before)."""
    return {name: np.concatenate([t[name] for t in tables]) for name in CONCLUSIONS}


def spread(table: Distinct, codes: np.ndarray, index: pd.Index) -> pd.DataFrame:
    """Per facts row the conclusions of its distinct row: text through Arrow (pandas would make a
    str per row), tuples as shared objects, numbers by numpy."""
    return frame({name: text_column(codes, table[name]) if isinstance(default, str) else table[name][codes]
                  for name, default in CONCLUSIONS.items()}, index)


def evaluate(facts: pd.DataFrame, tariff: LoadedTariff) -> pd.DataFrame:
    """Conclusions for every facts row (same index), evaluated once per distinct row."""
    if facts.empty:
        return empty_conclusions().set_axis(facts.index[:0])
    table, codes = distinct_conclusions(facts, tariff)
    return spread(table, codes, facts.index)
