"""Invariants every inference placement must satisfy, as functions: tests, benchmarks and a
live control plane call them alike (a plan that breaks one is a bug, never a policy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .inference import Placement
from .inference_tiers import violations


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


def tier_violations(placement: Placement) -> list[TierViolation]:
    """Places where a higher tier goes short while capacity that could serve it sits elsewhere.

    For tier k of service A short by at least one replica's capacity on a usable pool p, the
    chips p could give A are its idle chips plus, for every service B, the chips of B's
    replicas on p that B does not need for its tiers <= k (B's capacity beyond its served
    tiers <= k, in whole replicas of p). If that reaches one replica of A, it is a violation.
    """
    inst = placement.instance
    return [TierViolation(inst.services[s], inst.tiers[k], inst.pools[p],
                          float(placement.unserved_tokens_per_s[s, k]), free, int(inst.chips[s, p]))
            for s, k, p, free in violations(inst, np.asarray(placement.replicas))]
