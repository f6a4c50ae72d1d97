"""`polyfleet simulate` and `polyfleet risk`: a plan through a year of faults, once or many times."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import typer
from rich.console import Console

from ..errors import InfeasibleError
from ..report.tables import Column, emit, jsonable, num
from . import app, options as opt, preflight
from ..report.units import energy, plural
from .common import counter, load, money, pct, progress, to_csv, write_outputs

FORMAT = opt.FORMAT_OUT
SCENARIO = opt.SCENARIO
MONTHS = opt.MONTHS
STEP = opt.STEP
OUT = opt.OUT
OVERWRITE = opt.OVERWRITE
QUIET = opt.QUIET
WHAT_IF = opt.WHAT_IF
SIMULATE_FILES = ("simulation.json", "incidents.csv", "classes.csv", "hourly.csv", "report.html")
RISK_FILES = ("risk.json", "risk.csv", "plan.json", "report.html")


def _options(scn, months: int | None, step_minutes: float | None):
    """The scenario's simulation options with --months / --step-minutes (checked by `preflight`)."""
    upd = {}
    if months is not None:
        upd["months"] = months
    if step_minutes is not None:
        upd["step_minutes"] = step_minutes
    return scn.simulation.model_copy(update=upd)


def _plan_options(gap: float, time_limit: float):
    from ..plan import PlanOptions, SolveOptions
    return PlanOptions(solve=SolveOptions(mip_rel_gap=gap, time_limit=time_limit))


def _plan(scn, say, options=None):
    from ..plan import PlanOptions, plan
    from ..plan.from_scenario import inputs_from_scenario
    inp = inputs_from_scenario(scn)
    result = plan(inp, options or PlanOptions(), progress=say)
    if not result.feasible:
        lines = result.diagnosis.lines() if result.diagnosis else [result.status_line]
        raise InfeasibleError("the scenario has no plan to simulate", lines[:3], where=scn.source_name)
    return inp, result


@app.command("simulate", epilog="Examples:\n\n"
             "  polyfleet simulate                      (a sampled year of faults on frontier-2026's plan)\n\n"
             "  polyfleet simulate --no-faults --what-if outage:provider=gcp,day=100,hours=48\n\n"
             "  polyfleet simulate examples/second-vendor.yaml --seed 7 --out sim-out\n\n"
             "Faults and their parameters come from the scenario's `faults:` section (defaults are labelled "
             "assumptions); the plan is solved first, then run step by step (default 5 minutes) with the "
             "placement policies re-placing on every capacity change.")
def simulate_cmd(
    ctx: typer.Context,
    scenario: str = SCENARIO,
    what_if: list[str] = WHAT_IF,
    no_faults: bool = typer.Option(False, "--no-faults", help="Only the --what-if events, no sampled faults."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sampled faults and traffic."),
    months: int | None = MONTHS,
    step_minutes: float | None = STEP,
    gap: float = opt.GAP,
    time_limit: float = opt.TIME_LIMIT,
    out: Path | None = OUT,
    fmt: str = FORMAT,
    overwrite: bool = OVERWRITE,
    quiet: bool = QUIET,
) -> None:
    """A plan through a year of demand and faults: what was served, lost, whom it hurt, what it cost."""
    from ..report import html, protect
    from ..sim.build import setup_from_plan
    from ..sim.faults import MONTH, parse_what_if, sample_timeline
    from ..sim.fleet import simulate

    preflight.options(ctx, outputs=SIMULATE_FILES)
    scn = load(ctx, scenario)
    preflight.simulation(scn, what_if, months)
    opts = _options(scn, months, step_minutes)
    with progress(quiet) as say:
        say("planning")
        _, result = _plan(scn, say, _plan_options(gap, time_limit))
        setup = setup_from_plan(scn, result, "plan", options=opts)
        fixed = [parse_what_if(w, setup.universe) for w in what_if]
        n_months = setup.months
        ss_faults, ss_traffic = np.random.SeedSequence(seed).spawn(2)
        events = sample_timeline(setup.faults, setup.universe, n_months * MONTH, np.random.default_rng(ss_faults),
                                 sampled=not no_faults)
        events = sorted(events + fixed, key=lambda e: (e.start_s, e.kind, e.target))
        say(f"simulating {n_months} months in {opts.step_minutes:g}-minute steps")
        run = simulate(setup, events, np.random.default_rng(ss_traffic), keep_series=True)
    doc = _run_doc(setup, run, seed, no_faults, what_if)
    n_sampled = sum(e.sampled for e in events)
    note = (f"{'no sampled faults' if no_faults else f'{n_sampled} sampled fault events (seed {seed})'}"
            + (f"; what-ifs: {', '.join(what_if)}" if what_if else ""))
    if out is not None:
        sections = html.plan_sections(result) + protect.simulation_sections(setup, run, note)
        hourly = run.series["hourly_served_share"]
        files = {"simulation.json": json.dumps(jsonable(doc), indent=1),
                 "incidents.csv": to_csv(doc["incidents"]), "classes.csv": to_csv(doc["classes"]),
                 "hourly.csv": to_csv([{"hour": h, **{c: float(hourly[h, k]) for k, c in enumerate(run.classes)},
                                        "customers_affected": int(run.series["hourly_customers_affected"][h])}
                                       for h in range(len(hourly))]),
                 "report.html": html.render(f"polyfleet simulate: {scn.name or scn.source_name}", sections, note)}
        written = write_outputs(out, files, overwrite)
    if fmt == "json":
        print(json.dumps(jsonable(doc), indent=2))
    elif fmt == "csv":
        sys.stdout.write(to_csv(doc["classes"]))
    else:
        _print_run(doc, note)
    if out is not None:
        Console(stderr=True).print(f"[dim]wrote {len(written)} files to {out} (open {out / 'report.html'})[/dim]")


def _run_doc(setup, run, seed, no_faults, what_if) -> dict:
    served = run.served_share(setup.inference)
    classes = [{"class": c, "served_share": float(served[k]), "worst_hour_loss": float(run.worst_hour_loss[k]),
                "worst_day_loss": float(run.worst_day_loss[k]), "slo_attainment": float(run.slo_attainment[k]),
                "demand_tokens": float(run.demand_tokens[:, k].sum()),
                "served_tokens": float(run.served_tokens[:, k].sum())} for k, c in enumerate(run.classes)]
    incidents = [{"incident": i.label, "kind": i.kind, "target": f"{i.target_kind}:{i.target}",
                  "start_day": i.start_day, "hours": i.hours, "impact_hours": i.impact_hours,
                  "unserved_tokens": float(i.unserved_tokens.sum()),
                  "value_lost_usd": float((i.unserved_tokens * setup.loss_usd_per_mtok).sum() / 1e6),
                  "customers_affected": i.customers_affected, "customer_hours": i.customer_hours,
                  "sampled": i.sampled} for i in run.incidents]
    incidents.sort(key=lambda d: -d["value_lost_usd"])
    return {"seed": seed, "sampled_faults": not no_faults, "what_if": list(what_if), "months": run.months,
            "step_minutes": setup.options.step_minutes, "classes": classes, "incidents": incidents,
            "training_delay_days": {w: float(run.training_delay_days[i]) for i, w in enumerate(run.workloads)
                                    if setup.kinds[i] == "training" and run.demand_tokens[i].sum() > 0},
            "cost_planned_usd": run.cost_planned_usd, "cost_actual_usd": run.cost_actual_usd,
            "stranded_commitment_usd": run.stranded_usd, "energy_mwh": run.energy_mwh,
            "customers": run.customers, "placements": run.placements,
            "top_customer_loss_tokens": list(run.top_customer_loss_tokens)}


def _print_run(doc: dict, note: str) -> None:
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(f"[bold]Simulated {doc['months']} months[/bold] ({note})")
    emit(doc["classes"], "table", [Column("class", "class (priority order)", justify="left"),
                                   Column("served_share", "served", pct),
                                   Column("worst_hour_loss", "worst hour lost", pct),
                                   Column("worst_day_loss", "worst day lost", pct),
                                   Column("slo_attainment", "steps within SLO", pct)],
         title="Inference demand by class", console=console)
    top = [d for d in doc["incidents"] if d["unserved_tokens"] > 0][:10]
    emit(top, "table", [Column("incident", "incident", justify="left"), Column("start_day", "day", num(1)),
                        Column("hours", "hours", num(1)), Column("impact_hours", "hours with loss", num(1)),
                        Column("value_lost_usd", "value lost", money),
                        Column("customers_affected", "customers hit"), Column("customer_hours", "customer-hours",
                                                                              num(0))],
         title=f"Costliest incidents ({len(doc['incidents'])} touched the fleet; {len(top)} cost service)",
         console=console)
    for w, d in doc["training_delay_days"].items():
        console.print(f"training {w}: {d:.1f} days behind plan")
    console.print(f"cost: planned {money(doc['cost_planned_usd'])}, actual {money(doc['cost_actual_usd'])}; "
                  f"stranded commitments {money(doc['stranded_commitment_usd'])}; energy "
                  f"{energy(doc['energy_mwh'])}; {plural(doc['customers'], 'customer')} modelled")


@app.command("risk", epilog="Examples:\n\n"
             "  polyfleet risk --runs 200 --out report          (plan, compare strategies, stress them all)\n\n"
             "  polyfleet risk examples/second-vendor.yaml --runs 1000 --seed 3 --workers 2\n\n"
             "  polyfleet risk --runs 500 --ray auto             (on a Ray cluster; pip install 'polyfleet\\[ray]')\n\n"
             "Every strategy (the diversified plan, the least-cost plan, single-vendor and single-cloud plans) "
             "runs through the same sampled fault timelines and traffic, so their difference is theirs. Same "
             "seed, same numbers, on a process pool or on Ray.")
def risk_cmd(
    ctx: typer.Context,
    scenario: str = SCENARIO,
    runs: int = typer.Option(100, "--runs", "-n", help="Monte Carlo runs (independent fault timelines)."),
    seed: int = typer.Option(0, "--seed", help="Seed; run i uses the i-th child of it."),
    workers: int | None = typer.Option(None, "--workers", help="Local processes (default: all cores)."),
    ray: str | None = typer.Option(None, "--ray", metavar="ADDRESS", help="Run on Ray: auto, local or ray://host:port."),
    compare: bool = typer.Option(True, "--compare/--no-compare", help="Also stress the single-vendor, single-cloud "
                                 "and least-cost plans."),
    what_if: list[str] = WHAT_IF,
    months: int | None = MONTHS,
    step_minutes: float | None = STEP,
    gap: float = opt.GAP,
    time_limit: float = opt.TIME_LIMIT,
    out: Path | None = OUT,
    fmt: str = FORMAT,
    overwrite: bool = OVERWRITE,
    quiet: bool = QUIET,
) -> None:
    """Monte Carlo risk of the plan and its alternatives: is diversification worth it?"""
    from ..plan import compare as do_compare
    from ..report import html, protect
    from ..sim.build import setup_from_plan
    from ..sim.faults import parse_what_if
    from ..sim.risk import run_risk

    preflight.options(ctx, outputs=RISK_FILES)
    scn = load(ctx, scenario)
    preflight.simulation(scn, what_if, months)
    opts = _options(scn, months, step_minutes)
    plan_opts = _plan_options(gap, time_limit)
    with progress(quiet) as say:
        say("planning")
        inp, result = _plan(scn, say, plan_opts)
        cmp = do_compare(inp, plan_opts, policy=result, progress=say) if compare else None
        say("preparing the strategies")
        table = scn.rate_table()
        plans = [("policy (diversified)", result)]
        if cmp is not None:
            plans += [(s.name, s.result) for s in cmp.strategies[1:] if s.feasible and s.result is not None]
        setups, seen = [], set()
        for name, res in plans:
            key = res.chips.tobytes()
            if key in seen:          # the same fleet under two names (e.g. one vendor on one cloud)
                continue
            seen.add(key)
            setups.append(setup_from_plan(scn, res, name, table, options=opts))
        fixed = [parse_what_if(w, setups[0].universe) for w in what_if]
    with counter(quiet, runs, f"Monte Carlo, {len(setups)} strategies", "runs") as advance:
        risk = run_risk(setups, runs, seed, fixed=fixed, workers=workers, ray_address=ray, progress=advance)
    rows = risk.rows()
    doc = {"runs": runs, "seed": seed, "months": risk.months, "what_if": list(what_if),
           "daily_loss_threshold": risk.threshold, "wall_seconds": risk.wall_seconds, "strategies": rows,
           "tail_incidents": {s.name: s.tail_incidents for s in risk.strategies}}
    if out is not None:
        sections = html.plan_sections(result) + ([html.compare_section(cmp)] if cmp is not None else [])
        sections += protect.risk_sections(risk)
        files = {"risk.json": json.dumps(jsonable(doc), indent=1), "risk.csv": to_csv(rows),
                 "plan.json": json.dumps(jsonable(result.to_dict()), indent=1),
                 "report.html": html.render(f"polyfleet risk: {scn.name or scn.source_name}", sections,
                                            f"{runs} Monte Carlo runs, seed {seed}")}
        written = write_outputs(out, files, overwrite)
    if fmt == "json":
        print(json.dumps(jsonable(doc), indent=2))
    elif fmt == "csv":
        sys.stdout.write(to_csv(rows))
    else:
        _print_risk(risk, rows)
    if out is not None:
        Console(stderr=True).print(f"[dim]wrote {len(written)} files to {out} (open {out / 'report.html'})[/dim]")


def _print_risk(risk, rows) -> None:
    console = Console(width=None if sys.stdout.isatty() else 200)
    thr = risk.threshold
    classes = risk.strategies[0].classes
    cols = [Column("strategy", "strategy", justify="left"), Column("planned_cost_usd", "planned cost", money),
            Column("expected_cost_usd", "E[cost]", money), Column("cvar95_total_usd", "CVaR95 all-in", money)]
    for c in classes[:3]:
        cols += [Column(f"{c}_unserved_mean", f"{c} E[lost]", pct), Column(f"{c}_unserved_p99", "P99", pct),
                 Column(f"{c}_p_day_loss_gt_{thr:g}", f"P(day >{thr:.0%})", pct)]
    emit(rows, "table", cols, console=console,
         title=f"{plural(risk.runs, 'run')} x {plural(len(rows), 'strategy', 'strategies')}, "
               f"{plural(risk.months, 'month')}, seed {risk.seed} "
               f"({risk.wall_seconds:.0f} s): the same faults for every strategy")
    for s in risk.strategies[:1]:
        if s.tail_incidents:
            emit(s.tail_incidents[:5], "table", [Column("incident", "incident", justify="left"),
                                                 Column("occurrences", "times in worst 5% of runs"),
                                                 Column("loss_usd", "value lost per tail run", money)],
                 title=f"What drives the tail of '{s.name}'", console=console)
    console.print("[dim]All-in = money spent + commitments stranded + value of lost demand; CVaR95 = mean of the "
                  "worst 5% of runs. P(day >x) = probability the class loses more than x of a day's demand.[/dim]")
