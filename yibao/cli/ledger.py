"""The ledger (账本) of committed batches: its status, and reversing a paid claim (冲正)."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from yibao.cli.options import quiet_option

app = typer.Typer(no_args_is_help=True, add_completion=False)

LEDGER = typer.Option(..., "--ledger", help="ledger: SQLite file path or database URL")


@app.command()
def status(ledger: str = LEDGER,
           as_json: bool = typer.Option(False, "--json", help="the status as JSON, for scripts"),
           quiet: bool = quiet_option("only: claims paid, fund_pay_sumamt")) -> None:
    """Batches (id, period, claims, status), fund totals per year, funds, maternity cash
    benefits and funds withheld at settlement per period (yuan), the periods settled and claims
    paid."""
    from yibao.ledger import Ledger

    book = Ledger(ledger)
    try:
        state = book.status()
    finally:
        book.close()
    if as_json:
        print(json.dumps(state, ensure_ascii=False, indent=2, sort_keys=True))
        return
    if quiet:
        print(f"{state['claims']} {state['fund_pay_sumamt']:.2f}")
        return
    console = Console()
    batches = Table(title=Text(f"批次 batches — {state['ledger']}"), title_justify="left")
    for column in ("seq", "batch_id", "period", "claims", "duplicates", "reversals", "status"):
        batches.add_column(column, justify="right" if column in ("seq", "claims", "duplicates", "reversals") else "left")
    for b in state["batches"]:
        batches.add_row(str(b["seq"]), b["batch_id"][:12], b["period"], f"{b['claims']:,}",
                        f"{b['duplicates']:,}", f"{b['reversals']:,}", b["status"])
    console.print(batches)
    funds = Table(title="基金支付 fund payments per year (yuan)", title_justify="left")
    funds.add_column("year")
    names = ("hifp_pay", "hifmi_pay", "hifob_pay", "maf_pay", "fund_pay_sumamt")
    for name in names:
        funds.add_column(name, justify="right")
    for year, sums in state["years"].items():
        funds.add_row(year, *(f"{sums[n]:,.2f}" for n in names))
    console.print(funds)
    periods = Table(title="每期基金支付与生育津贴、一次性生育补助金(支付给个人) funds and cash benefits paid "
                          "to persons per period (yuan, reversals included), and the funds its statements "
                          "withheld from the institutions", title_justify="left")
    periods.add_column("period")
    shown = ("fund_pay_sumamt", "maternity_allowance", "maternity_grant", "withheld")
    for name in shown:
        periods.add_column("暂不拨付 withheld" if name == "withheld" else name, justify="right")
    for period, sums in state["periods"].items():
        periods.add_row(period, *(f"{sums[n]:,.2f}" for n in shown))
    console.print(periods)
    settled = Table(title="已结算期 settled periods (nothing is booked in them any more)", title_justify="left")
    for column in ("period", "settled_at", "manifest_sha256"):
        settled.add_column(column)
    for period, mark in state["settled"].items():
        settled.add_row(period, mark["settled_at"], mark["manifest_sha256"][:12])
    console.print(settled)
    console.print(f"claims paid: {state['claims']:,}; fund_pay_sumamt {state['fund_pay_sumamt']:,.2f} yuan; "
                  f"to persons: maternity_allowance {state['maternity_allowance']:,.2f}, "
                  f"maternity_grant {state['maternity_grant']:,.2f} yuan")


@app.command()
def reverse(mdtrt_id: str = typer.Argument(..., help="the paid claim to reverse"),
            ledger: str = LEDGER,
            period: str = typer.Option(..., "--period", help="settlement month YYYY-MM the reversal is made in"),
            quiet: bool = quiet_option("print nothing on success")) -> None:
    """Reverse a paid claim (冲正): its payment and accumulators are taken back out, and the
    negative line is settled in --period."""
    from yibao.errors import InputError
    from yibao.ledger import Ledger
    from yibao.ledger.store import reversal_batch
    from yibao.settlement.inputs import parse_period

    month = parse_period(period).text
    book = Ledger(ledger)
    try:
        paid = book.paid([mdtrt_id])
        if paid.empty:
            raise InputError(f"claim {mdtrt_id} is not paid in this ledger (never paid, or reversed already)")
        payments = book.entries(paid["entry_id"])
        batch_id = reversal_batch(mdtrt_id, int(paid["entry_id"].iat[0]))
        book.reverse_only(payments, batch_id, month)
    finally:
        book.close()
    if not quiet:
        Console(stderr=True).print(f"claim {mdtrt_id} reversed in period {month} (batch {batch_id[:12]})",
                                   highlight=False, soft_wrap=True, markup=False)
