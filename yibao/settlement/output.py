"""Writing a settlement: the tables, the workbook and the printable pages, in one folder.

The tables (Parquet or CSV) are what `yibao settle --verify` and downstream payment systems
read; `settlement.xlsx` and `html/` are for people. All are written from the same `Settlement`,
and all are byte-identical for the same input. The folder is written whole or not at all and
sealed by a manifest (`yibao.outputs`) that also names the score folder it was paid from, so
`--verify` can check the statements against those claims. A settlement made with a ledger
records its period as settled there once the folder is whole, just before it is put in place (the
moment a score commits): killed before, it has recorded nothing; after, settling again writes the
same.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from yibao.io import write_tables
from yibao.outputs import MANIFEST, write_folder
from yibao.settlement.html import write_pages
from yibao.settlement.inputs import Source
from yibao.settlement.statement import WITHHELD, Settlement
from yibao.settlement.workbook import write_workbook

FORMATS = ("parquet", "csv")
WORKBOOK = "settlement.xlsx"
PAGES = "html"
def scored_entries(sources: tuple[Source, ...] | None) -> dict[str, Any]:
    """The manifest's `scored` — the score folder paid from, a list of them for a month of
    several ledger batches, an empty list for a month settled from the ledger alone (what
    `--verify` settles again: no claims, the ledger's reversals), null from a `Result` in memory
    (nothing to settle again) — and `input_digest`: that folder's manifest sha256, or the sha256
    of theirs, one per line in the order listed (null without a folder)."""
    if not sources:
        return {"scored": None if sources is None else [], "input_digest": None}
    entries = [{"folder": s.folder, "manifest_sha256": s.manifest_sha256} for s in sources]
    if len(sources) == 1:
        return {"scored": entries[0], "input_digest": sources[0].manifest_sha256}
    joined = "".join(f"{s.manifest_sha256}\n" for s in sources)
    return {"scored": entries, "input_digest": hashlib.sha256(joined.encode()).hexdigest()}


def write_settlement(settlement: Settlement, out: str | Path, fmt: str = "parquet", *,
                     overwrite: bool = False) -> dict[str, Any]:
    """`<table>.<fmt>` per table, `settlement.xlsx`, `html/index.html` with a page per institution,
    and `manifest.json`; returns the manifest. An existing `out` is refused unless `overwrite`.
    With a ledger, the period is recorded as settled there, with the manifest's sha256 and the
    claims its statements withheld."""
    tables = settlement.tables()
    staged: list[Path] = []  # the folder being written, whose manifest the ledger records

    def write(folder: Path) -> dict[str, Any]:
        staged.append(folder)
        write_tables(tables, folder, fmt)
        write_workbook(settlement, folder / WORKBOOK)
        write_pages(settlement, folder / PAGES)
        return {"tariffs": sorted({str(t) for t in settlement.claims["tariff"] if str(t)}),
                "rows": {name: len(frame) for name, frame in tables.items()}, "format": fmt,
                "period": settlement.period, **scored_entries(settlement.sources),
                "ledger": None if settlement.ledger is None else settlement.ledger.shown}

    def record() -> None:
        from yibao.ledger.store import record_settled

        assert settlement.ledger is not None
        claims = settlement.claims
        record_settled(settlement.ledger, hashlib.sha256((staged[0] / MANIFEST).read_bytes()).hexdigest(),
                       claims.loc[claims["status"] == WITHHELD, "mdtrt_id"].tolist())

    return write_folder(out, write, kind="settlement", overwrite=overwrite,
                        before_swap=None if settlement.ledger is None else record)
