"""`polyfleet simulate` and `polyfleet risk`: a plan through a year of faults, once or many times."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.text import Text

from ..errors import InfeasibleError
from ..report.tables import Column, emit, jsonable, num
from ..report.units import count, energy, plural
from . import app, options as opt, preflight
from .common import counter, load, money, pct, progress, to_csv, write_outputs

FORMAT = opt.FORMAT_OUT
SCENARIO = opt.SCENARIO
MONTHS = opt.MONTHS
STEP = opt.STEP
OUT = opt.OUT
OVERWRITE = opt.OVERWRITE
QUIET = opt.QUIET
WHAT_IF = opt.WHAT_IF
SIMULATE_FILES = ("simulation.json", "incidents.csv", "classes.csv", "training.csv", "hourly.csv", "report.html")
RISK_FILES = ("risk.json", "risk.csv", "inference.csv", "training.csv", "plan.json", "report.html")


def _options(scn, months: int | None, step_minutes: float | None):
    """The scenario's simulation options with --months / --step-minutes (checked by `preflight`)."""
    upd = {}
    if months is not None:
        upd["months"] = months
    if step_minutes is not None:
        upd["step_minutes"] = step_minutes
    return scn.simulation.model_copy(update=upd)


def _plan_options(gap: float, time_limit: float, node_limit: int = 5000):
    from ..plan import PlanOptions, SolveOptions
    return PlanOptions(solve=SolveOptions(mip_rel_gap=gap, time_limit=time_limit, node_limit=node_limit))


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
             "  polyfleet simulate                      (sampled faults over frontier-2026's whole plan)\n\n"
             "  polyfleet simulate --no-faults --what-if outage:provider=gcp,day=100,hours=48\n\n"
             "  polyfleet simulate examples/second-vendor.yaml --seed 7 --out sim-out\n\n"
             "Faults and their parameters come from the scenario's `faults:` section (defaults are labelled "
             "assumptions); the plan is solved first, then run step by step (default 5 minutes) with the "
             "placement policies re-placing on every capacity change. Inference classes and training are "
             "reported apart, each shortfall with its causes.")
def simulate_cmd(
    ctx: typer.Context,
    scenario: str = SCENARIO,
    what_if: list[str] = WHAT_IF,
    no_faults: bool = typer.Option(False, "--no-faults", help="No sampled faults and no chip failures: only the "
                                   "--what-if events."),
    seed: int = opt.SEED,
    months: int | None = MONTHS,
    step_minutes: float | None = STEP,
    gap: float = opt.GAP,
    time_limit: float = opt.TIME_LIMIT,
    node_limit: int = opt.NODE_LIMIT,
    out: Path | None = OUT,
    fmt: str = FORMAT,
    overwrite: bool = OVERWRITE,
    quiet: bool = QUIET,
) -> None:
    """A plan through its months of demand and faults: what was served, trained, lost, whom it hurt, what it cost."""
    from ..report import html, protect, sim_doc
    from ..scenario.faults import ChipFailures
    from ..sim.build import setup_from_plan
    from ..sim.faults import parse_what_if, sample_timeline
    from ..sim.fleet import simulate

    preflight.options(ctx, outputs=SIMULATE_FILES)
    scn = load(ctx, scenario)
    preflight.simulation(scn, what_if, months)
    opts = _options(scn, months, step_minutes)
    faults = scn.faults.model_copy(update={"chip_failures": ChipFailures(annual_failure_rate=0.0)}) if no_faults \
        else None
    with progress(quiet) as say:
        say("planning")
        _, result = _plan(scn, say, _plan_options(gap, time_limit, node_limit))
        setup = setup_from_plan(scn, result, "plan", faults=faults, options=opts)
        fixed = [parse_what_if(w, setup.universe, setup.horizon_s) for w in what_if]
        ss_faults, ss_traffic = np.random.SeedSequence(seed).spawn(2)
        events = sample_timeline(setup.faults, setup.universe, setup.horizon_s, np.random.default_rng(ss_faults),
                                 sampled=not no_faults, month_s=setup.month_s)
        events = sorted(events + fixed, key=lambda e: (e.start_s, e.kind, e.target))
        say(f"simulating {setup.scope} in {opts.step_minutes:g}-minute steps")
        run = simulate(setup, events, np.random.default_rng(ss_traffic), keep_series=True)
    doc = sim_doc.run_doc(setup, run, seed=seed, sampled=not no_faults, chip_failures=not no_faults, what_if=what_if)
    n_sampled = sum(e.sampled for e in events)
    sampled_note = f"{n_sampled} sampled fault events (seed {seed})"
    note = (f"{'no sampled faults, no chip failures' if no_faults else sampled_note}"
            + (f"; what-ifs: {', '.join(what_if)}" if what_if else ""))
    if out is not None:
        sections = protect.simulation_sections(setup, run, doc, note) + [protect.plan_summary_section(result)]
        files = {"simulation.json": json.dumps(jsonable(doc), indent=1),
                 "incidents.csv": to_csv(doc["incidents"]), "classes.csv": to_csv(doc["classes"]),
                 "training.csv": to_csv(doc["training"]), "hourly.csv": to_csv(protect.hourly_rows(run)),
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


def _count(v) -> str:
    return count(v)


def _print_run(doc: dict, note: str) -> None:
    from ..report.sim_doc import CAUSE_WORDS, key
    from ..sim.serve import CAUSES
    from ..sim.training import TRAINING_CAUSES
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(f"[bold]Simulated the {doc['scope']}[/bold], {doc['start']} .. {doc['end']} ({note})")
    emit(doc["classes"], "table", [Column("class", "class (priority order)", justify="left"),
                                   Column("served_share", "served", pct),
                                   Column("worst_hour_loss", "worst hour lost", pct),
                                   Column("worst_day_loss", "worst day lost", pct),
                                   Column("slo_attainment", "steps within SLO", pct)]
         + [Column(f"lost_share_{c}", f"lost: {CAUSE_WORDS[c]}", pct) for c in CAUSES],
         title="Inference demand by class (share of the class's demand)", console=console)
    if doc["training"]:
        emit(doc["training"], "table", [Column("workload", "training", justify="left"),
                                        Column("trained_share", "trained", pct),
                                        Column("delay_days", "days behind plan", num(1))]
             + [Column(f"delay_days_{key(c)}", CAUSE_WORDS[c], num(1)) for c in TRAINING_CAUSES],
             title="Training against the plan's pace (days behind, by cause)", console=console)
    top = [d for d in doc["incidents"] if d["unserved_tokens"] > 0][:10]
    emit(top, "table", [Column("incident", "incident", justify="left"), Column("when", "when (UTC), length",
                                                                             justify="left"),
                        Column("impact_hours", "hours with loss", num(1)),
                        Column("value_lost_usd", "value lost", money),
                        Column("customers_affected", "customers hit", _count),
                        Column("customer_hours", "customer-hours", _count)],
         title=f"Costliest incidents ({len(doc['incidents'])} touched the fleet; {len(top)} cost service)",
         console=console)
    console.print(f"cost of the {doc['scope']}: planned {money(doc['cost_planned_usd'])}, actual "
                  f"{money(doc['cost_actual_usd'])}; stranded commitments {money(doc['stranded_commitment_usd'])}; "
                  f"energy {energy(doc['energy_mwh'])}; customers modelled: {_count(doc['customers'])}")
    for n in doc["notes"]:
        console.print(Text(f"note: {n}", style="dim"))
    console.print(Text("Causes: " + "; ".join(doc["cause_notes"]), style="dim"))


@app.command("risk", epilog="Examples:\n\n"
             "  polyfleet risk --runs 200 --out report          (plan, compare strategies, stress them all)\n\n"
             "  polyfleet risk examples/second-vendor.yaml --runs 1000 --seed 3 --workers 2\n\n"
             "  polyfleet risk --runs 500 --ray auto             (on a Ray cluster; pip install 'polyfleet\\[ray]')\n\n"
             "Every strategy (the diversified plan, the least-cost plan, single-vendor and single-cloud plans) "
             "runs through the same sampled fault timelines and traffic, so their difference is theirs. Same "
             "seed, same numbers, on a process pool or on Ray. Every figure has its 95% interval; a tail figure "
             "from too few runs says so.")
def risk_cmd(
    ctx: typer.Context,
    scenario: str = SCENARIO,
    runs: int = typer.Option(100, "--runs", "-n", help="Monte Carlo runs (independent fault timelines)."),
    seed: int = opt.SEED,
    workers: int | None = opt.WORKERS,
    ray: str | None = typer.Option(None, "--ray", metavar="ADDRESS", help="Run on Ray: auto, local or ray://host:port."),
    compare: bool = typer.Option(True, "--compare/--no-compare", help="Also stress the single-vendor, single-cloud "
                                 "and least-cost plans."),
    what_if: list[str] = WHAT_IF,
    months: int | None = MONTHS,
    step_minutes: float | None = STEP,
    gap: float = opt.GAP,
    time_limit: float = opt.TIME_LIMIT,
    node_limit: int = opt.NODE_LIMIT,
    out: Path | None = OUT,
    fmt: str = FORMAT,
    overwrite: bool = OVERWRITE,
    quiet: bool = QUIET,
) -> None:
    """Monte Carlo risk of the plan and its alternatives: is diversification worth it?"""
    from ..plan import compare as do_compare
    from ..report import html, protect, risk_doc
    from ..sim.risk import run_risk

    preflight.options(ctx, outputs=RISK_FILES)
    scn = load(ctx, scenario)
    preflight.simulation(scn, what_if, months)
    opts = _options(scn, months, step_minutes)
    plan_opts = _plan_options(gap, time_limit, node_limit)
    with progress(quiet) as say:
        say("planning")
        inp, result = _plan(scn, say, plan_opts)
        cmp = do_compare(inp, plan_opts, policy=result, progress=say) if compare else None
        say("preparing the strategies")
        setups, aliases, skipped = _strategy_setups(scn, result, cmp, opts)
        fixed = [parse_what_if_checked(w, setups[0]) for w in what_if]
    with counter(quiet, runs, f"Monte Carlo, {plural(len(setups), 'strategy', 'strategies')}", "runs") as advance:
        risk = run_risk(setups, runs, seed, fixed=fixed, workers=workers, ray_address=ray, progress=advance,
                        aliases=aliases)
    risk.skipped = skipped
    doc = risk_doc.risk_doc(risk, what_if=what_if, money=money)
    if out is not None:
        sections = protect.risk_sections(risk, doc) + [protect.plan_summary_section(result)]
        files = {"risk.json": json.dumps(jsonable(doc), indent=1), "risk.csv": to_csv(doc["strategies"]),
                 "inference.csv": to_csv(doc["inference"]), "training.csv": to_csv(doc["training"]),
                 "plan.json": json.dumps(jsonable(result.to_dict()), indent=1),
                 "report.html": html.render(f"polyfleet risk: {scn.name or scn.source_name}", sections,
                                            f"{runs} Monte Carlo runs over the {risk.scope}, seed {seed}")}
        written = write_outputs(out, files, overwrite)
    if fmt == "json":
        print(json.dumps(jsonable(doc), indent=2))
    elif fmt == "csv":
        sys.stdout.write(to_csv(doc["strategies"]))
    else:
        _print_risk(risk, doc)
    if out is not None:
        Console(stderr=True).print(f"[dim]wrote {len(written)} files to {out} (open {out / 'report.html'})[/dim]")


def parse_what_if_checked(text: str, setup):
    from ..sim.faults import parse_what_if
    return parse_what_if(text, setup.universe, setup.horizon_s)


def _strategy_setups(scn, result, cmp, opts):
    """One setup per distinct fleet (a fleet under several names runs once, listed under each), and a
    note for every strategy with no plan."""
    from ..sim.build import setup_from_plan
    table = scn.rate_table()
    plans = [("policy (diversified)", result)]
    skipped = []
    if cmp is not None:
        for s in cmp.strategies[1:]:
            if s.feasible and s.result is not None:
                plans.append((s.name, s.result))
            else:
                skipped.append({"strategy": s.name, "note": "no plan: " + ("; ".join(s.reason[:1]) or s.status)})
    setups, aliases, seen = [], [], {}
    for name, res in plans:
        fleet_key = res.chips.tobytes() + (res.allocation.tobytes() if res.allocation is not None else b"")
        if fleet_key in seen:
            aliases[seen[fleet_key]].append(name)
            continue
        seen[fleet_key] = len(setups)
        setups.append(setup_from_plan(scn, res, name, table, options=opts))
        aliases.append([])
    return setups, aliases, skipped


def _with_ci(rows: list[dict], formats: dict) -> list[dict]:
    """Rows for printing: each key in `formats` as 'value (lo-hi)', its 95% interval read from
    `<key>_lo` / `<key>_hi` (the value alone where there is no interval)."""
    out = []
    for r in rows:
        d = dict(r)
        for k, f in formats.items():
            if r.get(k) is None:
                d[k] = "n/a" if k in r else ""
                continue
            lo, hi = r.get(f"{k}_lo"), r.get(f"{k}_hi")
            ok = lo is not None and hi is not None and np.isfinite(lo) and np.isfinite(hi)
            d[k] = f"{f(r[k])} ({f(lo)}-{f(hi)})" if ok else f(r[k])
        out.append(d)
    return out


def _print_risk(risk, doc) -> None:
    from ..report.risk_doc import CAUSE_WORDS
    console = Console(width=None if sys.stdout.isatty() else 200)
    thr = risk.threshold
    console.print(Text(doc["headline"], style="bold"))
    console.print(f"{plural(risk.runs, 'run')} x {plural(len(risk.strategies), 'fleet')} over the {risk.scope}, seed {risk.seed} "
                  f"({risk.wall_seconds:.0f} s); the same faults and traffic for every strategy; "
                  "figures are means or quantiles over runs with their 95% interval in brackets")
    money_rows = _with_ci(doc["money"], {"planned_cost_usd": money, "expected_cost_usd": money,
                                         "expected_loss_usd": money, "cvar95_total_usd": money})
    for r in money_rows:                       # the whole reason is in the JSON; a table line is enough here
        if r.get("note") and len(r["note"]) > 90:
            r["note"] = r["note"][:87] + "..."
    emit(money_rows, "table", [Column("strategy", "strategy", justify="left"),
                               Column("planned_cost_usd", "planned cost"), Column("expected_cost_usd", "E[cost]"),
                               Column("expected_loss_usd", "E[value lost]"),
                               Column("cvar95_total_usd", "CVaR95 all-in"),
                               Column("note", "note", justify="left")],
         title=f"Money over the {risk.scope}", console=console)
    emit(_with_ci(doc["inference"], {"lost_mean": pct, "lost_p99": pct, "p_day_loss": pct}), "table",
         [Column("strategy", "strategy", justify="left"), Column("class", "class", justify="left"),
          Column("lost_mean", "E[lost]"), Column("lost_p99", "P99 lost"),
          Column("p_day_loss", f"P(some day loses >{thr:.0%})")],
         title="Inference demand lost, by class (share of the class's demand)", console=console)
    if doc["training"]:
        emit(_with_ci(doc["training"], {"delay_mean": num(1), "delay_p95": num(1), "trained_share": pct}), "table",
             [Column("strategy", "strategy", justify="left"), Column("workload", "training", justify="left"),
              Column("delay_mean", "E[days behind plan]"), Column("delay_p95", "P95 days behind"),
              Column("trained_share", "E[share trained]"), Column("main_cause", "main cause", justify="left")],
             title="Training against the plan's pace", console=console)
    s = risk.strategies[0]
    if s.tail_incidents:
        k = s.tail_incidents[0]["tail_runs"]
        emit(s.tail_incidents[:5], "table", [Column("incident", "fault", justify="left"),
                                             Column("runs_with_it", f"in how many of the worst {k} runs"),
                                             Column("loss_usd", "value lost per tail run", money)],
             title=f"What drives the tail of '{s.name}'", console=console)
    for w in doc["warnings"]:
        console.print(Text(f"warning: {w}", style="yellow"))
    console.print(Text(f"All-in = money spent + commitments stranded + value of inference demand lost; CVaR95 = mean "
                       f"of the worst 5% of runs. P(some day loses >{thr:.0%}) = share of runs in which at least one "
                       f"day of the class loses more than {thr:.0%} of that day's demand. Training causes: "
                       + ", ".join(CAUSE_WORDS[c] for c in ("placement", "chip failures", "outage", "preemption",
                                                            "supply_cut", "delivery_slip")) + ".", style="dim"))
