"""Synthetic designated institutions (定点医药机构) of a county and the hospitals its people travel to.

Levels follow the reference tariff: 1 township health centres and community centres (and
pharmacies), 2 county hospitals, 3 city hospitals, 4 provincial or out-of-province hospitals,
most of them out of area. A few are not networked for direct settlement (their patients file
manual claims) and one or two have a suspended agreement.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from yibao.synth import vocab
from yibao.synth.draw import Rng, chance, split

LEVEL_SHARES = {"pharmacy": 0.08, "1": 0.40, "2": 0.22, "3": 0.15, "4": 0.15}
OUT_OF_AREA = {1: 0.0, 2: 0.0, 3: 0.30, 4: 0.85}
NOT_NETWORKED = {1: 0.15, 2: 0.05, 3: 0.05, 4: 0.12}
SUSPENDED_SHARE = 0.015


def count_for(claims: int) -> int:
    """About 50 institutions for a small batch, up to 200 for a large one."""
    return int(np.clip(50 + claims // 1000, 50, 200))


def _names(group: str, n: int) -> list[str]:
    """n distinct names of a group; long lists wrap with a branch number (分院)."""
    if group == "pharmacy":
        base = [f"{b}大药房({t}店)" for t in vocab.TOWNS for b in vocab.PHARMACY_BRANDS]
    elif group == "1":
        base = [f"{t}{'镇卫生院' if i % 4 else '社区卫生服务中心'}" for i, t in enumerate(vocab.TOWNS)]
    elif group == "2":
        base = [vocab.COUNTY + h for h in vocab.COUNTY_HOSPITALS]
    elif group == "3":
        base = [c + h for h in vocab.CITY_HOSPITALS for c in vocab.CITIES]
    else:
        base = list(vocab.PROVINCIAL_HOSPITALS)
    return [base[i % len(base)] + (f"(第{i // len(base) + 1}分院)" if i >= len(base) else "") for i in range(n)]


def institutions(rng: Rng, n: int) -> pd.DataFrame:
    """The institutions table; ids H410001, H410002, … in a shuffled order of kinds and levels."""
    counts = split(n, LEVEL_SHARES)
    group = np.concatenate([np.full(c, g, dtype=object) for g, c in counts.items()])
    names = np.concatenate([np.array(_names(g, c), dtype=object) for g, c in counts.items()])
    order = rng.permutation(n)
    group, names = group[order], names[order]
    level = np.array([1 if g == "pharmacy" else int(g) for g in group], dtype=np.int64)
    out_of_area = chance(rng, np.vectorize(OUT_OF_AREA.get)(level), n)
    networked = ~chance(rng, np.vectorize(NOT_NETWORKED.get)(level), n)
    networked[group == "pharmacy"] = True
    suspended = np.zeros(n, dtype=bool)
    suspended[rng.choice(n, size=max(1, round(n * SUSPENDED_SHARE)), replace=False)] = True
    return pd.DataFrame({
        "institution_id": pd.array([f"H41{i + 1:04d}" for i in range(n)], dtype="str"),
        "name": pd.array(names.astype(str), dtype="str"),
        "kind": pd.array(np.where(group == "pharmacy", "pharmacy", "hospital").astype(str), dtype="str"),
        "level": pd.array(level, dtype="Int64"),
        "out_of_area": pd.array(out_of_area, dtype="boolean"),
        "networked": pd.array(networked, dtype="boolean"),
        "agreement": pd.array(np.where(suspended, "suspended", "active").astype(str), dtype="str"),
    })
