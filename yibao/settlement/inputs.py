"""What a settlement reads: a `yibao score` output (folder or `Result`), the period, and names.

Settlement runs unattended once a month, often on a score output written days earlier, so its
input is checked as a whole before any arithmetic: a missing table or column, or an amount that
is not a number, stops the run with a one-line `InputError` naming file, row and column. The
claims themselves are not judged here (that is `checks.py`): a claim with wrong data is
listed and withheld, never a reason to stop paying everybody else.

Claims the scorer rejected (`rejects`, table "claims") carry only the path and row of their
source file; the settlement reads those rows back to learn the claim's institution, mode and
discharge date, so a declared claim that could not be scored is still put before the examiner.

A score folder is read only when its manifest vouches for it (`yibao.outputs.read_manifest`):
a folder a killed run left behind, or one changed since, is refused before anything is paid
from it. Its path and the digest of its manifest travel with the settlement (`Source`), so
`settle --verify` can find the claims again and know they are the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from yibao.booked import Booked
from yibao.errors import InputError, expect, kind, shortened
from yibao.headers import check_header, field_name
from yibao.io import TABLES_WORKBOOK, read_output_sheet, read_output_table, read_table, table_file
from yibao.io import _text as cells_as_read
from yibao.limits import FIRST_YEAR, LAST_YEAR, SAFE_FEN
from yibao.money import yuan_array_to_fen
from yibao.outputs import check_listed, read_manifest

# columns read from each score output table; money columns are converted to fen on reading
CLAIM_COLUMNS = ("mdtrt_id", "psn_no", "kind", "med_type", "institution_id", "settlement_mode",
                 "tariff", "decision", "admit_date", "discharge_date", "setl_date", "violation_codes",
                 "suspect_codes")
CLAIM_MONEY = ("fund_pay_sumamt", "hosp_part_amt", "declared_fund_pay_sumamt", "violation_amt")
NEEDED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # table → (text columns, money columns)
    "claims": (CLAIM_COLUMNS, CLAIM_MONEY),
    "lines": (("mdtrt_id", "line_id", "service_date"), ()),
    "violations": (("mdtrt_id", "code"), ("violation_amt",)),
    "rejects": (("table", "file", "row", "column", "key", "reason"), ()),
}
SOURCE_COLUMNS = ("mdtrt_id", "kind", "institution_id", "settlement_mode", "discharge_date")
PERIOD = re.compile(r"([0-9]{4})-([0-9]{2})")


@dataclass(frozen=True)
class Period:
    """A settlement month (结算期): claims discharged from `first` to `last` inclusive, or, settled
    with the ledger (`by_batch`), every claim of the batches the ledger booked in the month,
    whatever its dates: a claim discharged in a month already settled is paid in a later one."""

    text: str
    first: np.datetime64
    last: np.datetime64
    by_batch: bool = False

    def holds(self, days: np.ndarray) -> np.ndarray:
        if self.by_batch:
            return np.ones(len(days), dtype=bool)
        return (days >= self.first) & (days <= self.last)


def parse_period(text: str) -> Period:
    """`YYYY-MM` → the month; anything else is an `InputError`."""
    expect(text, str, "the period is a month as text, YYYY-MM, e.g. '2025-05'")
    m = PERIOD.fullmatch(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise InputError(f"--period {text!r}: give a month as YYYY-MM, e.g. 2025-05")
    if not FIRST_YEAR <= int(m.group(1)) <= LAST_YEAR:  # 9999-12 took a reversal that no settlement reaches
        raise InputError(f"--period {text!r}: not a month from {FIRST_YEAR}-01 to {LAST_YEAR}-12")
    month = np.datetime64(f"{m.group(1)}-{m.group(2)}", "M")
    return Period(f"{m.group(1)}-{m.group(2)}", month.astype("datetime64[D]"),
                  (month + 1).astype("datetime64[D]") - 1)


@dataclass(frozen=True)
class Source:
    """The score folder a settlement was computed from: its resolved path and the sha256 of its
    manifest, which pins every byte of it."""

    folder: str
    manifest_sha256: str


@dataclass(frozen=True)
class Scored:
    """The score output, with money as int64 fen in `<column>_fen` columns.

    `institutions` has institution_id and name (empty when no table was found). `sources` has
    a row per claim the scorer rejected: the reject's file, row, bad_columns (";"-joined) and
    reasons ("; "-joined), `readable`, and the SOURCE_COLUMNS of its source row as text ("" when
    the source file could not be read). `origins`: the score folders read — none (`()`) for a
    month settled from the ledger alone (`no_claims`), not known (None) for a `Result` in memory;
    `booked`: the ledger batches they were committed as (none when scored without a ledger); one
    each for one folder, all of them once several are `combine`d.
    """

    claims: pd.DataFrame
    lines: pd.DataFrame
    violations: pd.DataFrame
    rejects: pd.DataFrame
    institutions: pd.DataFrame
    sources: pd.DataFrame
    origins: tuple[Source, ...] | None = None
    booked: tuple[Booked, ...] = ()

    @property
    def name(self) -> str:
        """How messages name it: its folder, or the batch of a `Result` in memory."""
        if self.origins:
            return self.origins[0].folder
        return f"the Result of batch {self.booked[0].batch_id[:12]}" if self.booked else "the Result"


def read_listed(folder: Path, name: str, manifest: Mapping[str, Any],
                required: bool = True) -> tuple[pd.DataFrame, str] | None:
    """Table `name` of a yibao output folder, from a file its manifest lists — `<name>.parquet`
    or `.csv`, a folder of Parquet parts, or the sheet `name` of `tables.xlsx` (`score --format
    xlsx`) — and the source messages name; None when it is not there and not `required`."""
    book = folder / TABLES_WORKBOOK
    if manifest.get("format") == "xlsx" and book.is_file():
        check_listed(folder, manifest, book)
        sheet = read_output_sheet(book, name)
        if sheet is None and required:
            raise InputError(f"missing sheet {name}", file=str(book))
        return None if sheet is None else (sheet, f"{book}, sheet {name}")
    path = table_file(folder, name, required)
    if path is None:
        return None
    check_listed(folder, manifest, path)
    return read_output_table(path), str(path)


def read_scored(folder: Path, institutions: Path | pd.DataFrame | None = None) -> Scored:
    """A `yibao score` output folder (Parquet, CSV or xlsx tables) its manifest vouches for."""
    if not folder.is_dir():
        raise InputError("not a folder of score output (yibao score --out)", file=str(folder))
    manifest, digest = read_manifest(folder, "score", NEEDED)
    tables = {name: read_listed(folder, name, manifest) for name in NEEDED}
    if institutions is None:
        found = read_listed(folder, "institutions", manifest, required=False)
        institutions = found[0] if found is not None else _beside_sources(tables["rejects"][0])
    booked = _booked(manifest.get("ledger_batch"), folder)
    return replace(_scored(tables, institutions), origins=(Source(str(folder.resolve()), digest),),
                   booked=() if booked is None else (booked,))


def _booked(entry: Any, folder: Path) -> Booked | None:
    """The manifest's `ledger_batch`: None, or the batch id and period its claims are booked in."""
    if entry is None:
        return None
    if not (isinstance(entry, dict) and isinstance(entry.get("batch_id"), str)
            and isinstance(entry.get("period"), str) and PERIOD.fullmatch(entry["period"])):
        raise InputError("manifest: 'ledger_batch' is not a batch id and a period YYYY-MM", file=str(folder))
    return Booked(entry["batch_id"], entry["period"])


def result_scored(result: Any, institutions: Path | pd.DataFrame | None = None) -> Scored:
    """A `yibao.pipeline.Result` (or anything with claims, lines, violations, rejects frames)."""
    missing = [name for name in NEEDED if not isinstance(getattr(result, name, None), pd.DataFrame)]
    if missing:
        raise InputError(f"settle takes a score folder or the Result of yibao.score; {kind(result)} "
                         f"has no {missing[0]} table")
    tables = {name: (getattr(result, name), f"<{name}>") for name in NEEDED}
    if institutions is None:
        institutions = _beside_sources(result.rejects)
    booked = getattr(result, "booked", None)
    return replace(_scored(tables, institutions), booked=(booked,) if isinstance(booked, Booked) else ())


def no_claims(institutions: Path | pd.DataFrame | None = None) -> Scored:
    """No score output at all: a month the ledger booked only reversals in (`yibao ledger reverse`),
    no batch scored. Its statements are its reversal lines (冲正) alone, made by the same arithmetic
    as any month's on an empty set of claims; without this, that money was never taken back."""
    empty = {name: (pd.DataFrame(columns=list(text + money)), f"<{name}>") for name, (text, money) in NEEDED.items()}
    return replace(_scored(empty, institutions), origins=())


def _scored(tables: Mapping[str, tuple[pd.DataFrame, str]], institutions: Path | pd.DataFrame | None) -> Scored:
    frames = {name: read_columns(frame, source, *NEEDED[name], unsigned=True)
              for name, (frame, source) in tables.items()}
    _check_claim_ids(frames["claims"]["mdtrt_id"], tables["claims"][1])
    return Scored(frames["claims"], frames["lines"], frames["violations"], frames["rejects"],
                  _names(institutions), _sources(frames["rejects"]))


def combine(parts: Sequence[Scored], replacing: Mapping[str, str] | None = None) -> Scored:
    """Several score outputs settled as one month (the batches the ledger booked in it): a claim
    once. A claim in two of them drew funds in one at most — it was sent again and refused, or
    first waited for materials — and that one is kept; when neither drew, the later part's
    (parts in the order of their ledger batch ids, so that with the ledger the order given does
    not matter). Two that both drew are refused: the month would pay the claim twice — unless the
    ledger paid it again in the month after reversing it (`replacing`: claim → the batch of its
    last payment, `yibao.ledger.periods.last_payments`): then that batch's line is the one kept."""
    if len(parts) == 1:
        return parts[0]
    parts = sorted(parts, key=lambda p: tuple(b.batch_id for b in p.booked))
    claims = pd.concat([p.claims.assign(part=k) for k, p in enumerate(parts)], ignore_index=True)
    if replacing:
        batch = np.array([p.booked[0].batch_id if p.booked else "" for p in parts], dtype=object)
        last = claims["mdtrt_id"].map(replacing)
        claims = claims[~last.isin(batch) | (last == batch[claims["part"].to_numpy()])]
    drew = ((claims["declared_fund_pay_sumamt_fen"] != 0) | (claims["fund_pay_sumamt_fen"] != 0)
            | (claims["hosp_part_amt_fen"] != 0)).to_numpy()
    twice = claims[drew]["mdtrt_id"].duplicated().to_numpy()
    if twice.any():
        paid = claims[drew]
        mdtrt_id = paid["mdtrt_id"].iat[int(twice.argmax())]
        where = [parts[k].name for k in paid.loc[paid["mdtrt_id"] == mdtrt_id, "part"]]
        raise InputError(f"claim {mdtrt_id} drew funds in both {where[0]} and {where[1]}: settled together, the "
                         f"month would pay it twice")
    kept = claims.assign(drew=drew).sort_values(["drew", "part"], kind="stable")
    kept = kept.drop_duplicates("mdtrt_id", keep="last").sort_index()
    keys = kept[["mdtrt_id", "part"]]

    def of_kept(name: str) -> pd.DataFrame:
        rows = pd.concat([getattr(p, name).assign(part=k) for k, p in enumerate(parts)], ignore_index=True)
        return rows.merge(keys, on=["mdtrt_id", "part"]).drop(columns="part")

    sources = pd.concat([p.sources for p in parts], ignore_index=True)
    named = pd.concat([p.institutions for p in parts], ignore_index=True).drop_duplicates()
    return Scored(kept.drop(columns=["part", "drew"]).reset_index(drop=True), of_kept("lines"), of_kept("violations"),
                  pd.concat([p.rejects for p in parts], ignore_index=True), _one_name(named),
                  sources[~sources["mdtrt_id"].isin(kept["mdtrt_id"])].reset_index(drop=True),
                  None if any(p.origins is None for p in parts) else sum((p.origins or () for p in parts), ()),
                  sum((p.booked for p in parts), ()))


def read_columns(frame: pd.DataFrame, source: str, text: tuple[str, ...], money: tuple[str, ...] = (),
                 unsigned: bool = False) -> pd.DataFrame:
    """The `text` columns as str ("" for empty) and the `money` columns (yuan) as
    `<column>_fen`; a missing column or an amount that is not a number is an `InputError`, and
    so is a column whose amounts add up past what the fen arithmetic holds (`SAFE_FEN`: far
    beyond a province's month), or, `unsigned`, a negative amount (the score output has none)."""
    missing = [c for c in text + money if c not in frame.columns]
    if missing:
        raise InputError(f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                         f"(is this the right folder?)", file=source, column=missing[0])
    out = pd.DataFrame({c: _text(frame[c]) for c in text})
    for column in money:
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
        for bad, why in ((~np.isfinite(values), "is not an amount in yuan"),
                         (unsigned & (values < 0), "is negative: an amount of the score output is not"),
                         (np.abs(values) > SAFE_FEN / 100, f"is beyond {SAFE_FEN / 100:,.0f} yuan")):
            if bad.any():
                cell = frame[column].iat[bad.argmax()]
                raise InputError(f"{repr(cell) if isinstance(cell, str) else cell} {why}", file=source,
                                 row=int(bad.argmax()) + 2, column=column)
        if np.abs(values).sum() > SAFE_FEN / 100:
            raise InputError(f"the amounts add up beyond {SAFE_FEN / 100:,.0f} yuan, more than the fen "
                             f"arithmetic holds", file=source, column=column)
        out[column + "_fen"] = yuan_array_to_fen(values)
    return out


def _check_claim_ids(ids: pd.Series, source: str) -> None:
    """Settlement keys every table on the claim id: each scored claim has one, once."""
    empty = (ids == "").to_numpy(dtype=bool)
    if empty.any():
        raise InputError("a claim without its mdtrt_id", file=source, row=int(empty.argmax()) + 2,
                         column="mdtrt_id")
    twice = ids.duplicated().to_numpy(dtype=bool)
    if twice.any():
        at = int(twice.argmax())
        first = int((ids == ids.iat[at]).to_numpy(dtype=bool).argmax())
        raise InputError(f"claim {ids.iat[at]} is in rows {first + 2} and {at + 2}: a claim is scored once",
                         file=source, row=at + 2, column="mdtrt_id")


def _text(values: pd.Series) -> pd.Series:
    """Any column as text ("" for empty cells; CSV reads everything as text already), kept in
    pandas' Arrow-backed `str` dtype: a month's lines are millions of cells. Floats, and Python
    objects other than text, are read as the scorer reads a cell (`yibao.io._text`): numeric ids
    in a column with an empty cell are floats, and 101.0 is the institution the scorer calls 101,
    not "101.0". A categorical column is read as its categories would be, each once, as the scorer
    reads it (`cells.map` maps the categories): `astype` read a category 101.0 as "101.0"."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = np.append(_text(pd.Series(values.cat.categories)).to_numpy(dtype=object), "")
        return pd.Series(categories[values.cat.codes.to_numpy()], dtype="str")  # code -1, a missing cell: ""
    if pd.api.types.is_datetime64_any_dtype(values):
        values = values.dt.strftime("%Y-%m-%d")
    elif pd.api.types.is_float_dtype(values.dtype) or (
            values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty")):
        values = cells_as_read(values)
    return values.astype("str").fillna("").reset_index(drop=True)


def fen_total(yuan: pd.Series) -> int:
    """Sum of a yuan column in fen, exact; empty cells count 0."""
    return int(yuan_array_to_fen(np.nan_to_num(yuan.to_numpy(dtype=np.float64))).sum())


def days(values: np.ndarray) -> np.ndarray:
    """ISO text dates → datetime64[D]; empty or unreadable → NaT (parsed once per distinct value)."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object))
    parsed = pd.to_datetime(pd.Series(uniques, dtype=object), format="%Y-%m-%d", errors="coerce")
    table = np.append(parsed.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))
    return table[codes].astype("datetime64[D]")  # code −1 (none) picks the trailing NaT


def _names(institutions: Path | pd.DataFrame | None) -> pd.DataFrame:
    """institution_id → name, from a table file, a batch folder holding one, or a frame."""
    if institutions is None:
        return pd.DataFrame({"institution_id": pd.Series(dtype=object), "name": pd.Series(dtype=object)})
    source = str(institutions) if isinstance(institutions, Path) else "<institutions>"
    if isinstance(institutions, Path):
        path = table_file(institutions, "institutions", required=True) if institutions.is_dir() else institutions
        assert path is not None
        if not path.is_file():
            raise InputError("no such institutions table", file=str(path))
        institutions = read_table(path, "institutions")  # a batch workbook: its sheet institutions
    check_header(institutions.columns, source, "institutions")  # a `Name` column would leave payees unnamed
    institutions = institutions.set_axis([field_name(c) for c in institutions.columns], axis=1)
    if "institution_id" not in institutions.columns:
        raise InputError("missing column institution_id", file=source, column="institution_id")
    ids = _text(institutions["institution_id"]).str.strip()  # as the scorer reads ids (docs/tables.md)
    names = _text(institutions["name"]).str.strip() if "name" in institutions.columns else ids  # blank: no name
    return _one_name(pd.DataFrame({"institution_id": ids, "name": np.where(names == "", ids, names)}).drop_duplicates())


def _one_name(out: pd.DataFrame) -> pd.DataFrame:
    """An id given two names (rows the scorer rejected as duplicates, or two score folders) is
    named by its id alone: neither name can be told to be its own."""
    named_twice = out["institution_id"].duplicated(keep=False).to_numpy(dtype=bool)
    out["name"] = np.where(named_twice, out["institution_id"], out["name"])
    return out.drop_duplicates("institution_id").sort_values("institution_id", kind="stable")


def _beside_sources(rejects: pd.DataFrame) -> Path | None:
    """The institutions table beside the claims file the scorer read, when it is still there."""
    if "table" not in rejects.columns or "file" not in rejects.columns:
        return None
    files = sorted({str(f) for f in rejects.loc[rejects["table"] == "claims", "file"] if str(f)})
    for f in files:
        folder = Path(f).parent
        if folder.is_dir() and table_file(folder, "institutions", required=False) is not None:
            return folder
    return None


def _sources(rejects: pd.DataFrame) -> pd.DataFrame:
    """Per rejected claim: its reasons joined, and its source row's columns where readable."""
    rows = rejects[rejects["table"] == "claims"].copy()
    rows["row_no"] = pd.to_numeric(rows["row"], errors="coerce").fillna(0).astype(np.int64)
    grouped = rows.groupby(["file", "row_no", "key"], sort=True, as_index=False).agg(
        bad_columns=("column", lambda c: ";".join(sorted({x for x in c if x}))),
        reason=("reason", "; ".join))
    found = {f: _read_source(Path(f)) for f in grouped["file"].unique()}
    picked = [_source_row(found[f], key, row_no)
              for f, key, row_no in zip(grouped["file"], grouped["key"], grouped["row_no"])]
    out = pd.DataFrame({c: [p.get(c, "") for p in picked] for c in SOURCE_COLUMNS}, index=grouped.index,
                       dtype=object)
    out["mdtrt_id"] = grouped["key"].to_numpy()
    out["readable"] = [bool(p) for p in picked]
    out["file"] = grouped["file"].to_numpy()
    out["row"] = grouped["row_no"].to_numpy()
    out["bad_columns"] = grouped["bad_columns"].to_numpy()
    out["reason"] = grouped["reason"].to_numpy()
    return out.reset_index(drop=True)


def _read_source(path: Path) -> pd.DataFrame | None:
    """The source claims table as text, or None when it is gone or is not one."""
    try:
        raw = read_table(path) if path.is_file() else None
    except InputError:
        return None
    if raw is None or any(c not in raw.columns for c in SOURCE_COLUMNS):
        return None
    return pd.DataFrame({c: _text(raw[c]) for c in SOURCE_COLUMNS})


def _source_row(source: pd.DataFrame | None, key: str, row_no: int) -> dict[str, str]:
    """The source row of a rejected claim: the reported row when it holds the key (an id too long
    to be one is cut in the key, `yibao.io._key_text`: it is compared so), else the first row
    with that key ({} when neither)."""
    if source is None:
        return {}
    at = row_no - 2
    if 0 <= at < len(source) and shortened(source["mdtrt_id"].iat[at]) == key:
        return dict(source.iloc[at])
    hits = np.flatnonzero(source["mdtrt_id"].to_numpy() == key)
    return dict(source.iloc[hits[0]]) if len(hits) else {}
