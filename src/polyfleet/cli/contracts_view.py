"""Contracts in `polyfleet plan`'s tables: what each deal delivers, what is taken and used, what it costs
and owes; and, with --deals, the deals as signed next to the optimiser's free choice."""

from __future__ import annotations

import sys

from rich.console import Console

from ..report.contracts import USED_NOTE, contract_rows
from ..report.tables import Column, emit
from .common import money


def print_contracts(result, console: Console) -> None:
    """The contracts table (nothing when the scenario has none)."""
    if not result.contracts:
        return
    cols = [Column("contract", "contract", justify="left"), Column("counterparty", "with", justify="left"),
            Column("accelerator", "chips", justify="left"), Column("state", "state", justify="left"),
            Column("delivered", "delivered"), Column("taken", "taken"), Column("peak_held", "peak held"),
            Column("peak_used", "peak used (at most)"), Column("cost_usd", "paid in horizon", money),
            Column("owed_usd", "owed after", money), Column("options", "options", justify="left")]
    emit(contract_rows(result), "table", cols, title=f"Contracts (chips; {USED_NOTE})", console=console)


def print_deals(dl) -> None:
    """The deals as signed next to the optimiser's free choice."""
    console = Console(width=None if sys.stdout.isatty() else 160)
    d = dl.to_dict()
    if "signed_deals_cost_more_usd" not in d:
        console.print("[yellow]deals: one of the two plans has no solution; no comparison[/yellow]")
        return
    cols = [Column("contract", "contract", justify="left"), Column("signed_chips_taken", "as signed: chips taken"),
            Column("signed_cost_usd", "as signed: paid", money),
            Column("free_signs", "free choice: signs", justify="left"),
            Column("free_chips_taken", "free: chips taken"), Column("free_cost_usd", "free: paid", money)]
    emit(dl.rows(), "table", cols, title="The deals as signed next to the optimiser's choice", console=console)
    a, f = d["as_signed"], d["free_choice"]
    console.print(f"Objective ({d['accounting']}): as signed {money(a['objective_usd'])}, free choice "
                  f"{money(f['objective_usd'])}: the signed deals cost {money(d['signed_deals_cost_more_usd'])} more "
                  f"(each solve within its MIP gap: {a['mip_gap']:.2%} / {f['mip_gap']:.2%}).")
    fams = sorted(set(a["chips_by_family_last_month"]) | set(f["chips_by_family_last_month"]))
    console.print("  last month's chips, as signed -> free choice: " + ", ".join(
        f"{x} {a['chips_by_family_last_month'].get(x, 0):,.0f} -> {f['chips_by_family_last_month'].get(x, 0):,.0f}"
        for x in fams))
