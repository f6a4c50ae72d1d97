"""One simulated run: a fleet schedule through a timeline of faults and a year of traffic.

Capacity is piecewise constant between events (month boundaries, fault starts and ends); on
every change the placement policy from `place/` re-places the workloads exactly as live (for
the month's peak demand, keeping what it can of the previous placement). Within a segment the
per-step arithmetic is vectorised: each workload's capacity serves its classes in priority order.
"""

from __future__ import annotations

import numpy as np

from ..place import Demand, PlaceOptions, place_fleet
from .customers import affected, loss_per_customer
from .demand import traffic
from .faults import DAY, HOUR, MONTH, FaultEvent
from .result import Incident, RunResult
from .setup import SimSetup

CAPACITY_KINDS = ("outage", "preemption", "supply_cut", "delivery_slip")


def _segments(setup: SimSetup, events: list[FaultEvent], horizon_s: float, step_s: float):
    """Boundaries (in steps) and the capacity events that touch the fleet."""
    sched = setup.schedule
    touching = []
    for ev in events:
        if ev.kind in CAPACITY_KINDS and ev.start_s < horizon_s:
            mask = sched.mask(ev.target_kind, ev.target)
            if mask.any():
                touching.append((ev, mask))
    cuts = {0.0, horizon_s}
    m = 1
    while m * MONTH < horizon_s:
        cuts.add(m * MONTH)
        m += 1
    for ev, _ in touching:
        cuts.add(ev.start_s)
        cuts.add(min(ev.end_s, horizon_s))
    steps = np.unique(np.round(np.array(sorted(cuts)) / step_s).astype(np.int64))
    return steps, touching


def _capacity(setup: SimSetup, month: int, active) -> np.ndarray:
    """[P] chips usable in `month` under the `active` (event, pool mask) pairs (whole chips)."""
    sched = setup.schedule
    firm, spot = sched.firm[:, month], sched.spot[:, month]
    mult = np.ones(sched.P)
    spot_mult = np.ones(sched.P)
    for ev, mask in active:
        if ev.kind in ("supply_cut", "delivery_slip"):
            held = max(int(ev.start_s // MONTH) - 1, 0)
            firm = np.where(mask, np.minimum(firm, sched.firm[:, held]), firm)
            spot = np.where(mask, np.minimum(spot, sched.spot[:, held]), spot)
        elif ev.kind == "outage":
            mult = np.where(mask, mult * (1.0 - min(ev.magnitude, 1.0)), mult)
        elif ev.kind == "preemption":
            spot_mult = np.where(mask, spot_mult * (1.0 - min(ev.magnitude, 1.0)), spot_mult)
    cf = setup.faults.chip_failures
    in_repair = cf.annual_failure_rate * cf.repair_hours / 8760.0
    return np.floor((firm + spot * spot_mult) * mult * (1.0 - in_repair))


def _training_goodput(setup: SimSetup) -> np.ndarray:
    """[W] share of a training gang's time that makes progress: every chip failure in the gang
    rolls it back to its last checkpoint (half an interval on average) and costs a restart."""
    cf = setup.faults.chip_failures
    per_hour = setup.training_chips * cf.annual_failure_rate / 8760.0
    lost_h = (cf.checkpoint_interval_minutes / 2 + cf.restart_minutes) / 60.0
    return np.clip(1.0 - per_hour * lost_h, 0.0, 1.0)


def simulate(setup: SimSetup, events: list[FaultEvent], rng: np.random.Generator,
             keep_series: bool = False) -> RunResult:
    """Run the fleet through `events`; `rng` draws traffic noise and customers."""
    opt = setup.options
    months, step_s, n_steps = setup.months, setup.step_s, setup.n_steps
    horizon_s = months * MONTH
    W, C = setup.share.shape
    inf_mask = setup.inference
    # traffic: inference follows the cycle and noise; training is a steady flow per month
    base = np.zeros((n_steps, W))
    month_of_step = setup.month_of_step
    if inf_mask.any():
        _, base[:, inf_mask] = traffic(setup.demand[inf_mask, :months].T, step_s, n_steps, opt.traffic, rng,
                                       setup.peak_factor[inf_mask])
    if (~inf_mask).any():
        base[:, ~inf_mask] = setup.demand[~inf_mask][:, month_of_step].T
    groups = np.argwhere(setup.share > 0)                       # (w, c) pairs that carry demand
    g_share = setup.share[groups[:, 0], groups[:, 1]]

    goodput = np.where(inf_mask, 1.0, _training_goodput(setup))
    steps, touching = _segments(setup, events, horizon_s, step_s)
    sched = setup.schedule
    used: set[tuple] = set()
    cap_series = np.zeros((months, W))
    chips_month = np.zeros((months, sched.P))
    starts = np.array([ev.start_s for ev, _ in touching])
    ends = np.array([ev.end_s for ev, _ in touching])
    lengths = np.diff(steps)
    seg_cap = np.zeros((len(lengths), W))
    for i, (a, n) in enumerate(zip(steps[:-1], lengths)):
        if n <= 0:
            continue
        m = int(month_of_step[a])
        t = a * step_s
        active = [touching[j] for j in np.flatnonzero((starts <= t) & (t < ends))] if len(touching) else []
        chips = _capacity(setup, m, active)
        cap, _ = _placed(setup, m, chips)
        used.add((m, chips.tobytes()))
        seg_cap[i] = cap * goodput
        chips_month[m] = np.maximum(chips_month[m], chips)
        cap_series[m] = np.maximum(cap_series[m], seg_cap[i])
    # each workload's capacity serves its classes in priority order, every step at once
    left = np.repeat(seg_cap, lengths, axis=0)                           # [n_steps, W]
    served = np.zeros((n_steps, len(groups)))
    for gi, (w, c) in enumerate(groups):                                 # classes in priority order
        got = np.minimum(base[:, w] * g_share[gi], left[:, w])
        served[:, gi] = got
        left[:, w] -= got
    del left
    placements = len(used)
    demand_g = base[:, groups[:, 0]] * g_share[None, :]
    return _result(setup, events, touching, groups, demand_g, served, step_s, n_steps, months, cap_series,
                   chips_month, placements, keep_series)


def prewarm(setup: SimSetup) -> None:
    """Place every month's normal (fault-free) fleet now, so that runs, and workers forked or
    sent after this, start from them instead of each placing them again."""
    for m in range(setup.months):
        _placed(setup, m, _capacity(setup, m, []))


def _placed(setup: SimSetup, month: int, chips: np.ndarray):
    """(capacity per workload, placement) for `chips` in `month`, remembered on the setup.

    A fleet state is placed starting from the month's normal placement (and that one from the
    previous month's), so the answer depends on the state alone, not on the run's history: runs
    can share it, on any worker, and stay identical for the same seed."""
    key = (month, chips.tobytes())
    hit = setup.placements.get(key)
    if hit is None:
        normal = _capacity(setup, month, [])
        if np.array_equal(chips, normal):
            prev = _placed(setup, month - 1, _capacity(setup, month - 1, []))[1] if month > 0 else None
        else:
            prev = _placed(setup, month, normal)[1]
        hit = setup.placements[key] = _place(setup, month, chips, setup.peak[month], prev)
    return hit


def _place(setup: SimSetup, month: int, chips: np.ndarray, peak: np.ndarray, previous):
    """Capacity per workload (tokens/s) on `chips`, and the inference placement (`place.place_fleet`:
    inference for the month's peak, tiers in order, keeping what it can of the previous placement;
    training gangs on the chips left, those the plan gave training kept for it if inference can do
    without)."""
    sched = setup.schedule
    inf = setup.inference
    price = sched.cost[:, :, month].sum(axis=1) / np.maximum(sched.chips[:, month] * sched.hours_per_month, 1.0)
    price = np.where(price > 0, price, np.nan_to_num(sched.price[:, 0], nan=0.0))
    train = np.flatnonzero(~inf)
    demand = Demand(services=setup.inference_services, tiers=setup.classes,
                    tokens_per_s=peak[inf, None] * setup.share[inf]) if inf.any() else None
    fp = place_fleet(setup.table, sched.pools, chips, price=price, inference=demand,
                     training=[setup.workloads[i] for i in train], training_demand=peak[train],
                     gang_chips=np.minimum(setup.training_chips[train], setup.options.training_shard_chips),
                     reserved=sched.training[:, month], previous=previous,
                     options=PlaceOptions(method=setup.options.placement))
    cap = np.zeros(len(setup.kinds))
    if fp.inference is not None:
        cap[inf] = fp.inference.capacity_tokens_per_s.sum(axis=1)
    cap[train] = fp.training_tokens_per_s
    return cap, fp.inference


def _result(setup, events, touching, groups, demand_g, served, step_s, n_steps, months, cap_series, chips_month,
            placements, keep_series) -> RunResult:
    W, C = setup.share.shape
    unserved = demand_g - served
    tokens_dem = np.zeros((W, C))
    tokens_srv = np.zeros((W, C))
    tokens_dem[groups[:, 0], groups[:, 1]] = demand_g.sum(axis=0) * step_s
    tokens_srv[groups[:, 0], groups[:, 1]] = served.sum(axis=0) * step_s
    # per class over time (inference only: training is measured by its delay)
    inf_g = setup.inference[groups[:, 0]]
    cls_dem = np.zeros((n_steps, C))
    cls_uns = np.zeros((n_steps, C))
    for c in range(C):
        sel = inf_g & (groups[:, 1] == c)
        if sel.any():
            cls_dem[:, c] = demand_g[:, sel].sum(axis=1)
            cls_uns[:, c] = unserved[:, sel].sum(axis=1)
    per_day = int(round(DAY / step_s))
    per_hour = max(int(round(HOUR / step_s)), 1)

    def worst(block: int) -> tuple[np.ndarray, np.ndarray]:
        n = (n_steps // block) * block
        d = cls_dem[:n].reshape(-1, block, C).sum(axis=1)
        u = cls_uns[:n].reshape(-1, block, C).sum(axis=1)
        share = np.divide(u, d, out=np.zeros_like(u), where=d > 0)
        return share.max(axis=0) if len(share) else np.zeros(C), share

    worst_hour, _ = worst(per_hour)
    worst_day, daily = worst(per_day)
    uns_share = np.divide(cls_uns, cls_dem, out=np.zeros_like(cls_uns), where=cls_dem > 0)
    slo = (uns_share <= setup.options.slo_tolerance).mean(axis=0)

    # customers: who is hit, and for how long
    cust = setup.customers
    incidents: list[Incident] = []
    cust_loss_top: list[float] = []
    hit = np.zeros(n_steps)
    if cust is not None:
        inf_w = np.flatnonzero(setup.inference)
        g_idx = {(int(w), int(c)): i for i, (w, c) in enumerate(groups)}
        us = np.zeros((n_steps, len(inf_w), C))
        tot_uns = np.zeros((len(inf_w), C))
        for si, w in enumerate(inf_w):
            for c in range(C):
                i = g_idx.get((int(w), c))
                if i is not None:
                    d = demand_g[:, i]
                    us[:, si, c] = np.divide(unserved[:, i], d, out=np.zeros(n_steps), where=d > 0)
                    tot_uns[si, c] = unserved[:, i].sum() * step_s
        hit = affected(cust, us, setup.options.customers.affected_threshold)
        losses = loss_per_customer(cust, tot_uns)
        top = np.partition(losses, -10)[-10:] if len(losses) > 10 else losses
        cust_loss_top = sorted(top.tolist(), reverse=True)
    for ev, _mask in touching:
        a = int(ev.start_s // step_s)
        b = min(int(np.ceil(ev.end_s / step_s)), n_steps)
        if b <= a:
            continue
        lost = cls_uns[a:b].sum(axis=0) * step_s
        impacted = (cls_uns[a:b].sum(axis=1) > 0)
        incidents.append(Incident(kind=ev.kind, target_kind=ev.target_kind, target=ev.target,
                                  start_day=ev.start_s / DAY, hours=ev.duration_s / HOUR,
                                  unserved_tokens=lost, customers_affected=int(hit[a:b].max()) if b > a else 0,
                                  customer_hours=float(hit[a:b].sum() * step_s / HOUR),
                                  impact_hours=float(impacted.sum() * step_s / HOUR), sampled=ev.sampled))
    cost_planned, cost_actual, stranded = _costs(setup, events, months)
    energy = float(np.nansum(chips_month * setup.schedule.facility_watts[None, :]) *
                   setup.schedule.hours_per_month / 1e6)
    train = ~setup.inference
    delay = np.zeros(W)
    if train.any():
        # days behind = tokens not trained / the workload's pace while it runs
        active_s = (setup.demand[train, :months] > 0).sum(axis=1) * MONTH
        rate = np.maximum(tokens_dem[train].sum(axis=1) / np.maximum(active_s, 1.0), 1e-9)
        delay[train] = (tokens_dem[train].sum(axis=1) - tokens_srv[train].sum(axis=1)) / rate / DAY
    series = None
    if keep_series:
        n = (n_steps // per_hour) * per_hour
        d = cls_dem[:n].reshape(-1, per_hour, C).sum(axis=1)
        u = cls_uns[:n].reshape(-1, per_hour, C).sum(axis=1)
        series = {"hourly_served_share": 1.0 - np.divide(u, d, out=np.zeros_like(u), where=d > 0),
                  "hourly_customers_affected": hit[:n].reshape(-1, per_hour).max(axis=1),
                  "monthly_capacity": cap_series, "monthly_chips": chips_month}
    return RunResult(
        strategy=setup.name, workloads=setup.workloads, classes=setup.classes, months=months,
        demand_tokens=tokens_dem, served_tokens=tokens_srv, worst_hour_loss=worst_hour, worst_day_loss=worst_day,
        max_daily_loss=daily.max(axis=0) if len(daily) else np.zeros(C), slo_attainment=slo,
        training_delay_days=delay, cost_planned_usd=cost_planned, cost_actual_usd=cost_actual,
        stranded_usd=stranded, energy_mwh=energy, incidents=tuple(incidents), placements=placements,
        customers=cust.count if cust is not None else 0, top_customer_loss_tokens=tuple(cust_loss_top), series=series)


def _costs(setup: SimSetup, events: list[FaultEvent], months: int) -> tuple[float, float, float]:
    """Planned cost of the simulated months; actual cost with price shocks on on-demand and spot;
    commitment value stranded by new generations (value drop x commitment payments from the
    arrival to the end of the simulated months)."""
    sched = setup.schedule
    planned = sched.cost[:, :, :months]
    actual = planned.copy()
    stranded = 0.0
    for ev in events:
        if ev.kind == "price_shock":
            mask = sched.mask(ev.target_kind, ev.target)
            if not mask.any():
                continue
            m0, m1 = int(ev.start_s // MONTH), int(np.ceil(ev.end_s / MONTH))
            sl = slice(max(m0, 0), min(m1, months))
            actual[mask, 0:2, sl] *= ev.magnitude
        elif ev.kind == "obsolescence":
            mask = sched.mask(ev.target_kind, ev.target)
            m0 = int(ev.start_s // MONTH)
            if mask.any() and m0 < months:
                stranded += float(ev.magnitude * sched.cost[mask, 2:, m0:months].sum())
    return float(planned.sum()), float(actual.sum()), stranded
