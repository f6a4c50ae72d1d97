"""The `plan --paths` and `plan --sensitivity` tables (the library does the work: plan/stochastic.py,
plan/sensitivity.py)."""

from __future__ import annotations

from rich.console import Console

from ..report.tables import Column, emit
from .common import money, pct


def print_paths(p: dict, console: Console) -> None:
    """Each path's cost, unmet demand and idle commitments; expected cost, CVaR, the low path, the
    single-forecast plan's commitments on the same paths."""
    cols = [Column("id", "path", justify="left"), Column("probability", "probability", pct),
            Column("demand_multiplier_mean", "demand x", lambda v: f"{v:.2f}"), Column("cost_usd", "cost", money),
            Column("paid_usd", "paid", money), Column("unmet_share", "unmet", pct),
            Column("unmet_usd", "unmet priced", money), Column("idle_committed_chip_share", "idle committed", pct)]
    emit(p["paths"], "table", cols, title=f"Demand paths (reference: {p['reference']}; recourse: {p['recourse']})",
         console=console)
    console.print(f"Expected cost {money(p['expected_usd'])}; CVaR{p['alpha']:.0%} {money(p['cvar_usd'])} "
                  f"(weight {p['weight']:g}); {p['solver']['status']}")
    low = p["low"]
    console.print(f"If demand comes in low (path {low['id']}): {money(low['cost_usd'])}, "
                  f"{pct(low['idle_committed_chip_share'])} of committed chip-months idle.")
    det = p.get("deterministic")
    if det and det.get("expected_usd") is not None:
        console.print(f"The single-forecast plan's commitments on the same paths: expected "
                      f"{money(det['expected_usd'])}, "
                      f"CVaR {money(det['cvar_usd'])}; idle if low {pct(det['low']['idle_committed_chip_share'])}; "
                      f"planning over the paths saves {money(p['value_of_stochastic_usd'])} of the objective.")


def print_sensitivity(s: dict, console: Console) -> None:
    cols = [Column("input", "input", justify="left"), Column("low", "low", justify="left"),
            Column("cost_low_usd", "cost at low", _cost), Column("high", "high", justify="left"),
            Column("cost_high_usd", "cost at high", _cost), Column("swing_usd", "swing", money),
            Column("swing_share", "swing / base", pct)]
    emit(s["rows"], "table", cols, title=f"Sensitivity of cost ({s['method']}; base {money(s['base_usd'])})",
         console=console)


def _cost(v) -> str:
    return "no plan" if v is None else money(v)


def run_sensitivity(scn, inp, options, say):
    """The tornado over the scenario's inputs, rates at the rate table's held-out error band. Solved as LP
    relaxations: on frontier-2026 that is 12 s against 99 s for the MILPs, with the same ranking, and a MILP
    at a 0.5% gap cannot resolve swings below 0.5% of the cost anyway (they come out as noise)."""
    import numpy as np

    from ..plan.sensitivity import sensitivity
    table = scn.rate_table().subset(workloads=list(inp.workloads), offerings=list(inp.offerings))
    low = np.where(table.measured, table.rate, np.minimum(table.rate_low, table.rate))
    high = np.where(table.measured, table.rate, np.maximum(table.rate_high, table.rate))
    return sensitivity(inp, options, low, high, relax=True, progress=say)
