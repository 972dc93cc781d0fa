"""The files people have score as the Parquet batch does: CSV in GBK or UTF-8 with a BOM, a folder
of .xlsx tables, one workbook with a sheet per table (issue 11, part 3).

The batch is generated (`yibao synth`, 300 claims) and written in each form by the writers and
encoders of the test, then scored; every output table must equal the Parquet batch's. Last, the lines table that
`yibao score` encodes ahead (while the claims are made, a row group at a time) is written as the plain
writer writes it.
"""

from __future__ import annotations

import errno
import os
import pickle
import subprocess
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import yibao.io
import yibao.pipeline
from yibao.io import Ahead, read_batch, write_tables
from yibao.later import Later
from yibao.pipeline import Result, score_batch
from yibao.scored import write_scored
from yibao.settlement import verify_folder, write_settlement
from yibao.synth import generate

OUTPUTS = ("claims", "lines", "accumulators", "violations")


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return generate(300, 7)


@pytest.fixture(scope="module")
def parquet_result(tables: dict[str, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory) -> Result:
    folder = tmp_path_factory.mktemp("parquet")
    write_tables(tables, folder, "parquet")
    return yibao.score(folder)


def reencoded(encoding: str) -> Callable[[dict[str, pd.DataFrame], Path], Path]:
    def write(tables: dict[str, pd.DataFrame], folder: Path) -> Path:
        for path in write_tables(tables, folder, "csv"):
            path.write_bytes(path.read_text(encoding="utf-8-sig").encode(encoding))
        return folder
    return write


def xlsx_folder(tables: dict[str, pd.DataFrame], folder: Path) -> Path:
    for name, frame in tables.items():
        (book,) = write_tables({name: frame}, folder / name, "xlsx")
        book.rename(folder / f"{name}.xlsx")
    return folder


def workbook(tables: dict[str, pd.DataFrame], folder: Path) -> Path:
    (book,) = write_tables(tables, folder, "xlsx")
    return book


def binary_text(tables: dict[str, pd.DataFrame], folder: Path) -> Path:
    """Parquet whose text columns are BINARY, without the UTF8 annotation, as Hive, Impala and
    older Spark write them: read as bytes (`b'M'`), every cell was refused or no line found its claim."""
    for path in write_tables(tables, folder, "parquet"):
        table = pq.read_table(path)
        text = pa.schema([f.with_type(pa.binary()) if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
                          else f for f in table.schema])
        pq.write_table(table.cast(text), path)
    return folder


@pytest.mark.parametrize("write", [reencoded("gbk"), reencoded("utf-8-sig"), xlsx_folder, workbook, binary_text],
                         ids=["gbk-csv", "utf8-bom-csv", "xlsx-folder", "xlsx-workbook", "binary-parquet"])
def test_scores_equal_the_parquet_batch(write: Callable[[dict[str, pd.DataFrame], Path], Path],
                                        tables: dict[str, pd.DataFrame], parquet_result: Result,
                                        tmp_path: Path) -> None:
    result = yibao.score(write(tables, tmp_path))
    assert result.rejects.empty and parquet_result.rejects.empty
    assert len(result.claims) == len(tables["claims"])
    for name in OUTPUTS:
        pd.testing.assert_frame_equal(getattr(result, name), getattr(parquet_result, name), obj=name)


def test_scored_workbook_feeds_the_next_batch(tables: dict[str, pd.DataFrame], parquet_result: Result,
                                              tmp_path: Path) -> None:
    """`score --format xlsx` writes accumulators with labelled headers and date cells; given back
    with --accumulators they read as the Parquet ones do."""
    batch = tmp_path / "batch"
    write_tables(tables, batch, "parquet")
    (book,) = write_tables({"claims": parquet_result.claims, "accumulators": parquet_result.accumulators},
                           tmp_path / "scored", "xlsx")
    (parquet,) = write_tables({"accumulators": parquet_result.accumulators}, tmp_path / "acc", "parquet")
    from_xlsx, from_parquet = yibao.score(batch, accumulators=book), yibao.score(batch, accumulators=parquet)
    assert from_xlsx.rejects.empty and len(from_xlsx.accumulators) == len(parquet_result.accumulators)
    for name in OUTPUTS:
        pd.testing.assert_frame_equal(getattr(from_xlsx, name), getattr(from_parquet, name), obj=name)


def test_a_scored_workbook_is_settled_as_the_parquet_folder(tables: dict[str, pd.DataFrame],
                                                          parquet_result: Result, tmp_path: Path) -> None:
    """`score --format xlsx` writes every table as a sheet of `tables.xlsx`; settle read only
    `<table>.parquet|csv` and refused the folder ("missing table claims"). Settled, it gives what
    the Parquet folder gives, and `--verify` finds the claims again in the workbook."""
    settled = {}
    for fmt in ("parquet", "xlsx"):
        write_scored(parquet_result, tmp_path / fmt, fmt)
        settled[fmt] = yibao.settle(tmp_path / fmt, period="2025-05", institutions=tables["institutions"])
    assert not (tmp_path / "xlsx" / "claims.parquet").exists() and (tmp_path / "xlsx" / "tables.xlsx").is_file()
    assert len(settled["xlsx"].claims) > 20
    for name in ("statements", "claims", "claim_codes", "suspects"):
        pd.testing.assert_frame_equal(getattr(settled["xlsx"], name), getattr(settled["parquet"], name), obj=name)
    write_settlement(settled["xlsx"], tmp_path / "settlement")
    assert verify_folder(tmp_path / "settlement") == []


@pytest.mark.parametrize(("row_group", "claims_group"), [(yibao.io.PARQUET_ROW_GROUP, yibao.io.CLAIMS_ROW_GROUP),
                                                          (1000, 100)])
def test_tables_encoded_ahead_are_written_byte_for_byte(tables: dict[str, pd.DataFrame], tmp_path: Path,
                                                         row_group: int, claims_group: int,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """`yibao score` encodes the lines table while the claims are settled (io.Ahead), a row
    group at a time, the yuan of each made in the arrays of the one before, and the claims table
    a row group at a time as it is made: the folder it writes is the one written without it,
    file for file, and the claims are the same rows (1,000 lines and 100 claims a group:
    several groups of each). The result's lines frame, which the folder did not need, is made
    when it is first read, the same as without `Ahead`."""
    monkeypatch.setattr(yibao.io, "PARQUET_ROW_GROUP", row_group)
    monkeypatch.setattr(yibao.io, "CLAIMS_ROW_GROUP", claims_group)
    write_tables(tables, tmp_path / "batch", "parquet")
    plain = score_batch(*read_batch(tmp_path / "batch"))
    write_scored(plain, tmp_path / "plain")
    given: list[tuple[str, int]] = []
    final_lines, made = yibao.pipeline._final_lines, []
    monkeypatch.setattr(yibao.pipeline, "_final_lines", lambda *a: made.append(a) or final_lines(*a))
    with Ahead() as ahead:
        def encode(name: str, rows: int, part: Callable[[slice], pd.DataFrame]) -> Future[Any]:
            given.append((name, rows))
            return ahead(name, rows, part)

        result = score_batch(*read_batch(tmp_path / "batch"), ahead=encode)
        write_scored(result, tmp_path / "ahead", ahead=ahead)
        assert ahead.take("lines") is None and ahead.take("claims") is None  # written once, then gone
    assert not made
    pd.testing.assert_frame_equal(pickle.loads(pickle.dumps(result)).lines, plain.lines)  # pickled as made
    pd.testing.assert_frame_equal(result.lines, plain.lines)
    assert result.lines is result.lines and len(made) == 1
    assert given == [("lines", len(result.lines)), ("claims", len(result.claims))]
    assert len(result.lines) > 3 * 1000 and len(result.claims) > 2 * 100
    pd.testing.assert_frame_equal(result.claims, plain.claims)
    files = sorted(p.name for p in (tmp_path / "plain").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "ahead").iterdir()) and "lines.parquet" in files
    for name in files:
        assert (tmp_path / "ahead" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes(), name


def test_parquet_tables_carry_statistics_of_their_number_and_date_columns(tables: dict[str, pd.DataFrame],
                                                                          tmp_path: Path) -> None:
    """Every Parquet table written has min/max statistics of its number, date and flag columns,
    by which a reader skips row groups, and none of its text columns (a fifth of the encoding);
    every column but the claim id has a dictionary (`yibao.io.UNDICTIONARIED`)."""
    write_tables(tables, tmp_path / "batch", "parquet")
    scored = score_batch(*read_batch(tmp_path / "batch"))
    write_scored(scored, tmp_path / "scored")
    for path in [tmp_path / "scored" / "lines.parquet", tmp_path / "scored" / "claims.parquet",
                 tmp_path / "batch" / "claims.parquet"]:
        meta = pq.ParquetFile(path).metadata
        schema = pq.read_schema(path)
        columns = {meta.schema.column(i).name: meta.row_group(0).column(i) for i in range(meta.num_columns)}
        text = {f.name for f in schema if f.type in (pa.string(), pa.large_string())}
        assert text and len(text) < len(columns), path.name
        for name, column in columns.items():
            assert column.is_stats_set == (name not in text), (path.name, name)
            if column.physical_type != "BOOLEAN":  # Parquet has no dictionary of flags
                assert ("RLE_DICTIONARY" in column.encodings) == (name != "mdtrt_id"), (path.name, name)


def test_a_later_table_is_made_once_whichever_threads_read_it() -> None:
    """`Later`: four threads read a frame not yet made; it is made once, and all get that one."""
    made: list[int] = []

    def make() -> pd.DataFrame:
        made.append(1)
        time.sleep(0.05)  # the other readers arrive while it is being made
        return pd.DataFrame({"a": [1, 2]})

    later = Later(2, make)
    assert len(later) == 2 and not made
    with ThreadPoolExecutor(max_workers=4) as pool:
        frames = list(pool.map(lambda _: later.frame(), range(4)))
    assert made == [1] and all(f is frames[0] for f in frames)


@pytest.mark.parametrize("rows", [0, 5, 7, 20, 23])
def test_a_table_encoded_a_row_group_at_a_time_is_the_whole_tables_file(rows: int, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """`Ahead` writes a table from parts of one row group each (the lines in yuan are never made
    whole for it): the file is the one the plain writer makes of the whole table, row groups cut
    at the same rows (here 7 rows a group, so several groups and a short last one)."""
    monkeypatch.setattr(yibao.io, "PARQUET_ROW_GROUP", 7)
    frame = pd.DataFrame({"key": pd.array([f"K{i:03d}" for i in range(rows)], dtype="str"),
                          "yuan": np.arange(rows) / 100, "day": pd.array([f"2026-11-{1 + i % 28:02d}" for i in range(rows)],
                                                                           dtype="str")})
    parts: list[slice] = []

    def part(at: slice) -> pd.DataFrame:
        parts.append(at)
        return frame.iloc[at]

    with Ahead() as ahead:
        ahead("t", rows, part)
        write_tables({"t": frame}, tmp_path / "ahead", ahead=ahead)
    write_tables({"t": frame}, tmp_path / "plain")
    assert (tmp_path / "ahead" / "t.parquet").read_bytes() == (tmp_path / "plain" / "t.parquet").read_bytes()
    assert [(p.start, p.stop) for p in parts] == [(s, min(s + 7, rows)) for s in range(0, max(rows, 1), 7)]
    assert pq.ParquetFile(tmp_path / "plain" / "t.parquet").metadata.num_row_groups == max(-(-rows // 7), 1)


def test_encoded_tables_not_written_are_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`Ahead` encodes into the temporary folder: a table not taken is removed when its block
    ends, and one a killed run left (its process gone) when the next `Ahead` starts; a running
    process's file stays."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.Popen(["true"])
    gone.wait()
    left = tmp_path / f"{yibao.io.SPOOL}{gone.pid}-abc.parquet"
    running = tmp_path / f"{yibao.io.SPOOL}{os.getpid()}-def.parquet"
    for path in (left, running):
        path.write_bytes(b"PAR1")
    frame = pd.DataFrame({"yuan": [1.5, 2.0]})
    with Ahead() as ahead:
        assert not left.exists() and running.exists()
        encoded = ahead("t", 2, frame.iloc.__getitem__).result()
        assert encoded.parent == tmp_path and encoded.exists()
    assert not encoded.exists() and sorted(tmp_path.iterdir()) == [running]


def test_a_full_temporary_folder_writes_the_table_as_without_ahead(tables: dict[str, pd.DataFrame], tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Encoding ahead only saves time: when its temporary file cannot be made (a full or
    read-only temporary folder), the table is written by the plain writer, byte for byte."""
    write_tables(tables, tmp_path / "batch", "parquet")
    plain = score_batch(*read_batch(tmp_path / "batch"))
    write_scored(plain, tmp_path / "plain")

    def full(*args: Any, **kwargs: Any) -> tuple[int, str]:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(tempfile, "mkstemp", full)
    with Ahead() as ahead:
        result = score_batch(*read_batch(tmp_path / "batch"), ahead=ahead)
        write_scored(result, tmp_path / "ahead", ahead=ahead)
    for name in ("lines.parquet", "claims.parquet", "manifest.json"):
        assert (tmp_path / "ahead" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes(), name


@pytest.mark.parametrize(("rows", "text", "words"), [
    (3, "x" * 32_768, "table lines, column med_list_codg: a text longer than a cell holds (32,767 characters)"),
    # 20,000 characters beyond the plane are 40,000 UTF-16 units, as Excel and XlsxWriter count
    (3, "𠮷" * 20_000, "table lines, column med_list_codg: a text longer than a cell holds (32,767 characters)"),
    (4, "x", "table lines has 4 rows, more than a sheet holds (3)")])
def test_a_table_excel_cannot_hold_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: int, text: str,
                                              words: str) -> None:
    """XlsxWriter would cut a longer text short, and a sheet has a last row: such a table is
    refused for xlsx, not written in part. A text of rare characters (𠮷, two UTF-16 units each)
    was measured in characters, passed, and was cut unmarked at 16,383 of its 20,000."""
    from yibao.errors import InputError
    from yibao.excel import write_tables_workbook

    monkeypatch.setattr("yibao.excel.XLSX_MAX_ROWS", 3)
    items = pd.Series([text] + ["A"] * (rows - 1), dtype="str")
    lines = pd.DataFrame({"mdtrt_id": ["C1"] * rows, "med_list_codg": items})
    with pytest.raises(InputError, match=words.replace("(", r"\(").replace(")", r"\)")):
        write_tables_workbook({"lines": lines}, tmp_path / "tables.xlsx")
    assert not (tmp_path / "tables.xlsx").exists()
    write_tables_workbook({"lines": lines.iloc[:3].assign(med_list_codg="x" * 32_767)}, tmp_path / "tables.xlsx")
