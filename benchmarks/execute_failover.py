"""Time from losing a Ray node to every moved replica running again, on a local multi-node Ray cluster.

    PYTHONPATH=src python benchmarks/execute_failover.py                   # 10, 25, 50 replicas (minutes on 2 cores)
    PYTHONPATH=src python benchmarks/execute_failover.py --replicas 50 --crash

Six nodes with fake accelerators (2 TPU v6e hosts, 2 p5.48xlarge, 2 trn2.48xlarge; pools sized so the
replicas fill about three quarters of the chips), one service (llama-3.1-8b chat, from
tests/data/scenarios/small-fleet.yaml), replicas as Ray actors doing small numpy work. For each replica
count: apply the placement, kill the node holding the most replicas, and time

- detect: from the kill until the executor's controller (polling every 50 ms) sees the node gone;
- re-place: the failover solve and the stops/launches it orders;
- running: from detection until every started replica answers (what a load balancer waits for);
- total: loss to all moved replicas running.

A graceful node removal tells Ray's GCS at once; `--crash` kills the raylet without notice, so detection
waits for Ray's health checks (set here to 1 s x 3). Each row prints the driver's CPU seconds too.
Wall times include actor process start-up, which is most of the figure, and the machine's load.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import numpy as np

from polyfleet.execute.cluster import start_local_cluster
from polyfleet.execute.ray import RayExecutor
from polyfleet.execute.spec import node_specs
from polyfleet.place import Demand, Fleet, Pool, place
from polyfleet.scenario import load_scenario

SCENARIO = Path(__file__).resolve().parents[1] / "tests" / "data" / "scenarios" / "small-fleet.yaml"
TPU, GPU, TRN2 = "gcp/tpu-v6e-8/us-east5", "aws/p5.48xlarge/us-east-1", "aws/trn2.48xlarge/us-east-2"
HEALTH = {"health_check_initial_delay_ms": 1000, "health_check_period_ms": 1000, "health_check_failure_threshold": 3}


def placement_of(table, pools: dict, n: int):
    """The placement of the chat demand that needs n replicas (the least demand that does, by bisection)."""
    fleet = Fleet(tuple(Pool(p, p, c) for p, c in pools.items()))

    def placed(tokens: float):
        return place(table, fleet, Demand(("chat",), ("all",), np.array([[tokens]])))
    lo, hi = 0.0, 1000.0
    while placed(hi).replicas.sum() < n:
        hi *= 2
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if placed(mid).replicas.sum() < n else (lo, mid)
    return placed(hi)


def one(n: int, crash: bool) -> dict:
    scn = load_scenario(SCENARIO)
    cat = scn.context().catalog
    table = scn.rate_table().subset(workloads=["chat"])
    per_node = 8 * math.ceil(n / 3.75 / 8)      # 5 x per_node replicas fit; n fill about three quarters
    pools = {TPU: 2 * per_node, GPU: 2 * per_node, TRN2: 2 * per_node}
    pl = placement_of(table, pools, n)
    specs = node_specs(pools, {p: p for p in pools}, cat, node_chips=per_node)
    lc = start_local_cluster(specs, system_config=HEALTH if crash else None)
    try:
        ex = RayExecutor(pl, cat, ready_timeout_s=300)
        t0 = time.perf_counter()
        applied = ex.apply()
        apply_s = time.perf_counter() - t0
        per_node_reps: dict[str, int] = {}
        for reps in ex.replicas.values():
            for r in reps:
                per_node_reps[r.nodes[0]] = per_node_reps.get(r.nodes[0], 0) + 1
        victim = max(per_node_reps, key=per_node_reps.get)
        i = next(i for i in range(len(specs)) if lc.node_id(i) == victim)
        cpu0 = time.process_time()
        t_kill = time.perf_counter()
        lc.kill(i, graceful=not crash)
        rec = None
        while rec is None and time.perf_counter() - t_kill < 120:
            rec = ex.check()
            if rec is None:
                time.sleep(0.05)
        t_end = time.perf_counter()
        assert rec is not None, "node loss not seen within 120 s"
        detect = (t_end - t_kill) - rec.running_s
        ex.shutdown()
        return {"replicas": int(pl.replicas.sum()), "apply_s": apply_s, "pending": len(applied["pending"]),
                "on_node": per_node_reps[victim], "lost": len(rec.lost), "started": len(rec.started),
                "stopped": len(rec.stopped), "moved": sum(m.replicas for m in rec.placement.moves if m.to_pool),
                "detect_s": detect, "replace_s": rec.replace_s, "running_s": rec.running_s,
                "total_s": t_end - t_kill, "driver_cpu_s": time.process_time() - cpu0,
                "still_pending": len(rec.pending), "unserved": bool(rec.placement.shortfalls())}
    finally:
        lc.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicas", default="10,25,50", help="comma-separated replica counts")
    ap.add_argument("--crash", action="store_true", help="kill without notice (health-check detection)")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; kill: "
          f"{'crash (health checks 1 s x 3)' if args.crash else 'graceful node removal'}")
    print(f"{'replicas':>8} {'apply s':>8} {'on node':>7} {'lost':>5} {'started':>7} {'stopped':>7} "
          f"{'detect s':>8} {'re-place s':>10} {'running s':>9} {'total s':>8} {'driver CPU s':>12}")
    rows = []
    for n in (int(x) for x in args.replicas.split(",")):
        r = one(n, args.crash)
        rows.append(r)
        print(f"{r['replicas']:>8} {r['apply_s']:>8.1f} {r['on_node']:>7} {r['lost']:>5} {r['started']:>7} "
              f"{r['stopped']:>7} {r['detect_s']:>8.2f} {r['replace_s']:>10.3f} {r['running_s']:>9.2f} "
              f"{r['total_s']:>8.2f} {r['driver_cpu_s']:>12.2f}"
              + (f"  ({r['still_pending']} started replicas not scheduled)" if r["still_pending"] else ""))
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        print(f"growth: {b['replicas'] / a['replicas']:.1f}x replicas -> {b['total_s'] / a['total_s']:.1f}x total time, "
              f"{b['started'] / max(a['started'], 1):.1f}x replicas started")


if __name__ == "__main__":
    main()
