"""Training runs on one cluster each: hand-derived cases, pins, infeasibility, and properties.

Shared set-up: two offerings of the same rate (one pool), `a` at $1 and `b` at $2 per chip-hour, hours = 1,
a run of 360 tokens over a two-month window at rate 1 and goodput 0.9: it needs 360 / (1 x 0.9 x 2) = 200
chips in both months on one cluster.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polyfleet.plan import PlanOptions, SolveOptions, plan, simple_inputs
from polyfleet.plan.evaluate import evaluate
from polyfleet.plan.inputs import Cluster

EXACT = PlanOptions(solve=SolveOptions(mip_rel_gap=1e-9), binding=False, survivability=False)


def two_sites(max_a: float = np.inf, max_b: float = np.inf, tokens: float = 360.0, months: int = 2, **kw):
    offs = [dict(id="a", provider="p1", region="r1", accelerator="A", on_demand=1.0),
            dict(id="b", provider="p2", region="r2", accelerator="B", on_demand=2.0)]
    inp = simple_inputs(offerings=offs, workloads=[dict(id="run", demand=0.0, rates={"a": 1.0, "b": 1.0})],
                        months=months, hours=1.0)
    clusters = (Cluster("small", np.array([True, False]), max_chips=max_a),
                Cluster("big", np.array([False, True]), max_chips=max_b))
    return replace(inp, kinds=("training",), window_tokens=np.array([tokens]), window=np.ones((1, months), bool),
                   clusters=clusters, **kw)


def test_cheap_cluster_too_small_sends_the_run_to_the_other():
    """`small` carries at most 150 < 200 chips: the run goes to `big`, 200 chips x $2 x 2 months = $800 (a
    start in month 2 would need 400 chips; `big` can supply 300). Without the limit it stays on `small`:
    200 x $1 x 2 = $400."""
    inp = two_sites(max_a=150.0)
    ub = inp.unit_ub.copy()
    ub[1] = np.minimum(ub[1], 300.0)
    r = plan(replace(inp, unit_ub=ub), EXACT)
    assert r.solution.optimal and r.total_cost == pytest.approx(800.0)
    rec = r.clusters[0]
    assert rec["cluster"] == "big" and rec["chips"] == pytest.approx(200.0) and rec["offerings"] == ["b"]
    assert r.allocation[0, 1].tolist() == pytest.approx([200.0, 200.0]) and r.allocation[0, 0].sum() == 0
    assert rec["tokens_planned"] == pytest.approx(360.0)
    free = plan(two_sites(), EXACT)
    assert free.total_cost == pytest.approx(400.0) and free.clusters[0]["cluster"] == "small"


def test_pinned_run_pays_for_its_cluster():
    """Pinned to `big` the run costs $800 though `small` would cost $400."""
    r = plan(two_sites(run_clusters=(("big",),)), EXACT)
    assert r.clusters[0]["cluster"] == "big" and r.total_cost == pytest.approx(800.0)


def test_goodput_sets_the_headroom():
    """Goodput 0.6: 360 / (0.6 x 2) = 300 chips on `small`, $600."""
    r = plan(two_sites(goodput=np.array([0.6])), EXACT)
    assert r.clusters[0]["chips"] == pytest.approx(300.0) and r.total_cost == pytest.approx(600.0)


def test_later_start_when_supply_arrives_late():
    """`small` has no supply in month 1 (unit bound 0): the run can start there in month 2 only, at
    360 / (0.9 x 1) = 400 chips for one month ($400), cheaper than `big` for two months ($800)."""
    inp = two_sites()
    ub = inp.unit_ub.copy()
    ub[0, :, 0] = 0.0
    r = plan(replace(inp, unit_ub=ub), EXACT)
    rec = r.clusters[0]
    assert rec["cluster"] == "small" and rec["start"] == "m2" and rec["chips"] == pytest.approx(400.0)
    assert r.total_cost == pytest.approx(400.0) and r.allocation[0, 0].tolist() == pytest.approx([0.0, 400.0])


def test_no_cluster_big_enough_is_infeasible_and_names_the_run():
    """Both clusters carry 150 chips, the run needs 200 (or 400 starting late): no plan, and the
    diagnosis names the run and the largest cluster."""
    r = plan(two_sites(max_a=150.0, max_b=150.0), PlanOptions(binding=False, survivability=False))
    assert not r.feasible
    text = " ".join(r.diagnosis.lines())
    assert "training run run" in text and "150" in text


@settings(max_examples=25, deadline=None)
@given(tokens=st.floats(50.0, 2000.0), months=st.integers(2, 4), first=st.integers(0, 1),
       max_a=st.sampled_from([np.inf, 300.0, 600.0]), price_b=st.floats(0.5, 3.0))
def test_every_run_on_one_cluster_at_constant_chips(tokens, months, first, max_a, price_b):
    """Whatever the numbers, a feasible plan puts the run on one cluster's offerings only, with the same
    chips in every month it runs (from its start to the deadline), none before, and its tokens covered."""
    inp = two_sites(max_a=max_a, tokens=tokens, months=months)
    win = np.arange(months)[None, :] >= first
    inp = replace(inp, window=win, price=inp.price * np.array([[1.0], [price_b]]))
    r = plan(inp, EXACT)
    assert r.feasible
    alloc = r.allocation[0]                                        # [O, T]
    on = np.flatnonzero(alloc.sum(axis=1) > 1e-6)
    assert len(on) == 1
    rec = r.clusters[0]
    assert rec["clusters_used"] == 1 and rec["offerings"] == [r.inputs.offerings[on[0]]]
    s = r.inputs.months.index(rec["start"])
    assert s >= first and np.allclose(alloc[on[0], s:], rec["chips"]) and np.allclose(alloc[on[0], :s], 0.0)
    assert rec["chips"] * (months - s) * 0.9 >= tokens * (1 - 1e-6)
    assert rec["max_chips"] is None or rec["chips"] <= rec["max_chips"] + 1e-6


def off_peak_inputs(train_demand: float, off_peak: bool = True):
    """Service `svc`: 100 tokens/h at its peak (peak_factor 1.5) on offering a ($1, rate 1): 100 chips,
    of which 100 x (1 - 1/1.5) = 33.3 idle off-peak. Training `post`: a steady flow, rate 1."""
    inp = simple_inputs(offerings=[dict(id="a", on_demand=1.0)],
                        workloads=[dict(id="svc", demand=100.0, rates={"a": 1.0}),
                                   dict(id="post", demand=train_demand, rates={"a": 1.0})], hours=1.0)
    return replace(inp, kinds=("inference", "training"), peak_factor=np.array([1.5, 1.0]),
                   off_peak=np.array([False, off_peak]), off_peak_goodput=np.array([0.8, 0.8]))


def test_off_peak_training_uses_idle_inference_chips():
    """20 tokens/h at goodput 0.8 need 25 off-peak chips <= 33.3 idle: no chip bought for training, $100
    (without off-peak: 100 + 20 = $120)."""
    r = plan(off_peak_inputs(20.0), EXACT)
    assert r.total_cost == pytest.approx(100.0) and r.off_peak_chips[1, 0] == pytest.approx(25.0)
    assert r.off_peak_served[1, 0] == pytest.approx(20.0)      # 25 chips x rate 1 x goodput 0.8: all of it
    assert r.served[1, 0] == pytest.approx(20.0)
    assert plan(off_peak_inputs(20.0, off_peak=False), EXACT).total_cost == pytest.approx(120.0)


def test_off_peak_share_is_capped_by_the_idle_chips():
    """40 tokens/h: the 33.3 idle chips give 26.7 tokens/h at 0.8, the other 13.3 need 13.3 chips:
    113.3 chips, 114 whole units = $114."""
    r = plan(off_peak_inputs(40.0), EXACT)
    assert r.off_peak_chips[1, 0] == pytest.approx(100 / 3) and r.total_cost == pytest.approx(114.0)
    doc = r.to_dict()
    assert doc["off_peak"][0]["chips"] == pytest.approx(100 / 3)


def test_a_run_no_cluster_carries_names_the_closest_cluster():
    """360 tokens over 2 months at goodput 0.9: on `small` (rate 1) 200 chips against a limit of 150; on
    `big` (rate 0.5) 400 chips against 250. The diagnosis names `small`, the closer to carrying the run,
    not `big`, whose limit is merely the larger."""
    from polyfleet.plan.blocks import make_pools
    from polyfleet.plan.clusters import unplaceable_runs
    inp = two_sites(max_a=150.0, max_b=250.0)
    inp = replace(inp, rate=np.array([[1.0, 0.5]]))
    (msg,) = unplaceable_runs(inp, make_pools(inp))
    assert "needs at least 200 chips on small, which carries 150 (the closest of 2 allowed clusters)" in msg
    r = plan(inp, EXACT)
    assert not r.solution.has_solution and any("small, which carries 150" in u for u in r.diagnosis.unservable)


def test_survivability_counts_the_off_peak_training_the_plan_relies_on():
    """The $100 fleet above (100 chips) serves the service at its peak and, off-peak, post-training's 20
    tokens/h: judged with nothing failing it serves everything. Judged without off-peak it would serve
    only 100 of the 120 tokens/h, and a plan would wrongly look short of its own demand."""
    r = plan(off_peak_inputs(20.0), EXACT)
    surv = evaluate(r.inputs, r.firm_chips, r.served)
    assert surv.served_all[0] == pytest.approx(1.0) and surv.meets()[0].all()
    without = evaluate(replace(r.inputs, off_peak=np.array([False, False])), r.firm_chips, r.served)
    assert without.served_all[0] == pytest.approx(100.0 / 120.0)


def test_check_invariants_catches_a_broken_run():
    """The plan's JSON passes; then a run split over two clusters, a chip count that changes, a cluster
    limit exceeded and a goodput that no longer covers the tokens are each caught."""
    import copy
    import json

    from polyfleet.plan import check_invariants
    from polyfleet.report.tables import jsonable
    doc = json.loads(json.dumps(jsonable(plan(two_sites(max_a=150.0), EXACT).to_dict())))
    assert check_invariants(doc) == []
    broken = copy.deepcopy(doc)
    broken["clusters"][0]["chips_by_offering"]["a"] = [10.0, 10.0]
    assert any("not on one cluster" in p for p in check_invariants(broken))
    broken = copy.deepcopy(doc)
    broken["clusters"][0]["chips_by_offering"]["b"] = [200.0, 150.0]
    assert any("holds 150.0 chips in m2" in p for p in check_invariants(broken))
    broken = copy.deepcopy(doc)
    broken["clusters"][0]["max_chips"] = 100.0
    assert any("> cluster big max" in p for p in check_invariants(broken))
    broken = copy.deepcopy(doc)
    broken["clusters"][0]["goodput"] = 0.8
    assert any("plans" in p and "tokens" in p for p in check_invariants(broken))
    broken = copy.deepcopy(doc)
    for row in broken["plan"]:
        row["chips"] = 100
    assert any("cluster big carries" in p for p in check_invariants(broken))


def test_protected_run_keeps_its_share_when_its_cluster_fails():
    """The run must keep 50% of its pace when p1 (site a) fails. On `small` (200 chips x $1 x 2 = $400) it
    needs 100 surviving chips on b ($2 x 100 x 2 = $400): $800. On `big` it costs $800 plus 100 chips on a
    ($200): $1000. So $800, with 100 chips held on b that the run does not use."""
    from polyfleet.plan.inputs import Contingency
    inp = two_sites()
    lose_a = Contingency("p1", "loss of p1", "provider", keep=np.array([0.0, 1.0]), delayed=np.zeros(2, bool))
    inp = replace(inp, classes=("batch",), class_share=np.ones((1, 1)), required=np.array([0.5]),
                  contingencies=(lose_a,))
    r = plan(inp, EXACT)
    assert r.total_cost == pytest.approx(800.0) and r.clusters[0]["cluster"] == "small"
    assert r.chips[1].tolist() == pytest.approx([100.0, 100.0]) and r.allocation[0, 1].sum() == 0


def test_a_cluster_over_two_pools_is_split_and_said_so():
    """One cluster over a ($1, rate 1) and b ($2, rate 4): the sites run at different rates, so the cluster
    is split into one per pool. The run takes b: 360 / (4 x 0.9 x 2) = 50 chips x $2 x 2 = $200 < $400 on a."""
    from polyfleet.plan.blocks import make_pools
    from polyfleet.plan.clusters import split_by_pool
    from polyfleet.plan.run_inputs import cluster_notes
    inp = two_sites()
    inp = replace(inp, rate=np.array([[1.0, 4.0]]), clusters=(Cluster("both", np.array([True, True])),))
    cl, origin, notes = split_by_pool(inp, make_pools(inp))
    assert [c.id for c in cl] == ["both#1", "both#2"] and origin == ["both", "both"] and "split" in notes[0]
    assert "split" in cluster_notes(inp).notes[-1]
    r = plan(replace(inp, run_clusters=(("both",),)), EXACT)
    assert r.clusters[0]["offerings"] == ["b"] and r.total_cost == pytest.approx(200.0)
