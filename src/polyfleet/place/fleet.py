"""Placing a whole fleet: inference services first (tiers in order), training on what is left.

Inference replicas go where `place` puts them, for the given (peak) demand; chips the caller
reserves for training form their own, dearer pools, so inference takes them only to serve
demand it could not serve otherwise. Training runs as gangs (data-parallel shards) that share
the remaining chips under Gavel's makespan policy, with each gang's work in proportion to its
workload's demand: the largest equal share of every training workload's demand the chips allow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..perf.ratetable import RateTable
from .allocation import Allocation, AllocationProblem
from .inference import Placement, place
from .inference_model import Demand, Fleet, PlaceOptions, Pool
from .training import allocate

TRAINING_SUFFIX = "#training"
RESERVED_PRICE_FACTOR = 50.0
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

    @property
    def idle_chips(self) -> np.ndarray:
        return np.maximum(self.chips - self.inference_chips - self.training_chips.sum(axis=0), 0.0)


def place_fleet(table: RateTable, pools: Sequence[str], chips: np.ndarray, *, price: np.ndarray | None = None,
                inference: Demand | None = None, training: Sequence[str] = (), training_demand: np.ndarray | None = None,
                gang_chips: np.ndarray | None = None, reserved: np.ndarray | None = None,
                previous: Placement | None = None, options: PlaceOptions | None = None) -> FleetPlacement:
    """Place `inference` demand (services x tiers, tokens/s) and `training` workloads (tokens/s each,
    in gangs of `gang_chips`) on `chips[p]` chips of each pool; every pool is an offering column of
    `table`. `reserved[p]` chips are kept for training unless inference needs them."""
    chips = np.asarray(chips, dtype=float)
    P = len(pools)
    price = np.asarray(price, dtype=float) if price is not None else np.nan_to_num(table.price()[[table.o(p)
                                                                                                 for p in pools]])
    # whole chips, never below 0: a plan's allocation can come back a hair under zero from the solver
    reserved = np.clip(np.floor(np.asarray(reserved, dtype=float) + 1e-6), 0.0, chips) \
        if reserved is not None and len(training) else np.zeros(P)
    pl, used = previous, np.zeros(P)
    if inference is not None and len(inference.services):
        fleet = Fleet(tuple(Pool(id=p, offering=p, chips=int(c - r), usd_per_chip_hour=float(pr))
                            for p, c, r, pr in zip(pools, chips, reserved, price)) +
                      tuple(Pool(id=p + TRAINING_SUFFIX, offering=p, chips=int(r),
                                 usd_per_chip_hour=float(pr) * RESERVED_PRICE_FACTOR + 1.0)
                            for p, r, pr in zip(pools, reserved, price)))
        pl = place(table.subset(workloads=list(inference.services)), fleet, inference, previous=previous,
                   options=options)
        used = pl.chips_used[:P] + pl.chips_used[P:]
    left = np.maximum(chips - used, 0.0)
    tw = tuple(training)
    demand = np.asarray(training_demand if training_demand is not None else np.zeros(len(tw)), dtype=float)
    got, held, alloc = _train(table, tw, pools, left, demand, gang_chips)
    return FleetPlacement(tuple(pools), chips, pl, used, tw, got, held, alloc)


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
