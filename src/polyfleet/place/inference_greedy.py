"""Fast paths: tier-ordered greedy replica placement by cost per token, and LP rounding.

`greedy_replicas(inst, base)` completes `base` (nothing, the surviving previous replicas, or a
rounded LP) in at most two passes:

1. All tiers merged. Each service in turn (scarcest first: fewest usable pools, then largest
   demand) covers its total demand. If that serves everything, no tier is short and tier order
   cannot matter, so this is the answer.
2. Otherwise tiers in priority order: every service's tier 1, then every service's tier 2, ...
   A replica's spare capacity carries over to the same service's next tier, so when tier k is
   placed every chip that a lower tier will take is still free.

Then replicas a service does not need are trimmed (the last replica of a plan can leave more
spare than a whole replica elsewhere), the freed chips offered again in tier order, and
`repair_tiers` makes the tier-order property exact (a `base` may hold lower-tier replicas).

A service covers a need with one of two plans, whichever is cheaper in total: (A) enough
replicas on the single pool that covers the whole need at least cost, or (B) whole replicas on
the pool with the least cost per token, then (A) for the remainder. A replica kept from the
previous placement costs its hourly price; a new one adds the start penalty. Chips that
previous replicas of other services still claim are only taken when no unclaimed chips are
left (fewer moves), and a service's claims lapse once its last tier is placed.

`lp_roundings` turns the fractional LP optimum into integer candidates (floor, half-up).
"""

from __future__ import annotations

import numpy as np

from .inference_model import Instance
from .inference_tiers import repair_tiers

_REL_TOL = 1e-9


def greedy_replicas(inst: Instance, base: np.ndarray | None = None) -> np.ndarray:
    """Integer replicas [s, p]: `base` (e.g. a rounded-down LP) completed greedily, tier order enforced."""
    merged = _trim(inst, _run(inst, np.asarray(inst.demand.sum(axis=1, keepdims=True)), base))
    if _covers(inst, merged, inst.demand.sum(axis=1)):
        return merged
    r = _trim(inst, _run(inst, np.asarray(inst.demand), base))
    for _ in range(4):  # trimming frees chips; give them to whoever is still short, tiers in order
        again = _trim(inst, _run(inst, np.asarray(inst.demand), r))
        if np.array_equal(again, r):
            break
        r = again
    return repair_tiers(inst, r)


def surviving(inst: Instance) -> np.ndarray:
    """The previous replicas that still fit where they are: all of them on intact pools; on a
    shrunk pool, services in order, each keeping what still fits. The base of an incremental
    re-placement (and the same rule as failover.replicas_lost)."""
    keep = np.where(inst.ok, inst.prev, 0)
    over = (keep * inst.chips).sum(axis=0) > inst.pool_chips
    for p in np.flatnonzero(over):
        left = int(inst.pool_chips[p])
        for s in np.flatnonzero(keep[:, p]):
            stay = min(int(keep[s, p]), max(left, 0) // int(inst.chips[s, p]))
            keep[s, p] = stay
            left -= stay * int(inst.chips[s, p])
    return keep


def lp_roundings(inst: Instance, x: np.ndarray) -> list[np.ndarray]:
    """Integer placements from fractional LP replicas `x`: rounded down, and rounded half up
    (dropping the smallest fractions where a pool would overflow), each completed greedily."""
    base = np.floor(x + 1e-6).astype(np.int64)
    frac = x - base
    up = base + (frac >= 0.5)
    over = (up * inst.chips).sum(axis=0) - inst.pool_chips
    for p in np.flatnonzero(over > 0):
        for s in np.argsort(np.where(up[:, p] > base[:, p], frac[:, p], np.inf), kind="stable"):
            if over[p] <= 0 or up[s, p] == base[s, p]:
                break
            up[s, p] -= 1
            over[p] -= inst.chips[s, p]
    return [greedy_replicas(inst, base), greedy_replicas(inst, _trim(inst, up))]


def _covers(inst: Instance, r: np.ndarray, need: np.ndarray) -> bool:
    capacity = (r * inst.cap).sum(axis=1)
    return bool(np.all(capacity >= need * (1 - _REL_TOL) - 1e-12))


def _trim(inst: Instance, r: np.ndarray) -> np.ndarray:
    """Drop replicas a service does not need for what it serves, dearest per token first.

    The last replica of a plan can leave more spare capacity than a whole replica elsewhere;
    such a replica costs money and holds chips that a short tier could use.
    """
    r = r.copy()
    total = inst.demand.sum(axis=1)
    capacity = (r * inst.cap).sum(axis=1)
    slack = capacity - np.minimum(capacity, total)
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = np.where(r > 0, (inst.cost + inst.start_penalty * (r > inst.prev)) / inst.cap, -np.inf)
    for s in np.flatnonzero(slack > 0):
        for p in np.argsort(-unit[s], kind="stable"):
            if r[s, p] == 0:
                break
            n = int(min(r[s, p], np.floor(slack[s] / inst.cap[s, p] * (1 + _REL_TOL))))
            r[s, p] -= n
            slack[s] -= n * inst.cap[s, p]
    return r


def _run(inst: Instance, demand: np.ndarray, r0: np.ndarray | None = None) -> np.ndarray:
    """Cover `demand` [s, k'] tier by tier, on top of replicas `r0` (whose capacity serves first)."""
    S, P = inst.ok.shape
    K = demand.shape[1]
    usable = inst.ok & (inst.fits() >= 1)
    r = np.zeros((S, P), dtype=np.int64) if r0 is None else r0.copy()
    free = inst.pool_chips.astype(np.int64) - (r * inst.chips).sum(axis=0)
    keep_left = np.where(usable, np.maximum(inst.prev - r, 0), 0)
    claim = keep_left * inst.chips
    claim_total = claim.sum(axis=0)
    cost_new = inst.cost + inst.start_penalty
    spare = (r * inst.cap).sum(axis=1)
    has = demand > 0
    last_tier = np.where(has.any(axis=1), K - 1 - np.argmax(has[:, ::-1], axis=1), -1)
    pools = [np.flatnonzero(usable[s]) for s in range(S)]
    order = sorted(range(S), key=lambda s: (len(pools[s]), -float(demand[s].sum()), s))
    for k in range(K):
        for s in order:
            need = float(demand[s, k])
            if need > 0:
                take = min(need, spare[s])
                spare[s] -= take
                need -= take
                idx = pools[s]
                tol = need * _REL_TOL
                cap, ch = inst.cap[s, idx], inst.chips[s, idx]
                while need > tol and idx.size:
                    unclaimed = np.maximum(free[idx] - (claim_total[idx] - claim[s, idx]), 0) // ch
                    step = _step(need, cap, np.minimum(keep_left[s, idx], unclaimed), inst.cost[s, idx],
                                 unclaimed, cost_new[s, idx])
                    if step is None:  # only chips that others' previous replicas claim are left
                        room = free[idx] // ch
                        step = _step(need, cap, np.minimum(keep_left[s, idx], room), inst.cost[s, idx],
                                     room, cost_new[s, idx])
                    if step is None:
                        break
                    j, n, kept = step
                    p = idx[j]
                    r[s, p] += n
                    free[p] -= n * ch[j]
                    if kept:
                        keep_left[s, p] -= n
                        claim[s, p] -= n * ch[j]
                        claim_total[p] -= n * ch[j]
                    got = n * cap[j]
                    spare[s] += max(got - need, 0.0)
                    need = max(need - got, 0.0)
            if k == last_tier[s]:
                claim_total -= claim[s]
                claim[s] = 0
    return r


def _step(need: float, cap: np.ndarray, keep_n: np.ndarray, keep_cost: np.ndarray, new_n: np.ndarray,
          new_cost: np.ndarray) -> tuple[int, int, bool] | None:
    """The next allocation (pool position, replicas, kept?) for `need` tokens/s, or None if no room."""
    c = np.concatenate([cap, cap])
    room = np.concatenate([keep_n, new_n])
    unit = np.concatenate([keep_cost, new_cost])
    if not np.any(room > 0):
        return None
    whole = np.ceil(need / c * (1 - _REL_TOL))          # replicas to cover the need on one pool
    single = np.where(room >= whole, whole * unit, np.inf)
    a = int(np.argmin(single))
    per_token = np.where((room >= 1) & (need >= c), unit / c, np.inf)
    b = int(np.argmin(per_token))
    if np.isfinite(per_token[b]):
        nb = int(min(room[b], np.floor(need / c[b])))
        rem = need - nb * c[b]
        n, j = len(cap), b % len(cap)  # kept and new replicas on one pool share its chips
        room_after = room.copy()
        room_after[n + j] = max(room[n + j] - nb, 0)
        room_after[j] = min(room[j] - (nb if b < n else 0), room_after[n + j])
        if rem <= need * _REL_TOL:
            plan_b = nb * unit[b]
        else:
            w = np.ceil(rem / c * (1 - _REL_TOL))
            plan_b = nb * unit[b] + float(np.min(np.where(room_after >= w, w * unit, np.inf)))
        if not np.isfinite(single[a]) or plan_b < single[a]:
            return b % len(cap), nb, b < len(cap)
    if np.isfinite(single[a]):
        return a % len(cap), int(whole[a]), a < len(cap)
    return None  # unreachable: a pool with room either covers the need or fits a whole replica under it
