"""Replica placement for inference services across pools: the library face.

Pure: a fleet (pools), a demand (output tokens/s per service x tier), the rate table and,
optionally, the placement now running go in; a `Placement` comes out. Nothing is mutated and
the same inputs give the same result (the greedy path always; the MILP path unless it hits its
time limit, which its status says).

    placement = place(rates, fleet, demand)                      # fresh
    placement = place(rates, fleet, demand, previous=placement)  # re-place, moves penalised
    after = failover(placement, lost=["aws/p5/us-east-1"])       # see failover.py

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
from .inference_greedy import greedy_replicas
from .inference_milp import solve_milp
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
    cost; objective: what the solver minimised (USD/h incl. penalties); status/gap/solve_s:
    the solver's word on it; method/priority: the path taken.
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
    if method == "auto":
        method = "milp" if int((inst.ok & (inst.fits() >= 1)).sum()) <= options.exact_max_cells else "lp"
    start = greedy_replicas(inst)
    status, gap, priority, reps = "heuristic", np.nan, "tier-ordered", start
    if method in ("milp", "lp"):
        res = solve_milp(inst, options, start=start, relax=method == "lp")
        if res.status not in ("optimal", "time_limit"):
            status = f"greedy (the {method} ended {res.status})"
        elif method == "lp":  # round the LP down, complete greedily, keep whichever costs less
            rounded = greedy_replicas(inst, np.floor(res.replicas + 1e-6).astype(np.int64))
            better = _lexi_key(inst, rounded) < _lexi_key(inst, start)
            reps, status, priority = (rounded, "lp-rounded", res.priority) if better else (start, "heuristic", priority)
        else:
            reps, status, gap, priority = repair_tiers(inst, res.replicas), res.status, res.gap, res.priority
    return assemble(rates, fleet, demand, options, inst, reps, status=status, gap=gap, method=method,
                    priority=priority, solve_s=time.perf_counter() - t0)


def assemble(rates: RateTable, fleet: Fleet, demand: Demand, options: PlaceOptions, inst: Instance,
             replicas: np.ndarray, *, status: str, gap: float, method: str, priority: str,
             solve_s: float) -> Placement:
    """Derive everything a Placement reports from its replica matrix."""
    replicas = np.asarray(replicas, dtype=np.int64)
    capacity = replicas * inst.cap
    served = tier_fill(capacity.sum(axis=1), inst.demand)
    unserved = inst.demand - served
    started = np.maximum(replicas - inst.prev, 0)
    usd = float((replicas * inst.cost).sum())
    objective = usd + float((started * inst.start_penalty).sum())
    moves = moves_between(inst, replicas) if inst.has_prev else ()
    for arr in (replicas, capacity, served, unserved):
        arr.setflags(write=False)
    return Placement(rates=rates, fleet=fleet, demand=demand, options=options, replicas=replicas,
                     capacity_tokens_per_s=capacity, served_tokens_per_s=served, unserved_tokens_per_s=unserved,
                     chips_used=(replicas * inst.chips).sum(axis=0), routing=routing_weights(capacity),
                     usd_per_hour=usd, moves=moves,
                     start_usd=float((started * inst.start_usd).sum()) if inst.has_prev else 0.0,
                     objective=objective, status=status, gap=gap, solve_s=solve_s, method=method,
                     priority=priority, instance=inst)


def _lexi_key(inst: Instance, r: np.ndarray) -> tuple[float, ...]:
    """Unserved tokens/s per tier (highest first), then cost + start penalties: smaller is better."""
    served = tier_fill((r * inst.cap).sum(axis=1), inst.demand)
    short = (inst.demand - served).sum(axis=0)
    started = np.maximum(r - inst.prev, 0)
    return (*np.round(short, 6), float((r * inst.cost).sum() + (started * inst.start_penalty).sum()))
