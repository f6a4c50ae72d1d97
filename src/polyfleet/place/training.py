"""Training-job allocation policies (Gavel, OSDI 2020) and their registry.

A policy maps an AllocationProblem to an Allocation: for every job, the fraction of time it
should spend on each accelerator type. Heterogeneity-aware policies read the throughput matrix;
agnostic ones see 1 wherever a job can run. Register new ones with `@register_policy`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from polyfleet.errors import UnknownNameError, UserError
from polyfleet.place.allocation import Allocation, AllocationProblem, WarmStart, solve_lp


@dataclass(frozen=True)
class PolicyOptions:
    """How to solve: LP method, POP partitions, merging identical jobs, warm start, seed."""

    method: str = "auto"  # "simplex", "ipm" or "auto" (simplex on small LPs, IPM on big ones)
    partitions: int = 0  # POP's k; 0 = automatic (one per 5,000 job-type cells)
    merge: bool = True  # solve identical jobs as one class (exact; Gavel traces have 26-83 classes)
    warm: list[WarmStart] | None = None  # pass [] and keep it between calls to warm-start simplex
    seed: int = 0
    workers: int = 1  # threads for POP partitions
    tiebreak: float = 1e-6  # max-min LPs: also reward total normalised throughput, this much
    iso: str = "equal_share"  # max_min_fairness_perf's T_iso: "equal_share" or "agnostic_lp" (Gavel's, one more LP)


PolicyFn = Callable[[AllocationProblem, PolicyOptions], Allocation]


@dataclass(frozen=True)
class PolicySpec:
    name: str
    fn: PolicyFn
    heterogeneity_aware: bool
    needs: tuple[str, ...]
    summary: str
    lp: bool = True  # False: a greedy rule; jobs with x = 0 do not back-fill idle chips


POLICIES: dict[str, PolicySpec] = {}
ALIASES: dict[str, str] = {
    "makespan": "min_total_duration",
    "min_cost": "max_sum_throughput_normalized_by_cost_perf",
}


def register_policy(name: str, *, aware: bool, needs: tuple[str, ...] = (), lp: bool = True
                    ) -> Callable[[PolicyFn], PolicyFn]:
    """Decorator: add a policy to POLICIES under `name` (Gavel's spelling where one exists)."""
    def wrap(fn: PolicyFn) -> PolicyFn:
        summary = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
        POLICIES[name] = PolicySpec(name, fn, aware, tuple(needs), summary, lp)
        return fn
    return wrap


def get_policy(name: str) -> PolicySpec:
    key = ALIASES.get(name, name)
    if key not in POLICIES:
        raise UnknownNameError("policy", name, list(POLICIES) + list(ALIASES))
    return POLICIES[key]


def allocate(problem: AllocationProblem, policy: str = "max_min_fairness_perf",
             options: PolicyOptions | None = None) -> Allocation:
    """Allocation of `problem` under `policy`; raises UserError if the policy lacks an input."""
    spec = get_policy(policy)
    for need in spec.needs:
        if getattr(problem, need) is None:
            raise UserError(f"policy '{spec.name}' needs {need}", field=need)
    if problem.num_jobs == 0:
        return Allocation(np.zeros((0, len(problem.types))), spec.name, "optimal", 0.0)
    result = spec.fn(problem, options or PolicyOptions())
    return replace(result, policy=spec.name)


# ---------------------------------------------------------------- helpers

def _view(problem: AllocationProblem, aware: bool) -> np.ndarray:
    """Throughputs as the policy sees them: real ones, or 1 wherever the job can run."""
    thr = problem.throughput
    return thr if aware else (thr > 0).astype(float)


def equal_share(problem: AllocationProblem) -> np.ndarray:
    """X under an equal split of the cluster: equal chip-time per job, spread like capacity.

    This is the allocation Gavel's agnostic max-min LP converges to (ECOS returns the centre of
    its optimal face) when all jobs can run everywhere; it defines each job's fair throughput.
    """
    cap = problem.capacity.astype(float)
    total = cap.sum()
    runnable = (problem.throughput > 0).any(axis=1)
    n = max(int(runnable.sum()), 1)
    share = np.minimum(1.0, total / n / problem.scale_factor) * runnable
    # Time on a type the job cannot use is lost, not moved: that is what equal splitting gives.
    return np.where(problem.throughput > 0, share[:, None] * (cap / max(total, 1e-12))[None, :], 0.0)


def _weights(problem: AllocationProblem) -> np.ndarray:
    return problem.weight if problem.weight is not None else np.ones(problem.num_jobs)


def _lp(problem: AllocationProblem, opts: PolicyOptions, **terms) -> tuple[np.ndarray, Allocation]:
    """Solve; a max-min LP's optimum is a whole face, so a tiny reward for the sum of the fair
    rows picks, among max-min optimal allocations, one that puts spare capacity to use.

    The rows are solved in units of an upper bound of t (the smallest of the jobs' best rows), and
    the reward adds up to at most `tiebreak` of that bound, each row counted relative to its own best
    cell. In the rows' own units, where one job's rows are a million times another's (makespan rows
    are throughput / remaining work), t falls below the solver's tolerances and a reward in those
    units outweighs t itself: the slow job starved."""
    scale = 1.0
    if "fair" in terms and "gain" not in terms:
        fair = terms["fair"]
        best = fair.max(axis=1) if fair.size else np.zeros(0)
        live = best > 0
        if live.any():
            # rows in units of t's upper bound, so that t is O(1) for the solver's tolerances (a makespan's
            # t can be 1e-7 where one job has a million times more work left than another)
            scale = 1.0 / float(best[live].min())
            terms["fair"] = fair * scale
            if "gain" not in terms and opts.tiebreak > 0:
                unit = np.divide(fair, best[:, None], out=np.zeros_like(fair), where=best[:, None] > 0)
                terms["gain"] = opts.tiebreak / int(live.sum()) * unit
    sol = solve_lp(problem.throughput > 0, problem.scale_factor, problem.capacity,
                   method=opts.method, partitions=opts.partitions, merge=opts.merge and opts.warm is None,
                   ids=problem.ids(), warm=opts.warm, workers=opts.workers, **terms)
    if scale != 1.0:
        sol = replace(sol, objective=sol.objective / scale)     # t in the rows' own units
    return sol.x, sol


def _result(x: np.ndarray, sol: Allocation, objective: float, solves: int | None = None,
            build: float | None = None, solve: float | None = None) -> Allocation:
    return replace(sol, x=x, objective=float(objective), lp_solves=sol.lp_solves if solves is None else solves,
                   build_seconds=sol.build_seconds if build is None else build,
                   solve_seconds=sol.solve_seconds if solve is None else solve)


# ---------------------------------------------------------------- max-min fairness (LAS)

def _max_min(problem: AllocationProblem, opts: PolicyOptions, aware: bool) -> Allocation:
    """max t s.t. row_j(X) >= t for every job (Gavel's LP, row for row).

    Agnostic: row_j = s_j sum_w X[j, w] / weight_j: chip-time, every type counted alike.
    Heterogeneity-aware: row_j = s_j sum_w T[j, w] X[j, w] / (weight_j T_iso[j]), T_iso the job's
    throughput under the agnostic allocation. Gavel takes that from its agnostic LP's solution
    (ECOS returns the centre of the optimal face); here it is the equal share, that face's centre
    when no job's share is capped at all of its time. As in Gavel's code a gang's row counts s_j
    times. A job whose types hold no chips cannot be helped and is left out of the max-min.
    """
    thr = _view(problem, aware)
    s = problem.scale_factor[:, None]
    if aware:
        agnostic = _max_min(problem, replace(opts, warm=None), aware=False).x if opts.iso == "agnostic_lp" \
            else equal_share(problem)
        iso = (thr * agnostic).sum(axis=1)
        fair = s * thr / (np.maximum(iso, 1e-300) * _weights(problem))[:, None]
    else:
        iso = ((thr > 0) * problem.capacity[None, :]).sum(axis=1)
        fair = s * thr / _weights(problem)[:, None]
    fair[iso <= 0] = 0.0
    x, sol = _lp(problem, opts, fair=fair)
    return _result(x, sol, sol.objective)


@register_policy("max_min_fairness_perf", aware=True)
def max_min_fairness_perf(problem: AllocationProblem, opts: PolicyOptions) -> Allocation:
    """Gavel's heterogeneity-aware LAS: maximise the least normalised effective throughput."""
    return _max_min(problem, opts, aware=True)


@register_policy("max_min_fairness", aware=False)
def max_min_fairness(problem: AllocationProblem, opts: PolicyOptions) -> Allocation:
    """Heterogeneity-agnostic LAS: max-min of time share, every type counted alike."""
    return _max_min(problem, opts, aware=False)


# ---------------------------------------------------------------- makespan

@register_policy("min_total_duration", aware=True, needs=("remaining_work",))
def min_total_duration(problem: AllocationProblem, opts: PolicyOptions) -> Allocation:
    """Minimise the time until every active job is done (makespan); objective in seconds.

    Gavel bisects on the makespan M; with u = 1/M the constraints sum_w T X >= rem / M become the
    max-min rows sum_w (T / rem) X >= u, so one LP gives the exact optimum.
    """
    rem = np.maximum(problem.remaining_work, 1e-12)
    # u is tiny when work is large (1/makespan in 1/s); measured in units of a rough estimate of it
    # (all work over the fastest use of every chip), the LP's optimum sits near 1, so HiGHS's absolute
    # tolerances (1e-7) no longer let a job with little work left round to no time at all
    top = (problem.capacity * problem.throughput.max(axis=0, initial=0.0)).sum()
    unit = top / rem.sum() if top > 0 else 1.0
    fair = np.where(problem.capacity[None, :] > 0, problem.throughput / rem[:, None] / unit, 0.0)
    x, sol = _lp(problem, opts, fair=fair)
    return _result(x, sol, 1.0 / (sol.objective * unit) if sol.objective > 0 else np.inf)


# ---------------------------------------------------------------- finish-time fairness

def _finish_time_fairness(problem: AllocationProblem, opts: PolicyOptions, aware: bool,
                          iterations: int = 6) -> Allocation:
    """Minimise the worst rho_j = finish time under X / finish time under an equal share.

    rho_j <= r is linear in X for fixed r: sum_w T X >= rem_j / (r E_j - age_j), where E_j is the
    finish time under the equal share. Start from the equal share (rho = 1 for all), solve the
    max-min LP at r, re-measure r = max rho(X); r falls monotonically (Dinkelbach-style). The
    first LP already reaches rho <= 1 for every job, as the equal share itself does.
    """
    thr = _view(problem, aware)
    rem = np.maximum(problem.remaining_work, 1e-12)
    age = problem.age_s if problem.age_s is not None else np.zeros(problem.num_jobs)
    iso = (thr * equal_share(problem)).sum(axis=1)
    runnable = iso > 0
    finish_iso = np.where(runnable, age + rem / np.maximum(iso, 1e-300), 1.0)
    best_x, r = None, np.inf
    sol, build, solve, solves = None, 0.0, 0.0, 0
    for _ in range(iterations):
        rate_needed = rem / np.maximum(min(r, 1.0) * finish_iso - age, 1e-9)
        x, sol = _lp(problem, opts, fair=np.where(runnable[:, None], thr / rate_needed[:, None], 0.0))
        solves += 1
        build, solve = build + sol.build_seconds, solve + sol.solve_seconds
        got = (thr * x).sum(axis=1)
        rho = np.where(runnable, (age + rem / np.maximum(got, 1e-300)) / finish_iso, 0.0)
        r_new = float(rho.max()) if rho.size else 0.0
        if r_new < r:
            best_x, improved = x, r - r_new
            r = r_new
            if improved < 1e-3 * r:
                break
        else:
            break
    return _result(best_x, sol, r, solves, build, solve)


@register_policy("finish_time_fairness_perf", aware=True, needs=("remaining_work",))
def finish_time_fairness_perf(problem: AllocationProblem, opts: PolicyOptions) -> Allocation:
    """Themis-style finish-time fairness, heterogeneity-aware; objective = worst rho."""
    return _finish_time_fairness(problem, opts, aware=True)


@register_policy("finish_time_fairness", aware=False, needs=("remaining_work",))
def finish_time_fairness(problem: AllocationProblem, opts: PolicyOptions) -> Allocation:
    """Finish-time fairness with every type counted alike (heterogeneity-agnostic)."""
    return _finish_time_fairness(problem, opts, aware=False)


# ---------------------------------------------------------------- cost

@register_policy("max_sum_throughput_normalized_by_cost_perf", aware=True,
                 needs=("usd_per_chip_hour",))
def min_cost(problem: AllocationProblem, opts: PolicyOptions) -> Allocation:
    """Most normalised throughput per dollar; deadlines (if given) as throughput floors.

    Each job's throughput is normalised by its best type so that work units of different jobs
    add up; the gang's price is s_j chips x usd_per_chip_hour. If the deadlines cannot all be met
    they are dropped (as Gavel does) and the status says so.
    """
    thr = problem.throughput
    best = np.maximum(thr.max(axis=1), 1e-300)
    price = np.maximum(problem.usd_per_chip_hour, 1e-12)
    gain = thr / best[:, None] / (problem.scale_factor[:, None] * price[None, :])
    terms: dict[str, np.ndarray] = {"gain": gain}
    if problem.deadline_s is not None and problem.remaining_work is not None:
        deadline = np.where(np.isfinite(problem.deadline_s), np.maximum(problem.deadline_s, 1.0), np.inf)
        terms.update(floor=thr, floor_rhs=problem.remaining_work / deadline)
    x, sol = _lp(problem, opts, **terms)
    if sol.status != "optimal" and "floor" in terms:
        x, sol = _lp(problem, opts, gain=gain)
        return replace(_result(x, sol, sol.objective, 2), status=f"{sol.status}; deadlines dropped")
    return _result(x, sol, sol.objective)


# ---------------------------------------------------------------- our policy

SRPT_HORIZON_S = 3600.0


@register_policy("srpt_perf", aware=True, needs=("remaining_work",))
def srpt_perf(problem: AllocationProblem, opts: PolicyOptions) -> Allocation:
    """Ours: most normalised throughput, jobs near completion first (efficiency-weighted SRPT).

    gain[j, w] = T[j, w] / T_ref[j] * (1 + H / R[j]): T_ref is the job's throughput on an average
    chip of this cluster and R its remaining time at that rate, H = SRPT_HORIZON_S. Progress of a
    job is worth 1/T_ref (the time it saves at the job's typical speed), so the LP gives each type
    to the jobs it speeds up most, and jobs with less than ~H to go get a bonus.
    """
    thr, cap = problem.throughput, problem.capacity.astype(float)
    ref = np.maximum((thr * cap).sum(axis=1) / max(cap.sum(), 1e-12), 1e-300)
    remaining_time = np.maximum(problem.remaining_work / ref, 1.0)
    gain = thr / ref[:, None] * (1.0 + SRPT_HORIZON_S / remaining_time)[:, None] * _weights(problem)[:, None]
    x, sol = _lp(problem, opts, gain=gain)
    return _result(x, sol, sol.objective)


# ---------------------------------------------------------------- FIFO baseline

def _fifo(problem: AllocationProblem, opts: PolicyOptions, aware: bool) -> Allocation:
    """Whole jobs in arrival order onto free chips; running jobs keep their type (Gavel's FIFO)."""
    t0 = time.perf_counter()
    thr, scale = problem.throughput, problem.scale_factor
    free = problem.capacity.astype(float).copy()
    x = np.zeros_like(thr)
    if not aware and problem.previous is not None:
        keep = problem.previous.argmax(axis=1)
        held = problem.previous.max(axis=1) >= 0.5
        for j in np.flatnonzero(held):
            w = keep[j]
            if thr[j, w] > 0 and scale[j] <= free[w]:
                x[j, w] = 1.0
                free[w] -= scale[j]
    rng = np.random.default_rng(opts.seed)
    for j in np.argsort(problem.ids(), kind="stable").tolist():
        if x[j].any():
            continue
        fits = np.flatnonzero((free >= scale[j]) & (thr[j] > 0))
        if fits.size == 0:
            if (thr[j] > 0).any():
                break  # strict FIFO: the head of the queue blocks everyone behind it
            continue
        w = fits[np.argmax(thr[j, fits])] if aware else fits[rng.integers(fits.size)]
        x[j, w] = 1.0
        free[w] -= scale[j]
    return Allocation(x, "", "heuristic", float(x.any(axis=1).sum()), 0.0, time.perf_counter() - t0,
                      "greedy")


@register_policy("fifo", aware=False, lp=False)
def fifo(problem: AllocationProblem, opts: PolicyOptions) -> Allocation:
    """FIFO baseline: arrival order, a random type with room; running jobs stay where they are."""
    return _fifo(problem, opts, aware=False)


@register_policy("fifo_perf", aware=True, lp=False)
def fifo_perf(problem: AllocationProblem, opts: PolicyOptions) -> Allocation:
    """FIFO in arrival order, each job on its fastest type with room."""
    return _fifo(problem, opts, aware=True)
