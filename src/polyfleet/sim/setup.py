"""Everything one simulated strategy needs, fixed across Monte Carlo runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
import numpy as np

from ..perf.ratetable import RateTable
from ..scenario.faults import Faults
from ..scenario.simulation import SimOptions
from .customers import Customers
from .faults import Universe
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

    @cached_property
    def inference_table(self) -> RateTable:
        """The rate table restricted to inference services (what `place` reads)."""
        return self.table.subset(workloads=[w for w, k in zip(self.table.workloads, self.kinds) if k == "inference"])
