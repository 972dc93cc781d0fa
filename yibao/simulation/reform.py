"""What the reform is: `--set` edits applied to every version in force, or another tariff (an id
on the search path, `ID@VERSION`, or a tariff folder anywhere); and the tariff diff it applies.

Edits keep the baseline's choice of version per claim: a pinned baseline (`ID@VERSION`, one loaded
version) gives a pinned reform, a baseline chosen by date gives the edited versions by date.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from yibao.errors import InputError
from yibao.io import Batch
from yibao.pipeline import Regions, TariffSpec, assign_tariffs, loaded_spec, spec_versions, tariff_set
from yibao.tariffs.diff import Change, catalogue_unit, diff_catalogues, diff_tariffs, parameters
from yibao.tariffs.edit import apply_edits
from yibao.tariffs.registry import LoadedTariff

SHOWN_METADATA = frozenset({"effective_from", "effective_to"})
"""Metadata that changes which claims a version applies to; a version's name or title does not."""


def user_spec(spec: TariffSpec | Path) -> TariffSpec:
    """A spec as typed (an id, `ID@VERSION`, a folder) as the pipeline takes it; an id or version
    not on the search path is refused here, as `score --tariff` refuses it, not only once some
    claim asks for it (on a batch with none in force, `--reform no-such-county` ran and reported)."""
    return tariff_set([spec])[0] if isinstance(spec, (str, Path)) else loaded_spec(spec)


def edited_spec(claims: pd.DataFrame, baseline: TariffSpec, edits: Sequence[str]) -> TariffSpec:
    """The baseline's versions in force on these claims, each with the edits applied; every
    version where none is in force (an empty month, a period no version covers), so that the
    edits are checked all the same: a misspelt path is refused, not reported as no change."""
    _, used, _ = assign_tariffs(claims, baseline)
    edited = []
    for lt in list(used.values()) or spec_versions(baseline):
        try:
            edited.append(apply_edits(lt, list(edits)))
        except InputError as exc:
            raise InputError(f"{exc} (in version {lt.key})") from None
    pinned = isinstance(baseline, LoadedTariff) or (isinstance(baseline, str) and "@" in baseline)
    return edited[0] if pinned and edited else edited


def _change_rows(base: LoadedTariff, reform: LoadedTariff) -> list[Change]:
    changes = [c for c in diff_tariffs(base.tariff, reform.tariff)
               if not c.metadata or c.path in SHOWN_METADATA]
    return changes + diff_catalogues(base.catalogue, reform.catalogue)


def versions_used(batch: Batch, spec: TariffSpec, regions: Regions | None = None) -> dict[str, LoadedTariff]:
    """The versions in force on some claim of the batch, by key, as `score_batch(tariff=spec,
    regions=regions)` assigns them (the claims' and persons' region columns included)."""
    return assign_tariffs(batch.claims, spec, batch.persons, regions)[1]


def category_titles(*sides: dict[str, LoadedTariff]) -> dict[str, str]:
    """The resident categories (居民类别) the versions of either side define: name → title."""
    return {c.name: c.title for used in sides for lt in used.values() for c in lt.tariff.resident_categories}


def tariff_diff(base_used: dict[str, LoadedTariff], reform_used: dict[str, LoadedTariff],
                pairs: pd.DataFrame) -> pd.DataFrame:
    """Per pair of versions that met on some claim (baseline key, reform key), what changed:
    parameter path, unit, value before and after (as text, in the tariff's units)."""
    from yibao.cli.tariffs import format_value  # how `yibao tariffs diff` shows a value

    units: dict[str, str] = {}
    rows = []
    for b, r in pairs.itertuples(index=False):
        base, ref = base_used[b], reform_used[r]
        units.update({p.path: p.unit for p in parameters(base.tariff) + parameters(ref.tariff)})
        for c in _change_rows(base, ref):
            unit = units.get(c.path) or catalogue_unit(c.path)
            rows.append({"tariff_baseline": b, "tariff_reform": r, "path": c.path,
                         "from": format_value(c.old, unit), "to": format_value(c.new, unit)})
    return pd.DataFrame(rows, columns=["tariff_baseline", "tariff_reform", "path", "from", "to"])
