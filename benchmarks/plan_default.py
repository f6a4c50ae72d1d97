"""Benchmark: the built-in frontier-2026 scenario.

Goal (issue 3): solves to <= 0.5% gap in under 10 s on a 2-core machine. Prints, for each repeat,
the scenario + rate-table time, the model build time and the solve time (LP relaxation and rounding
included) separately, HiGHS's status and gap, and the time of the whole `plan()` (binding limits and
the survivability evaluation included), then a summary of the plan (mix by family, cost, survivability).

    PYTHONPATH=src python benchmarks/plan_default.py [--repeat 3] [--gap 0.005] [--format json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np

from polyfleet.plan import PlanOptions, SolveOptions, build, inputs_from_scenario, plan
from polyfleet.plan.heuristic import solve_plan
from polyfleet.scenario import load_scenario


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default="frontier-2026")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--gap", type=float, default=0.005)
    ap.add_argument("--format", choices=["text", "json"], default="text")
    args = ap.parse_args()
    runs = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        inp = inputs_from_scenario(load_scenario(args.scenario))
        t1 = time.perf_counter()
        model = build(inp)
        sol, _ = solve_plan(inp, model, SolveOptions(mip_rel_gap=args.gap))
        t2 = time.perf_counter()
        res = plan(inp, PlanOptions(solve=SolveOptions(mip_rel_gap=args.gap)))
        t3 = time.perf_counter()
        runs.append({"scenario_and_rate_table_s": t1 - t0, "build_s": model.build_seconds,
                     "solve_s": sol.solve_seconds, "lp_and_rounding_s": sol.lp_seconds, "status": sol.status,
                     "mip_gap": sol.mip_gap, "objective_usd": sol.objective, "plan_total_s": t3 - t2})
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0] if isinstance(runs[0][k], float)}
    mix = res.mix_by_family(11)
    surv = res.survivability
    out = {"scenario": args.scenario, "columns": model.num_cols, "rows": model.num_rows,
           "integer_columns": int(model.integer.sum()), "failure_sets": len(inp.contingencies),
           "runs": runs, "median": med, "goal": "<= 0.5% gap in < 10 s on 2 cores",
           "plan": {"total_cost_usd": res.total_cost, "commitments_after_horizon_usd": res.obligation_after_usd,
                    "mix_2026_12": mix, "mix_last_month": res.mix_by_family(-1),
                    "peak_mw": float(np.nansum(res.mw, axis=0).max()),
                    "survivability_worst": {c: float(np.nanmin(surv.served[1:, i]))
                                            for i, c in enumerate(surv.classes)},
                    "survivability_required": dict(zip(surv.classes, surv.required.tolist())),
                    "binding": [b.text for b in res.binding]}}
    if args.format == "json":
        json.dump(out, sys.stdout, indent=2, default=float)
        print()
        return
    print(f"{args.scenario}: {out['columns']:,} columns ({out['integer_columns']:,} integer), {out['rows']:,} rows, "
          f"{out['failure_sets']} failure sets")
    for i, r in enumerate(runs):
        print(f"  run {i + 1}: scenario+rate table {r['scenario_and_rate_table_s']:.2f} s, build {r['build_s']:.3f} s, "
              f"solve {r['solve_s']:.2f} s (LP+rounding {r['lp_and_rounding_s']:.2f} s), {r['status']}, "
              f"gap {r['mip_gap']:.3%}; whole plan() {r['plan_total_s']:.2f} s")
    print(f"  median solve {med['solve_s']:.2f} s (goal: {out['goal']})")
    p = out["plan"]
    print(f"plan: ${p['total_cost_usd'] / 1e9:,.2f}B over the horizon, peak {p['peak_mw']:,.0f} MW")
    for label, m in (("2026-12", p["mix_2026_12"]), ("last month", p["mix_last_month"])):
        print(f"  mix {label}: " + ", ".join(f"{f} {v['chips']:,.0f} chips ({v['mw_share']:.0%} of MW)"
                                             for f, v in m.items()))
    print("  worst share served under any failure set: " + ", ".join(
        f"{c} {v:.0%} (needs {p['survivability_required'][c]:.0%})" for c, v in p["survivability_worst"].items()))
    for b in p["binding"]:
        print(f"  binding: {b}")


if __name__ == "__main__":
    main()
