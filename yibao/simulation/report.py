"""The printable report (测算报告) a policy office files with a proposal: one self-contained HTML
page — inline CSS for A4, inline SVG charts, no script, no network, no print date, so the same
simulation gives the same bytes. Laid out by a Jinja2 template; the numbers come from the
Simulation as they are in the files."""

from __future__ import annotations

from typing import Any

import jinja2
import numpy as np
import pandas as pd

from yibao.money import yuan_array_to_fen
from yibao.simulation.charts import CASH_COLOUR, FUND, HOSPITAL, PERSON, bars, histogram
from yibao.simulation.labels import CASH, CATEGORY, DIMENSIONS, DIRECTIONS, FIELD_LABELS, FIELDS, HEADERS, VALUES
from yibao.simulation.simulation import Simulation
from yibao.settlement.labels import WORDS


def _fen(values: pd.Series) -> np.ndarray:
    return yuan_array_to_fen(values.to_numpy(dtype=np.float64))


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _signed(value: float) -> str:
    return f"{value:+,.2f}" if value else "0.00"


def _breakdown_chart(frame: pd.DataFrame, title: str, cash: tuple[str, ...]) -> str:
    labels = [f"{label}" for label in frame["label"]]
    series = [("基金合计变化", _fen(frame["fund_pay_sumamt_change"]).tolist(), FUND),
              ("个人负担变化", _fen(frame["psn_part_amt_change"]).tolist(), PERSON),
              ("医院承担变化", _fen(frame["hosp_part_amt_change"]).tolist(), HOSPITAL)]
    if cash:  # the cash benefits together: one more bar per group, beside (not in) the funds'
        paid = sum(_fen(frame[f"{f}_change"]) for f in cash)
        series.append(("生育津贴及补助金变化", np.asarray(paid).tolist(), CASH_COLOUR))
    return bars(f"按{title}的变化", labels, series)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("yibao.simulation", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["money"] = _money
    env.filters["signed"] = _signed
    return env


def render(sim: Simulation) -> str:
    """The report's HTML."""
    s = sim.summary
    titles = {d: (DIMENSIONS | CATEGORY)[d] for d in sim.breakdowns}
    context: dict[str, Any] = {
        "s": s, "sim": sim, "fields": FIELDS, "field_labels": FIELD_LABELS, "headers": HEADERS,
        "cash": CASH, "cash_changed": sim.cash_changed,
        "dimensions": titles, "directions": DIRECTIONS, "values": VALUES, "decisions": WORDS["decision"],
        "totals_chart": bars("各项金额变化", [FIELD_LABELS[f] for f in sim.totals["field"]],
                             [("变化", _fen(sim.totals["change"]).tolist(), FUND)]),
        "breakdown_charts": {d: _breakdown_chart(sim.breakdowns[d], t, sim.cash_changed) for d, t in titles.items()},
        "histogram": histogram("个人负担变化分布", _fen(sim.persons["psn_part_amt_change"])),
    }
    return _environment().get_template("report.html.j2").render(context)
