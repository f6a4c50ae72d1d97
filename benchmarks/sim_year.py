"""One simulated run of the default scenario (its whole horizon), and how its cost grows with chips,
customers and step.

    python benchmarks/sim_year.py [--scenario frontier-2026] [--out benchmarks/out]

Plans the scenario, then times `simulate` (CPU seconds of this process, so that other load on the
machine does not inflate it) on a sampled timeline of faults: once cold (every fleet
state placed for the first time) and once warm (the month's normal placements remembered, as in
a Monte Carlo worker). The sweep scales the fleet and demand, the customer count and the step,
one at a time, and writes the figure `sim_scaling.svg` into --out.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from polyfleet.plan import plan  # noqa: E402
from polyfleet.report import plots  # noqa: E402
from polyfleet.scenario import load_scenario  # noqa: E402
from polyfleet.sim.build import setup_from_plan  # noqa: E402
from polyfleet.sim.customers import draw_customers  # noqa: E402
from polyfleet.sim.faults import sample_timeline  # noqa: E402
from polyfleet.sim.fleet import simulate  # noqa: E402


def timed(setup, events, seed: int = 1) -> tuple[float, object]:
    t0 = time.process_time()
    run = simulate(setup, events, np.random.default_rng(seed))
    return time.process_time() - t0, run


def scaled(setup, k: float):
    s = setup.schedule
    sched = replace(s, firm=s.firm * k, spot=s.spot * k, committed=s.committed * k, cost=s.cost * k)
    return replace(setup, schedule=sched, demand=setup.demand * k, run_chips=setup.runs * k, placements={})


def with_customers(setup, k: float):
    c = setup.customers
    counts = np.bincount(c.tier, minlength=len(setup.classes)) * k
    traffic = np.maximum(c.groups.astype(float), 1e-9)        # keep each tier's spread over services
    cust = draw_customers(np.round(counts).astype(int), traffic, setup.options.customers, np.random.default_rng(0))
    return replace(setup, customers=cust, placements={})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="frontier-2026")
    ap.add_argument("--out", default="benchmarks/out")
    ap.add_argument("--no-sweep", action="store_true")
    args = ap.parse_args()
    scn = load_scenario(args.scenario)
    t0 = time.perf_counter()
    result = plan(scn)
    setup = setup_from_plan(scn, result)
    print(f"plan + setup: {time.perf_counter() - t0:.2f} s")
    months = setup.months
    events = sample_timeline(setup.faults, setup.universe, setup.horizon_s, np.random.default_rng(7),
                             month_s=setup.month_s)
    chips = setup.schedule.chips[:, :months].max(axis=1).sum()
    cold, run = timed(setup, events)
    warm, _ = timed(setup, events)
    n_steps = setup.n_steps
    print(f"one run: {months} months, {setup.options.step_minutes:g}-minute steps ({n_steps:,}), "
          f"{chips:,.0f} chips at peak, {run.customers:,} customers, {len(events)} fault events, "
          f"{run.placements} fleet states placed")
    print(f"simulate: cold {cold:.2f} CPU-s, warm {warm:.2f} CPU-s")
    if args.no_sweep:
        return
    sweeps = {}
    rows = []
    for k in (0.25, 0.5, 1, 2, 4):
        t, _ = timed(scaled(setup, k), events)
        rows.append(("chips x", k, t))
    sweeps["chips x k (k = 0.25 .. 4)"] = [r for r in rows if r[0] == "chips x"]
    for k in (0.1, 1, 3):
        t, _ = timed(with_customers(setup, k), events)
        rows.append(("customers x", k, t))
    for step in (60, 15, 5, 1):
        s2 = replace(setup, options=setup.options.model_copy(update={"step_minutes": float(step)}), placements={})
        t, _ = timed(s2, events)
        rows.append(("step minutes", step, t))
    for what, k, t in rows:
        print(f"  {what:13s} {k:>6g}: {t:6.2f} CPU-s (cold)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(10, 3))
    for ax, what, xlabel in zip(axes, ("chips x", "customers x", "step minutes"),
                                (f"fleet and demand x ({chips:,.0f} chips = 1)",
                                 f"customers x ({run.customers:,} = 1)", "step (minutes)")):
        pts = [(k, t) for w, k, t in rows if w == what]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-")
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("CPU seconds per simulated run")
        ax.set_ylim(bottom=0)
    fig.suptitle("polyfleet simulate: cost of one simulated run (cold placements)")
    (out / "sim_scaling.svg").write_text(plots.to_svg(fig), encoding="utf-8")
    print(f"wrote {out / 'sim_scaling.svg'}")


if __name__ == "__main__":
    main()
