"""`polyfleet plan` and `polyfleet scenario`: the capacity portfolio planner's face."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from ..errors import EXIT_INFEASIBLE
from ..report.tables import Column, emit, jsonable, sig
from ..report.units import megawatts, plural
from . import app, options as opt, preflight
from .common import load, money, pct, progress, to_csv, write_outputs
from .contracts_view import print_contracts, print_deals
from .plan_views import print_sites

PLAN_FILES = ("plan.json", "plan.csv", "months.csv", "survivability.csv", "binding.csv", "procurement.csv",
              "report.html")


@app.command("plan", epilog="Examples:\n\n"
             "  polyfleet plan            (the built-in frontier-2026 scenario)\n\n"
             "  polyfleet plan examples/midsize-gpu-tpu.yaml --out plan-out\n\n"
             "  polyfleet plan frontier-2026 --compare --frontier --out report\n\n"
             "  polyfleet plan my.yaml --format json > plan.json\n\n"
             "  polyfleet plan --robust   (at the pessimistic end of each modelled rate's band)\n\n"
             "  polyfleet plan --paths 20 --sensitivity   (commitments hedged over 20 demand paths; the tornado)\n\n"
             "--out DIR writes plan.json, plan.csv (month x offering), months.csv, survivability.csv, binding.csv, "
             "procurement.csv (new commitments by month, vendor, provider and term), report.html (self-contained) "
             "and, with --compare/--frontier/--paths/--sensitivity, compare.csv, frontier.csv, paths.csv and "
             "sensitivity.csv. Files "
             "polyfleet did not write are never replaced unless --overwrite is given.")
def plan_cmd(
    ctx: typer.Context,
    scenario: str = opt.SCENARIO,
    out: Path | None = opt.OUT,
    fmt: str = opt.FORMAT_OUT,
    compare: bool = typer.Option(False, "--compare", help="Also solve single-vendor, single-cloud and least-cost "
                                 "plans and compare cost and survivability."),
    frontier: bool = typer.Option(False, "--frontier", help="Sweep the survivability requirement: cost vs "
                                  "resilience."),
    levels: str | None = typer.Option(None, "--levels", help="Survivability levels for --frontier "
                                      "(default 0,0.25,0.5,0.75,0.9,1)."),
    deals: bool = typer.Option(False, "--deals", help="Also solve with every contract a free choice (the optimiser "
                               "may sign or leave each) and show the deals as signed next to it (one more solve)."),
    robust: bool = typer.Option(False, "--robust", help="Plan at the pessimistic end (P10) of each modelled rate's "
                                "held-out error band; also solves the nominal plan and reports what that certainty costs."),
    paths: int | None = opt.PATHS,
    sensitivity: bool = opt.SENSITIVITY,
    gap: float = opt.GAP,
    time_limit: float = opt.TIME_LIMIT,
    node_limit: int = opt.NODE_LIMIT,
    overwrite: bool = opt.OVERWRITE,
    quiet: bool = opt.QUIET,
) -> None:
    """What capacity to hold, from whom, where and bought how, month by month (a HiGHS MILP)."""
    from ..plan import PlanOptions, SolveOptions, compare as do_compare, deals_vs_free, frontier as do_frontier, plan
    from ..plan.from_scenario import inputs_from_scenario
    from ..plan.schedule import PROCUREMENT_FIELDS, procurement_rows
    from ..plan.stochastic import plan_scenario_paths
    from ..report import html
    from .uncertainty import print_paths, print_sensitivity, run_sensitivity
    from ..report.contracts import deals_section

    preflight.options(ctx, outputs=PLAN_FILES + ("compare.csv",) * compare + ("frontier.csv",) * frontier
                      + ("paths.csv",) * (paths is not None) + ("sensitivity.csv",) * sensitivity)
    lv = preflight.levels(levels) if frontier else []
    scn = load(ctx, scenario)
    opts = PlanOptions(solve=SolveOptions(mip_rel_gap=gap, time_limit=time_limit, node_limit=node_limit))
    with progress(quiet) as say:
        say("reading the scenario and building the rate table")
        nominal = None
        if robust:
            table = scn.rate_table()
            say("solving the nominal plan (central rates) to price the robust one against")
            nominal = plan(inputs_from_scenario(scn, table=table), opts, progress=say)
            inp = inputs_from_scenario(scn, table=table.pessimistic())
        else:
            inp = inputs_from_scenario(scn)
        if paths is None:
            result = plan(inp, opts, progress=say)
        else:
            result = plan_scenario_paths(scn, inp, paths, opts.solve, say)
        sens = run_sensitivity(scn, inp, opts.solve, say) if sensitivity else None
        dl = deals_vs_free(inp, opts, progress=say, as_signed=result) if deals and result.feasible else None
        cmp = do_compare(inp, opts, policy=None, progress=say) if compare else None
        fr = do_frontier(inp, lv, opts, progress=say) if frontier else None
    doc = result.to_dict()
    if nominal is not None:
        doc["robust"] = robust_cost(result, nominal)
    if dl is not None:
        doc["deals"] = dl.to_dict()
    if cmp is not None:
        doc["compare"] = cmp.rows()
    if fr is not None:
        doc["frontier"] = fr.rows()
    if sens is not None:
        doc["sensitivity"] = sens.to_dict()
    if out is not None:
        sections = html.plan_sections(result)
        if result.paths is not None:
            sections.append(html.paths_section(result.paths))
        if sens is not None:
            sections.append(html.sensitivity_section(sens.to_dict()))
        if dl is not None:
            sections.append(deals_section(dl))
        if cmp is not None:
            sections.append(html.compare_section(cmp))
        if fr is not None:
            sections.append(html.frontier_section(fr))
        files = {"plan.json": json.dumps(jsonable(doc), indent=1), "plan.csv": to_csv(result.offering_rows()),
                 "months.csv": to_csv(result.month_rows()),
                 "survivability.csv": to_csv(result.survivability.rows() if result.survivability else []),
                 "binding.csv": to_csv(doc.get("binding_constraints", [])),
                 "procurement.csv": to_csv(procurement_rows(result)) or ",".join(PROCUREMENT_FIELDS) + "\n",
                 "report.html": html.render(f"polyfleet plan: {inp.name}", sections, scn.description.strip())}
        if cmp is not None:
            files["compare.csv"] = to_csv(cmp.rows())
        if fr is not None:
            files["frontier.csv"] = to_csv(fr.rows())
        if result.paths is not None:
            files["paths.csv"] = to_csv(result.paths["paths"])
        if sens is not None:
            files["sensitivity.csv"] = to_csv(sens.rows)
        written = write_outputs(out, files, overwrite)
    if fmt == "json":
        print(json.dumps(jsonable(doc), indent=2))
    elif fmt == "csv":
        sys.stdout.write(to_csv(result.offering_rows()))
    else:
        _print_tables(result, cmp, fr)
        if dl is not None:
            print_deals(dl)
        if nominal is not None:
            _print_robust(doc["robust"])
        console = Console(width=None if sys.stdout.isatty() else 160)
        if result.paths is not None:
            print_paths(result.paths, console)
        if sens is not None:
            print_sensitivity(sens.to_dict(), console)
        if paths is None and (scn.uncertainty.paths or scn.uncertainty.sample):
            console.print("[dim]the scenario's uncertainty: section is read by --paths N[/dim]")
    if out is not None:
        Console(stderr=True).print(f"[dim]wrote {len(written)} files to {out} (open {out / 'report.html'})[/dim]")
    if not result.feasible:
        raise typer.Exit(code=EXIT_INFEASIBLE)


def robust_cost(robust, nominal) -> dict:
    """What planning at the pessimistic rates costs over the nominal plan, and how the mix moves.

    Both plans are HiGHS solves within the same gap, so a difference smaller than the gaps is noise."""
    out = {"rates": "P10 of each modelled cell's held-out error band; measured cells keep their rate",
           "nominal_feasible": nominal.feasible, "robust_feasible": robust.feasible}
    if not (nominal.feasible and robust.feasible):
        return out
    extra = robust.total_cost - nominal.total_cost
    gaps = [s.solution.mip_gap for s in (robust, nominal)]
    mixes = {k: {f: v["chips"] for f, v in r.mix_by_family().items()} for k, r in (("nominal", nominal),
                                                                                   ("robust", robust))}
    out.update(nominal_cost_usd=nominal.total_cost, robust_cost_usd=robust.total_cost, extra_usd=extra,
               extra_share=extra / nominal.total_cost if nominal.total_cost else None,
               mip_gaps=gaps, last_month_chips_by_family=mixes)
    return out


def _print_robust(r: dict) -> None:
    console = Console(width=None if sys.stdout.isatty() else 160)
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


def _print_tables(result, cmp, fr) -> None:
    from ..catalog import FAMILIES
    from ..report.board import board, board_lines
    console = Console(width=None if sys.stdout.isatty() else 160)
    inp = result.inputs
    if result.feasible:
        for i, line in enumerate(board_lines(board(result))):
            console.print(f"[bold]{escape(line)}[/bold]" if i == 0 else escape(line), highlight=False)
        console.print()
    console.print(f"[bold]{escape(inp.name)}[/bold]: {inp.months[0]} .. {inp.months[-1]}, "
                  f"{plural(inp.O, 'offering')}, {plural(inp.W, 'workload')}, "
                  f"{plural(len(inp.contingencies), 'failure set')}")
    style = "green" if result.feasible and result.solution.optimal else "yellow"
    console.print(f"[{style}]{escape(result.status_line)}[/{style}]")
    if not result.feasible:
        if result.diagnosis is None:
            console.print(f"[bold red]HiGHS found no plan ({escape(result.solution.status)}); that does not prove none "
                          "exists: raise --time-limit or --gap.[/bold red]")
            return
        console.print("[bold red]No plan satisfies every constraint. What cannot hold together:[/bold red]")
        for line in result.diagnosis.lines():
            console.print(f"  - {escape(line)}")
        return
    rows = result.month_rows()
    cols = [Column("month", "month", justify="left")] + [Column(f"{f}_chips", f"{f} chips") for f in FAMILIES] + [
        Column("chips", "chips"), Column("mw", "facility power", megawatts), Column("cost_usd", "cost", money),
        Column("top_vendor", "top vendor", justify="left"), Column("top_provider", "top cloud", justify="left")]
    emit(rows, "table", cols, title="Capacity, power and cost by month", console=console)
    step = max(1, inp.T // 6)
    picked = list(range(0, inp.T, step)) + ([inp.T - 1] if (inp.T - 1) % step else [])
    chips = result.chips
    prow = []
    for o in range(inp.O):
        if chips[o].max() <= 0:
            continue
        r = {"offering": inp.offerings[o]}
        for t in picked:
            r[inp.months[t]] = float(chips[o, t])
        r["cost_usd"] = float(result.cost[o].sum())
        prow.append(r)
    emit(prow, "table", [Column("offering", "offering (chips held)", justify="left")] +
         [Column(inp.months[t], inp.months[t]) for t in picked] + [Column("cost_usd", "cost", money)],
         title="Plan: chips per offering (selected months; every month in --out plan.csv)", console=console)
    _print_runs(result, console)
    srows = []
    for dim in ("vendor", "provider", "family"):
        groups, sh = result.shares(dim)
        for g, s in zip(groups, sh):
            srows.append({"group": f"{dim} {g}", **{inp.months[t]: float(s[t]) for t in picked}})
    emit(srows, "table", [Column("group", f"share of {inp.share_measure}", justify="left")] +
         [Column(inp.months[t], inp.months[t], pct) for t in picked], title="Shares of capacity", console=console)
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
    print_sites(result, console)
    print_contracts(result, console)
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
    if cmp is not None:
        cols = [Column("strategy", "strategy", justify="left"), Column("status", "status", justify="left"),
                Column("cost_usd", "cost", money), Column("premium_vs_least_cost", "premium", pct),
                Column("worst_protected_share", "worst protected served", pct),
                Column("failures_passed", "failure sets passed", justify="left"),
                Column("lock_in_share", "lock-in", pct), Column("mix", "mix (MW)", justify="left")]
        emit(cmp.rows(), "table", cols, title="Diversification: cost premium vs what survives", console=console)
        for r in cmp.rows():
            if r["reason"]:
                console.print(f"[dim]  {escape(r['strategy'])}: {escape(r['reason'])}[/dim]")
    if fr is not None:
        cols = [Column("required_share", "required", pct), Column("status", "status", justify="left"),
                Column("cost_usd", "cost", money), Column("premium_vs_first", "premium", pct),
                Column("worst_protected_share", "worst served", pct), Column("mix", "mix (MW)", justify="left")]
        emit(fr.rows(), "table", cols, title="Cost vs resilience (frontier)", console=console)


def _print_runs(result, console) -> None:
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


@app.command("scenario", epilog="Examples:\n\n  polyfleet scenario\n\n  polyfleet scenario examples/midsize-gpu-tpu.yaml"
             "\n\n  polyfleet scenario my.yaml --format json\n\n  polyfleet scenario --list\n\n"
             "A scenario this command calls valid is one every other command accepts: it is read, checked "
             "against the catalog and model library, and turned into the planner's inputs (no solve).")
def scenario_cmd(
    ctx: typer.Context,
    scenario: str = opt.SCENARIO,
    list_: bool = typer.Option(False, "--list", help="List the built-in scenarios."),
    fmt: str = opt.FORMAT,
) -> None:
    """Validate a scenario file and summarise it (errors name file:line, field and allowed values)."""
    from ..errors import UserError
    from ..plan.from_scenario import inputs_from_scenario
    from ..scenario import builtin_scenarios
    preflight.options(ctx)
    if list_:
        if preflight.given(ctx, "scenario"):
            raise UserError("lists the built-in scenarios: give SCENARIO or --list, not both", field="--list")
        emit([{"name": n} for n in builtin_scenarios()], fmt, [Column("name", "built-in scenario", justify="left")])
        return
    scn = load(ctx, scenario)
    inputs_from_scenario(scn)            # what `plan` would reject before solving, rejected here too
    summary = scn.summary()
    rows = [{"field": k, "value": _summary_value(k, v)} for k, v in summary.items()]
    emit(rows, fmt, [Column("field", "field", justify="left"), Column("value", "value", justify="left")],
         title=f"Scenario {scn.name or scenario}: valid", document=summary)


SHARE_KEYS = ("protected_classes", "caps")


def _summary_value(key: str, v, shares: bool = False) -> str:
    """A summary value as a reader takes it: lists as lists, mappings as `key: value`, the horizon as a
    span, shares (survivability, caps) as percentages."""
    if key == "horizon" and isinstance(v, dict):
        return f"{v['start']} .. {v['end']} ({v['months']} months)"
    shares = shares or key in SHARE_KEYS
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v) or "none"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_summary_value(k, x, shares)}" for k, x in v.items()) or "none"
    if isinstance(v, str):
        return v
    return pct(v) if shares else sig(v)
