"""`polyfleet plan` and `polyfleet scenario`: the capacity portfolio planner's face."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console

from ..errors import EXIT_INFEASIBLE
from ..report.tables import Column, emit, jsonable, sig
from . import app, options as opt, preflight
from .common import load, pct, progress, to_csv, write_outputs

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
    from ..plan import PlanOptions, SolveOptions
    from .plan_run import PlanAsks, solve_run

    preflight.options(ctx, outputs=PLAN_FILES + ("compare.csv",) * compare + ("frontier.csv",) * frontier
                      + ("paths.csv",) * (paths is not None) + ("sensitivity.csv",) * sensitivity)
    asks = PlanAsks(compare=compare, frontier=frontier, levels=tuple(preflight.levels(levels)) if frontier else (),
                    deals=deals, robust=robust, paths=paths, sensitivity=sensitivity)
    scn = load(ctx, scenario)
    opts = PlanOptions(solve=SolveOptions(mip_rel_gap=gap, time_limit=time_limit, node_limit=node_limit))
    with progress(quiet) as say:
        run = solve_run(scn, opts, asks, say)
    doc = run.document()
    if out is not None:
        written = write_outputs(out, run.files(doc), overwrite)
    if fmt == "json":
        print(json.dumps(jsonable(doc), indent=2))
    elif fmt == "csv":
        sys.stdout.write(to_csv(run.result.offering_rows()))
    else:
        run.print_tables(doc)
    if out is not None:
        Console(stderr=True).print(f"[dim]wrote {len(written)} files to {out} (open {out / 'report.html'})[/dim]")
    if not run.result.feasible:
        raise typer.Exit(code=EXIT_INFEASIBLE)


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
