"""What the planning MILP's blocks share: pools of identical offerings and typed handles to the core columns.

`model.build` assembles the core (units held, firm chips, allocation, demand) and hands a `CoreBlocks`
to the security blocks (`security.py`), which add their own columns and rows on top of it. A typed
record rather than a dict of names: a misspelt handle fails at once, and both modules import this
one instead of each other.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ..catalog import TERMS
from ..solvers import Milp
from .contract_terms import tail_weight
from .inputs import C1, C3, SPOT, TERM_MONTHS, PlanInputs


BUDGET_SCALE = 1e6          # budget rows are in USD millions


@dataclass(frozen=True)
class Pools:
    of: np.ndarray              # [O] pool of each offering, -1 = serves no workload
    members: list[np.ndarray]   # per pool
    rate: np.ndarray            # [W, P] tokens per chip-hour
    scale: np.ndarray           # [W] best rate of each workload (demand rows are divided by it)
    family: np.ndarray          # [P] family index of each pool (all members share it)

    @property
    def P(self) -> int:  # noqa: N802
        return len(self.members)

    def sum_matrix(self, O: int) -> np.ndarray:  # noqa: N803
        """[P, O] 0/1 membership."""
        m = np.zeros((self.P, O))
        ok = self.of >= 0
        m[self.of[ok], np.flatnonzero(ok)] = 1.0
        return m


def make_pools(inp: PlanInputs) -> Pools:
    """Group offerings with identical rate columns and family (exact aggregation)."""
    useful = (inp.rate > 0).any(axis=0)
    key = np.vstack([inp.rate, inp.family_index[None, :]]).T        # [O, W+1]
    of = np.full(inp.O, -1, dtype=np.int64)
    if useful.any():
        _, inverse = np.unique(key[useful], axis=0, return_inverse=True)
        of[useful] = inverse.ravel()
    P = int(of.max()) + 1 if useful.any() else 0
    members = [np.flatnonzero(of == p) for p in range(P)]
    rate = np.stack([inp.rate[:, m[0]] for m in members], axis=1) if P else np.zeros((inp.W, 0))
    scale = np.where(rate.max(axis=1, initial=0) > 0, rate.max(axis=1, initial=0), 1.0)
    family = np.array([inp.family_index[m[0]] for m in members], dtype=int)
    return Pools(of, members, rate, scale, family)


def months_paid(inp: PlanInputs) -> np.ndarray:
    """[K, T] months of cost a unit bought (held or started) in month t puts in the objective."""
    T = inp.T
    out = np.ones((len(TERMS), T))
    for k in (C1, C3):
        L = TERM_MONTHS[k]
        inside = np.minimum(L, T - np.arange(T))
        out[k] = inside + tail_weight(inp.commitment_tail, inp.terminal_value_share) * (L - inside)
    return out


def initial_firm_chips(inp: PlanInputs) -> np.ndarray:
    """[O] firm chips held just before the horizon: the fleet's, and a signed contract's first-month
    delivery (its cumulative schedule starts with what is already delivered) where the contract has one
    offering, so certainly sits there (at its minimum take)."""
    avail = np.ones((inp.O, len(TERMS)))
    avail[:, SPOT] = inp.spot_avail
    out = inp.unit_chips * (inp.fleet_initial * avail).sum(axis=1)
    for c in inp.contracts:
        if c.signed and c.mask.sum() == 1:
            out = out + c.mask * c.min_take * c.tranches[0].deliveries[0]
    return out


@dataclass(frozen=True)
class CoreBlocks:
    """Index arrays (-1 = no column/row) of the core blocks, and the arrays the security blocks reuse."""

    pools: Pools
    n: np.ndarray               # [O, K, T] unit columns
    H: np.ndarray               # [O, T] units held
    F: np.ndarray               # [O, T] firm chips
    x: np.ndarray               # [W, P, T] allocation
    rD: np.ndarray              # [W, T] demand rows
    chips: np.ndarray           # [O] chips per unit
    avail: np.ndarray           # [O, K] firm share of a unit by term (spot: its availability)
    rate_s: np.ndarray          # [W, P] rate / the workload's best rate
    need: np.ndarray            # [W, T] demand in chips at the best rate (0 for windowed runs)
    x_hi: np.ndarray            # [W, P, T] upper bound of each allocation column
    member: np.ndarray          # [P, O] 0/1 pool membership
    b: np.ndarray | None = None  # [W, families] porting binaries, None when nothing has a porting cost
    rC: np.ndarray | None = None  # [P, T] pool capacity rows
    clusters: Any = None         # plan.clusters.ClusterBlocks: windowed runs on one cluster each (None: no run)
    rH: np.ndarray | None = None  # [O, T] rows defining units held (contracts add their chips there)


@dataclass
class PlanMilp(Milp):
    """The planning MILP with the handles of its core blocks (for reading a solution back)."""

    blocks: CoreBlocks | None = None

    @classmethod
    def of(cls, milp: Milp, blocks: CoreBlocks) -> PlanMilp:
        return cls(**{f.name: getattr(milp, f.name) for f in fields(Milp)}, blocks=blocks)


__all__ = ["BUDGET_SCALE", "CoreBlocks", "PlanMilp", "Pools", "initial_firm_chips", "make_pools", "months_paid"]
