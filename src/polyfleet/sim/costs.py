"""Money over a run: the plan's cost of the simulated months, price shocks on what is rented by
the hour, and commitment value stranded by new chip generations."""

from __future__ import annotations

import numpy as np

from .faults import FaultEvent
from .schedule import COMMIT_1Y, ON_DEMAND, SPOT
from .setup import SimSetup


def month_overlap(start_s: float, end_s: float, months: int, month_s: float) -> np.ndarray:
    """[months] share of each month that [start_s, end_s) covers."""
    edges = np.arange(months + 1) * month_s
    covered = np.clip(np.minimum(end_s, edges[1:]) - np.maximum(start_s, edges[:-1]), 0.0, None)
    return covered / month_s


def run_costs(setup: SimSetup, events: list[FaultEvent]) -> tuple[float, float, float]:
    """(planned, actual, stranded) USD over the simulated months, contracts, sites and other fixed payments
    included (they do not move with a fault). A price shock multiplies the
    on-demand and spot cost of its pools for the share of each month it lasts; a new generation
    strands `value_drop` of the commitment payments from its arrival to the end of the simulated
    months."""
    sched, months, month_s = setup.schedule, setup.months, setup.month_s
    planned = sched.cost[:, :, :months]
    hourly = planned[:, [ON_DEMAND, SPOT], :].sum(axis=1)              # [P, months]
    extra = 0.0
    stranded = 0.0
    for ev in events:
        if ev.kind not in ("price_shock", "obsolescence"):
            continue
        mask = sched.mask(ev.target_kind, ev.target)
        if not mask.any():
            continue
        cover = month_overlap(ev.start_s, ev.end_s, months, month_s)
        if ev.kind == "price_shock":
            extra += float((ev.magnitude - 1.0) * (hourly[mask] * cover).sum())
        else:
            committed = planned[mask][:, COMMIT_1Y:, :].sum(axis=(0, 1))   # [months]
            stranded += float(ev.magnitude * (committed * cover).sum())
    other = float(sched.other_cost[:months].sum()) if sched.other_cost is not None else 0.0
    total = float(planned.sum()) + other
    return total, total + extra, stranded
