"""Tier order: how capacity is shared among a service's tiers, and the repair that enforces
"a higher tier is never short while capacity that could serve it holds a lower tier".

The property (checked by `violations`, enforced by `repair_tiers`): if tier k of service A is
short by at least one replica's capacity on a pool p that A can use, then p cannot free one
replica of A, counting its idle chips and the replicas on p that their services do not need
for their tiers <= k. Anything shorter than one replica is a sliver that a whole replica would
be needed for; the exact MILP (sequential priority) serves slivers too when capacity allows.

`repair_tiers` applies the exchange that the property forbids (evict such lower-tier replicas,
start one replica of A) until none is left. Each exchange raises tier k's service and only
lowers tiers below k, so the vector of served tokens per tier rises lexicographically and the
loop ends.
"""

from __future__ import annotations

import numpy as np

from .inference_model import Instance

REL_TOL = 1e-7


def tier_fill(capacity: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """[s, k] tokens/s served when each service's capacity goes to its tiers in order."""
    before = np.cumsum(demand, axis=1) - demand
    return np.clip(capacity[:, None] - before, 0.0, demand)


def freeable(inst: Instance, r: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(removable[s, p] replicas that serve only tiers below k, freeable chips [p] incl. idle ones)."""
    capacity = (r * inst.cap).sum(axis=1)
    upto = np.minimum(capacity, inst.demand[:, : k + 1].sum(axis=1))
    slack = capacity - upto
    with np.errstate(divide="ignore", invalid="ignore"):
        removable = np.where(r > 0, np.minimum(r, np.floor(slack[:, None] / inst.cap * (1 + REL_TOL))), 0)
    removable = removable.astype(np.int64)
    idle = inst.pool_chips - (r * inst.chips).sum(axis=0)
    return removable, idle + (removable * inst.chips).sum(axis=0)


def violations(inst: Instance, r: np.ndarray, first: bool = False) -> list[tuple[int, int, int]]:
    """(service, tier, pool) cells that break tier order; with `first`, only the most urgent:
    the highest tier, the service shortest there, its cheapest pool per token."""
    served = tier_fill((r * inst.cap).sum(axis=1), inst.demand)
    short = inst.demand - served
    usable = inst.ok & (inst.fits() >= 1)
    out = []
    for k in range(len(inst.tiers)):
        if not np.any(short[:, k] > 0):
            continue
        _, free = freeable(inst, r, k)
        hit = usable & (short[:, k:k + 1] >= inst.cap * (1 + REL_TOL)) & (free[None, :] >= inst.chips)
        if not hit.any():
            continue
        if first:
            s = int(np.argmax(np.where(hit.any(axis=1), short[:, k], -1.0)))
            with np.errstate(divide="ignore", invalid="ignore"):
                unit = np.where(hit[s], inst.cost[s] / inst.cap[s], np.inf)
            return [(s, k, int(np.argmin(unit)))]
        out += [(int(s), k, int(p)) for s, p in zip(*np.nonzero(hit))]
    return out


def repair_tiers(inst: Instance, r: np.ndarray, max_exchanges: int = 100_000) -> np.ndarray:
    """Exchange lower-tier replicas for short higher tiers until `violations` is empty."""
    r = r.copy()
    for _ in range(max_exchanges):
        found = violations(inst, r, first=True)
        if not found:
            return r
        s, k, p = found[0]
        idle = int(inst.pool_chips[p] - (r[:, p] * inst.chips[:, p]).sum())
        while idle < inst.chips[s, p]:
            removable, _ = freeable(inst, r, k)
            cand = np.flatnonzero(removable[:, p] > 0)
            # evict where the loss falls on the lowest tier; then the largest replica (fewest evictions)
            b = cand[np.lexsort((-inst.chips[cand, p], -_cut_tier(inst, r, cand, p)))[0]]
            r[b, p] -= 1
            idle += int(inst.chips[b, p])
        r[s, p] += 1
    raise RuntimeError("tier repair did not converge")  # cannot happen: each exchange is a strict gain


def _cut_tier(inst: Instance, r: np.ndarray, services: np.ndarray, p: int) -> np.ndarray:
    """For each service, the first tier whose service drops if one replica on p is removed."""
    capacity = (r[services] * inst.cap[services]).sum(axis=1) - inst.cap[services, p]
    cum = np.cumsum(inst.demand[services], axis=1)
    return np.argmax(cum > capacity[:, None] * (1 + REL_TOL), axis=1) + np.where(
        (cum > capacity[:, None] * (1 + REL_TOL)).any(axis=1), 0, len(inst.tiers))
