"""Replica placement for inference services across pools: the library face.

Pure: a fleet (pools), a demand (output tokens/s per service x tier), the rate table and,
optionally, the placement now running go in; a `Placement` comes out. Nothing is mutated and
the same inputs give the same result (the "lp" and "greedy" paths always; the "milp" path
unless it stops at its time limit, which its status then says).

    placement = place(rates, fleet, demand)                      # fresh
    placement = place(rates, fleet, demand, previous=placement)  # re-place, moves penalised
    after = failover(placement, lost=["pool-a"])                 # polyfleet.place.failover

Order of concerns, lexicographic: each tier's service (highest first), then replica cost plus
cold-start penalties. Every path ends with `inference_tiers.repair_tiers`, so no result ever has
a higher tier short by a replica's worth while capacity it could use holds a lower tier.

Request-size buckets: the rate table folds a service's request mix into one rate per offering
(harmonic mean weighted by output-token share), which is exact when every replica serves the
whole mix. Mélange's bucket-level split, where long prompts go to one chip and short ones to
another, is `inference_buckets.split_buckets`: one pseudo-service per bucket, each with its own
rate-table row and its share of the demand; placement treats them as services.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..perf.ratetable import RateTable
from .inference_greedy import greedy_replicas, lp_roundings, surviving
from .inference_milp import solve_milp, tier_weights
from .inference_model import Demand, Fleet, Instance, PlaceOptions, build_instance
from .inference_tiers import repair_tiers, tier_fill
from .routing import Move, moves_between, routing_weights


@dataclass(frozen=True)
class Shortfall:
    """Traffic not served: tokens/s of one tier of one service, and its share of that demand."""

    service: str
    tier: str
    tokens_per_s: float
    share: float


@dataclass(frozen=True)
class Placement:
    """What runs where. Arrays: axis 0 services (demand order), axis 1 pools (fleet order).

    replicas[s, p]; capacity_tokens_per_s[s, p] (replicas x tokens/s per replica);
    served/unserved_tokens_per_s[s, k] (tiers highest first); chips_used[p];
    routing[s, p]: share of service s's traffic the load balancer sends to p (capacity share,
    each row sums to 1 for a service with any replica); usd_per_hour: replica cost;
    moves: against the previous placement (empty without one); start_usd: their cold-start
    cost; objective: usd_per_hour + start penalties (what the cost stage minimised).
    status: "optimal" / "time_limit" (milp), "rounded" (lp), "heuristic" (greedy, or a solver
    that failed, with its status). gap: relative optimality gap of the cost stage where known
    (milp: HiGHS's; lp: certified by the LP bound when everything is served), else NaN.
    method: "lp" / "milp" / "greedy"; priority: how tiers were ranked ("none needed" when all
    is served, "weighted", "sequential", "tier-ordered" for the greedy). solve_s: wall seconds.
    """

    rates: RateTable
    fleet: Fleet
    demand: Demand
    options: PlaceOptions
    replicas: np.ndarray
    capacity_tokens_per_s: np.ndarray
    served_tokens_per_s: np.ndarray
    unserved_tokens_per_s: np.ndarray
    chips_used: np.ndarray
    routing: np.ndarray
    usd_per_hour: float
    moves: tuple[Move, ...]
    start_usd: float
    objective: float
    status: str
    gap: float
    solve_s: float
    method: str
    priority: str
    instance: Instance = field(repr=False)

    @property
    def services(self) -> tuple[str, ...]:
        return self.demand.services

    @property
    def pools(self) -> tuple[str, ...]:
        return self.fleet.ids

    @property
    def tiers(self) -> tuple[str, ...]:
        return self.demand.tiers

    def shortfalls(self, tol: float = 1e-6) -> list[Shortfall]:
        """Who is not served and by how much, highest tier first."""
        out = []
        d = self.demand.tokens_per_s
        for k, tier in enumerate(self.tiers):
            for s in np.flatnonzero(self.unserved_tokens_per_s[:, k] > tol * np.maximum(d[:, k], 1.0)):
                u = float(self.unserved_tokens_per_s[s, k])
                out.append(Shortfall(self.services[s], tier, u, u / float(d[s, k])))
        return out

    def replica_map(self) -> dict[tuple[str, str], int]:
        """{(service, pool): replicas} for the cells that hold any: a `previous` for `place`."""
        return {(self.services[s], self.pools[p]): int(self.replicas[s, p]) for s, p in zip(*np.nonzero(self.replicas))}

    def summary(self) -> dict:
        """Plain numbers for reports and logs."""
        d = self.demand.tokens_per_s
        return {"status": self.status, "method": self.method, "priority": self.priority, "gap": self.gap,
                "solve_s": self.solve_s, "usd_per_hour": self.usd_per_hour, "replicas": int(self.replicas.sum()),
                "chips": int(self.chips_used.sum()),
                "served_share_by_tier": {t: float(self.served_tokens_per_s[:, k].sum() / d[:, k].sum())
                                         if d[:, k].sum() > 0 else 1.0 for k, t in enumerate(self.tiers)},
                "moves": sum(m.replicas for m in self.moves if m.to_pool is not None),
                "start_usd": self.start_usd}


def place(rates: RateTable, fleet: Fleet, demand: Demand, *,
          previous: "Placement | Mapping[tuple[str, str], int] | np.ndarray | None" = None,
          options: PlaceOptions | None = None) -> Placement:
    """Place every service's replicas on the fleet: tiers first, then least cost, then fewest moves.

    previous: the placement now running (a Placement, a {(service, pool): replicas} map or an
    array on this demand x fleet); replicas kept cost nothing extra, started ones pay a cold start.
    """
    options = options or PlaceOptions()
    t0 = time.perf_counter()
    prev = previous.replica_map() if isinstance(previous, Placement) else previous
    inst = build_instance(rates, fleet, demand, options, prev)
    method = options.method
    cands = [greedy_replicas(inst)]
    if inst.has_prev:  # incremental: keep what survives, fill the gaps, repair tier order
        cands.append(greedy_replicas(inst, surviving(inst)))
    start = _best(inst, cands, options.tier_slack)
    status, gap, priority, reps = "heuristic", np.nan, "tier-ordered", start
    if not np.any(inst.demand > 0) or not np.any(inst.ok & (inst.fits() >= 1)):
        method = "greedy"  # nothing to decide: no demand, or no pool can hold a replica of anyone
    if method in ("milp", "lp"):
        res = solve_milp(inst, options, start=start, relax=method == "lp")
        if res.status not in ("optimal", "time_limit"):
            method, status = "greedy", f"heuristic (the {method} ended {res.status})"
        elif method == "lp":  # round the LP, complete greedily, keep the best; the LP bounds the gap
            rounded = lp_roundings(inst, res.replicas)
            reps = _best(inst, [start] + rounded, options.tier_slack)
            status, priority = "rounded", res.priority
            if res.priority == "none needed":  # the LP relaxes exactly this cost problem
                obj = _lexi_key(inst, reps)[-1]
                gap = max(obj - res.bound, 0.0) / max(obj, 1e-12)
        else:
            reps, status, gap, priority = repair_tiers(inst, res.replicas), res.status, res.gap, res.priority
    return assemble(rates, fleet, demand, options, inst, reps, status=status, gap=gap, method=method,
                    priority=priority, solve_s=time.perf_counter() - t0)


def assemble(rates: RateTable, fleet: Fleet, demand: Demand, options: PlaceOptions, inst: Instance,
             replicas: np.ndarray, *, status: str, gap: float, method: str, priority: str,
             solve_s: float) -> Placement:
    """Derive everything a Placement reports from its replica matrix (surplus slivers dropped first:
    replicas carrying less than `options.min_routing_share` of a service's capacity that the service
    does not need to serve all its demand, rounding noise of the LP)."""
    replicas = np.asarray(replicas, dtype=np.int64)
    capacity = replicas * inst.cap
    if options.min_routing_share > 0:
        total = capacity.sum(axis=1, keepdims=True)
        sliver = (replicas > 0) & (capacity < options.min_routing_share * total)
        spare = total - inst.demand.sum(axis=1, keepdims=True)
        drop = sliver & (np.where(sliver, capacity, 0.0).sum(axis=1, keepdims=True) <= spare * (1 + 1e-9))
        if drop.any():
            replicas = np.where(drop, 0, replicas)
            capacity = replicas * inst.cap
    served = tier_fill(capacity.sum(axis=1), inst.demand)
    unserved = inst.demand - served
    started = np.maximum(replicas - inst.prev, 0)
    usd = float((replicas * inst.cost).sum())
    objective = usd + float((started * inst.start_penalty).sum())
    moves = moves_between(inst, replicas) if inst.has_prev else ()
    chips_used = (replicas * inst.chips).sum(axis=0)
    for arr in (replicas, capacity, served, unserved, chips_used):
        arr.setflags(write=False)
    return Placement(rates=rates, fleet=fleet, demand=demand, options=options, replicas=replicas,
                     capacity_tokens_per_s=capacity, served_tokens_per_s=served, unserved_tokens_per_s=unserved,
                     chips_used=chips_used, routing=routing_weights(capacity),
                     usd_per_hour=usd, moves=moves,
                     start_usd=float((started * inst.start_usd).sum()) if inst.has_prev else 0.0,
                     objective=objective, status=status, gap=gap, solve_s=solve_s, method=method,
                     priority=priority, instance=inst)


def _lexi_key(inst: Instance, r: np.ndarray) -> tuple[float, ...]:
    """Value-weighted unserved share per tier (highest first), then cost + start penalties."""
    served = tier_fill((r * inst.cap).sum(axis=1), inst.demand)
    _, v = tier_weights(inst)
    short = v @ (inst.demand - served) / np.maximum(v @ inst.demand, 1e-300)
    started = np.maximum(r - inst.prev, 0)
    return (*np.round(short, 9), float((r * inst.cost).sum() + (started * inst.start_penalty).sum()))


def _best(inst: Instance, cands: list[np.ndarray], slack: float) -> np.ndarray:
    """The candidate serving the most per tier (ties within `slack`), then costing the least."""
    keys = [_lexi_key(inst, r) for r in cands]
    best = 0
    for i in range(1, len(cands)):
        a, b = keys[i], keys[best]
        for k in range(len(a) - 1):
            if abs(a[k] - b[k]) > slack + 1e-9:
                best = i if a[k] < b[k] else best
                break
        else:
            best = i if a[-1] < b[-1] else best
    return cands[best]
