"""The claims' reason columns (yibao/explain.py `reason_columns`) are joined in Arrow from the
calculator's reasons as items; here they are checked against the plain route they replace: per
claim the rule base's reasons followed by the calculator's, as one `json.dumps` document, their
codes and the rules fired."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from yibao.calculator.notes import REASONS
from yibao.explain import _json_text, reason_columns
from yibao.tables import LIST_SEP

# text a message may hold: quotes, backslashes, control characters, Chinese, the list separator
TEXT = st.text(alphabet=st.sampled_from(['a', '"', '\\', '\t', '\n', '\x01', '元', '、', ';', ' ', '\u2028']),
               max_size=6)
RULES = st.sampled_from(["GEN-001", "AUD-001", "AUD-002", "CAP-001", "CAP-006"])
REASON = st.tuples(RULES, st.sampled_from(["VIOL_A", "CAP_REACHED", ""]), TEXT)


def _items(extra: list[tuple]) -> pa.Table:
    """Per claim tuples of (rule_id, code, message) as the calculator gives them: an item a row."""
    rows = [(claim, *item) for claim, found in enumerate(extra) for item in found]
    return pa.table([list(column) for column in zip(*rows)] if rows else [[]] * 4, schema=REASONS)


def _plain(reasons: list[tuple], fired: list[tuple], extra: list[tuple]) -> tuple[list[str], list[str], list[str]]:
    """The columns worded a claim at a time."""
    json_texts, codes, fired_texts = [], [], []
    for base, listed, more in zip(reasons, fired, extra):
        items = tuple(base) + tuple(more)
        added = tuple(r for r in dict.fromkeys(r[0] for r in more) if r not in listed)
        json_texts.append(json.dumps([{"rule_id": r, "code": c, "message": m} for r, c, m in items],
                                     ensure_ascii=False))
        codes.append(LIST_SEP.join(c for _, c, _ in items))
        fired_texts.append(LIST_SEP.join(tuple(listed) + added))
    return json_texts, codes, fired_texts


@given(st.lists(st.tuples(st.lists(REASON, max_size=2).map(tuple), st.lists(RULES, max_size=3, unique=True).map(tuple),
                          st.lists(REASON, max_size=3).map(tuple)), max_size=12))
def test_reason_columns_are_the_plain_json_codes_and_rules(claims: list[tuple]) -> None:
    reasons = [c[0] for c in claims]
    fired = [c[1] for c in claims]
    extra = [c[2] for c in claims]
    got = reason_columns(pd.Series(reasons, dtype=object), pd.Series(fired, dtype=object), _items(extra))
    assert [column.tolist() for column in got] == list(_plain(reasons, fired, extra))


def test_a_calculator_reason_follows_the_rule_base_and_names_its_rule_once() -> None:
    # claim 0: the rule base's GEN-001 reason, then two of the calculator's, AUD-001 already fired;
    # claim 1: nothing from the calculator; claim 2: only the calculator's, its rule id added
    reasons = pd.Series([(("GEN-001", "LATE", "逾期"),), (), ()], dtype=object)
    fired = pd.Series([("GEN-001", "AUD-001"), ("GEN-001",), ()], dtype=object)
    extra = _items([(("AUD-001", "DUP", '重复"收费"'), ("CAP-001", "CAP_REACHED", "限额")), (),
                    (("CAP-001", "CAP_REACHED", "x"),)])
    texts, codes, rules = reason_columns(reasons, fired, extra)
    assert json.loads(texts[0]) == [{"rule_id": "GEN-001", "code": "LATE", "message": "逾期"},
                                    {"rule_id": "AUD-001", "code": "DUP", "message": '重复"收费"'},
                                    {"rule_id": "CAP-001", "code": "CAP_REACHED", "message": "限额"}]
    assert texts.tolist()[1:] == ["[]", '[{"rule_id": "CAP-001", "code": "CAP_REACHED", "message": "x"}]']
    assert codes.tolist() == ["LATE;DUP;CAP_REACHED", "", "CAP_REACHED"]
    assert rules.tolist() == ["GEN-001;AUD-001;CAP-001", "GEN-001", "CAP-001"]


def test_json_text_escapes_as_json_dumps_with_control_characters_by_python() -> None:
    # written out by hand: a quote and a backslash get a backslash each (in Arrow); a tab and a
    # newline their short escapes, \x01 and \x1f the \u form (encode_basestring, for those texts
    # only); Chinese and U+2028 stay as they are (ensure_ascii=False)
    texts = pa.array(['行"1"', "C:\\x", "a\tb\n", "\x01", '"\x1f\\', "元\u2028", ""], pa.large_string())
    assert _json_text(texts).to_pylist() == ['"行\\"1\\""', '"C:\\\\x"', '"a\\tb\\n"', '"\\u0001"',
                                             '"\\"\\u001f\\\\"', '"元\u2028"', '""']
