"""Exact path: the replica-placement MILP, built in bulk (scipy.sparse) and solved with HiGHS.

Variables, one column each (only for usable cells: feasible and at least one replica fits):
    new[s, p]    integer replicas started on p                 cost: cost[s, p] + start penalty
    keep[s, p]   integer replicas kept from `prev`, <= prev      cost: cost[s, p]
    served[s, k] continuous tokens/s of tier k, <= demand[s, k]
Rows:
    pool p:     sum_s chips[s, p] (new + keep) <= chips available on p
    service s:  sum_k served[s, k] - sum_p cap[s, p] (new + keep) <= 0

This is Mélange's ILP (slices of traffic to accelerator types, minimise price x count) with the
rate table's per-offering rates in place of per-GPU profiles, so TPUs and Trainium enter like
any GPU and portability enters through `feasible`; plus tiers, pool capacity and moves.

Lexicographic objective: (tier 1 served, tier 2 served, ..., cost + start penalties).
- If the fleet can serve everything (the greedy start already does), served is fixed at the
  demand and one MILP minimises cost + start penalties: plain Mélange, no weights.
- Otherwise a service stage comes first, then the cost stage holds each tier's value-weighted
  service sum_s v[s] served[s, k] at what the service stage reached (so it may serve the same
  value with a different, cheaper or less disruptive, mix of services). The service stage is
  one MILP maximising sum W[s, k] served ("weighted") or one MILP per tier ("sequential",
  exact for any amount).

Why the weights are lexicographic. Let v[s] = min_p cost[s, p] / cap[s, p] (USD/h per token/s
at the service's cheapest pool), rho = max over usable cells of cost / cap / v[s] (the spread in
price-performance), gamma = max over pools of (largest / smallest replica there, in chips), and
W[s, k] = M[k] v[s] with M[K-1] = 1, M[k] = 2 rho phi (1 + gamma) M[k+1], where phi = max over
usable cells of cap / min(cap, the service's smallest tier demand) (a tier smaller than a replica gains
only its demand; a shortfall under that, left by rounding, is the repair pass's). Within a service tiers
share replicas, so serving tier k+1 while tier k is short is a free swap with gain
(M[k] - M[k+1]) v > 0. Across services, per chip of pool p: a lower tier j > k of service B
earns M[j] v[B] cap[B, p] / chips[B, p] <= M[k+1] price[p] (as v[B] <= cost/cap on p), while a
tier-k replica of A earns at least M[k] price[p] / rho per chip. If A's tier k is short by a
replica's capacity on p and p could free a replica of A from idle chips or replicas serving only
tiers below k, the minimal eviction frees F < chips[A, p] (1 + gamma) chips, and the swap gains at
least price[p] chips[A, p] (M[k] / rho - M[k+1] (1 + gamma)) > 0: no optimum leaves it. When
M[0] would exceed MAX_WEIGHT the weighted stage is replaced by the sequential one (numerics).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .. import solvers
from ..solvers import Milp
from .inference_model import Instance, PlaceOptions
from .inference_tiers import tier_fill

MAX_WEIGHT = 1e8


@dataclass(frozen=True)
class MilpResult:
    replicas: np.ndarray       # integers; for relax=True the LP values (floats)
    status: str
    gap: float
    solve_s: float
    priority: str
    bound: float               # lower bound on the last stage's objective (cost + start penalties)


def tier_weights(inst: Instance) -> tuple[np.ndarray, np.ndarray]:
    """M[k] per tier (highest first) and v[s] (USD/h per token/s at the service's cheapest pool)."""
    usable = inst.ok & (inst.fits() >= 1)
    K = len(inst.tiers)
    if not usable.any():
        return np.ones(K), np.ones(len(inst.services))
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = np.where(usable, inst.cost / inst.cap, np.inf)
    v = unit.min(axis=1)
    v = np.where(np.isfinite(v) & (v > 0), v, 1.0)
    rho = max(float(np.max(np.where(usable, unit / v[:, None], 1.0))), 1.0)
    big = np.where(usable, inst.chips, 0).max(axis=0)
    small = np.where(usable, inst.chips, np.iinfo(np.int64).max).min(axis=0)
    has = usable.any(axis=0)
    gamma = float(np.max(big[has] / small[has]))
    # a tier whose whole demand is under one replica gains only its demand, not a replica's capacity:
    # phi = how many times a replica's capacity exceeds the smallest tier demand it would serve
    dmin = np.where(inst.demand > 0, inst.demand, np.inf).min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        fill = np.where(usable & np.isfinite(dmin)[:, None], inst.cap / np.minimum(dmin[:, None], inst.cap), 1.0)
    phi = max(float(np.max(fill)), 1.0)
    return (2 * rho * phi * (1 + gamma)) ** np.arange(K - 1, -1, -1, dtype=float), v


def solve_milp(inst: Instance, options: PlaceOptions, start: np.ndarray | None = None, *,
               relax: bool = False) -> MilpResult:
    """Solve the placement MILP (its LP relaxation with `relax`); `start` (replicas [s, p]) seeds it."""
    t0 = time.perf_counter()
    S, P = inst.ok.shape
    K = len(inst.tiers)
    fits = inst.fits()
    cs, cp = np.nonzero(inst.ok & (fits >= 1))
    kept = inst.prev[cs, cp] > 0
    ks, kp = cs[kept], cp[kept]
    d = inst.demand
    ss, sk = np.nonzero(d > 0)
    n_new, n_keep, n_srv = len(cs), len(ks), len(ss)
    with np.errstate(divide="ignore", invalid="ignore"):
        need_ub = np.ceil(d.sum(axis=1)[cs] / inst.cap[cs, cp])
    rs, rp = np.concatenate([cs, ks]), np.concatenate([cp, kp])
    n_rep = n_new + n_keep
    n_col = n_rep + n_srv
    if n_rep == 0 or n_srv == 0:  # nothing can run or nothing is asked: the empty placement is optimal
        return MilpResult(np.zeros((S, P), dtype=float if relax else np.int64), "optimal", 0.0,
                          time.perf_counter() - t0, "none needed", 0.0)
    # CSC: each replica column hits its pool row and its service row; each served column its service row
    rows = np.concatenate([np.column_stack([rp, P + rs]).ravel(), P + ss])
    vals = np.concatenate([np.column_stack([inst.chips[rs, rp], -inst.cap[rs, rp]]).ravel(), np.ones(n_srv)])
    indptr = np.concatenate([np.arange(0, 2 * n_rep + 1, 2), 2 * n_rep + np.arange(1, n_srv + 1)])
    a = sp.csc_matrix((vals.astype(float), rows.astype(np.int32), indptr.astype(np.int32)), shape=(P + S, n_col))
    m, v = tier_weights(inst)
    rep_cost = np.concatenate([inst.cost[cs, cp] + inst.start_penalty[cs, cp], inst.cost[ks, kp]])
    dem = d[ss, sk]
    x = _start_vector(inst, start, cs, cp, ks, kp, ss, sk) if start is not None else None
    all_served = x is not None and bool(np.all(x[n_rep:] >= dem * (1 - 1e-9)))
    col_lo = np.concatenate([np.zeros(n_rep), dem if all_served else np.zeros(n_srv)])
    col_hi = np.concatenate([np.minimum(fits[cs, cp], need_ub), np.minimum(inst.prev[ks, kp], fits[ks, kp]),
                             dem]).astype(float)
    row_hi = np.concatenate([inst.pool_chips.astype(float), np.zeros(S)])
    model = Milp(A=a, cost=np.zeros(n_col), col_lo=col_lo, col_hi=col_hi, row_lo=np.full(P + S, -np.inf),
                 row_hi=row_hi, integer=np.concatenate([np.ones(n_rep, bool), np.zeros(n_srv, bool)]))
    h = solvers.load(model, {"mip_rel_gap": float(options.mip_rel_gap), "time_limit": float(options.time_limit_s),
                             "random_seed": 0}, relax=relax)
    priority = "none needed" if all_served else ("sequential" if options.priority == "sequential"
                                                 or m[0] > MAX_WEIGHT else "weighted")
    stages: list[tuple[np.ndarray, int | None]] = []
    if priority == "weighted":
        stages.append((np.concatenate([np.zeros(n_rep), -m[sk] * v[ss]]), -1))
    elif priority == "sequential":
        stages += [(np.concatenate([np.zeros(n_rep), np.where(sk == k, -v[ss], 0.0)]), k)
                   for k in range(K) if np.any(sk == k)]
    stages.append((np.concatenate([rep_cost, np.zeros(n_srv)]), None))
    cols = np.arange(n_col, dtype=np.int32)
    status, gap, sol = "optimal", 0.0, None
    for cost, tier in stages:
        h.changeColsCost(n_col, cols, cost)
        model.cost = cost
        # guarded (see polyfleet.solvers): a point whose objective is not c.x is solved again without presolve
        sol = solvers.run(h, model, relax=relax, start=x if x is not None and not relax else None)
        if not sol.has_solution:
            return MilpResult(np.zeros((S, P)), sol.code, np.inf, time.perf_counter() - t0, priority, -np.inf)
        x = sol.x
        status = sol.code if sol.code != "optimal" else status
        gap = max(gap, 0.0 if relax else (sol.mip_gap if np.isfinite(sol.mip_gap) else np.inf))
        # hold each tier's value-weighted service just under what this stage reached; the
        # cost stage may then pick any placement that serves as much, e.g. the one that moves least
        for k in range(K) if tier == -1 else ([tier] if tier is not None else []):
            sel = np.flatnonzero(sk == k)
            if sel.size:
                got = float(v[ss[sel]] @ x[n_rep + sel])
                floor = got - (options.tier_slack + 1e-7) * float(v[ss[sel]] @ dem[sel]) - 1e-9
                h.addRow(floor, np.inf, len(sel), (n_rep + sel).astype(np.int32), v[ss[sel]])
                model = model.with_rows(floor, np.inf, n_rep + sel, v[ss[sel]])
    reps = np.zeros((S, P))
    np.add.at(reps, (rs, rp), x[:n_rep] if relax else np.rint(x[:n_rep]))
    bound = float(sol.objective if relax else sol.dual_bound)
    return MilpResult(reps if relax else reps.astype(np.int64), status, gap, time.perf_counter() - t0, priority,
                      bound)


def _start_vector(inst: Instance, start: np.ndarray, cs, cp, ks, kp, ss, sk) -> np.ndarray:
    """Split a replica matrix into (new, keep, served) column values, served filled in tier order."""
    keep = np.minimum(start[ks, kp], inst.prev[ks, kp])
    left = start.copy()
    left[ks, kp] -= keep
    served = tier_fill((start * inst.cap).sum(axis=1), inst.demand)
    return np.concatenate([left[cs, cp], keep, served[ss, sk]]).astype(float)
