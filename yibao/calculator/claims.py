"""From lines to claim amounts: the calculator's entry point (docs/domain.md §4).

Lines are split (audited and declared views), summed per claim, paid in settlement order, and
the part each party bears is settled so that for every claim
`medfee_sumamt = fund_pay_sumamt + psn_part_amt + hosp_part_amt`, to the fen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from yibao.calculator import scan
from yibao.calculator.audit import EDIT_CODES, AuditClaims, split_admissions
from yibao.calculator.catalogue import CatalogueArrays
from yibao.calculator.lines import SHARE_FIELDS, SPLIT_FIELDS, LineInputs, Rows, audit_lines, split_lines
from yibao.calculator.maternity import allowance_fen, grant_fen
from yibao.calculator.notes import calculator_reasons
from yibao.calculator.trace import Cash, ShareLines, build_trace
from yibao.calculator.terms import POOLS, build_terms, disease_codes
from yibao.codes import any_bits, mask_text, positions
from yibao.limits import check_total_fen, max_line_yuan
from yibao.money import FEN, yuan_array_to_fen
from yibao.tariffs.catalogue import NO_SHARE
from yibao.tariffs.diff import item_selectors
from yibao.tariffs.registry import LoadedTariff

FUND_FIELDS = ("act_pay_dedc", "hifp_pay", "hifmi_pay", "hifob_pay", "maf_pay", "fund_pay_sumamt")
AMOUNT_FIELDS = ("medfee_sumamt",) + SPLIT_FIELDS + ("violation_amt",) + FUND_FIELDS + (
    "psn_part_amt", "hosp_part_amt")
BENEFIT_FIELDS = SHARE_FIELDS + ("maternity_allowance", "maternity_grant")
"""Amounts beside the identity above: of `inscp_scp_amt`, the fixed-share items' parts; and the
maternity cash benefits, paid to the mother on top of the claim's medical costs."""
LINE_FIELDS = ("medfee_sumamt",) + SPLIT_FIELDS + ("violation_amt",) + SHARE_FIELDS
"""Per line, fen: the amount, its split, the violation and the parts of fixed-share items."""


@dataclass(frozen=True)
class Calculation:
    """Amounts in integer fen; `accumulators` is the table to feed the next batch."""

    claims: pd.DataFrame
    lines: pd.DataFrame
    violations: pd.DataFrame  # mdtrt_id, code, violation_amt: what each audit edit took
    reasons: pa.Table  # the calculator's reasons, an item a row: calculator/notes.py REASONS
    accumulators: pd.DataFrame
    context: pd.DataFrame  # the claims as read, with the conclusions `calculate` was given
    contributions: pd.DataFrame | None = None  # per claim (mdtrt_id first), when asked
    trace: pd.DataFrame | None = None  # claim_pos, step, …: see calculator/trace.py (fen, bp)


BLOCK_LINES = 1 << 18
"""Lines per block: a block's temporaries (its inputs, items and audit edits, about 200 B a line)
are a fixed cost beside the batch's own arrays; at 2^20 lines they set the process's peak (5M
lines: 0.6 GB of 2.5 GB)."""


@dataclass(frozen=True)
class LineTotals:
    """The audited split of every line, and what the claims need of the rest."""

    lines: dict[str, np.ndarray]  # per line, fen: LINE_FIELDS
    sums: dict[str, np.ndarray]  # per claim, fen: LINE_FIELDS
    mask: np.ndarray  # per line: violation bit mask over EDIT_CODES
    declared_inscp: np.ndarray  # per claim: in-policy amount with the edits off
    declared_shares: np.ndarray  # per claim [n, 2]: SHARE_FIELDS with the edits off
    person_bp: np.ndarray  # per line: the item's fixed person share (NO_SHARE: none)
    by_code: dict[str, np.ndarray]  # per claim: what each edit took (codes that occur, edit order)
    cat_pos: np.ndarray | None  # per line, kept for a trace: its row of its tariff's catalogue (-1: none)


def _line_dtype() -> type:
    """The type of the per-line amounts in fen: every one is at most its line's amount, which the
    input bound keeps below 2^31 fen unless a region raised it (`limits.max_line_yuan`); int32
    then, half the memory of ten million lines' eight amounts (320 MB)."""
    return np.int32 if max_line_yuan() * FEN < 2**31 else np.int64


def _blocks(claim_pos: np.ndarray, line_tariff: np.ndarray, n_claims: int,
            n_tariffs: int) -> list[tuple[Rows, int]]:
    """Rows of each (block of whole claims, tariff version), ascending, with the version. Whole
    claims, because the quantity edits look across a claim's lines. Lines that come claim by
    claim, as hospitals send them, are cut into runs (`_runs`), others sorted (`_sorted`)."""
    if len(claim_pos) and (claim_pos[1:] >= claim_pos[:-1]).all():
        return _runs(claim_pos, line_tariff)
    return _sorted(claim_pos, line_tariff, n_claims, n_tariffs)


def _sorted(claim_pos: np.ndarray, line_tariff: np.ndarray, n_claims: int,
            n_tariffs: int) -> list[tuple[Rows, int]]:
    """`_blocks` of lines in any order: a claim is in the block of the lines before it, counted
    in claim order."""
    per_claim = np.bincount(claim_pos, minlength=n_claims)
    block = (np.cumsum(per_claim) - per_claim) // BLOCK_LINES
    key = block[claim_pos] * n_tariffs + line_tariff
    order = np.argsort(key.astype(np.int16 if key.max(initial=0) < 2**15 else np.int64), kind="stable")
    ends = np.cumsum(np.bincount(key))
    return [(rows, int(line_tariff[rows[0]])) for rows in np.split(order, ends[:-1]) if len(rows)]


def _runs(claim_pos: np.ndarray, line_tariff: np.ndarray) -> list[tuple[Rows, int]]:
    """`_blocks` of lines in claim order: the blocks `_sorted` makes (the lines before a claim
    are those before its first line), each a run of rows, split by version where its claims
    are under several. 10M lines: 0.2 s of sorting, and of copying each block's inputs, less."""
    n = len(claim_pos)
    at = np.arange(BLOCK_LINES, n, BLOCK_LINES)
    # a block starts with the first claim that starts at or after its first row
    later = np.searchsorted(claim_pos, claim_pos[at], side="right")
    edges = np.unique(np.r_[0, np.where(claim_pos[at] != claim_pos[at - 1], at, later), n])
    out: list[tuple[Rows, int]] = []
    for start, stop in zip(edges[:-1].tolist(), edges[1:].tolist()):
        versions = line_tariff[start:stop]
        if (versions == versions[0]).all():
            out.append((slice(start, stop), int(versions[0])))
        else:
            out += [(start + np.flatnonzero(versions == v), int(v)) for v in np.unique(versions)]
    return out


class _LinePass:
    """Both views of every line, each tariff version's lines against its own catalogue.

    The line pass needs one rule conclusion, `waive_preselfpay` (门诊慢特病 groups paid without
    the 乙类 pre-self-pay), so it runs before the conclusions come, as if nothing were waived;
    once they are there, `totals` runs the few waived claims' lines again, their claims' sums
    started over. The edits (`mask`, `by_code`) need no conclusion: they are final at once."""

    def __init__(self, li: LineInputs, claims: pd.DataFrame, tariffs: dict[str, LoadedTariff],
                 trace: bool = False) -> None:
        n, self.n_claims = len(li.claim_pos), len(claims)
        self.li = li
        self.audited = tuple(np.zeros(n, _line_dtype()) for _ in LINE_FIELDS)
        self.sums = np.zeros((len(LINE_FIELDS), self.n_claims), np.int64)
        self.declared = np.zeros((1 + len(SHARE_FIELDS), self.n_claims), np.int64)
        self.taken = np.zeros((len(EDIT_CODES), self.n_claims), np.int64)
        self.mask = np.zeros(n, np.int8)  # 7 edits: a bit each
        self.person_bp = np.full(n, NO_SHARE, np.int16)  # bp fit: a small array beside ten million lines
        self.cat_pos = np.full(n, -1, np.int32) if trace else None  # a trace names the catalogue row
        self.audit_claims = AuditClaims.of(claims)
        self.catalogues = [CatalogueArrays.of(lt, li.items) for lt in tariffs.values()]
        self.line_tariff = positions(claims["tariff_key"], list(tariffs)).astype(np.int16)[li.claim_pos]
        self._run(None, np.zeros(self.n_claims, dtype=bool))

    def _run(self, lines: np.ndarray | None, waive: np.ndarray) -> None:  # lines: None for all
        li, line_tariff = self.li, self.line_tariff
        claim_pos, tariff = (li.claim_pos, line_tariff) if lines is None else (li.claim_pos[lines], line_tariff[lines])
        for rows, version in _blocks(claim_pos, tariff, self.n_claims, len(self.catalogues)):
            rows = rows if lines is None else lines[rows]
            block = li.take(rows)
            made = audit_lines(block, self.audit_claims, self.catalogues[version])
            split_lines(block, rows, made, waive, self.audited, self.sums, self.declared, self.taken)
            self.mask[rows] = made[1].mask
            self.person_bp[rows] = made[0].person_bp
            if self.cat_pos is not None:
                self.cat_pos[rows] = made[0].cat_pos

    @property
    def by_code(self) -> dict[str, np.ndarray]:
        """Per claim what each edit took (codes that occur, edit order)."""
        return {code: self.taken[i] for i, code in enumerate(EDIT_CODES) if (self.taken[i] > 0).any()}

    def totals(self, waive: np.ndarray) -> LineTotals:
        if waive.any():
            for totals in (self.sums, self.declared, self.taken):
                totals[:, waive] = 0
            self._run(np.flatnonzero(waive[self.li.claim_pos]), waive)
        return LineTotals(dict(zip(LINE_FIELDS, self.audited)), dict(zip(LINE_FIELDS, self.sums)), self.mask,
                          self.declared[0], self.declared[1:].T, self.person_bp, self.by_code, self.cat_pos)


def calculate(claims: pd.DataFrame, lines: pd.DataFrame, tariffs: dict[str, LoadedTariff],
              accumulators: pd.DataFrame, contributions: bool = False, trace: bool = False,
              conclusions: Callable[[pd.DataFrame], pd.DataFrame] | None = None, inputs_read: Callable[[], None] | None = None,
              lines_final: Callable[[pd.DataFrame], None] | None = None,
              months: pd.DataFrame | None = None) -> Calculation:
    """Amounts of every claim. `claims` carries the claim, person and institution columns and the
    rule base's conclusions (docs/ARCHITECTURE.md), or gets them after the line pass, which needs
    none of them, as `conclusions(claims)` (`Calculation.context`); `lines.claim_pos` indexes `claims`. `trace`: also
    the steps of every claim's arithmetic (off, it costs nothing). `inputs_read` is called once
    the line pass is done: from then on only mdtrt_id, line_id, med_list_codg and claim_pos of
    `lines` are read, and the caller may drop the rest. `lines_final` is called then too, with the
    lines' table (`Calculation.lines`): nothing the claims' settlement does changes it. `months`:
    what earlier batches counted in each month (`scan.MONTH_COLUMNS`, the ledger's)."""
    n = len(claims)
    pos = lines["claim_pos"].to_numpy()
    passed = _LinePass(LineInputs.of(lines, pos), claims, tariffs, trace)
    # what needs no rule conclusion is made while they may still be coming (10M lines: 0.9 s)
    violations = _violations(claims["mdtrt_id"], passed.by_code)
    line_violations = mask_text(passed.mask, EDIT_CODES).array
    violation_codes = mask_text(any_bits(passed.mask, pos, n), EDIT_CODES).to_numpy()
    suspect_codes = np.where(split_admissions(claims, _split_window(claims, tariffs)), "SPLIT_ADMISSION", "")
    diseases = disease_codes(tariffs, accumulators)
    order = scan.Order.of(claims, accumulators, diseases, months)
    if conclusions is not None:
        claims = conclusions(claims)
    totals = passed.totals(claims["waive_preselfpay"].to_numpy(dtype=bool))
    del passed
    if inputs_read is not None:
        inputs_read()
    # the frame takes the arrays as they are (no copy): at ten million lines a copy is 0.5 GB
    line_out = pd.DataFrame({c: lines[c].array for c in ("mdtrt_id", "line_id", "med_list_codg")}
                            | {f: totals.lines[f] for f in LINE_FIELDS} | {"violations": line_violations}, copy=False)
    if lines_final is not None:
        lines_final(line_out)
    sums = totals.sums
    # lines are bounded at reading; what they add up to must still fit the ratio arithmetic
    check_total_fen(float(totals.lines["medfee_sumamt"].sum(dtype=np.float64)), "the batch's line amounts")

    terms = build_terms(claims, tariffs)
    direct = (claims["settlement_mode"] == "direct").to_numpy()
    # only a direct claim has a declared view (what it drew at discharge) of its own
    declared_inscp = np.where(direct, totals.declared_inscp, sums["inscp_scp_amt"])
    shares = np.stack([sums[f] for f in SHARE_FIELDS], axis=1)
    declared_shares = np.where(direct[:, None], totals.declared_shares, shares)
    result = scan.run(order, sums["inscp_scp_amt"], declared_inscp, terms, diseases,
                      contributions=contributions, trace=trace, shares=(shares, declared_shares))
    zeros = np.zeros(n, np.int64)
    paid = {f: result.audited.get(f, zeros) for f in FUND_FIELDS}
    declared_funds = result.declared_funds

    hosp = np.where(direct, np.maximum(declared_funds - paid["fund_pay_sumamt"], 0), 0)
    medfee = sums["medfee_sumamt"]
    wage = yuan_array_to_fen(np.nan_to_num(claims["employer_avg_monthly_wage"].to_numpy(dtype=np.float64)))
    days = claims["allowance_days"].to_numpy(dtype=np.int64)
    version = positions(claims["tariff_key"], list(tariffs))  # -1: none
    allowance = allowance_fen(days, wage, version, tariffs)
    grant_units = claims["grant_units"].to_numpy(dtype=np.int64)
    grant, grant_one, grant_months_bp = grant_fen(grant_units, wage, version, tariffs)
    # gathered, then framed once: a column set into a frame costs a quarter of a millisecond
    out = pd.DataFrame({"mdtrt_id": claims["mdtrt_id"].to_numpy()} | {f: sums[f] for f in LINE_FIELDS}
                       | {f: paid[f] for f in FUND_FIELDS}
                       | {"psn_part_amt": medfee - paid["fund_pay_sumamt"] - hosp, "hosp_part_amt": hosp,
                          "declared_fund_pay_sumamt": np.where(direct, declared_funds, paid["fund_pay_sumamt"]),
                          "fund_pool": np.array(POOLS, dtype=object)[terms.pool], "pool_prop_bp": terms.pool_prop_bp,
                          "maternity_allowance": allowance, "maternity_grant": grant,
                          "violation_codes": violation_codes, "suspect_codes": suspect_codes}, copy=False)
    titles = {e.code: e.title for lt in tariffs.values() for e in lt.tariff.audit.edits}
    reasons = calculator_reasons(lines["line_id"], pos, totals.mask, totals.by_code, titles, result.audited, terms)
    steps = None
    if trace:
        cash = Cash(allowance, wage, days, grant, grant_units, grant_one, grant_months_bp)
        steps = build_trace(claims["rules_fired"], result.audited, terms, sums, totals.by_code, titles, cash,
                            _share_lines(pos, version, totals, tariffs))
    return Calculation(out, line_out, violations, reasons,
                       scan.state_table(result.state, result.groups, diseases), claims,
                       None if result.contributions is None else
                       scan.state_frame(result.contributions, diseases, {"mdtrt_id": out["mdtrt_id"].to_numpy()}),
                       steps)


def _share_lines(pos: np.ndarray, version: np.ndarray, totals: LineTotals,
                 tariffs: dict[str, LoadedTariff]) -> ShareLines:
    """The lines of items with a fixed person share, for the trace, each with the path of its
    catalogue row: `[code=X]`, or `[code=X,valid_from=D]` where the code is listed for more than
    one period, as `tariffs show` prints it and `--set` reads it."""
    shared = np.flatnonzero(totals.person_bp != NO_SHARE)
    assert totals.cat_pos is not None  # kept with a trace
    claim_pos = pos[shared]
    rows = np.stack([version[claim_pos], totals.cat_pos[shared]])
    distinct, which = np.unique(rows, axis=1, return_inverse=True)
    selectors = {v: item_selectors(lt.catalogue) for v, lt in enumerate(tariffs.values()) if v in distinct[0]}
    paths = np.array([f"catalogue{selectors[v][k]}.person_share" for v, k in distinct.T], dtype=object)
    fund, person = totals.lines["share_fund_amt"][shared], totals.lines["share_selfpay_amt"][shared]
    return ShareLines(claim_pos, paths[which.ravel()], totals.person_bp[shared], fund, person + fund)


def _violations(claim_ids: pd.Series, by_code: dict[str, np.ndarray]) -> pd.DataFrame:
    """What each audit edit took from each claim: rows (mdtrt_id, code, violation_amt > 0),
    sorted by claim id and code (Arrow sorts the claims that lost something, in UTF-8 byte order,
    which is code point order, as Python's)."""
    parts = [(np.flatnonzero(total > 0), code) for code, total in by_code.items()]
    claim_pos = np.concatenate([p for p, _ in parts]) if parts else np.zeros(0, np.int64)
    codes = np.concatenate([np.full(len(p), c, dtype=object) for p, c in parts]) if parts else np.zeros(0, object)
    amounts = np.concatenate([by_code[c][p] for p, c in parts]) if parts else np.zeros(0, np.int64)
    ids = pa.array(claim_ids.array).cast(pa.large_string())
    rows = pa.table({"mdtrt_id": ids.take(pa.array(claim_pos, pa.int64())),
                     "code": pa.array(codes, pa.large_string()), "violation_amt": pa.array(amounts, pa.int64())})
    return rows.sort_by([("mdtrt_id", "ascending"), ("code", "ascending")]).to_pandas()


def _split_window(claims: pd.DataFrame, tariffs: dict[str, LoadedTariff]) -> int:
    windows = {lt.tariff.audit.split_admission_days for lt in tariffs.values()}
    return max(windows) if windows else 0
