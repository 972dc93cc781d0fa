"""Scoring a batch by partitions of persons (按参保人分区), so memory is bounded by a partition.

A province's month (hundreds of millions of lines) does not fit in one process. It need not:
everything that crosses claims — accumulators, settlement order, duplicate and split-admission
checks — stays within one person. So every row is sent to a partition by a hash of its person
number: person tables and claims by their own `psn_no`, lines by their claim's person (a look-up
on claim ids, keys only), and the institutions table, which every claim refers to, goes whole
to every partition. Each partition is then read, validated and scored by the one pipeline
(`yibao.io.normalize`, `yibao.pipeline.score_batch`) on its own, and its outputs are written as
parts of one output folder: `<table>/part-NNNNN.parquet`.

What the split must not break:

- Row numbers. A partition keeps every row's 0-based file row (column `_yibao_row` of the split
  files) and `normalize` is given them, so rejects and the frames name the rows of the files.
- Unique keys that are not per person. Two claims with one `mdtrt_id` but different persons
  would land in different partitions and both be scored. Before splitting, the claim keys are
  read (keys only) and the persons of every duplicated `mdtrt_id` are moved into one partition,
  where the duplicate is rejected as in a whole run. Lines follow their claim, so duplicate line
  ids meet too; lines of an unknown claim go by a hash of their `mdtrt_id`. A correction of
  another person's claim (`correction_of`) moves the two persons together the same way.
- Institution rows. Every partition validates the whole institutions table; their rejects are
  kept from partition 0 only, so each is reported once.

Output rows are in partition order (within a part, in file order); sorted by their keys, every
table equals a whole run's row for row (tests/test_partitions.py).

Reading is streamed for Parquet (row groups, keys by column projection) and CSV (chunks of
`CHUNK` rows), so peak memory is one partition plus the claim keys, held as 64-bit hashes; an
xlsx sheet is read whole once to be split. The split is the runner's tasks, a slice of each table
each (`split_slice`): on a cluster the workers split the input side by side. With a ledger, each partition plans and scores
against it and the client commits the batch in one transaction (yibao.ledger.parts).
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from yibao.booked import Outcome
from yibao.errors import InputError
from yibao.headers import check_header, field_name
from yibao.io import (PARQUET_READ, READ_ERRORS, _arrow_frame, _text, check_file_names, check_types, conformed,
                      csv_encoding, csv_header, csv_options, long_row_block, normalize, parquet_parts, parts_schema,
                      ragged_error, read_table, source_name, table_file, unreadable, write_tables)
from yibao.outputs import input_digest, write_folder
from yibao.pipeline import score_batch
from yibao.settlement.inputs import parse_period
from yibao.tariffs.registry import tariff_spec
from yibao.tables import INPUT_TABLES, OPTIONAL_TABLES

if TYPE_CHECKING:  # the ledger (SQLAlchemy, Alembic: 30 MB) is imported only by runs that use it
    from yibao.ledger.parts import LedgerRun, PartLedger

PART = "part-{:05d}"
ROW = "_yibao_row"  # a split file's column: the row's 0-based row in its input file
SPLIT = ".split"  # the split input, inside the output's temporary folder until the parts are scored
SHARED = "institutions"  # the one table every partition reads whole
CHUNK = 1 << 18  # rows read at once while splitting (a row group of each part per chunk): ~100 MB of lines
# bytes of a CSV parsed at once; Arrow's streaming reader reads a dozen blocks ahead (found by
# measuring: with 16 MB blocks it held a 180 MB file whole), so blocks stay small and are gathered
CSV_BLOCK = 1 << 20
OUTPUTS = ("claims", "lines", "accumulators", "violations", "rejects")
SLICES_PER_WORKER = 2  # a Parquet table's slices per worker: work enough for all while one is slow
LINES_PER_PARTITION = 1_000_000  # `--partitions auto`: about 400 MB to score, a tenth of a small server
CSV_LINE_BYTES = 100  # about what a line takes in a CSV export, to count lines without reading them
PAUSE = "YIBAO_TEST_PAUSE_PART"
"""Test hook: seconds a partition's task waits once its output parts are written, so that a test
interrupts a run while its tasks run on a cluster (tests/test_dask_faults.py)."""
SUMMARY_CLAIMS = ("med_type", "institution_id", "decision", "reason_codes", "calendar_estimated")


@dataclass(frozen=True)
class Job:
    """What scoring one partition needs; plain paths and strings, so a Dask worker gets it by
    pickle, with each task (a task run again on another worker needs nothing the lost one held),
    and reads the split files from storage it shares with the client."""

    split: str  # folder of the split tables: <table>/part-NNNNN/ (a part file per slice of the input)
    out: str  # folder the output parts are written to
    sources: dict[str, str]  # table → its input file, as rejects name it
    tariff: str | None = None
    trace: bool = False
    ledger: LedgerRun | None = None


@dataclass
class PartStats:
    """What a scored partition reports back: its rows per output table and tariff versions (and
    with a ledger, its share of the batch's outcome)."""

    rows: dict[str, int] = field(default_factory=dict)
    tariffs: set[str] = field(default_factory=set)
    ledger: PartLedger | None = None


class Runner:
    """Runs the tasks of a partitioned run: here one after another in this process, so peak memory
    is one task's (a Dask cluster's runner, `yibao.cluster`, spreads them over its workers).
    Used as a context manager around the run; `done` is called after each scored partition (a
    progress bar)."""

    workers = 1  # tasks at once: the split cuts each Parquet table into SLICES_PER_WORKER × this

    def __init__(self, done: Callable[[], None] = lambda: None) -> None:
        self.done = done

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def share(self, value: Any) -> Any:
        """`value` as the tasks of one `map` get it (a cluster sends it to each worker once)."""
        return value

    def map(self, fn: Callable[..., Any], items: Sequence[Any], scoring: bool = False, **shared: Any) -> list[Any]:
        """`fn(item, **shared)` for every item, the results in order; `scoring`: the items are
        partitions being scored (what a progress bar counts)."""
        results = []
        for item in items:
            results.append(fn(item, **shared))
            if scoring:
                self.done()
        return results


# --- splitting ------------------------------------------------------------------------------

def _files(path: Path) -> list[Path]:
    return parquet_parts(path) if path.is_dir() else [path]


def _is_parquet(path: Path) -> bool:
    return path.is_dir() or path.suffix.lower() == ".parquet"


@lru_cache(maxsize=1)  # the split asks for a sheet's header, keys and rows in turn: read it once
def _sheet(path: Path, table: str) -> pa.Table:
    frame = read_table(path, table)  # a workbook's sheet of that name (an accumulators file may hold more)
    check_header(frame.columns, str(path), table)
    return pa.Table.from_pandas(frame, preserve_index=False)


def _chunks(path: Path, table: str, columns: Sequence[str] | None = None) -> Iterator[pa.Table]:
    """The raw rows of a table file in order, a chunk of about `CHUNK` rows at a time (Parquet
    decodes a row group at once); an xlsx sheet is read whole (calamine reads no part of a sheet)."""
    if path.suffix.lower() == ".csv":
        yield from _csv_chunks(path, columns)
        return
    if not _is_parquet(path):
        sheet = _sheet(path, table)
        sheet = sheet.select(list(columns)) if columns is not None else sheet
        for start in range(0, max(len(sheet), 1), CHUNK):
            yield sheet.slice(start, CHUNK)
        return
    for file in _files(path):
        yield from _parquet_chunks(file, columns)


def _parquet_chunks(file: Path | str, columns: Sequence[str] | None = None,
                    row_groups: Sequence[int] | None = None) -> Iterator[pa.Table]:
    """The rows of one Parquet file (of `row_groups` only, when given), a chunk of about `CHUNK`
    rows at a time; a file or selection without rows as one empty chunk of its columns."""
    parquet = pq.ParquetFile(file, **PARQUET_READ)
    if parquet.metadata.num_rows == 0 or (row_groups is not None and not row_groups):
        yield parquet.schema_arrow.empty_table().select(list(columns) if columns is not None
                                                        else parquet.schema_arrow.names)
        return
    for batch in parquet.iter_batches(batch_size=CHUNK, columns=columns,
                                      row_groups=None if row_groups is None else list(row_groups)):
        yield pa.Table.from_batches([batch])


def _csv_chunks(path: Path, columns: Sequence[str] | None) -> Iterator[pa.Table]:
    """A CSV file streamed as `yibao.io.read_table` reads it whole: every column as text, UTF-8
    or else GB18030, a row with the wrong number of cells refused naming its line, a row longer
    than a block read again in blocks as long (`long_row_block`), from the rows not yet given."""
    encoding = _csv_encoding(path)
    given = 0
    try:
        stream = partial(_csv_stream, path, encoding, csv_header(path, encoding), columns)
        try:
            for chunk in stream(CSV_BLOCK, 0):
                given += chunk.num_rows
                yield chunk
        except pa.ArrowInvalid as exc:
            yield from stream(long_row_block(path, exc), given)
    except READ_ERRORS as exc:
        raise unreadable(path, exc) from None


def _csv_stream(path: Path, encoding: str, header: list[str], columns: Sequence[str] | None, block: int,
                skip: int) -> Iterator[pa.Table]:
    """The rows of a CSV file after its first `skip`, in chunks of about `CHUNK` rows, read in
    blocks of `block` bytes; a file without rows as one empty chunk of its columns."""
    ragged: list[pacsv.InvalidRow] = []
    reader = pacsv.open_csv(path, **csv_options(encoding, header, ragged, threads=False, block_size=block))
    pending: list[pa.RecordBatch] = []
    told = skip > 0
    for batch in reader:
        skipped = min(skip, batch.num_rows)
        batch, skip = batch.slice(skipped), skip - skipped
        pending.append(batch if columns is None else batch.select(list(columns)))
        if ragged:
            raise ragged_error(path, ragged)
        if sum(b.num_rows for b in pending) >= CHUNK:
            yield pa.Table.from_batches(pending)
            pending, told = [], True
    if ragged:
        raise ragged_error(path, ragged)
    if pending or not told:
        yield pa.Table.from_batches(pending, schema=reader.schema if columns is None else
                                    pa.schema([reader.schema.field(c) for c in columns]))


_csv_encoding = lru_cache(maxsize=None)(csv_encoding)
"""Asked for a file's header, keys and rows in turn: decoded once per split."""


def _column(path: Path, table: str, name: str) -> str | None:
    """The raw header of field `name` in a table file (headers may carry spaces or a label). The
    files of a Parquet table were each opened by `_slices` before any splitting (a file no reader
    can use, a column named twice, a column of a type it cannot be read as refused, as a whole
    run refuses them), and have the same columns (`parts_schema`)."""
    if path.suffix.lower() == ".csv":
        try:
            names = csv_header(path, _csv_encoding(path))
        except READ_ERRORS as exc:
            raise unreadable(path, exc) from None
        check_header(names, str(path), table)
    elif not _is_parquet(path):
        names = _sheet(path, table).column_names
    else:
        names = pq.read_schema(_files(path)[0]).names
        check_header(names, str(path), table)  # a field misspelt (a column named twice: `_slices`)
    return next((n for n in names if field_name(n) == name), None)


def _keys(chunk: pa.Table, column: str) -> pd.Series:
    """A key column as `normalize` will read it: stripped text."""
    return _text(_arrow_frame(chunk.select([column])).iloc[:, 0])


def _hashes(keys: pd.Series) -> np.ndarray:
    """A fixed-key SipHash per key, the same in every process and on every run; each distinct
    key hashed once (a chunk of lines names each claim a dozen times)."""
    codes, distinct = pd.factorize(keys)
    return pd.util.hash_array(np.asarray(distinct, dtype=object))[codes]


class Router:
    """The partition of every row: persons by hash, moved together where they share a claim id;
    lines by their claim's partition.

    Keys are held as 64-bit hashes, never as text: a province's month (40M claims) takes about
    0.5 GB here instead of 6 GB of Python strings. Claims whose ids hash alike are treated as
    sharing the id — their persons are moved together — so a line still meets its claim when two
    different ids collide."""

    def __init__(self, n: int, claim_psn: np.ndarray, claim_ids: np.ndarray,
                 links: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """`claim_psn`, `claim_ids`: per claim the hashes of its person and id; `links`: more
        (person, id) hash pairs whose persons must meet, e.g. a correction and the person of
        the claim it reverses."""
        self.n = n
        psn, ids = (claim_psn, claim_ids) if links is None else (np.concatenate([claim_psn, links[0]]),
                                                                  np.concatenate([claim_ids, links[1]]))
        self.moved, self.moved_bucket = _shared_claim_persons(psn, ids, self._bucket(psn))
        order = np.argsort(claim_ids, kind="stable")  # claim ids sorted once: lines looked up by binary search
        self.sorted_ids = claim_ids[order]
        self.claim_bucket = self.person_of(claim_psn)[order].astype(np.int32)

    def _bucket(self, hashes: np.ndarray) -> np.ndarray:
        return (hashes % np.uint64(self.n)).astype(np.int64)

    def person(self, psn: pd.Series) -> np.ndarray:
        return self.person_of(_hashes(psn))

    def person_of(self, hashes: np.ndarray) -> np.ndarray:
        """The partition of persons by the hashes of their numbers."""
        return np.where(*_found(self.moved, hashes, self.moved_bucket), self._bucket(hashes))

    def line(self, claim_ids: pd.Series) -> np.ndarray:
        hashes = _hashes(claim_ids)
        return np.where(*_found(self.sorted_ids, hashes, self.claim_bucket), self._bucket(hashes))


def _found(keys: np.ndarray, hashes: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per hash whether the sorted `keys` hold it, and the value beside it there."""
    if not len(keys):
        return np.zeros(len(hashes), dtype=bool), np.zeros(len(hashes), dtype=np.int64)
    at = np.minimum(np.searchsorted(keys, hashes), len(keys) - 1)
    return keys[at] == hashes, values[at].astype(np.int64)


def _shared_claim_persons(psn: np.ndarray, ids: np.ndarray, bucket: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Persons (hashes, sorted) whose claims share an id with another person's, and the one
    partition each group goes to (the lowest of its buckets; chains of shared ids settle by
    repetition)."""
    dup = pd.Series(ids).duplicated(keep=False).to_numpy()
    if not dup.any():
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    links = pd.DataFrame({"psn": psn[dup], "id": ids[dup], "bucket": bucket[dup]})
    while True:
        low = links.groupby("id")["bucket"].transform("min")
        low = low.groupby(links["psn"]).transform("min")
        if (low == links["bucket"]).all():
            moved = links.groupby("psn")["bucket"].min()  # sorted by person hash
            return moved.index.to_numpy(dtype=np.uint64), moved.to_numpy(dtype=np.int64)
        links["bucket"] = low


def _key_column(path: Path, table: str, name: str) -> str:
    """The raw header of the key column a table is split by, which it must have: a table routed
    without its key would go whole to one partition, away from the rows it belongs with."""
    column = _column(path, table, name)
    if column is None:
        raise InputError(f"missing required column {name}", file=str(path), column=name)
    return column


def _route(table: str, path: Path, router: Router) -> Callable[[pa.Table], np.ndarray]:
    column = _key_column(path, table, "mdtrt_id" if table == "lines" else "psn_no")
    if table == "lines":
        return lambda chunk: router.line(_keys(chunk, column))
    return lambda chunk: router.person(_keys(chunk, column))


Owners = Callable[[np.ndarray], dict[str, str]]  # claim ids → the person each was paid to (the ledger)


def split(tables: dict[str, Path], n: int, into: Path, run: Runner, owners: Owners | None = None) -> None:
    """Write every table but institutions as `into/<table>/part-NNNNN/` (a folder per partition,
    holding a `part-SSSSS.parquet` per slice of the input that had rows for it), each row with its
    file row in `_yibao_row`. The claim keys are read here; the rows are split by the runner's
    tasks, a slice of each table each (`split_slice`): on a cluster the workers split a
    province's lines side by side, reading and writing the shared storage. `owners`: with a
    ledger, the person each corrected claim was paid to, who must meet the correction's person
    (the reversal takes their accumulators back)."""
    _allow_open_files(n)  # refused here, before any work, when even the hard limit is too low
    try:
        # first, as every Parquet file's header and column types are checked there: a claim key of a
        # type that cannot be read as text is refused before the keys are read
        slices = [s for table, path in tables.items() if table != SHARED
                  for s in _slices(table, path, SLICES_PER_WORKER * run.workers)]
        router = run.share(Router(n, *_claim_keys(tables["claims"], owners)))
        run.map(split_slice, slices, router=router, n=n, into=str(into))
    finally:
        _sheet.cache_clear()  # not to hold a whole sheet while the partitions are scored
        _csv_encoding.cache_clear()  # a file of the same name may be written again


@dataclass(frozen=True)
class Slice:
    """Consecutive rows of one input table that one task splits: row groups of its Parquet
    files, or a whole CSV or xlsx file (neither can be cut safely without reading it)."""

    table: str
    path: str  # the table as given (a file or a folder of parts): what errors name
    parts: tuple[tuple[str, tuple[int, ...]], ...]  # Parquet files and their row groups; () the whole file
    first_row: int  # file row of the slice's first row
    index: int  # the slice's number; slice 0 writes every partition, so an empty one has its columns
    schema: pa.Schema | None  # what every part's rows are cast to (`parts_schema`), None: the first chunk's


def _slices(table: str, path: Path, pieces: int) -> list[Slice]:
    """A Parquet table cut by row groups into at most `pieces` slices of about equal rows; any
    other file one slice."""
    if not _is_parquet(path):
        return [Slice(table, str(path), (), 0, 0, None)]
    groups = []  # (file, row group, rows); a file with no rows stands for itself with no group
    schemas = []
    for file in _files(path):
        try:
            parquet = pq.ParquetFile(file, **PARQUET_READ)
        except READ_ERRORS as exc:
            raise unreadable(file, exc) from None
        check_header(parquet.schema_arrow.names, str(file))
        check_types(parquet.schema_arrow, table, str(file))
        meta = parquet.metadata
        schemas.append(parquet.schema_arrow)
        groups += [(str(file), g, meta.row_group(g).num_rows) for g in range(meta.num_row_groups)] or [(str(file), -1, 0)]
    schema = parts_schema(schemas, str(path)).append(pa.field(ROW, pa.int64()))
    total = sum(rows for _, _, rows in groups)
    target = max(-(-total // max(pieces, 1)), 1)
    slices, start, current, taken = [], 0, [], 0
    for file, group, rows in groups:
        current.append((file, group))
        taken += rows
        if taken >= target:
            slices.append(_slice(table, path, current, start, len(slices), schema))
            start, current, taken = start + taken, [], 0
    if current or not slices:
        slices.append(_slice(table, path, current, start, len(slices), schema))
    return slices


def _slice(table: str, path: Path, groups: list[tuple[str, int]], first_row: int, index: int,
           schema: pa.Schema) -> Slice:
    files: dict[str, list[int]] = {}
    for file, group in groups:
        files.setdefault(file, []).extend([group] if group >= 0 else [])
    return Slice(table, str(path), tuple((f, tuple(g)) for f, g in files.items()), first_row, index, schema)


def _slice_chunks(piece: Slice) -> Iterator[pa.Table]:
    """The raw rows of a slice in order, a chunk of about `CHUNK` rows at a time."""
    if not piece.parts:
        yield from _chunks(Path(piece.path), piece.table)
        return
    for file, groups in piece.parts:
        yield from _parquet_chunks(file, row_groups=groups)


FILES_BESIDE = 64  # files a process holds open besides a split's writers: libraries, logs, the input


def _allow_open_files(n: int) -> None:
    """A split holds a file open per partition: raise this process's soft limit of open files
    (commonly 1,024) toward its hard limit, as far as `n` partitions need, or refuse `n` when
    even the hard limit is too low — before, 2,000 partitions failed half-written with "Too
    many open files"."""
    import resource

    need = n + FILES_BESIDE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= need:
        return
    if hard != resource.RLIM_INFINITY and hard < need:
        raise InputError(f"--partitions {n}: a split holds a file open per partition, and this system lets a "
                         f"process open {hard:,} (ulimit -Hn): give at most {max(hard - FILES_BESIDE, 1):,}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def split_slice(piece: Slice, router: Router, n: int, into: str) -> None:
    """Send each row of a slice to its partition's folder, as the slice's own part file there."""
    _allow_open_files(n)
    path = Path(piece.path)
    route = _route(piece.table, path, router)
    folder = Path(into) / piece.table
    writers: dict[int, pq.ParquetWriter] = {}
    schema = piece.schema

    def writer(k: int) -> pq.ParquetWriter:
        if k not in writers:
            (folder / PART.format(k)).mkdir(parents=True, exist_ok=True)
            writers[k] = pq.ParquetWriter(folder / PART.format(k) / f"{PART.format(piece.index)}.parquet", schema)
        return writers[k]

    offset = piece.first_row
    try:
        for chunk in _slice_chunks(piece):
            chunk = chunk.append_column(ROW, pa.array(np.arange(offset, offset + len(chunk), dtype=np.int64)))
            offset += len(chunk)
            if schema is None:
                schema = chunk.schema
            # an input table in parts typed differently part by part
            chunk = conformed(chunk, schema, piece.table, piece.path)
            bucket = route(chunk)
            for k in np.unique(bucket):
                writer(int(k)).write_table(chunk.filter(pa.array(bucket == k)))
        if piece.index == 0:
            for k in range(n):
                writer(k)
    finally:
        for w in writers.values():
            w.close()


def _claim_keys(path: Path, owners: Owners | None) -> tuple[np.ndarray, np.ndarray,
                                                             tuple[np.ndarray, np.ndarray] | None]:
    """The hashes of every claim's person and id, read a chunk at a time, and the links of
    corrections to the persons of the claims they correct: of the batch (a link's id is then
    shared with that claim's) and, with `owners`, paid before."""
    columns = [_key_column(path, "claims", c) for c in ("psn_no", "mdtrt_id")]
    fix = _column(path, "claims", "correction_of")
    psn, ids, fixes = [], [], []
    for chunk in _chunks(path, "claims", columns + ([fix] if fix else [])):
        psn.append(_hashes(_keys(chunk, columns[0])))
        ids.append(_hashes(_keys(chunk, columns[1])))
        if fix:
            target = _keys(chunk, fix)
            has = (target != "").to_numpy()
            fixes.append(pd.DataFrame({"psn": psn[-1][has], "target": target[has].to_numpy(dtype=object)}))
    links = None
    if fixes and sum(map(len, fixes)):
        fixed = pd.concat(fixes, ignore_index=True)
        links = (fixed["psn"].to_numpy(dtype=np.uint64), _hashes(fixed["target"]))
        if owners is not None:
            owner = owners(fixed["target"].unique())
            paid = fixed["target"][fixed["target"].isin(list(owner))]
            links = (np.concatenate([links[0], _hashes(paid.map(owner))]), np.concatenate([links[1], _hashes(paid)]))
    return np.concatenate(psn), np.concatenate(ids), links


# --- scoring one partition ------------------------------------------------------------------

def score_part(k: int, job: Job) -> PartStats:
    """Validate and score partition `k` through the one pipeline and write its output parts."""
    raw: dict[str, pd.DataFrame] = {}
    rows: dict[str, np.ndarray] = {}
    for table, source in job.sources.items():
        if table == SHARED:
            raw[table] = read_table(Path(source), table)
            continue
        frame = read_table(Path(job.split) / table / PART.format(k))
        rows[table] = frame.pop(ROW).to_numpy(dtype=np.int64)
        raw[table] = frame
    batch, rejects = normalize(raw, dict(job.sources), rows)
    if k > 0:  # each partition validated the whole institutions table: report it once
        rejects = rejects[rejects["table"] != SHARED]
    # the spec as the user typed it (an id or a folder the worker reads too), resolved here
    tariff = None if job.tariff is None else tariff_spec(job.tariff)
    owed = None
    if job.ledger is None:
        result = score_batch(batch, rejects, tariff=tariff, trace=job.trace, release=True)
    else:
        from yibao.ledger.parts import score_part as ledger_part

        result, owed = ledger_part(job.ledger, batch, rejects, tariff, job.trace, PART.format(k))
    tables = {name: getattr(result, name) for name in OUTPUTS}
    if result.trace is not None:
        tables["trace"] = result.trace
    for name, frame in tables.items():
        write_tables({PART.format(k): frame}, Path(job.out) / name)
    if PAUSE in os.environ:
        time.sleep(float(os.environ[PAUSE]))
    return PartStats({name: len(frame) for name, frame in tables.items()},
                     {str(t) for t in result.claims["tariff"] if str(t)}, owed)


def input_tables(source: Path, accumulators: Path | None) -> dict[str, Path]:
    """The table files of a batch folder (a file or a folder of Parquet parts per table)."""
    if not source.is_dir():
        raise InputError("a partitioned run reads a folder of tables (Parquet, CSV or xlsx per table), "
                         "not one workbook", file=str(source))
    check_file_names(source)
    tables = {name: table_file(source, name, required=name in INPUT_TABLES) for name in INPUT_TABLES + OPTIONAL_TABLES}
    if accumulators is not None:
        if tables.get("accumulators") is not None:
            raise InputError("the batch has an accumulators table and accumulators were given apart: keep one",
                             file=str(tables["accumulators"]))
        # looked up before the run: inside it, where it was first looked up, a name too long to look
        # up (ENAMETOOLONG) was reported as `--out` that could not be written
        if not accumulators.exists():
            raise InputError("cannot read: no such file", file=str(accumulators))
        tables["accumulators"] = accumulators
    return {name: path for name, path in tables.items() if path is not None}


def auto_partitions(source: Path) -> int:
    """Partitions of about `LINES_PER_PARTITION` lines each: the lines are counted from the
    Parquet footers, or estimated from the size of a CSV or xlsx file."""
    lines = table_file(source, "lines", required=True) if source.is_dir() else None
    if lines is None:
        raise InputError("a partitioned run reads a folder of tables", file=str(source))
    if _is_parquet(lines):
        try:
            count = sum(pq.ParquetFile(f).metadata.num_rows for f in _files(lines))
        except READ_ERRORS as exc:
            raise unreadable(lines, exc) from None
    else:
        count = lines.stat().st_size // CSV_LINE_BYTES
    return max(1, -(-count // LINES_PER_PARTITION))


def score_partitioned(source: Path, out: Path, partitions: int, *, run: Runner | None = None,
                      tariff: str | None = None, accumulators: Path | None = None, trace: bool = False,
                      overwrite: bool = False, ledger: str | None = None, period: str | None = None,
                      tell: Callable[[Outcome], None] = lambda outcome: None) -> dict[str, Any]:
    """Score the batch folder `source` in `partitions` partitions into the score folder `out`
    (written whole, with its manifest, as `yibao.scored.write_scored` writes one); `run` scores
    the partitions (here one after another, or on a Dask cluster). Returns the summary.
    `ledger`: score against the ledger at this path or URL and commit the batch to it in one
    transaction just before `out` is put in place (yibao.ledger.parts); `tell` gets the outcome."""
    from yibao.scored import SUMMARY, booked_entry, write_summary

    if partitions < 1:
        raise InputError(f"--partitions {partitions}: give at least 1")
    tables = input_tables(source, accumulators)
    if ledger is not None and "accumulators" in tables:
        raise InputError("the batch has an accumulators table, but with a ledger the accumulators come from "
                         "the ledger: remove the table", file=str(tables["accumulators"]))
    period = None if period is None else parse_period(period).text
    summary: dict[str, Any] = {}
    owed = out.with_name(f"{out.name}.tmp-{os.getpid()}-ledger")  # what the partitions would commit
    run_ledger, known = None, None
    if ledger is not None:
        from yibao.ledger.parts import commit as ledger_commit, open_run, owners

        run_ledger, known = open_run(ledger, source, tariff, owed, period)
    commit: list[Callable[[], None]] = []

    def write(folder: Path) -> dict[str, Any]:
        with run or Runner() as runner:
            split(tables, partitions, folder / SPLIT, runner, None if run_ledger is None else owners(run_ledger))
            job = Job(str(folder / SPLIT), str(folder), {name: source_name(path) for name, path in tables.items()},
                      tariff, trace, run_ledger)
            stats = runner.map(score_part, range(partitions), scoring=True, job=job)
        shutil.rmtree(folder / SPLIT)
        booked = None
        if run_ledger is not None:
            if known is not None:
                outcome = Outcome(run_ledger.batch_id, known["period"], True, known["claims"], known["duplicates"],
                                  known["reversals"])
            else:
                write_ledger, outcome = ledger_commit(run_ledger, [PART.format(k) for k in range(partitions)],
                                                      [s.ledger for s in stats], period)
                commit.append(write_ledger)
            tell(outcome)
            booked = outcome
        rows = {name: sum(s.rows[name] for s in stats) for name in stats[0].rows}
        summary.update(_summary(folder, rows["lines"]))
        write_summary(summary, folder / SUMMARY)
        return {"tariffs": sorted(set().union(*(s.tariffs for s in stats))),
                "input_digest": input_digest([source] + ([accumulators] if accumulators else [])),
                "rows": rows, "format": "parquet", "partitions": partitions, "ledger_batch": booked_entry(booked)}

    def commit_ledger() -> None:
        for write_ledger in commit:
            write_ledger()

    try:
        write_folder(out, write, kind="score", overwrite=overwrite, before_swap=commit_ledger)
    finally:
        shutil.rmtree(owed, ignore_errors=True)
    return summary


def _summary(folder: Path, lines: int) -> dict[str, Any]:
    """The batch summary, reduced from the parts: each part's claims tallied on the few columns
    the summary needs, one part at a time (a province's claims are never held at once),
    violations and rejects read back; lines only counted."""
    from yibao.summary import FUNDS, Tally, summary_of

    columns = list(SUMMARY_CLAIMS + FUNDS)
    tally = sum((Tally.of(_arrow_frame(pq.read_table(part, columns=columns)))
                 for part in parquet_parts(folder / "claims")), Tally())
    return summary_of(tally, lines, read_table(folder / "violations"), read_table(folder / "rejects"))
