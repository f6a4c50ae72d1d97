"""Rate-table build time: all built-in models x all built-in offerings x 50 request mixes.

    python benchmarks/ratetable_build.py [--mixes 50] [--repeat 5] [--models ID,ID,...]

Prints the median wall and CPU time of `build_rate_table` (catalog and models already loaded).
CPU time is the figure to compare on a shared machine. `--models` restricts the library (the
foundation's 0.22 s was measured on its 9 models: llama-2-7b, llama-2-70b, llama-3-8b,
llama-3.1-8b, llama-3.1-70b, llama-3.3-70b, llama-3.1-405b, mixtral-8x7b, deepseek-v3).
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
    ap.add_argument("--models", help="comma-separated model ids (default: every built-in model)")
    args = ap.parse_args()
    ctx = Context()
    chosen = [ctx.models.get(m) for m in args.models.split(",")] if args.models else list(ctx.models)
    rng = np.random.default_rng(0)
    mixes = [RequestMix.single(int(i), int(o))
             for i, o in zip(rng.integers(50, 8000, args.mixes), rng.integers(20, 2000, args.mixes))]
    services = [InferenceService(id=f"{m.id}/{k}", model=m.id, mix=mix) for m in chosen for k, mix in enumerate(mixes)]
    build_rate_table(services, ctx=ctx)  # warm caches (catalog, imports)
    times, cpu = [], []
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        table = build_rate_table(services, ctx=ctx)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(f"workloads={len(table.workloads)} offerings={len(table.offerings)} "
          f"accelerators={len(set(table.accelerator))} cells={table.rate.size}")
    print(f"build_rate_table median {statistics.median(times):.3f} s wall (min {min(times):.3f}, max {max(times):.3f}); "
          f"median {statistics.median(cpu):.3f} CPU-s")


if __name__ == "__main__":
    main()
