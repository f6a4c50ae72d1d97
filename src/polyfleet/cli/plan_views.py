"""What `polyfleet plan` prints as tables: one function per part of the plan, each taking the result and
a console, in the order a reader takes them (summary, capacity, training runs, shares, limits,
survivability, sites, contracts, totals, assumptions; then compare and frontier when asked)."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.markup import escape

from ..report.tables import Column, emit, sig
from ..report.units import megawatts, money, plural
from .common import pct
from .contracts_view import print_contracts


def console_for_stdout() -> Console:
    return Console(width=None if sys.stdout.isatty() else 160)


def print_tables(result, cmp=None, fr=None) -> None:
    """The plan as tables: a one-page summary, then the detail; a plan that could not be made explains why."""
    console = console_for_stdout()
    if result.feasible:
        print_summary(result, console)
    print_header(result, console)
    if not result.feasible:
        print_no_plan(result, console)
        return
    picked = print_capacity(result, console)
    print_runs(result, console)
    print_shares(result, console, picked)
    print_limits(result, console)
    print_sites(result, console)
    print_contracts(result, console)
    print_totals(result, console)
    if cmp is not None:
        print_compare(cmp, console)
    if fr is not None:
        print_frontier(fr, console)


def print_summary(result, console: Console) -> None:
    from ..report.board import board, board_lines
    for i, line in enumerate(board_lines(board(result))):
        console.print(f"[bold]{escape(line)}[/bold]" if i == 0 else escape(line), highlight=False)
    console.print()


def print_header(result, console: Console) -> None:
    inp = result.inputs
    console.print(f"[bold]{escape(inp.name)}[/bold]: {inp.months[0]} .. {inp.months[-1]}, "
                  f"{plural(inp.O, 'offering')}, {plural(inp.W, 'workload')}, "
                  f"{plural(len(inp.contingencies), 'failure set')}")
    style = "green" if result.feasible and result.solution.optimal else "yellow"
    console.print(f"[{style}]{escape(result.status_line)}[/{style}]")


def print_no_plan(result, console: Console) -> None:
    if result.diagnosis is None:
        console.print(f"[bold red]HiGHS found no plan ({escape(result.solution.status)}); that does not prove none "
                      "exists: raise --node-limit, --time-limit or --gap.[/bold red]")
        return
    console.print("[bold red]No plan satisfies every constraint. What cannot hold together:[/bold red]")
    for line in result.diagnosis.lines():
        console.print(f"  - {escape(line)}")


def print_capacity(result, console: Console) -> list[int]:
    """Capacity, power and cost by month, and chips per offering in a few months (returned)."""
    from ..catalog import FAMILIES
    inp = result.inputs
    cols = [Column("month", "month", justify="left")] + [Column(f"{f}_chips", f"{f} chips") for f in FAMILIES] + [
        Column("chips", "chips"), Column("mw", "facility power", megawatts), Column("cost_usd", "cost", money),
        Column("top_vendor", "top vendor", justify="left"), Column("top_provider", "top cloud", justify="left")]
    emit(result.month_rows(), "table", cols, title="Capacity, power and cost by month", console=console)
    step = max(1, inp.T // 6)
    picked = list(range(0, inp.T, step)) + ([inp.T - 1] if (inp.T - 1) % step else [])
    chips = result.chips
    rows = [{"offering": inp.offerings[o], **{inp.months[t]: float(chips[o, t]) for t in picked},
             "cost_usd": float(result.cost[o].sum())} for o in range(inp.O) if chips[o].max() > 0]
    emit(rows, "table", [Column("offering", "offering (chips held)", justify="left")] +
         [Column(inp.months[t], inp.months[t]) for t in picked] + [Column("cost_usd", "cost", money)],
         title="Plan: chips per offering (selected months; every month in --out plan.csv)", console=console)
    return picked


def print_runs(result, console: Console) -> None:
    """Training runs on their clusters, and the off-peak chips training borrows from inference."""
    rows = [{**r, "sites": ", ".join(r["sites"]), "window": f"{r['start']} .. {r['months'][-1]}",
             "tokens": f"{r['tokens_planned']:.3g}"} for r in result.clusters]
    if rows:
        emit(rows, "table", [Column("run", "run", justify="left"), Column("cluster", "cluster", justify="left"),
                             Column("sites", "sites", justify="left"), Column("chips", "chips"),
                             Column("window", "runs", justify="left"), Column("goodput", "goodput", pct),
                             Column("tokens", "tokens planned")], title="Training runs (each on one cluster)",
             console=console)
    op = result.off_peak_chips
    if op is not None and op.sum() > 0:
        used = ", ".join(f"{result.inputs.workloads[w]} {op[w].mean():,.0f} chips on average"
                         for w in range(len(op)) if op[w].sum() > 0)
        console.print(f"Off-peak training on idle inference chips: {used}")


def print_shares(result, console: Console, picked: list[int]) -> None:
    inp = result.inputs
    rows = []
    for dim in ("vendor", "provider", "family"):
        groups, sh = result.shares(dim)
        rows += [{"group": f"{dim} {g}", **{inp.months[t]: float(s[t]) for t in picked}} for g, s in zip(groups, sh)]
    emit(rows, "table", [Column("group", f"share of {inp.share_measure}", justify="left")] +
         [Column(inp.months[t], inp.months[t], pct) for t in picked], title="Shares of capacity", console=console)


def print_limits(result, console: Console) -> None:
    """What binds, and what survives each failure set."""
    console.print("[bold]What limits the plan[/bold]")
    for b in result.binding or []:
        console.print(f"  - {escape(b.text)}")
    if not result.binding:
        console.print("  - nothing but demand: no power, supply, budget, cap or survivability limit binds")
    if result.survivability is not None:
        surv = result.survivability
        cols = [Column("label", "failure set", justify="left"), Column("all_demand", "all demand", pct)] + [
            Column(c, f"{c} (>= {r:.0%})", pct) for c, r in zip(surv.classes, surv.required)] + [
            Column("meets_policy", "ok", sig)]
        emit(surv.rows(), "table", cols, title="Survivability: share still served in the worst month",
             console=console)


def site_rows(result) -> list[dict]:
    """One row per site: how it comes (under way / ordered / not ordered), when energised, MW, peak use."""
    return [{"site": s["site"], "how": s["how"], "energised": s["energised"], "mw": max(s["mw"]),
             "peak_mw_drawn": max(s["mw_drawn"]), "peak_use": s["peak_use"]} for s in result.sites]


def print_sites(result, console: Console) -> None:
    if not result.sites:
        return
    emit(site_rows(result), "table", [Column("site", "site", justify="left"), Column("how", "how", justify="left"),
                                      Column("energised", "energised", justify="left"), Column("mw", "MW", megawatts),
                                      Column("peak_mw_drawn", "peak drawn", megawatts),
                                      Column("peak_use", "peak use", pct)],
         title="Power sites", console=console)
    if result.site_cost is not None and result.site_cost.sum() > 0:
        console.print(f"  sites cost {money(float(result.site_cost.sum()))} over the horizon (in the total below)")


def print_totals(result, console: Console) -> None:
    """The total, what is owed after the horizon, the last month's mix and the assumptions."""
    inp = result.inputs
    console.print(f"Total cost {money(result.total_cost)} over {plural(inp.T, 'month')} (paid inside the horizon; the "
                  f"objective counts payments after it as {escape(result.accounting)}); commitments and contracts owed "
                  f"after the horizon, in full: {money(result.obligation_after_usd)}.")
    mix = result.mix_by_family()
    console.print("Mix in " + inp.months[-1] + ": " + ", ".join(
        f"{f} {v['chips']:,.0f} chips / {megawatts(v['mw'])} ({pct(v['mw_share'])})" for f, v in mix.items()))
    if inp.assumptions:
        console.print(f"[dim]{len(inp.assumptions)} assumptions (listed in --out report.html and plan.json):[/dim]")
        for a in inp.assumptions[:8]:
            console.print(f"[dim]  - {escape(a)}[/dim]")
        if len(inp.assumptions) > 8:
            console.print(f"[dim]  ... and {len(inp.assumptions) - 8} more[/dim]")


def print_compare(cmp, console: Console) -> None:
    cols = [Column("strategy", "strategy", justify="left"), Column("status", "status", justify="left"),
            Column("cost_usd", "cost", money), Column("premium_vs_least_cost", "premium", pct),
            Column("worst_protected_share", "worst protected served", pct),
            Column("failures_passed", "failure sets passed", justify="left"),
            Column("lock_in_share", "lock-in", pct), Column("mix", "mix (MW)", justify="left")]
    emit(cmp.rows(), "table", cols, title="Diversification: cost premium vs what survives", console=console)
    for r in cmp.rows():
        if r["reason"]:
            console.print(f"[dim]  {escape(r['strategy'])}: {escape(r['reason'])}[/dim]")


def print_frontier(fr, console: Console) -> None:
    cols = [Column("required_share", "required", pct), Column("status", "status", justify="left"),
            Column("cost_usd", "cost", money), Column("premium_vs_first", "premium", pct),
            Column("worst_protected_share", "worst served", pct), Column("mix", "mix (MW)", justify="left")]
    emit(fr.rows(), "table", cols, title="Cost vs resilience (frontier)", console=console)


def print_robust(r: dict, console: Console) -> None:
    """The robust plan against the nominal one (`plan.robust.robust_cost`)."""
    if "extra_usd" not in r:
        console.print("[yellow]robust: one of the two plans has no solution, so the cost of certainty is unknown[/yellow]")
        return
    gap = max(g for g in r["mip_gaps"] if g is not None) if any(g is not None for g in r["mip_gaps"]) else None
    console.print(f"[bold]Robust plan[/bold] (rates at {r['rates']}): {money(r['robust_cost_usd'])} against "
                  f"{money(r['nominal_cost_usd'])} at central rates, {money(r['extra_usd'])} more "
                  f"({pct(r['extra_share'])})" + (f"; each solve within a {gap:.2%} gap" if gap is not None else ""))
    fams = sorted(set(r["last_month_chips_by_family"]["nominal"]) | set(r["last_month_chips_by_family"]["robust"]))
    console.print("  last month's chips, nominal -> robust: " + ", ".join(
        f"{f} {r['last_month_chips_by_family']['nominal'].get(f, 0):,.0f} -> "
        f"{r['last_month_chips_by_family']['robust'].get(f, 0):,.0f}" for f in fams))
