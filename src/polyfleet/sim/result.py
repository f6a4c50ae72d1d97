"""What one simulated run measured, and what an incident did."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .calendar import DAY, HOUR, Calendar, when
from .faults import KIND_WORDS


@dataclass(frozen=True)
class Incident:
    """A capacity fault that touched the fleet, and what it cost in service on top of what the
    intact fleet would have lost anyway (traffic peaks, chips in repair)."""
    kind: str
    target_kind: str
    target: str
    start_s: float
    duration_s: float
    unserved_tokens: np.ndarray      # [C] inference tokens lost to it, per class
    customers_affected: int          # most customers hit at once by it
    customer_hours: float            # customers x hours hit by it
    impact_hours: float              # hours in which it cost some demand
    sampled: bool = True
    calendar: Calendar = Calendar()

    @property
    def what(self) -> str:
        """'outage of region gcp/us-east5': the same words for the same fault in every run."""
        return f"{KIND_WORDS.get(self.kind, self.kind)} of {self.target_kind} {self.target}"

    @property
    def when(self) -> str:
        """'2026-12-01 14:00, 6 h'."""
        return when(self.calendar, self.start_s, self.duration_s)

    @property
    def label(self) -> str:
        return f"{self.what}, {self.when}"

    @property
    def start_day(self) -> float:
        return self.start_s / DAY

    @property
    def hours(self) -> float:
        return self.duration_s / HOUR


@dataclass(frozen=True)
class RunResult:
    """Metrics of one run of one strategy. Axes: W workloads, C classes (priority order).

    Inference and training are told apart: per-class figures (`served_share`, worst hour and day,
    SLO) are inference only and NaN for a class with no inference demand; training has its own
    tokens, share served and delay, each delay split by cause (see sim/training.py).
    """
    strategy: str
    workloads: tuple[str, ...]
    kinds: tuple[str, ...]
    classes: tuple[str, ...]
    months: int
    horizon_months: int
    demand_tokens: np.ndarray        # [W, C]
    served_tokens: np.ndarray        # [W, C]
    unserved_by_cause: dict          # cause -> [C] inference tokens (sim/serve.py CAUSES)
    worst_hour_loss: np.ndarray      # [C] largest unserved share in any hour (inference; NaN: no demand)
    worst_day_loss: np.ndarray       # [C] largest unserved share in any day (inference; NaN: no demand)
    slo_attainment: np.ndarray       # [C] share of steps within the SLO tolerance (inference)
    training_delay_days: np.ndarray  # [W] days a training workload fell behind the plan (0 for inference)
    training_delay_by_cause: dict    # cause -> [W] days (sums to training_delay_days)
    cost_planned_usd: float
    cost_actual_usd: float
    stranded_usd: float
    energy_mwh: float
    incidents: tuple[Incident, ...]
    placements: int
    customers: int
    top_customer_loss_tokens: tuple[float, ...] = ()
    calendar: Calendar = Calendar()
    series: dict | None = field(default=None, repr=False)
    modelled_classes: np.ndarray | None = None   # [C] classes with a customer model (customers counted there only)

    @property
    def inference(self) -> np.ndarray:
        return np.array([k == "inference" for k in self.kinds])

    @property
    def training(self) -> np.ndarray:
        return ~self.inference

    @property
    def scope(self) -> str:
        """'24 months' or 'first 12 of 24 months': what the costs cover."""
        if self.months >= self.horizon_months:
            return f"{self.months} months"
        return f"first {self.months} of {self.horizon_months} months"

    @property
    def unserved_tokens(self) -> np.ndarray:
        return self.demand_tokens - self.served_tokens

    @property
    def inference_classes(self) -> np.ndarray:
        """[C] classes with inference demand."""
        return self.demand_tokens[self.inference].sum(axis=0) > 0

    def served_share(self, inference_only: np.ndarray | None = None) -> np.ndarray:
        """[C] share of each class's inference demand served (NaN for a class without any).
        `inference_only` is accepted for older callers and ignored: classes are inference only."""
        d = self.demand_tokens[self.inference].sum(axis=0)
        s = self.served_tokens[self.inference].sum(axis=0)
        return np.divide(s, d, out=np.full_like(d, np.nan), where=d > 0)

    def unserved_share(self) -> np.ndarray:
        return 1.0 - self.served_share()

    def training_served_share(self) -> np.ndarray:
        """[W] share of each training workload's planned tokens trained (NaN for inference or no plan)."""
        d = self.demand_tokens.sum(axis=1)
        s = self.served_tokens.sum(axis=1)
        return np.divide(s, d, out=np.full_like(d, np.nan), where=(d > 0) & self.training)
