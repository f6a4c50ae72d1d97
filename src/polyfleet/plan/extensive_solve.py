"""Solving the extensive form of a two-stage plan (`extensive.py`) in seconds rather than minutes.

HiGHS on the whole MILP spends its time in root heuristics looking for a first plan; the LP relaxation of
the extensive form solves in a few seconds and is nearly integral. So: solve the LP (a proven lower
bound), round the reference path's commitments to whole units the way `heuristic.start_point` does for one
plan (tightening a limit the rounding breaks and re-solving), fix the first stage there and let HiGHS
finish the rest (only the reference path's on-demand/spot stay integer) from the rounded point, with a
node limit rather than a clock. The gap reported is against the whole problem's LP bound.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from .. import solvers
from ..solvers import Milp, Solution
from .extensive import COST_SCALE, Extensive, first_stage
from .heuristic import REPAIRABLE_KINDS, round_up
from .solve import SolveOptions

if TYPE_CHECKING:
    from .stochastic import StochasticOptions


def solve_extensive(ext: Extensive, options: SolveOptions, sto: StochasticOptions,
                    fixed: np.ndarray | None = None) -> Solution:
    """Solve the extensive form: its LP relaxation (a proven lower bound), the reference path's
    commitments rounded from it (`heuristic.round_up`: cumulative starts, shortfalls on on-demand) unless
    `fixed` gives them, then HiGHS on the rest with the first stage fixed, from the rounded point.
    The gap is measured against the LP bound of the whole problem; `exact` solves the whole MILP instead."""
    h_lp = solvers.load(_fix(ext, fixed), options.highs(), relax=True)
    lp = solvers.run(h_lp, _fix(ext, fixed), relax=True, guard=False)
    if not lp.has_solution:
        return lp
    given = fixed is not None
    if not sto.exact:
        first, x = (fixed, lp.x) if given else _round_first_stage(ext, h_lp, lp.x)
        if first is not None:
            milp = _fix(ext, first)
            sol = solvers.run(solvers.load(milp, _highs(options, sto), verbose=options.verbose), milp,
                              start=_start(ext, milp, x, sto))
            if sol.has_solution or given:
                return _against_bound(sol, lp, options, given)
    milp = _fix(ext, fixed)             # the whole MILP: asked for, or the rounding found no whole first stage
    return solvers.run(solvers.load(milp, _highs(options, sto), verbose=options.verbose), milp)


def _round_first_stage(ext: Extensive, h_lp, x: np.ndarray, rounds: int = 8) -> tuple[np.ndarray | None, np.ndarray]:
    """Whole first-stage units from the LP point, as `heuristic.start_point` does for one plan: round the
    reference path's units up; where that breaks one of its limit rows, tighten that row by more than the
    overshoot and re-solve the LP (warm). Returns (first-stage values or None, the LP point used)."""
    m, ref = ext.models[ext.ref], ext.ref
    r0, sl = int(ext.row_start[ref]), ext.cols_of(ref)
    limit = np.concatenate([b.rows for b in m.row_blocks if b.kind in REPAIRABLE_KINDS] or [np.zeros(0, int)])
    hi0 = ext.milp.row_hi.copy()
    tight = hi0.copy()
    found = None
    for it in range(rounds):
        xr = round_up(ext.inputs[ref], m, x[sl])
        if xr is None:
            break
        viol = solvers.row_violations(m, xr)
        if not viol.any():
            found = xr[first_stage(m, ext.first)]
            break
        rows = np.flatnonzero(viol > 0)
        if not np.isin(rows, limit).all():
            break
        g = rows + r0
        tight[g] -= viol[rows] * 2.0 ** (it + 1) + 1e-4 * np.maximum(1.0, np.abs(hi0[g]))
        solvers.set_row_bounds(h_lp, g, ext.milp.row_lo[g], tight[g])
        again = solvers.run(h_lp, ext.milp, relax=True, guard=False)
        if not again.has_solution:
            break
        x = again.x
    changed = np.flatnonzero(tight != hi0)
    if len(changed):
        solvers.set_row_bounds(h_lp, changed, ext.milp.row_lo[changed], hi0[changed])
    return found, x


def _highs(options: SolveOptions, sto: StochasticOptions) -> dict:
    return {**options.highs(), "mip_max_nodes": int(sto.max_nodes)}


def _fix(ext: Extensive, fixed: np.ndarray | None) -> Milp:
    """The extensive form with the reference path's first-stage columns fixed (and so every path's)."""
    if fixed is None:
        return ext.milp
    idx = first_stage(ext.models[ext.ref], ext.first) + ext.col_start[ext.ref]
    lo, hi = ext.milp.col_lo.copy(), ext.milp.col_hi.copy()
    lo[idx] = hi[idx] = fixed
    return replace(ext.milp, col_lo=lo, col_hi=hi)


def _start(ext: Extensive, milp: Milp, x: np.ndarray, sto: StochasticOptions) -> np.ndarray | None:
    """The LP point with the reference path's units rounded up and the CVaR columns recomputed; None when
    the rounding breaks a limit."""
    x = x.copy()
    xr = round_up(ext.inputs[ext.ref], ext.models[ext.ref], x[ext.cols_of(ext.ref)])
    if xr is None:
        return None
    x[ext.cols_of(ext.ref)] = xr
    if ext.z is not None:
        costs = np.array([ext.cost_of(s, x) for s in range(len(ext.models))])
        excess = np.maximum(costs[None, :] - costs[:, None], 0.0) @ ext.prob
        eta = costs[int(np.argmin(costs + excess / (1.0 - sto.alpha)))]
        x[ext.z] = costs / COST_SCALE
        x[ext.z[-1] + 1] = eta / COST_SCALE
        x[ext.z + len(costs) + 1] = np.maximum(costs - eta, 0.0) / COST_SCALE
    return None if solvers.row_violations(milp, x).any() else x


def _against_bound(sol: Solution, lp: Solution, options: SolveOptions, given: bool) -> Solution:
    """The fixed-first-stage solution with its gap to the whole problem's LP bound (HiGHS's own gap is only
    that of the fixed problem)."""
    if not sol.has_solution:
        return sol
    bound = float(lp.objective)
    gap = max(0.0, (sol.objective - bound) / max(abs(sol.objective), 1e-9))
    how = "first stage fixed as given" if given else "first stage rounded from the LP relaxation"
    sol.status = f"{sol.status} ({how}; {gap:.3%} above the LP bound)"
    sol.optimal = bool(sol.optimal and gap <= options.mip_rel_gap)
    sol.mip_gap, sol.dual_bound, sol.start = gap, bound, how
    return sol
