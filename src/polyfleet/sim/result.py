"""What one simulated run measured, and what an incident did."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Incident:
    """A capacity fault that touched the fleet, and what it cost in service."""
    kind: str
    target_kind: str
    target: str
    start_day: float
    hours: float
    unserved_tokens: np.ndarray      # [C] inference tokens lost during it, per class
    customers_affected: int          # most customers hit at once
    customer_hours: float            # customers x hours hit
    impact_hours: float              # hours with any demand unserved
    sampled: bool = True

    @property
    def label(self) -> str:
        return f"{self.kind.replace('_', ' ')} of {self.target_kind} {self.target}"


@dataclass(frozen=True)
class RunResult:
    """Metrics of one run of one strategy. Axes: W workloads, C classes (priority order)."""
    strategy: str
    workloads: tuple[str, ...]
    classes: tuple[str, ...]
    months: int
    demand_tokens: np.ndarray        # [W, C]
    served_tokens: np.ndarray        # [W, C]
    worst_hour_loss: np.ndarray      # [C] largest unserved share in any hour (inference)
    worst_day_loss: np.ndarray       # [C] largest unserved share in any day (inference)
    max_daily_loss: np.ndarray       # [C] same as worst_day_loss (kept for the risk summary's name)
    slo_attainment: np.ndarray       # [C] share of steps within the SLO tolerance
    training_delay_days: np.ndarray  # [W] days of work a training workload fell behind (0 for inference)
    cost_planned_usd: float
    cost_actual_usd: float
    stranded_usd: float
    energy_mwh: float
    incidents: tuple[Incident, ...]
    placements: int
    customers: int
    top_customer_loss_tokens: tuple[float, ...] = ()
    series: dict | None = field(default=None, repr=False)

    @property
    def unserved_tokens(self) -> np.ndarray:
        return self.demand_tokens - self.served_tokens

    def served_share(self, inference_only: np.ndarray | None = None) -> np.ndarray:
        """[C] share of each class's demand served."""
        d, s = self.demand_tokens, self.served_tokens
        if inference_only is not None:
            d, s = d[inference_only], s[inference_only]
        dt, st = d.sum(axis=0), s.sum(axis=0)
        return np.divide(st, dt, out=np.ones_like(dt), where=dt > 0)

    def unserved_share(self, inference_only: np.ndarray | None = None) -> np.ndarray:
        return 1.0 - self.served_share(inference_only)
