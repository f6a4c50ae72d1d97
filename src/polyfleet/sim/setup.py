"""Everything one simulated strategy needs, fixed across Monte Carlo runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..perf.ratetable import RateTable
from ..scenario.faults import Faults
from ..scenario.simulation import SimOptions
from .customers import Customers
from .demand import cycle, daily_peak_for
from .faults import MONTH, Universe
from .schedule import FleetSchedule


@dataclass(frozen=True, eq=False)
class SimSetup:
    """One strategy's fleet and the demand it must serve. Axes: W workloads, P pools, C classes, T months."""

    name: str
    schedule: FleetSchedule
    table: RateTable                 # [W, P]: rates over the schedule's pools
    kinds: tuple[str, ...]           # "inference" | "training" per workload
    demand: np.ndarray               # [W, T] tokens/s, monthly mean
    peak_factor: np.ndarray          # [W] what each service's capacity is sized for (1 for training)
    classes: tuple[str, ...]         # priority order, highest first
    share: np.ndarray                # [W, C] share of each workload's demand in each class
    customers: Customers | None      # each tier's accounts (drawn once per scenario: the same for every strategy)
    loss_usd_per_mtok: np.ndarray    # [C] value of unserved demand
    training_chips: np.ndarray       # [W] gang size of a training workload (0 for inference)
    faults: Faults
    universe: Universe
    options: SimOptions
    placements: dict = field(default_factory=dict, repr=False)   # fleet state -> placement (see fleet._placed)

    @property
    def workloads(self) -> tuple[str, ...]:
        return self.table.workloads

    @property
    def inference(self) -> np.ndarray:
        return np.array([k == "inference" for k in self.kinds])

    @property
    def inference_services(self) -> tuple[str, ...]:
        return tuple(w for w, k in zip(self.table.workloads, self.kinds) if k == "inference")

    # ---- time: derived once per setup, shared by every run ----------------------------------
    @property
    def months(self) -> int:
        """Months simulated: the options' (default 12), at most the schedule's."""
        return min(self.options.months or self.schedule.T, self.schedule.T)

    @property
    def step_s(self) -> float:
        return self.options.step_minutes * 60.0

    @property
    def n_steps(self) -> int:
        return int(round(self.months * MONTH / self.step_s))

    @cached_property
    def month_of_step(self) -> np.ndarray:
        """[steps] month index of each step (by its midpoint)."""
        mid = (np.arange(self.n_steps) + 0.5) * self.step_s
        return np.minimum((mid // MONTH).astype(np.int64), self.months - 1)

    @cached_property
    def peak(self) -> np.ndarray:
        """[months, W] the demand each month's placement serves: the daily cycle's peak, no noise
        (placement follows the cycle, as an autoscaler would, not each noise spike)."""
        out = self.demand[:, :self.months].T.copy()
        shape = self.options.traffic
        first = np.searchsorted(self.month_of_step, np.arange(self.months))
        for j in np.flatnonzero(self.inference):
            c = cycle(self.step_s, self.n_steps, shape, daily_peak_for(shape, float(self.peak_factor[j])))
            out[:, j] *= np.maximum.reduceat(c, first)
        return out
