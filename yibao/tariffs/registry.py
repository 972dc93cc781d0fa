"""Finding, loading and validating tariff versions.

A tariff is a folder per region holding one YAML file per version and the catalogue CSV the
versions name. Bundled tariffs live in `yibao/tariffs/data/`; users add their own with the
`YIBAO_TARIFF_PATH` environment variable (folders separated by `os.pathsep`). Loaded versions
are cached per state of their files (path, size, mtime of the version file and its catalogue):
a settlement job scores month after month in one process, and a version file or catalogue
corrected in place meanwhile must give the amounts a fresh process gives. Rule sets are
compiled once per tariff content (`yibao.rules.engine.compiled`: durable_rules leaks when
re-created).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml
from pydantic import ValidationError

from yibao.errors import InputError, first_line, quoted, shortened, words_shortened
from yibao.files import FileState, file_state
from yibao.tariffs.catalogue import load_catalogue
from yibao.tariffs.messages import describe
from yibao.tariffs.model import Tariff
from yibao.unique_keys import UniqueKeys
from yibao.yaml_numbers import decimal_numbers

log = logging.getLogger(__name__)

BUNDLED = Path(__file__).parent / "data"


@decimal_numbers
class _Loader(UniqueKeys, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]  # libyaml: 10x faster
    """Dates stay text for the model to read: YAML's own date reading crashes on `2024-13-01`
    and names no line; the model names the entry. A key given twice is refused (`UniqueKeys`);
    numbers are the decimals they show (`yibao.yaml_numbers`: `0500` is 500, not octal 320)."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


@dataclass(frozen=True)
class LoadedTariff:
    """A validated tariff version with its catalogue, ready for the rules and the calculator."""

    tariff: Tariff
    catalogue: pd.DataFrame
    path: Path

    @property
    def key(self) -> str:
        return self.tariff.key

    @property
    def catalogue_file(self) -> Path:
        return self.path.parent / self.tariff.catalogue


def search_path() -> list[Path]:
    extra = [Path(p) for p in os.environ.get("YIBAO_TARIFF_PATH", "").split(os.pathsep) if p]
    return extra + [BUNDLED]


def region_dirs() -> dict[str, Path]:
    """Tariff id → folder; the first folder on the search path wins."""
    found: dict[str, Path] = {}
    for root in search_path():
        if root.is_dir():
            for d in sorted(root.iterdir()):
                if d.is_dir() and any(d.glob("*.yaml")) and d.name not in found:
                    found[d.name] = d
    return found


def version_files(tariff_id: str) -> list[Path]:
    dirs = region_dirs()
    if tariff_id not in dirs:
        known = ", ".join(sorted(dirs)) or "none"
        raise InputError(f"unknown tariff {quoted(tariff_id)} (known: {known})")
    return sorted(dirs[tariff_id].glob("*.yaml"))


def _version_state(path: Path) -> FileState:
    try:
        return file_state(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read tariff: {exc.strerror}") from None


def parse_tariff_file(path: Path) -> Tariff:
    """Read and validate one version file; errors name the file, the field and the value.
    Parsed once per file state (path, size, mtime): every scoring call looks up the versions."""
    return _parse_cached(path, *_version_state(path))


@functools.lru_cache(maxsize=64)
def _parse_cached(path: Path, size: int, mtime_ns: int) -> Tariff:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read tariff: {exc}".splitlines()[0]) from None
    except yaml.YAMLError as exc:  # its reason may quote a long piece of the file (a tag, an alias)
        raise InputError(f"{path}: cannot read tariff: {words_shortened(first_line(exc))}") from None
    if not isinstance(raw, dict):
        raise InputError(f"{path}: a tariff file must be a mapping")
    try:
        return Tariff.model_validate(raw)
    except ValidationError as exc:
        raise InputError(describe(path, exc, raw)) from None


def load_file(path: Path) -> LoadedTariff:
    """A version and its catalogue. A region's folder is named after its tariff id (the region
    a claim names is found by folder), so an `id` naming another folder is refused. Read once
    per state of the version file and of its catalogue."""
    state = _version_state(path)
    tariff = _parse_cached(path, *state)
    if tariff.id != path.parent.name:
        raise InputError(f"{path}: id = {quoted(tariff.id)}: the folder is '{path.parent.name}': "
                         f"write id: {path.parent.name}, or rename the folder to {tariff.id}")
    try:
        catalogue_state: FileState | None = file_state(path.parent / tariff.catalogue)
    except OSError:  # load_catalogue says what is wrong with it
        catalogue_state = None
    return _load_cached(path, state, catalogue_state)


@functools.lru_cache(maxsize=256)  # a province's regions and their versions, and a few edits
def _load_cached(path: Path, state: FileState, catalogue_state: FileState | None) -> LoadedTariff:
    tariff = _parse_cached(path, *state)
    catalogue = load_catalogue(path.parent / tariff.catalogue)
    log.debug("tariff %s read from %s (%d catalogue items)", tariff.key, path, len(catalogue))
    return LoadedTariff(tariff, catalogue, path)


def validate_region(folder: Path) -> list[LoadedTariff]:
    """Validate every version in a folder (or one file), including non-overlapping periods."""
    files = [folder] if folder.is_file() else sorted(folder.glob("*.yaml"))
    if not files:
        raise InputError(f"{folder}: no tariff files (*.yaml) found")
    loaded = [load_file(f) for f in files]
    _one_in_force([(lt.tariff, lt.path) for lt in loaded])
    return loaded


def _one_in_force(versions: list[tuple[Tariff, Path]]) -> list[Tariff]:
    """A folder's versions by start, none overlapping another, whatever their `region` labels: a
    claim is scored under the one version in force on its day (two were refused by `validate`
    only when their labels matched, and scoring took the first either way)."""
    ordered = sorted(versions, key=lambda v: v[0].effective_from)
    for (a, _), (b, path) in zip(ordered, ordered[1:]):
        if a.effective_to is None or a.effective_to >= b.effective_from:
            raise InputError(f"{path}: effective_from = '{b.effective_from}': overlaps version "
                             f"{a.version} ({a.effective_from} to {a.effective_to or 'open'})")
    return [t for t, _ in ordered]


def load_version(tariff_id: str, version: str) -> LoadedTariff:
    """The version of `tariff_id` on the search path as its files are now (read once per state)."""
    for f in version_files(tariff_id):
        if parse_tariff_file(f).version == version:
            return load_file(f)
    raise InputError(f"tariff {quoted(tariff_id)} has no version {quoted(version)}")


def versions(tariff_id: str) -> list[Tariff]:
    return _one_in_force([(parse_tariff_file(f), f) for f in version_files(tariff_id)])


def in_force(tariff_id: str, day: dt.date) -> LoadedTariff:
    """The version of `tariff_id` in force on `day`: the one call settlement jobs need."""
    for t in versions(tariff_id):
        if t.in_force(day):
            return load_version(tariff_id, t.version)
    raise InputError(f"tariff {quoted(tariff_id)} has no version in force on {day.isoformat()}")


def resolve(spec: str | None, day: dt.date | None = None) -> LoadedTariff:
    """`ID`, `ID@VERSION` or None (the bundled default) → a loaded version.

    Without a version, the version in force on `day` is used, or the latest when no day is given.
    """
    tariff_id, _, version = (spec or DEFAULT_TARIFF).partition("@")
    if version:
        return load_version(tariff_id, version)
    if day is not None:
        return in_force(tariff_id, day)
    return load_version(tariff_id, versions(tariff_id)[-1].version)


def _exists(path: Path) -> bool:
    """Whether a path names something; a name the system cannot even look up (too long) does not."""
    try:
        return path.exists()
    except OSError:
        return False


def tariff_spec(spec: str | Path) -> str | list[LoadedTariff]:
    """A user's tariff spec as `score_batch` takes it: `ID` or `ID@VERSION` as they are, and a
    tariff folder (a region's version files and catalogue, anywhere on disk) or one version file
    as its validated versions, so a proposed tariff can be used before it is installed on the
    search path. A spec with a path separator, or naming no known id, is a path."""
    text = str(spec)
    is_path = isinstance(spec, Path) or os.sep in text or "/" in text or text.endswith(".yaml")
    if not is_path and (text.partition("@")[0] in region_dirs() or not _exists(Path(text))):
        return text
    path = Path(text)
    if not _exists(path):
        raise InputError(f"{shortened(str(path))}: no such tariff folder or file")
    loaded = validate_region(path)
    ids = sorted({lt.tariff.id for lt in loaded})
    if len(ids) > 1:
        raise InputError(f"{path}: holds versions of several tariffs ({', '.join(ids)}): keep one")
    return sorted(loaded, key=lambda lt: lt.tariff.effective_from)


DEFAULT_TARIFF = "sample-county"
