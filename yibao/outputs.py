"""Output folders written whole or not at all, each sealed by a `manifest.json` its readers check.

A month's settlement once paid from a score folder a killed run had left half-written, and the
verification called it consistent: every file in it was internally sound, there were just too
few of them. So no command writes into its `--out` folder directly. The files are written into
a temporary sibling (`<out>.tmp-<pid>-<random>`, same file system), the manifest — what wrote
the folder, from which input, how many rows per table, the sha256 of every file — is written
last, everything is flushed to disk, and only then is the sibling renamed to `<out>`, which a
rename does in one step. A run killed at any moment leaves either no `<out>` or a complete one;
its temporary sibling has no manifest (or a complete folder with one) and is removed by the
next run writing the same `<out>`. Readers (`yibao settle`, `settle --verify`) call
`read_manifest`, which refuses a folder without one or whose files do not match it — a folder
copied half-way or edited by hand — so nothing that was not written whole is ever paid from.

The manifest holds no times or paths of the writing run, so the same input still gives the
same bytes.

Test hook: `YIBAO_TEST_PAUSE_WRITE=<seconds>` sleeps after the files are written and before
the manifest, so a test can kill a run in the middle of its write (tests/test_outputs.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable, Mapping, Sequence

from yibao import __version__
from yibao.errors import InputError, expect, path_shown

MANIFEST = "manifest.json"
TOOL = "yibao"
KINDS = {"score": "score output", "settlement": "settlement", "batch": "batch", "simulation": "simulation"}
PAUSE = "YIBAO_TEST_PAUSE_WRITE"
CHUNK = 1 << 20


def check_out(out: Path, overwrite: bool, *, kind: str | None = None, inputs: Sequence[Path] = ()) -> None:
    """Refuse an `--out` that cannot be written, before any work is done: a file; the command's
    own input, or a folder holding it or inside it; a folder with something in it unless
    `overwrite`; and even with `overwrite`, a folder yibao did not write (no manifest.json), or
    wrote as another kind (a batch, a score output), or that holds a file or folder yibao did not
    write (a user's notes), which replacing would delete. An empty folder holds nothing to lose."""
    try:
        _check_out(out, overwrite, kind, inputs)
    except OSError as exc:  # a name too long, a folder that may not be looked into
        raise InputError(f"cannot be used as --out ({exc.strerror or exc})", file=path_shown(out, exc)) from None


def _check_out(out: Path, overwrite: bool, kind: str | None, inputs: Sequence[Path]) -> None:
    if out.exists() and not out.is_dir():
        raise InputError("is a file, not a folder: choose another --out", file=str(out))
    target = out.resolve()
    for source in inputs:
        where = Path(source).resolve()
        if target == where or target in where.parents or where in target.parents:
            raise InputError("is the command's input, or holds it, or lies inside it: choose another --out",
                             file=str(out))
    if not out.exists() or not any(out.iterdir()):
        return
    if not overwrite:
        raise InputError("already exists: choose another --out, or add --overwrite to replace it",
                         file=str(out))
    if not (out / MANIFEST).is_file():
        raise InputError(f"was not written by yibao (no {MANIFEST}): --overwrite replaces only yibao "
                         f"output folders; remove it yourself", file=str(out))
    try:
        manifest = json.loads((out / MANIFEST).read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        manifest = None
    manifest = manifest if isinstance(manifest, dict) else {}
    held = manifest.get("kind") if isinstance(manifest.get("kind"), str) else None
    if kind is not None and held != kind:
        raise InputError(f"holds a yibao {KINDS.get(held, 'folder of another kind')}, not a {KINDS[kind]}: "
                         f"--overwrite replaces only the same kind; choose another --out", file=str(out))
    added = _not_written(out, manifest.get("files"))
    if added is not None:
        raise InputError(f"holds {added}, which yibao did not write: move it out, or choose another --out",
                         file=str(out))


def _not_written(folder: Path, files: object) -> str | None:
    """The first file or folder in `folder` (its path relative to it) that yibao did not write:
    not the manifest, not a file the manifest lists, not a folder holding one. `--overwrite`
    replaces the folder whole, so a note or a workbook a user put there would go with it. The
    manifest lists every file the run wrote (`_seal`), so it alone says what may go, for every
    kind of folder; one it cannot vouch for (unreadable, or listing nothing) lets only itself go."""
    listed = set(files) if isinstance(files, dict) else set()  # a JSON object's keys are text
    written = {MANIFEST, *listed, *(parent.as_posix() for rel in listed for parent in PurePosixPath(rel).parents)}
    inside = (path.relative_to(folder).as_posix() for path in sorted(folder.rglob("*")))
    return next((rel for rel in inside if rel not in written), None)


def write_folder(out: str | Path, write: Callable[[Path], Mapping[str, Any]], *, kind: str,
                 overwrite: bool = False, before_swap: Callable[[], None] | None = None) -> dict[str, Any]:
    """Run `write(folder)` on a temporary sibling of `out`, seal it with a manifest and rename it
    to `out`; returns the manifest.

    `write` fills the folder and returns the manifest's fields beside the files: `tariffs`,
    `input_digest`, `rows` ({table: rows}) and any others (e.g. `period`). `before_swap` runs
    when the sibling is complete and synced, just before the rename (a ledger commits there, so
    that a run killed while writing has committed nothing). On any exception the sibling is
    removed and `out` is left as it was. `out` is a path as the library's callers give one (text
    too, as `yibao.score` and `yibao.settle` take their folders).
    """
    expect(out, (str, os.PathLike), "the output folder is a path")
    out = Path(out)
    check_out(out, overwrite, kind=kind)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError("its parent is not a folder", file=str(out)) from None
    staging = _sibling(out, "tmp")
    try:
        _remove_stale(out)
        staging.mkdir()
    except OSError as exc:
        raise _unwritable(out, exc) from None
    try:
        fields = dict(write(staging))
        if PAUSE in os.environ:
            time.sleep(float(os.environ[PAUSE]))
        manifest = _seal(staging, kind, fields)
        _sync(staging)
        check_out(out, overwrite, kind=kind)  # what appeared in `out` meanwhile, refused before a ledger commits
        if before_swap is not None:
            before_swap()
        _swap(staging, out, overwrite)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):  # a full disk, a folder taken away: one line, not a traceback
            raise _unwritable(out, exc) from None
        raise
    return manifest


def _unwritable(out: Path, exc: OSError) -> InputError:
    return InputError(f"could not be written ({exc.strerror or exc})", file=str(out))


def read_manifest(folder: Path, kind: str, tables: Iterable[str] = ()) -> tuple[dict[str, Any], str]:
    """The manifest of a complete `kind` folder and the sha256 of its bytes; an `InputError`
    when there is none, it is not one, a file it lists is missing or differs, or one of
    `tables` is not in it."""
    path = folder / MANIFEST
    if not path.is_file():
        raise InputError(f"has no {MANIFEST}: not a complete yibao {KINDS[kind]}", file=str(folder))
    raw = path.read_bytes()
    try:
        manifest = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):  # RecursionError: nested past any manifest
        manifest = None
    if (not isinstance(manifest, dict) or manifest.get("tool") != TOOL or manifest.get("kind") != kind
            or not isinstance(manifest.get("files"), dict) or not isinstance(manifest.get("rows"), dict)):
        raise InputError(f"not the manifest of a yibao {KINDS[kind]}", file=str(path))
    if _release(manifest.get("version")) > _release(__version__):
        raise InputError(f"written by yibao {manifest['version']}, newer than this {__version__}: read it with that "
                         f"version (what a newer yibao writes may mean more than this one knows)", file=str(path))
    listed = manifest["files"]
    for rel in listed:
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise InputError(f"lists {rel!r}, outside its folder", file=str(path))
    missing = sorted(rel for rel in listed if not (folder / rel).is_file())
    if missing:
        raise InputError(f"listed in {MANIFEST} but missing (half-written or removed)",
                         file=str(folder / missing[0]))
    rels = sorted(listed)
    changed = [rel for rel, sha in zip(rels, _sha256s([folder / rel for rel in rels])) if sha != listed[rel]]
    if changed:
        raise InputError("does not match its manifest (changed or half-written)", file=str(folder / changed[0]))
    absent = [name for name in tables if name not in manifest["rows"]]
    if absent:
        raise InputError(f"table {absent[0]} is not in its {MANIFEST}", file=str(folder))
    return manifest, hashlib.sha256(raw).hexdigest()


def _release(version: object) -> tuple[int, ...]:
    """A version's leading numbers, `0.1.0` → (0, 1, 0); () for what has none (any older). A
    number is read to its 18th digit: no release numbers more, and Python refuses to read one of
    more than 4,300 digits (a manifest edited to say 99…9 ended in a traceback)."""
    numbers = re.match(r"[0-9]{1,18}(?:\.[0-9]{1,18})*", version) if isinstance(version, str) else None
    return tuple(int(n) for n in numbers.group().split(".")) if numbers else ()


def check_listed(folder: Path, manifest: Mapping[str, Any], path: Path) -> None:
    """Refuse to read a file of `folder` (or a part of a partitioned table's folder) that its
    manifest does not vouch for."""
    for file in sorted(path.glob("part-*.parquet")) if path.is_dir() else [path]:
        if file.relative_to(folder).as_posix() not in manifest["files"]:
            raise InputError(f"not listed in {MANIFEST} (added after the folder was written)", file=str(file))


def input_digest(sources: Sequence[Path]) -> str:
    """sha256 over the input files (a folder: its files and the parts of its partitioned tables,
    `<table>/part-*.parquet`, in name order), name and content each, so a manifest says which
    input it was made from without naming where it lay."""
    named = [(f.relative_to(source).as_posix(), f) if source.is_dir() else (f.name, f) for source in sources
             for f in (sorted([p for p in source.iterdir() if p.is_file()] + list(source.glob("*/part-*.parquet")))
                       if source.is_dir() else [source])]
    text = "".join(f"{name}\t{sha}\n" for (name, _), sha in zip(named, _sha256s([f for _, f in named])))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _seal(folder: Path, kind: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    manifest = {"tool": TOOL, "version": __version__, "kind": kind, "tariffs": [], "input_digest": None,
                **fields, "files": dict(zip(files, _sha256s([folder / f for f in files])))}
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                                   encoding="utf-8")
    return manifest


def _sha256s(paths: list[Path]) -> list[str]:
    """sha256 per file, several at once (hashlib releases the GIL on large reads)."""
    def one(path: Path) -> str:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return list(pool.map(one, paths))


def _sync(folder: Path) -> None:
    """Flush every file and folder to disk, so the rename never publishes data still in memory."""
    for path in sorted(folder.rglob("*")) + [folder]:
        _fsync(path)


def _swap(staging: Path, out: Path, overwrite: bool) -> None:
    """Rename the finished folder into place; an old one is renamed away first, removed after."""
    old = None
    if out.exists():
        check_out(out, overwrite)  # and what appeared while a ledger committed (`before_swap`)
        old = _sibling(out, "old")
        os.rename(out, old)
    try:
        os.rename(staging, out)
    except OSError:
        if old is not None:
            os.rename(old, out)
        raise
    _fsync(out.parent)
    if old is not None:
        shutil.rmtree(old)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sibling(out: Path, what: str) -> Path:
    return out.with_name(f"{out.name}.{what}-{os.getpid()}-{secrets.token_hex(4)}")


def _remove_stale(out: Path) -> None:
    """Remove temporary siblings of `out` left by runs that were killed (their process is gone).
    An `.old-` sibling (a run killed between its two renames) is a complete earlier output and
    is left for whoever wants it back."""
    for path in out.parent.glob(f"{out.name}.tmp-*-*"):
        pid = path.name[len(out.name) + len(".tmp-"):].partition("-")[0]
        if pid.isdecimal() and path.is_dir() and not alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def alive(pid: int) -> bool:
    """Is process `pid` running (someone else's included)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, and someone else's
    return True
