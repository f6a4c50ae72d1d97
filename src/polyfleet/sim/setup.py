"""Everything one simulated strategy needs, fixed across Monte Carlo runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..perf.ratetable import RateTable
from ..scenario.faults import Faults
from ..scenario.simulation import SimOptions
from .calendar import Calendar
from .customers import Customers
from .demand import cycle, daily_peak_for
from .faults import Universe
from .schedule import FleetSchedule


@dataclass(frozen=True, eq=False)
class SimSetup:
    """One strategy's fleet and the demand it must serve. Axes: W workloads, P pools, C classes, T months.

    `run_chips[w, p, t]` is where the plan put each training workload: the chips it holds on each
    pool each month (0 for inference). The simulator runs training there and nowhere else, so a
    fleet that keeps its chips trains at the plan's pace; a plan that puts each run on one cluster
    shows up here as one non-zero pool per run.
    """

    name: str
    schedule: FleetSchedule
    table: RateTable                 # [W, P]: rates over the schedule's pools
    kinds: tuple[str, ...]           # "inference" | "training" per workload
    demand: np.ndarray               # [W, T] tokens/s, monthly mean (training: the plan's pace)
    peak_factor: np.ndarray          # [W] what each service's capacity is sized for (1 for training)
    classes: tuple[str, ...]         # priority order, highest first
    share: np.ndarray                # [W, C] share of each workload's demand in each class
    customers: Customers | None      # each tier's accounts (drawn once per scenario: the same for every strategy)
    loss_usd_per_mtok: np.ndarray    # [C] value of unserved demand
    training_chips: np.ndarray       # [W] gang size of a training workload (0 for inference)
    faults: Faults
    universe: Universe
    options: SimOptions
    run_chips: np.ndarray | None = None   # [W, P, T] chips per training workload per pool (None: none)
    calendar: Calendar = Calendar()
    placements: dict = field(default_factory=dict, repr=False)   # fleet state -> placement (see placing.py)

    @property
    def workloads(self) -> tuple[str, ...]:
        return self.table.workloads

    @property
    def inference(self) -> np.ndarray:
        return np.array([k == "inference" for k in self.kinds])

    @property
    def inference_services(self) -> tuple[str, ...]:
        return tuple(w for w, k in zip(self.table.workloads, self.kinds) if k == "inference")

    @cached_property
    def runs(self) -> np.ndarray:
        """[W, P, T] chips per training workload per pool per month (zeros where none)."""
        if self.run_chips is None:
            return np.zeros((len(self.kinds), self.schedule.P, self.schedule.T))
        return np.asarray(self.run_chips, dtype=float)

    # ---- time: derived once per setup, shared by every run ----------------------------------
    @property
    def month_s(self) -> float:
        """The plan's month in seconds (the scenario's hours_per_month): one calendar for both."""
        return self.schedule.hours_per_month * 3600.0

    @property
    def horizon_months(self) -> int:
        return self.schedule.T

    @property
    def months(self) -> int:
        """Months simulated: the options' (default: the whole horizon), at most the schedule's."""
        return min(self.options.months or self.schedule.T, self.schedule.T)

    @property
    def horizon_s(self) -> float:
        return self.months * self.month_s

    @property
    def step_s(self) -> float:
        return self.options.step_minutes * 60.0

    @property
    def n_steps(self) -> int:
        return int(round(self.horizon_s / self.step_s))

    @property
    def scope(self) -> str:
        """'24 months' or 'first 12 of 24 months': what the simulated costs cover."""
        if self.months >= self.horizon_months:
            return f"{self.months} months"
        return f"first {self.months} of {self.horizon_months} months"

    @cached_property
    def month_of_step(self) -> np.ndarray:
        """[steps] month index of each step (by its midpoint)."""
        mid = (np.arange(self.n_steps) + 0.5) * self.step_s
        return np.minimum((mid // self.month_s).astype(np.int64), self.months - 1)

    @cached_property
    def peak(self) -> np.ndarray:
        """[months, W] the demand each month's placement serves: the daily cycle's peak, no noise
        (placement follows the cycle, as an autoscaler would, not each noise spike)."""
        out = self.demand[:, :self.months].T.copy()
        shape = self.options.traffic
        first = np.searchsorted(self.month_of_step, np.arange(self.months))
        for j in np.flatnonzero(self.inference):
            c = cycle(self.step_s, self.n_steps, shape, daily_peak_for(shape, float(self.peak_factor[j])),
                      self.calendar.first_weekday)
            out[:, j] *= np.maximum.reduceat(c, first)
        return out
