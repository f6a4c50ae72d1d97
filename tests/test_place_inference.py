"""Inference replica placement: hand-checked optima, invariants as properties, heuristic gaps.

Rates below are chosen so that one replica's capacity is a round number:
360,000 tokens per chip-hour x 1 chip / 3600 s = 100 tokens/s per replica.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polyfleet.errors import UnknownNameError, UserError
from polyfleet.place.inference import place
from polyfleet.place.inference_checks import check_capacity, tier_violations
from polyfleet.place.inference_milp import tier_weights
from polyfleet.place.inference_model import Demand, Fleet, PlaceOptions, Pool
from polyfleet.place.inference_synthetic import random_instance, table_from_arrays
from polyfleet.place.routing import Move, routing_table

R100 = 360_000.0  # tokens per chip-hour that make a 1-chip replica serve 100 tokens/s
METHODS = ("milp", "lp", "greedy")


def opts(method: str = "milp", **kw) -> PlaceOptions:
    return PlaceOptions(method=method, mip_rel_gap=kw.pop("mip_rel_gap", 0.0), **kw)


def fleet(*pools: tuple[str, str, int]) -> Fleet:
    return Fleet(tuple(Pool(pid, off, chips) for pid, off, chips in pools))


# ---------------------------------------------------------------- hand-checked optima

@pytest.mark.parametrize("method", METHODS)
def test_mix_of_types_beats_any_single_type(method):
    """Mélange's point on two types. 'chat' needs 150 tokens/s.
    big: 100 tokens/s per replica at $10/h; small: 50 tokens/s at $6/h (1 chip each, room for 8).
    Covers: 2 big = $20, 3 small = $18, 1 big + 1 small = $16  ->  optimum 1 + 1, $16/h.
    Routing follows capacity: big 100/150 = 2/3, small 1/3."""
    rates = table_from_arrays(["chat"], ["big/r1", "small/r1"], [[R100, R100 / 2]], 1, [10.0, 6.0])
    p = place(rates, fleet(("b", "big/r1", 8), ("s", "small/r1", 8)),
              Demand(("chat",), ("premium",), [[150.0]]), options=opts(method))
    assert p.replicas.tolist() == [[1, 1]]
    assert p.usd_per_hour == pytest.approx(16.0)
    assert p.served_tokens_per_s.tolist() == [[150.0]] and p.shortfalls() == []
    assert p.routing[0] == pytest.approx([2 / 3, 1 / 3])
    assert routing_table(p.services, p.pools, p.routing) == {"chat": pytest.approx({"b": 2 / 3, "s": 1 / 3})}
    assert p.chips_used.tolist() == [1, 1]


def test_pool_capacity_and_replica_size():
    """'llm' needs 1400 tokens/s. Pool a: 12 chips, replicas of 8 chips serving 800 tokens/s at
    $2/chip-h ($16/h). Pool b: 64 chips, replicas of 4 chips serving 300 tokens/s at $5/chip-h
    ($20/h). Only one replica fits on a (16 > 12 chips). Covers: 1a + 2b = 16 + 40 = $56;
    0a + 5b = $100  ->  1a + 2b, $56/h, using 8 chips on a and 8 on b."""
    rates = table_from_arrays(["llm"], ["a/r", "b/r"], [[800 * 3600 / 8, 300 * 3600 / 4]], [[8, 4]], [2.0, 5.0])
    p = place(rates, fleet(("a", "a/r", 12), ("b", "b/r", 64)), Demand(("llm",), ("t",), [[1400.0]]),
              options=opts())
    assert p.replicas.tolist() == [[1, 2]]
    assert p.usd_per_hour == pytest.approx(56.0)
    assert p.chips_used.tolist() == [8, 8]


@pytest.mark.parametrize("method", METHODS)
def test_infeasible_types_are_never_assigned(method):
    """'jax' runs only on the TPU pool (rate 0 on the GPU: no runtime), so it pays $3/h per
    replica there although the GPU costs $1: 2 TPU replicas for 200 tokens/s, $6/h.
    'orphan' runs nowhere: nothing placed, its whole demand reported unserved (share 1)."""
    rates = table_from_arrays(["jax", "orphan"], ["gpu/r", "tpu/r"], [[0.0, R100], [0.0, 0.0]], 1, [1.0, 3.0])
    p = place(rates, fleet(("g", "gpu/r", 16), ("t", "tpu/r", 16)),
              Demand(("jax", "orphan"), ("t",), [[200.0], [50.0]]), options=opts(method))
    assert p.replicas.tolist() == [[0, 2], [0, 0]]
    assert p.usd_per_hour == pytest.approx(6.0)
    (short,) = p.shortfalls()
    assert (short.service, short.tier, short.tokens_per_s, short.share) == ("orphan", "t", 50.0, 1.0)
    assert p.routing[1].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("method", METHODS)
def test_higher_tier_of_another_service_is_served_first(method):
    """One pool of 3 chips, 100 tokens/s per 1-chip replica for both services.
    P has 250 premium tokens/s, Q 200 batch. Premium first: P takes all 3 chips (serving 250,
    its spare 50 cannot serve Q), Q gets nothing: unserved Q/batch = 200 (share 1)."""
    rates = table_from_arrays(["P", "Q"], ["x/r"], [[R100], [R100]], 1, [1.0])
    p = place(rates, fleet(("x", "x/r", 3)), Demand(("P", "Q"), ("premium", "batch"), [[250, 0], [0, 200]]),
              options=opts(method))
    assert p.replicas.tolist() == [[3], [0]]
    assert [(s.service, s.tier, s.tokens_per_s) for s in p.shortfalls()] == [("Q", "batch", 200.0)]


@pytest.mark.parametrize("method", METHODS)
def test_tiers_of_one_service_share_its_replicas_in_order(method):
    """S has premium 150 and batch 100 tokens/s; the pool fits 2 replicas of 100 tokens/s.
    200 tokens/s go to premium first: premium 150 served, batch 50 of 100 (shortfall 50, 0.5)."""
    rates = table_from_arrays(["S"], ["x/r"], [[R100]], 1, [1.0])
    p = place(rates, fleet(("x", "x/r", 2)), Demand(("S",), ("premium", "batch"), [[150, 100]]),
              options=opts(method))
    assert p.served_tokens_per_s.tolist() == [[150.0, 50.0]]
    (short,) = p.shortfalls()
    assert (short.tier, short.tokens_per_s, short.share) == ("batch", 50.0, 0.5)


@pytest.mark.parametrize("priority", ["weighted", "sequential"])
def test_tier_beats_tokens_per_chip(priority):
    """Tier order holds even when the lower tier makes 10x more tokens per chip.
    Pool of 2 chips at $1. P (premium, 20 tokens/s) gets 10 tokens/s per replica; Q (batch,
    200 tokens/s) 100. Weights: v_P = 1/10, v_Q = 1/100; rho = 1, gamma = 1, so M = (4, 1):
    P's premium is worth 4 x 0.1 x 10 = 4 per chip against Q's 1 x 0.01 x 100 = 1.
    Optimum: 2 replicas of P, none of Q."""
    rates = table_from_arrays(["P", "Q"], ["x/r"], [[10 * 3600.0], [R100]], 1, [1.0])
    p = place(rates, fleet(("x", "x/r", 2)), Demand(("P", "Q"), ("premium", "batch"), [[20, 0], [0, 200]]),
              options=opts(priority=priority))
    assert p.replicas.tolist() == [[2], [0]]
    m, v = tier_weights(p.instance)
    assert m.tolist() == [4.0, 1.0] and v == pytest.approx([0.1, 0.01])


def test_a_move_is_made_only_when_it_pays_back_its_cold_start():
    """'s' needs 100 tokens/s (one replica) and runs on 'old' at $12/h; 'new' offers $10/h.
    A start costs 600 s of its chips: $10 x 600/3600 = $1.67, spread over horizon_hours.
    horizon 1 h: new = 10 + 1.67 = 11.67 < 12 kept -> move old -> new, start_usd 1.67.
    horizon 0.1 h: new = 10 + 16.7 > 12 -> stay, no moves."""
    rates = table_from_arrays(["s"], ["old/r", "new/r"], [[R100, R100]], 1, [12.0, 10.0])
    f = fleet(("old", "old/r", 4), ("new", "new/r", 4))
    d = Demand(("s",), ("t",), [[100.0]])
    for method in METHODS:
        moved = place(rates, f, d, previous={("s", "old"): 1}, options=opts(method, horizon_hours=1.0))
        assert moved.replicas.tolist() == [[0, 1]]
        assert moved.moves == (Move("s", "old", "new", 1, pytest.approx(10 * 600 / 3600), 1, 1, 1),)
        assert moved.start_usd == pytest.approx(10 / 6)
        stay = place(rates, f, d, previous={("s", "old"): 1}, options=opts(method, horizon_hours=0.1))
        assert stay.replicas.tolist() == [[1, 0]] and stay.moves == () and stay.start_usd == 0.0


def test_fresh_placement_reports_no_moves_and_is_deterministic():
    rates, f, d = random_instance(12, 9, seed=3)
    for method in ("lp", "greedy"):
        a = place(rates, f, d, options=PlaceOptions(method=method))
        b = place(rates, f, d, options=PlaceOptions(method=method))
        assert np.array_equal(a.replicas, b.replicas) and a.moves == () and a.start_usd == 0.0


# ---------------------------------------------------------------- invariants as properties

@st.composite
def instances(draw, max_services: int = 4, max_pools: int = 4):
    S = draw(st.integers(1, max_services))
    P = draw(st.integers(1, max_pools))
    K = draw(st.integers(1, 3))
    cap = draw(st.lists(st.sampled_from([0, 0, 50, 80, 100, 150, 300]), min_size=S * P, max_size=S * P))
    chips = draw(st.lists(st.sampled_from([1, 2, 4]), min_size=S * P, max_size=S * P))
    price = draw(st.lists(st.sampled_from([1.0, 2.0, 3.5, 6.0]), min_size=P, max_size=P))
    pool_chips = draw(st.lists(st.integers(0, 12), min_size=P, max_size=P))
    demand = draw(st.lists(st.sampled_from([0.0, 40.0, 120.0, 250.0, 600.0]), min_size=S * K, max_size=S * K))
    chips_a = np.array(chips).reshape(S, P)
    rate = np.array(cap, dtype=float).reshape(S, P) * 3600.0 / chips_a
    offs = [f"acc{j}/r{j}" for j in range(P)]
    svcs = [f"s{i}" for i in range(S)]
    rates = table_from_arrays(svcs, offs, rate, chips_a, price)
    f = Fleet(tuple(Pool(f"p{j}", offs[j], pool_chips[j]) for j in range(P)))
    return rates, f, Demand(tuple(svcs), tuple(f"t{k}" for k in range(K)), np.array(demand).reshape(S, K))


FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def oracle(rates, f, d, replicas):
    """What a replica matrix serves, recomputed here from the rate table alone: each replica's
    tokens/s is rate x chips / 3600 where the table calls the cell feasible; each service's
    capacity fills its tiers highest first; routing is each pool's share of that capacity."""
    S, P = replicas.shape
    wi = [rates.w(x) for x in d.services]
    oi = [rates.o(pool.offering) for pool in f.pools]
    per_replica = np.zeros((S, P))
    chips = np.zeros((S, P))
    for s in range(S):
        for j in range(P):
            chips[s, j] = rates.chips_per_unit[wi[s], oi[j]]
            if rates.feasible[wi[s], oi[j]]:
                per_replica[s, j] = rates.rate[wi[s], oi[j]] * chips[s, j] / 3600.0
    capacity = replicas * per_replica
    served = np.zeros_like(d.tokens_per_s)
    for s in range(S):
        left = capacity[s].sum()
        for k in range(len(d.tiers)):
            served[s, k] = min(d.tokens_per_s[s, k], left)
            left -= served[s, k]
    total = capacity.sum(axis=1, keepdims=True)
    routing = np.divide(capacity, total, out=np.zeros_like(capacity), where=total > 0)
    return served, (replicas * chips).sum(axis=0), routing


@FAST
@given(instances(), st.sampled_from(METHODS))
def test_invariants(inst, method):
    """Against the oracle above: served and unserved per tier, chips used within each pool, routing
    shares; no replica on an infeasible cell; and no higher tier short while capacity that could
    serve it holds a lower tier."""
    rates, f, d = inst
    p = place(rates, f, d, options=opts(method))
    served, chips_used, routing = oracle(rates, f, d, p.replicas)
    assert np.allclose(p.served_tokens_per_s, served, rtol=1e-9, atol=1e-9)
    assert np.allclose(p.unserved_tokens_per_s, d.tokens_per_s - served, rtol=1e-9, atol=1e-9)
    assert np.array_equal(p.chips_used, chips_used)
    assert np.all(chips_used <= np.array([pool.chips for pool in f.pools]))
    assert np.allclose(p.routing, routing)
    assert np.all(p.replicas[~p.instance.ok] == 0) and check_capacity(p) == []
    assert tier_violations(p) == []


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from([30, 50, 100, 170]), min_size=1, max_size=3),
       st.lists(st.sampled_from([1.0, 2.5, 4.0]), min_size=3, max_size=3),
       st.lists(st.integers(0, 5), min_size=3, max_size=3),
       st.sampled_from([0.0, 60.0, 140.0, 333.0, 800.0]))
def test_milp_matches_brute_force_for_one_service(caps, prices, pool_chips, need):
    """One service, up to 3 pools of 1-chip replicas: enumerate every replica vector; the best
    serves the most (up to the demand), then costs the least. The MILP must match it."""
    P = len(caps)
    rates = table_from_arrays(["s"], [f"a{j}/r" for j in range(P)], [[c * 3600.0 for c in caps]], 1, prices[:P])
    f = Fleet(tuple(Pool(f"p{j}", f"a{j}/r", pool_chips[j]) for j in range(P)))
    p = place(rates, f, Demand(("s",), ("t",), [[need]]), options=opts())
    best = min(itertools.product(*(range(n + 1) for n in pool_chips[:P])),
               key=lambda r: (-min(need, float(np.dot(r, caps))), float(np.dot(r, prices[:P]))))
    assert p.served_tokens_per_s[0, 0] == pytest.approx(min(need, float(np.dot(best, caps))))
    assert p.usd_per_hour == pytest.approx(float(np.dot(best, prices[:P])))


@FAST
@given(instances(max_services=3, max_pools=3))
def test_sequential_priority_is_lexicographically_never_behind_weighted(inst):
    """Sequential solves tier by tier exactly, so its value-weighted service per tier is
    lexicographically >= the weighted single stage's; both keep tier order (no violations)."""
    rates, f, d = inst
    w = place(rates, f, d, options=opts(priority="weighted"))
    s = place(rates, f, d, options=opts(priority="sequential"))
    _, v = tier_weights(w.instance)
    for k in range(len(d.tiers)):
        ws, ss = float(v @ w.served_tokens_per_s[:, k]), float(v @ s.served_tokens_per_s[:, k])
        tol = 1e-6 * max(float(v @ d.tokens_per_s[:, k]), 1.0)
        assert ss >= ws - tol
        if ss > ws + tol:
            break  # sequential is ahead on this tier: lower tiers no longer compare
    assert tier_violations(w) == [] and tier_violations(s) == []


@FAST
@given(instances(max_services=4, max_pools=4))
def test_weighted_milp_alone_keeps_tier_order(inst):
    """The weights argument, checked without the repair pass: an optimum of the weighted MILP
    has no tier violation by itself (see inference_milp's docstring for the proof)."""
    from polyfleet.place.inference_milp import solve_milp
    from polyfleet.place.inference_model import build_instance
    from polyfleet.place.inference_tiers import violations

    rates, f, d = inst
    o = opts(priority="weighted")
    problem = build_instance(rates, f, d, o)
    res = solve_milp(problem, o)
    assert res.status == "optimal"
    assert violations(problem, res.replicas) == []


# ---------------------------------------------------------------- heuristics against the MILP

def test_heuristic_gaps_against_milp_on_small_instances():
    """Seeded 8 x 6 instances where the fleet serves everything. The LP-rounding path stays
    within 5% of the MILP optimum and its reported gap (from the LP bound) is never smaller
    than the true gap; the greedy alone stays within 12%. (benchmarks/placement_inference.py
    prints the same figures at larger sizes.)"""
    lp_gaps, greedy_gaps = [], []
    for seed in range(6):
        rates, f, d = random_instance(8, 6, seed=seed, load=0.5)
        exact = place(rates, f, d, options=PlaceOptions(method="milp", mip_rel_gap=0.0, time_limit_s=30))
        if exact.shortfalls() or exact.status != "optimal":
            continue
        lp = place(rates, f, d, options=PlaceOptions(method="lp"))
        gr = place(rates, f, d, options=PlaceOptions(method="greedy"))
        assert lp.shortfalls() == [] and gr.shortfalls() == []
        true_gap = (lp.usd_per_hour - exact.usd_per_hour) / lp.usd_per_hour
        assert lp.gap >= true_gap - 1e-9
        lp_gaps.append(true_gap)
        greedy_gaps.append((gr.usd_per_hour - exact.usd_per_hour) / gr.usd_per_hour)
        assert exact.usd_per_hour <= min(lp.usd_per_hour, gr.usd_per_hour) + 1e-6
    assert len(lp_gaps) >= 4
    assert max(lp_gaps) <= 0.05 and max(greedy_gaps) <= 0.12


def test_synthetic_scale_instance_is_placed_cleanly():
    """60 services x 40 pools under shortage (load 2): invariants hold for the default path."""
    rates, f, d = random_instance(60, 40, seed=5, load=2.0)
    p = place(rates, f, d)
    assert check_capacity(p) == [] and tier_violations(p) == []
    assert p.status == "rounded" and p.method == "lp"
    served, chips_used, _ = oracle(rates, f, d, p.replicas)
    summary = p.summary()
    assert summary["chips"] == int(chips_used.sum())
    for k, tier in enumerate(d.tiers):
        assert summary["served_share_by_tier"][tier] == pytest.approx(served[:, k].sum() / d.tokens_per_s[:, k].sum())
    assert min(summary["served_share_by_tier"].values()) < 1.0            # load 2: something is short


# ---------------------------------------------------------------- inputs

def test_demand_from_rows_and_validation():
    d = Demand.from_rows([("a", "gold", 5.0), ("b", "bronze", 2.0), ("a", "gold", 1.0)], tiers=("gold", "bronze"))
    assert d.services == ("a", "b") and d.tokens_per_s.tolist() == [[6.0, 0.0], [0.0, 2.0]]
    with pytest.raises(UnknownNameError):
        Demand.from_rows([("a", "silver", 1.0)], tiers=("gold",))
    for bad in ([[-1.0]], [[float("nan")]]):        # a negative or non-finite rate names its field
        with pytest.raises(UserError) as err:
            Demand(("a",), ("t",), bad)
        assert err.value.field == "tokens_per_s"
    with pytest.raises(UserError):
        Demand(("a",), ("t",), [[1.0, 2.0]])
    with pytest.raises(UserError):
        Fleet((Pool("p", "o", 1), Pool("p", "o", 2)))
    with pytest.raises(UserError):
        Pool("p", "o", -1)
    with pytest.raises(UserError):
        PlaceOptions(method="magic")


def test_names_prices_and_kinds_are_checked():
    rates = table_from_arrays(["s"], ["a/r"], [[R100]], 1, [np.nan])
    d = Demand(("s",), ("t",), [[1.0]])
    with pytest.raises(UserError, match="no known on_demand price"):
        place(rates, fleet(("p", "a/r", 1)), d)
    ok = place(rates, Fleet((Pool("p", "a/r", 1, usd_per_chip_hour=2.0),)), d)
    assert ok.usd_per_hour == 2.0
    with pytest.raises(UnknownNameError):
        place(rates, fleet(("p", "zzz/r", 1)), d)
    with pytest.raises(UnknownNameError):
        place(rates, Fleet((Pool("p", "a/r", 1, 1.0),)), Demand(("nope",), ("t",), [[1.0]]))
    bad = table_from_arrays(["s"], ["a/r", "b/r"], [[R100, 0.0]], 1, [1.0, 1.0])
    with pytest.raises(UserError, match="infeasible") as err:
        place(bad, fleet(("p", "a/r", 1), ("q", "b/r", 1)), d, previous={("s", "q"): 1})
    assert err.value.field == "previous"
    with pytest.raises(UserError) as err:
        Pool("p", "a/r", 1, term="monthly")
    assert err.value.field == "term" and "on_demand" in str(err.value)


def test_empty_cases():
    rates = table_from_arrays(["s"], ["a/r"], [[R100]], 1, [1.0])
    none = place(rates, fleet(("p", "a/r", 0)), Demand(("s",), ("t",), [[100.0]]))
    assert none.replicas.sum() == 0 and none.shortfalls()[0].share == 1.0
    idle = place(rates, fleet(("p", "a/r", 4)), Demand(("s",), ("t",), [[0.0]]))
    assert idle.replicas.sum() == 0 and idle.usd_per_hour == 0.0 and idle.shortfalls() == []


def test_real_rate_table_and_bucket_split(ctx):
    """With the catalog's rate table: a JetStream-only service lands on TPUs only; splitting a
    two-bucket service into bucket services keeps its demand and places each bucket."""
    from polyfleet.perf.ratetable import build_rate_table
    from polyfleet.place.inference_buckets import split_demand, split_services
    from polyfleet.workloads.workload import Bucket, InferenceService, RequestMix

    mix = RequestMix(buckets=(Bucket(input_tokens=200, output_tokens=100, weight=3),
                              Bucket(input_tokens=8000, output_tokens=500, weight=1)))
    svcs = [InferenceService(id="chat", model="llama-3.1-8b", mix=mix, runtimes=("vllm",)),
            InferenceService(id="jax70", model="llama-3.1-70b", runtimes=("jetstream",))]
    demand = Demand(("chat", "jax70"), ("premium", "batch"), [[3000.0, 1000.0], [800.0, 0.0]])
    offerings = ["gcp/tpu-v6e-8/us-east1", "aws/p5.48xlarge/us-east-1", "nebius/gpu-h100-sxm_8gpu/eu-north1"]
    rates = build_rate_table(split_services(svcs) + svcs, ctx=ctx, offerings=offerings)
    f = Fleet(tuple(Pool(o.split("/")[1], o, 64) for o in offerings))
    whole = place(rates, f, demand)
    assert whole.shortfalls() == []
    tpu = [i for i, o in enumerate(offerings) if "tpu" in o]
    assert whole.replicas[1].sum() == whole.replicas[1, tpu].sum() > 0
    split = split_demand(demand, svcs)
    assert split.services == ("chat#0", "chat#1", "jax70#0")
    assert np.allclose(split.tokens_per_s[:2].sum(axis=0), demand.tokens_per_s[0])
    by_bucket = place(rates, f, split)
    assert by_bucket.shortfalls() == [] and check_capacity(by_bucket) == []


@pytest.mark.parametrize("reserved", [-1e-9, -1.0])
def test_place_fleet_reads_negative_reserved_chips_as_none(reserved):
    """A plan's training allocation can come back as -1e-9 chips from the solver, and -1 once floored;
    the fleet placement must read either as 0 reserved chips (it once became a pool of -1 chips and
    stopped the simulator on the mid-size example)."""
    import dataclasses

    from polyfleet.place import place_fleet

    base = table_from_arrays(["chat", "train"], ["a/r1"], [[R100], [7200.0]], 1, [2.0])
    table = dataclasses.replace(base, kinds=("inference", "training"))
    fp = place_fleet(table, ["a/r1"], np.array([10.0]), inference=Demand(("chat",), ("t",), [[300.0]]),
                     training=["train"], training_demand=np.array([1.0]), gang_chips=np.array([1.0]),
                     reserved=np.array([reserved]))
    # 3 replicas of 1 chip serve 300 tokens/s; the other 7 chips train at 2 tokens/s each, capped at 1
    assert fp.inference_chips.tolist() == [3.0]
    assert fp.training_tokens_per_s.tolist() == pytest.approx([1.0])


def test_an_unknown_pool_is_named_with_the_known_ones():
    """An unknown pool is called a pool and the known ones are listed (the message the service and the
    CLI pass on to the user)."""
    f = fleet(("east", "a/r", 2), ("west", "b/r", 2))
    assert f.index("west") == 1
    with pytest.raises(UnknownNameError) as err:
        f.index("north")
    assert err.value.kind == "pool" and "north" in str(err.value) and "east" in str(err.value)


def test_a_demand_keeps_its_own_copy_read_only():
    """The caller's list may change afterwards; the demand's array may not (a frozen value that placement
    and the service share): writing to it raises."""
    rows = [[100.0, 50.0]]
    d = Demand(("chat",), ("enterprise", "free"), rows)
    rows[0][0] = 1.0
    assert d.tokens_per_s[0, 0] == 100.0 and not d.tokens_per_s.flags.writeable
    with pytest.raises(ValueError):
        d.tokens_per_s[0, 0] = 5.0
