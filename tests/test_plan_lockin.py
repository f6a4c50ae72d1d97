"""The lock-in metric (plan/lockin.py): hand-derived shares, what porting changes, the capacity view."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from polyfleet.plan import PlanOptions, SolveOptions, compare, plan, simple_inputs
from polyfleet.plan.lockin import capacity_lock_in, demand_tokens, lock_in, servable_vendors

OPTS = PlanOptions(solve=SolveOptions(mip_rel_gap=1e-9))
RUNTIME_WHY = "no runtime among [neuron] runs inference on tpu (b)"


def two_vendors(reason_b: str = RUNTIME_WHY):
    """w1 runs on a (vendor va) and b (vendor vb); w2 only on a. b is cheaper, so w1 goes to b."""
    offs = [dict(id="a", vendor="va", provider="pa", family="gpu", on_demand=2.0, mw_per_chip=0.002),
            dict(id="b", vendor="vb", provider="pb", family="tpu", on_demand=1.0, mw_per_chip=0.001)]
    wls = [dict(id="w1", demand=[300.0, 200.0], rates={"a": 1.0, "b": 1.0}),
           dict(id="w2", demand=[100.0, 300.0], rates={"a": 1.0})]
    inp = simple_inputs(offerings=offs, workloads=wls, months=2)
    reasons = inp.reasons.copy()
    reasons[1, 1] = reason_b
    return replace(inp, reasons=reasons)


def test_share_is_the_single_vendor_workloads_demand_share():
    li = lock_in(two_vendors())
    # tokens per month = demand x 730 h; w2 alone is locked (only va):
    # month 1: 100 / (300 + 100) = 0.25; month 2: 300 / (200 + 300) = 0.6; horizon 400 / 900 = 0.4444
    assert li.vendors == (("va", "vb"), ("va",))
    assert li.by_month == pytest.approx([0.25, 0.6])
    assert li.share == pytest.approx(400 / 900)
    assert li.by_vendor == pytest.approx({"va": 400 / 900})
    assert "44.4%" in li.line() and "va" in li.line()


def test_porting_the_locked_workload_to_the_other_family_removes_lock_in():
    li = lock_in(two_vendors())
    (port,) = li.porting
    assert (port.workload, port.vendor, port.family, port.vendors_added) == ("w2", "va", "tpu", ("vb",))
    assert port.share_after == 0.0
    assert port.runtime == "vllm"                       # the catalog's default inference stack on TPU
    assert "w2" in li.line() and "0.0%" in li.line()


def test_no_porting_option_when_the_model_does_not_fit_rather_than_lacks_a_runtime():
    li = lock_in(two_vendors(reason_b="model does not fit in memory"))
    assert li.share == pytest.approx(400 / 900) and li.porting == ()


def test_windowed_run_tokens_are_spread_over_its_window():
    inp = two_vendors()
    win = np.array([[True, True], [False, True]])
    inp = replace(inp, demand=np.array([[300.0, 200.0], [0.0, 0.0]]), window=win,
                  window_tokens=np.array([np.nan, 200.0]))
    # w2: 200 x 730 tokens over 1 month of window -> all in month 2
    assert demand_tokens(inp)[1] == pytest.approx([0.0, 200.0 * 730])
    assert lock_in(inp).by_month == pytest.approx([0.0, 200 / 400])


def test_capacity_view_from_the_plan_allocation():
    res = plan(two_vendors(), OPTS)
    li = lock_in(res.inputs, res.allocation)
    # w1 (300, 200 chips) on b, w2 (100, 300 chips) on a: locked chip-months 400 of 900;
    # MW: w2 400 x 0.002 = 0.8, w1 500 x 0.001 = 0.5 -> 0.8 / 1.3
    assert li.capacity.chips_share == pytest.approx([0.25, 0.6])
    assert li.capacity.chips_share_horizon == pytest.approx(400 / 900)
    assert li.capacity.mw_share_horizon == pytest.approx(0.8 / 1.3)
    assert res.to_dict()["lock_in"]["capacity"]["mw_share"] == pytest.approx(0.8 / 1.3)


def test_capacity_view_unknown_power_is_none():
    alloc = np.zeros((2, 2, 1))
    alloc[0, 0, 0], alloc[1, 1, 0] = 3.0, 1.0
    cap = capacity_lock_in(np.array([False, True]), alloc, np.array([0.001, np.nan]))
    assert cap.chips_share_horizon == pytest.approx(0.25) and cap.mw_share_horizon is None


def test_compare_rows_carry_lock_in_per_strategy():
    rows = {r["strategy"]: r for r in compare(two_vendors(), OPTS).rows()}
    assert rows["policy (diversified)"]["lock_in_share"] == pytest.approx(400 / 900)
    # only vendor va: every workload has one vendor, and all its capacity serves them
    assert rows["only vendor va"]["lock_in_share"] == pytest.approx(1.0)
    assert rows["only vendor va"]["capacity_lock_in_share"] == pytest.approx(1.0)
    assert rows["only vendor vb"]["status"] == "not run"               # w2 cannot run on vb
    assert rows["only vendor vb"]["lock_in_share"] is None


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from([0.0, 1.0]), min_size=3, max_size=3), min_size=1, max_size=4),
       st.lists(st.floats(1.0, 1e3), min_size=4, max_size=4), st.integers(0, 11))
def test_opening_an_offering_never_raises_lock_in(rates, demand, pick):
    offs = [dict(id=f"o{i}", vendor=f"v{i % 2}", on_demand=1.0) for i in range(3)]
    wls = [dict(id=f"w{w}", demand=demand[w], rates={f"o{i}": r for i, r in enumerate(row)})
           for w, row in enumerate(rates)]
    inp = simple_inputs(offerings=offs, workloads=wls)
    before = lock_in(inp).share
    w, o = pick % len(rates), pick % 3
    opened = inp.rate.copy()
    opened[w, o] = 1.0
    after = lock_in(replace(inp, rate=opened)).share
    assert 0.0 <= after <= before + 1e-12 <= 1.0 + 1e-12
    assert all(len(v) <= 2 for v in servable_vendors(inp))
