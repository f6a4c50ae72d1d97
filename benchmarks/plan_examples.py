"""Benchmark: every shipped scenario planned end to end, as a user runs it.

Goal (issue 9): every shipped example solves to a 0.5% gap in under 10 s on 2 cores, with a
deterministic work limit (a node limit) rather than the clock, so the answer does not depend on the
machine's load; the default scenario with contracts, clusters and 20 demand paths in under 60 s.
Each case runs `polyfleet plan ...` in a fresh process (imports, rate table, solve, report included)
and prints its wall time, HiGHS's status, gap and nodes, and the plan's cost.

    PYTHONPATH=src python benchmarks/plan_examples.py [--repeat 1] [--compare] [--paths 20]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ["frontier-2026", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples").glob("*.yaml"))]


def run(args: list[str]) -> dict:
    """Wall time and the plan's solver summary of one `polyfleet plan` call."""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", "from polyfleet.cli import main; main()", "plan", *args, "--quiet",
                          "--format", "json"],
                         capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    try:
        doc = json.loads(out.stdout)
    except json.JSONDecodeError:
        return {"wall_s": wall, "status": f"exit {out.returncode}: {out.stderr.strip()[-200:]}"}
    s = doc["solver"]
    row = {"wall_s": wall, "status": s["status"], "gap": s["mip_gap"], "nodes": s["nodes"],
           "solve_s": s["solve_seconds"], "cost_usd": (doc.get("totals") or {}).get("cost_usd")}
    if "paths" in doc:
        p = doc["paths"]
        row.update(status=p["solver"]["status"], gap=p["solver"]["mip_gap"], expected_usd=p["expected_usd"])
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--compare", action="store_true", help="also time --compare on every scenario")
    ap.add_argument("--paths", type=int, default=20, help="demand paths for the default scenario (0: skip)")
    a = ap.parse_args()
    cases = [[s] for s in SCENARIOS]
    if a.compare:
        cases += [[s, "--compare"] for s in SCENARIOS]
    if a.paths:
        cases.append(["frontier-2026", "--paths", str(a.paths)])
    print(f"{'case':<48} {'wall s':>7} {'solve s':>8} {'gap':>8} {'nodes':>6}  status")
    for case in cases:
        for _ in range(a.repeat):
            r = run(case)
            gap = f"{r['gap']:.3%}" if r.get("gap") is not None else "-"
            solve = f"{r['solve_s']:.2f}" if "solve_s" in r else "-"
            print(f"{' '.join(case):<48} {r['wall_s']:7.1f} {solve:>8} {gap:>8} {r.get('nodes', '-'):>6}  "
                  f"{r['status']}", flush=True)


if __name__ == "__main__":
    main()
