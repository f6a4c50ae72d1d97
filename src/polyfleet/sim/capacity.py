"""Chips a fleet holds under faults: segments of constant capacity, chips per pool, and what
chip failures take (chips in repair, training progress rolled back).

Deliveries arrive at the start of each plan month. A supply cut stops deliveries from its start
(the chips already delivered stay); a delivery slip starting at a month boundary holds that
month's new chips back. An outage removes its share of a pool's chips, a preemption its share
of the spot chips.
"""

from __future__ import annotations

import math

import numpy as np

from .faults import FaultEvent
from .setup import SimSetup

CAPACITY_KINDS = ("outage", "preemption", "supply_cut", "delivery_slip")
HOURS_PER_YEAR = 8760.0


def segments(setup: SimSetup, events: list[FaultEvent]) -> tuple[np.ndarray, list[tuple[FaultEvent, np.ndarray]]]:
    """Boundaries (in steps) of the stretches of constant capacity, and the capacity events that
    touch the fleet (each with its [P] pool mask)."""
    sched = setup.schedule
    horizon_s, month_s, step_s = setup.horizon_s, setup.month_s, setup.step_s
    touching = []
    for ev in events:
        if ev.kind in CAPACITY_KINDS and ev.start_s < horizon_s:
            mask = sched.mask(ev.target_kind, ev.target)
            if mask.any():
                touching.append((ev, mask))
    cuts = [0.0, horizon_s] + [m * month_s for m in range(1, setup.months)]
    for ev, _ in touching:
        cuts += [ev.start_s, min(ev.end_s, horizon_s)]
    steps = np.unique(np.round(np.array(cuts) / step_s).astype(np.int64))
    return steps, touching


def held_month(start_s: float, month_s: float) -> int:
    """The last month whose deliveries arrived before `start_s` (deliveries at month starts)."""
    return max(math.ceil(start_s / month_s - 1e-9) - 1, 0)


def chips_under(setup: SimSetup, month: int, active: list[tuple[FaultEvent, np.ndarray]]
                ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """[P] whole chips usable in `month` under the `active` (event, pool mask) pairs, and the
    chips each kind of event takes on its own ({kind: [P]}, for sharing a shortfall among
    overlapping events)."""
    sched = setup.schedule
    firm0, spot0 = sched.firm[:, month], sched.spot[:, month]
    firm, spot = firm0.copy(), spot0.copy()
    mult = np.ones(sched.P)
    spot_mult = np.ones(sched.P)
    lost: dict[str, np.ndarray] = {}
    for ev, mask in active:
        share = min(ev.magnitude, 1.0)
        if ev.kind in ("supply_cut", "delivery_slip"):
            held = held_month(ev.start_s, setup.month_s)
            f = np.where(mask, np.minimum(firm0, sched.firm[:, held]), firm0)
            s = np.where(mask, np.minimum(spot0, sched.spot[:, held]), spot0)
            firm, spot = np.minimum(firm, f), np.minimum(spot, s)
            alone = (firm0 - f) + (spot0 - s)
        elif ev.kind == "outage":
            mult = np.where(mask, mult * (1.0 - share), mult)
            alone = np.where(mask, (firm0 + spot0) * share, 0.0)
        else:  # preemption
            spot_mult = np.where(mask, spot_mult * (1.0 - share), spot_mult)
            alone = np.where(mask, spot0 * share, 0.0)
        lost[ev.kind] = lost.get(ev.kind, 0.0) + alone
    return np.floor((firm + spot * spot_mult) * mult + 1e-9), lost


def repair_share(setup: SimSetup) -> float:
    """Share of chips in repair at any moment: failures per chip-hour x hours in repair."""
    cf = setup.faults.chip_failures
    return min(cf.annual_failure_rate * cf.repair_hours / HOURS_PER_YEAR, 1.0)


def training_goodput(setup: SimSetup) -> np.ndarray:
    """[W] share of a training gang's time that makes progress: every chip failure in the gang
    rolls it back to its last checkpoint (half an interval on average) and costs a restart."""
    cf = setup.faults.chip_failures
    per_hour = setup.training_chips * cf.annual_failure_rate / HOURS_PER_YEAR
    lost_h = (cf.checkpoint_interval_minutes / 2 + cf.restart_minutes) / 60.0
    return np.where(setup.inference, 1.0, np.clip(1.0 - per_hour * lost_h, 0.0, 1.0))
