"""`polyfleet risk` at scale: N Monte Carlo runs of the default scenario, and the speed-up with workers.

    python benchmarks/risk_runs.py --runs 1000 --workers 2          (the 10-minute goal)
    python benchmarks/risk_runs.py --runs 100 --speedup              (1 vs 2 local workers)

Plans the scenario and its comparison strategies (diversified, least cost, single vendor, single
cloud; identical fleets counted once), then times `run_risk` alone: wall seconds, and CPU seconds of
this process and its workers (the figure to compare on a shared, loaded machine). By default the
whole horizon is simulated; --months N simulates the first N months.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from polyfleet.plan import compare, plan  # noqa: E402
from polyfleet.plan.from_scenario import inputs_from_scenario  # noqa: E402
from polyfleet.scenario import load_scenario  # noqa: E402
from polyfleet.sim.build import setup_from_plan  # noqa: E402
from polyfleet.sim.risk import run_risk  # noqa: E402


def setups_for(name: str, with_compare: bool, months: int | None = None):
    scn = load_scenario(name)
    inp = inputs_from_scenario(scn)
    res = plan(inp)
    plans = [("policy (diversified)", res)]
    if with_compare:
        cmp = compare(inp, policy=res)
        plans += [(s.name, s.result) for s in cmp.strategies[1:] if s.feasible and s.result is not None]
    table = scn.rate_table()
    opts = scn.simulation.model_copy(update={"months": months}) if months else None
    out, seen = [], set()
    for n, r in plans:
        key = r.chips.tobytes() + r.allocation.tobytes()
        if key not in seen:
            seen.add(key)
            out.append(setup_from_plan(scn, r, n, table, options=opts))
    return out


def cpu_seconds() -> float:
    """CPU seconds of this process and of its finished children (the pool's workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="frontier-2026")
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-compare", action="store_true")
    ap.add_argument("--speedup", action="store_true", help="time 1 and 2 workers on --runs each")
    ap.add_argument("--months", type=int, default=None, help="simulate the first N months (default: all)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    setups = setups_for(args.scenario, not args.no_compare, args.months)
    print(f"planning {len(setups)} strategies: {time.perf_counter() - t0:.1f} s")
    counts = (1, 2) if args.speedup else (args.workers,)
    walls = {}
    for w in counts:
        for s in setups:
            s.placements.clear()          # every measurement starts cold (forked workers would inherit a warm cache)
        t0, c0 = time.perf_counter(), cpu_seconds()
        risk = run_risk(setups, args.runs, seed=0, workers=w)
        walls[w], cpu = time.perf_counter() - t0, cpu_seconds() - c0
        sims = args.runs * len(setups)
        print(f"workers={w}: {args.runs} runs x {len(setups)} strategies x {setups[0].months} months = {sims} "
              f"simulated runs in {walls[w]:.1f} s wall, {cpu:.1f} CPU-s ({cpu / sims:.3f} CPU-s per run)")
    if args.speedup:
        print(f"speed-up 1 -> 2 workers: {walls[1] / walls[2]:.2f}x")
    top = risk.rows()[0]
    print("policy plan:", {k: round(v, 5) if isinstance(v, float) else v for k, v in top.items()
                           if k.startswith("enterprise_unserved_mean") or k.startswith("cvar95_total_usd")})


if __name__ == "__main__":
    main()
