"""The sensitivity table (tornado): which inputs move the plan's cost most.

Each lever is one input moved to a low and a high end, everything else held, and the plan solved
again: prices per vendor (x0.8 / x1.2), demand per workload (x0.75 / x1.25), rates per chip family
(the held-out error band P10 / P90 of each modelled cell when the rate table has one - measured
cells keep their rate - else x0.85 / x1.15), each power limit and each supply limit (x0.8 / x1.2).
Rows are sorted by swing (|cost at high - cost at low|); an end with no plan is shown as such and
sorts first, since no swing is larger than losing the plan. Solves are the MILP at the plan's gap
by default, or the LP relaxation (`relax`), which is faster and whose swings differ by at most the
rounding of whole units. The cost compared is the solver's objective: the plan's cost over the horizon
(plus the scenario's loss-CVaR term when it has one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from .heuristic import solve_plan
from .inputs import PlanInputs
from .model import build
from .solve import SolveOptions, solve

PRICE, DEMAND, RATE, LIMIT = 0.2, 0.25, 0.15, 0.2


@dataclass(frozen=True)
class Lever:
    """One input at its two ends."""

    name: str
    kind: str                     # price, demand, rate, power, supply
    low_label: str
    high_label: str
    low: PlanInputs
    high: PlanInputs


def _scaled(label: float) -> tuple[str, str]:
    return f"-{label:.0%}", f"+{label:.0%}"


def price_levers(inp: PlanInputs, d: float = PRICE) -> list[Lever]:
    """Every price of one vendor (all terms) x (1 -/+ d); commitments held before the horizon keep theirs."""
    out = []
    for v in sorted(set(inp.facts.vendor)):
        mask = np.array([x == v for x in inp.facts.vendor])[:, None]
        ends = [replace(inp, price=np.where(mask, inp.price * f, inp.price)) for f in (1 - d, 1 + d)]
        out.append(Lever(f"price {v}", "price", *_scaled(d), *ends))
    return out


def demand_levers(inp: PlanInputs, d: float = DEMAND) -> list[Lever]:
    """One workload's demand (or a run's tokens) x (1 -/+ d)."""
    out = []
    for w, wid in enumerate(inp.workloads):
        ends = []
        for f in (1 - d, 1 + d):
            dem, tok = inp.demand.copy(), inp.window_tokens.copy()
            dem[w] *= f
            tok[w] *= f
            ends.append(replace(inp, demand=dem, window_tokens=tok))
        out.append(Lever(f"demand {wid}", "demand", *_scaled(d), *ends))
    return out


def rate_levers(inp: PlanInputs, rate_low: np.ndarray | None = None, rate_high: np.ndarray | None = None,
                d: float = RATE) -> list[Lever]:
    """Every rate of one chip family at the low / high end of its band (or x (1 -/+ d) without one)."""
    band = rate_low is not None and rate_high is not None and (
        np.any(rate_low != inp.rate) or np.any(rate_high != inp.rate))
    lo = rate_low if band else inp.rate * (1 - d)
    hi = rate_high if band else inp.rate * (1 + d)
    labels = ("P10", "P90") if band else _scaled(d)
    out = []
    for fam in sorted(set(inp.facts.family)):
        mask = np.array([x == fam for x in inp.facts.family])[None, :]
        ends = [replace(inp, rate=np.where(mask, r, inp.rate)) for r in (lo, hi)]
        out.append(Lever(f"rates {fam}", "rate", *labels, *ends))
    return out


def limit_levers(inp: PlanInputs, d: float = LIMIT) -> list[Lever]:
    """Each power limit's MW and each supply limit's chips and ramp x (1 -/+ d)."""
    out = []
    for i, p in enumerate(inp.power):
        ends = [replace(inp, power=inp.power[:i] + (replace(p, mw=p.mw * f),) + inp.power[i + 1:])
                for f in (1 - d, 1 + d)]
        out.append(Lever(f"power {p.name}", "power", *_scaled(d), *ends))
    for i, s in enumerate(inp.supply):
        ends = []
        for f in (1 - d, 1 + d):
            new = replace(s, max_chips=None if s.max_chips is None else s.max_chips * f,
                          ramp=None if s.ramp is None else s.ramp * f)
            ends.append(replace(inp, supply=inp.supply[:i] + (new,) + inp.supply[i + 1:]))
        out.append(Lever(f"supply {s.name}", "supply", *_scaled(d), *ends))
    return out


def levers(inp: PlanInputs, rate_low: np.ndarray | None = None, rate_high: np.ndarray | None = None) -> list[Lever]:
    return [*price_levers(inp), *demand_levers(inp), *rate_levers(inp, rate_low, rate_high), *limit_levers(inp)]


@dataclass(frozen=True)
class Sensitivity:
    """The tornado: the base cost and one row per lever, sorted by swing."""

    base_usd: float | None
    method: str
    rows: list[dict]

    def to_dict(self) -> dict:
        return {"base_usd": self.base_usd, "method": self.method, "rows": self.rows}


def cost_of(inp: PlanInputs, options: SolveOptions, relax: bool) -> tuple[float | None, str]:
    """(objective in USD or None, status) of one solve: the MILP as `plan` solves it, or its LP relaxation."""
    model = build(inp)
    sol = solve(model, options, relax=True) if relax else solve_plan(inp, model, options)[0]
    return (sol.objective if sol.has_solution else None), sol.status


def sensitivity(inp: PlanInputs, options: SolveOptions = SolveOptions(), rate_low: np.ndarray | None = None,
                rate_high: np.ndarray | None = None, relax: bool = False,
                progress: Callable[[str], None] | None = None) -> Sensitivity:
    """Solve the plan at both ends of every lever; see the module note."""
    say = progress or (lambda _m: None)
    base, _ = cost_of(inp, options, relax)
    rows = []
    all_levers = levers(inp, rate_low, rate_high)
    for i, lv in enumerate(all_levers):
        say(f"sensitivity {i + 1}/{len(all_levers)}: {lv.name}")
        (lo, s_lo), (hi, s_hi) = cost_of(lv.low, options, relax), cost_of(lv.high, options, relax)
        both = lo is not None and hi is not None
        swing = abs(hi - lo) if both else float("inf")
        rows.append({"input": lv.name, "kind": lv.kind, "low": lv.low_label, "high": lv.high_label,
                     "cost_low_usd": lo, "cost_high_usd": hi, "status_low": s_lo, "status_high": s_hi,
                     "swing_usd": swing if both else None, "infeasible_end": not both,
                     "swing_share": swing / base if both and base else None, "_key": swing})
    rows.sort(key=lambda r: -r["_key"])
    for r in rows:
        del r["_key"]
    method = "LP relaxation" if relax else f"MILP at a {options.mip_rel_gap:.2%} gap"
    return Sensitivity(base, method, rows)
