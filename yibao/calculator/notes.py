"""Reasons the calculator gives: what each audit edit deducted, and which limit cut a fund.

A partially approved claim must say why money was taken, and a claim paid less than its ratio
gives (a disease cap used up, a quota) must say which limit did it, or the notice cannot answer
a dispute. The rule base cannot say this (it never sees amounts), so the calculator adds a reason
(rule id, code, message) per violation code and per limit that cut a payment. Messages state the
same fen the trace shows (tests/test_trace.py compares them). Only claims with a deduction or a
cut get a message, so the text work follows those claims, not the batch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from yibao.calculator.audit import EDIT_CODES
from yibao.calculator.funds import CAP_ANNUAL, CAP_CLAIM, CAP_COVERED, CAP_MONTHLY, COV_ANNUAL, COV_MONTHLY, COV_VISIT
from yibao.calculator.terms import FUND_HIFOB, POOLS, TermArrays
from yibao.codes import arrow_text_series, join_text, take_rising, text_rank, worded
from yibao.rules.calculated import AUDIT_RULE_IDS

REASONS = pa.schema([("claim", pa.int64()), ("rule_id", pa.large_string()), ("code", pa.large_string()),
                     ("message", pa.large_string())])
"""The calculator's reasons, an item a row: the claim's position, the rule, its code and message."""

Part = tuple[np.ndarray, str, str, pa.Array]
"""Reasons of one rule and code: the claims (ascending) and a message each."""

LISTED_LINES = 10
"""Line ids named in a violation message; more are counted ("等N条")."""

_CAP_SUBJECT = {"inpatient": "住院统筹基金年度支付限额", "outpatient": "普通门诊统筹基金年度支付限额",
                "chronic": "该病种门诊慢特病年度支付限额", "maternity": "产前检查定额"}


def _yuan(fen: int) -> str:
    """Non-negative fen as yuan text, e.g. 6765 → "67.65元" (tens of thousands per batch: no Decimal)."""
    return f"{fen // 100}.{fen % 100:02d}元"


def _yuan_text(fen: np.ndarray) -> pa.Array:
    """`_yuan` of every amount, in Arrow."""
    whole = pc.cast(pa.array(fen // 100), pa.large_string())
    cents = pc.utf8_lpad(pc.cast(pa.array(fen % 100), pa.large_string()), width=2, padding="0")
    return join_text(whole, cents, sep=".")


def _line_lists(ids: pa.Array, counts: np.ndarray) -> pa.Array:
    """Per group of consecutive `ids` (`counts` each) its first LISTED_LINES ids joined by "、",
    and "等N条" after them when the group has more."""
    within = np.arange(len(ids)) - np.repeat(np.cumsum(counts) - counts, counts)
    shown = np.minimum(counts, LISTED_LINES)
    offsets = np.concatenate([[0], np.cumsum(shown)]).astype(np.int64)
    lists = pa.LargeListArray.from_arrays(pa.array(offsets), ids.filter(pa.array(within < LISTED_LINES)))
    more = [f"等{n}条" if n > LISTED_LINES else "" for n in counts.tolist()]
    return join_text(pc.binary_join(lists, pa.scalar("、", pa.large_string())), pa.array(more, pa.large_string()))


def _violation_reasons(out: list[Part], line_ids: pd.Series, pos: np.ndarray,
                       mask: np.ndarray, by_code: dict[str, np.ndarray], titles: dict[str, str]) -> None:
    hit = np.flatnonzero(mask)
    # text only for the lines that lost something, kept in Arrow (chunked when pandas holds it so)
    arrow = take_rising(pa.array(line_ids.array, pa.large_string()), hit)
    arrow = arrow.combine_chunks() if isinstance(arrow, pa.ChunkedArray) else arrow
    order = np.lexsort((text_rank(arrow_text_series(arrow)), pos[hit]))  # by claim, then line id: the input's row order never shows
    hit, ids = hit[order], arrow.take(pa.array(order))
    for bit, code in enumerate(EDIT_CODES):
        if code not in by_code:
            continue
        sel = (mask[hit] >> bit & 1).astype(bool)
        claims, counts = np.unique(pos[hit][sel], return_counts=True)
        # the messages in Arrow, one per claim: per-claim Python here was most of this stage
        messages = join_text(f"{titles.get(code, code)}，核减", _yuan_text(by_code[code][claims]), "元（明细",
                             _line_lists(ids.filter(pa.array(sel)), counts), "）。")
        _add(out, claims, AUDIT_RULE_IDS[code], code, messages)


def _add(out: list[Part], claims: np.ndarray, rule: str, code: str, messages: pa.Array) -> None:
    out.append((claims, rule, code, messages))


def _cap_reasons(out: list[Part], a: dict[str, np.ndarray], t: TermArrays) -> None:
    """The limit that cut a fund, per kind of limit: the messages in Arrow (a per-claim f-string
    and dict took 8 µs a claim, 0.07 s at 2M lines). Each claim has one kind of basic-fund cap,
    so taking the kinds one after another keeps each claim's reasons in order."""
    kind = a["_hifp_cap"]
    claims = np.flatnonzero(kind == CAP_COVERED)
    _add(out, claims, "CAP-001", "CAP_REACHED",
         join_text("住院统筹基金年度限额（按政策范围内费用计）已用至本次，超出部分不予支付，本次统筹基金支付",
                   _yuan_text(a["hifp_pay"][claims]), "元。"))
    for cap, rule, code in ((CAP_ANNUAL, "CAP-001", "CAP_REACHED"), (CAP_CLAIM, "CAP-002", "QUOTA_REACHED"),
                            (CAP_MONTHLY, "CAP-003", "MONTHLY_CAP_REACHED")):
        claims = np.flatnonzero(kind == cap)
        subject = worded(np.array(POOLS, dtype=object)[t.pool[claims]],
                         lambda pool: _CAP_SUBJECT.get(pool, "统筹基金年度支付限额")) if cap == CAP_ANNUAL else \
            {CAP_CLAIM: "生育医疗费用定额", CAP_MONTHLY: "普通门诊统筹基金月度支付限额"}[cap]
        _add(out, claims, rule, code, _limited(subject, "统筹基金", a["_hifp_uncapped"][claims], a["hifp_pay"][claims]))
    for paid, uncapped in (("_la", "_la_uncapped"), ("_cat", "_cat_uncapped")):  # large-amount is paid first
        claims = np.flatnonzero(a[paid] < a[uncapped])
        fund = pa.array(np.where((paid == "_la") | (t.cat_fund[claims] == FUND_HIFOB), "大额补充", "大病保险"),
                        pa.large_string())
        _add(out, claims, "CAP-004", "CAT_CAP_REACHED",
             _limited(join_text(fund, "年度支付限额"), fund, a[uncapped][claims], a[paid][claims]))
    for stage, uncapped, own in ((1, "_maf_uncapped", "_maf1_own_cap"), (2, "_maf2_uncapped", "_maf2_own_cap")):
        claims = np.flatnonzero(a[f"_maf{stage}"] < a[uncapped])
        fund = np.where(t.maf2[claims] == 0, "医疗救助", f"医疗救助第{'一二'[stage - 1]}段")
        subject = np.where(a[own][claims] != 0, np.char.add(fund, "年度限额"), "医疗救助年度限额")
        _add(out, claims, "CAP-005", "MAF_CAP_REACHED", _limited(pa.array(subject, pa.large_string()),
                                                                 pa.array(fund, pa.large_string()),
                                                                 a[uncapped][claims], a[f"_maf{stage}"][claims]))


_COVERED_POOL = {"outpatient": "普通门诊", "chronic": "门诊慢特病"}
COVERED_CAPS = {COV_VISIT: ("COVERED_VISIT_CAP", "政策范围内费用每次限额"),
                COV_MONTHLY: ("COVERED_MONTHLY_CAP_REACHED", "政策范围内费用月度限额"),
                COV_ANNUAL: ("COVERED_CAP_REACHED", "政策范围内费用年度限额")}
"""A covered-fee cap (`funds._cov_cap`) → its reason code and its name in a notice (and trace)."""


def _covered_reasons(out: list[Part], a: dict[str, np.ndarray], t: TermArrays) -> None:
    """The covered-fee cap that limited the amount the ratio applied to: its name, the amount above
    the deductible and what was left of the cap (what the trace's step shows)."""
    pools = np.array(POOLS, dtype=object)[t.pool]
    for cap, (code, name) in COVERED_CAPS.items():  # one covered-fee cap a claim: by kind keeps each claim's order
        claims = np.flatnonzero(a["_cov_cap"] == cap)
        messages = []
        for claim in claims.tolist():
            subject = _COVERED_POOL.get(pools[claim], "") + name
            base, left = int(a["_cov_base"][claim]), int(a["_cov_limit"][claim])
            room = f"{subject}已用完，" if left == 0 else \
                f"{subject}{'为' if code == 'COVERED_VISIT_CAP' else '所余'}{_yuan(left)}，"
            messages.append(f"{room}本次起付线以上政策范围内费用{_yuan(base)}，"
                            f"按{_yuan(left)}计算统筹基金支付，超出的{_yuan(base - left)}不予支付。")
        _add(out, claims, "CAP-006", code, pa.array(messages, pa.large_string()))


def _limited(subject: str | pa.Array, fund: str | pa.Array, due: np.ndarray, paid: np.ndarray) -> pa.Array:
    """Per claim what a limit cut: all of what the ratio gave (nothing was left), or the part above
    what was left."""
    used_up = join_text(subject, "已用完，本次", fund, "按比例应付", _yuan_text(due), "元，实际支付0.00元。")
    short = join_text(subject, "所余不足，本次", fund, "按比例应付", _yuan_text(due), "元，按限额支付", _yuan_text(paid),
                      "元，少付", _yuan_text(due - paid), "元。")
    return pc.if_else(pa.array(paid == 0), used_up, short)


def calculator_reasons(line_ids: pd.Series, pos: np.ndarray, mask: np.ndarray, by_code: dict[str, np.ndarray],
                       titles: dict[str, str], audited: dict[str, np.ndarray], terms: TermArrays) -> pa.Table:
    """The reasons (REASONS, by claim): per claim one per violation code that took money from it
    (amount and lines), one per limit that cut a fund; none for most claims. Items in columns, not
    a tuple per claim: the claims' output joins them in Arrow (10M lines: this and
    `explain.reason_columns` took 0.52 + 0.41 s or more with a tuple per claim, 0.28 + 0.29 s so)."""
    out: list[Part] = []
    _violation_reasons(out, line_ids, pos, mask, by_code, titles)
    if len(terms.pool):
        _covered_reasons(out, audited, terms)
        _cap_reasons(out, audited, terms)
    return reason_items(out)


def reason_items(parts: list[Part]) -> pa.Table:
    """The parts' reasons as one table, by claim, each claim's in the order the parts were found."""
    if not parts:
        return REASONS.empty_table()
    claims = np.concatenate([p[0] for p in parts]).astype(np.int64, copy=False)
    order = pa.array(np.argsort(claims, kind="stable"))
    part = pa.array(np.repeat(np.arange(len(parts)), [len(p[0]) for p in parts])).take(order)
    return pa.table([pa.array(claims).take(order),
                     pa.array([p[1] for p in parts], pa.large_string()).take(part),
                     pa.array([p[2] for p in parts], pa.large_string()).take(part),
                     pa.concat_arrays([p[3] for p in parts]).take(order)], schema=REASONS)
