"""Allocation LPs for training jobs (Gavel's X[job, type]), built in bulk and solved with HiGHS.

Every training policy reduces to one LP shape over the time fractions X[j, w] >= 0:

    maximize   t + sum gain[j, w] * X[j, w]
    subject to sum_w fair[j, w]  * X[j, w] >= t              (max-min rows, when `fair` is given)
               sum_w floor[j, w] * X[j, w] >= floor_rhs[j]   (e.g. deadlines)
               sum_w X[j, w] <= 1                            (a job runs on one type at a time)
               sum_j s[j] * X[j, w] <= capacity[w]           (gangs of s[j] chips)
               X[j, w] = 0 where the job cannot run on w     (no column at all)

`solve_lp` builds it from scipy.sparse in one go, can merge identical jobs (exact for these LPs:
averaging identical jobs' rows keeps feasibility and objective), can split it POP-style into k
sub-problems with 1/k of the capacity each, and can warm-start simplex from the previous basis.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from polyfleet import solvers
from polyfleet.errors import UserError
from polyfleet.solvers import BASIC as _BASIC
from polyfleet.solvers import LOWER as _LOWER
from polyfleet.solvers import Milp

if TYPE_CHECKING:
    import highspy
SIMPLEX_MAX_CELLS = 1_500  # "auto": simplex below (HiGHS IPM has ~1 ms of overhead), IPM above
CELLS_PER_PARTITION = 5_000  # POP: one part per this many (job, type) cells; small parts suit simplex
_local = threading.local()


@dataclass(frozen=True)
class AllocationProblem:
    """What a policy needs to know: jobs (rows) x accelerator types (columns).

    throughput: work units/s of the whole gang of s[j] chips of type w (0 = cannot run there).
    remaining_work is in the same work units; deadline_s and age_s are seconds from/since now.
    previous: last allocation for these rows (FIFO keeps placements; zero rows for new jobs).
    job_ids: arrival order (FIFO); defaults to row order.
    """

    throughput: np.ndarray
    scale_factor: np.ndarray
    capacity: np.ndarray
    types: tuple[str, ...] = ()
    weight: np.ndarray | None = None
    usd_per_chip_hour: np.ndarray | None = None
    remaining_work: np.ndarray | None = None
    deadline_s: np.ndarray | None = None
    age_s: np.ndarray | None = None
    previous: np.ndarray | None = None
    job_ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        thr = np.asarray(self.throughput, dtype=float)
        if thr.ndim != 2:
            raise UserError("must be a 2-D array [jobs, types]", field="throughput")
        n_jobs, n_types = thr.shape
        if not np.all(np.isfinite(thr)) or np.any(thr < 0):
            raise UserError("must be finite and >= 0 (0 = infeasible)", field="throughput")
        object.__setattr__(self, "throughput", thr)
        object.__setattr__(self, "types", tuple(self.types) or tuple(f"type{w}" for w in range(n_types)))
        if len(self.types) != n_types:
            raise UserError(f"{len(self.types)} names for {n_types} columns", field="types")
        for name, length in (("scale_factor", n_jobs), ("capacity", n_types), ("weight", n_jobs),
                             ("usd_per_chip_hour", n_types), ("remaining_work", n_jobs),
                             ("deadline_s", n_jobs), ("age_s", n_jobs), ("job_ids", n_jobs)):
            value = getattr(self, name)
            if value is None:
                continue
            arr = np.asarray(value, dtype=np.int64 if name == "job_ids" else float)
            if arr.shape != (length,):
                raise UserError(f"shape {arr.shape}, expected ({length},)", field=name)
            if name != "deadline_s" and name != "job_ids" and not np.all(np.isfinite(arr)):
                raise UserError("must be finite", field=name)
            object.__setattr__(self, name, arr)
        if np.any(self.scale_factor < 1):
            raise UserError("must be >= 1 chip", field="scale_factor")
        if np.any(self.capacity < 0):
            raise UserError("must be >= 0 chips", field="capacity")
        if self.previous is not None:
            prev = np.asarray(self.previous, dtype=float)
            if prev.shape != thr.shape:
                raise UserError(f"shape {prev.shape}, expected {thr.shape}", field="previous")
            object.__setattr__(self, "previous", prev)

    @property
    def num_jobs(self) -> int:
        return self.throughput.shape[0]

    def ids(self) -> np.ndarray:
        return self.job_ids if self.job_ids is not None else np.arange(self.num_jobs)


@dataclass(frozen=True)
class Allocation:
    """A policy's answer: x[j, w] = fraction of time job j should hold s[j] chips of type w."""

    x: np.ndarray
    policy: str
    status: str
    objective: float
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    solver: str = ""
    partitions: int = 1
    lp_solves: int = 0

    def effective_throughput(self, throughput: np.ndarray) -> np.ndarray:
        """Work units/s each job gets on average under this allocation."""
        return (self.x * throughput).sum(axis=1)


@dataclass
class WarmStart:
    """Simplex basis of the last solve, keyed by job id, so the next solve starts from it."""

    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    col_status: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int8))  # [jobs, types]
    row_status: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int8))  # [jobs, kinds]
    cap_status: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    t_status: int = _BASIC


def _highs() -> highspy.Highs:
    """A per-thread HiGHS instance, reused between solves (warm starts need the same instance)."""
    h = getattr(_local, "highs", None)
    if h is None:
        h = _local.highs = solvers.quiet_highs()
    return h


def _merge_identical(mats: list[np.ndarray], scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Class index of every job and each class's first member; identical rows share a class."""
    key = np.column_stack([m.reshape(len(scale), -1) for m in mats] + [scale])
    order = np.lexsort(key.T[::-1])
    ranked = key[order]
    starts = np.ones(len(order), dtype=bool)
    starts[1:] = (ranked[1:] != ranked[:-1]).any(axis=1)
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = np.cumsum(starts) - 1
    return inverse, order[starts]


def solve_lp(mask: np.ndarray, scale: np.ndarray, capacity: np.ndarray, *,
             fair: np.ndarray | None = None, gain: np.ndarray | None = None,
             floor: np.ndarray | None = None, floor_rhs: np.ndarray | None = None,
             method: str = "auto", partitions: int = 0, merge: bool = False,
             ids: np.ndarray | None = None, warm: list[WarmStart] | None = None,
             workers: int = 1) -> Allocation:
    """Solve the allocation LP above; returns X[jobs, types] clipped to the constraints.

    method: "simplex" (a vertex), "ipm" (interior point, no crossover: a central optimal point)
    or "auto" (simplex up to SIMPLEX_MAX_CELLS cells). partitions: POP's k (0 = one part per
    CELLS_PER_PARTITION cells); parts get capacity / k and a stratified share of the jobs.
    warm: one WarmStart per part, kept by the caller; jobs keep their part between calls and
    simplex restarts from the stored basis. workers: threads solving parts in parallel.
    """
    mask = np.asarray(mask, dtype=bool)
    n_jobs, n_types = mask.shape
    scale = np.asarray(scale, dtype=float)
    capacity = np.asarray(capacity, dtype=float)
    ids = np.arange(n_jobs) if ids is None else np.asarray(ids)
    if fair is not None:
        mask = mask & (fair > 0)  # a job with nothing to gain anywhere would pin t at 0
    count = np.ones(n_jobs)
    members = None
    if merge and warm is None and n_jobs > 1:
        members, first = _merge_identical(
            [m for m in (mask, fair, gain, floor, floor_rhs) if m is not None], scale)
        count = np.bincount(members, minlength=len(first)).astype(float)
        pick0 = (lambda m: None if m is None else m[first])
        mask, scale, ids = mask[first], scale[first], ids[first]
        fair, gain, floor, floor_rhs = pick0(fair), pick0(gain), pick0(floor), pick0(floor_rhs)
    k = int(partitions) if partitions > 0 else -(-mask.sum() // CELLS_PER_PARTITION)
    k = max(1, min(k, len(scale)))
    if warm is not None and len(warm) != k:
        warm[:] = [WarmStart() for _ in range(k)]
    part = _partition(mask, scale * count, fair if fair is not None else gain, ids, k, warm)
    pieces = [np.flatnonzero(part == p) for p in range(k)]

    def one(p: int) -> Allocation | None:
        rows = pieces[p]
        if rows.size == 0:
            return None
        pick = (lambda m: None if m is None else m[rows])
        return _solve_one(mask[rows], scale[rows], count[rows], capacity / k, pick(fair), pick(gain),
                          pick(floor), pick(floor_rhs), method, ids[rows], warm[p] if warm else None)

    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            subs = list(pool.map(one, range(k)))
    else:
        subs = [one(p) for p in range(k)]
    x = np.zeros((len(scale), n_types))
    done = [(p, sub) for p, sub in enumerate(subs) if sub is not None]
    for p, sub in done:
        x[pieces[p]] = sub.x
    if members is not None:
        x = x[members]
    objs = [sub.objective for _, sub in done]
    bad = [sub.status for _, sub in done if sub.status != "optimal"]
    objective = (min(objs) if fair is not None else float(np.sum(objs))) if objs else 0.0
    return Allocation(x, "", bad[0] if bad else "optimal", objective,
                      sum(sub.build_seconds for _, sub in done), sum(sub.solve_seconds for _, sub in done),
                      done[0][1].solver if done else "", k, sum(sub.lp_solves for _, sub in done))


def _partition(mask, scale, value, ids, k: int, warm: list[WarmStart] | None) -> np.ndarray:
    """POP's split: deal jobs sorted by (gang size, best value) round-robin into k parts.

    With warm starts, known jobs stay where they were and new ones go to the part with the
    fewest chips demanded, so the stored bases still fit.
    """
    n = len(scale)
    if k == 1:
        return np.zeros(n, dtype=np.int64)
    part = np.full(n, -1, dtype=np.int64)
    if warm:
        for p, state in enumerate(warm):
            if state.ids.size:
                part[np.isin(ids, state.ids)] = p
    if (part < 0).all():
        best = np.where(mask, value if value is not None else 1.0, 0.0).max(axis=1)
        order = np.lexsort((ids, best, scale))
        part[order] = np.arange(n) % k
        return part
    load = np.bincount(part[part >= 0], weights=scale[part >= 0], minlength=k)
    for j in np.flatnonzero(part < 0)[np.argsort(-scale[part < 0], kind="stable")].tolist():
        p = int(np.argmin(load))
        part[j] = p
        load[p] += scale[j]
    return part


def _solve_one(mask, scale, count, capacity, fair, gain, floor, floor_rhs, method, ids,
               warm: WarmStart | None) -> Allocation:
    """One LP over `mask`'s cells; `count[j]` identical jobs stand behind row j."""
    t0 = time.perf_counter()
    n_types = mask.shape[1]
    n = mask.shape[0]
    jj, ww = np.nonzero(mask)
    nv = len(jj)
    if nv == 0:
        return Allocation(np.zeros(mask.shape), "", "optimal", 0.0, time.perf_counter() - t0, 0.0, "none")
    has_t = fair is not None
    if has_t:
        fair_jobs = np.flatnonzero(mask.any(axis=1))
    n_cols = nv + int(has_t)
    # Every cell column has the same rows in the same order: [fair], [floor], job sum, capacity;
    # so the CSC arrays are a (cells x k) stack, plus the t column over the fair rows.
    idx, val, lo, hi = [], [], [], []
    row = 0
    if has_t:
        idx.append(np.searchsorted(fair_jobs, jj))
        val.append(fair[jj, ww])
        lo.append(np.zeros(len(fair_jobs)))
        hi.append(np.full(len(fair_jobs), np.inf))
        row += len(fair_jobs)
    if floor is not None:
        idx.append(row + jj)
        val.append(floor[jj, ww])
        lo.append(np.asarray(floor_rhs, float))
        hi.append(np.full(n, np.inf))
        row += n
    idx += [row + jj, row + n + ww]
    val += [np.ones(nv), (count * scale)[jj]]
    lo += [np.full(n + n_types, -np.inf)]
    hi += [np.ones(n), capacity]
    n_rows = row + n + n_types
    per_col = len(idx)
    indices = np.column_stack(idx).ravel()
    data = np.column_stack(val).ravel()
    indptr = np.arange(0, per_col * nv + 1, per_col)
    if has_t:
        indices = np.concatenate([indices, np.arange(len(fair_jobs))])
        data = np.concatenate([data, -np.ones(len(fair_jobs))])
        indptr = np.append(indptr, indptr[-1] + len(fair_jobs))
    a = sp.csc_matrix((data, indices.astype(np.int32), indptr.astype(np.int32)), shape=(n_rows, n_cols))
    cost = np.zeros(n_cols)
    if gain is not None:
        cost[:nv] = (gain * count[:, None])[jj, ww]
    if has_t:
        cost[nv] = 1.0
    col_lo = np.zeros(n_cols)
    col_hi = np.ones(n_cols)
    if has_t:
        col_hi[nv] = np.inf
    model = Milp(A=a, cost=cost, col_lo=col_lo, col_hi=col_hi, row_lo=np.concatenate(lo), row_hi=np.concatenate(hi),
                 integer=np.zeros(n_cols, bool), sense="max")
    if method == "auto":
        method = "simplex" if nv <= SIMPLEX_MAX_CELLS else "ipm"
    # Warm start: simplex from the stored basis; the first solve runs crossover to get one.
    use_warm = warm is not None and warm.ids.size > 0
    h = solvers.load(model, {"solver": "simplex" if use_warm else method,
                             "presolve": "off" if n_cols < 5000 else "choose",  # costs more than it saves on tiny LPs
                             "run_crossover": "off" if method == "ipm" and warm is None else "on"}, highs=_highs())
    if use_warm:
        _set_warm_basis(h, warm, ids, jj, ww, n_types, has_t, floor is not None, n_cols, n_rows)
    t1 = time.perf_counter()
    # no consistency guard: the HiGHS bug it catches needs a MIP start, and these are LPs
    sol = solvers.run(h, model, relax=True, guard=False, any_point=True)
    t2 = time.perf_counter()
    status = "optimal" if sol.optimal else sol.status.lower()
    x = np.zeros((n, n_types))
    objective = 0.0
    if sol.x is not None:  # a primal point exists (feasible or not)
        x[jj, ww] = sol.x[:nv]
        objective = float(sol.x[nv]) if has_t else float(sol.objective)
    if warm is not None:
        _save_basis(h, warm, ids, jj, ww, n, n_types, has_t, floor is not None, nv)
    x = _project(x, mask, scale * count, capacity)
    solver = "highs-simplex-warm" if use_warm else f"highs-{method}"
    return Allocation(x, "", status, objective, t1 - t0, t2 - t1, solver, 1, 1)


def _project(x: np.ndarray, mask: np.ndarray, scale: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Clip solver round-off so every constraint holds exactly (interior points sit ~1e-9 outside).
    Small positive values stay: a short job beside a long one can need 1e-7 of a type's time."""
    x = np.where(mask & (x > 1e-12), np.minimum(x, 1.0), 0.0)
    rows = x.sum(axis=1)
    x /= np.maximum(rows, 1.0)[:, None]
    used = scale @ x
    over = used > capacity
    if np.any(over):
        x[:, over] *= capacity[over] / used[over]
    return x


def _set_warm_basis(h, warm: WarmStart, ids, jj, ww, n_types, has_t, has_floor, n_cols, n_rows) -> None:
    """Map the stored basis onto this model by job id; new jobs start non-basic (x=0, slack basic)."""
    pos = {int(i): p for p, i in enumerate(warm.ids.tolist())}
    old = np.array([pos.get(int(i), -1) for i in ids.tolist()])
    known = old >= 0
    col = np.full(n_cols, _LOWER, np.int8)
    cell_known = known[jj]
    col[: len(jj)][cell_known] = warm.col_status[old[jj[cell_known]], ww[cell_known]]
    kinds = int(has_t) + int(has_floor) + 1
    row_block = np.full((len(ids), kinds), _BASIC, np.int8)
    if warm.row_status.shape[1] == kinds:
        row_block[known] = warm.row_status[old[known]]
    rows = [row_block[:, k] for k in range(kinds)]
    if has_t:
        col[-1] = warm.t_status
        fair_jobs = np.flatnonzero(np.bincount(jj, minlength=len(ids)) > 0)
        rows[0] = rows[0][fair_jobs]
    cap = warm.cap_status if warm.cap_status.size == n_types else np.full(n_types, _BASIC, np.int8)
    row = np.concatenate(rows + [cap])
    if row.size != n_rows:
        return
    solvers.set_basis(h, col, row)


def _save_basis(h, warm: WarmStart, ids, jj, ww, n_jobs, n_types, has_t, has_floor, nv) -> None:
    got = solvers.basis(h)
    if got is None:
        warm.ids = np.zeros(0, np.int64)
        return
    col, row = got
    warm.ids = np.asarray(ids).copy()
    warm.col_status = np.full((n_jobs, n_types), _LOWER, np.int8)
    warm.col_status[jj, ww] = col[:nv]
    blocks, at = [], 0
    if has_t:
        fair_jobs = np.flatnonzero(np.bincount(jj, minlength=n_jobs) > 0)
        fair_rows = np.full(n_jobs, _BASIC, np.int8)
        fair_rows[fair_jobs] = row[: len(fair_jobs)]
        blocks.append(fair_rows)
        at = len(fair_jobs)
        warm.t_status = int(col[nv])
    for _ in range(int(has_floor) + 1):
        blocks.append(row[at: at + n_jobs])
        at += n_jobs
    warm.row_status = np.column_stack(blocks)
    warm.cap_status = row[at: at + n_types].copy()
