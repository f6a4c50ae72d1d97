"""Rate-table build time: all built-in models x all built-in offerings x 50 request mixes.

    python benchmarks/ratetable_build.py [--mixes 50] [--repeat 5]

Prints the median wall time of `build_rate_table` (catalog and models already loaded).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from polyfleet.perf import Context, build_rate_table  # noqa: E402
from polyfleet.workloads import InferenceService, RequestMix  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mixes", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    ctx = Context()
    rng = np.random.default_rng(0)
    mixes = [RequestMix.single(int(i), int(o))
             for i, o in zip(rng.integers(50, 8000, args.mixes), rng.integers(20, 2000, args.mixes))]
    services = [InferenceService(id=f"{m.id}/{k}", model=m.id, mix=mix) for m in ctx.models for k, mix in enumerate(mixes)]
    build_rate_table(services, ctx=ctx)  # warm caches (catalog, imports)
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        table = build_rate_table(services, ctx=ctx)
        times.append(time.perf_counter() - t0)
    print(f"workloads={len(table.workloads)} offerings={len(table.offerings)} "
          f"accelerators={len(set(table.accelerator))} cells={table.rate.size}")
    print(f"build_rate_table median {statistics.median(times):.3f} s (min {min(times):.3f}, max {max(times):.3f})")


if __name__ == "__main__":
    main()
