"""The files people have score as the Parquet batch does: CSV in GBK or UTF-8 with a BOM, a folder
of .xlsx tables, one workbook with a sheet per table (issue 11, part 3).

The batch is generated (`yibao synth`, 300 claims) and written in each form by the writers and
encoders of the test, then scored; every output table must equal the Parquet batch's. Last, the lines table that
`yibao score` encodes ahead (while the claims are made) is written as the plain writer writes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd
import pytest

import yibao
from yibao.io import Ahead, read_batch, write_tables
from yibao.pipeline import Result, score_batch
from yibao.scored import write_scored
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


@pytest.mark.parametrize("write", [reencoded("gbk"), reencoded("utf-8-sig"), xlsx_folder, workbook],
                         ids=["gbk-csv", "utf8-bom-csv", "xlsx-folder", "xlsx-workbook"])
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


def test_lines_encoded_ahead_are_written_byte_for_byte(tables: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    """`yibao score` encodes the lines table while the claims' table is being made (io.Ahead):
    the folder it writes is the one written without it, file for file."""
    write_tables(tables, tmp_path / "batch", "parquet")
    plain = score_batch(*read_batch(tmp_path / "batch"))
    write_scored(plain, tmp_path / "plain")
    given: list[tuple[str, pd.DataFrame]] = []
    with Ahead() as ahead:
        def encode(name: str, frame: pd.DataFrame) -> None:
            given.append((name, frame))
            ahead(name, frame)

        result = score_batch(*read_batch(tmp_path / "batch"), ahead=encode)
        write_scored(result, tmp_path / "ahead", ahead=ahead)
        assert ahead.take("lines") is None  # written once, then gone
    assert [(name, frame is result.lines) for name, frame in given] == [("lines", True)]
    files = sorted(p.name for p in (tmp_path / "plain").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "ahead").iterdir()) and "lines.parquet" in files
    for name in files:
        assert (tmp_path / "ahead" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes(), name

