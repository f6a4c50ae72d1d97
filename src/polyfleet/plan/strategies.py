"""Variants of one scenario: what diversification costs and what it buys.

`compare()` solves the scenario as the policy asks (caps, survivability), as the least-cost plan
with no risk policy, and restricted to one vendor or one cloud at a time (no risk policy either:
a single-vendor plan cannot survive its vendor's failure by construction). Every plan is then
evaluated under the *same* failure sets, so the table reads: cost premium over the least-cost
plan vs the share of each protected class still served when each failure happens.

`frontier()` sweeps the survivability requirement of the protected classes and records the
cost of each level: the cost-vs-resilience curve.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ..scenario import Scenario
from .api import PlanOptions, as_inputs, plan
from .diagnose import unservable_workloads
from .evaluate import Survivability, evaluate
from .inputs import PlanInputs
from .lockin import lock_in
from .result import PlanResult


@dataclass
class Strategy:
    name: str
    kind: str                                  # policy | least-cost | single-vendor | single-cloud
    status: str
    optimal: bool
    cost_usd: float | None
    mip_gap: float | None
    survivability: Survivability | None
    reason: list[str] = field(default_factory=list)
    mix: dict[str, float] = field(default_factory=dict)     # family -> share of capacity, last month
    solve_seconds: float = 0.0
    result: PlanResult | None = field(default=None, repr=False)   # the plan itself (None if not run)
    lock_in_share: float | None = None           # demand only one of the strategy's vendors can serve
    capacity_lock_in_share: float | None = None  # allocated chip-months serving such workloads

    @property
    def feasible(self) -> bool:
        return self.cost_usd is not None

    def protected_worst(self, protected: Sequence[str]) -> float | None:
        """Worst served share over failure sets and protected classes (None: nothing protected)."""
        if self.survivability is None:
            return None
        cols = [i for i, c in enumerate(self.survivability.classes) if c in protected]
        if not cols:
            return None
        s = self.survivability.served[1:, cols]
        return float(np.nanmin(s)) if s.size and np.isfinite(s).any() else None


@dataclass
class CompareResult:
    strategies: list[Strategy]
    failures: tuple[str, ...]
    labels: tuple[str, ...]
    classes: tuple[str, ...]
    required: np.ndarray
    baseline: str = "least cost (no risk policy)"

    @property
    def protected(self) -> list[str]:
        return [c for c, r in zip(self.classes, self.required) if r > 0]

    def rows(self) -> list[dict]:
        base = next((s.cost_usd for s in self.strategies if s.name == self.baseline), None)
        prot = self.protected
        out = []
        for s in self.strategies:
            row = {"strategy": s.name, "kind": s.kind, "status": s.status, "cost_usd": s.cost_usd,
                   "premium_vs_least_cost": (s.cost_usd / base - 1) if s.cost_usd and base else None,
                   "worst_protected_share": s.protected_worst(prot),
                   "failures_passed": None, "mix": ", ".join(f"{k} {v:.0%}" for k, v in s.mix.items() if v > 0.005),
                   "reason": "; ".join(s.reason[:2]), "lock_in_share": s.lock_in_share,
                   "capacity_lock_in_share": s.capacity_lock_in_share}
            if s.survivability is not None:
                ok = s.survivability.meets()[1:]
                row["failures_passed"] = f"{int(ok.all(axis=1).sum())}/{len(ok)}"
                cols = [i for i, c in enumerate(s.survivability.classes) if c in prot]
                for f, fid in enumerate(self.failures[1:], start=1):
                    vals = s.survivability.served[f, cols] if cols else np.array([s.survivability.served_all[f]])
                    row[f"served:{fid}"] = float(np.nanmin(vals)) if np.isfinite(vals).any() else None
            out.append(row)
        return out


def _mix(res: PlanResult) -> dict[str, float]:
    if not res.feasible:
        return {}
    return {f: v["mw_share" if res.inputs.share_measure == "power" else "chip_share"]
            for f, v in res.mix_by_family().items()}


def _strategy(name: str, kind: str, res: PlanResult, full: PlanInputs, mask: np.ndarray) -> Strategy:
    surv = None
    if res.feasible:
        firm = np.zeros((full.O, full.T))
        firm[mask] = res.firm_chips
        surv = evaluate(full, firm, res.served)
    reason = res.diagnosis.lines() if res.diagnosis is not None else ([] if res.feasible else [res.status_line])
    li = lock_in(res.inputs, res.allocation if res.feasible else None)
    return Strategy(name, kind, res.solution.status, res.solution.optimal, res.total_cost if res.feasible else None,
                    res.solution.mip_gap, surv, reason, _mix(res), res.solution.solve_seconds, res,
                    li.share, li.capacity.chips_share_horizon if li.capacity is not None else None)


def compare(source: Scenario | PlanInputs | str, options: PlanOptions = PlanOptions(),
            policy: PlanResult | None = None, progress: Callable[[str], None] | None = None) -> CompareResult:
    """Policy plan, least-cost plan, and single-vendor / single-cloud plans, under the same failures.
    `source`: as for `plan()` (with `policy`, the scenario it was planned from)."""
    say = progress or (lambda _m: None)
    inp = policy.inputs if policy is not None and not isinstance(source, PlanInputs) else as_inputs(source)
    quick = replace(options, binding=False, survivability=False)
    out: list[Strategy] = []
    everything = np.ones(inp.O, bool)
    say("solving: policy plan")
    pol = policy or plan(inp, quick)
    out.append(_strategy("policy (diversified)", "policy", pol, inp, everything))
    say("solving: least-cost plan")
    free = inp.without_risk_policy()
    out.append(_strategy("least cost (no risk policy)", "least-cost", plan(free, quick), inp, everything))
    for dim, kind in (("vendor", "single-vendor"), ("provider", "single-cloud")):
        vals = inp.facts.values(dim)
        for g in sorted(set(vals)):
            mask = np.array([v == g for v in vals])
            sub = free.restrict(mask, f"{inp.name}: only {g}")
            name = f"only {dim} {g}"
            missing = unservable_workloads(sub)
            if missing:
                out.append(Strategy(name, kind, "not run", False, None, None, None, missing))
                continue
            say(f"solving: {name}")
            res = plan(sub, quick)
            out.append(_strategy(name, kind, res, inp, mask))
            if not res.feasible and sub.supply:
                # what the strategy would cost and survive if the vendor or cloud could supply everything
                say(f"solving: {name} (supply limits lifted)")
                lifted = plan(replace(sub, supply=()), quick)
                out.append(_strategy(f"{name} (supply limits lifted)", kind + "-lifted", lifted, inp, mask))
    return CompareResult(out, ("none", *[c.id for c in inp.contingencies]),
                         ("nothing fails", *[c.label for c in inp.contingencies]), inp.classes, inp.required.copy())


@dataclass
class FrontierPoint:
    level: float
    status: str
    optimal: bool
    cost_usd: float | None
    mip_gap: float | None
    worst_protected_share: float | None
    mix: dict[str, float]


@dataclass
class FrontierResult:
    points: list[FrontierPoint]
    classes: tuple[str, ...]                # the classes the level applies to

    def rows(self) -> list[dict]:
        base = next((p.cost_usd for p in self.points if p.cost_usd is not None), None)
        return [{"required_share": p.level, "status": p.status, "cost_usd": p.cost_usd,
                 "premium_vs_first": (p.cost_usd / base - 1) if p.cost_usd and base else None,
                 "worst_protected_share": p.worst_protected_share, "mip_gap": p.mip_gap,
                 "mix": ", ".join(f"{k} {v:.0%}" for k, v in p.mix.items() if v > 0.005)} for p in self.points]


def frontier(source: Scenario | PlanInputs | str, levels: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0),
             options: PlanOptions = PlanOptions(), progress: Callable[[str], None] | None = None) -> FrontierResult:
    """Cost of requiring `level` of each protected class to survive every failure set.
    `source`: as for `plan()`.

    Protected classes are those the scenario gives a non-zero requirement (all classes if none)."""
    say = progress or (lambda _m: None)
    inp = as_inputs(source)
    protected = inp.required > 0 if (inp.required > 0).any() else np.ones(len(inp.classes), bool)
    quick = replace(options, binding=False, survivability=False)
    points = []
    for lv in levels:
        say(f"solving: {lv:.0%} must survive")
        variant = inp.with_required(np.where(protected, float(lv), 0.0))
        res = plan(variant, quick)
        worst = None
        if res.feasible:
            surv = evaluate(variant, res.firm_chips, res.served)
            names = {c for c, p in zip(inp.classes, protected) if p}
            s = surv.served[1:, [i for i, c in enumerate(surv.classes) if c in names]]
            worst = float(np.nanmin(s)) if s.size and np.isfinite(s).any() else None
        points.append(FrontierPoint(float(lv), res.solution.status, res.solution.optimal,
                                    res.total_cost if res.feasible else None, res.solution.mip_gap, worst, _mix(res)))
    return FrontierResult(points, tuple(c for c, p in zip(inp.classes, protected) if p))
