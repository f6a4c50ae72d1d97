"""Gavel's round-based mechanism: turn time fractions X[job, type] into concrete placements.

Each round (360 s in Gavel) every type's chips go to the jobs furthest behind their allocation:
priority = X[j, w] / f[j, w], with f the job's share of the time type w has run since the last
reallocation (every job starts with a credit of half a round). A job runs on at most one type
per round, on all of its s[j] chips at once (gang), and only where it has a throughput.
The allocation is recomputed when jobs came or went and at least `min_reallocation_interval_s`
passed; the time each job should have received until then is carried over as a deficit, which
breaks ties between equal priorities.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RoundConfig:
    """Round length, reallocation rule and the price of moving a job, all in seconds."""

    round_s: float = 360.0
    min_reallocation_interval_s: float = 1920.0
    restart_cost_s: float = 0.0  # progress lost when a job resumes after a pause or changes type
    seed: int = 0
    backfill_new_jobs: bool = False  # let jobs not yet in the allocation use idle chips (Gavel: no)
    new_jobs_hold_chips: bool = False  # Gavel's scheduler ranks jobs not yet in the allocation (priority 0)
    # and counts the chips they would take as used, then does not start them: those chips idle that round


class RoundMechanism:
    """Per-job bookkeeping (allocation, time received, deficits) over a fixed table of job slots.

    Slots are the caller's job indices (0..max_jobs-1); only `active` ones take part. The slot
    index is also the tie-breaker of last resort, so give slots in arrival order.
    """

    def __init__(self, capacity: np.ndarray, max_jobs: int, *, shuffle_types: bool,
                 fill_idle: bool, config: RoundConfig = RoundConfig()) -> None:
        self.capacity = np.asarray(capacity, dtype=float)
        n_types = self.capacity.size
        self.config = config
        self.shuffle_types = shuffle_types
        self.fill_idle = fill_idle
        self.x = np.zeros((max_jobs, n_types))
        self.in_allocation = np.zeros(max_jobs, dtype=bool)
        self.job_time = np.zeros((max_jobs, n_types))
        self.deficit = np.zeros((max_jobs, n_types))
        self.worker_time = np.zeros(n_types)
        self.active = np.zeros(0, dtype=np.int64)
        self.need_reallocation = True
        self.last_reset_s = 0.0
        self._credit = config.round_s / 2.0
        # Gavel shuffles its type list with random.Random(seed + 5) each round (agnostic policies).
        self._shuffler = random.Random(config.seed + 5)

    # ------------------------------------------------------------ job set

    def add(self, jobs: np.ndarray) -> None:
        """Admit jobs; they start with the half-round credit and wait for the next reallocation."""
        jobs = np.asarray(jobs, dtype=np.int64)
        if jobs.size == 0:
            return
        self.job_time[jobs] = self._credit
        self.deficit[jobs] = 0.0
        self.x[jobs] = 0.0
        self.in_allocation[jobs] = False
        self.active = np.union1d(self.active, jobs)
        self.need_reallocation = True

    def remove(self, jobs: np.ndarray) -> None:
        jobs = np.asarray(jobs, dtype=np.int64)
        if jobs.size == 0:
            return
        self.active = np.setdiff1d(self.active, jobs, assume_unique=True)
        self.in_allocation[jobs] = False
        self.need_reallocation = True

    # ------------------------------------------------------------ reallocation

    def reallocation_due(self, now_s: float) -> bool:
        if not self.need_reallocation:
            return False
        interval = now_s - self.last_reset_s
        return interval >= self.config.min_reallocation_interval_s or self.last_reset_s == 0.0

    def set_allocation(self, now_s: float, x_active: np.ndarray) -> None:
        """Install a new allocation for `active` (row order), carrying the old one into deficits."""
        act = self.active
        elapsed = now_s - self.last_reset_s
        old = np.where(self.in_allocation[act, None], self.x[act], 0.0)
        self.deficit[act] += old * elapsed - (self.job_time[act] - self._credit)
        self.job_time[act] = self._credit
        self.worker_time[:] = self._credit * act.size
        self.x[act] = x_active
        self.in_allocation[act] = True
        self.last_reset_s = now_s
        self.need_reallocation = False

    # ------------------------------------------------------------ one round

    def type_order(self) -> list[int]:
        order = list(range(self.capacity.size))
        if self.shuffle_types:
            self._shuffler.shuffle(order)
        return order

    def priorities(self, throughput_active: np.ndarray) -> np.ndarray:
        """X / f per active job and type; 1e9 * X before a job has any share; 0 where it cannot run."""
        act = self.active
        x = self.x[act]
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(self.worker_time > 0, self.job_time[act] / self.worker_time, 0.0)
            prio = np.where(share > 0, x / share, x * 1e9)
        prio[~self.in_allocation[act]] = 0.0
        prio[throughput_active <= 0] = 0.0
        return prio

    def place(self, throughput_active: np.ndarray, scale_active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Placements for this round: (rows into `active`, type index), each job at most once.

        Per type (in `type_order`), jobs in descending (priority, deficit, allocation), then slot
        order; a gang goes where all its chips fit, otherwise the next job is tried.
        """
        act = self.active
        n = act.size
        if n == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        prio = self.priorities(throughput_active)
        ok = throughput_active > 0
        hold = np.zeros(n, dtype=bool)
        if not self.config.backfill_new_jobs:
            if self.config.new_jobs_hold_chips:
                hold = ~self.in_allocation[act]
            else:
                ok &= self.in_allocation[act][:, None]
        if not self.fill_idle:
            ok &= (prio > 0) | hold[:, None]
        neg_prio, neg_deficit, neg_x = -prio, -self.deficit[act], -self.x[act]
        taken = np.zeros(n, dtype=bool)
        chosen_rows: list[np.ndarray] = []
        chosen_types: list[np.ndarray] = []
        single = bool(np.all(scale_active == 1))
        scale = scale_active.tolist()
        for w in self.type_order():
            left = self.capacity[w]
            if left < 1:
                continue
            order = np.lexsort((act, neg_x[:, w], neg_deficit[:, w], neg_prio[:, w]))
            order = order[ok[order, w] & ~taken[order]]
            if single:
                chosen = order[: int(left)]
            else:
                picked = []
                for i in order.tolist():
                    if scale[i] <= left:
                        picked.append(i)
                        left -= scale[i]
                        if left < 1:
                            break
                chosen = np.asarray(picked, dtype=np.int64)
            taken[chosen] = True
            chosen = chosen[~hold[chosen]]
            if chosen.size:
                chosen_rows.append(chosen)
                chosen_types.append(np.full(chosen.size, w, dtype=np.int64))
        if not chosen_rows:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(chosen_rows), np.concatenate(chosen_types)

    def record(self, jobs: np.ndarray, types: np.ndarray, busy_s: np.ndarray) -> None:
        """Credit the time jobs ran on each type this round (feeds the next priorities)."""
        if jobs.size == 0:
            return
        np.add.at(self.job_time, (jobs, types), busy_s)
        self.worker_time += np.bincount(types, weights=busy_s, minlength=self.capacity.size)
