"""yibao: decide medical insurance claims — eligibility rules, reimbursement, settlement.

`yibao.score(folder_or_tables, tariff=...)` scores a batch and returns a `Result` of DataFrames
(see README); `yibao.simulate(folder_or_tables, set=[...] | reform=...)` compares it under a
tariff change; the command line is `yibao`.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["score", "settle", "simulate"]


def __getattr__(name: str) -> Any:
    # imported on first use, so `import yibao` stays cheap for the CLI's cold start
    if name == "score":
        from yibao.api import score
        return score
    if name == "settle":
        from yibao.api import settle  # type: ignore[attr-defined]
        return settle
    if name == "simulate":
        from yibao.api import simulate
        return simulate
    raise AttributeError(name)
