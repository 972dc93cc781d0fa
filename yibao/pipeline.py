"""The one scoring pipeline: batch tables → rule conclusions → amounts → result.

`yibao whatif` (a case as a batch of one), `yibao score` (a month of claims) and settlement jobs
(`yibao.score(...)`) all run `score_batch`, so a claim gets the same answer whichever way it
comes in. Nothing is lost: a claim that cannot be scored (no tariff in force, terms the tariff
does not define) leaves the batch for `rejects` with its reason, and so do its lines.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from yibao.beside import Beside
from yibao.booked import Booked
from yibao.calculator.claims import AMOUNT_FIELDS, BENEFIT_FIELDS, calculate
from yibao.calculator.dates import day_array
from yibao.calendar import WorkCalendar, default_calendar
from yibao.errors import InputError, kind, quoted
from yibao.explain import reason_columns, trace_output
from yibao.io import Batch, row_group_rows
from yibao.later import Later
from yibao.money import BP
from yibao.rules.deadlines import due_dates
from yibao.rules.engine import Distinct, concat_distinct, distinct_conclusions, empty_distinct, spread
from yibao.rules.facts import duplicate_facts, fact_arrays
from yibao.tables import LIST_SEP
from yibao.tariffs import registry
from yibao.tariffs.model import Tariff
from yibao.tariffs.registry import LoadedTariff
from yibao.codes import distinct_codes, distinct_text, positions, text_column

REJECT_COLUMNS = ["table", "file", "row", "column", "key", "reason"]
BESIDE_LINES = 100_000
"""From this many lines on, the rules conclude in a forked child beside the line pass (yibao.beside);
below it the fork and the pickled answer would cost more than they save."""
LINE_KEYS = ("mdtrt_id", "line_id", "med_list_codg", "claim_pos")
"""What of a line the calculation reads after its line pass, and the output carries."""
LINE_AMOUNTS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
                "inscp_scp_amt", "violation_amt", "share_selfpay_amt", "share_fund_amt")


@dataclass(frozen=True)
class Result:
    """Scored claims and lines (amounts in yuan, exact to the fen), accumulators after the
    batch, the audit edits' takings by code, and every input row that could not be scored."""

    claims: pd.DataFrame
    scored_lines: Later  # the `lines` frame, made when first read where `ahead` encoded its file
    accumulators: pd.DataFrame
    violations: pd.DataFrame
    rejects: pd.DataFrame
    contributions: pd.DataFrame | None = None  # per claim, what it added to the accumulators (ledger)
    trace: pd.DataFrame | None = None  # with score_batch(trace=True): every step of every claim
    booked: Booked | None = None  # scored through a ledger: the batch it is committed as (an Outcome)

    @property
    def lines(self) -> pd.DataFrame:
        """One row per scored line (amounts in yuan)."""
        return self.scored_lines.frame()


def _reference_dates(claims: pd.DataFrame) -> np.ndarray:
    """The date that selects a claim's tariff version and benefit year."""
    ref = day_array(claims["discharge_date"])
    for fallback in ("admit_date", "submitted_date"):
        ref = np.where(np.isnat(ref), day_array(claims[fallback]), ref)
    return ref


TariffSpec = str | LoadedTariff | Sequence[LoadedTariff] | None
"""An id, `ID@VERSION` or one loaded version (every claim under it), a list of loaded versions
(each claim under the one in force on its date: a tariff folder, an edited set), or None. It is
the tariff of claims without a pooling region, and of those whose region is its id."""

REGION = "region"


def claim_regions(claims: pd.DataFrame, persons: pd.DataFrame | None = None) -> np.ndarray:
    """Per claim its pooling region (统筹区): the claim's `region` cell, else its person's, else
    "" (the batch's default tariff). A city agency scores claims of several counties at once."""
    def cells(frame: pd.DataFrame) -> np.ndarray:
        return frame[REGION].fillna("").astype(str).to_numpy(dtype=object)  # io strips cells

    region = cells(claims) if REGION in claims else np.full(len(claims), "", dtype=object)
    if persons is not None and REGION in persons and len(persons):
        pos = positions(claims["psn_no"], persons["psn_no"])
        theirs = np.where(pos >= 0, cells(persons)[np.maximum(pos, 0)], "")
        region = np.where(region == "", theirs, region)
    return region


def loaded_spec(spec: object) -> TariffSpec:
    """A spec the library was given that is not typed text (an id, a folder): one loaded version,
    a list of them, or None; anything else is refused here rather than failing deep inside."""
    if spec is None or isinstance(spec, LoadedTariff) or (
            isinstance(spec, (list, tuple)) and spec and all(isinstance(lt, LoadedTariff) for lt in spec)):
        return spec  # type: ignore[return-value]
    raise InputError(f"a tariff is an id, ID@VERSION, a folder or loaded versions, not {kind(spec)}")


def spec_id(spec: TariffSpec) -> str:
    if isinstance(spec, LoadedTariff):
        return spec.tariff.id
    if isinstance(spec, (list, tuple)):
        return spec[0].tariff.id if spec else ""
    return (spec or registry.DEFAULT_TARIFF).partition("@")[0]


def tariff_set(specs: Sequence[str | Path]) -> tuple[TariffSpec, dict[str, TariffSpec]]:
    """Users' tariff specs (ids, `ID@VERSION`, folders: `--tariff` given several times) as the
    batch's default tariff, the first, and the tariffs of other regions by id. One region
    given twice is refused: which of the two would score its claims? So is an id or version not
    on the search path, even of a region no claim of the batch is from (its claims would come)."""
    resolved = [registry.tariff_spec(s) for s in specs]
    for spec in resolved:
        if isinstance(spec, str):
            tariff_id, _, version = spec.partition("@")
            if version:
                registry.load_version(tariff_id, version)
            else:
                registry.version_files(tariff_id)
    ids = [spec_id(r) for r in resolved]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise InputError(f"--tariff names region {twice[0]} twice: give each region's tariff once")
    return (resolved[0] if resolved else None), dict(zip(ids[1:], resolved[1:]))


def _candidates(spec: TariffSpec) -> list[tuple[Tariff, Callable[[], LoadedTariff]]]:
    """The versions a spec may score a claim under, each as its terms and how to load it whole
    (catalogue and all, only once a claim needs it): one pinned, a folder's, or the id's."""
    if isinstance(spec, LoadedTariff):
        return [(spec.tariff, lambda: spec)]
    if isinstance(spec, (list, tuple)):
        return [(lt.tariff, lambda lt=lt: lt) for lt in spec]
    tariff_id, _, version = (spec or registry.DEFAULT_TARIFF).partition("@")
    if version:
        pinned = registry.load_version(tariff_id, version)
        return [(pinned.tariff, lambda: pinned)]
    return [(t, partial(registry.load_version, tariff_id, t.version)) for t in registry.versions(tariff_id)]


def spec_versions(spec: TariffSpec) -> list[LoadedTariff]:
    """Every version the spec may score a claim under, loaded."""
    return [load() for _, load in _candidates(spec)]


def _in_force(ref: np.ndarray, spec: TariffSpec) -> tuple[np.ndarray, dict[str, LoadedTariff]]:
    """Per reference date the key of the version of one tariff in force ("" where none is); a
    pinned version (`ID@VERSION`, one loaded) on every date."""
    candidates = _candidates(spec)
    if isinstance(spec, LoadedTariff) or (isinstance(spec, str) and "@" in spec):
        lt = candidates[0][1]()
        return np.full(len(ref), lt.key, dtype=object), {lt.key: lt}
    keys = np.full(len(ref), "", dtype=object)
    used: dict[str, LoadedTariff] = {}
    for t, load in candidates:
        start = np.datetime64(t.effective_from, "D")
        end = np.datetime64(t.effective_to or "2999-12-31", "D")
        hit = (ref >= start) & (ref <= end) & (keys == "")
        if hit.any():
            lt = load()
            keys[hit] = lt.key
            used[lt.key] = lt
    return keys, used


Regions = Mapping[str, TariffSpec]
"""Tariffs of pooling regions given with the batch (a folder off the search path, a pinned
version), by region id: they serve the claims of that region before the search path does."""


def known_regions(regions: Regions | None = None) -> dict[str, TariffSpec]:
    """Region id → the tariff its claims are scored under: the search path's, then `regions`."""
    return {r: r for r in registry.region_dirs()} | dict(regions or {})


def assign_tariffs(claims: pd.DataFrame, spec: TariffSpec, persons: pd.DataFrame | None = None,
                   regions: Regions | None = None) -> tuple[np.ndarray, dict[str, LoadedTariff], np.ndarray]:
    """Per claim the key of its tariff version ("" where none is in force, or its region is
    unknown), the versions used, and the reference dates. Claims are grouped by region, then
    by date: `spec` serves claims without a region and those of its own id; any other region
    is its tariff in `regions`, else the tariff of that id on the search path."""
    ref = _reference_dates(claims)
    region = claim_regions(claims, persons)
    default = (region == "") | (region == spec_id(spec))
    keys = np.full(len(claims), "", dtype=object)
    used: dict[str, LoadedTariff] = {}
    known = known_regions(regions)
    groups = [(default, spec)] + [(region == r, known[r]) for r in sorted(set(region[~default])) if r in known]
    for rows, group_spec in groups:
        if rows.any():
            keys[rows], versions = _in_force(ref[rows], group_spec)
            used.update(versions)
    return keys, used, ref


PERIODS_NAMED = 4
"""Versions whose periods a message names one by one; a longer history is named by its span."""


def _periods(spec: TariffSpec) -> str:
    """The periods of a tariff's versions, as a claim no version is in force on is told them."""
    tariffs = sorted((t for t, _ in _candidates(spec)), key=lambda t: t.effective_from)
    spans = [f"{t.effective_from} to {t.effective_to or 'open'}" for t in tariffs]
    if len(spans) > PERIODS_NAMED:
        return f"{len(spans)} versions, {tariffs[0].effective_from} to {tariffs[-1].effective_to or 'open'}"
    return ", ".join(spans)


def no_tariff_reasons(claims: pd.DataFrame, persons: pd.DataFrame, rows: np.ndarray,
                      regions: Regions | None = None, spec: TariffSpec = None) -> tuple[np.ndarray, np.ndarray]:
    """Why each claim of `rows` has no tariff, and the claim's column to fix: an unknown region
    (the claim's own cell, or its person's), else its date, the one that chooses the version
    (`_reference_dates`), beside the periods of the versions of its tariff (`spec`'s where the
    claim names no other region)."""
    region, own = claim_regions(claims[rows], persons), claim_regions(claims[rows])
    known = known_regions(regions)
    unknown = (region != "") & ~np.isin(region, list(known))
    names = ", ".join(sorted(known))
    where = np.where(own != "", f"column {REGION}", f"the person's {REGION} (persons table)")
    ref = _reference_dates(claims[rows])
    days = np.where(np.isnat(ref), "(none given)", np.datetime_as_string(ref, unit="D"))
    default = (region == "") | (region == spec_id(spec))
    tariff_of = np.where(default, spec_id(spec), region)
    periods = {t: _periods(spec if t == spec_id(spec) else known[t]) for t in set(tariff_of[~unknown])}
    reason = [f"unknown pooling region {quoted(r)} in {w} (known: {names})" if u else
              f"no version of {t} in force on the claim's date, {d} (its versions: {periods[t]})"
              for r, w, u, t, d in zip(region, where, unknown, tariff_of, days)]
    return np.array(reason, dtype=object), np.where(unknown & (own != ""), REGION, "").astype(object)


def undefined_categories(claims: pd.DataFrame, persons: pd.DataFrame, keys: np.ndarray,
                         tariffs: dict[str, LoadedTariff]) -> np.ndarray:
    """Per claim why its person's `resident_category` cell is not a category of the claim's
    tariff ("" where it is, or is empty): a slip there would pay the person under other terms.
    Where the cell can choose no terms it is not read: a tariff without categories (a late claim
    of the year before categories came), an employee (categories are residents')."""
    pos = positions(claims["psn_no"], persons["psn_no"])
    cells = persons["resident_category"].fillna("").astype(str).to_numpy(dtype=object)
    resident = (persons["insutype"].astype(str) == "390").to_numpy(dtype=bool)
    named = np.where(pos >= 0, cells[np.maximum(pos, 0)] if len(cells) else "", "")
    named = np.where((pos >= 0) & resident[np.maximum(pos, 0)] if len(cells) else False, named, "")
    reason = np.full(len(claims), "", dtype=object)
    for key, lt in tariffs.items():
        defined = [c.name for c in lt.tariff.resident_categories]
        if not defined:
            continue
        bad = (keys == key) & (named != "") & ~np.isin(named, defined)
        reason[bad] = [f"the person's resident_category {quoted(v)} is not a resident category of {key} "
                       f"(it defines: {', '.join(defined) or 'none'})" for v in named[bad]]
    return reason


def _claim_context(batch: Batch, keys: np.ndarray, ref: np.ndarray) -> pd.DataFrame:
    """Claims with the person and institution columns the calculator reads, each claim's tariff
    version (`keys`), settlement date and year (`ref`: its date the tariff is chosen by). The new
    columns join the claims' in one step: set one by one, each cost a quarter of a millisecond
    even for one claim."""
    persons, inst, c = batch.persons, batch.institutions, batch.claims
    p_pos = positions(c["psn_no"], persons["psn_no"])
    i_pos = positions(c["institution_id"], inst["institution_id"])
    added = {col: persons[col].take(p_pos).array  # io keeps no claim without its person
             for col in ("gender", "birth_date", "insutype", "employee_status", "employer_avg_monthly_wage")}
    level = inst["level"].astype("Int64").fillna(0).to_numpy(dtype=np.int64)
    added["level"] = np.where(i_pos >= 0, level[np.maximum(i_pos, 0)] if len(level) else 0, 0)
    added["tariff_key"] = keys
    manual = (c["settlement_mode"] == "manual").to_numpy()
    submitted = day_array(c["submitted_date"])
    added["setl_date"] = np.where(manual & ~np.isnat(submitted), submitted, ref)
    added["year"] = ref.astype("datetime64[Y]").astype(np.int64) + 1970
    return _joined_columns(c, pd.DataFrame(added, index=c.index, copy=False))


def _joined_columns(frame: pd.DataFrame, more: pd.DataFrame) -> pd.DataFrame:
    """`frame` with the columns of `more` (same rows, names of its own) after its own."""
    return pd.concat([frame, more.set_axis(frame.index)], axis=1)


def _subset(batch: Batch, rows: np.ndarray) -> Batch:
    """The claims of one tariff version; the rules read no lines."""
    if len(rows) == len(batch.claims):
        return batch
    return replace(batch, claims=batch.claims.iloc[rows])


@dataclass(frozen=True)
class Concluded:
    """The rules' conclusions as they come back from the child: each distinct conclusion row once
    and per claim its row, spread over the claims where they are read (a frame of every claim's
    conclusions pickled was 137 MB at 10M lines, the peak of the run)."""

    table: Distinct  # conclusion columns (CONCLUSIONS), a row per distinct facts row
    codes: np.ndarray  # per claim its row of `table`
    due_date: np.ndarray  # per claim, datetime64[D]
    calendar_estimated: np.ndarray  # per claim, bool

    def spread(self) -> pd.DataFrame:
        """A row of conclusions per claim, in the claims' order, with the due dates."""
        return spread(self.table, self.codes, pd.RangeIndex(len(self.codes))).assign(
            due_date=self.due_date, calendar_estimated=self.calendar_estimated)


def _conclude(batch: Batch, keys: np.ndarray, tariffs: dict[str, LoadedTariff],
              calendar: WorkCalendar, earlier: pd.DataFrame | None = None) -> Concluded:
    """Rule conclusions and due dates of every claim (each has a tariff version: the claims
    without one have left the batch), evaluated per tariff version; the duplicate check looks
    across versions (and at `earlier`, the claims paid before). The versions' distinct
    conclusions are joined into one table."""
    n = len(keys)
    codes = np.zeros(n, dtype=np.int64)
    due, estimated = np.full(n, np.datetime64("NaT", "D")), np.zeros(n, dtype=bool)
    if not tariffs:  # no claim to conclude on: an empty batch
        return Concluded(empty_distinct(), codes, due, estimated)
    duplicates = duplicate_facts(batch, earlier)
    tables: list[Distinct] = []
    for key, lt in tariffs.items():
        rows = np.flatnonzero(keys == key)
        sub = _subset(batch, rows)
        facts = fact_arrays(sub, lt, calendar, duplicates.iloc[rows])
        table, at = distinct_conclusions(facts, lt)
        codes[rows] = at + sum(len(t["rule_decision"]) for t in tables)
        tables.append(table)
        timing = pd.DataFrame({name: table[name][at] for name in ("due_workdays", "due_quarterly")})
        due[rows] = due_dates(sub.claims.reset_index(drop=True), timing, lt, calendar)
        estimated[rows] = _calendar_estimated(facts, due[rows], calendar)
    return Concluded(concat_distinct(tables), codes, due, estimated)


def _with_conclusions(rules: Beside[Concluded], ctx: pd.DataFrame) -> pd.DataFrame:
    """The claims context with the rules' conclusions as columns, once they are computed; the
    columns as they are (Arrow text made objects and back took 0.7 s at 10M lines)."""
    return _joined_columns(ctx, rules.result().spread())


def _calendar_estimated(facts: Mapping[str, np.ndarray], due_date: np.ndarray, calendar: WorkCalendar) -> np.ndarray:
    """Claims whose working-day answers (the due date, a referral's filing window counted from
    admission to the filing the rules chose) lie beyond the known calendar, so they were
    estimated by weekends only."""
    return calendar.estimated(due_date) | facts["ref_estimated"]


def _reject_rows(batch: Batch, claim_mask: np.ndarray, line_mask: np.ndarray, reason: np.ndarray,
                 column: np.ndarray, claim_of_line: np.ndarray) -> pd.DataFrame:
    """Reject rows for claims dropped by the pipeline (a reason and column each), and for each of
    their lines; rows are the spreadsheet rows of the input files (the frame index is the file
    row, after the header). `claim_of_line`: each dropped line's place among the dropped claims."""
    claims, lines = batch.claims[claim_mask], batch.lines[line_mask]
    claim_rows = pd.DataFrame({"table": "claims", "file": batch.sources.get("claims", ""),
                               "row": claims.index.to_numpy() + 2, "column": column,
                               "key": claims["mdtrt_id"].to_numpy(), "reason": reason})
    # the lines' text stays in Arrow: made into Python objects, 2M lines took 1.7 s to convert back
    same = np.zeros(len(lines), dtype=np.int64)
    line_rows = pd.DataFrame({"table": text_column(same, ["lines"]),
                              "file": text_column(same, [batch.sources.get("lines", "")]),
                              "row": lines.index.to_numpy() + 2, "column": text_column(same, [""]),
                              "key": (lines["mdtrt_id"] + "/" + lines["line_id"]).reset_index(drop=True),
                              "reason": text_column(claim_of_line, list("its claim was not scored: " + reason))})
    return pd.concat([claim_rows, line_rows], ignore_index=True)


def _yuan(fen: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.divide(np.asarray(fen), 100, out=out)  # integer fen (int32 or int64) to float64 yuan, no wider copy first


def _iso(dates: pd.Series | np.ndarray) -> pd.Series:
    return distinct_text(day_array(dates), _iso_day)


def _iso_day(day: np.datetime64) -> str:
    return str(np.datetime64(day, "D"))


def _joined(fmt: Callable[[Any], str]) -> Callable[[tuple], str]:
    return lambda items: LIST_SEP.join(fmt(x) for x in items)


Encoder = Callable[[str, int, Callable[[slice], pd.DataFrame]], "Future[Any]"]
"""Takes a table to encode: its name, its rows, and a maker of its part at the rows of a slice
(`yibao.io.Ahead`); returns the encoding's future, done when the parts are no longer read."""


def score_batch(batch: Batch, rejects: pd.DataFrame | None = None,
                tariff: TariffSpec = None,
                accumulators: pd.DataFrame | None = None,
                calendar: WorkCalendar | None = None, contributions: bool = False,
                trace: bool = False, regions: Regions | None = None, release: bool = False,
                earlier: pd.DataFrame | None = None, months: pd.DataFrame | None = None,
                ahead: Encoder | None = None) -> Result:
    """Score every claim of a batch. `tariff`: an id, `ID@VERSION`, a loaded version, a list of
    loaded versions, or None for the bundled default (the version in force on each claim's date).
    `regions`: tariffs of other pooling regions by id, before the search path's (`Regions`).
    `contributions`: also what each claim added to the accumulators, which the ledger keeps to
    reverse a corrected claim. `trace`: also the steps of every claim's arithmetic
    (`Result.trace`, docs/trace.md). `release`: the caller reads nothing of `batch.lines` after
    this call, so the lines' input columns the output does not carry are dropped from it once
    the line pass has read them (`yibao score`: 5M lines, 0.2 GB less at the peak). `earlier`:
    the claims paid before the batch (the ledger's, columns `yibao.rules.facts.EARLIER`): a claim
    overlapping one is a duplicate (GEN-007). `months`: what the batches before counted in each
    month (the ledger's, `yibao.calculator.scan.MONTH_COLUMNS`): a claim for a month earlier than
    its accumulators' meets that month's caps as used. `ahead`: given the lines' table as soon as the line
    pass has made it, before the claims are settled (`Encoder`); the result's lines frame is then
    made only if it is read (`yibao.later`)."""
    calendar = calendar or default_calendar()
    given_lines = batch.lines
    rejects = rejects if rejects is not None else pd.DataFrame(columns=REJECT_COLUMNS)
    acc = batch.accumulators if accumulators is None else accumulators
    claims = batch.claims.reset_index(drop=True)
    keys, tariffs, ref = assign_tariffs(claims, tariff, batch.persons, regions)
    no_tariff = keys == ""
    category = undefined_categories(claims, batch.persons, keys, tariffs)
    drop = no_tariff | (category != "")
    keep = ~drop
    if drop.any():
        keys, ref = keys[keep], ref[keep]
        tariffs = {k: lt for k, lt in tariffs.items() if (keys == k).any()}
    scored = replace(batch, claims=claims[keep].reset_index(drop=True) if drop.any() else claims)
    # the rules read the claims alone: their child starts before the lines are matched to the claims
    conclude = partial(_conclude, scored, keys, tariffs, calendar, earlier)
    with Beside(conclude, fork=len(batch.lines) >= BESIDE_LINES) as rules:
        claim_pos = positions(batch.lines["mdtrt_id"], claims["mdtrt_id"])  # io keeps no orphan lines
        extra = []
        if drop.any():
            dropped = drop[claim_pos]
            reason, column = category[drop], np.full(int(drop.sum()), "", dtype=object)
            if no_tariff.any():
                why = no_tariff_reasons(claims, batch.persons, no_tariff, regions, tariff)
                reason[no_tariff[drop]], column[no_tariff[drop]] = why
            extra.append(_reject_rows(batch, drop, dropped, reason, column, (np.cumsum(drop) - 1)[claim_pos[dropped]]))
            claim_pos = (np.cumsum(keep) - 1)[claim_pos[~dropped]]
            scored = replace(scored, lines=batch.lines[~dropped])
        batch = scored

        ctx = _claim_context(batch, keys, ref)
        lines = batch.lines.assign(claim_pos=claim_pos)
        del claim_pos  # the frame holds a copy of it (8 B a line)
        # the lines' service dates as codes of their text, made when the calculation is done (the peak)
        service_dates = distinct_codes(day_array(lines["service_date"]), _iso_day)
        encoding: list[Future[Any]] = []  # the lines' table as `ahead` encodes it
        calc = calculate(ctx, lines, tariffs, acc if acc is not None else pd.DataFrame(), contributions, trace,
                         conclusions=partial(_with_conclusions, rules),
                         inputs_read=partial(_drop_line_inputs, (lines, batch.lines, given_lines)) if release else None,
                         lines_final=None if ahead is None else lambda amounts: encoding.append(
                             _lines_ahead(ahead, service_dates, amounts)), months=months)
    # the lines' output is made on a thread beside the claims' (the rules' child has left its core),
    # or, where `ahead` has their file, only if it is read
    make_lines = partial(_final_lines, calc.lines, service_dates, encoding)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="yibao-lines") as beside:
        lines_made = None if ahead is not None else beside.submit(make_lines)
        out = _claims_table(partial(_claims_output, calc.context, calc.claims, calc.reasons, tariffs), len(ctx), ahead)
        line_out = Later(len(calc.lines), make_lines) if lines_made is None else Later.of(lines_made.result())
    violations = calc.violations.assign(violation_amt=_yuan(calc.violations["violation_amt"]))
    all_rejects = pd.concat([rejects] + extra, ignore_index=True) if extra else rejects
    steps = None if calc.trace is None else trace_output(calc.trace, calc.context["mdtrt_id"])
    return Result(out, line_out, accumulators_after(calc.accumulators, batch.rejected_accumulators), violations,
                  all_rejects.reset_index(drop=True), contributions=calc.contributions, trace=steps)


def accumulators_after(calculated: pd.DataFrame, rejected: pd.DataFrame) -> pd.DataFrame:
    """The accumulators table after the batch: what the calculation carried and added, then the
    rows rejected as they were read, each with why (`yibao.io.held_accumulators`)."""
    out = calculated.assign(rejected="")
    return pd.concat([out, rejected[out.columns]], ignore_index=True) if len(rejected) else out


def _drop_line_inputs(frames: Sequence[pd.DataFrame]) -> None:
    """Drop from each lines frame what only the calculation read (prices, quantities, dates):
    the calculation's, the batch's (a copy when claims were dropped) and the caller's."""
    for frame in frames:
        for column in [c for c in frame.columns if c not in LINE_KEYS]:
            del frame[column]


def _lines_ahead(ahead: Encoder, service_dates: tuple[np.ndarray, list[str]], amounts: pd.DataFrame) -> Future[Any]:
    """Hand the lines' table to `ahead` once the line pass has made it, in yuan a row group at a
    time, the yuan of each in the same arrays: it is encoded while the claims are settled and
    their table made (10M lines: 1.8 s of the core the rules' child has left), and its yuan take
    67 MB meanwhile, not the whole table's 0.64 GB."""
    codes, days = service_dates
    fen = amounts.copy(deep=False)  # the columns as they are now: `_final_lines` takes them from `amounts`
    room = {c: np.empty(min(len(fen), row_group_rows("lines"))) for c in fen.columns if c in LINE_AMOUNTS}

    def part(rows: slice) -> pd.DataFrame:
        yuan = {c: values[:rows.stop - rows.start] for c, values in room.items()}
        return _lines_output(fen.iloc[rows], text_column(codes[rows], days), yuan)

    return ahead("lines", len(fen), part)


def _final_lines(amounts: pd.DataFrame, service_dates: tuple[np.ndarray, list[str]],
                 encoding: list[Future[Any]]) -> pd.DataFrame:
    """The lines' output table, made on a thread while the claims' output is made (NumPy makes
    the yuan and Arrow the dates' text without the GIL, 10M lines: 0.4 s), or when first read.
    Made once the lines' encoding is done, so that the fen columns are let go as their yuan are
    made, not held on for the encoder (10M lines: 0.3 GB)."""
    wait(encoding)  # done or failed: `Ahead.take` answers for a failure when the folder is written
    return _lines_output(amounts, text_column(*service_dates))


def _lines_output(amounts: pd.DataFrame, service_dates: pd.Series,
                  yuan: Mapping[str, np.ndarray] | None = None) -> pd.DataFrame:
    """The calculation's line frame in yuan, the service date after the line's keys. Each fen
    column leaves `amounts` as its yuan column is made (in `yuan`'s array of its name when
    given), and the frame takes the columns as they are: setting a column copies it (5M lines:
    40 MB a column)."""
    keys = list(amounts.columns[:3])
    data = {c: amounts[c].array for c in keys} | {"service_date": service_dates.array}
    for c in list(amounts.columns[3:]):
        values = amounts.pop(c)
        data[c] = _yuan(values, None if yuan is None else yuan[c]) if c in LINE_AMOUNTS else values.array
    return pd.DataFrame(data, copy=False)


def _claims_table(output: Callable[[slice], pd.DataFrame], rows: int, ahead: Encoder | None) -> pd.DataFrame:
    """The claims' output table, made by `output` of a slice of claims. Given `ahead`, it is
    made a row group at a time, each encoded while the next is made (10M lines: encoding the
    whole table once it was made kept the other core busy 1.1 s after this one had finished)."""
    if ahead is None:
        return output(slice(0, rows))
    group = row_group_rows("claims")
    made: list[Future[pd.DataFrame]] = [Future() for _ in range(0, max(rows, 1), group)]
    ahead("claims", rows, lambda at: made[at.start // group].result())
    try:
        for k, part in enumerate(made):
            part.set_result(output(slice(k * group, min((k + 1) * group, rows))))
    except BaseException as error:  # the encoder waits for every part: it must not wait forever
        for part in made:
            if not part.done():
                part.set_exception(error)
        raise
    return made[0].result() if len(made) == 1 else pd.concat([part.result() for part in made], ignore_index=True)


def _claims_output(ctx: pd.DataFrame, amounts: pd.DataFrame, calculator_reasons: pa.Table,
                   tariffs: dict[str, LoadedTariff], rows: slice) -> pd.DataFrame:
    """One row per claim of `rows`; text built once per distinct value (conclusions repeat across
    claims). The columns are gathered first and framed once: set one by one into a frame, each
    cost a quarter of a millisecond even for one claim (37 columns)."""
    ctx, amounts = ctx.iloc[rows].reset_index(drop=True), amounts.iloc[rows].reset_index(drop=True)
    calculator_reasons = _claims_reasons(calculator_reasons, rows)
    decision = ctx["rule_decision"].to_numpy().copy()
    partial = (decision == "approved") & (amounts["violation_amt"].to_numpy() > 0)
    decision[partial] = "partially_approved"
    reasons, codes, fired = reason_columns(ctx["reasons"], ctx["rules_fired"], calculator_reasons)
    out: dict[str, Any] = {c: ctx[c].array for c in ("mdtrt_id", "psn_no", "kind", "med_type", "institution_id",
                                                      "settlement_mode")}
    out |= {"tariff": distinct_text(ctx["tariff_key"], str), "year": ctx["year"].to_numpy(),
            "decision": distinct_text(decision, str), "reasons": reasons, "reason_codes": codes,
            "missing_materials": distinct_text(ctx["missing_materials"], _joined(lambda m: m[0])),
            "missing_material_names": distinct_text(ctx["missing_materials"], _joined(lambda m: m[1])),
            "rules_fired": fired}
    out |= {column: _iso(ctx[column]) for column in ("due_date", "setl_date", "admit_date", "discharge_date")}
    out["calendar_estimated"] = ctx["calendar_estimated"].to_numpy(dtype=bool)
    out |= {f: _yuan(amounts[f]) for f in AMOUNT_FIELDS + ("declared_fund_pay_sumamt",) + BENEFIT_FIELDS}
    out["fund_pool"] = amounts["fund_pool"]
    out["resident_category"] = ctx["resident_category"].to_numpy()  # RES-001: whose category terms paid it
    out["pool_prop"] = amounts["pool_prop_bp"].to_numpy() / BP
    out["violation_codes"] = amounts["violation_codes"]
    out["suspect_codes"] = amounts["suspect_codes"]
    return pd.DataFrame(out, index=pd.RangeIndex(len(ctx)), copy=False)


def _claims_reasons(reasons: pa.Table, rows: slice) -> pa.Table:
    """The calculator's reasons of the claims of `rows` (`reasons` are in claim order), their
    claims counted from the slice's start."""
    claim = reasons["claim"].to_numpy()
    start, stop = np.searchsorted(claim, [rows.start, rows.stop])
    if rows.start == 0 and stop == len(claim):  # all of them (the whole table, or its one group)
        return reasons
    return reasons.slice(start, stop - start).set_column(
        reasons.schema.get_field_index("claim"), "claim", pa.array(claim[start:stop] - rows.start))
