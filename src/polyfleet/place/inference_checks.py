"""Invariants every inference placement must satisfy, as functions: tests, benchmarks and a
live control plane call them alike (a plan that breaks one is a bug, never a policy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .inference import Placement


@dataclass(frozen=True)
class TierViolation:
    """Tier `tier` of `service` lacks at least one replica's capacity on `pool`, yet `pool`
    holds `freeable_chips` (idle, or in replicas serving only lower tiers) >= `chips_needed`."""

    service: str
    tier: str
    pool: str
    unserved_tokens_per_s: float
    freeable_chips: int
    chips_needed: int


def check_capacity(placement: Placement) -> list[str]:
    """Pools over capacity, replicas on infeasible cells, negative replicas: as messages."""
    inst = placement.instance
    out = []
    over = np.flatnonzero(placement.chips_used > inst.pool_chips)
    out += [f"pool {inst.pools[p]} uses {placement.chips_used[p]} of {inst.pool_chips[p]} chips" for p in over]
    bad = np.argwhere((placement.replicas > 0) & ~inst.ok)
    out += [f"{inst.services[s]} runs on {inst.pools[p]}, which is infeasible for it" for s, p in bad]
    if np.any(placement.replicas < 0):
        out.append("negative replicas")
    return out


def tier_violations(placement: Placement, rel_tol: float = 1e-7) -> list[TierViolation]:
    """Places where a higher tier goes short while capacity that could serve it sits elsewhere.

    For tier k of service A short by at least one replica's capacity on a usable pool p, the
    chips p could give A are its idle chips plus, for every service B, the chips of B's
    replicas on p that B does not need for its tiers <= k (B's capacity beyond its served
    tiers <= k, in whole replicas of p). If that reaches one replica of A, it is a violation.
    """
    inst = placement.instance
    r = placement.replicas
    served = placement.served_tokens_per_s
    capacity = placement.capacity_tokens_per_s.sum(axis=1)
    usable = inst.ok & (inst.fits() >= 1)
    idle = inst.pool_chips - placement.chips_used
    out = []
    for k, tier in enumerate(inst.tiers):
        short = placement.unserved_tokens_per_s[:, k]
        if not np.any(short > 0):
            continue
        slack = capacity - served[:, : k + 1].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            removable = np.where(r > 0, np.minimum(r, np.floor(slack[:, None] / inst.cap * (1 + rel_tol))), 0)
        freeable = idle + (removable * inst.chips).sum(axis=0)
        for s in np.flatnonzero(short > 0):
            hit = usable[s] & (short[s] >= inst.cap[s] * (1 + rel_tol)) & (freeable >= inst.chips[s])
            out += [TierViolation(inst.services[s], tier, inst.pools[p], float(short[s]), int(freeable[p]),
                                  int(inst.chips[s, p])) for p in np.flatnonzero(hit)]
    return out
