"""What the layers in front of and below a placement act on: routing weights and moves.

Routing: the load balancer in front of a service sends each pool a share of the traffic equal
to that pool's share of the service's capacity, so every replica runs at the same utilisation
(and tier order is the same on every pool).

Moves: the difference between two placements, per service, paired into (from pool, to pool,
replicas) so that an executor can drain one replica as its replacement warms up. Pairing is
deterministic: stops in pool order (pools gone from the fleet last) against starts in pool order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .inference_model import Instance


@dataclass(frozen=True)
class Move:
    """Replicas of a service leaving one pool for another. from_pool None: a scale-up start;
    to_pool None: a stop. start_usd: the one-off cold-start cost of the replicas started."""

    service: str
    from_pool: str | None
    to_pool: str | None
    replicas: int
    start_usd: float


def routing_weights(capacity_tokens_per_s: np.ndarray) -> np.ndarray:
    """[s, p] share of each service's traffic per pool: its capacity share; rows sum to 1 (or are 0)."""
    cap = np.asarray(capacity_tokens_per_s, dtype=float)
    total = cap.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(total > 0, cap / np.where(total > 0, total, 1.0), 0.0)
    w.setflags(write=False)
    return w


def routing_table(services: tuple[str, ...], pools: tuple[str, ...], weights: np.ndarray
                  ) -> dict[str, dict[str, float]]:
    """{service: {pool: weight}} for the pools with a share; what a load balancer config needs."""
    return {services[s]: {pools[p]: float(weights[s, p]) for p in np.flatnonzero(weights[s] > 0)}
            for s in range(len(services)) if weights[s].any()}


def moves_between(inst: Instance, replicas: np.ndarray) -> tuple[Move, ...]:
    """The moves from `inst.prev` (plus previous replicas on pools or services now gone) to `replicas`."""
    diff = replicas - inst.prev
    gone: dict[str, list[tuple[str, int]]] = {}
    for svc, pool, n in inst.prev_elsewhere:
        gone.setdefault(svc, []).append((pool, n))
    out: list[Move] = []
    touched = sorted(set(np.flatnonzero(diff.any(axis=1)).tolist()))
    for s in touched:
        svc = inst.services[s]
        stops = [(inst.pools[p], int(-diff[s, p]), -1) for p in np.flatnonzero(diff[s] < 0)]
        stops += [(pool, n, -1) for pool, n in gone.pop(svc, [])]
        starts = [(inst.pools[p], int(diff[s, p]), p) for p in np.flatnonzero(diff[s] > 0)]
        out += _pair(svc, stops, starts, inst.start_usd[s])
    for svc in sorted(gone):
        out += [Move(svc, pool, None, n, 0.0) for pool, n in gone[svc]]
    return tuple(out)


def _pair(svc: str, stops: list, starts: list, start_usd: np.ndarray) -> list[Move]:
    out: list[Move] = []
    i = j = 0
    stops = [list(x) for x in stops]
    starts = [list(x) for x in starts]
    while i < len(stops) or j < len(starts):
        if i < len(stops) and j < len(starts):
            n = min(stops[i][1], starts[j][1])
            out.append(Move(svc, stops[i][0], starts[j][0], n, n * float(start_usd[starts[j][2]])))
            stops[i][1] -= n
            starts[j][1] -= n
        elif i < len(stops):
            out.append(Move(svc, stops[i][0], None, stops[i][1], 0.0))
            stops[i][1] = 0
        else:
            out.append(Move(svc, None, starts[j][0], starts[j][1], starts[j][1] * float(start_usd[starts[j][2]])))
            starts[j][1] = 0
        i += i < len(stops) and stops[i][1] == 0
        j += j < len(starts) and starts[j][1] == 0
    return out
