"""Command-line conventions every command shares: version, `-h`, `python -m yibao`, completion,
choices in the help, `--quiet`, `-v` logging, and `tariffs validate` by id or path."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

import yibao
from conftest import run_cli
from yibao.cli.app import app

EXAMPLES = Path(__file__).parent / "examples"
E7 = str(EXAMPLES / "e7_manual_missing_materials.case.json")
runner = CliRunner()
WIDE = {"COLUMNS": "250"}


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), env=WIDE)


def test_python_m_yibao_prints_the_version() -> None:
    done = subprocess.run([sys.executable, "-m", "yibao", "--version"], capture_output=True, text=True,
                          timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"yibao {yibao.__version__}\n", "")
    assert yibao.__version__ == version("yibao") == "0.1.0"  # the package metadata reads the same source


@pytest.mark.parametrize("args", [[], ["score"], ["tariffs"], ["tariffs", "validate"], ["rules", "list"]])
def test_dash_h_is_help_everywhere(args: list[str]) -> None:
    short, long = invoke(*args, "-h"), invoke(*args, "--help")
    assert short.exit_code == 0, short.output
    assert short.output == long.output
    assert "Usage:" in short.output


@pytest.mark.parametrize("args, shown", [
    (["score"], "parquet|csv|xlsx"),
    (["settle"], "parquet|csv"),
    (["synth"], "parquet|csv"),
    (["rules", "list"], "general|manual|pools|assistance|chronic|referral|maternity"),
])
def test_choices_are_shown_in_the_help_and_others_refused(args: list[str], shown: str) -> None:
    assert shown in invoke(*args, "-h").output
    option = "--area" if "rules" in args else "--format"
    refused = invoke(*args, option, "docx")
    assert refused.exit_code == 2
    assert "docx" in refused.output and "Traceback" not in refused.output


def test_shell_completion_is_offered_and_completes_commands() -> None:
    assert "--install-completion" in invoke("-h").output
    script = subprocess.run([sys.executable, "-m", "yibao", "--show-completion", "bash"], capture_output=True,
                            text=True, timeout=60)
    assert script.returncode == 0 and "complete -o default -F _yibao_completion yibao" in script.stdout
    env = {"_YIBAO_COMPLETE": "complete_bash", "COMP_WORDS": "yibao score --format ", "COMP_CWORD": "3"}
    done = subprocess.run([sys.executable, "-m", "yibao"], env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["parquet", "csv", "xlsx"]


def test_quiet_answers_only_what_a_script_needs() -> None:
    assert invoke("whatif", E7, "--quiet").output == "needs_materials\n"
    ids = invoke("rules", "list", "--area", "manual", "-q").output.split()
    assert ids == ["MAN-001", "MAN-002", "MAN-003", "MAN-004"]
    assert invoke("tariffs", "list", "-q").output.split() == ["sample-county@2024", "sample-county@2025"]
    assert invoke("tariffs", "validate", "sample-county", "-q").output == ""
    assert invoke("tariffs", "show", "sample-county", "-q").output == "sample-county@2025\n"
    assert invoke("rules", "show", "MAN-003", "-q").output == "开原市高频事项 手工(零星)报销 法定时限 21 个工作日\n"
    changed = invoke("tariffs", "diff", "sample-county", "--from", "2024", "--to", "2025", "-q")
    same = invoke("tariffs", "diff", "sample-county", "--from", "2025", "--to", "2025", "-q")
    assert (changed.exit_code, changed.output, same.exit_code, same.output) == (1, "", 0, "")


def test_quiet_is_offered_by_every_command() -> None:
    for args in (["synth"], ["score"], ["settle"], ["whatif"], ["tariffs", "validate"], ["tariffs", "list"],
                 ["tariffs", "show"], ["tariffs", "diff"], ["rules", "list"], ["rules", "show"]):
        assert "--quiet" in invoke(*args, "-h").output, args


def test_verbose_logs_stage_boundaries_on_stderr(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "yibao", "-vv", "whatif", E7, "-q"], capture_output=True,
                          text=True, timeout=60)
    assert done.stdout == "needs_materials\n"
    assert "INFO yibao.rules.engine: rules: 1 claims" in done.stderr
    assert "DEBUG yibao.tariffs.registry: tariff sample-county@" in done.stderr
    quiet = subprocess.run([sys.executable, "-m", "yibao", "whatif", E7, "-q"], capture_output=True, text=True,
                           timeout=60)
    assert quiet.stderr == ""


@pytest.mark.parametrize("spec, files", [
    ("sample-county", ["2024.yaml", "2025.yaml"]),
    ("sample-county@2024", ["2024.yaml"]),
    (str(Path(yibao.__file__).parent / "tariffs" / "data" / "sample-county" / "2025.yaml"), ["2025.yaml"]),
])
def test_validate_takes_an_id_or_a_path(spec: str, files: list[str]) -> None:
    result = invoke("tariffs", "validate", spec)
    assert result.exit_code == 0, result.output
    assert [Path(line.split()[1].rstrip(":")).name for line in result.output.splitlines()] == files


@pytest.mark.parametrize("spec, message", [
    ("no-such-county", "no-such-county: no such file or folder, nor a tariff id (known: sample-county)"),
    ("sample-county@1999", "tariff 'sample-county' has no version '1999'"),
])
def test_validate_names_what_it_could_not_find(spec: str, message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "yibao", "tariffs", "validate", spec], capture_output=True,
                          text=True, timeout=60)
    assert (done.returncode, done.stderr.strip()) == (2, f"error: {message}")


def test_commands_turn_numpy_huge_pages_off_and_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command runs with NumPy's huge-page advice off (fresh arrays cost the kernel a
    compaction each on the project's VMs), restores it after, and leaves it to
    NUMPY_MADVISE_HUGEPAGE where that is set."""
    from yibao.cli import app as cli_app

    if cli_app.huge_pages(True) is None:
        pytest.skip("this NumPy cannot switch the advice")
    during: list[bool | None] = []

    def look() -> None:  # the advice as the command finds it, left as it is
        now = cli_app.huge_pages(False)
        cli_app.huge_pages(bool(now))
        during.append(now)

    monkeypatch.setattr(cli_app, "_main", look)
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    cli_app.main()
    monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1")
    cli_app.main()
    assert during == [False, True]
    assert cli_app.huge_pages(True) is True  # as it was before the commands


def test_commands_choose_arrows_allocator_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command runs with ARROW_DEFAULT_MEMORY_POOL set to jemalloc (a lower peak than Arrow's
    default, mimalloc), which Arrow reads when it first allocates; a value the user set is kept,
    and the variable is gone again after a command that set it."""
    from yibao.cli import app as cli_app

    if sys.platform != "linux":
        pytest.skip("set on Linux only, whose Arrow wheels carry jemalloc")
    during: list[str | None] = []
    monkeypatch.setattr(cli_app, "_main", lambda: during.append(os.environ.get("ARROW_DEFAULT_MEMORY_POOL")))
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    cli_app.main()
    assert "ARROW_DEFAULT_MEMORY_POOL" not in os.environ
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "system")
    cli_app.main()
    assert during == ["jemalloc", "system"] and os.environ["ARROW_DEFAULT_MEMORY_POOL"] == "system"
    probe = "import pyarrow; print(pyarrow.jemalloc_memory_pool().backend_name)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "jemalloc", done.stderr  # this Arrow has it


def test_score_keeps_the_heap_in_one_process_only(synth_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """`yibao score` in one process has glibc's malloc keep freed memory for the next arrays (fewer
    page faults); a partitioned run, which is there to bound memory, does not; and glibc's own
    MALLOC_ variables, where the user set them, decide instead."""
    import ctypes
    import platform

    from yibao.cli import app as cli_app, score as cli_score

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("set with glibc's mallopt")
    options: list[tuple[int, int]] = []
    monkeypatch.setattr(ctypes, "CDLL", lambda name: SimpleNamespace(mallopt=lambda *option: options.append(option)))
    for name in cli_app.HEAP_ENV:
        monkeypatch.delenv(name, raising=False)
    cli_app.keep_heap()
    assert options == [(-2, 512 << 20), (-3, 64 << 20)]  # M_TOP_PAD, M_MMAP_THRESHOLD
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")
    cli_app.keep_heap()
    assert len(options) == 2

    kept: list[str] = []
    monkeypatch.setattr(cli_score, "keep_heap", lambda: kept.append("kept"))
    for run, more in (("one", []), ("partitioned", ["--partitions", "2"])):
        assert run_cli(["score", str(synth_folder), "--out", str(tmp_path / run), "-q", *more], capsys, monkeypatch)[0] == 0
        assert kept == ["kept"], run


MARKUP = "[/]"  # Rich markup that closes nothing: read as markup, it stopped the command


def test_text_of_the_users_is_printed_as_text_never_as_markup(synth_folder: Path, tmp_path: Path, capsys,
                                                               monkeypatch) -> None:
    """A line id, a claim id, an output path and a tariff's version, as the user wrote them."""
    import json

    from conftest import EXAMPLES

    case = json.loads((EXAMPLES / "e7_manual_missing_materials.case.json").read_text(encoding="utf-8"))
    case["lines"][0]["line_id"] = MARKUP
    case["claim"]["mdtrt_id"] = f"[bold]{MARKUP}C1"
    (tmp_path / "case.json").write_text(json.dumps(case), encoding="utf-8")
    shown = subprocess.run([sys.executable, "-m", "yibao", "whatif", str(tmp_path / "case.json")],
                           capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    assert shown.returncode == 0 and shown.stderr == ""
    assert f"yibao whatif [bold]{MARKUP}C1" in shown.stdout and f"│ {MARKUP} " in shown.stdout
    out = tmp_path / f"out{MARKUP}"
    code, err = run_cli(["score", str(synth_folder), "--out", str(out)], capsys, monkeypatch)
    assert (code, err) == (0, "") and out.is_dir()
    assert run_cli(["settle", str(out), "--period", "2025-05", "--out", str(tmp_path / f"s{MARKUP}")],
                   capsys, monkeypatch)[0] == 0


@pytest.mark.parametrize("args, says", [
    (["--seed", "-1"], "'--seed': Input should be greater than or equal to 0"),  # numpy's ValueError
    (["--seed", "1", "--year", "0"], "'--year': Input should be greater than or equal to 1900"),
    (["--seed", "1", "--year", "99999"], "'--year': Input should be less than or equal to 2200"),
])
def test_synth_options_out_of_range_are_one_line(args: list[str], says: str, tmp_path: Path, capsys,
                                                 monkeypatch) -> None:
    code, err = run_cli(["synth", "--claims", "1", *args, "--out", str(tmp_path / "b")], capsys, monkeypatch)
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1


def test_running_out_of_memory_is_one_line(tmp_path: Path) -> None:
    """10^12 claims: numpy's _ArrayMemoryError was a traceback. Run under an address-space limit,
    so the allocation fails at once."""
    limit = "import resource; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)); "
    run = subprocess.run([sys.executable, "-c", limit + "from yibao.cli.app import main; main()", "synth",
                          "--claims", str(10**12), "--seed", "1", "--out", str(tmp_path / "b")],
                         capture_output=True, text=True)
    assert run.returncode == 1 and run.stderr.startswith("error: out of memory")
    assert len(run.stderr.splitlines()) == 1
    assert not (tmp_path / "b").exists()


def test_the_whatif_panel_never_cuts_a_cell_at_80_columns() -> None:
    """The lines' and the trace's amounts were cut with an ellipsis ("2,60…" for 2,600.00)."""
    from conftest import EXAMPLES

    case = EXAMPLES / "e1_resident_county_inpatient.case.json"
    run = subprocess.run([sys.executable, "-m", "yibao", "whatif", str(case)], capture_output=True, text=True,
                         env={**os.environ, "COLUMNS": "80"})
    assert run.returncode == 0 and "…" not in run.stdout
    assert "│ 21   │ C-LENS │" in run.stdout


def test_a_limit_of_the_address_space_does_not_flood_stderr(tmp_path: Path) -> None:
    """Under `ulimit -v 600000` jemalloc, Arrow's allocator in commands, could not start its
    background threads and said so in a loop (15 million lines in 20 s of `score`). The command
    still cannot run in so little address space (docs/scale.md), but it no longer floods."""
    import resource

    limit = 600 << 20
    done = subprocess.run([sys.executable, "-m", "yibao", "synth", "--claims", "10", "--seed", "1", "--out",
                           str(tmp_path / "out"), "-q"], capture_output=True, text=True, timeout=120,
                          preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)))
    assert "<jemalloc>" not in done.stderr and len(done.stderr.splitlines()) < 20, done.stderr[:300]


LONG = "a" * 5000  # longer than a file name may be (255 bytes): Path.is_dir() raised ENAMETOOLONG
CASE = str(EXAMPLES / "e1_resident_county_inpatient.case.json")


@pytest.mark.parametrize("args", [
    ["score", LONG, "--out", "{tmp}/out"],
    ["score", "{batch}", "--out", LONG],
    ["score", "{batch}", "--out", "{tmp}/out", "--tariff", f"{{tmp}}/{LONG}"],
    ["score", "{batch}", "--out", "{tmp}/out", "--accumulators", LONG],
    ["score", "{batch}", "--out", "{tmp}/out", "--accumulators", LONG, "--partitions", "2"],  # was --out's
    ["score", "{batch}", "--out", "{tmp}/out", "--ledger", f"sqlite:///{LONG}"],
    ["settle", LONG, "--period", "2025-05", "--out", "{tmp}/out"],
    ["settle", "{batch}", "--period", "2025-05", "--out", LONG],
    ["settle", "--verify", LONG],
    ["settle", "--period", "2025-05", "--out", "{tmp}/out", "--ledger", f"sqlite:///{LONG}"],
    ["simulate", LONG, "--out", "{tmp}/out", "--set", "x=1"],
    ["simulate", "{batch}", "--out", LONG, "--set", "x=1"],
    ["simulate", "{batch}", "--out", "{tmp}/out", "--reform", f"{{tmp}}/{LONG}"],
    ["simulate", "{batch}", "--out", "{tmp}/out", "--set", "x=1", "--accumulators", LONG],
    ["whatif", LONG],
    ["whatif", f"{{tmp}}/{LONG}.yaml"],
    ["whatif", CASE, "--tariff", f"{{tmp}}/{LONG}"],
    ["synth", "--claims", "1", "--seed", "1", "--out", LONG],
    ["ledger", "status", "--ledger", f"sqlite:///{LONG}"],
    ["tariffs", "validate", LONG],
    ["tariffs", "validate", f"{LONG}.yaml"],
    ["tariffs", "show", f"{{tmp}}/{LONG}"],
    ["tariffs", "diff", f"{{tmp}}/{LONG}", "sample-county"],
])
def test_a_path_too_long_to_look_up_is_cut_in_one_line(args: list[str], synth_folder: Path, tmp_path: Path,
                                                       capsys, monkeypatch) -> None:
    """A path the system will not look up (a name longer than 255 bytes) names no file anyone
    could look for: it is cut as a long value is (`errors.shortened`), not echoed whole; it was,
    5,000 characters and more, twice where the reason repeated it."""
    code, err = run_cli([a.format(tmp=tmp_path, batch=synth_folder) for a in args], capsys, monkeypatch)
    assert code == 2 and len(err.strip().splitlines()) == 1, err[:300]
    assert LONG[:200] not in err and len(err) < 400, err[:300]
    assert "… (5,0" in err and " characters)" in err, err
