"""Benchmark: the training allocation LP at 10,000 active jobs x 20 accelerator types.

Goal (issue 4): under 2 s. Prints build and solve seconds separately for
  1. one LP, HiGHS interior point (the reference optimum),
  2. POP: k partitions with capacity / k each (stratified by gang size), solved by interior
     point, sequential and on 2 threads, and by simplex for comparison,
  3. the next round after 1% churn (100 jobs leave, 100 arrive): simplex warm-started from the
     bases the first round kept (that round runs crossover to get them), vs a cold POP solve,
  4. a realistic mix: 10,000 jobs of 200 job classes, identical jobs merged into one LP row each.
The instance is synthetic and seeded: throughputs log-normal per job and type (all rows distinct,
the hard case), 10% of cells infeasible, gangs of 1/2/4/8 chips, 3x more chips wanted than
there are. Quality = POP's max-min value / the single LP's (1.0 = no loss).

    PYTHONPATH=src python benchmarks/allocation_lp.py [--jobs 10000] [--types 20] [--format json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from polyfleet.place import AllocationProblem, PolicyOptions, allocate, equal_share


def instance(n_jobs: int, n_types: int, seed: int, classes: int = 0, oversubscription: float = 3.0
             ) -> AllocationProblem:
    rng = np.random.default_rng(seed)
    rows = classes or n_jobs
    speed = rng.lognormal(0.0, 0.5, n_types)  # some types are faster for everyone
    thr = rng.lognormal(0.0, 0.4, (rows, n_types)) * speed
    thr[rng.random((rows, n_types)) < 0.1] = 0.0
    thr[np.arange(rows), rng.integers(0, n_types, rows)] = speed.mean()  # every job runs somewhere
    scale = rng.choice([1, 2, 4, 8], rows, p=[0.7, 0.1, 0.15, 0.05]).astype(float)
    if classes:
        pick = rng.integers(0, classes, n_jobs)
        thr, scale = thr[pick], scale[pick]
    capacity = np.full(n_types, np.round(scale.sum() / n_types / oversubscription))
    return AllocationProblem(throughput=thr, scale_factor=scale, capacity=capacity,
                             types=tuple(f"t{w}" for w in range(n_types)), job_ids=np.arange(n_jobs))


def churn(problem: AllocationProblem, fraction: float, seed: int) -> AllocationProblem:
    """Next round: a random `fraction` of jobs left, as many new ones arrived (new ids)."""
    rng = np.random.default_rng(seed)
    n = problem.num_jobs
    k = max(1, int(n * fraction))
    fresh = instance(k, len(problem.types), seed + 1)
    keep = np.sort(rng.choice(n, n - k, replace=False))
    return AllocationProblem(
        throughput=np.vstack([problem.throughput[keep], fresh.throughput]),
        scale_factor=np.concatenate([problem.scale_factor[keep], fresh.scale_factor]),
        capacity=problem.capacity, types=problem.types,
        job_ids=np.concatenate([problem.ids()[keep], problem.ids().max() + 1 + np.arange(k)]))


def timed(problem: AllocationProblem, policy: str, options: PolicyOptions) -> dict:
    t0 = time.perf_counter()
    result = allocate(problem, policy, options)
    wall = time.perf_counter() - t0
    fair = problem.throughput / (problem.throughput * equal_share(problem)).sum(axis=1, keepdims=True)
    norm = (fair * result.x).sum(axis=1)  # each job's throughput relative to its equal share
    return {"wall_seconds": round(wall, 3), "build_seconds": round(result.build_seconds, 3),
            "solve_seconds": round(result.solve_seconds, 3), "objective": result.objective,
            "status": result.status, "solver": result.solver, "partitions": result.partitions,
            "_norm": norm}


def quality(run: dict, ref: dict) -> None:
    """POP vs the reference: ratio of the max-min value, of the 1st percentile and of the mean."""
    a, b = run["_norm"], ref["_norm"]
    run["quality"] = {"min": round(a.min() / b.min(), 4), "p1": round(np.percentile(a, 1) / np.percentile(b, 1), 4),
                      "mean": round(a.mean() / b.mean(), 4)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--types", type=int, default=20)
    parser.add_argument("--partitions", type=int, default=0, help="POP's k (0 = automatic)")
    parser.add_argument("--policy", default="max_min_fairness_perf")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-single", action="store_true", help="skip the (slow) single LP")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    args = parser.parse_args(argv)

    problem = instance(args.jobs, args.types, args.seed)
    rows: dict[str, dict] = {}
    if not args.skip_single:
        rows["single LP, IPM"] = timed(problem, args.policy, PolicyOptions(method="ipm", partitions=1))
    k = args.partitions
    rows["POP"] = timed(problem, args.policy, PolicyOptions(partitions=k))
    rows["POP, 2 threads"] = timed(problem, args.policy, PolicyOptions(partitions=k, workers=2))
    rows["POP, simplex"] = timed(problem, args.policy, PolicyOptions(method="simplex", partitions=k))
    warm: list = []
    rows["POP, first round, keeps bases"] = timed(problem, args.policy, PolicyOptions(partitions=k, warm=warm))
    nxt = churn(problem, 0.01, args.seed + 7)
    rows["POP, next round, 1% churn, warm"] = timed(nxt, args.policy, PolicyOptions(partitions=k, warm=warm))
    rows["POP, next round, 1% churn, cold"] = timed(nxt, args.policy, PolicyOptions(partitions=k))
    if not args.skip_single:
        rows["single LP, next round, IPM"] = timed(nxt, args.policy, PolicyOptions(method="ipm", partitions=1))
    classes = instance(args.jobs, args.types, args.seed, classes=200)
    rows["200 job classes, merged, one LP"] = timed(classes, args.policy, PolicyOptions())
    if "single LP, IPM" in rows:
        for key in ("POP", "POP, 2 threads", "POP, simplex", "POP, first round, keeps bases"):
            quality(rows[key], rows["single LP, IPM"])
    quality(rows["POP, next round, 1% churn, warm"], rows.get("single LP, next round, IPM",
                                                              rows["POP, next round, 1% churn, cold"]))
    for r in rows.values():
        r.pop("_norm")

    if args.format == "json":
        print(json.dumps({"jobs": args.jobs, "types": args.types, "policy": args.policy, "runs": rows}, indent=2))
    else:
        print(f"{args.policy}: {args.jobs} jobs x {args.types} types")
        print(f"{'run':42s} {'k':>3s} {'build s':>8s} {'solve s':>8s} {'wall s':>7s}  "
              f"{'quality min/p1/mean':21s} status")
        for name, r in rows.items():
            q = "/".join(f"{v:.3f}" for v in r["quality"].values()) if "quality" in r else ""
            print(f"{name:42s} {r['partitions']:3d} {r['build_seconds']:8.3f} {r['solve_seconds']:8.3f} "
                  f"{r['wall_seconds']:7.3f}  {q:21s} {r['status']} ({r['solver']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
