"""A batch scored in partitions of persons equals the batch scored whole, row for row (issue 13).

Every table of the output is compared after sorting, with rejects (their rows and reason texts,
which name other rows) included: a batch with broken cells, a claim id shared by two persons
(which only a global view sees) and a bad institution row (which every partition validates).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401 (pa.compute)
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import yibao
from yibao.errors import InputError
from yibao.io import load_batch, read_table, write_tables
from yibao.partition import Router, Runner, _hashes, score_partitioned
from yibao.pipeline import score_batch
from yibao.scored import TABLES, write_scored
from yibao.synth import generate

CLAIMS = 2000


def _text(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clean")
    write_tables(generate(CLAIMS, 11), folder, "parquet")
    return folder


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CSV tables with: a bad date in a line, a duplicate line id, a claim of an unknown person,
    a person's bad birth date, a line of no claim, a claim id given to a second person's claim,
    an institution with a bad level, a claim's dates written at midnight (`2025-03-04 00:00:00`)
    and a line's date with a time of day (`… 10:30`), both read as the days."""
    folder = tmp_path_factory.mktemp("broken")
    write_tables(generate(CLAIMS, 12), folder, "csv")
    claims, lines = _text(folder / "claims.csv"), _text(folder / "lines.csv")
    persons, institutions = _text(folder / "persons.csv"), _text(folder / "institutions.csv")
    counts = lines["mdtrt_id"].value_counts()
    targets = claims[claims["mdtrt_id"].isin(counts.index[counts >= 2])].drop_duplicates("psn_no")
    bad_date, duplicate, unknown, person_claim, shared, other = targets["mdtrt_id"].iloc[[2, 9, 17, 25, 33, 41]]
    first = {m: int(lines.index[lines["mdtrt_id"] == m][0]) for m in (bad_date, duplicate)}
    lines.loc[first[bad_date], "service_date"] = "2025-02-30"
    midnight, timed = targets["mdtrt_id"].iloc[[5, 13]]
    lines.loc[lines["mdtrt_id"] == midnight, "service_date"] += " 00:00:00"
    lines.loc[lines.index[lines["mdtrt_id"] == timed][0], "service_date"] += " 10:30"
    lines.loc[first[duplicate] + 1, "line_id"] = lines.loc[first[duplicate], "line_id"]
    lines.loc[len(lines)] = lines.loc[0].to_dict() | {"mdtrt_id": "NO-SUCH-CLAIM"}
    claims.loc[claims["mdtrt_id"] == unknown, "psn_no"] = "NOBODY"
    persons.loc[persons["psn_no"] == targets["psn_no"].iat[25], "birth_date"] = "1970-13-01"
    claims.loc[claims["mdtrt_id"] == other, "mdtrt_id"] = shared  # two persons, one claim id
    institutions.loc[3, "level"] = "seven"
    for name, frame in (("claims", claims), ("lines", lines), ("persons", persons),
                        ("institutions", institutions)):
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def _whole(folder: Path, out: Path) -> Path:
    batch, rejects = load_batch(folder)
    write_scored(score_batch(batch, rejects), out)
    return out


def _table(folder: Path, name: str) -> pd.DataFrame:
    path = folder / f"{name}.parquet"
    frame = read_table(path if path.exists() else folder / name)
    return frame.sort_values(list(frame.columns), kind="stable").reset_index(drop=True)


def _assert_equal(whole: Path, parts: Path) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(_table(whole, name), _table(parts, name), obj=name)
    assert json.loads((whole / "summary.json").read_text()) == json.loads((parts / "summary.json").read_text())
    rows = {name: json.loads((f / "manifest.json").read_text())["rows"] for name, f in (("w", whole), ("p", parts))}
    assert rows["w"] == rows["p"]


@pytest.mark.parametrize("partitions", [1, 3])
def test_partitions_equal_the_whole_batch(clean: Path, tmp_path: Path, partitions: int) -> None:
    whole = _whole(clean, tmp_path / "whole")
    score_partitioned(clean, tmp_path / "parts", partitions)
    assert len(list((tmp_path / "parts" / "claims").glob("part-*.parquet"))) == partitions
    _assert_equal(whole, tmp_path / "parts")


def test_rejects_keep_file_rows_and_global_keys(broken: Path, tmp_path: Path) -> None:
    whole = _whole(broken, tmp_path / "whole")
    score_partitioned(broken, tmp_path / "parts", 4)
    _assert_equal(whole, tmp_path / "parts")
    rejects = read_table(tmp_path / "parts" / "rejects")
    reasons = " ".join(rejects["reason"])
    assert "duplicate mdtrt_id" in reasons and "duplicate mdtrt_id/line_id" in reasons
    assert (rejects["table"] == "institutions").sum() == 1  # validated by every partition, told once
    assert not rejects["reason"].str.contains("00:00:00|10:30").any()  # a time of day is the day


@settings(max_examples=4)
@given(partitions=st.integers(min_value=2, max_value=9))
def test_any_partition_count_gives_the_same_rejects_and_claims(broken: Path, partitions: int) -> None:
    out = broken.parent / f"{broken.name}-out-{partitions}"
    shutil.rmtree(out, ignore_errors=True)
    score_partitioned(broken, out, partitions)
    whole = broken.parent / f"{broken.name}-whole"
    if not whole.exists():
        _whole(broken, whole)
    for name in ("claims", "rejects"):
        pd.testing.assert_frame_equal(_table(whole, name), _table(out, name), obj=name)


def test_settlement_reads_the_parts(clean: Path, tmp_path: Path) -> None:
    whole = _whole(clean, tmp_path / "whole")
    score_partitioned(clean, tmp_path / "parts", 3)
    a, b = yibao.settle(whole, "2025-05"), yibao.settle(tmp_path / "parts", "2025-05")
    assert len(a.statements) > 0
    pd.testing.assert_frame_equal(a.statements, b.statements)
    key = ["institution_id", "mdtrt_id"]
    pd.testing.assert_frame_equal(a.claims.sort_values(key).reset_index(drop=True),
                                  b.claims.sort_values(key).reset_index(drop=True))


def test_persons_sharing_a_claim_id_meet_in_one_partition() -> None:
    """A shares claim id X with B, B shares Y with C: all three must meet, chain and all."""
    people = [f"P{i}" for i in range(40)]
    own = Router(8, _hashes(pd.Series(people)), _hashes(pd.Series(people))).person(pd.Series(people))
    a, b, c = (people[i] for i in _three_buckets(own))
    router = Router(8, _hashes(pd.Series([a, b, b, c])), _hashes(pd.Series(["X", "X", "Y", "Y"])))
    buckets = router.person(pd.Series([a, b, c], dtype="str"))
    assert len(set(buckets)) == 1 and buckets[0] == min(own[people.index(p)] for p in (a, b, c))
    assert list(router.line(pd.Series(["X", "Y", "Z"], dtype="str")))[:2] == [buckets[0]] * 2


def _three_buckets(buckets) -> list[int]:
    """Positions of three persons whose own buckets all differ."""
    seen: dict[int, int] = {}
    for i, b in enumerate(buckets):
        seen.setdefault(int(b), i)
    return sorted(seen.values())[:3]


@pytest.fixture(scope="module")
def broken_groups(broken: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The broken batch as Parquet of small row groups (text cells as in the CSV), so the split
    cuts each table into several slices."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path_factory.mktemp("broken-groups")
    for csv in broken.glob("*.csv"):
        table = pa.Table.from_pandas(_text(csv), preserve_index=False)
        pq.write_table(table, folder / f"{csv.stem}.parquet", row_group_size=97)
    return folder


class _Workers(Runner):
    workers = 3  # six slices a table, one after another here


def test_slices_split_by_tasks_equal_the_whole_batch(broken_groups: Path, tmp_path: Path) -> None:
    """Each Parquet table cut into six slices by row groups, each split by its own task: rows,
    file row numbers in rejects and every output equal the whole run's."""
    import pyarrow.parquet as pq

    assert pq.ParquetFile(broken_groups / "lines.parquet").metadata.num_row_groups >= 6
    whole = _whole(broken_groups, tmp_path / "whole")
    score_partitioned(broken_groups, tmp_path / "parts", 4, run=_Workers())
    _assert_equal(whole, tmp_path / "parts")
    assert len(_table(whole, "rejects")) > 8  # the broken rows are there, named by file row


def test_dask_local_cluster_equals_the_whole_batch(broken_groups: Path, tmp_path: Path) -> None:
    """Four partitions as tasks on a LocalCluster of two worker processes (loopback only), the
    split too: four slices a table, split by the workers."""
    from yibao.cluster import DaskRunner

    whole = _whole(broken_groups, tmp_path / "whole")
    score_partitioned(broken_groups, tmp_path / "dask", 4, run=DaskRunner(workers=2))
    _assert_equal(whole, tmp_path / "dask")
    score_partitioned(broken_groups, tmp_path / "local", 4)
    manifests = [(tmp_path / f / "manifest.json").read_bytes() for f in ("dask", "local")]
    assert manifests[0] == manifests[1]  # the same bytes, part for part, whoever scored them


@pytest.mark.parametrize("extra, says", [
    (["--partitions", "2", "--period", "2025-01"], "give it with --ledger"),
    (["--engine", "dask", "--format", "csv"], "write Parquet parts"),
    (["--scheduler", "tcp://127.0.0.1:8786"], "give it with --engine dask"),
    (["--partitions", "0"], "from 1 to 10,000, or auto"),
    (["--partitions", "²"], "from 1 to 10,000, or auto"),  # a digit to str.isdigit, no number to int()
    (["--partitions", "9" * 23], "from 1 to 10,000, or auto"),  # was an OverflowError in the split
    (["--engine", "dask", "--scheduler", "garbage"], "cannot reach the Dask scheduler garbage: missing port number"),
    (["--engine", "dask", "--scheduler", "http://127.0.0.1:1"], "unknown address scheme 'http'"),
    (["--engine", "dask", "--scheduler", ""], "--scheduler is empty"),  # was a cluster on this machine
])
def test_partitioned_cli_refuses_what_it_cannot_do(clean: Path, tmp_path: Path, extra: list[str], says: str) -> None:
    """Refused in one line with exit 2, through the entry point a user runs, before any work."""
    done = subprocess.run([sys.executable, "-c", "from yibao.cli.app import main; main()", "score", str(clean),
                           "--out", str(tmp_path / "out"), *extra], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and says in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr
    assert not (tmp_path / "out").exists()


def test_an_input_table_given_as_parquet_parts(clean: Path, tmp_path: Path) -> None:
    """lines as `lines/part-*.parquet` (as a cluster's export writes them) read as the one file."""
    import pyarrow.parquet as pq

    parted = tmp_path / "parted"
    shutil.copytree(clean, parted)
    lines = pq.read_table(parted / "lines.parquet")
    (parted / "lines.parquet").unlink()
    (parted / "lines").mkdir()
    half = len(lines) // 2
    pq.write_table(lines.slice(0, half), parted / "lines" / "part-00000.parquet")
    pq.write_table(lines.slice(half), parted / "lines" / "part-00001.parquet")
    whole = _whole(clean, tmp_path / "whole")
    score_partitioned(parted, tmp_path / "parts", 2)
    _assert_equal(whole, tmp_path / "parts")
    digests = {json.loads((f / "manifest.json").read_text())["input_digest"] for f in (whole, tmp_path / "parts")}
    assert len(digests) == 2  # the parts are digested, under their own names


@pytest.mark.parametrize("stray", ["lines/2025-06.parquet", "lines/more/part-00001.parquet"])
def test_rows_beside_the_parts_are_refused_not_left_unread(clean: Path, tmp_path: Path, stray: str) -> None:
    """A part under another name, or in a sub-folder, was left out without a word: its lines
    were neither scored nor rejected, and their claims paid on the lines read. The bookkeeping
    files of the tools that write parts are no rows."""
    import pyarrow.parquet as pq

    parted = tmp_path / "parted"
    shutil.copytree(clean, parted)
    lines = pq.read_table(parted / "lines.parquet")
    (parted / "lines.parquet").unlink()
    (parted / "lines").mkdir()
    pq.write_table(lines.slice(0, 2), parted / "lines" / "part-00000.parquet")
    for name in ("_SUCCESS", ".part-00000.parquet.crc"):
        (parted / "lines" / name).write_bytes(b"")
    load_batch(parted)
    (parted / stray).parent.mkdir(exist_ok=True)
    pq.write_table(lines.slice(2), parted / stray)
    stray_name = stray.split("/")[1]
    for run in (lambda: load_batch(parted), lambda: score_partitioned(parted, tmp_path / "parts", 2)):
        with pytest.raises(InputError, match=f"lines: {stray_name} is not a part \\(part-\\*.parquet\\) and would "
                                             "go unread"):
            run()


@pytest.mark.parametrize("name", ["garbage parquet", "duplicate header persons.psn_no", "duplicate header lines.pric"])
def test_a_refused_file_is_refused_in_one_line_by_partitions_too(tmp_path: Path, name: str) -> None:
    """Faults of the corpus (tests/faults.py) that the split reads before normalize does."""
    from faults import FAULTS

    fault = next(f for f in FAULTS if f.name == name)
    folder = tmp_path / "batch"
    write_tables(generate(40, 11), folder, "csv")
    fault.edit(folder)
    with pytest.raises(InputError) as whole:
        load_batch(folder)
    with pytest.raises(InputError) as parts:
        score_partitioned(folder, tmp_path / "out", 3)
    assert str(whole.value).split(":")[0] == str(parts.value).split(":")[0]  # the same file named
    assert "\n" not in str(parts.value) and not (tmp_path / "out").exists()


def test_partitions_auto_through_the_command(clean: Path, tmp_path: Path) -> None:
    """`--partitions auto` counts the lines from the Parquet footers: a small batch is one part."""
    done = subprocess.run([sys.executable, "-c", "from yibao.cli.app import main; main()", "score", str(clean),
                           "--out", str(tmp_path / "out"), "--partitions", "auto", "--quiet"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["partitions"] == 1
    _assert_equal(_whole(clean, tmp_path / "whole"), tmp_path / "out")


def test_a_tariff_folder_spec_is_read_by_every_partition(clean: Path, tmp_path: Path) -> None:
    """`--tariff FOLDER` with partitions: each partition resolves the folder as the whole run does
    (the scores are the whole batch's, tariff keys included)."""
    from yibao.tariffs.registry import region_dirs, tariff_spec

    folder = shutil.copytree(region_dirs()["sample-county"], tmp_path / "sample-county")
    batch, rejects = load_batch(clean)
    whole = tmp_path / "whole"
    write_scored(score_batch(batch, rejects, tariff=tariff_spec(folder)), whole)
    score_partitioned(clean, tmp_path / "parts", 2, tariff=str(folder))
    _assert_equal(whole, tmp_path / "parts")


def test_csv_is_split_a_block_at_a_time_with_the_files_rows(broken: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """CSV streamed in 4 KB blocks gathered into chunks of 500 rows (hundreds of chunks): the
    same outputs, rejects naming the same file rows, as the whole run."""
    import yibao.partition as partition

    monkeypatch.setattr(partition, "CHUNK", 500)
    monkeypatch.setattr(partition, "CSV_BLOCK", 1 << 12)
    whole = _whole(broken, tmp_path / "whole")
    score_partitioned(broken, tmp_path / "parts", 3)
    _assert_equal(whole, tmp_path / "parts")


def test_a_gb18030_csv_and_a_ragged_row_far_into_the_file(clean: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The encoding is decided by the whole file, not its first block (a Chinese name in the
    last row, in a column the agency's export adds); a row with a cell too many, after many
    blocks, is refused naming its line."""
    import yibao.partition as partition

    monkeypatch.setattr(partition, "CSV_BLOCK", 1 << 12)
    folder = tmp_path / "batch"
    write_tables(generate(300, 5), folder, "csv")
    persons = _text(folder / "persons.csv")
    persons.loc[len(persons) - 1, "name"] = "张三"
    persons.to_csv(folder / "persons.csv", index=False, encoding="gb18030")
    whole = _whole(folder, tmp_path / "whole")
    score_partitioned(folder, tmp_path / "parts", 2)
    _assert_equal(whole, tmp_path / "parts")
    text = (folder / "lines.csv").read_text().splitlines()
    text[-3] += ",1"
    (folder / "lines.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(InputError) as wholly:
        load_batch(folder)
    with pytest.raises(InputError) as parts:
        score_partitioned(folder, tmp_path / "out", 2)
    assert str(parts.value) == str(wholly.value) and f"line {len(text) - 2}" in str(parts.value)


def test_a_row_longer_than_a_block_far_into_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 3 MB row after thousands of rows (a note in a column no table has; a line id as long):
    Arrow refused the file, whole and streamed. The streamed read (4 KB blocks, chunks of 500
    rows here) begins again in blocks as long as the row, after the rows it gave: the outputs
    equal the whole run's. A row over `MAX_CSV_ROW` is refused in the same line by both."""
    import yibao.io
    import yibao.partition as partition

    monkeypatch.setattr(partition, "CHUNK", 500)
    monkeypatch.setattr(partition, "CSV_BLOCK", 1 << 12)
    folder = tmp_path / "batch"
    write_tables(generate(300, 5), folder, "csv")
    lines = _text(folder / "lines.csv").assign(note="")
    far = len(lines) - 40
    lines.loc[far, "note"] = "x" * (3 << 20)
    lines.loc[far + 7, "line_id"] = "7" * (3 << 20)
    lines.to_csv(folder / "lines.csv", index=False)
    whole = _whole(folder, tmp_path / "whole")
    score_partitioned(folder, tmp_path / "parts", 2)
    _assert_equal(whole, tmp_path / "parts")
    assert (_table(whole, "rejects")["column"] == "line_id").sum() == 1
    monkeypatch.setattr(yibao.io, "MAX_CSV_ROW", 1 << 20)
    with pytest.raises(InputError) as wholly:
        load_batch(folder)
    with pytest.raises(InputError) as parts:
        score_partitioned(folder, tmp_path / "out", 2)
    assert str(parts.value) == str(wholly.value) == (
        f"{folder / 'lines.csv'}: line {far + 2}: longer than 1 MB, which no row needs (a cell pasted by "
        f"mistake, or a quote left open?)")


def test_a_scheduler_address_that_never_answers_is_given_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """A peer that takes the connection and says nothing (a dashboard's port, a web server) held
    `--engine dask` forever: distributed's connect timeout does not cover its handshake."""
    import socket

    import yibao.cluster
    from yibao.cluster import DaskRunner
    from yibao.errors import InputError

    monkeypatch.setattr(yibao.cluster, "CONNECT_SECONDS", 3)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections queue, nothing answers
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(InputError, match=f"the Dask scheduler {address} did not answer in 3 s"):
            DaskRunner(address).__enter__()


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_a_byte_order_mark_is_no_part_of_the_first_field(tmp_path: Path, encoding: str) -> None:
    """lines.csv and persons.csv with a BOM, whose first fields are the keys the split routes
    by. GB18030 has a BOM too, which Python decodes as U+FEFF: the split missed `mdtrt_id` and
    sent every line to partition 0, where 1,714 of 3,539 lines were rejected as of no claim and
    their claims approved paying 0."""
    folder = tmp_path / "batch"
    write_tables(generate(300, 7), folder, "csv")
    for name in ("lines", "persons"):
        text = (folder / f"{name}.csv").read_text(encoding="utf-8-sig")
        (folder / f"{name}.csv").write_bytes(("\ufeff" + text).encode(encoding))
    whole = _whole(folder, tmp_path / "whole")
    score_partitioned(folder, tmp_path / "parts", 3)
    _assert_equal(whole, tmp_path / "parts")
    assert _table(whole, "rejects").empty


def _typed_parts(clean: Path, folder: Path, pric: pa.DataType = pa.float32()) -> None:
    """`clean` with its lines as four Parquet parts typed apart, as exports of different tools
    write them: an empty part typed null, prices as `pric` (float32 in the first half), counts
    as int64 where whole, and the last part's columns in reverse order."""
    import pyarrow.parquet as pq

    shutil.copytree(clean, folder)
    lines = pq.read_table(folder / "lines.parquet")
    (folder / "lines.parquet").unlink()
    (folder / "lines").mkdir()
    half = len(lines) // 2
    first, second = lines.slice(0, half), lines.slice(half)
    whole_counts = pa.compute.all(pa.compute.equal(pa.compute.round(first["cnt"]), first["cnt"])).as_py()
    parts = [pa.table({name: pa.nulls(0) for name in lines.column_names}),
             first.set_column(first.schema.get_field_index("pric"), "pric", first["pric"].cast(pric)),
             second.set_column(second.schema.get_field_index("cnt"), "cnt",
                               second["cnt"].cast(pa.int64()) if whole_counts else second["cnt"]),
             second.slice(0, 0).select(lines.column_names[::-1])]
    for i, part in enumerate(parts):
        pq.write_table(part, folder / "lines" / f"part-{i:05d}.parquet")


def test_parts_typed_apart_are_read_as_one_table_whole_and_partitioned(clean: Path, tmp_path: Path) -> None:
    """Before, a partitioned run cast every part to the first part's types: float32 prices of
    2 decimals became 2,345,679.00 for 2,345,678.91 read whole, an empty null-typed first part or
    columns in another order were refused; and read whole, a float32 part widened beside a float64
    one gave prices such as 12.3400001 rejected as 'more than 2 decimals'."""
    _typed_parts(clean, tmp_path / "parted")
    whole = _whole(tmp_path / "parted", tmp_path / "whole")
    score_partitioned(tmp_path / "parted", tmp_path / "parts", 3)
    _assert_equal(whole, tmp_path / "parts")
    assert _table(whole, "rejects").empty
    single = _whole(clean, tmp_path / "single")  # the lines as one file: the same amounts
    pd.testing.assert_frame_equal(_table(whole, "claims"), _table(single, "claims"))


def test_parts_typed_text_and_number_are_refused_whole_and_partitioned(clean: Path, tmp_path: Path) -> None:
    _typed_parts(clean, tmp_path / "parted", pric=pa.string())
    for run in (lambda: load_batch(tmp_path / "parted"), lambda: score_partitioned(tmp_path / "parted",
                                                                                   tmp_path / "parts", 3)):
        with pytest.raises(InputError, match="its parts do not have the same columns and types$"):
            run()


@pytest.mark.parametrize(("table", "column", "typed"), [
    ("lines", "med_list_codg", lambda cells: pa.array([{"code": c} for c in cells])),  # was paid as nothing covered
    ("claims", "psn_no", lambda cells: pa.array([[{"psn": c}] for c in cells])),  # was a traceback splitting the claims
    ("institutions", "institution_id", lambda cells: pa.array([{"id": c} for c in cells])),  # read by every partition
    ("lines", "pric", lambda cells: pa.array([[c] for c in cells])),  # was every line rejected, its cell quoted
])
def test_a_column_of_a_type_it_cannot_be_read_as_is_refused_whole_and_partitioned(clean: Path, tmp_path: Path,
                                                                                  table: str, column: str,
                                                                                  typed) -> None:
    import pyarrow.parquet as pq

    folder = shutil.copytree(clean, tmp_path / "batch")
    arrow = pq.read_table(folder / f"{table}.parquet")
    at = arrow.schema.get_field_index(column)
    pq.write_table(arrow.set_column(at, column, typed(arrow[column].to_pylist())), folder / f"{table}.parquet")
    refusals = []
    for run in (lambda: load_batch(folder), lambda: score_partitioned(folder, tmp_path / "parts", 3)):
        with pytest.raises(InputError) as err:
            run()
        refusals.append(str(err.value))
    assert refusals[0] == refusals[1]
    assert refusals[0].startswith(f"{folder / table}.parquet, column {column}: is stored as ")
    assert not (tmp_path / "parts").exists()


def test_a_column_of_a_type_it_cannot_be_read_as_is_one_line_exit_2_partitioned(clean: Path, tmp_path: Path) -> None:
    """Through the entry point a user runs: no traceback (a list of structs in a claim key was one)."""
    import pyarrow.parquet as pq

    folder = shutil.copytree(clean, tmp_path / "batch")
    claims = pq.read_table(folder / "claims.parquet")
    at = claims.schema.get_field_index("psn_no")
    pq.write_table(claims.set_column(at, "psn_no", pa.array([[{"psn": c}] for c in claims["psn_no"].to_pylist()])),
                   folder / "claims.parquet")
    done = subprocess.run([sys.executable, "-c", "from yibao.cli.app import main; main()", "score", str(folder),
                           "--out", str(tmp_path / "out"), "--partitions", "3"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and done.stderr == (
        f"error: {folder / 'claims.parquet'}, column psn_no: is stored as list<element: struct<psn: string>>, "
        "not as text: store it as text (string)\n"), done.stderr


@pytest.mark.parametrize("table, column", [("claims", "kind"), ("lines", "pric")])
@pytest.mark.parametrize("parted", [False, True])
def test_a_parquet_column_named_twice_is_named_whole_and_partitioned(clean: Path, tmp_path: Path, table: str,
                                                                     column: str, parted: bool) -> None:
    """A partitioned run said only 'its parts do not have the same columns and types' of a Parquet
    file with a column named twice (but of the claims, whose header the claim keys' reading checked)."""
    import pyarrow.parquet as pq

    folder = shutil.copytree(clean, tmp_path / "batch")
    arrow = pq.read_table(folder / f"{table}.parquet")
    path = folder / table / "part-00000.parquet" if parted else folder / f"{table}.parquet"
    (folder / f"{table}.parquet").unlink()
    path.parent.mkdir(exist_ok=True)
    pq.write_table(arrow.append_column(column, arrow[column]), path)
    says = f"{path}, column {column}: column {column} appears twice in the header: keep one"
    for run in (lambda: load_batch(folder), lambda: score_partitioned(folder, tmp_path / "parts", 3)):
        with pytest.raises(InputError) as err:
            run()
        assert str(err.value) == says


def test_lists_with_null_items_are_scored_as_their_items_whole_and_partitioned(clean: Path, tmp_path: Path) -> None:
    """Each claim's diagnoses as a Parquet list ending in a null: a run scored them as no diagnosis
    (Arrow joins a list with a null item to null), and paid half the fund."""
    import pyarrow.parquet as pq

    folder = shutil.copytree(clean, tmp_path / "batch")
    claims = pq.read_table(folder / "claims.parquet")
    listed = pa.array([[*cell.split(";"), None] if cell else [] for cell in claims["diagnoses"].to_pylist()])
    pq.write_table(claims.set_column(claims.schema.get_field_index("diagnoses"), "diagnoses", listed),
                   folder / "claims.parquet")
    whole = _whole(folder, tmp_path / "whole")
    score_partitioned(folder, tmp_path / "parts", 3)
    _assert_equal(whole, tmp_path / "parts")
    pd.testing.assert_frame_equal(_table(whole, "claims"), _table(_whole(clean, tmp_path / "clean"), "claims"))


EMPTY_ROWS = 300


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_empty_rows_are_one_reject_each_whole_and_partitioned(tmp_path: Path, fmt: str) -> None:
    """Rows without a value (only commas in a CSV, only nulls in Parquet) at the end of the lines,
    claims, persons and institutions, and a line with its price alone: an empty row is one reject
    ('empty row'), the partial line every reason it has (its blank claim id names no claim, not an
    empty claims row), and whole and partitioned runs say the same."""
    import pyarrow.parquet as pq

    folder = tmp_path / "batch"
    write_tables(generate(200, 5), folder, fmt)
    for table in ("lines", "claims", "persons", "institutions"):
        path = folder / f"{table}.{fmt}"
        if fmt == "csv":
            width = len(_text(path).columns)
            with path.open("a", encoding="utf-8") as f:
                f.write(("," * (width - 1) + "\n") * EMPTY_ROWS + (",,,,30.00" + "," * (width - 5) + "\n") * (table == "lines"))
        else:
            arrow = pq.read_table(path)
            nulls = pa.table({f.name: pa.nulls(EMPTY_ROWS, f.type) for f in arrow.schema})
            pq.write_table(pa.concat_tables([arrow, nulls]), path)
    whole = _whole(folder, tmp_path / "whole")
    score_partitioned(folder, tmp_path / "parts", 3)
    _assert_equal(whole, tmp_path / "parts")
    rejects = _table(whole, "rejects")
    empty = rejects[rejects["reason"] == "empty row: no column of the table holds a value"]
    assert empty["table"].value_counts().to_dict() == {t: EMPTY_ROWS for t in ("lines", "claims", "persons",
                                                                               "institutions")}
    assert (empty["column"] == "").all()
    assert not rejects[rejects.duplicated(["table", "row"], keep=False)].merge(empty, on=["table", "row"]).size
    if fmt == "csv":  # the line with a price: its blank cells, its blank key not shared, no claim of its own
        lines = len(_text(folder / "lines.csv"))
        partial = rejects[(rejects["table"] == "lines") & (rejects["row"] == lines + 1)]
        assert sorted(partial["reason"]) == ["a value is required"] * 5 + ["no claim '' in claims"]


def _priced_parts(clean: Path, folder: Path, price: float, narrow: pa.DataType) -> None:
    """`clean` with every line priced `price` yuan, its lines in two Parquet parts: prices as
    float64 in the first, as `narrow` in the second."""
    import pyarrow.parquet as pq

    shutil.copytree(clean, folder)
    lines = pq.read_table(folder / "lines.parquet")
    at = lines.schema.get_field_index("pric")
    lines = lines.set_column(at, "pric", pa.array([price] * len(lines), pa.float64()))
    pq.write_table(lines, folder / "lines.parquet")
    if narrow == pa.float64():
        return
    (folder / "lines.parquet").unlink()
    (folder / "lines").mkdir()
    half = len(lines) // 2
    second = lines.slice(half)
    pq.write_table(lines.slice(0, half), folder / "lines" / "part-00000.parquet")
    pq.write_table(second.set_column(at, "pric", second["pric"].cast(narrow)), folder / "lines" / "part-00001.parquet")


def test_float16_part_beside_float64_is_read_as_its_decimals(clean: Path, tmp_path: Path) -> None:
    """12.34 in float16 is 12.34375; a float16 part was widened as that, and every line of it
    rejected as having 'more than 2 decimals' (float32 parts were already read as 12.34)."""
    _priced_parts(clean, tmp_path / "parted", 12.34, pa.float16())
    _priced_parts(clean, tmp_path / "single", 12.34, pa.float64())
    whole = _whole(tmp_path / "parted", tmp_path / "whole")
    score_partitioned(tmp_path / "parted", tmp_path / "parts", 3)
    _assert_equal(whole, tmp_path / "parts")
    assert _table(whole, "rejects").empty
    pd.testing.assert_frame_equal(_table(whole, "claims"), _table(_whole(tmp_path / "single", tmp_path / "one"), "claims"))


def test_float32_part_beside_float64_too_narrow_for_its_amounts_is_refused(clean: Path, tmp_path: Path) -> None:
    """1,234,567.89 in float32 is 1,234,567.875: in a file of its own such a cell is rejected, but
    a float32 part widened beside float64 ones was read as 1,234,567.9 and paid without a word.
    Widened, its cells can no longer be told from the other parts', so the table is refused."""
    _priced_parts(clean, tmp_path / "parted", 1_234_567.89, pa.float32())
    says = ("pric is stored as float32 in some parts, which cannot hold all its values to 2 decimals: "
            "store the column as float64 or decimal$")
    for run in (lambda: load_batch(tmp_path / "parted"), lambda: score_partitioned(tmp_path / "parted",
                                                                                   tmp_path / "parts", 3)):
        with pytest.raises(InputError, match=says):
            run()


@pytest.mark.parametrize("hard, says", [(20_000, ""), (32, "--partitions 40: a split holds a file open per partition, "
                                                          "and this system lets a process open 32 (ulimit -Hn): "
                                                          "give at most 1\n")])
def test_more_partitions_than_open_files_allowed(tmp_path: Path, hard: int, says: str) -> None:
    """Under a soft limit of open files below the partitions (commonly 1,024; here 32 for 40),
    the split failed half-way with 'Too many open files'; the soft limit is raised as far as the
    hard one lets, and beyond it the count is refused before any work."""
    import resource

    write_tables(generate(30, 3), tmp_path / "batch", "parquet")
    done = subprocess.run([sys.executable, "-m", "yibao", "score", str(tmp_path / "batch"), "--out",
                           str(tmp_path / "out"), "--partitions", "40", "-q"], capture_output=True, text=True,
                          preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (32, hard)))
    assert (done.returncode, done.stderr) == ((2, f"error: {says}") if says else (0, "")), done.stderr[-500:]
    assert (tmp_path / "out").exists() is not bool(says)


def test_accumulators_from_a_workbook_of_several_sheets(tmp_path: Path) -> None:
    """The scorer's xlsx output (tables.xlsx: claims first, accumulators among its sheets) given
    as the next batch's accumulators. The split read the workbook's first sheet, claims, which
    also has psn_no and year: 3,566 rejects and 35 of 300 claims scored, against 300 whole."""
    folder = tmp_path / "batch"
    write_tables(generate(300, 3), folder, "parquet")
    write_scored(score_batch(*load_batch(folder)), tmp_path / "first", "xlsx")
    book = tmp_path / "first" / "tables.xlsx"
    batch, rejects = load_batch(folder, accumulators=book)
    write_scored(score_batch(batch, rejects), tmp_path / "whole")
    score_partitioned(folder, tmp_path / "parts", 2, accumulators=book)
    _assert_equal(tmp_path / "whole", tmp_path / "parts")
    assert _table(tmp_path / "whole", "rejects").empty
