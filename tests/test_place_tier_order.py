"""A fresh placement must serve a higher tier before a lower one when chips allow only one of them.

Found by hypothesis in test_place_failover (replayed during the mutation runs): on this instance the
weighted MILP serves the lower tier. The weights M[k] = (2 rho (1 + gamma))^(K-1-k) cover the spread of
prices within a service and of replica sizes on a pool, but not the spread of value per token v[s]
between services: here v(s0) / v(s2) = 6 = M[0] / M[1], so serving either service weighs the same and
the MILP could pick the lower tier. The weights now also cover a tier whose whole demand is under one
replica (phi in place/inference_milp.py)."""

from __future__ import annotations

import numpy as np
import pytest

from polyfleet.place.inference import place
from polyfleet.place.inference_model import Demand, Fleet, PlaceOptions, Pool
from polyfleet.place.inference_synthetic import table_from_arrays


def test_the_higher_tier_wins_the_last_chips():
    """Pool p1 holds 2 chips. s2 (tier t0, 40 tokens/s) needs one 1-chip replica (150 tokens/s);
    s0 (tier t1, 40 tokens/s) needs one 2-chip replica (2 x 25 tokens/s). Only one fits: s2's, since its
    tier is higher, although s0's replica is dearer per token and so weighs more within its tier."""
    rates = table_from_arrays(["s0", "s2"], ["acc1/r1"], [[25 * 3600.0], [150 * 3600.0]],
                              np.array([[2], [1]]), [1.0])
    fleet = Fleet((Pool("p1", "acc1/r1", 2),))
    demand = Demand(("s0", "s2"), ("t0", "t1"), [[0.0, 40.0], [40.0, 0.0]])
    p = place(rates, fleet, demand, options=PlaceOptions(method="milp"))
    assert p.replicas.tolist() == [[0], [1]]
    assert p.served_tokens_per_s[1, 0] == pytest.approx(40.0)
