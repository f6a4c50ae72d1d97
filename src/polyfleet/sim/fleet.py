"""One simulated run: a fleet schedule through a timeline of faults and the plan's months of traffic.

Capacity is piecewise constant between events (month boundaries, fault starts and ends); on
every change the placement policy from `place/` re-places the workloads exactly as live (for
the month's peak demand, keeping what it can of the previous placement; training where the plan
put it). Within a segment the per-step arithmetic is vectorised: each service's capacity serves
its classes in priority order. Every shortfall is split by cause (sim/serve.py, sim/training.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .capacity import CAPACITY_KINDS, chips_under, repair_share, segments, training_goodput
from .costs import run_costs
from .demand import traffic
from .faults import FaultEvent
from .metrics import customer_impact, incidents, per_day_and_hour, slo, worst_window
from .placing import normal_capacity, placed, prewarm  # noqa: F401  (prewarm: part of this module's face)
from .result import RunResult
from .serve import serve
from .setup import SimSetup
from .training import TRAINING_CAUSES, train


@dataclass(frozen=True)
class Segments:
    """Stretches of constant capacity. S segments, W workloads, P pools, K capacity kinds."""

    steps: np.ndarray        # [S + 1] boundaries in steps
    month: np.ndarray        # [S]
    intact: np.ndarray       # [S, W] tokens/s on the month's intact fleet (no repair)
    actual: np.ndarray       # [S, W] tokens/s under the active faults (<= intact, no repair)
    lost: np.ndarray         # [S, P, K] chips each kind of fault takes
    chips: np.ndarray        # [S, P] chips usable
    states: int              # distinct fleet states placed
    touching: list           # (event, pool mask) of the capacity events that touch the fleet

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.steps)


def capacity_segments(setup: SimSetup, events: list[FaultEvent]) -> Segments:
    """Capacity per workload in every stretch, intact and under the faults active in it."""
    steps, touching = segments(setup, events)
    normal = normal_capacity(setup)
    starts = np.array([ev.start_s for ev, _ in touching])
    ends = np.array([ev.end_s for ev, _ in touching])
    S, P, K = len(steps) - 1, setup.schedule.P, len(CAPACITY_KINDS)
    month = setup.month_of_step[np.minimum(steps[:-1], setup.n_steps - 1)]
    actual = normal[month].copy()
    lost = np.zeros((S, P, K))
    chips = np.zeros((S, P))
    used: set[tuple] = set()
    for i in range(S):
        t = steps[i] * setup.step_s
        active = [touching[j] for j in np.flatnonzero((starts <= t) & (t < ends))] if touching else []
        ch, by_kind = chips_under(setup, int(month[i]), active)
        chips[i] = ch
        used.add((int(month[i]), ch.tobytes()))
        if active:
            actual[i] = np.minimum(placed(setup, int(month[i]), ch)[0], normal[month[i]])
            for k, kind in enumerate(CAPACITY_KINDS):
                if kind in by_kind:
                    lost[i, :, k] = np.maximum(by_kind[kind], 1e-9)   # an active kind always has a say
    return Segments(steps, month, normal[month], actual, lost, chips, len(used), touching)


def simulate(setup: SimSetup, events: list[FaultEvent], rng: np.random.Generator,
             keep_series: bool = False) -> RunResult:
    """Run the fleet through `events`; `rng` draws traffic noise."""
    seg = capacity_segments(setup, events)
    repair = repair_share(setup)
    W, C = setup.share.shape
    inf = setup.inference
    demand_tok = np.zeros((W, C))
    served_tok = np.zeros((W, C))
    # inference, step by step
    n, step_s = setup.n_steps, setup.step_s
    _, noisy = traffic(setup.demand[inf, :setup.months].T, step_s, n, setup.options.traffic, rng,
                       setup.peak_factor[inf], setup.month_s, setup.calendar.first_weekday)
    per_step = lambda cap: np.repeat(cap[:, inf], seg.lengths, axis=0)  # noqa: E731  [n, S] from [segments, W]
    served = serve(noisy, setup.share[inf], per_step(seg.intact), per_step(seg.actual), repair, step_s)
    w_of = np.flatnonzero(inf)[served.groups[:, 0]]
    demand_tok[w_of, served.groups[:, 1]] = served.demand_tokens
    served_tok[w_of, served.groups[:, 1]] = served.demand_tokens - served.unserved.sum(axis=0) * step_s
    by_cause = {c: np.bincount(served.groups[:, 1], weights=v, minlength=C) for c, v in served.by_cause.items()}
    # training, segment by segment
    delay = np.zeros(W)
    delay_by = {c: np.zeros(W) for c in TRAINING_CAUSES}
    tr = np.flatnonzero(~inf)
    if tr.size:
        trained = _train(setup, seg, tr, repair)
        share = setup.share[tr]
        demand_tok[tr] = trained.demand_tokens[:, None] * share
        served_tok[tr] = trained.served_tokens[:, None] * share
        delay[tr] = trained.delay_days
        for c, v in trained.delay_by_cause.items():
            delay_by[c][tr] = v
    cls_dem = noisy @ setup.share[inf]                          # [n, C] inference demand per class
    return _result(setup, events, seg, served, cls_dem, demand_tok, served_tok, by_cause, delay, delay_by,
                   keep_series)


def _train(setup: SimSetup, seg: Segments, tr: np.ndarray, repair: float):
    """Training tokens against the plan's pace, segment by segment."""
    pace = setup.demand[tr][:, seg.month].T                     # [S, T_w]
    runs = setup.runs[tr][:, :, seg.month] > 0                  # [T_w, P, S]
    own = np.einsum("jps,spk->sjk", runs, seg.lost)             # chips each kind took on the run's pools
    fleet_wide = seg.lost.sum(axis=1)[:, None, :]
    weights = np.where(own.sum(axis=2, keepdims=True) > 0, own, fleet_wide)
    active_s = (setup.demand[tr, :setup.months] > 0).sum(axis=1) * setup.month_s
    return train(pace, seg.intact[:, tr], seg.actual[:, tr], seg.lengths * setup.step_s, weights,
                 training_goodput(setup)[tr], repair, active_s)


def _result(setup, events, seg, served, cls_dem, demand_tok, served_tok, by_cause, delay, delay_by,
            keep_series) -> RunResult:
    n, C = cls_dem.shape
    cls_uns = served.per_step(served.unserved, n, C)
    per_day, per_hour = per_day_and_hour(setup.step_s)
    worst_hour, _ = worst_window(cls_dem, cls_uns, per_hour)
    worst_day, _ = worst_window(cls_dem, cls_uns, per_day)
    hit, hit_fault, top = customer_impact(setup, served, n)
    incs = incidents(setup, seg.touching, served.rows, served.class_rows(served.fault, C), hit_fault)
    planned, actual, stranded = run_costs(setup, events)
    chips_month = np.zeros((setup.months, setup.schedule.P))
    np.maximum.at(chips_month, seg.month, seg.chips)
    energy = float(np.nansum(chips_month * setup.schedule.facility_watts[None, :]) *
                   setup.schedule.hours_per_month / 1e6)
    series = _series(seg, cls_dem, cls_uns, hit, chips_month, per_hour) if keep_series else None
    return RunResult(
        strategy=setup.name, workloads=setup.workloads, kinds=setup.kinds, classes=setup.classes,
        months=setup.months, horizon_months=setup.horizon_months, demand_tokens=demand_tok,
        served_tokens=served_tok, unserved_by_cause=by_cause, worst_hour_loss=worst_hour,
        worst_day_loss=worst_day, slo_attainment=slo(cls_dem, cls_uns, setup.options.slo_tolerance),
        training_delay_days=delay, training_delay_by_cause=delay_by, cost_planned_usd=planned,
        cost_actual_usd=actual, stranded_usd=stranded, energy_mwh=energy, incidents=tuple(incs),
        placements=seg.states, customers=setup.customers.count if setup.customers is not None else 0,
        top_customer_loss_tokens=tuple(top), calendar=setup.calendar, series=series,
        modelled_classes=setup.customers.groups.sum(axis=0) > 0 if setup.customers is not None
        else np.zeros(len(setup.classes), dtype=bool))


def _series(seg, cls_dem, cls_uns, hit, chips_month, per_hour) -> dict:
    """Hourly served share per class (NaN for a class without inference demand), customers hit,
    and each month's largest capacity and chips."""
    C = cls_dem.shape[1]
    m = (len(cls_dem) // per_hour) * per_hour
    d = cls_dem[:m].reshape(-1, per_hour, C).sum(axis=1)
    u = cls_uns[:m].reshape(-1, per_hour, C).sum(axis=1)
    has = cls_dem.sum(axis=0) > 0
    share = 1.0 - np.divide(u, d, out=np.zeros_like(u), where=d > 0)
    return {"hourly_served_share": np.where(has[None, :], share, np.nan),
            "hourly_customers_affected": hit[:m].reshape(-1, per_hour).max(axis=1),
            "monthly_capacity": np.maximum.reduceat(seg.actual, np.unique(seg.month, return_index=True)[1]),
            "monthly_chips": chips_month}
