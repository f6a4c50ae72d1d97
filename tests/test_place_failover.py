"""Failover: lose or shrink pools, re-place with the fewest moves, report them.

Every replica here takes 1 chip and serves 100 tokens/s (rate 360,000 tokens per chip-hour),
so a service needing 200 tokens/s needs exactly 2 replicas wherever it runs.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_place_inference import instances

from polyfleet.errors import UnknownNameError
from polyfleet.place.failover import evictions, failover, failover_from, replace, replicas_lost
from polyfleet.place.inference import place
from polyfleet.place.inference_checks import check_capacity, tier_violations
from polyfleet.place.inference_milp import tier_weights
from polyfleet.place.inference_model import Demand, Fleet, PlaceOptions, Pool
from polyfleet.place.inference_synthetic import random_instance, table_from_arrays
from polyfleet.place.inference_tiers import tier_fill
from polyfleet.place.routing import Move

R = 360_000.0
START = 600 / 3600  # a start costs 600 s of its chips' price


def opts(method: str = "milp") -> PlaceOptions:
    return PlaceOptions(method=method, mip_rel_gap=0.0)


def two_services(p3_chips: int = 8):
    """A runs on p1 or p3, B on p2 or p3; p1 and p2 hold 2 chips at $1, p3 holds p3_chips at $3.
    Fresh optimum: A x2 on p1, B x2 on p2, $4/h."""
    rates = table_from_arrays(["A", "B"], ["a/1", "a/2", "a/3"], [[R, 0, R], [0, R, R]], 1, [1.0, 1.0, 3.0])
    f = Fleet((Pool("p1", "a/1", 2), Pool("p2", "a/2", 2), Pool("p3", "a/3", p3_chips)))
    return rates, f


@pytest.mark.parametrize("method", ["milp", "lp", "greedy"])
def test_lose_a_pool_moves_only_what_was_on_it(method):
    """Lose p1: A's 2 replicas must go to p3 (its only other pool): 2 starts at $3 x 600/3600
    = $0.50 each, $1 in all; B stays on p2 untouched. Cost rises from $4 to 2 + 6 = $8/h."""
    rates, f = two_services()
    before = place(rates, f, Demand(("A", "B"), ("t",), [[200.0], [200.0]]), options=opts(method))
    assert before.replicas.tolist() == [[2, 0, 0], [0, 2, 0]]
    assert replicas_lost(before, ["p1"]) == {("A", "p1"): 2}
    after = failover(before, ["p1"], options=opts(method))
    assert after.replicas.tolist() == [[0, 0, 2], [0, 2, 0]]
    assert after.moves == (Move("A", "p1", "p3", 2, pytest.approx(2 * 3 * START), 2, 2, 2),)
    assert after.start_usd == pytest.approx(1.0)
    assert after.usd_per_hour == pytest.approx(8.0) and after.shortfalls() == []
    assert after.routing.tolist() == [[0, 0, 1], [0, 1, 0]]
    assert after.fleet.pools[0].chips == 0 and before.fleet.pools[0].chips == 2  # inputs untouched


def test_a_higher_tier_displaces_a_lower_one_and_the_chain_is_reported():
    """A (premium) runs on p1 or p2; B (batch) on p2 or p3. Fresh: A on p1, B on p2 (both $1).
    Lose p1: A's only place is p2, so B must leave p2 for p3 ($3): moves A p1->p2 x2 and
    B p2->p3 x2; 4 starts, the fewest that keep everything served."""
    rates = table_from_arrays(["A", "B"], ["a/1", "a/2", "a/3"], [[R, R, 0], [0, R, R]], 1, [1.0, 1.0, 3.0])
    f = Fleet((Pool("p1", "a/1", 2), Pool("p2", "a/2", 2), Pool("p3", "a/3", 2)))
    d = Demand(("A", "B"), ("premium", "batch"), [[200.0, 0.0], [0.0, 200.0]])
    before = place(rates, f, d, options=opts())
    assert before.replicas.tolist() == [[2, 0, 0], [0, 2, 0]]
    after = failover(before, ["p1"])
    assert after.replicas.tolist() == [[0, 2, 0], [0, 0, 2]]
    assert sorted(after.moves, key=lambda m: m.service) == [
        Move("A", "p1", "p2", 2, pytest.approx(2 * 1 * START), 2, 2, 2),
        Move("B", "p2", "p3", 2, pytest.approx(2 * 3 * START), 2, 2, 2)]
    # B sat on a healthy pool: it moved only to make room for a higher tier, and that is named
    assert [(m.service, m.from_pool) for m in evictions(before, after, ["p1"])] == [("B", "p2")]
    # without p3 B has nowhere to go: it is stopped, and the shortfall says so
    gone = failover(before, ["p1", "p3"], options=opts())
    assert gone.replicas.tolist() == [[0, 2, 0], [0, 0, 0]]
    assert Move("B", "p2", None, 2, 0.0, 2, 2, 0) in gone.moves
    assert [(s.service, s.tier, s.tokens_per_s) for s in gone.shortfalls()] == [("B", "batch", 200.0)]


def test_shrunk_pool_keeps_what_fits():
    """A needs 400 tokens/s: 4 replicas on p1 (4 chips, $1). p1 shrinks to 2 chips: 2 stay,
    2 start on p3 ($3): one move p1 -> p3 of 2 replicas; B (nothing) is untouched."""
    rates, f = two_services()
    f = f.with_chips({"p1": 4})
    before = place(rates, f, Demand(("A", "B"), ("t",), [[400.0], [0.0]]), options=opts())
    assert before.replicas[0].tolist() == [4, 0, 0]
    assert replicas_lost(before, chips={"p1": 2}) == {("A", "p1"): 2}
    after = replace(before, chips={"p1": 2})
    assert after.replicas[0].tolist() == [2, 0, 2]
    assert after.moves == (Move("A", "p1", "p3", 2, pytest.approx(2 * 3 * START), 2, 2, 2),)


def test_unknown_pool_is_a_user_error():
    rates, f = two_services()
    before = place(rates, f, Demand(("A", "B"), ("t",), [[100.0], [100.0]]))
    with pytest.raises(UnknownNameError, match="did you mean p1"):
        failover(before, ["p11"])


def test_previous_on_pools_or_services_no_longer_present_are_reported_as_stops():
    rates, f = two_services()
    d = Demand(("A",), ("t",), [[100.0]])
    p = place(rates, f, d, previous={("A", "p1"): 1, ("A", "gone"): 3, ("Z", "p2"): 1})
    assert p.replicas.tolist() == [[1, 0, 0]]
    assert set(p.moves) == {Move("A", "gone", None, 3, 0.0, 3, 3, 0), Move("Z", "p2", None, 1, 0.0, 1, 0, 0)}


def net_moves(moves, services, pools, shape) -> np.ndarray:
    """Replica changes the moves describe: stopped replicas off their source, started ones onto their target."""
    net = np.zeros(shape, dtype=np.int64)
    for m in moves:
        if m.from_pool is not None:
            net[services.index(m.service), pools.index(m.from_pool)] -= m.from_replicas
        if m.to_pool is not None:
            net[services.index(m.service), pools.index(m.to_pool)] += m.replicas
    return net


def tier_values(placement) -> list[float]:
    _, v = tier_weights(placement.instance)
    return [float(v @ placement.served_tokens_per_s[:, k]) for k in range(len(placement.tiers))]


def lexi_at_least(a: list[float], b: list[float]) -> bool:
    for x, y in zip(a, b):
        if abs(x - y) > 1e-6 * max(1.0, abs(x), abs(y)):
            return x > y
    return True


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(), st.integers(0, 3))
def test_rebalance_replaces_everything_placeable_with_minimal_moves(inst, lose):
    """Lose one pool and re-place globally. The failover must (a) put nothing on the lost pool,
    (b) serve, tier by tier, exactly what a fresh placement on the reduced fleet serves (everything
    placeable is re-placed), (c) keep the invariants, (d) report moves that add up to the replica
    changes, and (e) when all demand is served, pay no more in cold starts than the fresh placement
    would (both optimal: fresh minimises cost, failover cost + start penalties)."""
    rates, f, d = inst
    lost = f.ids[lose % len(f.ids)]
    before = place(rates, f, d, options=opts())
    after = failover(before, [lost], options=opts(), rebalance=True)
    fresh = place(rates, f.with_chips({lost: 0}), d, options=opts())
    assert not after.replicas[:, f.index(lost)].any()
    assert check_capacity(after) == [] and tier_violations(after) == []
    assert tier_values(after) == pytest.approx(tier_values(fresh), rel=1e-6, abs=1e-6)
    assert np.array_equal(net_moves(after.moves, d.services, f.ids, before.replicas.shape),
                          after.replicas - before.replicas)
    if not fresh.shortfalls() and after.status == fresh.status == "optimal":
        started = np.maximum(fresh.replicas - before.replicas, 0)
        fresh_start_usd = float((started * after.instance.start_usd).sum())
        assert after.start_usd <= fresh_start_usd + 1e-6


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(), st.integers(0, 3))
def test_default_failover_moves_nothing_on_a_healthy_pool_but_for_a_higher_tier(inst, lose):
    """Lose one pool, default path. (a) nothing lands on the lost pool; (b) capacity and tier order
    hold; (c) the moves add up to the replica changes; (d) it serves, tier by tier, at least what the
    surviving replicas alone serve and at most what an optimal fresh placement serves; (e) a replica
    on a healthy pool leaves only as an eviction: its service then serves no tier above one that
    another service gained on that pool, and nothing is started for a service on a pool while its
    own replicas on healthy pools are stopped (no relocation); (f) when the survivors serve everything
    they did, the only moves are off the lost pool."""
    rates, f, d = inst
    lost = f.ids[lose % len(f.ids)]
    p = f.index(lost)
    before = place(rates, f, d, options=opts())
    after = failover(before, [lost], options=opts())
    fresh = place(rates, f.with_chips({lost: 0}), d, options=opts())
    kept = before.replicas.copy()
    kept[:, p] = 0
    assert not after.replicas[:, p].any()
    assert check_capacity(after) == [] and tier_violations(after) == []
    assert np.array_equal(net_moves(after.moves, d.services, f.ids, before.replicas.shape),
                          after.replicas - before.replicas)
    only_kept = tier_fill((kept * after.instance.cap).sum(axis=1), after.instance.demand)
    _, v = tier_weights(after.instance)
    assert lexi_at_least(tier_values(after), [float(v @ only_kept[:, k]) for k in range(len(d.tiers))])
    assert lexi_at_least(tier_values(fresh), tier_values(after))
    healthy = [q for q in range(len(f.ids)) if q != p]
    fell = after.replicas[:, healthy] < before.replicas[:, healthy]
    rose = after.replicas[:, healthy] > before.replicas[:, healthy]
    gain = after.served_tokens_per_s - only_kept              # against what the survivors alone serve
    tol = 1e-6 * max(1.0, float(d.tokens_per_s.max()))
    for s, q in zip(*np.nonzero(fell)):
        assert rose[:, q].any()                                       # someone else took the room
        gained = [k for k in range(len(d.tiers)) if (gain[rose[:, q], k] > tol).any()]
        lost_k = [k for k in range(len(d.tiers)) if gain[s, k] < -tol]
        assert gained and all(k > min(gained) for k in lost_k)       # ... for a higher tier
    if np.allclose(only_kept, before.served_tokens_per_s):
        assert all(m.from_pool == lost for m in after.moves)
        assert np.array_equal(after.replicas[:, healthy], before.replicas[:, healthy])


def test_failover_at_scale_keeps_untouched_services_in_place():
    """60 services x 40 pools, lose 4 pools, default path: nothing lands on a lost pool, nothing
    is unserved that a fresh placement on the smaller fleet serves, and services that lost no
    replica mostly stay: their starts are few next to those of the services that lost some."""
    rates, f, d = random_instance(60, 40, seed=2, load=0.5)
    before = place(rates, f, d)
    lost = [f.ids[i] for i in (3, 11, 19, 27)]
    hit = {s for s, _ in replicas_lost(before, lost)}
    after = failover(before, lost, options=PlaceOptions(horizon_hours=0.1))
    assert not after.replicas[:, [f.index(x) for x in lost]].any()
    assert after.shortfalls() == [] and check_capacity(after) == []
    starts_hit = sum(m.replicas for m in after.moves if m.to_pool and m.service in hit)
    starts_other = sum(m.replicas for m in after.moves if m.to_pool and m.service not in hit)
    assert starts_hit > 0 and starts_other <= 0.1 * starts_hit


def test_regression_highs_presolve_with_a_start_is_checked():
    """Found by the property above: with the greedy as MIP start, HiGHS 1.16's presolve reported
    'optimal' for a point whose objective was not c.x; the solver wrapper now checks c.x and the
    rows and re-solves without presolve. Hand check after losing p2 (all prices $1/chip-h):
    p3 (12 chips): s1 needs 3 one-chip replicas for 120 premium; s4 needs 4-chip replicas of 50.
    Premium value (v = cheapest $/h per token/s: s1 0.02, s4 0.08): s1 x3 + s4 x2 (11 chips)
    serves 2.4 + 8.0 = 10.4, s4 x3 (12 chips) only 9.6 -> s1 x3, s4 x2. p4 (1 chip): batch of
    s0 (40 tokens/s, v 0.02: 0.8) beats s3 (40, v 0.0125: 0.5) -> s0, although s3 ran there."""
    rate = np.zeros((5, 5))
    rate[0, [2, 4]] = 180_000.0
    rate[1, 3] = 180_000.0
    rate[3, 4] = 288_000.0
    rate[4, 3] = 45_000.0
    chips = np.ones((5, 5), dtype=int)
    chips[4, 3] = 4
    rates = table_from_arrays([f"s{i}" for i in range(5)], [f"a{j}/r" for j in range(5)], rate, chips, [1.0] * 5)
    f = Fleet(tuple(Pool(f"p{j}", f"a{j}/r", c) for j, c in enumerate([0, 0, 1, 12, 1])))
    d = Demand(tuple(f"s{i}" for i in range(5)), ("premium", "batch"),
               [[0, 40], [120, 0], [0, 0], [0, 40], [120, 40]])
    before = place(rates, f, d, options=opts())
    after = failover(before, ["p2"], rebalance=True)
    assert after.replicas[:, 3:].tolist() == [[0, 1], [3, 0], [0, 0], [0, 0], [2, 0]]
    # by default s3 keeps its healthy pool p4 (s0's batch cannot evict a batch of the same tier)
    kept = failover(before, ["p2"])
    assert kept.replicas[3, 4] == before.replicas[3, 4] == 1 and kept.replicas[0, 4] == 0


def test_many_tiers_fall_back_to_sequential_priority():
    """Six tiers and a 20x price-performance spread would need weights of (2 x 20 x 2)^5 > 1e8:
    the solver switches to one MILP per tier and tier order still holds. Pool x has 3 chips
    (100 tokens/s per replica), pool y 8 chips (5 tokens/s, same price); service s_k wants
    200 tokens/s in tier k. s0 takes 2 chips of x; s1 the last one and, still short, all of y."""
    tiers = tuple(f"t{k}" for k in range(6))
    rates = table_from_arrays([f"s{k}" for k in range(6)], ["x/r", "y/r"],
                              [[R, R / 20]] * 6, 1, [1.0, 1.0])
    f = Fleet((Pool("x", "x/r", 3), Pool("y", "y/r", 8)))
    d = Demand(tuple(f"s{k}" for k in range(6)), tiers, np.eye(6) * 200.0)
    p = place(rates, f, d, options=opts())
    assert p.priority == "sequential"
    assert p.replicas.T.tolist() == [[2, 1, 0, 0, 0, 0], [0, 8, 0, 0, 0, 0]]
    assert tier_violations(p) == []


def test_a_move_between_replica_sizes_says_both_sides():
    """s runs in 8-chip replicas of 100 tokens/s on a ($1/chip-h) or 4-chip replicas of 50 tokens/s on
    b ($1.2): 300 tokens/s is 3 replicas (24 chips) on a. Losing a starts 6 replicas (24 chips) on b:
    one move, 3 replicas and 24 chips off a, 6 replicas and 24 chips onto b, 6 x 4 x $1.2 x 600/3600
    = $4.80 of cold starts."""
    rate = np.array([[100 * 3600 / 8, 50 * 3600 / 4]])
    rates = table_from_arrays(["s"], ["a/r", "b/r"], rate, np.array([[8, 4]]), [1.0, 1.2])
    f = Fleet((Pool("a", "a/r", 24), Pool("b", "b/r", 40)))
    before = place(rates, f, Demand(("s",), ("t",), [[300.0]]), options=opts())
    assert before.replicas.tolist() == [[3, 0]]
    after = failover(before, ["a"], options=opts())
    assert after.replicas.tolist() == [[0, 6]]
    assert after.moves == (Move("s", "a", "b", 6, pytest.approx(4.8), 3, 24, 24),)


def test_surplus_slivers_below_the_routing_threshold_are_not_placed():
    """s needs 1,000.5 tokens/s: ten 100-token/s replicas on a (its 10 chips) and the last 0.5 on b: a
    replica on b carries 100 / 1,100 = 9% of the traffic and is needed, so it stays even at a 10%
    threshold. Handed a placement with a surplus replica on b (demand 1,000: a holds it all), the
    same threshold drops it; the default 0.1% keeps it (9% is no sliver)."""
    from polyfleet.place.inference import assemble
    from polyfleet.place.inference_model import build_instance
    rates = table_from_arrays(["s"], ["a/r", "b/r"], [[R, R]], 1, [1.0, 2.0])
    f = Fleet((Pool("a", "a/r", 10), Pool("b", "b/r", 4)))
    tight = PlaceOptions(method="milp", mip_rel_gap=0.0, min_routing_share=0.1)
    needed = place(rates, f, Demand(("s",), ("t",), [[1000.5]]), options=tight)
    assert needed.replicas.tolist() == [[10, 1]] and needed.shortfalls() == []
    d = Demand(("s",), ("t",), [[1000.0]])
    for opt, kept in ((tight, [[10, 0]]), (opts(), [[10, 1]])):
        inst = build_instance(rates, f, d, opt)
        p = assemble(rates, f, d, opt, inst, np.array([[10, 1]]), status="given", gap=np.nan, method="milp",
                     priority="-", solve_s=0.0)
        assert p.replicas.tolist() == kept and p.shortfalls() == []


def test_a_whole_tier_short_of_less_than_one_replica_still_displaces_a_lower_one():
    """A (premium) needs 50 tokens/s, half of one replica, on p1 or p2; B (batch) 200 on p2 only.
    Fresh: A x1 on p1, B x2 on p2 (2 chips, all of it). Lose p1: premium would be 100% short for
    want of one replica, which tier repair alone calls a sliver; the failover stops one B replica
    on p2 and starts A there: premium served whole, batch 100 of 200 tokens/s."""
    rates = table_from_arrays(["A", "B"], ["a/1", "a/2"], [[R, R], [0, R]], 1, [1.0, 1.0])
    f = Fleet((Pool("p1", "a/1", 1), Pool("p2", "a/2", 2)))
    d = Demand(("A", "B"), ("premium", "batch"), [[50.0, 0.0], [0.0, 200.0]])
    before = place(rates, f, d, options=opts())
    assert before.replicas.tolist() == [[1, 0], [0, 2]]
    after = failover(before, ["p1"], options=opts())
    assert after.replicas.tolist() == [[0, 1], [0, 1]]
    assert [(s.service, s.tier, s.tokens_per_s) for s in after.shortfalls()] == [("B", "batch", 100.0)]
    assert [(m.service, m.from_pool, m.to_pool) for m in evictions(before, after, ["p1"])] == [("B", "p2", None)]


@pytest.mark.parametrize("rebalance", [False, True])
def test_failover_from_a_replica_map_is_the_failover_of_the_placement(rebalance):
    """The service keeps replicas as records: starting from {(service, pool): replicas} and the fleet
    as it is after the loss gives the very replicas and moves `failover` gives from the Placement."""
    rates = table_from_arrays(["A", "B"], ["a/1", "a/2", "a/3"], [[R, R, 0], [0, R, R]], 1, [1.0, 1.0, 3.0])
    f = Fleet((Pool("p1", "a/1", 2), Pool("p2", "a/2", 2), Pool("p3", "a/3", 2)))
    d = Demand(("A", "B"), ("premium", "batch"), [[200.0, 0.0], [0.0, 200.0]])
    before = place(rates, f, d, options=opts())
    want = failover(before, ["p1"], options=opts(), rebalance=rebalance)
    got = failover_from(rates, f.with_chips({"p1": 0}), d, before.replica_map(), options=opts(), rebalance=rebalance)
    assert got.replicas.tolist() == want.replicas.tolist() and got.moves == want.moves
    assert got.replicas.tolist() == [[0, 2, 0], [0, 0, 2]]                 # B made room for A (see above)
