"""Training allocation: POP partitions, the solver options honoured, the final projection and the repair
pass's tier cut, each on a case small enough to work out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from polyfleet.place import AllocationProblem, PolicyOptions, allocate
from polyfleet.place.inference import place


def identical_jobs(n: int, capacity: float) -> AllocationProblem:
    """n one-chip jobs, 3 steps/s on the only type (one with 2 on a second, slower type)."""
    thr = np.tile([3.0, 2.0], (n, 1))
    return AllocationProblem(throughput=thr, scale_factor=np.ones(n), capacity=np.array([capacity, 0.0]),
                             types=("fast", "slow"))


@pytest.mark.parametrize("partitions", [2, 3])
def test_pop_gives_every_job_its_share_when_jobs_outnumber_parts(partitions):
    """6 identical one-chip jobs and 6 fast chips: each job can hold a whole chip all the time, so
    max-min fairness gives x = 1 on 'fast' to every job, however the jobs are dealt into k parts of
    1/k of the capacity (6/k jobs and 6/k chips in each). A job dealt into no part would get nothing."""
    problem = identical_jobs(6, 6.0)
    result = allocate(problem, "max_min_fairness_perf", PolicyOptions(partitions=partitions, merge=False))
    assert result.partitions == partitions
    assert result.x[:, 0] == pytest.approx(np.ones(6), abs=1e-6)
    assert result.x[:, 1] == pytest.approx(np.zeros(6), abs=1e-9)


@pytest.mark.parametrize("method", ["simplex", "ipm"])
def test_the_lp_method_asked_for_is_the_one_used(method):
    """PolicyOptions.method reaches HiGHS: the allocation names the solver that ran."""
    result = allocate(identical_jobs(4, 2.0), "max_min_fairness_perf", PolicyOptions(method=method, merge=False))
    assert result.solver == f"highs-{method}"
    assert result.x[:, 0].sum() == pytest.approx(2.0, abs=1e-6)    # two chips shared by four jobs


def test_projection_scales_an_overfull_type_back_to_its_capacity():
    """Round-off clipping by hand: rows above 1 are scaled to 1; a type used past its capacity is
    scaled down by capacity / used; values at 1e-12 or below vanish; masked cells are zeroed.
    Job 0 [0.6, 0.6] -> row 1.2 -> [0.5, 0.5]; job 1 [0.8, 1e-13] -> [0.8, 0]; gangs of 1 and 2:
    type 0 used 0.5 + 2 x 0.8 = 2.1 > 1.4, scaled by 1.4 / 2.1 = 2/3 -> 1/3 and 0.5333; type 1 used
    0.5 <= 1 stays."""
    from polyfleet.place.allocation import _project
    x = np.array([[0.6, 0.6], [0.8, 1e-13]])
    mask = np.array([[True, True], [True, True]])
    out = _project(x.copy(), mask, np.array([1.0, 2.0]), np.array([1.4, 1.0]))
    assert out == pytest.approx(np.array([[0.5 * 2 / 3, 0.5], [0.8 * 2 / 3, 0.0]]), rel=1e-12)
    masked = _project(x.copy(), np.array([[True, False], [True, True]]), np.array([1.0, 2.0]), np.array([9.0, 9.0]))
    assert masked == pytest.approx(np.array([[0.6, 0.0], [0.8, 0.0]]), rel=1e-12)


def test_cut_tier_is_the_first_tier_capacity_no_longer_covers():
    """Capacity 100 against cumulative tier demand [80, 150]: tier 0 is covered, tier 1 is cut (1);
    [120, 200]: cut at tier 0; [50, 100] (exactly covered, within tolerance): no cut (2 = K)."""
    from polyfleet.place.inference_tiers import _cut_tier
    cum = np.array([[80.0, 150.0], [120.0, 200.0], [50.0, 100.0]])
    assert _cut_tier(np.full(3, 100.0), cum).tolist() == [1, 0, 2]


def test_moves_pair_replicas_by_the_middle_of_their_capacity():
    """Stops: A and B, one replica of 100 tokens/s each, laid end to end: A [0, 100), B [100, 200).
    Starts: C of 150 [0, 150), D of 50 [150, 200). C's middle (75) lies in A and D's (175) in B; A's
    middle (50) lies in C and B's (150) in D: A -> C and B -> D, one replica each side, chips and
    start costs carried over (C: 2 chips, $5 a start; D: 1 chip, $3)."""
    from polyfleet.place.routing import _pair
    moves = _pair("chat", [("A", 1, 100.0, 1), ("B", 1, 100.0, 1)],
                  [("C", 1, 150.0, 2, 5.0), ("D", 1, 50.0, 1, 3.0)])
    got = [(m.from_pool, m.to_pool, m.from_replicas, m.replicas, m.start_usd) for m in moves]
    assert got == [("A", "C", 1, 1, 5.0), ("B", "D", 1, 1, 3.0)]


def test_no_jobs_is_an_empty_optimal_allocation():
    """Nothing to allocate: an empty x, optimal, objective 0 (no job has any throughput)."""
    empty = AllocationProblem(throughput=np.zeros((0, 2)), scale_factor=np.zeros(0), capacity=np.array([4.0, 2.0]),
                              types=("a", "b"))
    r = allocate(empty, "max_min_fairness_perf")
    assert r.x.shape == (0, 2) and r.status == "optimal" and r.objective == 0.0


def test_a_gang_below_one_chip_is_refused_with_its_reason():
    from polyfleet.errors import UserError
    with pytest.raises(UserError) as exc:
        AllocationProblem(throughput=np.ones((1, 1)), scale_factor=np.array([0.5]), capacity=np.array([1.0]))
    assert "scale_factor" in str(exc.value) and "must be >= 1 chip" in str(exc.value)


def test_failover_keeps_training_where_the_plan_put_it():
    """A run the plan gave 4 chips on pool a and 2 on pool b (2 tokens/s per chip, asking 12): it trains
    on those 6 chips at 12 tokens/s. Losing b leaves it a's 4 planned chips, 8 tokens/s, although a has
    6 more chips idle: training follows the plan's pools, it does not spread over whatever is free."""
    import dataclasses

    from polyfleet.place import failover_fleet, place_fleet
    from polyfleet.place.inference_synthetic import table_from_arrays
    table = dataclasses.replace(table_from_arrays(["train"], ["a/r1", "b/r2"], [[7200.0, 7200.0]], 1, [2.0, 2.0]),
                                kinds=("training",))
    fp = place_fleet(table, ["a/r1", "b/r2"], np.array([10.0, 10.0]), training=["train"],
                     training_demand=np.array([12.0]), training_pools=np.array([[4.0, 2.0]]))
    assert fp.training_pools.tolist() == [[4.0, 2.0]]
    assert fp.training_tokens_per_s.tolist() == pytest.approx([12.0])
    after = failover_fleet(table, fp, ["b/r2"])
    assert after.training_pools.tolist() == [[4.0, 2.0]]               # a later failover still knows the plan
    assert after.training_tokens_per_s.tolist() == pytest.approx([8.0])
    assert after.training_chips[0].tolist() == pytest.approx([4.0, 0.0])


def test_routing_drops_small_shares_and_renormalises():
    """Capacities 30, 60 and 10 tokens/s: shares 0.3, 0.6, 0.1. With a 15% floor the 10 is dropped and
    the rest renormalised: 30/90 and 60/90. A service with no capacity routes nowhere."""
    from polyfleet.place.routing import routing_weights
    w = routing_weights(np.array([[30.0, 60.0, 10.0], [0.0, 0.0, 0.0]]), min_share=0.15)
    assert w[0].tolist() == pytest.approx([1 / 3, 2 / 3, 0.0]) and w[1].tolist() == [0.0, 0.0, 0.0]
    assert routing_weights(np.array([[30.0, 60.0, 10.0]]))[0].tolist() == pytest.approx([0.3, 0.6, 0.1])


def test_the_best_candidate_serves_the_most_then_costs_the_least():
    """One service, one tier of 200 tokens/s, pools of 100-token/s one-chip replicas at $1 and $3 an hour.
    Candidates: [2, 0] serves all for $2; [0, 2] serves all for $6; [1, 0] serves half for $1. The best
    serves the most first (ties within the slack), then costs the least: [2, 0], in any order given."""
    from itertools import permutations

    from polyfleet.place.inference import _best
    from polyfleet.place.inference_model import Demand, Fleet, PlaceOptions, Pool, build_instance
    from polyfleet.place.inference_synthetic import table_from_arrays
    rates = table_from_arrays(["s"], ["a/r1", "b/r2"], [[100 * 3600.0, 100 * 3600.0]], 1, [1.0, 3.0])
    fleet = Fleet((Pool("p0", "a/r1", 4), Pool("p1", "b/r2", 4)))
    inst = build_instance(rates, fleet, Demand(("s",), ("t",), [[200.0]]), PlaceOptions())
    cands = [np.array([[2, 0]]), np.array([[0, 2]]), np.array([[1, 0]])]
    for order in permutations(range(3)):
        assert _best(inst, [cands[i] for i in order], slack=1e-6).tolist() == [[2, 0]]


def test_the_lp_relaxation_reports_no_integrality_gap():
    """solve_milp(relax=True) solves an LP: optimal, gap 0, and fractional replicas allowed: 250 tokens/s
    on 100-token/s replicas is 2.5 replicas on the $1 pool (cost 2.5 < 3 for whole replicas)."""
    from polyfleet.place.inference_milp import solve_milp
    from polyfleet.place.inference_model import Demand, Fleet, PlaceOptions, Pool, build_instance
    from polyfleet.place.inference_synthetic import table_from_arrays
    rates = table_from_arrays(["s"], ["a/r1", "b/r2"], [[100 * 3600.0, 100 * 3600.0]], 1, [1.0, 3.0])
    fleet = Fleet((Pool("p0", "a/r1", 4), Pool("p1", "b/r2", 4)))
    opts = PlaceOptions(method="lp")
    inst = build_instance(rates, fleet, Demand(("s",), ("t",), [[250.0]]), opts)
    res = solve_milp(inst, opts, relax=True)
    assert res.status == "optimal" and res.gap == 0.0
    assert res.replicas[0].tolist() == pytest.approx([2.5, 0.0])
    whole = solve_milp(inst, PlaceOptions(mip_rel_gap=0.0))      # the default is the MILP: whole replicas
    assert whole.status == "optimal" and whole.replicas[0].tolist() == pytest.approx([3.0, 0.0])


def test_makespan_gives_every_runnable_job_some_time():
    """Found by hypothesis in test_place_training (replayed during the mutation runs). One chip of type 1;
    job A has 1 unit of work, job B 322,581, both at 1 unit/s there. The least makespan runs both to
    finish together: A gets 1 / 322,582 of the chip (3.1e-6), B the rest; a job given no time never
    finishes and the makespan reported (322,582 s) is not the allocation's (infinite)."""
    thr = np.zeros((3, 2))
    thr[0] = [1.0, 31.0]
    thr[1] = [1.0, 1.0]
    problem = AllocationProblem(throughput=thr, scale_factor=np.ones(3), capacity=np.array([1.0, 0.0]),
                                remaining_work=np.array([1.0, 322_581.0, 1.0]))
    r = allocate(problem, "min_total_duration")
    assert r.objective == pytest.approx(322_582.0, rel=1e-6)
    assert r.x[0, 0] == pytest.approx(1 / 322_582, rel=1e-3)


def test_failover_of_an_unknown_pool_names_it_and_the_pools():
    import dataclasses

    from polyfleet.errors import UnknownNameError
    from polyfleet.place import failover_fleet, place_fleet
    from polyfleet.place.inference_synthetic import table_from_arrays
    table = dataclasses.replace(table_from_arrays(["train"], ["a/r1", "b/r2"], [[7200.0, 7200.0]], 1, [2.0, 2.0]),
                                kinds=("training",))
    fp = place_fleet(table, ["a/r1", "b/r2"], np.array([10.0, 10.0]), training=["train"],
                     training_demand=np.array([12.0]), training_pools=np.array([[4.0, 2.0]]))
    with pytest.raises(UnknownNameError) as exc:
        failover_fleet(table, fp, ["c/r3"])
    assert "c/r3" in str(exc.value) and "a/r1" in str(exc.value)


def test_an_unknown_placement_method_lists_the_methods():
    from polyfleet.errors import UserError
    from polyfleet.place.inference_model import METHODS, PlaceOptions
    with pytest.raises(UserError) as exc:
        PlaceOptions(method="simulated-annealing")
    assert exc.value.field == "method" and all(m in exc.value.allowed for m in METHODS)


def test_gangs_share_the_chips_and_a_run_asking_nothing_gets_nothing():
    """Two runs in gangs of 4 chips on 12 free chips at 2 tokens/s per chip: 'big' asks 16 tokens/s (two
    gangs), 'idle' asks nothing and gets nothing; the placement keeps the gang sizes it was given."""
    import dataclasses

    from polyfleet.place import place_fleet
    from polyfleet.place.inference_synthetic import table_from_arrays
    table = dataclasses.replace(table_from_arrays(["big", "idle"], ["a/r1"], [[7200.0], [7200.0]], 1, [2.0]),
                                kinds=("training", "training"))
    fp = place_fleet(table, ["a/r1"], np.array([12.0]), training=["big", "idle"],
                     training_demand=np.array([16.0, 0.0]), gang_chips=np.array([4.0, 4.0]))
    assert fp.gang_chips.tolist() == [4.0, 4.0]
    assert fp.training_tokens_per_s.tolist() == pytest.approx([16.0, 0.0])
    assert fp.training_chips.sum(axis=1).tolist() == pytest.approx([8.0, 0.0])


def test_nothing_to_place_is_decided_greedily():
    """No demand at all: nothing for a solver to decide; the placement says it took the greedy path and
    holds no replica."""
    from polyfleet.place.inference_model import Demand, Fleet, PlaceOptions, Pool
    from polyfleet.place.inference_synthetic import table_from_arrays
    rates = table_from_arrays(["s"], ["a/r1"], [[100 * 3600.0]], 1, [1.0])
    p = place(rates, Fleet((Pool("p0", "a/r1", 4),)), Demand(("s",), ("t",), [[0.0]]),
              options=PlaceOptions(method="milp"))
    assert p.method == "greedy" and p.replicas.sum() == 0


def test_every_tier_left_short_beside_a_lower_one_is_a_violation():
    """One pool of 2 one-chip replicas (100 tokens/s each), both held by C (tier t2). A (t0) and B (t1)
    each ask 100 and get nothing, though C's chips could serve them: a violation at t0 for A and one at
    t1 for B."""
    from polyfleet.place.inference_model import Demand, Fleet, PlaceOptions, Pool, build_instance
    from polyfleet.place.inference_synthetic import table_from_arrays
    from polyfleet.place.inference_tiers import violations
    rates = table_from_arrays(["A", "B", "C"], ["a/r1"], [[360_000.0]] * 3, 1, [1.0])
    inst = build_instance(rates, Fleet((Pool("p0", "a/r1", 2),)),
                          Demand(("A", "B", "C"), ("t0", "t1", "t2"),
                                 [[100.0, 0, 0], [0, 100.0, 0], [0, 0, 200.0]]), PlaceOptions())
    found = {(s, k) for s, k, _, _ in violations(inst, np.array([[0], [0], [2]]))}
    assert found == {(0, 0), (1, 1)}


def test_synthetic_tables_call_an_unknown_chip_unknown():
    from polyfleet.place.inference_synthetic import table_from_arrays
    t = table_from_arrays(["s"], ["acc9/r0"], [[3600.0]], 1, [1.0])
    assert t.vendor == ("unknown",) and t.provider == ("unknown",) and t.family == ("unknown",)


def test_a_fleet_placement_from_running_replicas_rebalances_only_when_asked():
    """One service runs 2 replicas (1 chip, 3,600 tokens/chip-hour = 1 token/s each) on pool b at $3 a
    chip-hour; pool a serves it alike at $1. Without rebalancing what still fits stays on b; with it
    (the default) the service moves to a, where it costs a third."""
    from polyfleet.place import place_fleet
    from polyfleet.place.inference_model import Demand
    from polyfleet.place.inference_synthetic import table_from_arrays
    table = table_from_arrays(["chat"], ["a/r1", "b/r2"], [[3600.0, 3600.0]], 1, [1.0, 3.0])
    demand = Demand(("chat",), ("all",), np.array([[2.0]]))
    running = {("chat", "b/r2"): 2}
    kept = place_fleet(table, ["a/r1", "b/r2"], np.array([4.0, 4.0]), inference=demand, previous=running,
                       rebalance=False)
    moved = place_fleet(table, ["a/r1", "b/r2"], np.array([4.0, 4.0]), inference=demand, previous=running)
    assert kept.inference.replicas.tolist() == [[0, 2]]
    assert moved.inference.replicas.tolist() == [[2, 0]]


def test_trim_drops_the_spare_replica_of_a_service_with_an_unused_dearer_pool():
    """3 replicas of 100 tokens/s on the cheap pool serve a demand of 150: one is spare and goes. The
    service could also run on a dearer pool where it has none; that pool is never a candidate, so it
    does not stop the trim."""
    from types import SimpleNamespace as NS

    from polyfleet.place.inference_greedy import _trim
    inst = NS(demand=np.array([[150.0]]), cap=np.array([[100.0, 100.0]]), cost=np.array([[1.0, 5.0]]),
              start_penalty=np.zeros((1, 2)), prev=np.zeros((1, 2)))
    assert _trim(inst, np.array([[3, 0]])).tolist() == [[2, 0]]


def test_a_solve_that_finds_no_point_says_so_with_an_infinite_gap(monkeypatch):
    """When HiGHS returns no point (a time limit before any incumbent, say), the placement is empty and
    carries the solver's status, an infinite gap and no bound, rather than a zero-cost plan."""
    from types import SimpleNamespace as NS

    from polyfleet.place import inference_milp
    from polyfleet.place.inference_model import Demand, Fleet, PlaceOptions, Pool, build_instance
    from polyfleet.place.inference_synthetic import table_from_arrays
    rates = table_from_arrays(["s"], ["a/r1", "b/r2"], [[100 * 3600.0, 100 * 3600.0]], 1, [1.0, 3.0])
    fleet = Fleet((Pool("p0", "a/r1", 4), Pool("p1", "b/r2", 4)))
    opts = PlaceOptions(method="milp")
    inst = build_instance(rates, fleet, Demand(("s",), ("t",), [[250.0]]), opts)
    monkeypatch.setattr(inference_milp.solvers, "run", lambda *a, **k: NS(has_solution=False, code="time limit"))
    res = inference_milp.solve_milp(inst, opts)
    assert res.status == "time limit" and res.gap == np.inf and res.bound == -np.inf
    assert not res.replicas.any() and res.solve_s >= 0.0


def test_a_stopped_replica_goes_where_the_middle_of_its_capacity_lands():
    """One stop A of 300 tokens/s [0, 300) against starts X of 160 [0, 160) and Y of 140 [160, 300):
    A's middle (150) lies in X, so A's replica (4 chips) moves to X; Y's replica is charged to A too (its
    middle, 230, lies in A) but stops nothing there."""
    from polyfleet.place.routing import _pair
    moves = _pair("chat", [("A", 1, 300.0, 4)], [("X", 1, 160.0, 2, 5.0), ("Y", 1, 140.0, 2, 3.0)])
    got = [(m.from_pool, m.to_pool, m.from_replicas, m.replicas, m.from_chips, m.to_chips) for m in moves]
    assert got == [("A", "X", 1, 1, 4, 2), ("A", "Y", 0, 1, 0, 2)]
