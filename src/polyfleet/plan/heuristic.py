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

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .. import solvers
from ..solvers import Incumbent, Milp, Solution, row_violations
from .contracts import contract_units
from .deal_search import CONTRACT_BINARIES, MAX_ENUMERATED, contract_binaries, solve_over_deals
from .inputs import C1, C3, OD, SPOT, TERM_MONTHS, PlanInputs
from .solve import SolveOptions, load_highs, solve

REPAIRABLE_KINDS = ("supply", "ramp", "power", "cap", "budget", "site")
START_ABS_TOL = 1e-5        # chips: LP residuals on rows summing ~1e6-chip contract columns reach a few 1e-6


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
    """The LP point with whole units whose firm capacity is never below the LP's.

    Commitments are rounded on their cumulative starts, floor(cumulative + theta), with theta chosen per
    offering and term among a few values: rounding up commits a unit from the month the cumulative
    crosses a whole number to the end of its term; rounding down leaves a fraction to cover with
    on-demand units for the months it is short. Whichever costs less wins."""
    out = x.copy()
    idx = model.cols["n"]
    ok = idx >= 0
    n = np.zeros(idx.shape)
    n[ok] = x[idx[ok]]
    n = np.maximum(n, 0.0)
    hi = np.where(ok, model.col_hi[np.maximum(idx, 0)], 0.0)
    cost = np.where(ok, model.cost[np.maximum(idx, 0)], 0.0)               # objective per unit [O, K, T]
    eps = 1e-6
    held_lp = _held(n)
    od_base = np.ceil(n[:, OD] - eps)
    r = np.zeros_like(n)
    short_total = np.zeros(n[:, OD].shape)
    for k in (C1, C3):
        cum = np.cumsum(n[:, k, :], axis=1)
        best_cost = np.full(n.shape[0], np.inf)
        best_starts = np.zeros_like(cum)
        best_short = np.zeros_like(cum)
        for theta in (1.0 - eps, 0.75, 0.5, 0.25, 0.0):
            c = np.floor(cum + theta)
            starts = np.diff(np.concatenate([np.zeros((n.shape[0], 1)), c], axis=1), axis=1)
            trial = np.zeros_like(n)
            trial[:, k] = starts
            short = np.clip(held_lp[:, k] - _held(trial)[:, k], 0.0, None)
            fill = np.ceil(n[:, OD] + short_total + short - eps) - np.ceil(n[:, OD] + short_total - eps)
            fill_cost = np.where(fill > 0, np.where(hi[:, OD] > 0, fill * cost[:, OD], np.inf), 0.0).sum(axis=1)
            total = (starts * cost[:, k]).sum(axis=1) + fill_cost
            better = total < best_cost - 1e-9
            best_cost = np.where(better, total, best_cost)
            best_starts[better] = starts[better]
            best_short[better] = short[better]
        r[:, k] = best_starts
        short_total += best_short
    r[:, OD] = np.maximum(np.ceil(n[:, OD] + short_total - eps), od_base)
    r[:, SPOT] = np.ceil(n[:, SPOT] - eps)
    if (r > hi + eps).any():
        return None                                 # a unit bound (lead time, spot cap) is in the way
    out[idx[ok]] = r[ok]
    held = _held(r) + inp.fleet_commit
    H = held.sum(axis=1) + contract_units(inp, model, x)
    chips = inp.unit_chips.astype(float)
    F = chips[:, None] * (H - (1.0 - inp.spot_avail)[:, None] * r[:, SPOT])
    out[model.cols["H"]] = H
    out[model.cols["F"]] = F
    if "b" in model.cols:
        b = model.cols["b"]
        okb = b >= 0
        out[b[okb]] = np.ceil(x[b[okb]] - eps)
    if "site_mw" in model.cols:
        _sites_follow(inp, model, x, out, H)
    return out


def _sites_follow(inp: PlanInputs, model: Milp, x: np.ndarray, out: np.ndarray, H: np.ndarray) -> None:
    """Site draws follow the rounded units (split over sites as the LP split them, else evenly); a site
    the LP ordered at all is ordered in the first month the LP started ordering it."""
    u_idx = model.cols["site_mw"]                                         # [S, O, T]
    ok = u_idx >= 0
    u_lp = np.where(ok, x[np.maximum(u_idx, 0)], 0.0)
    split = np.where(ok, 1.0, 0.0)
    split = np.where(u_lp.sum(axis=0, keepdims=True) > 1e-9, u_lp, split)
    split = split / np.maximum(split.sum(axis=0, keepdims=True), 1e-12)
    draw = (np.nan_to_num(inp.mw_per_chip, nan=0.0) * inp.unit_chips)[:, None] * H    # [O, T] MW
    out[u_idx[ok]] = (split * draw[None, :, :])[ok]
    if "site_order" in model.cols:
        y_idx = model.cols["site_order"]                                   # [S, T]
        oky = y_idx >= 0
        y = np.where(oky, x[np.maximum(y_idx, 0)], 0.0)
        first = np.argmax(np.cumsum(y, axis=1) > 1e-6, axis=1)
        pick = np.zeros_like(y)
        pick[np.arange(len(y)), first] = (y.sum(axis=1) > 1e-6)
        out[y_idx[oky]] = pick[oky]


def start_point(inp: PlanInputs, model: Milp, highs, x_lp: np.ndarray, rounds: int = 10) -> np.ndarray | None:
    """A feasible integral point near the LP optimum, or None. `highs` holds the LP (it is re-solved warm
    with tightened limit rows; its row bounds are restored before returning)."""
    limit_rows = np.concatenate([b.rows for b in model.row_blocks if b.kind in REPAIRABLE_KINDS] or [np.zeros(0, int)])
    if (model.integer & ~_integral_cols(model)).any():
        return None                                     # integers the rounding does not know (none today)
    x = _fix_contract_binaries(model, highs, x_lp)
    if x is None:
        return None
    fixed = _fix_runs(model, highs, x)
    if fixed is None:
        return None
    x, pinned = fixed
    hi0 = model.row_hi.copy()
    tightened = hi0.copy()
    found = None
    for it in range(rounds):
        cand = round_up(inp, model, x)
        if cand is None:
            break
        viol = row_violations(model, cand, abs_tol=START_ABS_TOL)
        if not viol.any():
            found = cand
            break
        rows = np.flatnonzero(viol > 0)
        if not np.isin(rows, limit_rows).all():
            break                                       # a row the tightening cannot fix
        # cut each overshooting limit by more than its overshoot (growing with the rounds) plus a sliver
        tightened[rows] -= viol[rows] * 2.0 ** (it + 1) + 1e-4 * np.maximum(1.0, np.abs(hi0[rows]))
        solvers.set_row_bounds(highs, rows, model.row_lo[rows], tightened[rows])
        again = solvers.run(highs, model, relax=True, guard=False)
        if not again.has_solution:
            break
        x = again.x
    changed = np.flatnonzero(tightened != hi0)
    if len(changed):
        solvers.set_row_bounds(highs, changed, model.row_lo[changed], hi0[changed])
    for j in pinned:
        highs.changeColBounds(int(j), float(model.col_lo[j]), float(model.col_hi[j]))
    return found


def _fix_runs(model: Milp, highs, x_lp: np.ndarray, clusters: int = 64,
              starts_tried: int = 4) -> tuple[np.ndarray, list[int]] | None:
    """Each training run, in turn, fixed on one cluster and start month: the cluster the LP weighs most
    whose LP (earlier runs fixed) still has a plan, then the first start month, by LP weight, that does.
    Returns (the last LP's point, the binaries fixed to 1), or None when no tried choice leaves a plan; the
    LP point itself when it already puts every run on one cluster. Bounds are restored but for the fixed."""
    if "y_cl" not in model.cols:
        return x_lp, []
    y = model.cols["y_cl"]                                              # [W, L, S]
    yv = np.where(y >= 0, x_lp[np.maximum(y, 0)], -1.0)
    if (np.abs(yv[yv >= 0] - np.round(yv[yv >= 0])) <= 1e-6).all():
        return x_lp, []
    pinned: list[int] = []
    x = x_lp

    def bound(cols, how: float) -> None:
        """how: 2 = fix at 1, 0 = fix at 0, 1 = the model's own bounds again."""
        for j in cols:
            lo, hi = {2.0: (1.0, 1.0), 0.0: (0.0, 0.0)}.get(how, (float(model.col_lo[j]), float(model.col_hi[j])))
            highs.changeColBounds(int(j), lo, hi)

    for w in np.flatnonzero((y >= 0).any(axis=(1, 2))):
        chosen = None
        for lc in np.argsort(-np.maximum(yv[w], 0).sum(axis=1))[:clusters]:
            others = y[w][(y[w] >= 0) & (np.arange(y.shape[1]) != lc)[:, None]]
            bound(others, 0.0)
            r0 = solvers.run(highs, model, relax=True, guard=False)      # the run on cluster lc, starts mixed
            starts = np.argsort(-np.where(y[w, lc] >= 0, r0.x[np.maximum(y[w, lc], 0)], -1.0)) \
                if r0.has_solution else []
            for s in starts[:starts_tried]:
                j = int(y[w, lc, s])
                if j < 0 or model.col_hi[j] < 1.0:
                    continue
                bound([j], 2.0)
                r = solvers.run(highs, model, relax=True, guard=False)
                if r.has_solution:
                    chosen = (j, r.x)
                    break
                bound([j], 1.0)
            bound(others, 1.0)
            if chosen is not None:
                break
        if chosen is None:
            bound(pinned, 1.0)
            return None
        pinned.append(chosen[0])
        x = chosen[1]
    return x, pinned


def _fix_contract_binaries(model: Milp, highs, x_lp: np.ndarray) -> np.ndarray | None:
    """Contract binaries (sign, exercise, cancel) rounded to the nearest whole value and fixed in the LP
    (solved again); None when that LP has no solution. The LP's column bounds are left fixed: this LP
    serves only the start point."""
    cols = np.concatenate([model.cols[k][model.cols[k] >= 0] for k in CONTRACT_BINARIES if k in model.cols]
                          or [np.zeros(0, np.int64)])
    if not len(cols):
        return x_lp
    val = np.round(x_lp[cols])
    highs.changeColsBounds(len(cols), cols.astype(np.int32), val, val)
    again = solvers.run(highs, model, relax=True, guard=False)
    return again.x if again.has_solution else None


def _integral_cols(model: Milp) -> np.ndarray:
    known = np.zeros(model.num_cols, bool)
    for name in ("n", "b", "site_order", "y_cl", *CONTRACT_BINARIES):
        if name in model.cols:
            idx = model.cols[name]
            known[idx[idx >= 0]] = True
    return known


__all__ = ["round_up", "solve_plan", "start_point"]


def solve_plan(inp: PlanInputs, model: Milp, options: SolveOptions,
               watch: Callable[[Incumbent], None] | None = None) -> tuple[Solution, Solution | None]:
    """(MIP solution, LP relaxation solution). With `options.start_heuristic`, the LP relaxation is solved
    first, rounded and repaired into a first plan for HiGHS; its duals serve the binding-limit report.
    The MIP's solve_seconds include the LP and the rounding. A few contract binaries (sign, exercise,
    cancel) are enumerated with LP bounds (`deal_search.py`), each choice solved this way."""
    if 0 < len(contract_binaries(model)) <= MAX_ENUMERATED:
        return solve_over_deals(model, options, lambda m: _solve_one(inp, m, options, watch))
    return _solve_one(inp, model, options, watch)


def _solve_one(inp: PlanInputs, model: Milp, options: SolveOptions,
               watch: Callable[[Incumbent], None] | None = None) -> tuple[Solution, Solution | None]:
    """`solve_plan` for one model: LP, rounded start, MIP."""
    if not options.start_heuristic or not model.integer.any():
        return _checked(model, solve(model, options, watch=watch)), None
    t0 = time.perf_counter()
    h_lp = load_highs(model, options, relax=True)
    lp = solvers.run(h_lp, model, relax=True, guard=False)
    lp.solve_seconds = time.perf_counter() - t0
    if not lp.has_solution:                 # the LP is infeasible, so is the MIP: let HiGHS say so
        mip = solve(model, options, watch=watch)
        mip.solve_seconds += lp.solve_seconds
        mip.lp_seconds = lp.solve_seconds
        return mip, lp
    start = start_point(inp, model, h_lp, lp.x)
    t1 = time.perf_counter()
    left = max(1.0, options.time_limit - (t1 - t0))
    mip = solve(model, replace(options, time_limit=left), start=start, watch=watch)   # guarded: see polyfleet.solvers
    label = "rounded LP" if start is not None else "none (rounding failed)"
    if mip.resolved:
        label += " (HiGHS returned an inconsistent point; solved again without presolve)"
    mip.solve_seconds += t1 - t0
    mip.lp_seconds = t1 - t0
    mip.start = label
    return _checked(model, mip), lp


def _checked(model: Milp, sol: Solution) -> Solution:
    """Never call a point optimal that does not satisfy the rows or does not cost what HiGHS reports
    (the guard's second solve can fail the same check)."""
    if sol.x is not None and model.integer.any() and not solvers.consistent(model, sol.x, sol.objective):
        sol.optimal = False
        sol.status += " (but the returned point does not match it: not proven optimal)"
        sol.objective = float(model.cost @ sol.x + model.offset)
    return sol
