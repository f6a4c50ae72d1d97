"""The contract binaries (sign, exercise, cancel) solved by enumeration with LP bounds.

Signing a contract or not is a genuine all-or-nothing choice: the LP relaxation takes a fraction of
a deal, so its bound sits a few percent below the best plan, and HiGHS spends minutes in root cuts
closing a gap that a handful of binaries explain (measured: 83 s on frontier-2026 with every deal a
free choice). With B <= MAX_ENUMERATED binaries this module instead:

1. solves the LP relaxation with the binaries fixed, for each of the 2^B choices (a bound for each;
   infeasible choices drop out);
2. solves the MILP with the binaries fixed, choice by choice in order of bound, until the next bound
   cannot beat the best plan by more than the MIP gap.

The plan returned is proven within the gap over every choice: its gap is measured against the lowest
of the solved choices' dual bounds and the unsolved choices' LP bounds. Deterministic, no time limit.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from ..solvers import Milp, Solution
from .solve import SolveOptions, solve

MAX_ENUMERATED = 6
CONTRACT_BINARIES = ("cu", "cy")


def contract_binaries(model: Milp) -> np.ndarray:
    """Column indices of the contract binaries."""
    parts = [model.cols[k][model.cols[k] >= 0] for k in CONTRACT_BINARIES if k in model.cols]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


def _fixed(model: Milp, cols: np.ndarray, values: tuple[int, ...]) -> Milp:
    lo, hi = model.col_lo.copy(), model.col_hi.copy()
    v = np.asarray(values, float)
    lo[cols] = np.maximum(lo[cols], v)
    hi[cols] = np.minimum(hi[cols], v)
    return replace(model, col_lo=lo, col_hi=hi)


Solved = tuple[Solution, Solution | None]          # (MIP solution, its LP relaxation)


def solve_over_deals(model: Milp, options: SolveOptions, solve_fixed: Callable[[Milp], Solved]) -> Solved:
    """(best MIP solution, its LP relaxation) over every choice of the contract binaries."""
    t0 = time.perf_counter()
    cols = contract_binaries(model)
    bounds = []
    for combo in itertools.product((0, 1), repeat=len(cols)):
        lp = solve(_fixed(model, cols, combo), options, relax=True)
        if lp.has_solution:
            bounds.append((float(lp.objective), combo))
    if not bounds:                         # no choice is feasible: let HiGHS say so on the whole model
        return solve_fixed(model)
    bounds.sort()
    best: Solved | None = None
    lower, solved, all_optimal = [], 0, True
    for b, combo in bounds:
        if best is not None and b >= best[0].objective - options.mip_rel_gap * abs(best[0].objective):
            lower.append(b)
            break
        sol = solve_fixed(_fixed(model, cols, combo))
        solved += 1
        if not sol[0].has_solution:
            if sol[0].status not in ("Infeasible",):
                lower.append(b)
                all_optimal = False
            continue
        lower.append(sol[0].dual_bound if sol[0].dual_bound is not None else b)
        all_optimal &= sol[0].optimal
        if best is None or sol[0].objective < best[0].objective:
            best = sol
    if best is None:
        return solve_fixed(model)
    sol, lp = best
    bound = min(lower)
    gap = max(sol.objective - bound, 0.0) / max(abs(sol.objective), 1e-9)
    sol.mip_gap, sol.dual_bound = gap, bound
    sol.optimal = all_optimal and gap <= options.mip_rel_gap + 1e-12
    sol.status = "Optimal" if sol.optimal else sol.status
    sol.start = (f"{sol.start}; contract binaries enumerated: {solved} of {2 ** len(cols)} choices solved, the rest "
                 "bounded by their LP")
    sol.solve_seconds = time.perf_counter() - t0
    return sol, lp


__all__ = ["CONTRACT_BINARIES", "MAX_ENUMERATED", "contract_binaries", "solve_over_deals"]
