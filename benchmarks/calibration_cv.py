"""Held-out calibration error: k-fold cross-validation by chip family and by stack.

Every point is predicted by a fit that never saw it (5 folds dealt within each family, seed 0).
Prints the error by family and by stack against the goal (median |error| < 12% and at least 85%
of points within 25%), and, with `--before DIR`, the model as it was before this work (the
package at DIR, e.g. a `git archive` of an older commit) scored on the same points. `--write`
stores the per-(family, stack) bands in perf/data/bands.yaml.

    python benchmarks/calibration_cv.py [--folds 5] [--seed 0] [--seeds 5] [--group setup|source]
                                        [--write [--band-seeds 5]] [--before /tmp/polyfleet-before/src]

`--seeds N` also prints the error pooled over N fold assignments (seeds seed .. seed+N-1): one
assignment's luck, a group whose points all fell in an unlucky fold, moves a family's figures by a few
points, so closing notes quote the pooled figures beside seed 0's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from polyfleet.perf import Context  # noqa: E402
from polyfleet.perf.calibration import load_calibration  # noqa: E402
from polyfleet.perf.cv_report import GOAL, band_rows, by_family, by_stack, spread  # noqa: E402
from polyfleet.perf.fit import GROUPINGS, cross_validate, summarise  # noqa: E402

BEFORE = r'''
import json, sys, math
sys.path.insert(0, sys.argv[1])
from polyfleet.perf import Context, estimate_inference, estimate_training
from polyfleet.workloads import load_models
ctx = Context(models=load_models(sys.argv[2]))
out = {}
for kind, p in json.loads(sys.stdin.read()):
    try:
        if kind == "training":
            v = estimate_training(p["model"], p["accelerator"], p["chips"], seq_len=p.get("seq_len") or 8192,
                                  dtype=p["dtype"], ctx=ctx).tokens_per_s_per_chip
        else:
            rep = p.get("replica_chips") or (None if p.get("choose_replica") else p["chips"])
            if p.get("choose_replica"):
                rep = None
            e = estimate_inference(p["model"], p["accelerator"], chips=rep, dtype=p["dtype"],
                                   input_tokens=p.get("input_tokens") or 1000, output_tokens=p.get("output_tokens") or 1000,
                                   batch=p.get("batch"), ctx=ctx)
            m = p.get("metric") or "output_tokens_per_s"
            v = {"output_tokens_per_s": e.output_tokens_per_s_per_chip * p["chips"],
                 "output_tokens_per_s_per_chip": e.output_tokens_per_s_per_chip,
                 "tpot_s": e.tpot_s, "ttft_s": e.ttft_s}[m]
        out[p["id"]] = v if v else None
    except Exception as exc:  # a chip or model the old catalog lacks
        out[p["id"]] = "skip: " + type(exc).__name__
print(json.dumps(out))
'''


def before_errors(src: str, points, ctx) -> dict[str, float | None]:
    """Log throughput errors of the old model (the package under `src`) on the same points."""
    payload = json.dumps([(k, p.model_dump()) for k, p in points])
    models = str(ROOT / "src/polyfleet/workloads/data/models.yaml")
    res = subprocess.run([sys.executable, "-c", BEFORE, src, models], input=payload, capture_output=True, text=True,
                         check=True)
    raw = json.loads(res.stdout)
    out = {}
    for _, p in points:
        v = raw.get(p.id)
        if isinstance(v, str):
            out[p.id] = None                      # not scorable by the old model
        elif v is None or v <= 0:
            out[p.id] = float("nan")              # the old model called it infeasible
        else:
            e = float(np.log(v / p.published))
            out[p.id] = -e if p.metric in ("tpot_s", "ttft_s") else e
    return out


def table(title: str, rows) -> None:
    print(f"\n{title}")
    print(f"  {'group':28s} {'n':>4s} {'median |err|':>13s} {'within 25%':>11s} {'P10':>7s} {'P90':>7s}  goal")
    for s in rows:
        print(f"  {s.group:28s} {s.n:4d} {s.median_abs_error:13.1%} {s.within_25:11.0%} "
              f"{np.expm1(s.p10):+7.0%} {np.expm1(s.p90):+7.0%}  {'met' if s.meets_goal() else 'missed'}")


def pooled_table(title: str, rows) -> None:
    """Pooled figures with each one's range over the fold assignments and the verdict over them."""
    print(f"\n{title}")
    print(f"  {'group':28s} {'n':>4s} {'median |err|':>13s} {'over seeds':>13s} {'within 25%':>11s} "
          f"{'over seeds':>11s}  goal")
    for r in rows:
        s = r.pooled
        print(f"  {s.group:28s} {s.n:4d} {s.median_abs_error:13.1%} {r.median_range[0]:6.1%}-{r.median_range[1]:5.1%} "
              f"{s.within_25:11.1%} {r.within_range[0]:5.0%}-{r.within_range[1]:4.0%}  {r.verdict()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--group", choices=GROUPINGS, default="setup",
                    help="what a fold keeps whole: every measurement of one model on one chip with one stack "
                         "(setup), or one publication (source)")
    ap.add_argument("--seeds", type=int, default=1, help="also print the error pooled over this many fold "
                    "assignments")
    ap.add_argument("--write", action="store_true", help="store the bands in perf/data/bands.yaml")
    ap.add_argument("--band-seeds", type=int, default=5, help="with --write: fold assignments pooled for the bands")
    ap.add_argument("--before", metavar="DIR", help="src/ of the model before this work, to score on the same points")
    args = ap.parse_args()
    ctx = Context()
    cal = load_calibration()
    t0 = time.process_time()
    held = cross_validate(ctx, cal, k=args.folds, seed=args.seed, grouping=args.group,
                          progress=lambda i, k: print(f"fold {i}/{k} fitted", file=sys.stderr))
    print(f"{len(held)} points, {args.folds}-fold cross-validation (seed {args.seed}, folds grouped by {args.group}), "
          f"{time.process_time() - t0:.1f} CPU-s; goal per family: {GOAL}")
    table("Held-out error by family (after)", by_family(held))
    table("Held-out error by family and stack (after)", by_stack(held))
    runs = [held]
    if args.seeds > 1:
        for s in range(args.seed + 1, args.seed + args.seeds):
            runs.append(cross_validate(ctx, cal, k=args.folds, seed=s, grouping=args.group))
        pooled_table(f"Held-out error by family, pooled over seeds {args.seed}..{args.seed + args.seeds - 1} "
                     f"(n counts each point once per seed; the range is one seed's lowest and highest)",
                     spread(runs))
    if args.before:
        old = before_errors(args.before, cal.points(), ctx)
        scored = [h for h in held if old.get(h.point.id) is not None]
        fam_before = {}
        for h in scored:
            fam_before.setdefault(h.family, []).append(old[h.point.id])
        rows = [summarise(f, e) for f, e in sorted(fam_before.items())]
        rows.append(summarise("all", [old[h.point.id] for h in scored]))
        table(f"Before: the earlier model on the same points ({len(scored)} of {len(held)} it can score; "
              "with its stored factors, fitted to the points of its own calibration file)", rows)
    worst = sorted(held, key=lambda h: -abs(h.log_error) if np.isfinite(h.log_error) else -99)[:12]
    print("\nLargest held-out misses:")
    for h in worst:
        print(f"  {h.point.id:40s} {h.error:+7.0%}" if np.isfinite(h.log_error) else f"  {h.point.id:40s} infeasible")
    if args.write:
        # bands pool the held-out errors of --band-seeds fold assignments: one assignment's luck
        # (a group whose few points all fell in an unlucky fold) does not set a band
        for s in range(args.seed + len(runs), args.seed + args.band_seeds):
            runs.append(cross_validate(ctx, cal, k=args.folds, seed=s, grouping=args.group))
        pooled = [h for run in runs[:args.band_seeds] for h in run]
        path = ROOT / "src/polyfleet/perf/data/bands.yaml"
        doc = {"source": f"benchmarks/calibration_cv.py --folds {args.folds} --seed {args.seed} --band-seeds "
                         f"{args.band_seeds} --group {args.group} over {len(held)} points of "
                         "perf/data/calibration.yaml: P10/P90 of held-out log(predicted / published throughput), "
                         "pooled over the fold assignments",
               "rows": [r.model_dump() | {"n": r.n // args.band_seeds} for r in band_rows(pooled)]}
        path.write_text("# Written by benchmarks/calibration_cv.py --write; read by perf/uncertainty.py.\n"
                        + yaml.safe_dump(doc, sort_keys=False, width=110), encoding="utf-8")
        print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
