"""Synthetic batches: a county's year of claims, realistic enough to try every rule on.

Real claims cannot leave the agency, yet examiners, policy staff and developers need batches
to try `yibao score`, measure speed and see every rule fire. `generate` builds the input tables
of `yibao/tables.py` from a seed, vectorized with one `numpy.random.default_rng(seed)`, so the
same seed gives the same tables (and, written, the same bytes) and a million claims take
seconds. Codes, materials and chronic diseases come from the tariff, so a county's own tariff
gives data in its own terms.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from yibao.synth import claims as claim_gen
from yibao.synth import lines as line_gen
from yibao.synth.institutions import count_for, institutions
from yibao.synth.people import enrolments, people, statuses
from yibao.tariffs.registry import LoadedTariff, resolve

TABLE_ORDER = ("persons", "enrolments", "statuses", "certifications", "filings", "institutions", "claims", "lines")


def generate(claims: int, seed: int, year: int = 2025, tariff: str | LoadedTariff | None = None
             ) -> dict[str, pd.DataFrame]:
    """The batch input tables for about `claims` claims and applications dated in `year`.

    `tariff`: whose catalogue, materials and chronic diseases to use (an id, `ID@VERSION`, a
    loaded version, or None for the bundled default in force in mid-year).
    """
    lt = tariff if isinstance(tariff, LoadedTariff) else resolve(tariff, dt.date(year, 7, 1))
    rng = np.random.default_rng(seed)
    kinds, roles = claim_gen.person_counts(rng, claims)
    places = institutions(rng, count_for(claims))
    who = people(rng, roles, year)
    status_table = statuses(rng, who, year)
    enrolment_table = enrolments(rng, who, year)
    made = claim_gen.generate(rng, kinds, who, places, status_table, lt, year)
    cat = line_gen.Catalogue.of(lt.catalogue, rng, year)
    ctx = line_gen.context(made.table, who.table, made.person, made.level, made.dx, cat)
    line_table = line_gen.lines(rng, ctx, cat, made.table["mdtrt_id"].to_numpy(dtype=object))
    tables = {"persons": who.table, "enrolments": enrolment_table, "statuses": status_table,
              "certifications": made.certifications, "filings": made.filings, "institutions": places,
              "claims": made.table, "lines": line_table}
    return {name: tables[name] for name in TABLE_ORDER}
