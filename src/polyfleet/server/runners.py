"""What a run does: the library's plan, simulate and risk, on the scenario text the run stored.

Each runner takes the run's inputs and parameters and a `say(fraction | None, message)` callback,
and returns a JSON document. The numbers are the library's (the same seed gives what `polyfleet
simulate` / `polyfleet risk` give on the same file); the documents keep its unknowns as null.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..errors import UserError
from ..report.tables import jsonable
from .live import scenario_of

Say = Callable[[float | None, str], None]
FEW_RUNS = 100          # below this many Monte Carlo runs, tail figures are flagged


def _plan(scn, say: Say, gap: float = 0.005, time_limit_s: float = 120.0):
    from ..plan import PlanOptions, SolveOptions, plan
    from ..plan.from_scenario import inputs_from_scenario
    say(None, "building the rate table and the model")
    inp = inputs_from_scenario(scn)
    result = plan(inp, PlanOptions(solve=SolveOptions(mip_rel_gap=gap, time_limit=time_limit_s)),
                  progress=lambda m: say(None, m))
    return inp, result


def _feasible(scn, result) -> None:
    if not result.feasible:
        lines = result.diagnosis.lines() if result.diagnosis else [result.status_line]
        raise UserError("the scenario has no plan to simulate: " + "; ".join(lines[:3]), where=scn.source_name)


def run_plan(inputs: dict, params: dict, say: Say, ray_address: str | None = None, processes: int = 1) -> dict:
    scn = scenario_of(inputs["scenario_name"], inputs["yaml"])
    _, result = _plan(scn, say, params.get("gap", 0.005), params.get("time_limit_s", 120.0))
    say(0.95, "writing the result")
    return jsonable(result.to_dict())


def run_simulate(inputs: dict, params: dict, say: Say, ray_address: str | None = None, processes: int = 1) -> dict:
    from ..sim.build import setup_from_plan
    from ..sim.faults import MONTH, sample_timeline
    from ..sim.fleet import simulate
    scn = scenario_of(inputs["scenario_name"], inputs["yaml"])
    _, result = _plan(scn, say)
    _feasible(scn, result)
    opts = scn.simulation.model_copy(update={"months": min(params["months"], scn.horizon.months)}) \
        if params.get("months") else scn.simulation
    setup = setup_from_plan(scn, result, "plan", options=opts)
    ss_faults, ss_traffic = np.random.SeedSequence(params.get("seed", 0)).spawn(2)
    events = sample_timeline(setup.faults, setup.universe, setup.months * MONTH, np.random.default_rng(ss_faults),
                             sampled=not params.get("no_faults", False))
    events.sort(key=lambda e: (e.start_s, e.kind, e.target))
    say(0.5, f"simulating {setup.months} months in {opts.step_minutes:g}-minute steps")
    run = simulate(setup, events, np.random.default_rng(ss_traffic))
    served = run.served_share(setup.inference)
    classes = [{"class": c, "served_share": float(served[k]), "worst_hour_loss": float(run.worst_hour_loss[k]),
                "worst_day_loss": float(run.worst_day_loss[k]), "slo_attainment": float(run.slo_attainment[k]),
                "demand_tokens": float(run.demand_tokens[:, k].sum()),
                "served_tokens": float(run.served_tokens[:, k].sum())} for k, c in enumerate(run.classes)]
    incidents = sorted(({"incident": i.label, "kind": i.kind, "start_day": i.start_day, "hours": i.hours,
                         "unserved_tokens": float(i.unserved_tokens.sum()),
                         "value_lost_usd": float((i.unserved_tokens * setup.loss_usd_per_mtok).sum() / 1e6),
                         "customers_affected": i.customers_affected if run.customers else None,
                         "customer_hours": i.customer_hours if run.customers else None}
                        for i in run.incidents), key=lambda d: -d["value_lost_usd"])
    return jsonable({"seed": params.get("seed", 0), "months": run.months, "step_minutes": opts.step_minutes,
                     "sampled_faults": not params.get("no_faults", False), "fault_events": len(events),
                     "classes": classes, "incidents": incidents[:50], "incidents_total": len(incidents),
                     "cost_planned_usd": run.cost_planned_usd, "cost_actual_usd": run.cost_actual_usd,
                     "stranded_commitment_usd": run.stranded_usd, "energy_mwh": run.energy_mwh,
                     "plan_status": result.status_line})


def run_risk(inputs: dict, params: dict, say: Say, ray_address: str | None = None, processes: int = 1) -> dict:
    from ..plan import compare as do_compare
    from ..sim.build import setup_from_plan
    from ..sim.risk import run_risk as library_risk
    scn = scenario_of(inputs["scenario_name"], inputs["yaml"])
    inp, result = _plan(scn, say)
    _feasible(scn, result)
    cmp = do_compare(inp, policy=result, progress=lambda m: say(None, m)) if params.get("compare", True) else None
    opts = scn.simulation.model_copy(update={"months": min(params["months"], scn.horizon.months)}) \
        if params.get("months") else scn.simulation
    table = scn.rate_table()
    plans = [("policy (diversified)", result)]
    if cmp is not None:
        plans += [(s.name, s.result) for s in cmp.strategies[1:] if s.feasible and s.result is not None]
    setups, seen = [], set()
    for name, res in plans:
        key = res.chips.tobytes()
        if key not in seen:         # the same fleet under two names runs once
            seen.add(key)
            setups.append(setup_from_plan(scn, res, name, table, options=opts))
    runs = int(params.get("runs", 100))
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        say(done[0] / runs, f"{done[0]} of {runs} runs x {len(setups)} strategies")
    risk = library_risk(setups, runs, int(params.get("seed", 0)), workers=processes, ray_address=ray_address,
                        progress=tick)
    tail = max(1, math.ceil(runs * 0.05))
    note = (f"{runs} runs: P99 and CVaR95 rest on the worst {tail} run{'s' if tail > 1 else ''}; "
            f"tails are indicative below {FEW_RUNS} runs") if runs < FEW_RUNS else None
    return jsonable({"runs": runs, "seed": risk.seed, "months": risk.months, "daily_loss_threshold": risk.threshold,
                     "wall_seconds": risk.wall_seconds, "strategies": risk.rows(), "few_runs_note": note,
                     "tail_incidents": {s.name: s.tail_incidents for s in risk.strategies},
                     "ray": ray_address, "plan_status": result.status_line})


RUNNERS = {"plan": run_plan, "simulate": run_simulate, "risk": run_risk}
