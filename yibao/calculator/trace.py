"""The trace (计算过程): every step from a claim's lines to each fund's payment.

Examiners answer disputes over a single yuan, so each amount must be shown as the steps that made
it, with the tariff entry behind each step. The steps are not recomputed here: `funds.settle`
records them (band by band, tier by tier, limit by limit) in the same arithmetic that pays the
claim, and this module only lays those arrays out as rows, one block of claims per kind of step.
Text (paths, labels, rule ids) is made once per distinct value and spread by integer codes.

Invariants (tests/test_trace.py): per claim, the `amount`s of a fund's steps add up to that fund's
payment, and the line-split steps each equal their split field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from yibao.calculator.audit import EDIT_CODES
from yibao.calculator.funds import CAP_ANNUAL, CAP_CLAIM, CAP_COVERED, CAP_MONTHLY
from yibao.calculator.notes import COVERED_CAPS
from yibao.calculator.terms import BANDS, FUND_HIFMI, POOLS, TermArrays
from yibao.codes import text_column
from yibao.money import BP
from yibao.rules.calculated import AUDIT_RULE_IDS
from yibao.rules.registry import RULES
from yibao.tariffs.catalogue import NO_LIMIT

NONE = -1
MATERNITY = POOLS.index("maternity")
"""`ratio_bp` or `limit` of a step that has none."""

FUND_FIELDS = {"hifp": "hifp_pay", "hifmi": "hifmi_pay", "hifob": "hifob_pay", "maf": "maf_pay",
               "allowance": "maternity_allowance", "grant": "maternity_grant"}
"""Trace fund → the claim field its steps add up to; the `lines` steps each equal a split field."""
SPLIT_ACTIONS = {"self_pay": ("fulamt_ownpay_amt", "全自费"), "over_cap": ("overlmt_selfpay", "超限价自付"),
                 "pre_self_pay": ("preselfpay_amt", "先行自付"), "in_policy": ("inscp_scp_amt", "政策范围内"),
                 "item_share_self_pay": ("share_selfpay_amt", "其中 定比项目个人自付")}
FUND_NAMES = {"lines": "费用明细", "hifp": "统筹基金", "hifmi": "大病保险", "hifob": "大额补充",
              "maf": "医疗救助", "allowance": "生育津贴", "grant": "一次性生育补助金"}
CAPS = {CAP_ANNUAL: ("cap", "CAP-001", "年度支付限额"), CAP_COVERED: ("cap", "CAP-001", "年度限额（政策范围内费用）"),
        CAP_CLAIM: ("claim_cap", "CAP-002", "生育定额"), CAP_MONTHLY: ("monthly_cap", "CAP-003", "月度支付限额")}

# conclusion columns that set each kind of step's terms: the rules that concluded them are on the step
TERM_COLUMNS = {
    "deductible": {"fund_pool", "child_deductible", "retired_cadre", "chronic_disease", "resident_category"},
    "band": {"ratio_cut_bp", "status_tilt_bp", "retired_cadre", "chronic_disease", "maternity_quota",
             "resident_category"},
    "cap": {"retired_cadre", "chronic_disease", "maternity_quota", "maternity_factor_bp", "resident_category"},
    "tier": {"tier_status"},
    "maf": {"pays_maf", "assistance_status"},
    "allowance": {"allowance_days"},
    "grant": {"grant_units"},
}
_CONCLUDES = {r.id: set(re.findall(r"[a-z_]+", r.concludes)) for r in RULES}


@dataclass(frozen=True)
class ShareLines:
    """The lines of items with a fixed person share (the catalogue's `person_share`)."""

    claim_pos: np.ndarray
    path: np.ndarray  # the tariff path of its catalogue row's person_share (object)
    person_bp: np.ndarray
    fund: np.ndarray  # fen the basic fund pays directly
    covered: np.ndarray  # fen: the person's share + the fund's part


@dataclass(frozen=True)
class Cash:
    """The maternity cash benefits per claim (fen), with what made them."""

    allowance: np.ndarray
    wage: np.ndarray
    days: np.ndarray
    grant: np.ndarray
    grant_units: np.ndarray
    grant_one: np.ndarray  # the grant of one unit
    grant_months_bp: np.ndarray  # wage months of a wage-based grant, 0: a fixed amount


@dataclass
class _Rows:
    """Blocks of steps, gathered as arrays; text as codes into one list."""

    rules_fired: pd.Series
    terms: TermArrays
    texts: list[str] = field(default_factory=lambda: [""])
    index: dict[str, int] = field(default_factory=lambda: {"": 0})
    blocks: list[dict[str, np.ndarray]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.fired_code, self.fired = pd.factorize(self.rules_fired)

    def code(self, text: str) -> int:
        if text not in self.index:
            self.index[text] = len(self.texts)
            self.texts.append(text)
        return self.index[text]

    def path(self, rows: np.ndarray, key: str, band: int | None = None) -> np.ndarray:
        """Per row the code of its combination's tariff path for `key` (band `band` of a tuple)."""
        per_combo = []
        for paths in self.terms.paths:
            value = paths.get(key, "")
            if band is not None:
                value = value[band] if band < len(value) else ""  # type: ignore[arg-type]
            per_combo.append(self.code(str(value)))
        return np.array(per_combo + [0], dtype=np.int64)[self.terms.combo[rows]]

    def rule_ids(self, rows: np.ndarray, kind: str, fixed: str = "") -> np.ndarray:
        """Per row the rules fired on its claim that set this kind of step's terms, then `fixed`."""
        columns = TERM_COLUMNS.get(kind, set())
        per_fired = [self.code(";".join([r for r in fired if _CONCLUDES.get(r, set()) & columns]
                                        + ([fixed] if fixed else []))) for fired in self.fired]
        return np.array(per_fired + [self.code(fixed)], dtype=np.int64)[self.fired_code[rows]]

    def add(self, rows: np.ndarray, order: int, fund: str | np.ndarray, action: str, label: str | np.ndarray,
            amount: np.ndarray, *, base: np.ndarray | None = None, ratio: np.ndarray | None = None,
            limit: np.ndarray | None = None, path: np.ndarray | None = None,
            rules: np.ndarray | None = None) -> None:
        n = len(rows)
        if not n:
            return

        def text(v: str | np.ndarray) -> np.ndarray:
            return np.full(n, self.code(v), np.int64) if isinstance(v, str) else v

        def number(v: np.ndarray | None) -> np.ndarray:
            return np.full(n, NONE, np.int64) if v is None else np.where(v == NO_LIMIT, NONE, v)

        self.blocks.append({
            "claim_pos": rows, "order": np.full(n, order, np.int64), "fund": text(fund), "action": text(action),
            "label_zh": text(label), "tariff_path": np.zeros(n, np.int64) if path is None else path,
            "base": number(base), "ratio_bp": number(ratio), "limit": number(limit), "amount": amount,
            "rule_ids": np.zeros(n, np.int64) if rules is None else rules})

    def frame(self) -> pd.DataFrame:
        columns = ("claim_pos", "order", "fund", "action", "label_zh", "tariff_path", "base", "ratio_bp",
                   "limit", "amount", "rule_ids")
        data = {c: np.concatenate([b[c] for b in self.blocks]) if self.blocks else np.zeros(0, np.int64)
                for c in columns}
        order = np.lexsort((data["order"], data["claim_pos"]))
        data = {c: v[order] for c, v in data.items()}
        pos = data["claim_pos"]
        first = np.r_[True, pos[1:] != pos[:-1]] if len(pos) else np.zeros(0, bool)
        start = np.maximum.accumulate(np.where(first, np.arange(len(pos)), 0)) if len(pos) else pos
        out = pd.DataFrame({"claim_pos": pos, "step": np.arange(len(pos)) - start + 1})
        for c in ("fund", "action", "label_zh", "tariff_path"):
            out[c] = text_column(data[c], self.texts)
        for c in ("base", "ratio_bp", "limit", "amount"):
            out[c] = data[c]
        out["rule_ids"] = text_column(data["rule_ids"], self.texts)
        return out


def _lines(r: _Rows, sums: dict[str, np.ndarray], by_code: dict[str, np.ndarray],
           titles: dict[str, str]) -> None:
    for i, code in enumerate(EDIT_CODES):
        amount = by_code.get(code)
        if amount is None:
            continue
        rows = np.flatnonzero(amount > 0)
        r.add(rows, i, "lines", "violation", f"违规扣除 {titles.get(code, code)} ({code})", amount[rows],
              rules=np.full(len(rows), r.code(AUDIT_RULE_IDS[code]), np.int64))
    for i, (action, (name, label)) in enumerate(SPLIT_ACTIONS.items()):
        rows = np.flatnonzero(sums[name] > 0)
        r.add(rows, 10 + i, "lines", action, label, sums[name][rows])


def _basic(r: _Rows, a: dict[str, np.ndarray], t: TermArrays, inscp: np.ndarray) -> None:
    paid = np.flatnonzero(t.pool > 0)
    ded = paid[t.pool[paid] != MATERNITY]  # maternity has no deductible: quotas only
    r.add(ded, 20, "hifp", "deductible", "起付线（个人自付）", np.zeros(len(ded), np.int64), base=inscp[ded],
          limit=a["act_pay_dedc"][ded], path=r.path(ded, "deductible"), rules=r.rule_ids(ded, "deductible"))
    for kind, key in zip(COVERED_CAPS, ("covered_visit", "covered_month", "covered_year")):
        rows = np.flatnonzero(a["_cov_cap"] == kind)  # it cuts the bands' base: after the deductible, before them
        r.add(rows, 20, "hifp", "covered_cap", COVERED_CAPS[kind][1], np.zeros(len(rows), np.int64),
              base=a["_cov_base"][rows], limit=a["_cov_limit"][rows], path=r.path(rows, key),
              rules=r.rule_ids(rows, "cap", "CAP-006"))
    for b in range(BANDS):
        rows = paid[a["_t_band_base"][paid, b] > 0]
        r.add(rows, 21 + b, "hifp", "band", f"统筹基金 第{b + 1}段", a["_t_band_amt"][rows, b],
              base=a["_t_band_base"][rows, b], ratio=t.bps[rows, b], path=r.path(rows, "bands", b),
              rules=r.rule_ids(rows, "band"))
    for kind, (key, rule, label) in CAPS.items():
        rows = np.flatnonzero(a["_hifp_cap"] == kind)
        r.add(rows, 26, "hifp", key, label, a["hifp_pay"][rows] - a["_hifp_uncapped"][rows],
              base=a["_hifp_uncapped"][rows], limit=a["_t_hifp_limit"][rows], path=r.path(rows, key),
              rules=r.rule_ids(rows, "cap", rule))


def _shares(r: _Rows, a: dict[str, np.ndarray], t: TermArrays, s: ShareLines) -> None:
    """Per claim and fixed-share item, what the basic fund paid directly (where it pays at all)."""
    paying = t.pool[s.claim_pos] > 0
    if not paying.any():
        return
    path, paths = pd.factorize(s.path[paying])
    key = np.stack([s.claim_pos[paying], path, s.person_bp[paying]])
    groups, which = np.unique(key, axis=1, return_inverse=True)
    which = which.ravel()
    fund = np.bincount(which, weights=s.fund[paying], minlength=groups.shape[1]).astype(np.int64)
    covered = np.bincount(which, weights=s.covered[paying], minlength=groups.shape[1]).astype(np.int64)
    coded = np.array([r.code(p) for p in paths] + [0], np.int64)
    r.add(groups[0], 25, "hifp", "item_share", "定比项目 统筹直接支付", fund, base=covered,
          ratio=BP - groups[2], path=coded[groups[1]])


def _tier_steps(r: _Rows, a: dict[str, np.ndarray], t: TermArrays, has: np.ndarray, fund: np.ndarray,
                prefix: str, order: int) -> None:
    """The tiers and the cap of one tier fund (`cat`, or `la`: large-amount beside catastrophic)."""
    name, tiers, bps = ("_t_tier", "tiers", t.cat_bps) if prefix == "cat" else ("_t_la_tier", "la_tiers", t.la_bps)
    base = a[f"{name}1_base"][has] - a[f"{name}0_base"][has]
    amount = a[f"{name}1_amt"][has] - a[f"{name}0_amt"][has]
    for b in range(BANDS):
        hit = base[:, b] > 0
        rows = has[hit]
        r.add(rows, order + b, fund[hit], "tier", f"第{b + 1}档", amount[hit, b], base=base[hit, b],
              ratio=bps[rows, b], path=r.path(rows, tiers, b), rules=r.rule_ids(rows, "tier"))
    paid, uncapped = a[f"_{prefix}"], a[f"_{prefix}_uncapped"]
    hit = paid[has] < uncapped[has]
    rows = has[hit]
    r.add(rows, order + 4, fund[hit], "cap", "年度支付限额", paid[rows] - uncapped[rows],
          base=uncapped[rows], limit=a[f"_t_{prefix}_limit"][rows], path=r.path(rows, f"{prefix}_cap"),
          rules=r.rule_ids(rows, "tier", "CAP-004"))


def _catastrophic(r: _Rows, a: dict[str, np.ndarray], t: TermArrays) -> None:
    la = np.flatnonzero(t.la > 0)
    _tier_steps(r, a, t, la, np.full(len(la), r.code("hifob"), np.int64), "la", 28)
    has = np.flatnonzero(t.cat_fund > 0)
    fund = np.where(t.cat_fund[has] == FUND_HIFMI, r.code("hifmi"), r.code("hifob"))
    _tier_steps(r, a, t, has, fund, "cat", 33)


def _assistance(r: _Rows, a: dict[str, np.ndarray], t: TermArrays) -> None:
    has = np.flatnonzero(t.maf > 0)
    _stage_steps(r, a, t, has, 1, 40)
    _stage_steps(r, a, t, has[t.maf2[has] > 0], 2, 46)


def _stage_steps(r: _Rows, a: dict[str, np.ndarray], t: TermArrays, has: np.ndarray, stage: int,
                 order: int) -> None:
    """Deductible, layers and cap of one assistance stage (the single-stage form is stage 1)."""
    key, second = ("maf", "") if stage == 1 else ("maf2", "第二段")
    ded = a["_maf_ded"] if stage == 1 else a["_maf2_ded"]
    layer = "_t_layer" if stage == 1 else "_t_layer2"
    rows = has[ded[has] > 0]
    r.add(rows, order, "maf", "deductible", f"{second}救助起付线（个人自付）", np.zeros(len(rows), np.int64),
          base=a[f"_t_{key}_base"][rows], limit=ded[rows], path=r.path(rows, f"{key}_ded"),
          rules=r.rule_ids(rows, "maf"))
    for b in range(BANDS):
        rows = has[a[f"{layer}_base"][has, b] > 0]
        r.add(rows, order + 1 + b, "maf", "assistance_layer", f"{second}救助 第{b + 1}档", a[f"{layer}_amt"][rows, b],
              base=a[f"{layer}_base"][rows, b], ratio=t.arrays[f"{key}_bps"][rows, b],
              path=r.path(rows, f"{key}_bands", b), rules=r.rule_ids(rows, "maf"))
    paid, uncapped, own = a[f"_maf{stage}"], a[f"_{key}_uncapped"], a[f"_maf{stage}_own_cap"]
    for own_cap, label, path in ((0, "年度救助限额", "maf_cap"), (1, f"{second or '第一段'}救助年度限额", f"maf{stage}_cap")):
        rows = has[(paid[has] < uncapped[has]) & (own[has] == own_cap)]
        r.add(rows, order + 5, "maf", "cap", label, paid[rows] - uncapped[rows], base=uncapped[rows],
              limit=a[f"_t_{key}_limit"][rows], path=r.path(rows, path), rules=r.rule_ids(rows, "maf", "CAP-005"))


def _cash(r: _Rows, c: Cash) -> None:
    rows = np.flatnonzero(c.allowance > 0)
    label = np.array([r.code(f"生育津贴 = 月平均工资 × {d}天 ÷ 计发天数") for d in c.days[rows].tolist()], np.int64)
    r.add(rows, 60, "allowance", "allowance", label, c.allowance[rows], base=c.wage[rows],
          path=np.full(len(rows), r.code("maternity.allowance.divisor_days"), np.int64),
          rules=r.rule_ids(rows, "allowance"))
    rows = np.flatnonzero(c.grant > 0)
    by_wage = c.grant_months_bp[rows] > 0
    label = np.array([r.code(f"一次性生育补助金 × {u}") for u in c.grant_units[rows].tolist()], np.int64)
    r.add(rows, 61, "grant", "grant", label, c.grant[rows], base=np.where(by_wage, c.wage[rows], c.grant_one[rows]),
          ratio=np.where(by_wage, c.grant_months_bp[rows], NONE),
          path=np.where(by_wage, r.code("maternity.grant.wage_months"), r.code("maternity.grant.amount")),
          rules=r.rule_ids(rows, "grant"))


def build_trace(rules_fired: pd.Series, audited: dict[str, np.ndarray], terms: TermArrays,
                sums: dict[str, np.ndarray], by_code: dict[str, np.ndarray], titles: dict[str, str],
                cash: Cash, shares: ShareLines) -> pd.DataFrame:
    """One row per step (claim_pos, step, fund, action, label_zh, tariff_path, base, ratio_bp, limit,
    amount, rule_ids); money in fen, ratios in basis points, NONE where a step has none."""
    r = _Rows(rules_fired.reset_index(drop=True), terms)
    if not len(rules_fired):  # an empty batch
        return r.frame()
    _lines(r, sums, by_code, titles)
    _basic(r, audited, terms, sums["inscp_scp_amt"] - sums["share_selfpay_amt"] - sums["share_fund_amt"])
    _shares(r, audited, terms, shares)
    _catastrophic(r, audited, terms)
    _assistance(r, audited, terms)
    _cash(r, cash)
    return r.frame()
