"""Job-level simulator: training jobs arrive, get allocations, run in rounds, finish.

Events on the heapq engine are round boundaries (a round ends when its last micro-task ends,
as in Gavel) and wake-ups at the next arrival when the cluster is idle. At a boundary the
simulator credits progress (each job at the rate of the type it held), records completions,
admits the jobs that arrived meanwhile, reallocates when due and places the next round.
Per-round arithmetic is vectorised over the jobs placed.
"""

from __future__ import annotations

import csv
import json
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from polyfleet.errors import UnknownNameError, UserError
from polyfleet.place.allocation import AllocationProblem
from polyfleet.place.rounds import RoundConfig, RoundMechanism
from polyfleet.place.training import PolicyOptions, allocate, get_policy
from polyfleet.sim.engine import Engine

__all__ = ["JobTrace", "SimConfig", "SimResult", "load_gavel_trace", "simulate_jobs"]


@dataclass(frozen=True)
class JobTrace:
    """Jobs in arrival order; row i is job id i. Work is in the units of `throughput`."""

    arrival_s: np.ndarray
    throughput: np.ndarray  # [jobs, types] work units/s of the whole gang; 0 = cannot run
    scale_factor: np.ndarray  # chips per gang
    total_work: np.ndarray
    types: tuple[str, ...]
    weight: np.ndarray | None = None
    deadline_s: np.ndarray | None = None  # absolute, for min_cost with deadlines
    job_type: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.arrival_s)
        if np.any(np.diff(self.arrival_s) < 0):
            raise ValueError("jobs must be in arrival order")
        if self.throughput.shape != (n, len(self.types)):
            raise ValueError(f"throughput shape {self.throughput.shape}, expected ({n}, {len(self.types)})")

    @property
    def num_jobs(self) -> int:
        return len(self.arrival_s)


@dataclass(frozen=True)
class SimConfig:
    """Policy, round mechanics and what to measure.

    window: count job ids [start, end) and stop at the first round boundary where all of them are
    done (Gavel's rule); None = all jobs. gavel_busy_time: measure a round's busy time from the
    end of the previous non-idle round, as Gavel does (it affects priorities and utilisation).
    """

    policy: str = "max_min_fairness_perf"
    rounds: RoundConfig = RoundConfig()
    solve: PolicyOptions = PolicyOptions()
    window: tuple[int, int] | None = None
    usd_per_chip_hour: np.ndarray | None = None
    max_failures: int = 5
    gavel_busy_time: bool = True


@dataclass
class SimResult:
    """What happened: per-job completion times (nan = not done) and fleet totals."""

    trace: JobTrace
    window: tuple[int, int]
    completion_s: np.ndarray
    failed: np.ndarray
    end_s: float
    busy_chip_s: float
    total_chips: float
    rounds: int = 0
    reallocations: int = 0
    lp_seconds: float = 0.0
    preemptions: int = 0
    moves: int = 0
    restarts: int = 0
    events: int = 0
    wall_seconds: float = 0.0

    @property
    def jct_s(self) -> np.ndarray:
        return self.completion_s - self.trace.arrival_s

    def average_jct_s(self) -> float:
        """Mean JCT over the window's finished, non-failed jobs (Gavel's get_average_jct)."""
        lo, hi = self.window
        jct = self.jct_s[lo:hi][~self.failed[lo:hi]]
        jct = jct[np.isfinite(jct)]
        return float(jct.mean()) if jct.size else math.nan

    @property
    def utilization(self) -> float:
        return self.busy_chip_s / (self.end_s * self.total_chips) if self.end_s > 0 else 0.0


class _JobSim:
    def __init__(self, trace: JobTrace, capacity: np.ndarray, config: SimConfig) -> None:
        self.trace, self.config = trace, config
        self.capacity = np.asarray(capacity, dtype=float)
        spec = get_policy(config.policy)
        self.policy = spec.name
        self.mech = RoundMechanism(self.capacity, trace.num_jobs, shuffle_types=not spec.heterogeneity_aware,
                                   fill_idle=spec.lp, config=config.rounds)
        n = trace.num_jobs
        self.thr = np.asarray(trace.throughput, dtype=float)
        self.scale = np.asarray(trace.scale_factor, dtype=float)
        self.weight = trace.weight if trace.weight is not None else np.ones(n)
        self.remaining = np.asarray(trace.total_work, dtype=float).copy()
        self.completion = np.full(n, np.nan)
        self.failed = np.zeros(n, dtype=bool)
        self.failures = np.zeros(n, dtype=np.int64)
        self.last_type = np.full(n, -1, dtype=np.int64)
        self.started = np.zeros(n, dtype=bool)
        self.mark = np.zeros(n, dtype=bool)
        self.window = config.window or (0, n)
        self.left_in_window = self.window[1] - self.window[0]
        self.next_arrival = 0
        self.engine = Engine()
        self.flight: tuple | None = None
        self.prev_placed = np.zeros(0, dtype=np.int64)
        self.last_round_end = 0.0
        self.busy_chip_s = 0.0
        self.counts = {"rounds": 0, "reallocations": 0, "preemptions": 0, "moves": 0, "restarts": 0}
        self.lp_seconds = 0.0
        self.end_s = 0.0

    def run(self) -> SimResult:
        t0 = time.perf_counter()
        if self.trace.num_jobs:
            self.engine.schedule(float(self.trace.arrival_s[0]), self.boundary, priority=1)
        self.engine.run()
        c = self.counts
        return SimResult(self.trace, self.window, self.completion, self.failed, self.end_s,
                         self.busy_chip_s, float(self.capacity.sum()), c["rounds"], c["reallocations"],
                         self.lp_seconds, c["preemptions"], c["moves"], c["restarts"],
                         self.engine.events_processed, time.perf_counter() - t0)

    # ------------------------------------------------------------ a round boundary

    def boundary(self) -> None:
        now = self.engine.now
        if self.flight is not None:
            self._finish_round(now)
        if self.left_in_window <= 0:
            self.end_s = now
            self.engine.stop()
            return
        self._admit(now)
        placed = self._place(now)
        if placed:
            return
        self.flight = None
        if self.next_arrival < self.trace.num_jobs:
            self.engine.schedule(float(self.trace.arrival_s[self.next_arrival]), self.boundary, priority=1)
        elif self.mech.need_reallocation and self.mech.active.size:
            self.mech.last_reset_s = 0.0  # nothing left to wait for: reallocate now (Gavel's reset)
            if not self._place(now):
                self.end_s = now
        else:
            self.end_s = now  # remaining jobs can run nowhere

    def _admit(self, now: float) -> None:
        arrivals = self.trace.arrival_s
        end = int(np.searchsorted(arrivals, now, side="right"))
        if end > self.next_arrival:
            self.mech.add(np.arange(self.next_arrival, end))
            self.next_arrival = end

    def _reallocate(self, now: float) -> None:
        act = self.mech.active
        deadline = self.trace.deadline_s
        problem = AllocationProblem(
            throughput=self.thr[act], scale_factor=self.scale[act], capacity=self.capacity,
            types=self.trace.types, weight=self.weight[act], usd_per_chip_hour=self.config.usd_per_chip_hour,
            remaining_work=self.remaining[act], age_s=now - self.trace.arrival_s[act],
            deadline_s=None if deadline is None else deadline[act] - now,
            previous=np.where(self.mech.in_allocation[act, None], self.mech.x[act], 0.0), job_ids=act)
        alloc = allocate(problem, self.policy, self.config.solve)
        self.lp_seconds += alloc.build_seconds + alloc.solve_seconds
        self.counts["reallocations"] += 1
        self.mech.set_allocation(now, alloc.x)

    def _place(self, now: float) -> bool:
        mech = self.mech
        if mech.reallocation_due(now):
            self._reallocate(now)
        act = mech.active
        rows, types = mech.place(self.thr[act], self.scale[act])
        jobs = act[rows]
        mark = self.mark
        mark[jobs] = True
        stopped = self.prev_placed[~mark[self.prev_placed]]
        mark[jobs] = False
        if stopped.size:
            self.counts["preemptions"] += int(np.count_nonzero(np.isnan(self.completion[stopped])
                                                               & ~self.failed[stopped]))
            self.last_type[stopped] = -1
        if rows.size == 0:
            self.prev_placed = jobs
            return False
        thr = self.thr[jobs, types]
        moved = self.started[jobs] & (self.last_type[jobs] != types)
        self.counts["moves"] += int(np.count_nonzero(moved & (self.last_type[jobs] >= 0)))
        cost = np.zeros(jobs.size)
        restart = self.config.rounds.restart_cost_s
        if restart > 0:
            cost[moved] = restart
            self.counts["restarts"] += int(np.count_nonzero(moved))
        steps = np.minimum(np.floor(thr * np.maximum(self.config.rounds.round_s - cost, 0.0)),
                           self.remaining[jobs])
        finish = now + cost + steps / thr
        self.started[jobs] = True
        self.last_type[jobs] = types
        self.prev_placed = jobs
        start = self.last_round_end if self.config.gavel_busy_time else now
        self.flight = (jobs, types, steps, finish, start)
        self.counts["rounds"] += 1
        self.engine.schedule(float(finish.max()), self.boundary, priority=1)
        return True

    def _finish_round(self, now: float) -> None:
        jobs, types, steps, finish, start = self.flight
        self.flight = None
        self.last_round_end = now
        scale = self.scale[jobs]
        # Gavel splits a gang's steps evenly; a worker left with no whole step fails the micro-task.
        bad = np.where(scale > 1, steps < scale, steps <= 0)
        ok = ~bad
        busy = finish - start
        self.busy_chip_s += float((busy[ok] * scale[ok]).sum())
        self.mech.record(jobs[ok], types[ok], busy[ok])
        self.remaining[jobs[ok]] -= steps[ok]
        self.failures[jobs[ok]] = 0
        finished = self.remaining[jobs[ok]] <= 0
        done = jobs[ok][finished]
        self.completion[done] = finish[ok][finished]
        gone = done
        if bad.any():
            self.failures[jobs[bad]] += 1
            self.mech.need_reallocation = True
            dead = jobs[bad][self.failures[jobs[bad]] >= self.config.max_failures]
            self.failed[dead] = True
            self.completion[dead] = finish[bad][self.failures[jobs[bad]] >= self.config.max_failures]
            gone = np.concatenate([done, dead])
        if gone.size:
            self.mech.remove(gone)
            lo, hi = self.window
            self.left_in_window -= int(np.count_nonzero((gone >= lo) & (gone < hi)))


def simulate_jobs(trace: JobTrace, capacity: np.ndarray, config: SimConfig = SimConfig()) -> SimResult:
    """Replay `trace` on a fleet with `capacity[w]` chips of each of `trace.types`."""
    return _JobSim(trace, capacity, config).run()


# ---------------------------------------------------------------- Gavel's trace format

_KEY = re.compile(r"^\('(.*)', (\d+)\)$")


def load_gavel_throughputs(path: str | Path, types: tuple[str, ...]) -> dict[tuple[str, int], np.ndarray]:
    """Gavel's simulation_throughputs.json: (model, scale_factor) -> steps/s of the gang per type."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read throughputs: {exc}", where=str(path)) from None
    for name in types:
        if name not in raw:
            raise UnknownNameError("accelerator type", name, [k for k in raw if not k.endswith("_unconsolidated")],
                                   where=str(path))
    table: dict[tuple[str, int], np.ndarray] = {}
    for w, name in enumerate(types):
        for key, entry in raw[name].items():
            match = _KEY.match(key)
            if match is None or not isinstance(entry, dict) or "null" not in entry:
                raise UserError(f"job key {key!r} is not \"('<model>', <scale factor>)\" with a 'null' entry",
                                where=str(path), field=name)
            row = table.setdefault((match.group(1), int(match.group(2))), np.zeros(len(types)))
            row[w] = float(entry["null"])
    return table


def load_gavel_trace(trace: str | Path, throughputs: str | Path,
                     types: tuple[str, ...] = ("v100", "p100", "k80")) -> JobTrace:
    """Read a Gavel job trace (.trace, tab-separated, or the .jobs.csv export) into a JobTrace.

    Job ids are line numbers (0-based), as Gavel assigns them; work is in training steps.
    """
    trace = Path(trace)
    table = load_gavel_throughputs(throughputs, types)
    rows: list[tuple[float, str, int, float, float]] = []
    try:
        with trace.open(newline="") as handle:
            if trace.name.endswith(".csv"):
                for line, rec in enumerate(csv.DictReader(handle), start=2):
                    rows.append(_parse(trace, line, rec.get("arrival_time_s"), rec.get("job_type"),
                                       rec.get("scale_factor"), rec.get("total_steps"), rec.get("priority_weight")))
            else:
                for line, text in enumerate(handle, start=1):
                    if not text.strip():
                        continue
                    parts = text.rstrip("\n").split("\t")
                    if len(parts) != 10:
                        raise UserError(f"{len(parts)} tab-separated fields, expected 10",
                                        where=f"{trace}:{line}")
                    rows.append(_parse(trace, line, parts[9], parts[0], parts[6], parts[5], parts[7]))
    except OSError as exc:
        raise UserError(f"cannot read trace: {exc}", where=str(trace)) from None
    if not rows:
        raise UserError("no jobs in trace", where=str(trace))
    thr = np.zeros((len(rows), len(types)))
    for i, (_, model, scale, _, _) in enumerate(rows):
        key = (model, scale)
        if key not in table:
            raise UnknownNameError("job type", f"{model} x{scale}", [f"{m} x{s}" for m, s in table],
                                   where=f"{trace}: job {i}")
        thr[i] = table[key]
    arrival = np.array([r[0] for r in rows])
    if np.any(np.diff(arrival) < 0):
        bad = int(np.flatnonzero(np.diff(arrival) < 0)[0]) + 1
        raise UserError("arrival times must not decrease", where=f"{trace}: job {bad}", field="arrival_time")
    return JobTrace(arrival_s=arrival, throughput=thr, scale_factor=np.array([r[2] for r in rows]),
                    total_work=np.array([r[3] for r in rows]), types=tuple(types),
                    weight=np.array([r[4] for r in rows]), job_type=tuple(r[1] for r in rows))


def _parse(path: Path, line: int, arrival, model, scale, steps, weight) -> tuple[float, str, int, float, float]:
    where = f"{path}:{line}"
    fields = (("arrival_time", arrival, float), ("scale_factor", scale, int),
              ("total_steps", steps, float), ("priority_weight", weight, float))
    values = []
    for name, text, kind in fields:
        try:
            value = kind(text)
        except (TypeError, ValueError):
            raise UserError(f"{text!r} is not a number", where=where, field=name) from None
        if not math.isfinite(value) or value < 0 or (name == "scale_factor" and value < 1):
            raise UserError(f"{text!r} is out of range", where=where, field=name)
        values.append(value)
    if not model:
        raise UserError("empty job type", where=where, field="job_type")
    return values[0], model, values[1], values[2], values[3]
