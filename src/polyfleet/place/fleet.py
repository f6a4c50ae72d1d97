"""Placing a whole fleet: inference services first (tiers in order), training on what is left.

Inference replicas go where `place` puts them, for the given (peak) demand, first on the chips
the caller does not reserve for training; only if that leaves demand unserved is it placed again
on the whole pools (keeping what it has), so it takes training's chips only for demand it could
not serve otherwise, and a replica is never kept out of a pool because part of it is reserved.
Training then runs in one of two ways:

- where a plan put it (`training_pools[j, p]`: chips run j holds on pool p): each run keeps the
  chips inference left of its reservation on each pool, in proportion when several runs share a
  pool, and trains at those chips' rate (an elastic data-parallel run slows down, it does not
  move to other pools);
- otherwise as gangs (data-parallel shards) that share the remaining chips under Gavel's makespan
  policy, each gang's work in proportion to its workload's demand: the largest equal share of
  every training workload's demand the chips allow.

Either way a run trains at most at its demand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import UnknownNameError
from ..perf.ratetable import RateTable
from .allocation import Allocation, AllocationProblem
from .failover import failover, failover_from
from .inference import Placement, assemble, place
from .inference_model import Demand, Fleet, PlaceOptions, Pool, build_instance
from .training import allocate

MAX_GANGS = 256


@dataclass(frozen=True)
class FleetPlacement:
    """Where everything runs. Axes: P pools (the `chips` order), W_t training workloads."""

    pools: tuple[str, ...]
    chips: np.ndarray                     # [P] chips available
    inference: Placement | None
    inference_chips: np.ndarray           # [P] chips inference replicas hold
    training_workloads: tuple[str, ...]
    training_tokens_per_s: np.ndarray     # [W_t] training throughput reached (at most the demand)
    training_chips: np.ndarray            # [W_t, P] chips each training workload holds on average
    allocation: Allocation | None
    training_demand: np.ndarray | None = None   # [W_t] tokens/s asked (what failover_fleet re-places)
    gang_chips: np.ndarray | None = None        # [W_t] gang sizes (Gavel path)
    training_pools: np.ndarray | None = None    # [W_t, P] chips the plan gave each run (plan path)
    reserved: np.ndarray | None = None          # [P] whole chips set aside for training

    @property
    def idle_chips(self) -> np.ndarray:
        return np.maximum(self.chips - self.inference_chips - self.training_chips.sum(axis=0), 0.0)


def place_fleet(table: RateTable, pools: Sequence[str], chips: np.ndarray, *, price: np.ndarray | None = None,
                inference: Demand | None = None, training: Sequence[str] = (), training_demand: np.ndarray | None = None,
                gang_chips: np.ndarray | None = None, reserved: np.ndarray | None = None,
                training_pools: np.ndarray | None = None,
                previous: Placement | Mapping[tuple[str, str], int] | None = None,
                rebalance: bool = True, options: PlaceOptions | None = None) -> FleetPlacement:
    """Place `inference` demand (services x tiers, tokens/s) and `training` workloads (tokens/s each)
    on `chips[p]` chips of each pool; every pool is an offering column of `table`.

    `training_pools[j, p]`: chips the plan gives run j on pool p (they are reserved, and the run
    trains there); without it, `reserved[p]` chips are kept for training and the runs share what is
    left in gangs of `gang_chips`. Reserved chips go to inference only for demand it could not
    serve otherwise.

    `previous`: the inference replicas running now (a Placement or {(service, pool): replicas}).
    With `rebalance` (default) inference is placed again globally, keeping a replica costing less
    than starting one; without, by the failover's rule (`failover_from`): what still fits stays,
    only what it no longer serves is placed, lower tiers make room for a short higher one."""
    chips = np.asarray(chips, dtype=float)
    P = len(pools)
    price = np.asarray(price, dtype=float) if price is not None else np.nan_to_num(table.price()[[table.o(p)
                                                                                                 for p in pools]])
    runs = None
    if training_pools is not None and len(training):
        runs = np.maximum(np.asarray(training_pools, dtype=float), 0.0)     # a solver's -1e-9 is 0
        reserved = runs.sum(axis=0)
    want = np.maximum(np.asarray(reserved, dtype=float), 0.0) if reserved is not None and len(training) \
        else np.zeros(P)
    # whole chips set aside: the reservation rounded up, at most the pool; a plan's allocation can
    # come back a hair under zero or over a whole chip from the solver
    reserved = np.minimum(chips - np.maximum(np.floor(chips - want + 1e-6), 0.0), chips) if runs is not None \
        else np.clip(np.floor(want + 1e-6), 0.0, chips)
    pl, used = previous, np.zeros(P)
    if inference is not None and len(inference.services):
        pl = _place_inference(table, pools, chips, reserved, price, inference, previous, options, rebalance)
        used = pl.chips_used.astype(float)
    tw = tuple(training)
    demand = np.asarray(training_demand if training_demand is not None else np.zeros(len(tw)), dtype=float)
    if runs is not None:
        got, held = _train_where_planned(table, tw, pools, runs, np.minimum(chips - used, reserved), demand)
        alloc = None
    else:
        got, held, alloc = _train(table, tw, pools, np.maximum(chips - used, 0.0), demand, gang_chips)
    return FleetPlacement(tuple(pools), chips, pl, used, tw, got, held, alloc, demand,
                          None if gang_chips is None else np.asarray(gang_chips, dtype=float), runs, reserved)


def failover_fleet(table: RateTable, fp: FleetPlacement, lost: Sequence[str] = (),
                   chips: Mapping[str, int] | None = None, *, rebalance: bool = False,
                   options: PlaceOptions | None = None) -> FleetPlacement:
    """The whole fleet after the pools in `lost` are gone and those in `chips` hold that many:
    inference through `failover` (by default only replicas on lost or shrunk pools move), training
    on the chips left by the same rules as `place_fleet`. Pools keep their order (a lost one, 0 chips)."""
    new = fp.chips.astype(float).copy()
    for name, value in [(p, 0) for p in lost] + list((chips or {}).items()):
        if name not in fp.pools:
            raise UnknownNameError("pool", name, fp.pools)
        new[fp.pools.index(name)] = float(value)
    pl = None
    if fp.inference is not None:
        pl = failover(fp.inference, lost, chips, options=options, rebalance=rebalance)
    used = pl.chips_used.astype(float) if pl is not None else np.zeros(len(fp.pools))
    tw, demand = fp.training_workloads, fp.training_demand if fp.training_demand is not None \
        else fp.training_tokens_per_s
    alloc = None
    if fp.training_pools is not None:
        reserved = np.minimum(fp.reserved if fp.reserved is not None else fp.training_pools.sum(axis=0), new)
        got, held = _train_where_planned(table, tw, fp.pools, fp.training_pools, np.minimum(new - used, reserved),
                                         demand)
    else:
        got, held, alloc = _train(table, tw, fp.pools, np.maximum(new - used, 0.0), demand, fp.gang_chips)
    return FleetPlacement(fp.pools, new, pl, used, tw, got, held, alloc, demand, fp.gang_chips, fp.training_pools,
                          fp.reserved)


def _place_inference(table: RateTable, pools: Sequence[str], chips: np.ndarray, reserved: np.ndarray,
                     price: np.ndarray, demand: Demand, previous, options: PlaceOptions | None,
                     rebalance: bool = True) -> Placement:
    """Inference on the chips not reserved; what that leaves unserved, on the chips still free
    (reserved ones, and pieces of pools too small for a replica beside the reservation)."""
    sub = table.subset(workloads=list(demand.services))
    opts = options or PlaceOptions()

    def fleet(c: np.ndarray) -> Fleet:
        return Fleet(tuple(Pool(id=p, offering=p, chips=int(round(x)), usd_per_chip_hour=float(pr))
                           for p, x, pr in zip(pools, c, price)))

    prev = previous.replica_map() if isinstance(previous, Placement) else previous
    pl = failover_from(sub, fleet(chips - reserved), demand, prev, options=opts, rebalance=rebalance) \
        if prev is not None else place(sub, fleet(chips - reserved), demand, options=opts)
    short = pl.unserved_tokens_per_s
    if not reserved.any() or not short.sum() > 1e-9 * max(float(demand.tokens_per_s.sum()), 1.0):
        return pl
    more = place(sub, fleet(chips - pl.chips_used), Demand(demand.services, demand.tiers, short), options=opts)
    if not more.replicas.any():
        return pl
    whole = fleet(chips)
    inst = build_instance(sub, whole, demand, opts, prev)
    return assemble(sub, whole, demand, opts, inst, pl.replicas + more.replicas, status=pl.status, gap=np.nan,
                    method=pl.method, priority=pl.priority, solve_s=pl.solve_s + more.solve_s)


def _train_where_planned(table: RateTable, workloads: tuple[str, ...], pools: Sequence[str], runs: np.ndarray,
                         left: np.ndarray, demand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each run on the chips the plan gave it, scaled down on a pool where fewer than the
    reservation are left (runs sharing a pool lose alike); tokens/s at most the demand."""
    W = len(workloads)
    if W == 0:
        return np.zeros(0), np.zeros((0, len(pools)))
    rate = table.rate[np.ix_([table.w(w) for w in workloads], [table.o(p) for p in pools])] / 3600.0
    want = runs.sum(axis=0)
    keep = np.divide(np.maximum(left, 0.0), want, out=np.zeros_like(want), where=want > 0)
    held = runs * np.minimum(keep, 1.0)[None, :]
    got = (held * rate).sum(axis=1)
    scale = np.divide(np.minimum(got, demand), got, out=np.zeros(W), where=got > 0)
    return np.minimum(got, demand), held * scale[:, None]


def _train(table: RateTable, workloads: tuple[str, ...], pools: Sequence[str], chips: np.ndarray,
           demand: np.ndarray, gang_chips: np.ndarray | None):
    W, P = len(workloads), len(pools)
    if W == 0 or chips.sum() <= 0:
        return np.zeros(W), np.zeros((W, P)), None
    cols = [table.o(p) for p in pools]
    rate = table.rate[np.ix_([table.w(w) for w in workloads], cols)] / 3600.0     # tokens/s per chip
    gang = np.maximum(np.asarray(gang_chips if gang_chips is not None else np.ones(W), dtype=float), 1.0)
    per_gang = rate * gang[:, None]                                              # tokens/s of one gang
    usable = per_gang * (chips[None, :] >= gang[:, None])
    slowest = np.where(usable > 0, usable, np.inf).min(axis=1)
    # enough gangs to absorb the demand even on the slowest usable pool, as many as the chips hold
    need = np.where(np.isfinite(slowest) & (demand > 0), np.ceil(demand / np.where(np.isfinite(slowest),
                                                                                   slowest, 1.0)), 0)
    n = np.minimum(np.minimum(need, np.floor(chips.sum() / gang)), MAX_GANGS).astype(int)
    jobs = np.repeat(np.arange(W), n)
    if jobs.size == 0:
        return np.zeros(W), np.zeros((W, P)), None
    problem = AllocationProblem(throughput=usable[jobs], scale_factor=gang[jobs], capacity=chips,
                                types=tuple(pools), remaining_work=demand[jobs] / n[jobs])
    alloc = allocate(problem, "min_total_duration")
    got = np.bincount(jobs, weights=(alloc.x * usable[jobs]).sum(axis=1), minlength=W)
    held = np.zeros((W, P))
    np.add.at(held, jobs, alloc.x * gang[jobs, None])
    scale = np.divide(np.minimum(got, demand), got, out=np.zeros(W), where=got > 0)
    return np.minimum(got, demand), held * scale[:, None], alloc
