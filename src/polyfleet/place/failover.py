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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from .inference import Placement, assemble, place
from .inference_greedy import surviving
from .inference_model import Demand, PlaceOptions, build_instance
from .inference_tiers import repair_tiers, tier_fill
from .routing import Move

ROUNDS = 3


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
    fleet = placement.fleet.with_chips(new_chips)
    demand = demand or placement.demand
    options = options or placement.options
    if rebalance:
        return place(placement.rates, fleet, demand, previous=placement, options=options)
    inst = build_instance(placement.rates, fleet, demand, options, placement.replica_map())
    reps = surviving(inst)
    solve_s, status = 0.0, "kept"
    for _ in range(ROUNDS):
        short = inst.demand - tier_fill((reps * inst.cap).sum(axis=1), inst.demand)
        if not short.sum() > 1e-9 * max(float(inst.demand.sum()), 1.0):
            break
        free = inst.pool_chips - (reps * inst.chips).sum(axis=0)
        more = place(placement.rates, fleet.with_chips(dict(zip(fleet.ids, free.tolist()))),
                     Demand(demand.services, demand.tiers, short), options=options)
        solve_s += more.solve_s
        status = more.status
        new = repair_tiers(inst, reps + more.replicas)     # evicts lower tiers where a higher one is short
        if np.array_equal(new, reps):
            break
        reps = new
    return assemble(placement.rates, fleet, demand, options, inst, reps, status=f"local ({status})", gap=np.nan,
                    method=options.method, priority="kept in place", solve_s=solve_s)


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
