"""A starting plan for HiGHS: the LP relaxation rounded up to whole units, repaired against the limits.

Units are many and large, so the LP optimum is nearly integral in value; what makes the MIP slow on
big instances is finding a first plan that respects every limit at once. This heuristic:

1. rounds the LP's units up: on-demand and spot to the next unit; commitments by rounding the
   *cumulative* starts up (so active commitments never fall more than one unit short), with any
   shortfall covered by one more on-demand unit. Firm capacity can only grow, so demand and
   every survivability re-allocation of the LP still hold;
2. checks the limits (supply, ramp, power, caps, budget) the rounding may have pushed over;
3. tightens exactly those rows by their overshoot, re-solves the LP (warm) and repeats.

The result, when it passes every row, is handed to HiGHS as its first incumbent: the MIP then
starts with a gap near the rounding cost instead of searching for any plan at all.
"""

from __future__ import annotations

import numpy as np

import time
from dataclasses import replace

from .inputs import C1, C3, OD, SPOT, TERM_MONTHS, TERMS, PlanInputs
from .milp import Milp
from .solve import Solution, SolveOptions, load, read, solve

LIMIT_KINDS = ("supply", "ramp", "power", "cap", "budget")


def _held(n: np.ndarray) -> np.ndarray:
    """[O, K, T] units held by term from units bought / commitments started."""
    held = n.copy()
    for k in (C1, C3):
        c = np.cumsum(n[:, k, :], axis=1)
        L = TERM_MONTHS[k]
        prev = np.zeros_like(c)
        prev[:, L:] = c[:, :-L]
        held[:, k, :] = c - prev
    return held


def round_up(inp: PlanInputs, model: Milp, x: np.ndarray) -> np.ndarray | None:
    """The LP point with whole units whose firm capacity is never below the LP's."""
    out = x.copy()
    idx = model.cols["n"]
    ok = idx >= 0
    n = np.zeros(idx.shape)
    n[ok] = x[idx[ok]]
    n = np.maximum(n, 0.0)
    hi = np.where(ok, model.col_hi[np.maximum(idx, 0)], 0.0)
    r = np.zeros_like(n)
    eps = 1e-6
    r[:, OD] = np.ceil(n[:, OD] - eps)
    r[:, SPOT] = np.ceil(n[:, SPOT] - eps)
    for k in (C1, C3):
        cum = np.ceil(np.cumsum(n[:, k, :], axis=1) - eps)
        r[:, k] = np.diff(np.concatenate([np.zeros((n.shape[0], 1)), cum], axis=1), axis=1)
    short = np.clip(_held(n)[:, [C1, C3]] - _held(r)[:, [C1, C3]], 0.0, None).sum(axis=1)   # [O, T] < 2 units
    r[:, OD] += np.ceil(short - eps)
    if (r > hi + eps).any():
        return None                                 # a unit bound (lead time, spot cap) is in the way
    out[idx[ok]] = r[ok]
    held = _held(r) + inp.fleet_commit
    H = held.sum(axis=1)
    chips = inp.unit_chips.astype(float)
    F = chips[:, None] * (H - (1.0 - inp.spot_avail)[:, None] * r[:, SPOT])
    out[model.cols["H"]] = H
    out[model.cols["F"]] = F
    if "b" in model.cols:
        b = model.cols["b"]
        okb = b >= 0
        out[b[okb]] = np.ceil(x[b[okb]] - eps)
    return out


def violations(model: Milp, x: np.ndarray, tol: float = 1e-7) -> np.ndarray:
    """[rows] how far each row is outside its bounds (0 = inside), relative tolerance `tol`."""
    act = model.A @ x
    slack = tol * np.maximum(1.0, np.abs(act))
    over = np.where(np.isfinite(model.row_hi), act - model.row_hi - slack, 0.0)
    under = np.where(np.isfinite(model.row_lo), model.row_lo - act - slack, 0.0)
    return np.maximum(np.maximum(over, under), 0.0)


def start_point(inp: PlanInputs, model: Milp, highs, x_lp: np.ndarray, rounds: int = 4) -> np.ndarray | None:
    """A feasible integral point near the LP optimum, or None. `highs` holds the LP (it is re-solved warm
    with tightened limit rows; its row bounds are restored before returning)."""
    limit_rows = np.concatenate([b.rows for b in model.row_blocks if b.kind in LIMIT_KINDS] or [np.zeros(0, int)])
    if (model.integer & ~_integral_cols(model)).any():
        return None                                     # integers the rounding does not know (none today)
    hi0 = model.row_hi.copy()
    tightened = hi0.copy()
    x = x_lp
    found = None
    for _ in range(rounds):
        cand = round_up(inp, model, x)
        if cand is None:
            break
        viol = violations(model, cand)
        if not viol.any():
            found = cand
            break
        rows = np.flatnonzero(viol > 0)
        if not np.isin(rows, limit_rows).all():
            break                                       # a row the tightening cannot fix
        tightened[rows] -= viol[rows] * 1.5 + 1e-6 * np.maximum(1.0, np.abs(hi0[rows]))
        highs.changeRowsBounds(len(rows), rows.astype(np.int32), model.row_lo[rows], tightened[rows])
        highs.run()
        sol = highs.getSolution()
        if highs.getInfo().primal_solution_status < 2:
            break
        x = np.asarray(sol.col_value)
    changed = np.flatnonzero(tightened != hi0)
    if len(changed):
        highs.changeRowsBounds(len(changed), changed.astype(np.int32), model.row_lo[changed], hi0[changed])
    return found


def _integral_cols(model: Milp) -> np.ndarray:
    known = np.zeros(model.num_cols, bool)
    for name in ("n", "b"):
        if name in model.cols:
            idx = model.cols[name]
            known[idx[idx >= 0]] = True
    return known


__all__ = ["round_up", "start_point", "violations", "TERMS"]


def solve_plan(inp: PlanInputs, model: Milp, options: SolveOptions) -> tuple[Solution, Solution | None]:
    """(MIP solution, LP relaxation solution). With `options.start_heuristic`, the LP relaxation is solved
    first, rounded and repaired into a first plan for HiGHS; its duals serve the binding-limit report.
    The MIP's solve_seconds include the LP and the rounding."""
    if not options.start_heuristic or not model.integer.any():
        return solve(model, options), None
    t0 = time.perf_counter()
    h_lp = load(model, options, relax=True)
    h_lp.run()
    lp = read(h_lp, model, True, time.perf_counter() - t0)
    if not lp.has_solution:                 # the LP is infeasible, so is the MIP: let HiGHS say so
        mip = solve(model, options)
        mip.solve_seconds += lp.solve_seconds
        mip.lp_seconds = lp.solve_seconds
        return mip, lp
    start = start_point(inp, model, h_lp, lp.x)
    t1 = time.perf_counter()
    left = max(1.0, options.time_limit - (t1 - t0))
    mip = solve(model, replace(options, time_limit=left), start=start)
    mip.solve_seconds += t1 - t0
    mip.lp_seconds = t1 - t0
    mip.start = "rounded LP" if start is not None else "none (rounding failed)"
    return mip, lp
