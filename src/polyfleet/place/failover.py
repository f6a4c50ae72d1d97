"""Failover: re-place after pools are lost or shrink, with as few moves as possible.

A lost pool is kept in the fleet with 0 chips, so every array keeps its columns and the moves
say which pool replicas left. Re-placement is an ordinary `place` with the running placement
as `previous`: kept replicas cost their price, every started one also pays its cold start
(chips x price x cold_start_s, plus usd_per_start, spread over horizon_hours), so nothing moves
unless it must (its pool is gone or too small) or the saving outweighs the cold start. Besides
the global solve, `place` tries an incremental candidate (keep every surviving replica, place
only what is missing, evict lower tiers where a higher one needs room) and keeps whichever is
better. Tier order still comes first: a lower tier's replica is moved or stopped to make room
for a higher tier that lost its pool. Under deep shortage the best service per tier can need a
different mix of services than the one running, hence many moves; `PlaceOptions.tier_slack`
(e.g. 0.01) lets the re-placement give up that share of a tier's value to move far less.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .inference import Placement, place
from .inference_model import Demand, PlaceOptions


def failover(placement: Placement, lost: Iterable[str] = (), chips: Mapping[str, int] | None = None, *,
             demand: Demand | None = None, options: PlaceOptions | None = None) -> Placement:
    """Re-place `placement` after the pools in `lost` are gone and those in `chips` hold that many.

    demand/options default to the placement's own. The result's `moves` list every replica
    stopped, started or moved (service, from pool, to pool, replicas, cold-start USD) and its
    `start_usd` their total cold-start cost.
    """
    new_chips = {p: 0 for p in lost}
    new_chips.update(dict(chips or {}))
    fleet = placement.fleet.with_chips(new_chips)
    return place(placement.rates, fleet, demand or placement.demand, previous=placement,
                 options=options or placement.options)


replace = failover  # the name for it


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
