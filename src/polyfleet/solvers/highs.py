"""Running HiGHS on a `Milp`: the one front-end every solve in polyfleet goes through.

- `quiet_highs()`: an instance that does not print HiGHS's banner on stdout (JSON stays parseable).
- `load()`: the model passed to HiGHS in one call from its CSC arrays, options set.
- `run()` -> `Solution`: status as HiGHS words it, whether it is optimal, objective, MIP gap and
  bound, time, the point, row activities and (LPs) row duals.
- The one guard against a HiGHS bug: after presolve, HiGHS 1.16 has returned points whose
  objective is not c.x or that break a row (seen with a MIP start: a presolved-away column kept
  the start's value; cf. ERGO-Code/HiGHS#3094, #2900). `run(guard=True)` checks every point with
  `consistent()` and, when it fails, solves again on the same instance without presolve.
- Simplex bases (`basis`, `set_basis`) for callers that warm-start a sequence of LPs.
- Ctrl-C stops a MIP solve and is raised when it returns (`_solve`): HiGHS would swallow it.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import highspy
import numpy as np

from .blocks import Milp

BASIC = int(highspy.HighsBasisStatus.kBasic)
LOWER = int(highspy.HighsBasisStatus.kLower)
_SENSE = {"min": int(highspy.ObjSense.kMinimize), "max": int(highspy.ObjSense.kMaximize)}
_FEASIBLE = 2                     # HiGHS's primal_solution_status for a feasible point (1: a point, infeasible)
_lock = threading.Lock()


@dataclass
class Solution:
    """What HiGHS returned. `x` and `row_activity` are None when it found no feasible point (unless the
    caller asked for any point); `mip_gap` is 0 for a solved LP, None without a point."""

    status: str                     # HiGHS's words: "Optimal", "Time limit reached", "Infeasible", ...
    optimal: bool
    has_solution: bool
    objective: float | None
    mip_gap: float | None
    dual_bound: float | None
    solve_seconds: float
    x: np.ndarray | None
    row_activity: np.ndarray | None
    row_dual: np.ndarray | None = None
    nodes: int = 0
    relaxed: bool = False
    start: str = "none"             # the first incumbent handed to HiGHS: "none", "rounded LP"
    lp_seconds: float = 0.0         # of solve_seconds: an LP solved first (the planner's start heuristic)
    code: str = ""                  # short status: "optimal", "time_limit" or HiGHS's words in lower case
    resolved: bool = False          # the guard found an inconsistent point and solved again without presolve

    def summary(self) -> dict:
        return {"status": self.status, "optimal": self.optimal, "objective_usd": self.objective,
                "mip_gap": self.mip_gap, "dual_bound_usd": self.dual_bound, "solve_seconds": self.solve_seconds,
                "nodes": self.nodes, "lp_relaxation": self.relaxed, "start": self.start,
                "lp_and_rounding_seconds": self.lp_seconds}


def quiet_highs(verbose: bool = False) -> highspy.Highs:
    """A new HiGHS instance without the banner; `verbose` keeps HiGHS's solve log on.

    The constructor prints on the process's stdout: creating it with file descriptor 1 pointed at
    /dev/null, under a lock, keeps the banner off."""
    with _lock:
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
    h.setOptionValue("output_flag", bool(verbose))
    return h


def load(model: Milp, options: Mapping[str, object] | None = None, *, relax: bool = False,
         highs: highspy.Highs | None = None, verbose: bool = False) -> highspy.Highs:
    """A HiGHS instance holding the model (its LP relaxation with `relax`) with HiGHS `options` set.
    A reused instance (`highs`) has its solver state cleared first."""
    h = highs if highs is not None else quiet_highs(verbose)
    if highs is not None:
        h.clearSolver()
    A = model.A
    integrality = np.zeros(model.num_cols, np.int32) if relax else model.integer.astype(np.int32)
    h.passModel(model.num_cols, model.num_rows, A.nnz, 1, _SENSE[model.sense], float(model.offset),
                model.cost, model.col_lo, model.col_hi, model.row_lo, model.row_hi,
                A.indptr.astype(np.int32), A.indices.astype(np.int32), A.data, integrality)
    for key, value in (options or {}).items():
        h.setOptionValue(key, value)
    return h


def set_start(h: highspy.Highs, x: np.ndarray) -> None:
    """Hand HiGHS a first incumbent (a value for every column)."""
    x = np.asarray(x, dtype=float)
    h.setSolution(len(x), np.arange(len(x), dtype=np.int32), x)


def run(h: highspy.Highs, model: Milp, *, relax: bool = False, start: np.ndarray | None = None,
        guard: bool = True, any_point: bool = False, watch: Callable[[Incumbent], None] | None = None) -> Solution:
    """Solve what `h` holds (`model`, as loaded) and read the result; see the module note on `guard`.
    `any_point` also returns a point HiGHS could not make feasible (x, objective); `watch` hears of
    every better plan HiGHS finds and, every few seconds, of its bound (see `Incumbent`)."""
    if start is not None:
        set_start(h, start)
    t0 = time.perf_counter()
    mip = not relax and bool(model.integer.any())
    _solve(h, mip, watch if mip else None)
    sol = read(h, model, relax, time.perf_counter() - t0, any_point)
    if guard and sol.has_solution and not consistent(model, sol.x, sol.objective):
        h.setOptionValue("presolve", "off")
        t1 = time.perf_counter()
        _solve(h, mip, None)
        h.setOptionValue("presolve", "choose")
        sol = read(h, model, relax, sol.solve_seconds + time.perf_counter() - t1, any_point)
        sol.resolved = True
    return sol


def _solve(h: highspy.Highs, mip: bool, watch: Callable[[Incumbent], None] | None) -> None:
    """`h.run()`, with Ctrl-C honoured. A KeyboardInterrupt raised inside a Python callback is
    swallowed by HiGHS and the solve goes on, so while a MIP runs (in the main thread) SIGINT only
    sets a flag; HiGHS's MIP interrupt callback stops the solve when it is set, and KeyboardInterrupt
    is raised once `run` returns. An LP runs no Python callback: Ctrl-C is raised when it returns,
    and its many short solves (the simulator's) pay no callback per simplex iteration."""
    if not mip:
        h.run()
        return
    hit = threading.Event()
    main = threading.current_thread() is threading.main_thread()   # only it receives (and may handle) SIGINT
    previous = signal.signal(signal.SIGINT, lambda *_: hit.set()) if main else None
    try:
        _watch(h, watch, hit.is_set)
        h.run()
    finally:
        h.clearCallbacks()
        if main:
            signal.signal(signal.SIGINT, previous)
    if hit.is_set():
        raise KeyboardInterrupt


@dataclass(frozen=True)
class Incumbent:
    """Where a MIP solve stands: the best plan's objective so far, the best bound, their gap, time."""

    objective: float
    bound: float
    gap: float
    seconds: float
    nodes: int

    def line(self) -> str:
        """`best $20.41M, bound $20.30M, gap 0.57% (12 nodes)`; `-` for a bound or gap not known yet."""
        def usd(v: float) -> str:
            if not np.isfinite(v) or abs(v) >= 1e29:
                return "-"
            return f"${v / 1e9:,.3f}B" if abs(v) >= 1e9 else f"${v / 1e6:,.2f}M"
        gap = f"{self.gap:.2%}" if np.isfinite(self.gap) and self.gap < 1e29 else "-"
        return f"best {usd(self.objective)}, bound {usd(self.bound)}, gap {gap} ({self.nodes:,} nodes)"


_CB = highspy.cb.HighsCallbackType
WATCH_EVERY_S = 2.0               # bound updates at most this often (each better plan is always reported)


def _watch(h: highspy.Highs, watch: Callable[[Incumbent], None] | None, stop: Callable[[], bool]) -> None:
    """Stop the solve once `stop()` says so (checked at HiGHS's interrupt points); with `watch`, report
    each improving solution, and the bound every WATCH_EVERY_S through the MIP interrupt callback."""
    last = [0.0]

    def cb(kind, _message, out, data_in, _user) -> None:
        if stop():
            data_in.user_interrupt = True
            return
        if watch is None:
            return
        improving = kind == _CB.kCallbackMipImprovingSolution
        if not improving and out.running_time - last[0] < WATCH_EVERY_S:
            return
        if not np.isfinite(out.mip_primal_bound) or out.mip_primal_bound >= 1e29:
            return
        last[0] = out.running_time
        watch(Incumbent(float(out.mip_primal_bound), float(out.mip_dual_bound), float(out.mip_gap),
                        float(out.running_time), int(out.mip_node_count)))

    h.setCallback(cb, None)
    h.startCallback(_CB.kCallbackMipInterrupt)
    if watch is not None:
        h.startCallback(_CB.kCallbackMipImprovingSolution)


def read(h: highspy.Highs, model: Milp, relax: bool, seconds: float, any_point: bool = False) -> Solution:
    """The Solution of a HiGHS instance that has run."""
    code = h.getModelStatus()
    status = h.modelStatusToString(code)
    info = h.getInfo()
    has = info.primal_solution_status >= _FEASIBLE
    point = has or (any_point and info.primal_solution_status >= 1)
    sol = h.getSolution() if point else None
    is_mip = bool(model.integer.any()) and not relax
    short = {highspy.HighsModelStatus.kOptimal: "optimal", highspy.HighsModelStatus.kTimeLimit: "time_limit",
             highspy.HighsModelStatus.kSolutionLimit: "work_limit"}.get(code, status.lower())
    if short == "work_limit":           # HiGHS words its node limit as a solution limit
        status = "Work limit reached (node limit)"
    return Solution(status=status, optimal=code == highspy.HighsModelStatus.kOptimal, has_solution=has,
                    objective=float(info.objective_function_value) if point else None,
                    mip_gap=(float(info.mip_gap) if is_mip else 0.0) if has else None,
                    dual_bound=float(info.mip_dual_bound) if is_mip else None, solve_seconds=seconds,
                    x=np.asarray(sol.col_value) if point else None,
                    row_activity=np.asarray(sol.row_value) if point else None,
                    row_dual=np.asarray(sol.row_dual) if has and not is_mip and sol.dual_valid else None,
                    nodes=int(info.mip_node_count) if is_mip else 0, relaxed=relax, code=short)


def consistent(model: Milp, x: np.ndarray, objective: float | None, *, tol: float = 1e-6,
               objective_rtol: float = 1e-7) -> bool:
    """The point keeps its bounds and rows (to `tol`, relative above 1) and costs what HiGHS reports."""
    if objective is None:
        return False
    cost = float(model.cost @ x + model.offset)
    if abs(cost - objective) > objective_rtol * max(1.0, abs(objective)) + tol:
        return False
    slack = tol * np.maximum(1.0, np.abs(x)) + tol
    if np.any(x < model.col_lo - slack) or np.any(x > model.col_hi + slack):
        return False
    return not row_violations(model, x, tol, abs_tol=tol).any()


def row_violations(model: Milp, x: np.ndarray, tol: float = 1e-7, abs_tol: float = 0.0) -> np.ndarray:
    """[rows] how far each row is outside its bounds beyond `tol` x max(1, |activity|) + `abs_tol` (0 = inside)."""
    act = model.A @ x
    slack = tol * np.maximum(1.0, np.abs(act)) + abs_tol
    over = np.where(np.isfinite(model.row_hi), act - model.row_hi - slack, 0.0)
    under = np.where(np.isfinite(model.row_lo), model.row_lo - act - slack, 0.0)
    return np.maximum(np.maximum(over, under), 0.0)


def set_row_bounds(h: highspy.Highs, rows: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
    """Change the bounds of some rows of the loaded model (e.g. to tighten limits between LP solves)."""
    h.changeRowsBounds(len(rows), np.asarray(rows, np.int32), np.asarray(lo, float), np.asarray(hi, float))


def basis(h: highspy.Highs) -> tuple[np.ndarray, np.ndarray] | None:
    """(column, row) simplex basis statuses of the last solve as int8 arrays, None if HiGHS has none."""
    b = h.getBasis()
    if not b.valid:
        return None
    return (np.fromiter((int(v) for v in b.col_status), np.int8),
            np.fromiter((int(v) for v in b.row_status), np.int8))


def set_basis(h: highspy.Highs, col: np.ndarray, row: np.ndarray) -> None:
    """Start the next simplex solve from these statuses (an "alien" basis: HiGHS repairs it if needed)."""
    b = highspy.HighsBasis()
    b.col_status = [highspy.HighsBasisStatus(int(v)) for v in col]
    b.row_status = [highspy.HighsBasisStatus(int(v)) for v in row]
    b.alien = True
    h.setBasis(b)
