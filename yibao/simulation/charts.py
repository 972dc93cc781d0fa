"""Inline SVG charts for the printed report: drawn here, so the page needs no script, no
network and no charting library, and prints the same on any machine.

Money arrives in fen and is labelled in yuan; the colours say who gains: a fall of what a person
pays is green, a rise red; funds are blue, the maternity cash benefits purple.
"""

from __future__ import annotations

import math
from html import escape
from typing import Sequence

import numpy as np

from yibao.money import fen_to_yuan

FONT = '"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif'
FUND, PERSON, HOSPITAL, CASH_COLOUR = "#2f5f8f", "#d9822b", "#7a7f87", "#8e5ea2"
DOWN, SAME, UP = "#3f8f4f", "#9aa3ad", "#c0392b"
LABEL_W, VALUE_W, ROW_GAP, BAR_H = 130, 96, 10, 14


def _yuan(fen: float) -> str:
    return f"{fen_to_yuan(int(fen)):,}"


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" font-family=\'{FONT}\' font-size="11">'
            f"<title>{escape(title)}</title>" + "".join(body) + "</svg>")


def bars(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int], str]],
         width: int = 680) -> str:
    """Horizontal bars per label, one per series (name, values in fen, colour), from a zero line;
    each bar's value in yuan in the right column."""
    values = np.array([list(v) for _, v, _ in series], dtype=np.int64).reshape(len(series), len(labels))
    neg, pos = max(-int(values.min(initial=0)), 0), max(int(values.max(initial=0)), 0)
    # as wide as the longest label needs (a Chinese character is about the font's size), at least LABEL_W
    label_w = max([LABEL_W] + [12 * len(label) + 10 for label in labels])
    plot = width - label_w - VALUE_W - 10
    scale = plot / (neg + pos) if neg + pos else 0.0
    zero = label_w + neg * scale
    legend_h = 20
    row_h = BAR_H * len(series) + ROW_GAP
    height = legend_h + row_h * len(labels) + 6
    body = []
    for i, (name, _, colour) in enumerate(series):
        x = label_w + i * 120
        body.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{colour}"/>'
                    f'<text x="{x + 14}" y="13">{escape(name)}</text>')
    for r, label in enumerate(labels):
        top = legend_h + r * row_h
        body.append(f'<text x="{label_w - 6}" y="{top + row_h / 2 + 2:.1f}" text-anchor="end">{escape(label)}</text>')
        for s, (_, _, colour) in enumerate(series):
            v = int(values[s, r])
            x0, x1 = sorted((zero, zero + v * scale))
            y = top + s * BAR_H
            body.append(f'<rect x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 0.5 if v else 0):.1f}" '
                        f'height="{BAR_H - 2}" fill="{colour}"/>'
                        f'<text x="{width - 4}" y="{y + BAR_H - 4}" text-anchor="end" font-size="10">{_yuan(v)}</text>')
    body.append(f'<line x1="{zero:.1f}" y1="{legend_h - 2}" x2="{zero:.1f}" y2="{height - 2}" stroke="#1d232b"/>')
    return _svg(width, height, body, title)


def _step(span: int, bins: int) -> int:
    """A round bin width in fen (1, 2 or 5 × a power of ten) giving at most about `bins` bins."""
    raw = max(span / bins, 1)
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def histogram(title: str, changes: np.ndarray, width: int = 680, height: int = 260, bins: int = 14) -> str:
    """Persons by the change of what they pay: round-width bins of falls and rises, and a bar of
    its own for no change, so a reform that touches few persons still shows them."""
    changes = np.asarray(changes, dtype=np.int64)
    moved = changes[changes != 0]
    bars_: list[tuple[str, int, str]] = []
    if len(moved):
        # the range of all but the extreme 2% each side, so one outlier does not squash the rest
        # into a bar; the outer bins take the outliers (labelled open-ended)
        low, high = (int(np.quantile(moved, q, method="inverted_cdf")) for q in (0.02, 0.98))
        step = _step(high - low, bins)
        edges = np.arange(math.floor(low / step) * step, math.floor(high / step) * step + 2 * step, step)
        clipped = np.clip(moved, edges[0], edges[-1] - 1)
        counts = np.histogram(clipped, bins=edges)[0]
        names = [f"{_yuan(lo)}~{_yuan(lo + step)}" for lo in edges[:-1]]
        if moved.min() < edges[0]:
            names[0] = f"<{_yuan(edges[1])}"
        if moved.max() >= edges[-1]:
            names[-1] = f"≥{_yuan(edges[-2])}"
        for lo, name, n in zip(edges[:-1], names, counts):
            if lo < 0:
                bars_.append((name, int(n), DOWN))
        bars_.append(("不变 0", int((changes == 0).sum()), SAME))
        for lo, name, n in zip(edges[:-1], names, counts):
            if lo >= 0:
                bars_.append((name, int(n), UP))
    else:
        bars_.append(("不变 0", int(len(changes)), SAME))
    left, bottom, top = 48, 86, 16
    plot_w, plot_h = width - left - 8, height - bottom - top
    most = max(n for _, n, _ in bars_) or 1
    slot = plot_w / len(bars_)
    body = [f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 8}" y2="{top + plot_h}" stroke="#1d232b"/>']
    for tick in (0, most // 2, most):
        y = top + plot_h - tick / most * plot_h
        body.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{tick:,}</text>'
                    f'<line x1="{left}" y1="{y:.1f}" x2="{width - 8}" y2="{y:.1f}" stroke="#e3e7ec"/>')
    for i, (label, n, colour) in enumerate(bars_):
        h = n / most * plot_h
        x = left + i * slot
        cx = x + slot / 2
        body.append(f'<rect x="{x + slot * 0.1:.1f}" y="{top + plot_h - h:.1f}" width="{slot * 0.8:.1f}" '
                    f'height="{h:.1f}" fill="{colour}"/>')
        if n:
            body.append(f'<text x="{cx:.1f}" y="{top + plot_h - h - 3:.1f}" text-anchor="middle" '
                        f'font-size="9">{n:,}</text>')
        body.append(f'<text transform="translate({cx + 3:.1f},{top + plot_h + 8}) rotate(-50)" '
                    f'text-anchor="end" font-size="9">{escape(label)}</text>')
    body.append(f'<text x="{left}" y="{height - 4}" font-size="10">个人负担变化(元) 左:下降 右:上升</text>')
    return _svg(width, height, body, title)
