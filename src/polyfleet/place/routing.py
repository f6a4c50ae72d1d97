"""What the layers in front of and below a placement act on: routing weights and moves.

Routing: the load balancer in front of a service sends each pool a share of the traffic equal
to that pool's share of the service's capacity, so every replica runs at the same utilisation
(and tier order is the same on every pool).

Moves: the difference between two placements, per service, paired into (from pool, to pool)
so that an executor can drain replicas as their replacements warm up. Replicas of one service can
differ in size and speed between pools, so a move is paired by capacity and says both sides:
replicas and chips stopped on the source, replicas and chips started on the destination (each
stopped replica goes to the destination that takes over the middle of its capacity, each started
replica is charged to the source whose capacity it replaces). Pairing is deterministic: stops in
pool order (pools gone from the fleet last) against starts in pool order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .inference_model import Instance


@dataclass(frozen=True)
class Move:
    """Replicas of a service leaving one pool for another. from_pool None: a scale-up start;
    to_pool None: a stop. `replicas`: replicas started on to_pool (stopped on from_pool for a
    stop); `from_replicas`: replicas stopped on from_pool; chips on each side likewise.
    start_usd: the one-off cold-start cost of the replicas started."""

    service: str
    from_pool: str | None
    to_pool: str | None
    replicas: int
    start_usd: float
    from_replicas: int = 0
    from_chips: int = 0
    to_chips: int = 0


def routing_weights(capacity_tokens_per_s: np.ndarray, min_share: float = 0.0) -> np.ndarray:
    """[s, p] share of each service's traffic per pool: its capacity share; rows sum to 1 (or are 0).
    Shares below `min_share` are dropped and the rest renormalised."""
    cap = np.asarray(capacity_tokens_per_s, dtype=float)
    total = cap.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(total > 0, cap / np.where(total > 0, total, 1.0), 0.0)
    if min_share > 0:
        w = np.where(w >= min_share, w, 0.0)
        kept = w.sum(axis=1, keepdims=True)
        w = np.divide(w, kept, out=np.zeros_like(w), where=kept > 0)
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
    for s in np.flatnonzero(diff.any(axis=1) | np.isin(inst.services, list(gone))).tolist():
        svc = inst.services[s]
        ok = inst.cap[s] > 0
        fallback_cap = float(inst.cap[s, ok].mean()) if ok.any() else 1.0
        fallback_chips = int(inst.chips[s, ok].max()) if ok.any() else 0
        stops = [(inst.pools[p], int(-diff[s, p]), float(inst.cap[s, p]) or fallback_cap, int(inst.chips[s, p]))
                 for p in np.flatnonzero(diff[s] < 0)]
        stops += [(pool, n, fallback_cap, fallback_chips) for pool, n in gone.pop(svc, [])]
        starts = [(inst.pools[p], int(diff[s, p]), float(inst.cap[s, p]), int(inst.chips[s, p]),
                   float(inst.start_usd[s, p])) for p in np.flatnonzero(diff[s] > 0)]
        out += _pair(svc, stops, starts)
    for svc in sorted(gone):
        out += [Move(svc, pool, None, n, 0.0, n, 0, 0) for pool, n in gone[svc]]
    return tuple(out)


def _pair(svc: str, stops: list, starts: list) -> list[Move]:
    """Pair stopped and started replicas of one service by capacity (see the module docstring)."""
    def units(items):
        if not items:
            return np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
        n = np.array([it[1] for it in items], dtype=np.int64)
        cap = np.repeat(np.array([it[2] for it in items], dtype=float), n)
        return np.repeat(np.arange(len(items)), n), np.cumsum(cap), cap
    a_pool, a_end, a_cap = units(stops)
    b_pool, b_end, b_cap = units(starts)
    # a started replica is charged to the stop whose capacity holds its middle, and vice versa
    to_stop = np.searchsorted(a_end, b_end - b_cap / 2, side="right")
    to_start = np.searchsorted(b_end, a_end - a_cap / 2, side="right")
    width = len(starts) + 1
    src_of_b = np.where(to_stop < len(a_pool), a_pool[np.minimum(to_stop, max(len(a_pool) - 1, 0))], -1) \
        if len(a_pool) else np.full(len(b_pool), -1)
    dst_of_a = np.where(to_start < len(b_pool), b_pool[np.minimum(to_start, max(len(b_pool) - 1, 0))], -1) \
        if len(b_pool) else np.full(len(a_pool), -1)
    keys_a, n_a = np.unique((a_pool + 1) * width + (dst_of_a + 1), return_counts=True)
    keys_b, n_b = np.unique((src_of_b + 1) * width + (b_pool + 1), return_counts=True)
    counts: dict[int, list[int]] = {}
    for k, n in zip(keys_a.tolist(), n_a.tolist()):
        counts.setdefault(k, [0, 0])[0] += n
    for k, n in zip(keys_b.tolist(), n_b.tolist()):
        counts.setdefault(k, [0, 0])[1] += n
    out = []
    for key in sorted(counts, key=lambda k: (k // width == 0, k // width, k % width == 0, k % width)):
        i, j = key // width - 1, key % width - 1
        n_from, n_to = counts[key]
        src = stops[i] if i >= 0 else None
        dst = starts[j] if j >= 0 else None
        out.append(Move(svc, src[0] if src else None, dst[0] if dst else None, n_to if dst else n_from,
                        n_to * dst[4] if dst else 0.0, n_from, n_from * src[3] if src else 0,
                        n_to * dst[3] if dst else 0))
    return out
