"""Benchmark: the two-stage plan over demand paths, and the sensitivity table.

Goal (issue 9): frontier-2026 with 20 sampled paths in under 60 s on 2 cores; every shipped example with
`--paths 20` well under that. Prints per scenario: paths, extensive-form size, the solve's status and gap
(against the LP bound of the whole problem), the stochastic solve's seconds, the whole `plan_scenario_paths`
(deterministic comparison included), expected cost, CVaR, the value of the stochastic plan; with
`--sensitivity`, the tornado's seconds (LP relaxations) and its top rows.

    PYTHONPATH=src python benchmarks/plan_paths.py [--scenario frontier-2026 ...] [--paths 20] [--sensitivity]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from polyfleet.plan import SolveOptions, inputs_from_scenario, plan_scenario_paths, sensitivity
from polyfleet.scenario import load_scenario

EXAMPLES = ("frontier-2026", "examples/midsize-gpu-tpu.yaml", "examples/second-vendor.yaml")


def one(name: str, paths: int, gap: float, sens: bool) -> dict:
    scn = load_scenario(name)
    inp = inputs_from_scenario(scn)
    t0 = time.perf_counter()
    res = plan_scenario_paths(scn, inp, paths, SolveOptions(mip_rel_gap=gap))
    out = {"scenario": name, "paths": paths, "total_s": time.perf_counter() - t0, "size": res.size,
           "status": res.solution.status, "gap_to_lp_bound": res.solution.mip_gap,
           "stochastic_solve_s": res.solution.solve_seconds}
    if res.paths is not None:
        p = res.paths
        out.update(expected_usd=p["expected_usd"], cvar_usd=p["cvar_usd"], low=p["low"],
                   deterministic_expected_usd=p.get("deterministic_usd"),
                   value_of_stochastic_usd=p.get("value_of_stochastic_usd"),
                   max_unmet_share=max(r["unmet_share"] for r in p["paths"]))
    if sens:
        t1 = time.perf_counter()
        s = sensitivity(inp, SolveOptions(mip_rel_gap=gap), relax=True)
        out["sensitivity_s"] = time.perf_counter() - t1
        out["sensitivity_top"] = [(r["input"], r["swing_usd"]) for r in s.rows[:8]]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", nargs="*", default=list(EXAMPLES))
    ap.add_argument("--paths", type=int, default=20)
    ap.add_argument("--gap", type=float, default=0.005)
    ap.add_argument("--sensitivity", action="store_true")
    args = ap.parse_args()
    rows = [one(s, args.paths, args.gap, args.sensitivity) for s in args.scenario]
    json.dump({"goal": "frontier-2026, 20 paths: < 60 s on 2 cores", "runs": rows}, sys.stdout, indent=1,
              default=float)
    print()


if __name__ == "__main__":
    main()
