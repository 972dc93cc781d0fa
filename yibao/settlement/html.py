"""Printable settlement statements (结算单): one self-contained HTML page per institution.

A hospital's accountant receives the statement on paper or as a file and checks it line by
line, so the page carries everything it needs and nothing it would fetch: inline CSS sized for
A4, the totals with the identities they obey, the deductions by violation code with a small
inline SVG chart, the withheld claims, the suspects, and every claim with its deductions. No
script, no external font or image, no date of printing: the same settlement gives the same bytes.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from yibao.fields import MONEY, RATIOS
from yibao.money import fen_to_yuan, yuan_array_to_fen
from yibao.settlement.labels import (BENEFITS, COUNTS, HEADERS, SECTIONS, STATEMENT_HEADERS, TITLE, TOTALS,
                                     UNKNOWN_INSTITUTION, WORDS, WRAPPED)
from yibao.settlement.layout import SUMMARY_PAGE, Statement, safe_names, statements, total_row
from yibao.settlement.statement import Settlement

FILE_NAME_LIMIT = 120
FEE_COLOUR, PENALTY_COLOUR = "#2f5f8f", "#d9822b"
SUMMARY_COLUMNS = ("institution_id", "name", "claims", "withheld_claims") + tuple(key for key, _ in TOTALS)
STYLE = """
@page { size: A4; margin: 12mm; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif;
       font-size: 12px; color: #1d232b; margin: 24px auto; max-width: 960px; }
h1 { font-size: 20px; text-align: center; margin: 0 0 6px; letter-spacing: 2px; }
h2 { font-size: 14px; border-left: 4px solid #2f5f8f; padding-left: 6px; margin: 22px 0 8px; }
.meta { display: flex; justify-content: space-between; border-bottom: 2px solid #1d232b;
        padding-bottom: 6px; margin-bottom: 10px; gap: 12px; }
.meta span { white-space: nowrap; }
.meta span:first-child { white-space: normal; min-width: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #b8c2cc; padding: 3px 6px; vertical-align: top; white-space: nowrap; }
td.w { white-space: normal; overflow-wrap: anywhere; }
th { background: #dde4ee; font-weight: 600; text-align: center; white-space: normal; min-width: 3em; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: 700; background: #f3f5f8; }
table.totals { width: 62%; }
table.totals td:first-child { width: 55%; }
table.totals tr.paid td { font-size: 15px; font-weight: 700; background: #e8f0e3; }
.note { color: #4a5562; margin: 6px 0; }
.empty { color: #6b7785; font-style: italic; }
.counts span { margin-right: 18px; }
.signatures { display: flex; justify-content: space-between; margin-top: 36px; }
.signatures div { width: 30%; border-top: 1px solid #1d232b; padding-top: 4px; }
table.list { font-size: 11px; }
@media print { body { margin: 0; max-width: none; font-size: 10.5px; } table.list { font-size: 9.5px; }
               th, td { padding: 2px 4px; } }
"""


def write_pages(settlement: Settlement, folder: Path) -> list[Path]:
    """`index.html` (every statement and the run's unknown-institution claims) and one page per
    institution, named after its id."""
    folder.mkdir(parents=True, exist_ok=True)
    parts = list(statements(settlement))
    names = safe_names([p.institution_id for p in parts], FILE_NAME_LIMIT)
    paths = [folder / f"{SUMMARY_PAGE}.html"]
    paths[0].write_text(_index(settlement, names), encoding="utf-8")
    for part, name in zip(parts, names):
        path = folder / f"{name}.html"
        path.write_text(statement_page(part), encoding="utf-8")
        paths.append(path)
    return paths


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n")


def _money(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    return f"{fen_to_yuan(round(float(value) * 100)):,}"  # exact: the tables hold whole fen


def _cell(column: str, value: Any) -> str:
    if column in MONEY:
        return f'<td class="n">{_money(value)}</td>'
    if column in RATIOS:
        return f'<td class="n">{float(value) * 100:.2f}%</td>'
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return f'<td class="n">{int(value):,}</td>'
    text = escape(str(WORDS.get(column, {}).get(value, value)))
    if column in WRAPPED:  # code lists may break after each ";"
        return f'<td class="w">{text.replace(";", ";<wbr>")}</td>'
    return f"<td>{text}</td>"


def _table(frame: pd.DataFrame, columns: Iterable[str], headers: dict[str, str] = HEADERS,
           links: list[str] | None = None) -> str:
    """A table of `columns` with Chinese headers and the 合计 row of its money columns;
    `links` makes the first cell of each row a link."""
    columns = list(columns)
    head = "".join(f"<th>{escape(headers[c])}</th>" for c in columns)
    rows = []
    for i, values in enumerate(zip(*(frame[c].tolist() for c in columns))):
        cells = [_cell(c, v) for c, v in zip(columns, values)]
        if links is not None:
            cells[0] = f'<td><a href="{escape(links[i])}">{escape(str(values[0]))}</a></td>'
        rows.append("<tr>" + "".join(cells) + "</tr>")
    total = total_row(frame, columns)
    if total is not None:
        label, sums = total
        cells = ["<td></td>" if f is None else f'<td class="n">{fen_to_yuan(f):,}</td>' for f in sums[1:]]
        rows.append(f'<tr class="total"><td>{label}</td>' + "".join(cells) + "</tr>")
    return (f'<table class="list">\n<thead><tr>{head}</tr></thead>\n<tbody>\n' + "\n".join(rows)
            + "\n</tbody>\n</table>\n")


def _chart(by_code: pd.DataFrame) -> str:
    """Horizontal bars of the deduction per violation code: fee and penalty stacked."""
    per_code = by_code.groupby(["code", "title"], sort=True)[["violation_fee", "penalty"]].sum().reset_index()
    per_code = per_code.assign(fee=yuan_array_to_fen(per_code["violation_fee"].to_numpy()),
                               pen=yuan_array_to_fen(per_code["penalty"].to_numpy()))
    per_code = per_code[per_code["fee"] + per_code["pen"] > 0]
    per_code = per_code.sort_values(["fee", "code"], ascending=[False, True], kind="stable")
    largest = int((per_code["fee"] + per_code["pen"]).max()) if len(per_code) else 0
    if largest <= 0:
        return '<p class="empty">本期无违规费用扣款。</p>\n'
    label_w, bar_w, value_w, row_h = 230, 360, 110, 24
    width, height = label_w + bar_w + value_w, row_h * len(per_code) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="违规费用按违规代码" '
             f'font-family="sans-serif" font-size="11">']
    for i, r in enumerate(per_code.itertuples()):
        y = 4 + i * row_h
        fee_w = bar_w * r.fee / largest
        pen_w = bar_w * r.pen / largest
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{escape(r.code)} '
                     f"{escape(r.title)}</text>")
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{fee_w:.1f}" height="15" fill="{FEE_COLOUR}"/>')
        if r.pen:
            parts.append(f'<rect x="{label_w + fee_w:.1f}" y="{y + 3}" width="{pen_w:.1f}" height="15" '
                         f'fill="{PENALTY_COLOUR}"/>')
        parts.append(f'<text x="{label_w + fee_w + pen_w + 6:.1f}" y="{y + 14}">'
                     f"{fen_to_yuan(r.fee + r.pen):,}</text>")
    y = height - 12
    parts.append(f'<rect x="{label_w}" y="{y - 9}" width="10" height="10" fill="{FEE_COLOUR}"/>'
                 f'<text x="{label_w + 14}" y="{y}">违规费用</text>'
                 f'<rect x="{label_w + 90}" y="{y - 9}" width="10" height="10" fill="{PENALTY_COLOUR}"/>'
                 f'<text x="{label_w + 104}" y="{y}">违约金</text>')
    return "\n".join(parts) + "\n</svg>\n"


def _totals(row: pd.Series) -> str:
    lines = []
    for key, label in TOTALS:
        sign = "−" if key in ("withheld", "violation_fees", "penalties", "deposit") and row[key] else ""
        lines.append(f'<tr class="{key}"><td>{escape(label)}</td>'
                     f'<td class="n">{sign}{_money(row[key])}</td></tr>')
    return '<table class="totals">\n' + "\n".join(lines) + "\n</table>\n"


def statement_page(part: Statement) -> str:
    """The printable statement of one institution."""
    row = part.row
    ratio = f"{float(row['deposit_ratio']) * 100:.2f}%"
    body = [f"<h1>{TITLE}</h1>",
            f'<div class="meta"><span>{HEADERS["name"]}：<b>{escape(str(row["name"]))}</b></span>'
            f'<span>{HEADERS["institution_id"]}：{escape(part.institution_id)}</span>'
            f'<span>{HEADERS["period"]}：{escape(str(row["period"]))}</span></div>',
            _totals(row),
            '<p class="counts">' + "".join(f"<span>{escape(label)}：{int(row[key]):,}</span>"
                                           for key, label in COUNTS) + "</p>",
            f'<p class="note">本期结算申报金额 = 申报基金支付合计 − 数据不正确暂不拨付 = 审核后基金支付 + 违规费用；'
            f"违约金 = 各就诊 R(违规费用 × Σ(违约金比例 × 违规金额) ÷ Σ违规金额)；"
            f"质量保证金 = R({ratio} × (本期结算申报金额 − 违规费用 − 违约金))；"
            f"本期拨付金额 = 本期结算申报金额 − 违规费用 − 违约金 − 质量保证金。R 为四舍五入到分。</p>"]
    for table, title, columns in SECTIONS:
        frame = part.sections[table]
        body.append(f"<h2>{escape(title)}({len(frame):,})</h2>")
        if table == "by_code":
            body.append(_chart(frame))
        body.append(_table(frame, columns) if len(frame)
                    else '<p class="empty">无</p>')
    body.append('<div class="signatures"><div>经办人</div><div>复核人</div><div>定点医药机构确认(盖章)</div></div>')
    return _page(f"{TITLE} {part.institution_id} {row['period']}", "\n".join(body) + "\n")


def _index(settlement: Settlement, names: list[str]) -> str:
    period = settlement.statements["period"].iat[0] if len(settlement.statements) else ""
    body = [f"<h1>{TITLE} 汇总</h1>",
            f'<div class="meta"><span>{HEADERS["period"]}：{escape(str(period))}</span>'
            f"<span>机构数：{len(settlement.statements):,}</span></div>",
            _table(settlement.statements, SUMMARY_COLUMNS, STATEMENT_HEADERS, links=[f"{n}.html" for n in names])]
    for name, title, columns in (UNKNOWN_INSTITUTION, BENEFITS):
        frame = getattr(settlement, name)
        if frame is None:
            continue  # benefits: settled without a ledger
        body += [f"<h2>{escape(title)}({len(frame):,})</h2>",
                 _table(frame, columns) if len(frame) else '<p class="empty">无</p>']
    return _page(f"{TITLE} 汇总 {period}", "\n".join(body) + "\n")
