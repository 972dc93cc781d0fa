"""Output folders (yibao/outputs.py): written whole or not at all, sealed by a manifest that
`yibao settle` checks before paying from a folder.

The manifest's digests are recomputed here with hashlib straight from the files; the crash test
kills a real `yibao score` process with SIGKILL in the middle of its write.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import cases_batch, kill_while_writing, make_case, score_cases
from yibao.errors import InputError
from yibao.io import write_tables
from yibao.outputs import MANIFEST, input_digest, read_manifest, write_folder
from yibao.pipeline import score_batch
from yibao.scored import write_scored
from yibao.settlement import settle
from yibao.synth import generate


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(out.name))


def yibao(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from yibao.cli.app import main; main()", *args],
                          capture_output=True, text=True, env=os.environ | (env or {}), timeout=120)


def one_line_error(run: subprocess.CompletedProcess[str], *words: str) -> None:
    assert run.returncode == 2, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr, run.stderr
    for word in words:
        assert word in run.stderr, run.stderr


@pytest.fixture(scope="module")
def result():
    return score_cases([make_case(), make_case(claim={"mdtrt_id": "C2", "admit_date": "2025-05-20",
                                                      "discharge_date": "2025-05-22"})])


def test_a_failing_writer_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"

    def write(folder: Path) -> dict:
        (folder / "claims.csv").write_text("mdtrt_id\nC1\n", encoding="utf-8")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_folder(out, write, kind="score")
    assert siblings(out) == []


def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    """The system's error while writing (a full disk) is told in one line naming the folder, as
    bad input is: no traceback, and nothing left behind."""
    out = tmp_path / "out"

    def write(folder: Path) -> dict:
        (folder / "claims.csv").write_text("mdtrt_id\nC1\n", encoding="utf-8")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(InputError) as raised:
        write_folder(out, write, kind="score")
    assert str(raised.value) == f"{out}: could not be written (No space left on device)"
    assert siblings(out) == [] and not out.exists()


def test_score_manifest(tmp_path: Path, result) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "b.csv").write_text("x\n1\n", encoding="utf-8")
    (batch / "a.csv").write_text("y\n", encoding="utf-8")
    write_scored(result, tmp_path / "s", "csv", inputs=[batch])
    manifest = json.loads((tmp_path / "s" / MANIFEST).read_text(encoding="utf-8"))
    files = sorted(p.name for p in (tmp_path / "s").iterdir() if p.name != MANIFEST)
    assert files == ["accumulators.csv", "claims.csv", "lines.csv", "rejects.csv", "summary.json",
                     "violations.csv"]
    assert manifest["files"] == {f: sha(tmp_path / "s" / f) for f in files}
    assert manifest["tool"] == "yibao" and manifest["kind"] == "score" and manifest["format"] == "csv"
    assert manifest["tariffs"] == ["sample-county@2025"]
    assert manifest["rows"] == {"claims": 2, "lines": 2, "accumulators": 1, "violations": 0, "rejects": 0}
    by_hand = f"a.csv\t{sha(batch / 'a.csv')}\nb.csv\t{sha(batch / 'b.csv')}\n"
    assert manifest["input_digest"] == hashlib.sha256(by_hand.encode()).hexdigest() == input_digest([batch])
    write_scored(result, tmp_path / "again", "csv", inputs=[batch])  # no times, no paths: same bytes
    assert sha(tmp_path / "again" / MANIFEST) == sha(tmp_path / "s" / MANIFEST)


def test_settle_refuses_folders_not_written_whole(tmp_path: Path, result) -> None:
    scored = tmp_path / "s"
    write_scored(result, scored, "parquet")
    assert settle(scored, "2025-05").claims["mdtrt_id"].tolist() == ["C1", "C2"]

    claims = scored / "claims.parquet"
    data = claims.read_bytes()
    claims.write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(InputError, match=r"claims.parquet: does not match its manifest \(changed or half-written\)"):
        settle(scored, "2025-05")
    claims.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # one bit changed
    with pytest.raises(InputError, match="claims.parquet: does not match its manifest"):
        settle(scored, "2025-05")
    claims.write_bytes(data)
    settle(scored, "2025-05")

    (scored / "violations.csv").write_text("mdtrt_id,code,violation_amt\n", encoding="utf-8")
    with pytest.raises(InputError, match="both violations.parquet and violations.csv"):
        settle(scored, "2025-05")
    (scored / "violations.parquet").unlink()  # the CSV left in its place is not vouched for
    with pytest.raises(InputError, match="violations.parquet: listed in manifest.json but missing"):
        settle(scored, "2025-05")

    (scored / MANIFEST).unlink()
    with pytest.raises(InputError, match="has no manifest.json: not a complete yibao score output"):
        settle(scored, "2025-05")
    for text in ("{", "[" * 100_000 + "]" * 100_000):  # nested past Python's recursion: was a RecursionError
        (scored / MANIFEST).write_text(text, encoding="utf-8")
        with pytest.raises(InputError, match="not the manifest of a yibao score output"):
            read_manifest(scored, "score")


def test_out_refused_unless_overwrite(tmp_path: Path, result) -> None:
    scored, out = tmp_path / "s", tmp_path / "st"
    write_scored(result, scored, "parquet")
    args = ("settle", str(scored), "--period", "2025-05", "--out", str(out), "--quiet")
    assert yibao(*args).returncode == 0
    (out / "extra.txt").write_text("left by hand", encoding="utf-8")
    one_line_error(yibao(*args), str(out), "already exists", "--overwrite")
    assert (out / "extra.txt").exists()
    one_line_error(yibao(*args, "--overwrite"), f"{out}: holds extra.txt, which yibao did not write")
    (out / "extra.txt").unlink()
    assert yibao(*args, "--overwrite").returncode == 0
    assert (out / MANIFEST).exists() and siblings(out) == ["st"]

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("not yibao's", encoding="utf-8")
    one_line_error(yibao("settle", str(scored), "--period", "2025-05", "--out", str(mine), "--overwrite"),
                   "was not written by yibao")
    assert (mine / "notes.txt").exists()


def test_overwrite_keeps_a_file_the_user_added(tmp_path: Path) -> None:
    """`score --out o --overwrite` replaced o whole, and a note the user had put in o went with
    it, exit 0. Now it is refused in one line naming the note, before the ledger commits."""
    batch, out, ledger = tmp_path / "batch", tmp_path / "o", tmp_path / "ledger.db"
    write_tables(generate(20, 1, 2025, None), batch)
    assert yibao("score", str(batch), "--out", str(out), "-q").returncode == 0
    (out / "notes.txt").write_text("checked C7 by phone", encoding="utf-8")
    before = (out / MANIFEST).read_bytes()
    run = yibao("score", str(batch), "--out", str(out), "--overwrite", "-q", "--ledger", str(ledger),
                "--period", "2025-05")
    one_line_error(run)
    assert run.stderr == (f"error: {out}: holds notes.txt, which yibao did not write: move it out, "
                          f"or choose another --out\n")
    assert (out / "notes.txt").read_text(encoding="utf-8") == "checked C7 by phone"
    assert (out / MANIFEST).read_bytes() == before and not ledger.exists() and siblings(out) == ["o"]


@pytest.mark.parametrize(("added", "named"), [("html/mine.html", "html/mine.html"), ("review/my.xlsx", "review"),
                                              ("review/", "review")])
def test_overwrite_keeps_what_the_user_added_in_a_subfolder(tmp_path: Path, result, added: str, named: str) -> None:
    """Inside a settlement's own `html/`, or in a folder of the user's (named as the folder)."""
    scored, out = tmp_path / "s", tmp_path / "st"
    write_scored(result, scored, "parquet")
    args = ("settle", str(scored), "--period", "2025-05", "--out", str(out), "--quiet", "--overwrite")
    assert yibao(*args).returncode == 0
    if added.endswith("/"):  # an empty folder
        (out / added).mkdir()
    else:
        (out / added).parent.mkdir(exist_ok=True)
        (out / added).write_text("mine", encoding="utf-8")
    one_line_error(yibao(*args), f"{out}: holds {named}, which yibao did not write")
    assert (out / added).exists()


def test_overwrite_replaces_what_yibao_wrote(tmp_path: Path, result) -> None:
    """Every file the manifest lists goes, those the new run does not write too (a trace)."""
    out = tmp_path / "o"
    write_scored(score_batch(cases_batch([make_case()]), trace=True), out, "csv")
    assert (out / "trace.csv").is_file()
    write_scored(result, out, "parquet", overwrite=True)
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    assert written == sorted([MANIFEST, *json.loads((out / MANIFEST).read_bytes())["files"]])
    assert not (out / "trace.csv").exists() and siblings(out) == ["o"]


def test_a_file_added_while_writing_is_refused_before_the_ledger_commits(tmp_path: Path, result) -> None:
    """The folder is checked again once written, before `before_swap` (where a ledger commits)."""
    out, committed = tmp_path / "o", []
    write_scored(result, out, "csv")

    def write(folder: Path) -> dict:
        (out / "notes.txt").write_text("added meanwhile", encoding="utf-8")
        return {}

    with pytest.raises(InputError, match="holds notes.txt, which yibao did not write"):
        write_folder(out, write, kind="score", overwrite=True, before_swap=lambda: committed.append(True))
    assert committed == [] and (out / "notes.txt").exists() and siblings(out) == ["o"]


@pytest.mark.parametrize("command", ["score", "settle", "synth"])
def test_out_naming_a_file(tmp_path: Path, command: str) -> None:
    target = tmp_path / "report.txt"
    target.write_text("keep me", encoding="utf-8")
    args = {"score": ("score", str(tmp_path), "--out", str(target)),
            "settle": ("settle", str(tmp_path), "--period", "2025-05", "--out", str(target)),
            "synth": ("synth", "--claims", "5", "--seed", "1", "--out", str(target))}[command]
    one_line_error(yibao(*args), "report.txt", "is a file")
    assert target.read_text(encoding="utf-8") == "keep me"


@pytest.mark.parametrize(("out", "words"), [("x" * 300, "cannot be used as --out (File name too long)"),
                                             ("/proc/yibao-out", "could not be written")],
                         ids=["a name too long", "a folder the system will not make"])
def test_out_the_system_refuses(tmp_path: Path, out: str, words: str) -> None:
    one_line_error(yibao("synth", "--claims", "5", "--seed", "1", "--out", str(tmp_path / out)), words)
    assert not list(Path("/proc").glob("yibao-out*"))


def test_ctrl_c_is_one_line_and_leaves_nothing_to_settle(synth_folder: Path, tmp_path: Path) -> None:
    """SIGINT printed Python's traceback while the command's modules loaded, and nothing at all
    later (Typer turns it into exit code 130)."""
    out, said = tmp_path / "scored", []
    command = [sys.executable, "-c", "from yibao.cli.app import main; main()", "score", str(synth_folder),
               "--out", str(out), "--quiet"]
    assert kill_while_writing(command, out, signal.SIGINT, said) == 130
    assert said == ["error: interrupted: an output folder or a ledger commit is whole or not there at all; "
                    "run the command again\n"]
    assert list(tmp_path.iterdir()) == []  # its half-written folder removed on the way out


def test_score_killed_while_writing_leaves_nothing_to_settle(synth_folder: Path, tmp_path: Path) -> None:
    """SIGKILL during the write (held there by the test hook): no `--out` folder, and the half-written
    sibling is refused by settle; the next run removes it and writes a folder settle accepts."""
    out = tmp_path / "scored"
    command = [sys.executable, "-c", "from yibao.cli.app import main; main()", "score", str(synth_folder),
               "--out", str(out), "--quiet"]
    assert kill_while_writing(command, out) == -signal.SIGKILL
    assert not out.exists()
    [half] = tmp_path.glob("scored.tmp-*")
    with pytest.raises(InputError, match="not a folder"):
        settle(out, "2025-05")
    with pytest.raises(InputError, match="has no manifest.json"):
        settle(half, "2025-05")

    run = yibao("score", str(synth_folder), "--out", str(out), "--quiet")
    assert run.returncode == 0, run.stderr
    assert siblings(out) == ["scored"]  # the killed run's sibling is gone
    assert len(settle(out, "2025-05").claims) > 0


def test_out_is_never_the_input_nor_another_kind_of_folder(tmp_path: Path) -> None:
    """`--overwrite` replaces a yibao folder of the same kind only, and never the command's own
    input: a batch, a score output or a settlement cannot be lost to a slip of `--out`."""
    batch, scored, settled = tmp_path / "batch", tmp_path / "scored", tmp_path / "settled"
    assert yibao("synth", "--claims", "30", "--seed", "1", "--out", str(batch), "-q").returncode == 0
    one_line_error(yibao("score", str(batch), "--out", str(batch), "--overwrite", "-q"), "the command's input")
    one_line_error(yibao("score", str(batch), "--out", str(batch / "scored"), "-q"), "the command's input")
    assert yibao("score", str(batch), "--out", str(scored), "-q").returncode == 0
    one_line_error(yibao("settle", str(scored), "--period", "2025-03", "--out", str(scored), "--overwrite"),
                   "the command's input")
    assert yibao("settle", str(scored), "--period", "2025-03", "--out", str(settled), "-q").returncode == 0
    one_line_error(yibao("score", str(batch), "--out", str(settled), "--overwrite", "-q"),
                   "holds a yibao settlement, not a score output")
    assert yibao("score", str(batch), "--out", str(scored), "--overwrite", "-q").returncode == 0
    assert (batch / "claims.parquet").is_file() and (settled / "manifest.json").is_file()


@pytest.mark.parametrize("version, newer", [("9.9.9", True), ("0.1.1", True), ("0.1.0", False), ("0.0.9", False),
                                            ("0.1.0.dev3", False), (None, False),
                                            ("9" * 5000, True)])
def test_a_folder_written_by_a_newer_yibao_is_refused(tmp_path: Path, result, version: str | None,
                                                      newer: bool) -> None:
    """A score folder whose manifest says yibao 9.9.9 was settled as if this version wrote it."""
    write_scored(result, tmp_path / "s", "csv")
    manifest = json.loads((tmp_path / "s" / MANIFEST).read_text(encoding="utf-8"))
    (tmp_path / "s" / MANIFEST).write_text(json.dumps(manifest | {"version": version}), encoding="utf-8")
    if newer:
        with pytest.raises(InputError, match=f"written by yibao {version}, newer than this 0.1.0: read it with that"):
            read_manifest(tmp_path / "s", "score")
    else:
        read_manifest(tmp_path / "s", "score")
