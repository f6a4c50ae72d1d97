"""The placement policy of `place/` applied to a simulated fleet state, remembered per state.

A fleet state (a month and its chips per pool) is placed starting from the month's normal
placement (and that one from the previous month's), so the answer depends on the state alone,
not on the run's history: runs can share it, on any worker, and stay identical for the same seed.
"""

from __future__ import annotations

import numpy as np

from ..place import Demand, PlaceOptions, place_fleet
from .capacity import chips_under
from .setup import SimSetup


def normal_chips(setup: SimSetup, month: int) -> np.ndarray:
    """[P] chips the plan holds in `month`, no fault active."""
    return chips_under(setup, month, [])[0]


def prewarm(setup: SimSetup) -> None:
    """Place every month's normal (fault-free) fleet now, so that runs, and workers forked or
    sent after this, start from them instead of each placing them again."""
    for m in range(setup.months):
        placed(setup, m, normal_chips(setup, m))


def normal_capacity(setup: SimSetup) -> np.ndarray:
    """[months, W] tokens/s each workload can serve on the month's intact fleet (no repair)."""
    return np.stack([placed(setup, m, normal_chips(setup, m))[0] for m in range(setup.months)])


def placed(setup: SimSetup, month: int, chips: np.ndarray):
    """(capacity per workload [W] tokens/s, inference placement) for `chips` in `month`, remembered."""
    key = (month, chips.tobytes())
    hit = setup.placements.get(key)
    if hit is None:
        normal = normal_chips(setup, month)
        if np.array_equal(chips, normal):
            prev = placed(setup, month - 1, normal_chips(setup, month - 1))[1] if month > 0 else None
        else:
            prev = placed(setup, month, normal)[1]
        hit = setup.placements[key] = _place(setup, month, chips, prev)
    return hit


def _place(setup: SimSetup, month: int, chips: np.ndarray, previous):
    """Capacity per workload (tokens/s) on `chips`, and the inference placement (`place.place_fleet`:
    inference for the month's peak, tiers in order, keeping what it can of the previous placement;
    each training run on the chips the plan gave it that month, less what inference had to take)."""
    sched = setup.schedule
    inf = setup.inference
    peak = setup.peak[month]
    price = sched.cost[:, :, month].sum(axis=1) / np.maximum(sched.chips[:, month] * sched.hours_per_month, 1.0)
    price = np.where(price > 0, price, np.nan_to_num(sched.price[:, 0], nan=0.0))
    train = np.flatnonzero(~inf)
    demand = Demand(services=setup.inference_services, tiers=setup.classes,
                    tokens_per_s=peak[inf, None] * setup.share[inf]) if inf.any() else None
    fp = place_fleet(setup.table, sched.pools, chips, price=price, inference=demand,
                     training=[setup.workloads[i] for i in train], training_demand=peak[train],
                     training_pools=setup.runs[train, :, month], previous=previous,
                     options=PlaceOptions(method=setup.options.placement))
    cap = np.zeros(len(setup.kinds))
    if fp.inference is not None:
        cap[inf] = fp.inference.capacity_tokens_per_s.sum(axis=1)
    cap[train] = fp.training_tokens_per_s
    return cap, fp.inference
