"""Failover: re-place after pools are lost or shrink.

A lost pool is kept in the fleet with 0 chips, so every array keeps its columns and the moves
say which pool replicas left.

By default nothing that sits on a healthy pool moves: the replicas that still fit where they are
stay (on a shrunk pool, services in order keep what fits), and only the demand they can no longer
serve is placed, on the chips still free. Tier order still comes first: where a higher tier that
lost its pool finds no free chips it could use, lower-tier replicas on healthy pools are stopped
to make room (`evictions` names them), and what they served is placed again on whatever is left.

`rebalance=True` re-places globally instead: an ordinary `place` with the running placement as
`previous`, where kept replicas cost their price and every started one also pays its cold start,
so a replica moves when its pool is gone or when the saving outweighs the cold start.

`failover_from` does the same from a map of the replicas running and the fleet as it is now, for a
caller that keeps placements as records (the service's reconciler): `failover` is that function
applied to a `Placement`, so both give the same replicas and moves for the same inputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from ..perf.ratetable import RateTable
from .inference import Placement, assemble, place
from .inference_greedy import surviving
from .inference_model import Demand, Fleet, Instance, PlaceOptions, build_instance
from .inference_tiers import _cut_tier, freeable, repair_tiers, tier_fill
from .routing import Move

ROUNDS = 3
Running = Mapping[tuple[str, str], int] | np.ndarray


def failover(placement: Placement, lost: Iterable[str] = (), chips: Mapping[str, int] | None = None, *,
             demand: Demand | None = None, options: PlaceOptions | None = None,
             rebalance: bool = False) -> Placement:
    """Re-place `placement` after the pools in `lost` are gone and those in `chips` hold that many.

    demand/options default to the placement's own. The result's `moves` list every replica
    stopped, started or moved (service, from pool, to pool, replicas and chips on each side,
    cold-start USD) and its `start_usd` their total cold-start cost. Without `rebalance` only
    replicas on lost or shrunk pools move (and lower tiers evicted for higher ones).
    """
    new_chips = {p: 0 for p in lost}
    new_chips.update(dict(chips or {}))
    return failover_from(placement.rates, placement.fleet.with_chips(new_chips), demand or placement.demand,
                         placement.replica_map(), options=options or placement.options, rebalance=rebalance)


def failover_from(rates: RateTable, fleet: Fleet, demand: Demand, running: Running, *,
                  options: PlaceOptions | None = None, rebalance: bool = False) -> Placement:
    """The failover of `failover`, from the replicas running now ({(service, pool): replicas}, or an
    array on demand x fleet) on `fleet` as it is now (a lost pool holds 0 chips): what a service that
    stores placements, not `Placement` objects, calls after a change of its fleet.

    Default: every running replica that still fits stays; the demand they no longer serve is placed
    on the free chips; a tier still short then takes the chips of replicas that serve only lower
    tiers (they are stopped). `rebalance`: a global `place` with `running` as the previous placement.
    """
    options = options or PlaceOptions()
    if rebalance:
        return place(rates, fleet, demand, previous=running, options=options)
    inst = build_instance(rates, fleet, demand, options, running)
    reps = surviving(inst)
    solve_s, status = 0.0, "kept"
    for _ in range(ROUNDS):
        if not _short(inst, reps).sum() > 1e-9 * max(float(inst.demand.sum()), 1.0):
            break
        free = inst.pool_chips - (reps * inst.chips).sum(axis=0)
        more = place(rates, fleet.with_chips(dict(zip(fleet.ids, free.tolist()))),
                     Demand(demand.services, demand.tiers, _short(inst, reps)), options=options)
        solve_s += more.solve_s
        status = more.status
        new = repair_tiers(inst, reps + more.replicas)     # evicts lower tiers where a higher one is short
        new, spent = _make_room(inst, new, rates, fleet, demand, options)
        solve_s += spent
        if np.array_equal(new, reps):
            break
        reps = new
    return assemble(rates, fleet, demand, options, inst, reps, status=f"local ({status})", gap=np.nan,
                    method=options.method, priority="kept in place", solve_s=solve_s)


def _short(inst: Instance, reps: np.ndarray) -> np.ndarray:
    """[s, k] tokens/s the replicas leave unserved, tiers filled in order."""
    return inst.demand - tier_fill((reps * inst.cap).sum(axis=1), inst.demand)


def _make_room(inst: Instance, reps: np.ndarray, rates: RateTable, fleet: Fleet, demand: Demand,
               options: PlaceOptions) -> tuple[np.ndarray, float]:
    """For the highest tier still short: place its shortfall (and that of the tiers above it) on the
    chips that are idle or held by replicas serving only lower tiers, then stop those lower-tier
    replicas, pool by pool, to make room. `repair_tiers` leaves a shortfall smaller than one replica
    alone (it cannot tell it from rounding); here a whole tier short for want of one replica gets it.
    Returns the replicas and the solver's seconds."""
    short = _short(inst, reps)
    tol = 1e-9 * max(float(inst.demand.sum()), 1.0)
    for k in range(len(demand.tiers)):
        if not short[:, k].sum() > tol:
            continue
        removable, room = freeable(inst, reps, k)
        idle = inst.pool_chips - (reps * inst.chips).sum(axis=0)
        if not (room > idle).any():
            continue                      # nothing below tier k to stop: the free chips were tried
        want = np.where(np.arange(len(demand.tiers))[None, :] <= k, short, 0.0)
        trial = place(rates, fleet.with_chips(dict(zip(fleet.ids, room.astype(int).tolist()))),
                      Demand(demand.services, demand.tiers, want), options=options)
        if not trial.replicas.any():
            continue
        return _exchange(inst, reps, np.asarray(trial.replicas), k), trial.solve_s
    return reps, 0.0


def _exchange(inst: Instance, reps: np.ndarray, add: np.ndarray, k: int) -> np.ndarray:
    """Start `add` on each pool, stopping replicas there that serve only tiers below k (the loss on
    the lowest tier first, then the largest replica); what no longer fits on a pool is not started."""
    r = reps.copy()
    for p in np.flatnonzero(add.any(axis=0)):
        removable, _ = freeable(inst, r, k)            # again after each pool: services span pools
        idle = int(inst.pool_chips[p] - (r[:, p] * inst.chips[:, p]).sum())
        room = idle + int((removable[:, p] * inst.chips[:, p]).sum())
        new = add[:, p].copy()
        for s in np.argsort(-inst.chips[:, p] * (new > 0), kind="stable"):   # drop the largest that do not fit
            while new[s] > 0 and int((new * inst.chips[:, p]).sum()) > room:
                new[s] -= 1
        need = int((new * inst.chips[:, p]).sum())
        if need == 0:
            continue
        total = (r * inst.cap).sum(axis=1)
        cum = np.cumsum(inst.demand, axis=1)
        rem = removable[:, p].astype(np.int64)
        while idle < need:
            cand = np.flatnonzero(rem > 0)
            b = cand[np.lexsort((-inst.chips[cand, p], -_cut_tier(total[cand] - inst.cap[cand, p], cum[cand])))[0]]
            m = int(min(rem[b], np.ceil((need - idle) / inst.chips[b, p])))
            r[b, p] -= m
            rem[b] -= m
            total[b] -= m * inst.cap[b, p]
            idle += m * int(inst.chips[b, p])
        r[:, p] += new
    return r


replace = failover  # the name for it


def evictions(before: Placement, after: Placement, changed: Iterable[str]) -> list[Move]:
    """Moves that stop replicas on pools that were not lost or shrunk: lower tiers making room
    for a higher tier that lost its pool (or, with rebalance, anything the global re-placement moved)."""
    changed = set(changed)
    return [m for m in after.moves if m.from_pool is not None and m.from_pool not in changed]


def replicas_lost(placement: Placement, lost: Iterable[str] = (), chips: Mapping[str, int] | None = None
                  ) -> dict[tuple[str, str], int]:
    """{(service, pool): replicas} that cannot stay where they are once the pools change.

    A shrunk pool keeps as many of its replicas as fit, services in demand order (what a
    cluster manager that evicts the newest first would roughly do); the rest are lost.
    """
    new_chips = {p: 0 for p in lost}
    new_chips.update(dict(chips or {}))
    inst = placement.instance
    out: dict[tuple[str, str], int] = {}
    for pool, left in new_chips.items():
        p = placement.fleet.index(pool)
        for s in range(len(inst.services)):
            n = int(placement.replicas[s, p])
            if n == 0:
                continue
            stay = min(n, max(left, 0) // int(inst.chips[s, p]))
            left -= stay * int(inst.chips[s, p])
            if n > stay:
                out[(inst.services[s], pool)] = n - stay
    return out
