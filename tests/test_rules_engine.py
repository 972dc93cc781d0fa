"""The rule engine: registry, batch evaluation by distinct facts, caching, errors, and the CLI."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import make_case
from test_rules_cases import conclude, facts_of, tariff
from yibao.calendar import default_calendar
from yibao.cli.app import app
from yibao.cli.rules import parameter
from yibao.errors import InputError
from yibao.io import normalize
from yibao.rules import maternity
from yibao.rules.engine import CONCLUSIONS, DECISIONS, compiled, evaluate
from yibao.rules.facts import FACTS, derive_facts
from yibao.rules.registry import AREAS, BY_ID, RULES
from yibao.synth import generate
from yibao.tariffs.edit import apply_edits


@pytest.fixture(scope="module")
def month() -> pd.DataFrame:
    """The facts of a synthetic batch: every kind of claim and application, many situations."""
    tables = generate(3000, seed=11)
    batch, rejects = normalize(tables, {name: "synth" for name in tables})
    assert rejects.empty
    return derive_facts(batch, tariff(), default_calendar())


def test_registry_ids_titles_bases_and_parameters() -> None:
    assert len(RULES) == sum(len(a.rules) for a in AREAS.values())
    assert set(BY_ID) >= {r.id for r in RULES}  # and the calculator's (AUD-, CAP-), listed with them
    t = tariff().tariff
    for rule in RULES:
        assert re.fullmatch(r"[A-Z]{3}-\d{3}", rule.id), rule.id
        assert rule.title and rule.basis and rule.concludes, rule.id
        assert set(rule.reads(t)) - {"t"} and all(f in FACTS for f in rule.reads(t) if " " not in f), rule.id
        for path in rule.params:
            parameter(t, path)  # every parameter a rule names exists in the tariff


def test_facts_are_small_hashable_values(month: pd.DataFrame) -> None:
    assert list(month.columns) == list(FACTS)
    for name, column in month.items():
        assert column.map(type).isin([str, bool, int, np.bool_, np.int64]).all(), name
    assert len(month.drop_duplicates()) < len(month) / 3


def test_batch_equals_each_row_alone(month: pd.DataFrame) -> None:
    lt = tariff()
    together = evaluate(month, lt)
    assert together.index.equals(month.index) and list(together.columns) == list(CONCLUSIONS)
    sample = np.random.default_rng(3).choice(len(month), size=120, replace=False)
    for i in sample:
        alone = evaluate(month.iloc[[i]], lt).iloc[0].to_dict()
        assert alone == together.iloc[i].to_dict(), month.iloc[i].to_dict()


def test_every_decision_lists_registered_rules(month: pd.DataFrame) -> None:
    together = evaluate(month, tariff())
    assert together["rule_decision"].isin(DECISIONS).all()
    for fired, reasons in zip(together["rules_fired"], together["reasons"]):
        assert fired and set(fired) <= set(BY_ID)
        assert {rule for rule, _, _ in reasons} <= set(fired)


def test_index_is_kept_and_an_empty_frame_has_the_columns() -> None:
    facts = pd.DataFrame([facts_of(make_case())] * 2, index=[10, 20])
    assert list(evaluate(facts, tariff()).index) == [10, 20]
    empty = evaluate(facts.iloc[:0], tariff())
    assert empty.empty and list(empty.columns) == list(CONCLUSIONS)


def test_rule_sets_are_compiled_once_per_tariff_content() -> None:
    lt = tariff()
    assert compiled(lt.tariff) is compiled(lt.tariff)
    edited = apply_edits(lt, ["inpatient.out_of_area_cut.unreferred=0.3"])
    assert compiled(edited.tariff) is not compiled(lt.tariff)
    away = {"institution": {"id": "H9", "level": 4, "out_of_area": True, "networked": True, "agreement": "active"}}
    assert conclude(make_case(claim=away), edited)["ratio_cut_bp"] == 3000
    assert conclude(make_case(claim=away))["ratio_cut_bp"] == 2000


def test_an_error_inside_a_rule_is_raised_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(maternity, "ITEM_NAMES", {})
    resident_prenatal = make_case(person={"gender": "F", "birth_date": "1995-01-01"},
                                  claim={"med_type": "51", "maternity": {"item": "prenatal"}})
    with pytest.raises(KeyError):
        conclude(resident_prenatal)


runner = CliRunner()


def test_cli_lists_every_rule() -> None:
    result = runner.invoke(app, ["rules", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert all(rule.id in result.output for rule in RULES)


def test_cli_shows_a_rule_with_its_parameters() -> None:
    result = runner.invoke(app, ["rules", "show", "ref-004", "--tariff", "sample-county@2025"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "西平县流程图 四.2" in result.output and "ref_workdays" in result.output
    assert '"window_workdays": 5' in result.output and "sample-county@2025" in result.output


def test_cli_unknown_rule_is_an_input_error() -> None:
    result = runner.invoke(app, ["rules", "show", "XYZ-999"])
    assert isinstance(result.exception, InputError)
