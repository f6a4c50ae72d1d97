"""Replay Gavel job traces through polyfleet's allocator, round mechanism and job simulator.

`--compare` replays every trace in ../shared/data/gavel (single-GPU at 2.8 jobs/h; gang, i.e.
multi-GPU, at 1.5 and 2.0 jobs/h) under both LAS policies on 36 V100 + 36 P100 + 36 K80 and prints
our average JCT (jobs 4000-4999) and CPU seconds beside Gavel's own (FORMAT.md there, measured with
Gavel's simulator on a 2-core machine), twice: solved as Gavel solves (interior point, no tie-break)
and with our defaults (a tie-break that gives capacity the max-min leaves over to jobs that can use
it, which shortens JCTs):

    PYTHONPATH=src python benchmarks/gavel_replay.py --compare [--format json]

One trace, one policy:

    PYTHONPATH=src python benchmarks/gavel_replay.py \\
        --trace ../shared/data/gavel/gavel_single_2.8jph_seed0.trace \\
        --throughputs ../shared/data/gavel/simulation_throughputs.json \\
        --cluster 36:36:36 --policy max_min_fairness_perf [--format json]

Reads any trace in Gavel's .trace format (or its .jobs.csv export). Prints avg_jct_hours (the
window's jobs, as Gavel counts), makespan_hours (simulated time until the window is done),
utilization (busy chip-time / chips x makespan), wall_seconds and cpu_seconds (reading included)
and bound_jct_hours: the mean JCT if every counted job ran alone on its fastest type from arrival,
a floor no policy can beat. Exits 0 with a message on stderr when the shared data folder is absent.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

from polyfleet.errors import UserError
from polyfleet.place import POLICIES, RoundConfig, PolicyOptions
from polyfleet.place.training import ALIASES
from polyfleet.sim.jobs import SimConfig, load_gavel_trace, simulate_jobs

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
GAVEL = DATA / "gavel"
GAVEL_WINDOW = (4000, 5000)
# Gavel's own results (../shared/data/gavel/FORMAT.md): trace -> policy -> (average JCT hours, CPU or wall seconds)
GAVEL_RESULTS = {
    "gavel_single_2.8jph_seed0.trace": {"max_min_fairness": (23.82, 127.5), "max_min_fairness_perf": (16.31, 90.0)},
    "gavel_multi_1.5jph_seed0.trace": {"max_min_fairness": (24.98, 186.0), "max_min_fairness_perf": (17.71, 147.0)},
    "gavel_multi_2.0jph_seed0.trace": {"max_min_fairness": (27.01, 206.0), "max_min_fairness_perf": (20.26, 166.0)},
}


def parse_per_type(text: str, types: list[str], option: str = "--cluster") -> tuple[list[str], np.ndarray]:
    """'36:36:36' (values in --types order) or 'v100=36,p100=36,k80=36'."""
    try:
        if "=" in text:
            pairs = [item.split("=") for item in text.split(",")]
            return [name.strip() for name, _ in pairs], np.array([float(n) for _, n in pairs])
        counts = [float(n) for n in text.split(":")]
    except ValueError:
        raise UserError(f"'{text}' is not a list of numbers", where=option,
                        allowed="N:N:N in --types order, or type=N,type=N") from None
    if len(counts) != len(types):
        raise UserError(f"{len(counts)} values for {len(types)} types ({','.join(types)})", where=option)
    return types, np.array(counts)


def default_types(throughputs: Path) -> list[str]:
    names = [k for k in json.loads(throughputs.read_text()) if not k.endswith("_unconsolidated")]
    gavel = ["v100", "p100", "k80"]  # Gavel's visiting order (fastest first) where they exist
    return [t for t in gavel if t in names] + [t for t in names if t not in gavel]


def run(args: argparse.Namespace) -> dict:
    trace, throughputs = Path(args.trace), Path(args.throughputs)
    for path in (trace, throughputs):
        if not path.exists():
            raise UserError("file not found", where=str(path))
    types = args.types.split(",") if args.types else default_types(throughputs)
    types, capacity = parse_per_type(args.cluster, types)
    t0, c0 = time.perf_counter(), time.process_time()
    jobs = load_gavel_trace(trace, throughputs, tuple(types))
    if args.arrival_scale != 1.0:
        jobs = dataclasses.replace(jobs, arrival_s=jobs.arrival_s * args.arrival_scale)
    if args.window:
        lo, hi = (int(v) for v in args.window.split(":"))
    else:
        lo, hi = GAVEL_WINDOW if jobs.num_jobs >= GAVEL_WINDOW[1] else (0, jobs.num_jobs)
    if not 0 <= lo < hi <= jobs.num_jobs:
        raise UserError(f"window {lo}:{hi} outside the trace's {jobs.num_jobs} jobs", where="--window")
    prices = None
    if args.usd_per_chip_hour:
        named, prices = parse_per_type(args.usd_per_chip_hour, types, "--usd-per-chip-hour")
        prices = prices[[named.index(t) for t in types]] if set(named) == set(types) else None
        if prices is None:
            raise UserError(f"need a price for each of {','.join(types)}", where="--usd-per-chip-hour")
    config = SimConfig(
        policy=args.policy, window=(lo, hi),
        solve=PolicyOptions(method=args.method, seed=args.seed, iso=args.iso,
                           **({} if getattr(args, "tiebreak", None) is None else {"tiebreak": args.tiebreak})),
        usd_per_chip_hour=prices,
        rounds=RoundConfig(round_s=args.round_s, min_reallocation_interval_s=args.min_realloc_s,
                           restart_cost_s=args.restart_cost_s, seed=args.seed,
                           backfill_new_jobs=args.backfill, new_jobs_hold_chips=args.gavel_holds))
    result = simulate_jobs(jobs, capacity, config)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0  # reading the trace included
    jct = result.jct_s[lo:hi]
    jct = jct[np.isfinite(jct) & ~result.failed[lo:hi]]
    # No policy can beat every job running alone on its fastest type from the moment it arrives.
    usable = jobs.throughput[lo:hi] * (jobs.scale_factor[lo:hi, None] <= capacity[None, :])
    alone = jobs.total_work[lo:hi] / np.maximum(usable.max(axis=1), 1e-300)
    return {
        "policy": config.policy, "trace": str(trace), "cluster": dict(zip(types, capacity.tolist())),
        "window": [lo, hi], "jobs_counted": int(jct.size),
        "avg_jct_hours": round(result.average_jct_s() / 3600, 3),
        "bound_jct_hours": round(float(alone.mean()) / 3600, 3),
        "p99_jct_hours": round(float(np.percentile(jct, 99)) / 3600, 2) if jct.size else None,
        "makespan_hours": round(result.end_s / 3600, 2),
        "utilization": round(result.utilization, 4),
        "wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2),
        "rounds": result.rounds, "reallocations": result.reallocations,
        "lp_seconds": round(result.lp_seconds, 2), "preemptions": result.preemptions,
        "moves": result.moves, "restarts": result.restarts, "failed_jobs": int(result.failed.sum()),
    }


def main(argv: list[str] | None = None) -> int:
    names = sorted(POLICIES) + sorted(ALIASES)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace", default=str(GAVEL / "gavel_single_2.8jph_seed0.trace"))
    parser.add_argument("--throughputs", default=str(GAVEL / "simulation_throughputs.json"))
    parser.add_argument("--cluster", default="36:36:36", help="chips per type: N:N:N (in --types order) or type=N,...")
    parser.add_argument("--types", default="", help="comma-separated type names (default: v100,p100,k80 as present)")
    parser.add_argument("--policy", default="max_min_fairness_perf", help=f"one of {', '.join(names)}")
    parser.add_argument("--window", default="", help="job ids START:END counted (default 4000:5000 as Gavel)")
    parser.add_argument("--round-s", type=float, default=360.0)
    parser.add_argument("--min-realloc-s", type=float, default=1920.0)
    parser.add_argument("--restart-cost-s", type=float, default=0.0, help="progress lost per move/resume")
    parser.add_argument("--backfill", action="store_true", help="new jobs may use idle chips before reallocation")
    parser.add_argument("--gavel-holds", action="store_true", help="as Gavel's scheduler: jobs not yet in the "
                        "allocation take chips in the round's ranking and leave them idle")
    parser.add_argument("--arrival-scale", type=float, default=1.0, help="multiply arrival times (what-if load)")
    parser.add_argument("--usd-per-chip-hour", default="", help="prices for min_cost: N:N:N or type=N,...")
    parser.add_argument("--method", default="auto", choices=["auto", "simplex", "ipm"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tiebreak", type=float, default=None, help="max-min tie-break weight (default: the "
                        "library's; 0 = pure max-min, as Gavel)")
    parser.add_argument("--iso", default="equal_share", choices=["equal_share", "agnostic_lp"],
                        help="max_min_fairness_perf's normaliser: the equal share, or Gavel's agnostic LP solution")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument("--compare", action="store_true", help="every trace in the data folder, both LAS policies, "
                        "beside Gavel's figures")
    args = parser.parse_args(argv)
    if args.compare:
        return compare(args)

    defaults = (str(GAVEL / "gavel_single_2.8jph_seed0.trace"), str(GAVEL / "simulation_throughputs.json"))
    if not DATA.exists() and (args.trace in defaults or args.throughputs in defaults
                              or not Path(args.trace).exists()):
        print(f"gavel_replay: skipped, shared data folder {DATA} is absent", file=sys.stderr)
        return 0
    try:
        out = run(args)
    except UserError as exc:
        print(f"gavel_replay: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps(out, indent=2))
    else:
        for key in ("policy", "avg_jct_hours", "bound_jct_hours", "p99_jct_hours", "makespan_hours", "utilization",
                    "wall_seconds", "cpu_seconds", "jobs_counted", "rounds", "reallocations", "lp_seconds",
                    "preemptions", "moves", "restarts", "failed_jobs"):
            print(f"{key:16s} {out[key]}")
    return 0


def compare(args: argparse.Namespace) -> int:
    """Each trace x both LAS policies, replayed twice: as Gavel solves its LPs (interior point, the centre
    of a max-min optimum, no tie-break) and with our defaults (the tie-break gives capacity left over by
    the max-min to jobs that can use it); average JCT and CPU seconds beside Gavel's."""
    if not GAVEL.exists():
        print(f"gavel_replay: skipped, shared data folder {GAVEL} is absent", file=sys.stderr)
        return 0
    rows = []
    for trace, policies in GAVEL_RESULTS.items():
        for policy, (jct, seconds) in policies.items():
            row = {"trace": trace, "policy": policy, "gavel_avg_jct_hours": jct, "gavel_seconds": seconds}
            for label, method, tiebreak in (("as_gavel", "ipm", 0.0), ("default", "auto", None)):
                one = argparse.Namespace(**{**vars(args), "trace": str(GAVEL / trace), "policy": policy,
                                            "method": method, "tiebreak": tiebreak})
                out = run(one)
                row.update({f"{label}_avg_jct_hours": out["avg_jct_hours"],
                            f"{label}_difference": round(out["avg_jct_hours"] / jct - 1, 4),
                            f"{label}_cpu_seconds": out["cpu_seconds"], f"{label}_failed_jobs": out["failed_jobs"]})
            row["bound_jct_hours"] = out["bound_jct_hours"]
            rows.append(row)
            if args.format == "text":
                r = rows[-1]
                print(f"{trace:34s} {policy:22s} Gavel {jct:6.2f} h ({seconds:5.1f} s) | as Gavel "
                      f"{r['as_gavel_avg_jct_hours']:6.2f} h ({r['as_gavel_difference']:+.1%}, "
                      f"{r['as_gavel_cpu_seconds']:4.1f} CPU-s) | default {r['default_avg_jct_hours']:6.2f} h "
                      f"({r['default_difference']:+.1%}, {r['default_cpu_seconds']:4.1f} CPU-s) | floor "
                      f"{r['bound_jct_hours']:5.2f} h", flush=True)
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
