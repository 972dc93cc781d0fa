"""The calculator's violation messages (yibao/calculator/notes.py) are built in Arrow a claim at a
time, and its reasons gathered as items by claim; the figures here are written out by hand."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from yibao.calculator.notes import LISTED_LINES, REASONS, _line_lists, _yuan_text, reason_items


def test_amounts_read_as_yuan_with_two_decimals() -> None:
    # 6765 fen = 67 yuan 65 fen; 5 fen = 0.05; 100 fen = 1.00
    assert _yuan_text(np.array([6765, 5, 0, 100, 123456789], dtype=np.int64)).to_pylist() == [
        "67.65", "0.05", "0.00", "1.00", "1234567.89"]


def test_line_lists_name_ten_lines_then_count_the_rest() -> None:
    # one claim with 12 lines (10 named, then "等12条"), one with 2, one with exactly 10
    first = [f"{i:02d}" for i in range(1, 13)]
    third = [f"L{i}" for i in range(10)]
    ids = pa.array(first + ["a", "b"] + third, pa.large_string())
    lists = _line_lists(ids, np.array([12, 2, 10])).to_pylist()
    assert LISTED_LINES == 10
    assert lists == ["01、02、03、04、05、06、07、08、09、10等12条", "a、b", "、".join(third)]


def test_reason_items_are_by_claim_each_in_the_order_found() -> None:
    # found in this order: AUD-001 on claims 0 and 2, AUD-002 on claim 2, CAP-001 on claims 1 and 2;
    # claim 2 keeps AUD-001, AUD-002, CAP-001 in that order
    parts = [(np.array([0, 2]), "AUD-001", "DUP", pa.array(["a0", "a2"], pa.large_string())),
             (np.array([2]), "AUD-002", "OVER", pa.array(["b2"], pa.large_string())),
             (np.array([1, 2]), "CAP-001", "CAP_REACHED", pa.array(["c1", "c2"], pa.large_string()))]
    assert reason_items(parts).to_pylist() == [
        {"claim": 0, "rule_id": "AUD-001", "code": "DUP", "message": "a0"},
        {"claim": 1, "rule_id": "CAP-001", "code": "CAP_REACHED", "message": "c1"},
        {"claim": 2, "rule_id": "AUD-001", "code": "DUP", "message": "a2"},
        {"claim": 2, "rule_id": "AUD-002", "code": "OVER", "message": "b2"},
        {"claim": 2, "rule_id": "CAP-001", "code": "CAP_REACHED", "message": "c2"}]
    assert reason_items([]).schema == REASONS
