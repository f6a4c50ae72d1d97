"""Training through a run: tokens trained against the plan's pace, and the delay by cause.

A run's pace is the plan's (tokens/s per month). Within a stretch of constant capacity it trains
at min(pace, goodput x (1 - repair) x capacity); what it misses is split counterfactually, in
this order, so the parts add up to the total and none is negative:

- placement: the intact fleet, as placed, gives the run less than the plan did (inference took
  some of the run's chips; should be 0 when plan and placement agree);
- chip failures: chips in repair, and progress rolled back to the last checkpoint plus the
  restart after each chip failure in the run's gang (goodput);
- outage, preemption, supply_cut, delivery_slip: capacity events; where several overlap, their
  shortfall is shared in proportion to the chips each takes (on the run's own pools when it has
  any there, else across the fleet).

Delay in days = tokens missed / the run's average pace while it runs (active months): how much
later it finishes at its pace. A run does not catch up on idle chips.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .calendar import DAY
from .capacity import CAPACITY_KINDS

TRAINING_CAUSES = ("placement", "chip failures") + CAPACITY_KINDS


@dataclass(frozen=True)
class Trained:
    """Training tokens over the run. Axes: T_w training workloads."""

    demand_tokens: np.ndarray      # [T_w] the plan's tokens over the simulated months
    served_tokens: np.ndarray      # [T_w]
    delay_days: np.ndarray         # [T_w]
    delay_by_cause: dict           # cause -> [T_w] days (sums to delay_days)


def train(pace: np.ndarray, intact: np.ndarray, actual: np.ndarray, lengths_s: np.ndarray,
          kind_weights: np.ndarray, goodput: np.ndarray, repair: float, active_s: np.ndarray) -> Trained:
    """Segments S, training workloads T_w: `pace` [S, T_w] tokens/s the plan asks, `intact` and
    `actual` [S, T_w] capacity (tokens/s, before repair and goodput; actual <= intact),
    `lengths_s` [S], `kind_weights` [S, T_w, K] chips each capacity kind took, `goodput` [T_w],
    `active_s` [T_w] seconds of the simulated months the run has a pace."""
    keep = 1.0 - repair
    a0 = np.minimum(pace, intact)
    a1 = np.minimum(pace, intact * keep)
    a2 = np.minimum(pace, actual * keep)
    a3 = np.minimum(pace, actual * keep * goodput[None, :])
    sec = lengths_s[:, None]
    parts = {"placement": ((pace - a0) * sec).sum(axis=0),
             "chip failures": ((a0 - a1 + a2 - a3) * sec).sum(axis=0)}
    fault = (a1 - a2) * sec                                               # [S, T_w]
    total = kind_weights.sum(axis=2)
    share = np.divide(kind_weights, total[:, :, None], out=np.zeros_like(kind_weights), where=total[:, :, None] > 0)
    orphan = (total <= 0) & (fault > 0)            # a shortfall no kind claims: shared equally
    share[orphan] = 1.0 / len(CAPACITY_KINDS)
    for k, kind in enumerate(CAPACITY_KINDS):
        parts[kind] = (fault * share[:, :, k]).sum(axis=0)
    demand = (pace * sec).sum(axis=0)
    served = (a3 * sec).sum(axis=0)
    rate = np.divide(demand, active_s, out=np.zeros_like(demand), where=active_s > 0)
    to_days = np.divide(1.0, rate * DAY, out=np.zeros_like(rate), where=rate > 0)
    return Trained(demand, served, (demand - served) * to_days, {k: v * to_days for k, v in parts.items()})
