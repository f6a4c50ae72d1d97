"""`plan()`: scenario -> solved, explained plan. The library face of `polyfleet plan`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from ..scenario import Scenario, load_scenario
from .binding import binding_constraints
from .contract_result import contract_month_cost, option_values, read_contracts
from .diagnose import diagnose
from .evaluate import evaluate
from .from_scenario import inputs_from_scenario
from .heuristic import solve_plan
from .inputs import PlanInputs
from .model import build
from .result import PlanResult, extract
from .solve import SolveOptions, solve

INFEASIBLE_STATUSES = ("Infeasible", "Primal infeasible or unbounded", "Unbounded or infeasible")


@dataclass(frozen=True)
class PlanOptions:
    """How to solve and how much to explain."""

    solve: SolveOptions = field(default_factory=SolveOptions)
    binding: bool = True            # solve the LP relaxation for duals -> binding constraints with prices
    survivability: bool = True      # evaluate the plan under every failure set
    diagnose: bool = True           # explain an infeasible scenario
    option_values: bool = True      # price each exercised contract option by solving without it


def as_inputs(source: Scenario | PlanInputs | str) -> PlanInputs:
    if isinstance(source, PlanInputs):
        return source
    scn = load_scenario(source) if isinstance(source, str) else source
    return inputs_from_scenario(scn)


def plan(source: Scenario | PlanInputs | str, options: PlanOptions = PlanOptions(),
         progress: Callable[[str], None] | None = None) -> PlanResult:
    """Build and solve the portfolio MILP, then explain it (binding limits, survivability) or, when no
    plan exists, name the constraints that cannot hold together."""
    say = progress or (lambda _msg: None)
    inp = as_inputs(source)
    say("building the model")
    model = build(inp)
    size = {"columns": model.num_cols, "rows": model.num_rows, "nonzeros": int(model.A.nnz),
            "integer_columns": int(model.integer.sum()), "failure_sets": len(inp.contingencies),
            "offerings": inp.O, "months": inp.T, "workloads": inp.W, "pools": model.blocks.pools.P}
    say(f"solving ({size['columns']:,} columns, {size['rows']:,} rows)")
    sol, lp = solve_plan(inp, model, options.solve, watch=lambda inc: say(f"solving: {inc.line()}"))
    result = PlanResult(inputs=inp, solution=sol, build_seconds=model.build_seconds, size=size)
    labels = {c.id: c.label for c in inp.contingencies}
    if not sol.has_solution:
        if options.diagnose and sol.status in INFEASIBLE_STATUSES:
            say("explaining why no plan exists")
            result.diagnosis = diagnose(inp, model, options.solve, labels)
        return result
    for key, val in extract(inp, model, sol).items():
        setattr(result, key, val)
    if inp.contracts:
        _read_contracts(inp, model, sol, result, options, say)
    if options.binding:
        say("finding the binding limits")
        relax = _prices_lp(model, sol, lp, options)
        result.relaxation_status = relax.status
        result.binding = binding_constraints(model, sol, inp.months, relax if relax.row_dual is not None else None,
                                             labels)
    if options.survivability:
        say("checking survivability")
        result.survivability = evaluate(inp, result.firm_chips, result.served)
    return result


def _prices_lp(model, sol, lp, options: PlanOptions):
    """The LP whose row duals price the limits: the plan's yes/no choices (clusters and start months,
    contracts signed, options, sites ordered, porting) fixed as the plan makes them, units left continuous.
    With those choices relaxed, a limit's dual would price a fractional cluster or contract (a chip in a
    run's last month would carry the run's whole constant size) rather than one more chip for this plan."""
    binary = model.integer & (model.col_lo >= 0) & (model.col_hi <= 1)
    if not binary.any():
        return lp if lp is not None else solve(model, options.solve, relax=True)
    lo, hi = model.col_lo.copy(), model.col_hi.copy()
    lo[binary] = hi[binary] = np.round(sol.x[binary])
    fixed = replace(model, col_lo=lo, col_hi=hi)
    return solve(fixed, options.solve, relax=True)


def _read_contracts(inp: PlanInputs, model, sol, result: PlanResult, options: PlanOptions, say) -> None:
    """Contracts read back into the result; their payments join the monthly cost and the obligation."""
    result.contract_cost = contract_month_cost(inp, model, sol.x)
    result.contracts = read_contracts(inp, model, sol.x, result.allocation, result.chips)
    result.obligation_after_usd += sum(c["owed_after_horizon_usd"] for c in result.contracts)
    if options.option_values and any(o["exercised"] for c in result.contracts for o in c["options"]):
        say("pricing the exercised options (a solve without each)")
    if options.option_values:
        option_values(inp, model, sol.objective, result.contracts, options.solve)


def check_invariants(doc: dict, tol: float = 1e-6) -> list[str]:
    """Problems found in a plan's JSON document (empty = demand met, caps, power and survivability hold).

    The same checks the tests run, usable on any `plan.json`.
    """
    problems: list[str] = []
    if not doc.get("feasible"):
        return ["no plan in the document"]
    months = doc["months"]
    for d in doc["demand"]:
        if d["kind"] == "inference" and d["served_tokens_per_s"] < d["demand_tokens_per_s"] * (1 - 1e-6) - 1e-6:
            problems.append(f"demand of {d['workload']} not met in {d['month']}")
    plan_rows = doc["plan"]
    chips: dict[tuple[str, str], float] = {}
    mw: dict[tuple[str, str], float] = {}
    for r in plan_rows:
        chips[(r["offering"], r["month"])] = r["chips"]
        mw[(r["offering"], r["month"])] = r["mw"] or 0.0
    pol = doc["policy"]
    for lim in pol["power_limits"]:
        for t, m in enumerate(months):
            used = sum(mw.get((o, m), 0.0) for o in lim["offerings"])
            if used > lim["mw"][t] * (1 + 1e-6) + tol:
                problems.append(f"power limit {lim['name']} exceeded in {m}: {used:.3f} > {lim['mw'][t]:.3f} MW")
    for lim in pol["supply_limits"]:
        if lim["max_chips"] is None or len(lim["terms"]) < 4:
            continue
        for t, m in enumerate(months):
            used = sum(chips.get((o, m), 0.0) for o in lim["offerings"])
            if used > lim["max_chips"][t] * (1 + 1e-6) + tol:
                problems.append(f"supply limit {lim['name']} exceeded in {m}: {used:.0f} > {lim['max_chips'][t]:.0f}")
    measure = "mw" if pol["share_measure"] == "power" else "chips"
    for cap in pol["caps"]:
        first = months.index(cap["from"]) if cap["from"] in months else len(months)
        dim = cap["dimension"]
        for t, m in enumerate(months[first:], start=first):
            rows = [r for r in plan_rows if r["month"] == m]
            total = sum((r[measure] or 0.0) for r in rows)
            group = sum((r[measure] or 0.0) for r in rows if r[dim] == cap["group"])
            if total > 0 and group > cap["max_share"] * total * (1 + 1e-3) + tol:
                problems.append(f"cap {dim} {cap['group']} exceeded in {m}: {group / total:.3%}")
    problems += contract_problems(doc.get("contracts", []), months, tol)
    problems += _site_problems(doc, mw, tol)
    used: dict[tuple[str, str], float] = {}
    for a in doc.get("allocation", []):
        used[(a["offering"], a["month"])] = used.get((a["offering"], a["month"]), 0.0) + a["chips"]
    for (o, m), c in used.items():
        if c > chips.get((o, m), 0.0) * (1 + 1e-6) + 1e-3:
            problems.append(f"{o} serves {c:,.1f} chips of work in {m} but holds {chips.get((o, m), 0.0):,.0f}")
    if pol.get("budget_usd") is not None:
        for row, cap in zip(doc["months_summary"], pol["budget_usd"]):
            if row["cost_usd"] > cap * (1 + 1e-6) + tol:
                problems.append(f"budget exceeded in {row['month']}: ${row['cost_usd']:,.0f} > ${cap:,.0f}")
    problems += run_problems(doc, chips)
    surv = doc.get("survivability")
    if surv:
        req = dict(zip(surv["classes"], surv["required"]))
        for row in surv["rows"][1:]:
            for cls, r in req.items():
                got = row.get(cls)
                if got is not None and r > 0 and got < r - 1e-4:
                    problems.append(f"{cls} keeps only {got:.2%} < {r:.0%} under {row['label']}")
    return problems


def run_problems(doc: dict, held: dict[tuple[str, str], float], tol: float = 1e-6) -> list[str]:
    """Each windowed run on one cluster at one chip count over the months it runs, within the cluster's
    max_chips, its tokens covered at its goodput, and the runs on a cluster within the chips it holds."""
    out: list[str] = []
    months = doc["months"]
    on_cluster: dict[tuple[str, str], float] = {}
    for r in doc.get("clusters", []):
        run, by = r["run"], r["chips_by_offering"]
        if r["clusters_used"] != 1 or not set(by) <= set(r["offerings"]):
            out.append(f"training run {run} is not on one cluster ({r['clusters_used']} used; chips on {sorted(by)})")
        per_month = [sum(v[t] for v in by.values()) for t in range(len(months))]
        for t, m in enumerate(months):
            want = r["chips"] if m in r["months"] else 0.0
            if abs(per_month[t] - want) > 1e-6 * max(1.0, want) + tol:
                out.append(f"training run {run} holds {per_month[t]:,.1f} chips in {m}, not {want:,.1f}")
            on_cluster[(r["cluster"], m)] = on_cluster.get((r["cluster"], m), 0.0) + per_month[t]
        if r["max_chips"] is not None and r["chips"] > r["max_chips"] * (1 + 1e-9) + tol:
            out.append(f"training run {run}: {r['chips']:,.0f} chips > cluster {r['cluster']} "
                       f"max {r['max_chips']:,.0f}")
        tokens = r["chips"] * r["tokens_per_chip_hour"] * r["goodput"] * r["hours_per_month"] * len(r["months"])
        if tokens < r["tokens_required"] * (1 - 1e-6) - tol:
            out.append(f"training run {run} plans {tokens:.4g} tokens at goodput {r['goodput']:.0%} < "
                       f"{r['tokens_required']:.4g}")
    sites = {r["cluster"]: r["offerings"] for r in doc.get("clusters", [])}
    for (c, m), used in on_cluster.items():
        have = sum(held.get((o, m), 0.0) for o in sites[c])
        if used > have * (1 + 1e-6) + tol:
            out.append(f"cluster {c} carries {used:,.0f} chips of runs in {m} but holds {have:,.0f}")
    return out



def contract_problems(contracts: list[dict], months: list[str], tol: float = 1e-6) -> list[str]:
    """Each tranche: taken within [min_take x delivered, delivered] while on (0 when off), held = taken in
    its last term_months months (0 from a cancellation on), and the chips placed add up to those held."""
    problems: list[str] = []
    for c in contracts:
        for tr in c["tranches"]:
            d, s, g = (np.asarray(tr[k], float) for k in ("delivered", "taken", "held"))
            on = 1.0 if tr["on"] else 0.0
            cut = tr["released_from"] if tr["released_from"] is not None else len(months)
            slack = tol * np.maximum(1.0, d)
            lo = np.where(np.arange(len(months)) < cut, tr["min_take"] * d * on, 0.0)
            hi = np.where(np.arange(len(months)) < cut, d * on, 0.0)
            band = np.convolve(s, np.ones(tr["term_months"]))[:len(months)]
            want = np.where(np.arange(len(months)) < cut, band, 0.0)
            for t, m in enumerate(months):
                if not lo[t] - slack[t] <= s[t] <= hi[t] + slack[t]:
                    problems.append(f"contract {c['id']} {tr['id']}: {s[t]:,.1f} chips taken in {m}, allowed "
                                    f"{lo[t]:,.1f} .. {hi[t]:,.1f}")
                if abs(g[t] - want[t]) > tol * max(1.0, want[t]) + 1e-3:
                    problems.append(f"contract {c['id']} {tr['id']}: {g[t]:,.1f} chips held in {m}, taken in the "
                                    f"last {tr['term_months']} months: {want[t]:,.1f}")
        placed = np.sum([np.asarray(v, float) for v in c["placed"].values()], axis=0) if c["placed"] else 0.0
        held = np.asarray(c["held"], float)
        if np.any(np.abs(placed - held) > tol * np.maximum(1.0, held) + 1e-2):
            problems.append(f"contract {c['id']}: chips placed differ from chips held")
    return problems


def _site_problems(doc: dict, mw: dict[tuple[str, str], float], tol: float) -> list[str]:
    """Each site supplies no more than its MW, nothing before it is energised, and the chips of the
    offerings on sites draw exactly their MW (from the plan rows) from them."""
    problems: list[str] = []
    months = doc["months"]
    sites = doc.get("sites") or []
    bound = {o for s in sites for o in s["offerings"]}
    for s in sites:
        first = months.index(s["energised"]) if s["energised"] in months else (
            0 if s["energised"] == "before the horizon" else len(months))
        for t, m in enumerate(months):
            cap = s["mw"][t] if t >= first else 0.0
            if s["mw_drawn"][t] > cap * (1 + 1e-6) + tol:
                problems.append(f"site {s['site']} supplies {s['mw_drawn'][t]:.3f} MW in {m}, more than {cap:.3f}")
    for t, m in enumerate(months):
        need = sum(mw.get((o, m), 0.0) for o in bound)
        drawn = sum(s["mw_drawn"][t] for s in sites)
        if abs(need - drawn) > 1e-6 * max(1.0, need) + tol:
            problems.append(f"chips on sites need {need:.3f} MW in {m} but the sites supply {drawn:.3f}")
    return problems


__all__ = ["PlanOptions", "as_inputs", "check_invariants", "contract_problems", "plan", "run_problems"]
