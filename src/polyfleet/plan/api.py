"""`plan()`: scenario -> solved, explained plan. The library face of `polyfleet plan`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..scenario import Scenario, load_scenario
from .binding import binding_constraints
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
    sol, lp = solve_plan(inp, model, options.solve)
    result = PlanResult(inputs=inp, solution=sol, build_seconds=model.build_seconds, size=size)
    labels = {c.id: c.label for c in inp.contingencies}
    if not sol.has_solution:
        if options.diagnose and sol.status in INFEASIBLE_STATUSES:
            say("explaining why no plan exists")
            result.diagnosis = diagnose(inp, model, options.solve, labels)
        return result
    for key, val in extract(inp, model, sol).items():
        setattr(result, key, val)
    if options.binding:
        say("finding the binding limits")
        relax = lp if lp is not None else solve(model, options.solve, relax=True)
        result.relaxation_status = relax.status
        result.binding = binding_constraints(model, sol, inp.months, relax if relax.row_dual is not None else None,
                                             labels)
    if options.survivability:
        say("checking survivability")
        result.survivability = evaluate(inp, result.firm_chips, result.served)
    return result


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


__all__ = ["PlanOptions", "as_inputs", "check_invariants", "plan", "run_problems"]
