"""Inference metrics of a run: per-class windows and SLO, customers hit, and incidents."""

from __future__ import annotations

import numpy as np

from .calendar import DAY, HOUR
from .customers import affected, loss_per_customer
from .result import Incident
from .serve import Served
from .setup import SimSetup


def worst_window(demand: np.ndarray, unserved: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """([C] largest unserved share in any whole window of `block` steps, [windows, C] the shares);
    NaN for a class without demand."""
    n, C = demand.shape
    m = (n // block) * block
    d = demand[:m].reshape(-1, block, C).sum(axis=1)
    u = unserved[:m].reshape(-1, block, C).sum(axis=1)
    share = np.divide(u, d, out=np.zeros_like(u), where=d > 0)
    has = demand.sum(axis=0) > 0
    worst = share.max(axis=0) if len(share) else np.zeros(C)
    return np.where(has, worst, np.nan), share


def slo(demand: np.ndarray, unserved: np.ndarray, tolerance: float) -> np.ndarray:
    """[C] share of steps in which a class loses at most `tolerance` of its demand (NaN: no demand)."""
    share = np.divide(unserved, demand, out=np.zeros_like(unserved), where=demand > 0)
    has = demand.sum(axis=0) > 0
    return np.where(has, (share <= tolerance).mean(axis=0), np.nan)


def customer_impact(setup: SimSetup, served: Served, n: int):
    """(customers hit per step [n], customers hit by faults per step [n], top-10 customer losses in
    tokens). A (service, class) group's customers are hit in a step when it loses more than the
    threshold share of its demand."""
    cust = setup.customers
    if cust is None:
        return np.zeros(n), np.zeros(n), []
    S, C = cust.groups.shape
    threshold = setup.options.customers.affected_threshold
    cells = served.groups[:, 0] * C + served.groups[:, 1]
    hit, hit_fault = np.zeros(n), np.zeros(n)
    for values, out in ((served.unserved, hit), (served.fault, hit_fault)):
        share = np.zeros((len(served.rows), S * C))
        share[:, cells] = np.divide(values, served.demand, out=np.zeros_like(values), where=served.demand > 0)
        out[served.rows] = affected(cust, share.reshape(-1, S, C), threshold)
    total = np.zeros(S * C)
    total[cells] = served.unserved.sum(axis=0) * setup.step_s
    losses = loss_per_customer(cust, total.reshape(S, C))
    top = np.partition(losses, -10)[-10:] if len(losses) > 10 else losses
    return hit, hit_fault, sorted(top.tolist(), reverse=True)


def incidents(setup: SimSetup, touching, rows: np.ndarray, fault_rows: np.ndarray, hit_fault: np.ndarray
              ) -> list[Incident]:
    """Each capacity event that touched the fleet, with what it cost beyond the intact fleet.
    `rows` are the steps with a shortfall (sorted), `fault_rows` [r, C] what faults took in them."""
    step_s, n = setup.step_s, setup.n_steps
    lossy = fault_rows.sum(axis=1) > 0
    out = []
    for ev, _mask in touching:
        a = int(ev.start_s // step_s)
        b = min(int(np.ceil(ev.end_s / step_s)), n)
        if b <= a:
            continue
        i, j = np.searchsorted(rows, [a, b])
        out.append(Incident(kind=ev.kind, target_kind=ev.target_kind, target=ev.target, start_s=ev.start_s,
                            duration_s=ev.duration_s, unserved_tokens=fault_rows[i:j].sum(axis=0) * step_s,
                            customers_affected=int(hit_fault[a:b].max()),
                            customer_hours=float(hit_fault[a:b].sum() * step_s / HOUR),
                            impact_hours=float(lossy[i:j].sum() * step_s / HOUR),
                            sampled=ev.sampled, calendar=setup.calendar))
    return out


def per_day_and_hour(step_s: float) -> tuple[int, int]:
    return max(int(round(DAY / step_s)), 1), max(int(round(HOUR / step_s)), 1)
