"""--compare and --frontier: variants of one scenario, evaluated under the same failure sets."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from polyfleet.plan import (Contingency, PlanOptions, SolveOptions, SupplyLimit, compare, evaluate, frontier,
                            simple_inputs)

EXACT = PlanOptions(solve=SolveOptions(mip_rel_gap=1e-9, time_limit=30))


@pytest.fixture(scope="module")
def inp():
    offs = [dict(id="a", vendor="va", provider="pa", family="gpu", on_demand=1.0),
            dict(id="b", vendor="vb", provider="pb", family="tpu", on_demand=1.5)]
    wls = [dict(id="w", demand=100.0, rates={"a": 1.0, "b": 1.0}, classes={"gold": 0.4, "bronze": 0.6})]
    base = simple_inputs(offerings=offs, workloads=wls, hours=1.0, classes={"gold": 1.0, "bronze": 0.0})
    keep_a, keep_b = np.array([0.0, 1.0]), np.array([1.0, 0.0])
    conts = (Contingency("lose-a", "loss of a", "vendor", keep_a, np.zeros(2, bool)),
             Contingency("lose-b", "loss of b", "vendor", keep_b, np.zeros(2, bool)))
    return replace(base, contingencies=conts)


def test_compare_shows_premium_and_what_it_buys(inp):
    cmp = compare(inp, EXACT)
    rows = {r["strategy"]: r for r in cmp.rows()}
    policy, cheap = rows["policy (diversified)"], rows["least cost (no risk policy)"]
    # gold (40% of demand) must survive either loss: a = b = 40 would not serve 100; a = 60, b = 40
    assert policy["cost_usd"] == pytest.approx(60 + 60) and cheap["cost_usd"] == pytest.approx(100)
    assert policy["premium_vs_least_cost"] == pytest.approx(0.2)
    assert policy["worst_protected_share"] == pytest.approx(1.0) and policy["failures_passed"] == "2/2"
    assert cheap["worst_protected_share"] == pytest.approx(0.0) and cheap["failures_passed"] == "1/2"
    only_a = rows["only vendor va"]
    assert only_a["cost_usd"] == pytest.approx(100) and only_a["served:lose-a"] == pytest.approx(0.0)
    assert rows["only vendor vb"]["cost_usd"] == pytest.approx(150)


def test_compare_reports_what_the_protected_tier_keeps_under_each_failure(inp):
    """served:FAILURE is the worst share a protected tier keeps, not the share of all demand. The policy
    plan (a = 60, b = 40) keeps all of gold (40) through either loss, though only 40% or 60% of all
    demand; least cost (a = 100) keeps gold whole when b is lost and nothing when a is."""
    rows = {r["strategy"]: r for r in compare(inp, EXACT).rows()}
    policy, cheap = rows["policy (diversified)"], rows["least cost (no risk policy)"]
    assert policy["served:lose-a"] == pytest.approx(1.0) and policy["served:lose-b"] == pytest.approx(1.0)
    assert cheap["served:lose-a"] == pytest.approx(0.0) and cheap["served:lose-b"] == pytest.approx(1.0)


def test_compare_lifts_supply_limits_when_a_single_vendor_cannot_supply(inp):
    sup = SupplyLimit("a-supply", np.array([True, False]), np.ones(4, bool), np.array([50.0]))
    heard: list[str] = []
    cmp = compare(replace(inp, supply=(sup,)), EXACT, progress=heard.append)
    assert "solving: only vendor va (supply limits lifted)" in heard
    rows = {r["strategy"]: r for r in cmp.rows()}
    assert rows["only vendor va"]["status"] == "Infeasible" and "demand of w" in rows["only vendor va"]["reason"]
    assert rows["only vendor va (supply limits lifted)"]["cost_usd"] == pytest.approx(100)


def test_frontier_cost_rises_with_the_requirement(inp):
    fr = frontier(inp, [0.0, 0.5, 1.0], EXACT)
    costs = [p.cost_usd for p in fr.points]
    assert costs == pytest.approx([100.0, 110.0, 120.0])  # b must hold 20 then 40 chips at +0.5 each
    assert [p.worst_protected_share for p in fr.points] == pytest.approx([0.0, 0.5, 1.0])
    assert fr.classes == ("gold",)


def test_evaluate_serves_protected_classes_first(inp):
    firm = np.array([[60.0], [40.0]])
    surv = evaluate(inp, firm)
    assert surv.classes == ("gold", "bronze")
    assert surv.served[1].tolist() == pytest.approx([1.0, 0.0])        # lose a: 40 left, all to gold
    assert surv.served[2].tolist() == pytest.approx([1.0, 20 / 60])    # lose b: 60 left: 40 gold + 20 bronze
    assert surv.meets().all()


def test_frontier_without_requirements_protects_every_class(inp):
    """With no class required to survive, the frontier's level applies to all of them: at level 1 both
    gold and bronze must survive either loss, so a = b = 100 (cost 250), and the worst share is 1."""
    free = replace(inp, required=np.zeros(len(inp.classes)))
    fr = frontier(free, [0.0, 1.0], EXACT)
    assert fr.classes == inp.classes
    assert [p.cost_usd for p in fr.points] == pytest.approx([100.0, 250.0])
    assert fr.points[-1].worst_protected_share == pytest.approx(1.0)


def test_compare_names_each_strategy_by_its_kind_and_says_what_it_solves(inp):
    """The kinds are what the report and JSON group by: one policy plan, one least-cost plan, one plan per
    vendor and per cloud; and the progress line names each solve."""
    heard: list[str] = []
    cmp = compare(inp, EXACT, progress=heard.append)
    kinds = {s.name: s.kind for s in cmp.strategies}
    assert kinds["policy (diversified)"] == "policy" and kinds["least cost (no risk policy)"] == "least-cost"
    assert kinds["only vendor va"] == "single-vendor" and kinds["only provider pb"] == "single-cloud"
    assert "solving: least-cost plan" in heard


def test_frontier_rows_carry_each_level_as_the_required_share(inp):
    rows = frontier(inp, [0.0, 0.5], EXACT).rows()
    assert [r["required_share"] for r in rows] == [0.0, 0.5]
    assert rows[1]["premium_vs_first"] == pytest.approx(0.1)      # 110 against 100


def test_a_restricted_problem_keeps_the_failures_that_touch_what_it_keeps(inp):
    """Restricted to offering a, the loss of a still applies (sliced to a's column) and the loss of b,
    which touches nothing left, is dropped: a single-vendor plan is judged on the failures it can meet."""
    only_a = inp.restrict(np.array([True, False]), "only a")
    assert [c.id for c in only_a.contingencies] == ["lose-a"]
    assert only_a.contingencies[0].keep.tolist() == [0.0] and only_a.O == 1


def test_simple_inputs_offer_all_of_a_spot_market_unless_told():
    offs = [dict(id="a", on_demand=1.0, spot=0.4), dict(id="b", on_demand=1.0, spot=0.4, spot_avail=0.25)]
    inp = simple_inputs(offerings=offs, workloads=[dict(id="w", demand=10.0, rates={"a": 1.0, "b": 1.0})])
    assert inp.spot_avail.tolist() == [1.0, 0.25]


def test_inputs_with_negative_demand_are_refused_naming_the_field():
    from polyfleet.errors import UserError
    with pytest.raises(UserError) as err:
        simple_inputs(offerings=[dict(id="a", on_demand=1.0)], workloads=[dict(id="w", demand=-1.0, rates={"a": 1.0})])
    assert str(err.value) == "PlanInputs.demand: demand must be >= 0"


def test_a_restricted_problem_keeps_each_kept_offerings_share_measure():
    """A power-measured share cap counts MW per chip; restricted to a and c, the cap still weighs a at
    1 kW and c at 3 kW a chip (not 1 chip each, which would loosen a cap on the heavier chip)."""
    offs = [dict(id=i, on_demand=1.0, mw_per_chip=mw) for i, mw in (("a", 0.001), ("b", 0.002), ("c", 0.003))]
    inp = simple_inputs(offerings=offs, workloads=[dict(id="w", demand=10.0, rates={"a": 1.0, "b": 1.0, "c": 1.0})],
                        share_coef=np.array([0.001, 0.002, 0.003]), name="three chips")
    assert inp.name == "three chips"
    kept = inp.restrict(np.array([True, False, True]), "a and c")
    assert kept.share_coef.tolist() == [0.001, 0.003] and kept.facts.ids == ("a", "c")
