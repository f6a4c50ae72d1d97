"""Two-stage stochastic planning over demand paths, with a CVaR term on path cost.

First stage: what is signed before demand is known - the 1y/3y commitment starts (`n[:, C1|C3, :]`;
the set of first-stage column names is a parameter, so a later first-stage block joins by name).
Second stage, per path: on-demand and spot units, allocation, everything else. The core model is
built per path with its demand scaled (`model.build`); by default the failure sets, survivability and
the scenario's loss-CVaR blocks only on the reference path (the forecast, or the path closest to it),
so the security policy holds for the plan as printed, not on every path - which lets the other paths
hold no N-1 reserve, so they come out cheaper and the commitments lean toward them. `security="all"`
puts them on every path (each on the demand it serves) at about 4x the model. The paths are composed
block-diagonally (`extensive.py`) and solved once by HiGHS.

On-demand/spot units of the non-reference paths are continuous by default (the reference path's stay
integer): recourse units are many and small against the fleet, so rounding them moves a path's cost
by less than one unit per offering-month, and it is what makes 20 paths solve in seconds. The
result is a `PlanResult` for the reference path with `result.paths` holding each path's cost, the
expected cost, CVaR, what the commitments cost if demand comes in low, and the single-forecast
plan's commitments evaluated on the same paths (the value of planning stochastically).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ..scenario.uncertainty import DrawnPath
from ..solvers import Solution, band
from .api import INFEASIBLE_STATUSES
from .binding import binding_constraints
from .diagnose import diagnose
from .evaluate import evaluate
from .extensive import Extensive, compose, first_stage
from .extensive_solve import solve_extensive
from .heuristic import solve_plan
from .blocks import PlanMilp
from .inputs import C1, C3, OD, SPOT, TERM_MONTHS, PlanInputs
from .model import build
from .result import PlanResult, extract
from .solve import SolveOptions


CHOICES = ("y_cl", "cu", "cy")          # yes/no first-stage blocks: a run's cluster and start, contract choices

# What is signed before demand is known: 1y/3y commitment starts, contracts signed and options exercised
# (cu) and cancellations (cy). How much of a contract's deliveries to take (between its minimum and all)
# is recourse: declining deliveries when demand comes in low is what a minimum take allows.
FIRST_STAGE = ("n", "cu", "cy", "y_cl")   # y_cl: each training run's cluster and start month


@dataclass(frozen=True)
class StochasticOptions:
    """How the two-stage plan is built and solved."""

    alpha: float = 0.9
    weight: float = 0.0                       # objective = E[cost] + weight x CVaR_alpha(cost)
    first_stage: tuple[str, ...] = FIRST_STAGE  # column names tied across paths ("n": its commitment terms)
    integer_recourse: bool = False            # keep on-demand/spot integer on every path (slower)
    max_nodes: int = 2000                     # HiGHS mip_max_nodes: a deterministic limit, not a clock
    exact: bool = False                       # one HiGHS MILP on the whole extensive form (small problems)
    security: str = "reference"               # failure sets on the "reference" path only, or on "all" paths
    #                                           (each on the demand it serves: unmet demand lowers its need)
    deterministic: bool = True                # also price the single-forecast plan's commitments on the paths


def path_inputs(inp: PlanInputs, mult: np.ndarray, reference: bool) -> PlanInputs:
    """The inputs of one path: demand x multiplier[w, t]; a windowed run's tokens x its mean multiplier over
    the window. Only the reference path keeps failure sets and the loss-CVaR cases."""
    win = np.where(inp.windowed, inp.window_tokens, 0.0)
    mean_w = np.where(inp.window.any(axis=1), (mult * inp.window).sum(axis=1) / np.maximum(inp.window.sum(axis=1), 1),
                      1.0)
    tokens = np.where(inp.windowed, win * mean_w, np.nan)
    out = replace(inp, demand=inp.demand * mult, window_tokens=tokens)
    if not reference:
        out = replace(out, contingencies=(), cvar_cases=(), cvar_weight=0.0)
    return out


def with_prices(model, inp: PlanInputs, prices: dict[str, np.ndarray] | None):
    """The model with on-demand and spot unit costs of each named vendor x its monthly multiplier (commitment
    prices are fixed when signed, so first-stage costs stay equal on every path)."""
    if not prices:
        return model
    cost = model.cost.copy()
    vendor = np.array(inp.facts.vendor)
    for v, mult in prices.items():
        idx = model.cols["n"][vendor == v][:, [OD, SPOT], :]                      # [o, 2, T]
        ok = idx >= 0
        cost[idx[ok]] *= np.broadcast_to(mult[None, None, :], idx.shape)[ok]
    return replace(model, cost=cost)


def cvar(costs: np.ndarray, prob: np.ndarray, alpha: float) -> float:
    """CVaR_alpha of a discrete cost distribution: min over eta of eta + E[(c - eta)+] / (1 - alpha)."""
    costs, prob = np.asarray(costs, float), np.asarray(prob, float)
    excess = np.maximum(costs[None, :] - costs[:, None], 0.0) @ prob            # [eta = each cost]
    return float(np.min(costs + excess / (1.0 - alpha)))


def build_extensive(inp: PlanInputs, paths: list[DrawnPath], ref: int, sto: StochasticOptions) -> Extensive:
    """Every path's model, composed (see `extensive.compose`)."""
    inps = [path_inputs(inp, p.multiplier, s == ref or sto.security == "all") for s, p in enumerate(paths)]
    models = [with_prices(build(i), i, p.prices) for i, p in zip(inps, paths)]
    prob = np.array([p.probability for p in paths], dtype=float)
    return compose(inps, models, prob, ref, sto.first_stage, sto.alpha, sto.weight, sto.integer_recourse)


def plan_paths(inp: PlanInputs, paths: list[DrawnPath], ref: int, options: SolveOptions = SolveOptions(),
               sto: StochasticOptions = StochasticOptions(),
               progress: Callable[[str], None] | None = None) -> PlanResult:
    """The two-stage plan: a `PlanResult` for the reference path, with `.paths` (see the module note)."""
    say = progress or (lambda _m: None)
    t0 = time.perf_counter()
    say(f"building {len(paths)} demand paths")
    ext = build_extensive(inp, paths, ref, sto)
    build_s = time.perf_counter() - t0
    m = ext.milp
    size = {"columns": m.num_cols, "rows": m.num_rows, "nonzeros": int(m.A.nnz),
            "integer_columns": int(m.integer.sum()), "failure_sets": len(inp.contingencies), "offerings": inp.O,
            "months": inp.T, "workloads": inp.W, "pools": ext.models[ref].blocks.pools.P, "paths": len(paths)}
    det = _forecast_plan(inp, options) if sto.deterministic or _choices(ext.models[ref]) else None
    chosen = det is not None and det[1].has_solution and bool(_choices(ext.models[ref]))
    if chosen:
        ext = fix_choices(ext, det[0], det[1].x)
    say(f"solving {len(paths)} paths ({size['columns']:,} columns, {size['rows']:,} rows)")
    sol = solve_extensive(ext, options, sto)
    if chosen and sol.has_solution:
        sol.status += "; runs' clusters and contract choices as in the single-forecast plan, the bound given them"
    ref_inp = ext.inputs[ref]
    result = PlanResult(inputs=ref_inp, solution=sol, build_seconds=build_s, size=size)
    if not sol.has_solution:
        if sol.status in INFEASIBLE_STATUSES:          # the reference path carries every hard row: explain it
            labels = {c.id: c.label for c in ref_inp.contingencies}
            result.diagnosis = diagnose(ref_inp, ext.models[ref], options, labels)
        return result
    xs = sol.x[ext.cols_of(ref)]
    sub = replace(sol, x=xs, row_activity=ext.models[ref].A @ xs)
    for key, val in extract(ref_inp, ext.models[ref], sub).items():
        setattr(result, key, val)
    result.binding = binding_constraints(ext.models[ref], sub, ref_inp.months, None,
                                         {c.id: c.label for c in ref_inp.contingencies})   # at their limit; no prices
    result.survivability = evaluate(ref_inp, result.firm_chips, result.served)
    summary = path_summary(ext, paths, sol.x, sto)
    summary.update(solver=sol.summary(), recourse="integer" if sto.integer_recourse else
                   "continuous on-demand/spot on the non-reference paths", reference=paths[ref].id,
                   first_stage=list(sto.first_stage))
    if sto.deterministic:
        say("pricing the single-forecast plan's commitments on the same paths")
        summary["deterministic"] = deterministic_on_paths(inp, ext, paths, options, sto, det)
        det = summary["deterministic"].get("objective_usd")
        summary["deterministic_usd"] = summary["deterministic"].get("expected_usd")
        summary["value_of_stochastic_usd"] = None if det is None else det - summary["objective_usd"]
    result.paths = summary
    return result


def path_summary(ext: Extensive, paths: list[DrawnPath], x: np.ndarray, sto: StochasticOptions) -> dict:
    """Each path's cost (what it pays plus the price of its unmet demand), unmet demand and idle committed
    chips (and its mean demand multiplier over the workload-months with demand, unweighted); expected cost,
    CVaR, the low path (least total demand)."""
    rows = []
    for s, p in enumerate(paths):
        xs = x[ext.cols_of(s)]
        inp_s = ext.inputs[s]
        demand_tok = float(inp_s.demand.sum() * inp_s.hours + np.nansum(inp_s.window_tokens) * inp_s.hours)
        unmet_tok = float(ext.unmet_tokens[s] @ x[ext.unmet[s]]) if len(ext.unmet[s]) else 0.0
        rows.append({"id": p.id, "probability": p.probability, "cost_usd": ext.cost_of(s, x),
                     "paid_usd": ext.paid(s, x), "unmet_usd": ext.unmet_cost(s, x),
                     "unmet_share": unmet_tok / demand_tok if demand_tok > 0 else 0.0,
                     "idle_committed_chip_share": idle_committed_share(inp_s, ext.models[s], xs),
                     "demand_multiplier_mean": float(np.mean(p.multiplier[inp_s.demand.sum(axis=1) > 0]))
                     if (inp_s.demand.sum(axis=1) > 0).any() else 1.0})
    costs = np.array([r["cost_usd"] for r in rows])
    prob = ext.prob
    low = int(np.argmin([float(i.demand.sum()) for i in ext.inputs]))
    expected = float(costs @ prob)
    tail = cvar(costs, prob, sto.alpha)
    return {"paths": rows, "expected_usd": expected, "cvar_usd": tail, "alpha": sto.alpha, "weight": sto.weight,
            "objective_usd": expected + sto.weight * tail,
            "low": {"id": rows[low]["id"], "cost_usd": rows[low]["cost_usd"],
                    "idle_committed_chip_share": rows[low]["idle_committed_chip_share"]}}


def idle_committed_share(inp: PlanInputs, model, x: np.ndarray) -> float:
    """Share of committed chip-months (1y/3y, new and held before the horizon) that serve nothing on this
    path when nothing fails: per pool and month, the firm chips no workload uses, up to the pool's committed
    chips (a plan buys no on-demand or spot unit it does not use, so idle capacity is committed capacity).
    On the reference path this includes the reserve its failure sets require."""
    n = model.value("n", x)
    held = inp.fleet_commit[:, [C1, C3], :].sum(axis=1).astype(float)
    for k in (C1, C3):
        tt, ss = band(inp.T, TERM_MONTHS[k])
        np.add.at(held, (slice(None), tt), n[:, k, ss])
    committed = model.blocks.member @ (held * inp.unit_chips[:, None])                # [P, T]
    firm = model.blocks.member @ model.value("F", x)
    used = model.value("x", x).sum(axis=0)
    if model.blocks.clusters is not None:
        used = used + model.blocks.clusters.pool_chips(model.value("z_cl", x), len(used))
    idle = np.minimum(np.maximum(firm - used, 0.0), committed)
    total = committed.sum()
    return float(idle.sum() / total) if total > 0 else 0.0


def _forecast_plan(inp: PlanInputs, options: SolveOptions) -> tuple[PlanMilp, Solution]:
    """The single-forecast plan (its model and solution)."""
    model = build(inp)
    return model, solve_plan(inp, model, options)[0]


def _choices(model: PlanMilp) -> list[str]:
    """The yes/no first-stage blocks this model has: a run's cluster and start, contract choices."""
    return [k for k in CHOICES if k in model.cols]


def fix_choices(ext: Extensive, model: PlanMilp, x: np.ndarray) -> Extensive:
    """The extensive form with the runs' clusters and starts and the contract choices fixed as the
    single-forecast plan makes them (tied across paths, so on every path). Deciding them over the paths
    too would make each LP bound of the extensive form loose (fractional cluster choices) and the solve
    several times slower; which cluster carries a run is not what demand paths should move."""
    ref = ext.models[ext.ref]
    off = int(ext.col_start[ext.ref])
    lo, hi = ext.milp.col_lo.copy(), ext.milp.col_hi.copy()
    for k in _choices(ref):
        mine, theirs = ref.cols[k], model.cols[k]
        ok = (mine >= 0) & (theirs >= 0)
        lo[mine[ok] + off] = hi[mine[ok] + off] = np.round(x[theirs[ok]])
    return replace(ext, milp=replace(ext.milp, col_lo=lo, col_hi=hi))


def deterministic_on_paths(inp: PlanInputs, ext: Extensive, paths: list[DrawnPath], options: SolveOptions,
                           sto: StochasticOptions, forecast: tuple[PlanMilp, Solution] | None = None) -> dict:
    """Plan for the forecast alone (or take `forecast`), then fix its commitments and re-solve every path's
    second stage."""
    model, det = forecast if forecast is not None else _forecast_plan(inp, options)
    if not det.has_solution:
        return {"status": det.status}
    fixed = np.round(det.x[first_stage(model, sto.first_stage)])
    sol = solve_extensive(ext, options, sto, fixed=fixed)
    if not sol.has_solution:
        return {"status": sol.status, "forecast_plan_usd": det.objective}
    summary = path_summary(ext, paths, sol.x, sto)
    return {"status": sol.status, "mip_gap": sol.mip_gap, "forecast_plan_usd": det.objective,
            "expected_usd": summary["expected_usd"], "cvar_usd": summary["cvar_usd"],
            "objective_usd": summary["objective_usd"], "low": summary["low"],
            "paths": [{"id": r["id"], "cost_usd": r["cost_usd"], "unmet_share": r["unmet_share"]}
                      for r in summary["paths"]]}


def plan_scenario_paths(scn, inp: PlanInputs, count: int | None, options: SolveOptions = SolveOptions(),
                        progress: Callable[[str], None] | None = None) -> PlanResult:
    """`plan_paths` over a scenario's demand paths (its own, or `count` sampled), its CVaR settings, with
    what the paths assume added to the plan's assumptions."""
    from ..scenario.uncertainty import demand_paths, path_assumptions, reference_index
    paths = demand_paths(scn, count)
    ref = reference_index(scn, paths)
    cv = scn.uncertainty.cvar
    where = (f"on the reference path '{paths[ref].id}' only (uncertainty.failure_sets)" if
             scn.uncertainty.failure_sets == "reference" else "on every path, on the demand each serves")
    notes = (f"two-stage plan over {len(paths)} demand paths: 1y/3y commitments are decided once for all paths "
             "(deliveries taken above a contract's minimum follow each path); contract signings, options, "
             "cancellations and each training run's cluster and start are those of the single-forecast plan; "
             f"failure sets and survivability are enforced {where}",
             "unmet demand on a non-reference path is priced at max(the value of lost tokens "
             "(risk.loss_usd_per_million_tokens), 2x its cheapest on-demand price) and reported per path",
             "the limits listed are the reference path's rows at their bound in the plan, without LP prices")
    inp = replace(inp, assumptions=inp.assumptions + tuple(path_assumptions(scn, paths)), notes=inp.notes + notes)
    sto = StochasticOptions(alpha=cv.alpha, weight=cv.weight, security=scn.uncertainty.failure_sets)
    return plan_paths(inp, paths, ref, options, sto, progress)
