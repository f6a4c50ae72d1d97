"""The procurement schedule and demand against capacity (plan/schedule.py) on small hand-solved plans."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from polyfleet.plan import PlanOptions, SolveOptions, plan, simple_inputs
from polyfleet.plan.inputs import C1, C3
from polyfleet.plan.schedule import (demand_capacity_rows, group_rows, owed_after_by_vendor, procurement_rows,
                                     training_rows)

OPTS = PlanOptions(solve=SolveOptions(mip_rel_gap=1e-9))


def committed_plan():
    """14 months. a (va): on-demand $1, 1y $0.6; b (vb): on-demand $1, 3y $0.5; w1 100 chips on a, w2 50 on b.

    Prorated, the cheapest plan is 100 x 1y on a in m1 and again in m13 (2 months inside, 10 after), and
    50 x 3y on b in m1 (14 months inside, 22 after)."""
    offs = [dict(id="a", vendor="va", provider="pa", on_demand=1.0, commit_1y=0.6),
            dict(id="b", vendor="vb", provider="pb", on_demand=1.0, commit_3y=0.5)]
    wls = [dict(id="w1", demand=100.0, rates={"a": 1.0}), dict(id="w2", demand=50.0, rates={"b": 1.0})]
    return plan(simple_inputs(offerings=offs, workloads=wls, months=14), OPTS)


@pytest.fixture(scope="module")
def res():
    return committed_plan()


def test_procurement_rows_hand_derived(res):
    rows = procurement_rows(res)
    got = [(r["month"], r["offering"], r["term"], r["units"]) for r in rows]
    assert got == [("m1", "a", "1y commitment", 100), ("m1", "b", "3y commitment", 50),
                   ("m13", "a", "1y commitment", 100)]
    a1, b3, a13 = rows
    # a: 100 units x $0.6 x 730 h = $43,800 a month; b: 50 x $0.5 x 730 = $18,250 a month
    assert a1["monthly_usd"] == pytest.approx(43_800) and a1["term_usd"] == pytest.approx(525_600)
    assert a13["in_horizon_usd"] == pytest.approx(2 * 43_800) and a13["after_horizon_usd"] == pytest.approx(438_000)
    assert b3["in_horizon_usd"] == pytest.approx(14 * 18_250) and b3["after_horizon_usd"] == pytest.approx(401_500)


def test_procurement_sums_to_the_commitment_cost_and_the_obligation(res):
    rows = procurement_rows(res)
    oracle = float(res.cost[:, [C1, C3], :].sum())           # what the plan pays for commitments inside
    assert sum(r["in_horizon_usd"] for r in rows) == pytest.approx(oracle)
    owed = owed_after_by_vendor(res)
    assert owed == pytest.approx({"va": 438_000, "vb": 401_500})
    assert list(owed) == ["va", "vb"]                          # largest first
    assert sum(owed.values()) == pytest.approx(res.obligation_after_usd)


def test_group_rows_sums_tranches(res):
    (a, b) = group_rows(procurement_rows(res), ("vendor", "term"))
    assert (a["vendor"], a["units"], a["term_usd"]) == ("va", 200, pytest.approx(2 * 525_600))
    assert (b["vendor"], b["chips"]) == ("vb", 50)


def test_no_commitment_no_rows():
    offs = [dict(id="a", vendor="va", on_demand=1.0)]
    r = plan(simple_inputs(offerings=offs, workloads=[dict(id="w", demand=10.0, rates={"a": 1.0})]), OPTS)
    assert procurement_rows(r) == [] and owed_after_by_vendor(r) == {}


@settings(max_examples=12, deadline=None)
@given(st.lists(st.floats(1.0, 500.0), min_size=3, max_size=3), st.floats(0.5, 3.0))
def test_capacity_meets_demand_every_month(demand, rate_b):
    offs = [dict(id="a", vendor="va", on_demand=1.0, commit_1y=0.7, unit_chips=8),
            dict(id="b", vendor="vb", on_demand=1.3, unit_chips=4)]
    wls = [dict(id="w", demand=demand, rates={"a": 1.0, "b": rate_b})]
    r = plan(simple_inputs(offerings=offs, workloads=wls, months=3), OPTS)
    assert r.feasible
    rows = demand_capacity_rows(r)
    assert len(rows) == 3
    for row, d in zip(rows, demand):
        assert row["demand_tokens_per_s"] == pytest.approx(d / 3600)
        assert row["capacity_tokens_per_s"] >= row["demand_tokens_per_s"] * (1 - 1e-7)
        assert row["headroom_share"] >= -1e-7


def test_training_tokens_planned_against_required():
    offs = [dict(id="a", vendor="va", on_demand=1.0)]
    inp = simple_inputs(offerings=offs, workloads=[dict(id="run", demand=0.0, rates={"a": 2.0})], months=3)
    # 1,460,000 tokens inside m2..m3: 1,460,000 / 730 = 2,000 tokens/h-months of window
    inp = replace(inp, window_tokens=np.array([2000.0]), window=np.array([[False, True, True]]),
                  kinds=("training",))
    r = plan(inp, OPTS)
    (row,) = training_rows(r)
    assert row["window"] == "m2..m3" and row["tokens_required"] == pytest.approx(1_460_000)
    assert row["tokens_planned"] >= row["tokens_required"] * (1 - 1e-7)
    assert demand_capacity_rows(r) == []                     # a windowed run has no monthly demand row


def test_headroom_counts_idle_held_chips():
    offs = [dict(id="a", vendor="va", on_demand=1.0, unit_chips=8)]
    r = plan(simple_inputs(offerings=offs, workloads=[dict(id="w", demand=100.0, rates={"a": 2.0})]), OPTS)
    (row,) = demand_capacity_rows(r)
    # 100 tokens/h at 2 per chip-hour = 50 chips -> 7 units of 8 = 56 chips: 6 idle chips add 12 tokens/h
    assert row["capacity_tokens_per_s"] == pytest.approx(100 / 3600)
    assert row["spare_tokens_per_s"] == pytest.approx(12 / 3600)
    assert row["headroom_share"] == pytest.approx(0.12)


def test_plan_json_carries_the_schedule(res):
    doc = res.to_dict()["procurement"]
    assert len(doc["new_commitments"]) == 3 and doc["owed_after_by_vendor"] == pytest.approx({"va": 438_000,
                                                                                             "vb": 401_500})


@settings(max_examples=10, deadline=None)
@given(st.lists(st.floats(10.0, 400.0), min_size=6, max_size=6), st.sampled_from(["prorated", "full"]))
def test_schedule_adds_up_to_the_plan_for_any_demand(demand, tail):
    offs = [dict(id="a", vendor="va", on_demand=1.0, commit_1y=0.55, commit_3y=0.4, unit_chips=4),
            dict(id="b", vendor="vb", on_demand=0.9, commit_1y=0.6, unit_chips=8)]
    wls = [dict(id="w", demand=demand, rates={"a": 1.0, "b": 1.5})]
    r = plan(simple_inputs(offerings=offs, workloads=wls, months=6, commitment_tail=tail), OPTS)
    rows = procurement_rows(r)
    assert sum(x["in_horizon_usd"] for x in rows) == pytest.approx(float(r.cost[:, [C1, C3], :].sum()), abs=1e-6)
    assert sum(owed_after_by_vendor(r).values()) == pytest.approx(r.obligation_after_usd, abs=1e-6)
    assert all(x["term_usd"] == pytest.approx(x["in_horizon_usd"] + x["after_horizon_usd"]) for x in rows)


def test_group_rows_sums_every_amount_over_the_other_keys():
    """Two tranches of one offering and one of another, grouped by offering: the sums by hand, in the
    order the groups were first seen, starting from zero."""
    def row(off, units, usd):
        return {"offering": off, "month": "2026-01", "units": units, "chips": 8 * units, "monthly_usd": usd,
                "term_usd": 12 * usd, "in_horizon_usd": 6 * usd, "after_horizon_usd": 6 * usd}
    out = group_rows([row("a", 2, 100.0), row("b", 1, 40.0), row("a", 3, 150.0)], ["offering"])
    assert out == [{"offering": "a", "units": 5, "chips": 40, "monthly_usd": 250.0, "term_usd": 3000.0,
                    "in_horizon_usd": 1500.0, "after_horizon_usd": 1500.0},
                   {"offering": "b", "units": 1, "chips": 8, "monthly_usd": 40.0, "term_usd": 480.0,
                    "in_horizon_usd": 240.0, "after_horizon_usd": 240.0}]


def test_offering_rows_carry_each_offerings_vendor_family_provider_and_region(res):
    """Every plan row names what it holds the way the facts do: a on vendor va / provider pa, b on vb / pb
    (the family and region as the facts give them), 100 chips of a and 50 of b in the first month."""
    f = res.inputs.facts
    rows = res.offering_rows()
    first = {r["offering"]: r for r in rows if r["month"] == "m1"}
    assert {o: r["chips"] for o, r in first.items()} == {"a": 100, "b": 50}
    for r in rows:
        o = list(f.ids).index(r["offering"])
        assert (r["vendor"], r["family"], r["provider"], r["region"]) == \
            (f.vendor[o], f.family[o], f.provider[o], f.region[o])
    assert (first["a"]["vendor"], first["a"]["provider"]) == ("va", "pa")
