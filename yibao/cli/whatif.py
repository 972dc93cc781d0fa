"""`yibao whatif`: one case, decided and calculated, for policy staff and examiners."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from yibao.cases import case_batch, load_case
from yibao.cli.options import quiet_option
from yibao.decision import decision_object
from yibao.fields import RATIOS
from yibao.labels import DECISIONS, beside
from yibao.pipeline import LINE_AMOUNTS, assign_tariffs, score_batch

if TYPE_CHECKING:
    from rich.panel import Panel
    from rich.table import Table

    from yibao.tariffs.registry import LoadedTariff

# rich is imported where a panel is drawn, and the tariff editor where --set is given: `--json`
# without edits needs neither (cold start, issue 3)

FUNDS = (("act_pay_dedc", "起付线 deductible"), ("hifp_pay", "统筹基金 basic fund"),
         ("hifmi_pay", "大病保险 catastrophic"), ("hifob_pay", "大额补充 large-amount"),
         ("maf_pay", "医疗救助 assistance"), ("fund_pay_sumamt", "基金合计 funds total"),
         ("psn_part_amt", "个人负担 person"), ("hosp_part_amt", "医院承担 institution"))
SPLITS = (("medfee_sumamt", "医疗总费用 total"), ("fulamt_ownpay_amt", "全自费 self-pay"),
          ("overlmt_selfpay", "超限价 over-cap"), ("preselfpay_amt", "先行自付 pre-self-pay"),
          ("inscp_scp_amt", "政策范围内 in-policy"), ("violation_amt", "违规 violation"))
SHARES = (("share_selfpay_amt", "其中 定比自付 item share, person"), ("share_fund_amt", "其中 定比统筹 item share, fund"))
"""Of the in-policy amount, the fixed-share items' parts: shown only on a case that has them."""
COLOURS = {"approved": "green", "partially_approved": "yellow", "rejected": "red",
           "needs_materials": "magenta", "pending_verification": "cyan"}


def _decide(case_path: Path, tariff: Optional[str], edits: list[str]) -> tuple[dict, dict | None]:
    case = load_case(case_path)
    batch = case_batch(case, str(case_path))
    from yibao.tariffs.registry import tariff_spec

    spec = None if tariff is None else tariff_spec(tariff)
    keys, versions, _ = assign_tariffs(batch.claims.reset_index(drop=True), spec, batch.persons)
    if not keys[0]:
        from yibao.errors import InputError
        from yibao.pipeline import no_tariff_reasons

        reason, _ = no_tariff_reasons(batch.claims, batch.persons, keys == "", spec=spec)
        raise InputError(reason[0].replace("the claim's date", "the case's date"), file=str(case_path))
    base: LoadedTariff = versions[keys[0]]
    baseline = decision_object(score_batch(batch, tariff=base, trace=True), case.claim.mdtrt_id)
    if not edits:
        return baseline, None
    from yibao.tariffs.edit import apply_edits

    edited = decision_object(score_batch(batch, tariff=apply_edits(base, edits), trace=True), case.claim.mdtrt_id)
    return baseline, edited


def _amounts_table(obj: dict[str, Any], title: str, rows: tuple[tuple[str, str], ...]) -> Table:
    from rich.table import Table

    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("field")
    table.add_column("yuan", justify="right")
    for field, label in rows:
        table.add_row(f"{label} [dim]{field}[/dim]", f"{obj[field]:,.2f}")
    return table


def _panel(obj: dict[str, Any]) -> Panel:
    """The decision as an examiner reads it; the case's own text (ids, codes, a tariff's version)
    is never read as Rich markup: a line id `[/]` stopped the command."""
    from rich.console import Group
    from rich.markup import escape
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    parts: list[Any] = []
    colour = COLOURS.get(obj["decision"], "white")
    head = f"[bold {colour}]{beside(obj['decision'], DECISIONS)}[/]  tariff {escape(obj['tariff'])}"
    if obj["due_date"]:
        head += f"  due {obj['due_date']}"
    if obj["calendar_estimated"]:
        head += "  [yellow](估算 estimated: beyond the known holiday calendar, weekends only)[/]"
    parts.append(head)
    if obj["reasons"]:
        reasons = Table("rule", "code", "reason", title="理由 reasons", title_justify="left")
        for r in obj["reasons"]:
            reasons.add_row(r["rule_id"], r["code"], Text(r["message"]))
        parts.append(reasons)
    if obj["missing_materials"]:
        parts.append("[bold]一次性告知 missing materials:[/] " +
                     "; ".join(f"{m['name']} ({m['code']})" for m in obj["missing_materials"]))
    if obj["lines"]:
        money = Table.grid(padding=(0, 4))
        shared = any(obj[f] for f, _ in SHARES)
        money.add_row(_amounts_table(obj, "费用 split", SPLITS + (SHARES if shared else ())),
                      _amounts_table(obj, "基金 funds", FUNDS))
        parts.append(money)
        extra = f"pool {obj['fund_pool'] or '—'}  ratio {obj['pool_prop']:.4g}"
        if obj["maternity_allowance"]:
            extra += f"  生育津贴 allowance {obj['maternity_allowance']:,.2f}"
        if obj["maternity_grant"]:
            extra += f"  一次性生育补助金 grant {obj['maternity_grant']:,.2f}"
        parts.append(extra)
        amounts = [f for f in LINE_AMOUNTS if shared or f not in dict(SHARES)]
        lines = _folded(Table("line", "code", *amounts, "violations", title="明细 lines", title_justify="left"))
        for ln in obj["lines"]:
            lines.add_row(Text(ln["line_id"]), Text(ln.get("med_list_codg", "")),
                          *(f"{ln[f]:,.2f}" for f in amounts), ";".join(ln["violations"]))
        parts.append(lines)
    if obj.get("trace"):
        parts.append(trace_table(obj["trace"]))
    parts.append("[dim]rules fired: " + " → ".join(obj["rules_fired"]) + "[/dim]")
    return Panel(Group(*parts), title=Text(f"yibao whatif {obj['mdtrt_id']}"), expand=False)


def _folded(table: Table) -> Table:
    """Cells too wide for the terminal go on over lines, never cut: "2,60…" of 2,600.00 was read
    as a different amount, and a path is read whole."""
    for column in table.columns:
        column.overflow = "fold"
    return table


def _number(value: float | None, percent: bool = False) -> str:
    if value is None:
        return ""
    return f"{value * 100:g}%" if percent else f"{value:,.2f}"


def trace_table(steps: list[dict[str, Any]]) -> Table:
    """计算过程: the steps from the lines to each fund, as an examiner pastes them into a notice."""
    from rich.markup import escape
    from rich.table import Table

    from yibao.calculator.trace import FUND_NAMES

    table = _folded(Table("步骤 step", "基金 fund", "项目 item", "政策参数 tariff entry", "基数 base",
                          "比例 ratio", "限额 limit", "金额 amount", "规则 rules",
                          title="计算过程 calculation (yuan)", title_justify="left"))
    for s in steps:
        table.add_row(str(s["step"]), beside(s["fund"], FUND_NAMES), f"{s['label_zh']} [dim]{s['action']}[/dim]",
                      escape(s["tariff_path"]), _number(s["base"]), _number(s["ratio"], percent=True),
                      _number(s["limit"]), _number(s["amount"]), " ".join(s["rule_ids"]))
    return table


def _cell(key: str, value: Any) -> str:
    """Amounts with two decimals and thousands separators, ratios as percent, as in the panels;
    the rest as text."""
    return _number(value, percent=key in RATIOS) if isinstance(value, float) else str(value)


def _differences(base: dict[str, Any], edited: dict[str, Any]) -> dict[str, Any]:
    """Per changed field its two values and, for a number, the change: yuan to the fen, a ratio
    to its four decimals (a ratio of 0.65 edited to 0.6525 changed by 0.0025, not by 0.00)."""
    diff: dict[str, Any] = {}
    for key, old in base.items():
        new = edited.get(key)
        if key in ("lines", "accumulators", "rules_fired", "tariff", "trace") or new == old:
            continue
        if isinstance(old, (int, float)) and isinstance(new, (int, float)):
            diff[key] = {"baseline": old, "edited": new, "change": round(new - old, 4 if key in RATIOS else 2)}
        else:
            diff[key] = {"baseline": old, "edited": new}
    return diff


def run(case: Path = typer.Argument(..., help="case file (JSON or YAML, docs/cases.md)"),
        json_out: bool = typer.Option(False, "--json", help="print the decision as JSON"),
        tariff: Optional[str] = typer.Option(None, "--tariff", help="ID, ID@VERSION or a tariff folder"),
        set_: list[str] = typer.Option([], "--set", help="PATH=VALUE tariff edit (repeatable)"),
        compare: bool = typer.Option(False, "--compare", help="baseline, edited and difference"),
        quiet: bool = quiet_option("the decision (edited, with --set), one word for scripts"),
        ) -> None:
    """Decide one case and compute its amounts (a what-if calculation)."""
    baseline, edited = _decide(case, tariff, set_)
    if quiet:
        typer.echo((edited or baseline)["decision"])
        return
    if compare and edited is not None:
        report = {"baseline": baseline, "edited": edited, "difference": _differences(baseline, edited)}
        if json_out:
            typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
            return
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        console = Console()
        console.print(_panel(baseline), _panel(edited))
        table = Table("field", "baseline", "edited", "change", title="差异 difference")
        for column in table.columns[1:]:
            column.justify = "right"
        for key, d in report["difference"].items():
            table.add_row(key, *(Text(_cell(key, d.get(k, ""))) for k in ("baseline", "edited", "change")))
        console.print(table)
        return
    shown = edited if edited is not None else baseline
    if json_out:
        typer.echo(json.dumps(shown, ensure_ascii=False, indent=2))
    else:
        from rich.console import Console

        Console().print(_panel(shown))
