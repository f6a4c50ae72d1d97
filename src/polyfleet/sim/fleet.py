"""One simulated run: a fleet schedule through a timeline of faults and a year of traffic.

Capacity is piecewise constant between events (month boundaries, fault starts and ends); on
every change the placement policy from `place/` re-places the workloads exactly as live (for
the month's peak demand, keeping what it can of the previous placement). Within a segment the
per-step arithmetic is vectorised: each workload's capacity serves its classes in priority order.
"""

from __future__ import annotations

import numpy as np

from ..place import AllocationProblem, Demand, Fleet, PlaceOptions, Pool, allocate, place
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
    months = min(opt.months or setup.schedule.T, setup.schedule.T)
    step_s = opt.step_minutes * 60.0
    horizon_s = months * MONTH
    n_steps = int(round(horizon_s / step_s))
    W, C = setup.share.shape
    inf_mask = setup.inference
    # traffic: inference follows the cycle and noise; training is a steady flow per month
    base = np.zeros((n_steps, W))
    smooth = np.zeros((n_steps, W))
    month_of_step = np.minimum(((np.arange(n_steps) + 0.5) * step_s // MONTH).astype(np.int64), months - 1)
    if inf_mask.any():
        smooth[:, inf_mask], base[:, inf_mask] = traffic(setup.demand[inf_mask, :months].T, step_s, n_steps,
                                                         opt.traffic, rng, setup.peak_factor[inf_mask])
    if (~inf_mask).any():
        base[:, ~inf_mask] = smooth[:, ~inf_mask] = setup.demand[~inf_mask][:, month_of_step].T
    groups = np.argwhere(setup.share > 0)                       # (w, c) pairs that carry demand
    g_share = setup.share[groups[:, 0], groups[:, 1]]
    # placement follows the daily cycle (as an autoscaler would), not each noise spike
    peak = np.zeros((months, W))
    np.maximum.at(peak, month_of_step, smooth)
    del smooth

    goodput = np.where(inf_mask, 1.0, _training_goodput(setup))
    steps, touching = _segments(setup, events, horizon_s, step_s)
    sched = setup.schedule
    cache: dict[tuple, np.ndarray] = {}
    previous = None
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
        key = (m, chips.tobytes())
        cap = cache.get(key)
        if cap is None:
            cap, previous = _place(setup, m, chips, peak[m], previous)
            cache[key] = cap
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
    placements = len(cache)
    demand_g = base[:, groups[:, 0]] * g_share[None, :]
    return _result(setup, events, touching, groups, demand_g, served, step_s, n_steps, months, cap_series,
                   chips_month, placements, rng, keep_series)


def _place(setup: SimSetup, month: int, chips: np.ndarray, peak: np.ndarray, previous):
    """Capacity per workload (tokens/s) on `chips`, and the inference placement.

    Inference services are placed first, for the month's peak, with tiers in priority order
    (`place.place`, keeping what it can of the previous placement); training gangs share the
    chips left over under Gavel's heterogeneity-aware max-min fairness (`place.allocate`).
    """
    sched = setup.schedule
    inf = setup.inference
    cap = np.zeros(len(setup.kinds))
    left = chips.astype(float)
    pl = previous
    if inf.any():
        price = sched.cost[:, :, month].sum(axis=1) / np.maximum(sched.chips[:, month] * sched.hours_per_month, 1.0)
        od = np.nan_to_num(sched.price[:, 0], nan=0.0)
        price = np.where(price > 0, price, od)
        # the chips the plan gave training form their own pools, priced so that inference
        # takes them only to serve demand it could not serve otherwise
        reserved = np.minimum(sched.training[:, month], chips) if (~inf).any() else np.zeros_like(chips)
        pools = tuple(Pool(id=p, offering=p, chips=int(c - r), usd_per_chip_hour=float(pr))
                      for p, c, r, pr in zip(sched.pools, chips, reserved, price))
        pools += tuple(Pool(id=f"{p}#training", offering=p, chips=int(r), usd_per_chip_hour=float(pr) * 50 + 1.0)
                       for p, r, pr in zip(sched.pools, reserved, price))
        dem = Demand(services=setup.inference_table.workloads, tiers=setup.classes,
                     tokens_per_s=peak[inf, None] * setup.share[inf])
        pl = place(setup.inference_table, Fleet(pools), dem, previous=previous,
                   options=PlaceOptions(method=setup.options.placement))
        cap[inf] = pl.capacity_tokens_per_s.sum(axis=1)
        used = pl.chips_used[:sched.P] + pl.chips_used[sched.P:]
        left = np.maximum(left - used, 0.0)
    train = np.flatnonzero(~inf)
    if train.size and left.sum() > 0:
        cap[train] = _train(setup, train, left, peak[train])
    return cap, pl


def _train(setup: SimSetup, train: np.ndarray, chips: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """Tokens/s each training workload gets from `chips`.

    Each workload runs as gangs (data-parallel shards of `training_shard_chips`), enough of them
    to absorb its demand even on the slowest usable pool (capped by the chips there are); the
    gangs share the pools under Gavel's makespan policy with each gang's work in proportion to
    its workload's demand, which serves the largest equal share of every workload's demand the
    chips allow.
    """
    rate = setup.table.rate[train] / 3600.0                              # tokens/s per chip
    gang = np.clip(setup.training_chips[train], 1.0, setup.options.training_shard_chips)
    per_gang = rate * gang[:, None]                                      # tokens/s of one gang per pool
    usable = per_gang * (chips[None, :] >= gang[:, None])
    slow = np.where(usable > 0, usable, np.inf).min(axis=1)
    fits = np.floor(chips.sum() / gang)
    need = np.where(np.isfinite(slow) & (demand > 0), np.ceil(demand / np.where(np.isfinite(slow), slow, 1.0)), 0)
    n = np.minimum(np.minimum(need, fits), 256).astype(int)
    jobs = np.repeat(np.arange(len(train)), n)
    if jobs.size == 0:
        return np.zeros(len(train))
    problem = AllocationProblem(throughput=usable[jobs], scale_factor=gang[jobs], capacity=chips,
                                types=setup.schedule.pools, remaining_work=demand[jobs] / n[jobs])
    x = allocate(problem, "min_total_duration").x
    got = np.bincount(jobs, weights=(x * usable[jobs]).sum(axis=1), minlength=len(train))
    return np.minimum(got, demand)


def _result(setup, events, touching, groups, demand_g, served, step_s, n_steps, months, cap_series, chips_month,
            placements, rng, keep_series) -> RunResult:
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
        cust_loss_top = sorted(loss_per_customer(cust, tot_uns), reverse=True)[:10]
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
