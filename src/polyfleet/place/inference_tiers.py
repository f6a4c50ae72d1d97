"""Tier order: how capacity is shared among a service's tiers, and the repair that enforces
"a higher tier is never short while capacity that could serve it holds a lower tier".

The property (checked by `violations`, enforced by `repair_tiers`): if tier k of service A is
short by at least one replica's capacity (to a relative 1e-7) on a pool p that A can use, then p cannot free one
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


def violations(inst: Instance, r: np.ndarray) -> list[tuple[int, int, int, int]]:
    """(service, tier, pool, freeable chips on that pool) for every cell that breaks tier order."""
    served = tier_fill((r * inst.cap).sum(axis=1), inst.demand)
    short = inst.demand - served
    usable = inst.ok & (inst.fits() >= 1)
    out = []
    for k in range(len(inst.tiers)):
        if not np.any(short[:, k] > 0):
            continue
        _, free = freeable(inst, r, k)
        hit = usable & (short[:, k:k + 1] >= inst.cap * (1 - REL_TOL)) & (free[None, :] >= inst.chips)
        out += [(int(s), k, int(p), int(free[p])) for s, p in zip(*np.nonzero(hit))]
    return out


def repair_tiers(inst: Instance, r: np.ndarray) -> np.ndarray:
    """Exchange lower-tier replicas for short higher tiers until `violations` is empty.

    Tiers in order. An exchange at tier k only takes chips that tiers <= k do not need, so the
    tiers above k stay as they were and cannot gain a violation; each tier is repaired until no
    exchange is left, most-short service first, on its cheapest pool per token.
    """
    r = r.copy()
    chips, cap = inst.chips, inst.cap
    usable = inst.ok & (inst.fits() >= 1)
    total = (r * cap).sum(axis=1)
    idle = inst.pool_chips - (r * chips).sum(axis=0)
    cum = np.cumsum(inst.demand, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = np.where(usable, inst.cost / cap, np.inf)
    for k in range(len(inst.tiers)):
        while True:
            short = np.clip(cum[:, k] - total, 0.0, inst.demand[:, k])
            if not np.any(short > 0):
                break
            slack = total - np.minimum(total, cum[:, k])
            with np.errstate(divide="ignore", invalid="ignore"):
                removable = np.where(r > 0, np.minimum(r, np.floor(slack[:, None] / cap * (1 + REL_TOL))), 0)
            free = idle + (removable * chips).sum(axis=0)
            hit = usable & (short[:, None] >= cap * (1 - REL_TOL)) & (free[None, :] >= chips)
            if not hit.any():
                break
            s = int(np.argmax(np.where(hit.any(axis=1), short, -1.0)))
            p = int(np.argmin(np.where(hit[s], unit[s], np.inf)))
            # as many replicas at once as the shortfall wants and the pool can free (>= 1 by `hit`)
            n_add = int(max(1, min(np.floor(short[s] / cap[s, p] + REL_TOL), free[p] // chips[s, p])))
            need = n_add * chips[s, p]
            rem = removable[:, p].astype(np.int64)
            while idle[p] < need:
                cand = np.flatnonzero(rem > 0)
                # evict where the loss falls on the lowest tier; then the largest replica
                b = cand[np.lexsort((-chips[cand, p], -_cut_tier(total[cand] - cap[cand, p], cum[cand])))[0]]
                m = int(min(rem[b], np.ceil((need - idle[p]) / chips[b, p])))
                r[b, p] -= m
                rem[b] -= m
                total[b] -= m * cap[b, p]
                idle[p] += m * chips[b, p]
            r[s, p] += n_add
            total[s] += n_add * cap[s, p]
            idle[p] -= need
    return r


def _cut_tier(capacity: np.ndarray, cum: np.ndarray) -> np.ndarray:
    """For each service, the first tier its capacity no longer covers (K if it covers all)."""
    cut = cum > capacity[:, None] * (1 + REL_TOL)
    return np.where(cut.any(axis=1), np.argmax(cut, axis=1), cum.shape[1])
