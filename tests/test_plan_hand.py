"""Small plans whose optimum is derived by hand (the reasoning is in each test's docstring).

Units: demand in tokens per hour, rates in tokens per chip-hour, prices per chip-hour; `hours=1`
makes a month cost price x chips, so the sums can be checked on paper.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from polyfleet.plan import (Cap, Contingency, PlanOptions, PowerLimit, SolveOptions, SupplyLimit, plan,
                            simple_inputs)

EXACT = PlanOptions(solve=SolveOptions(mip_rel_gap=1e-9, time_limit=30))


def two_vendors(demand=100.0, months=1, **kw):
    offs = [dict(id="a", vendor="va", provider="pa", family="gpu", on_demand=1.0, mw_per_chip=0.001),
            dict(id="b", vendor="vb", provider="pb", family="tpu", on_demand=1.5, mw_per_chip=0.001)]
    wls = [dict(id="w", demand=demand, rates={"a": 1.0, "b": 1.0}, classes={"gold": 1.0})]
    return simple_inputs(offerings=offs, workloads=wls, months=months, hours=1.0, classes={"gold": 0.0}, **kw)


def lose(i: int, n: int = 2, name: str = "") -> Contingency:
    keep = np.ones(n)
    keep[i] = 0.0
    return Contingency(name or f"lose-{i}", f"loss of {i}", "vendor", keep, np.zeros(n, bool))


def test_whole_units_round_up_demand():
    """Demand 100 tokens/h at 10 tokens/chip-h needs 10 chips; units of 4 chips -> 3 units = 12 chips
    at $2/chip-h for 730 h: 3 x 4 x 2 x 730 = $17,520."""
    inp = simple_inputs(offerings=[dict(id="o", unit_chips=4, on_demand=2.0)],
                        workloads=[dict(id="w", demand=100.0, rates={"o": 10.0})])
    r = plan(inp, EXACT)
    assert r.solution.optimal and r.units[0, 0, 0] == 3
    assert r.total_cost == pytest.approx(17_520.0)


def test_cheapest_price_per_token_wins():
    """b is twice as fast for 1.5x the price: $0.75 per unit of work against a's $1."""
    inp = simple_inputs(offerings=[dict(id="a", on_demand=1.0), dict(id="b", on_demand=1.5)],
                        workloads=[dict(id="w", demand=100.0, rates={"a": 1.0, "b": 2.0})], hours=1.0)
    r = plan(inp, EXACT)
    assert r.units[:, 0, 0].tolist() == [0, 50] and r.total_cost == pytest.approx(75.0)


def test_survivability_forces_a_second_vendor_and_the_premium_is_exact():
    """Demand 100; a costs 1, b 1.5 per chip. Alone, a serves it for 100. Requiring 50% to survive the
    loss of either vendor means each must hold >= 50 chips, and a + b >= 100: a = b = 50, cost 125.
    The premium of survivability is 50 x (1.5 - 1) = 25."""
    base = two_vendors()
    cheap = plan(base, EXACT)
    assert cheap.units[:, 0, 0].tolist() == [100, 0] and cheap.total_cost == pytest.approx(100.0)
    safe = plan(replace(base, required=np.array([0.5]), contingencies=(lose(0), lose(1))), EXACT)
    assert safe.solution.optimal
    assert safe.units[:, 0, 0].tolist() == [50, 50]
    assert safe.total_cost - cheap.total_cost == pytest.approx(25.0)
    rows = {r["failure"]: r for r in safe.survivability.rows()}
    assert rows["lose-0"]["gold"] == pytest.approx(0.5) and rows["lose-1"]["gold"] == pytest.approx(0.5)
    assert any(b.kind == "survive" for b in safe.binding)


def test_unequal_requirements_by_tier():
    """Tiers 40% gold (must keep 100%) and 60% bronze (0%): after losing a, b alone must carry 40."""
    base = two_vendors()
    inp = replace(base, classes=("gold", "bronze"), class_share=np.array([[0.4, 0.6]]),
                  required=np.array([1.0, 0.0]), loss_usd_per_mtok=np.array([10.0, 10.0]),
                  contingencies=(lose(0),))
    r = plan(inp, EXACT)
    assert r.units[:, 0, 0].tolist() == [60, 40] and r.total_cost == pytest.approx(60 + 60)


def test_vendor_new_supply_stop():
    """Demand [100, 200]; a costs 1, b 3. Failure: a's new supply stops for one month (its capacity in a
    month is at most what it held the month before; before the horizon it held nothing). Everything must
    survive. Month 1 therefore needs b = 100. With a1 = x, month 2 needs min(a2, x) + b2 >= 200: the
    cheapest is x = a2 = 200, b2 = 0: cost (200 + 300) + 200 = 700 (vs 300 without the failure)."""
    base = two_vendors(demand=[100.0, 200.0], months=2)
    base = replace(base, price=np.array([[1.0, np.nan, np.nan, np.nan], [3.0, np.nan, np.nan, np.nan]]))
    stop = Contingency("stop-a", "a stops", "supply", np.ones(2), np.array([True, False]), delay=1)
    r = plan(replace(base, required=np.array([1.0]), contingencies=(stop,)), EXACT)
    assert r.total_cost == pytest.approx(700.0)
    assert r.units[0, 0].tolist() == [200, 200] and r.units[1, 0].tolist() == [100, 0]
    assert plan(base, EXACT).total_cost == pytest.approx(300.0)


def test_concentration_cap_splits_capacity():
    """A cap of 60% on vendor va (by chips): a = 60, b = 40, cost 60 + 60 = 120."""
    base = two_vendors()
    cap = Cap("vendor", "va", np.array([True, False]), 0.6)
    r = plan(replace(base, caps=(cap,), share_coef=np.ones(2)), EXACT)
    assert r.units[:, 0, 0].tolist() == [60, 40] and r.total_cost == pytest.approx(120.0)
    assert any(b.kind == "cap" for b in r.binding)


def test_supply_and_power_limits_bind_and_are_reported():
    """a may hold only 70 chips (supply) -> b takes 30: cost 70 + 45 = 115. A 0.09 MW limit on a alone
    (0.001 MW per chip) then allows 90 chips, which the supply limit already undercuts."""
    base = two_vendors()
    sup = SupplyLimit("a-supply", np.array([True, False]), np.ones(4, bool), np.array([70.0]))
    pw = PowerLimit("a-site", np.array([True, False]), np.array([0.09]))
    r = plan(replace(base, supply=(sup,), power=(pw,)), EXACT)
    assert r.total_cost == pytest.approx(115.0)
    kinds = {b.kind: b for b in r.binding}
    assert "supply" in kinds and kinds["supply"].shadow_price == pytest.approx(0.5)   # b costs 0.5 more per chip
    assert "power" not in kinds


def test_commitment_beats_on_demand_for_a_steady_year():
    """12 steady months: on-demand $1/chip-h, 1y commitment $0.7: commit 10 chips once: 12 x 10 x 0.7 = 84."""
    offs = [dict(id="a", on_demand=1.0, commit_1y=0.7)]
    inp = simple_inputs(offerings=offs, workloads=[dict(id="w", demand=10.0, rates={"a": 1.0})], months=12,
                        hours=1.0)
    r = plan(inp, EXACT)
    assert r.starts[0, 2, 0] == 10 and r.starts[0, 2, 1:].sum() == 0
    assert r.total_cost == pytest.approx(84.0)


def test_commitment_tail_full_vs_prorated():
    """Demand only in the last 4 of 12 months. Prorated, a 1y commitment started in month 9 costs 4 x 0.7
    < 4 x 1 on-demand; counted in full it costs 12 x 0.7 = 8.4 > 4, so on-demand wins."""
    offs = [dict(id="a", on_demand=1.0, commit_1y=0.7)]
    wl = [dict(id="w", demand=[0.0] * 8 + [1.0] * 4, rates={"a": 1.0})]
    pro = plan(simple_inputs(offerings=offs, workloads=wl, months=12, hours=1.0), EXACT)
    full = plan(simple_inputs(offerings=offs, workloads=wl, months=12, hours=1.0, commitment_tail="full"), EXACT)
    assert pro.starts[0, 2].sum() == 1 and pro.solution.objective == pytest.approx(2.8)
    assert pro.obligation_after_usd == pytest.approx(8 * 0.7)
    assert full.starts[0, 2].sum() == 0 and full.solution.objective == pytest.approx(4.0)


def test_spot_counts_at_its_availability():
    """Spot at $0.3 counts as half a chip: $0.6 per firm chip beats on-demand $1, up to 40 spot chips (20
    firm); the other 80 firm chips are on-demand: 40 x 0.3 + 80 = 92."""
    offs = [dict(id="a", on_demand=1.0, spot=0.3, spot_avail=0.5, max_units=40)]
    inp = simple_inputs(offerings=offs, workloads=[dict(id="w", demand=100.0, rates={"a": 1.0})], hours=1.0)
    inp = replace(inp, unit_ub=np.where(np.isnan(inp.price)[:, :, None], 0.0,
                                        np.array([np.inf, 40, 0, 0])[None, :, None]))
    r = plan(inp, EXACT)
    assert r.units[0, :2, 0].tolist() == [80, 40] and r.total_cost == pytest.approx(92.0)


def test_training_window_runs_at_one_chip_count_with_goodput_headroom():
    """A run of 300 tokens/h-months inside months 2..4, rate 1, default goodput 0.9. Any start gives the same
    chip-months, but at most 120 units a month leaves only the first: one constant chip count
    300 / (0.9 x 3) = 111.1 chips in each month of the window, 112 whole units at $1 = 336, none outside
    (a start in month 3 would need 166.7 chips)."""
    inp = simple_inputs(offerings=[dict(id="a", on_demand=1.0, max_units=120)],
                        workloads=[dict(id="w", demand=0.0, rates={"a": 1.0})], months=5, hours=1.0)
    window = np.array([[False, True, True, True, False]])
    r = plan(replace(inp, window_tokens=np.array([300.0]), window=window, kinds=("training",)), EXACT)
    assert r.units[0, 0].tolist() == [0, 112, 112, 112, 0] and r.total_cost == pytest.approx(336.0)
    assert r.allocation[0, 0].tolist() == pytest.approx([0, 300 / 2.7, 300 / 2.7, 300 / 2.7, 0])
    assert r.clusters[0]["tokens_planned"] == pytest.approx(300.0)


def test_porting_cost_is_paid_once_when_worth_it():
    """Work only runs on family gpu without porting; tpu is 40% cheaper per chip but costs $30 to port.
    Demand 100 for 1 month: 100 on gpu (100) beats 60 + 30 = 90? No: 90 < 100, so port. With a $50
    porting cost (110 > 100) it stays on gpu."""
    offs = [dict(id="g", family="gpu", on_demand=1.0), dict(id="t", family="tpu", on_demand=0.6)]
    base = simple_inputs(offerings=offs, workloads=[dict(id="w", demand=100.0, rates={"g": 1.0, "t": 1.0})],
                         hours=1.0)
    port = np.zeros((1, 3))
    port[0, 0] = 30.0                                   # FAMILIES = (tpu, trainium, gpu)
    r = plan(replace(base, port_cost=port), EXACT)
    assert r.units[:, 0, 0].tolist() == [0, 100] and r.porting_usd == 30.0 and r.total_cost == pytest.approx(90)
    port[0, 0] = 50.0
    r = plan(replace(base, port_cost=port), EXACT)
    assert r.units[:, 0, 0].tolist() == [100, 0] and r.porting_usd == 0.0


def test_infeasible_plan_names_the_conflicting_constraints():
    """Demand 200 in month 3 but a 0.15 MW power limit (150 chips): the report names month 3, the
    shortfall (25% of demand) and the power limit, instead of a bare 'infeasible'."""
    base = two_vendors(demand=[100.0, 100.0, 200.0], months=3)
    pw = PowerLimit("site", np.array([True, True]), np.array([1.0, 1.0, 0.15]))
    r = plan(replace(base, power=(pw,)), EXACT)
    assert not r.feasible and r.solution.status == "Infeasible"
    c = r.diagnosis.conflicts[0]
    assert c.kind == "demand" and c.months == (2,) and c.worst_share == pytest.approx(0.25, rel=1e-3)
    assert any("power limit 'site'" in line for line in r.diagnosis.lines())
    assert r.to_dict()["infeasibility"]["conflicts"][0]["months"] == ["m3"]


def test_workload_no_offering_can_run_is_named():
    inp = simple_inputs(offerings=[dict(id="a", on_demand=1.0)],
                        workloads=[dict(id="w", demand=10.0, rates={"a": 0.0})])
    inp = replace(inp, reasons=np.array([["model weights do not fit"]], dtype=object))
    r = plan(inp, EXACT)
    assert not r.feasible
    assert any("no offering in the plan can run w" in line and "do not fit" in line for line in r.diagnosis.lines())


def test_cvar_term_buys_insurance_only_when_the_loss_is_worth_it():
    """One what-if, 'a is lost' with probability 0.5. alpha = 0: CVaR = expected loss. Unserved demand is
    valued at $2 per token (2e6 per million): all on a costs 100 + 0.5 x 2 x 100 = 200; every chip moved
    to b costs 0.5 more and saves 1, so all on b: 150. At $0.2 per token all-on-a costs 110 < 150."""
    from polyfleet.plan import CvarCase
    base = two_vendors()
    case = CvarCase("a-down", 0.5, lose(0, name="a-down"))
    for loss, expect, held in ((2e6, 150.0, [0, 100]), (0.2e6, 110.0, [100, 0])):
        inp = replace(base, cvar_cases=(case,), cvar_alpha=0.0, cvar_weight=1.0, loss_usd_per_mtok=np.array([loss]))
        r = plan(inp, EXACT)
        assert r.units[:, 0, 0].tolist() == held
        assert r.solution.objective == pytest.approx(expect, rel=1e-6)


def test_the_start_point_never_changes_the_answer():
    """Regression: HiGHS 1.16, given our rounded start, returned a point costing 10.5 while reporting the
    optimum 9 (a presolved-away column kept the start's value). The planner checks the point against the
    objective and the rows and solves again without the start when they disagree. Optimum: one 4-chip
    unit of o1 on a 1y commitment, 3 months x 4 x 0.75 = 9."""
    offs = [dict(id="o0", vendor="v0", unit_chips=1, on_demand=1.0, commit_1y=0.5),
            dict(id="o1", vendor="v1", unit_chips=4, on_demand=1.0, commit_1y=0.75)]
    inp = simple_inputs(offerings=offs, workloads=[dict(id="w", demand=[1.0, 1.0, 1.0], rates={"o0": 1.0, "o1": 1.0})],
                        months=3, hours=1.0)
    inp = replace(inp, caps=(Cap("vendor", "v0", np.array([True, False]), 0.5),), share_coef=np.ones(2))
    for heuristic in (True, False):
        r = plan(inp, PlanOptions(solve=SolveOptions(mip_rel_gap=1e-9, start_heuristic=heuristic)))
        assert r.total_cost == pytest.approx(9.0) and r.solution.objective == pytest.approx(9.0)
