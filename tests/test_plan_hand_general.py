"""Hand-derived plans away from the degenerate points of test_plan_hand.py.

There, spot availability is 0.5, the survival requirement 0.5, every failure keeps 0 or 1 of an offering
and the one CVaR case has probability 0.5 at alpha 0: a formula that swaps p and 1 - p, keep and 1 - keep
or alpha and 1 - alpha gives the same answer. Here each of those takes a value where it does not.
Units as there: hours=1, demand in tokens/h, rates in tokens per chip-hour, a month costs price x chips.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from polyfleet.plan import Contingency, CvarCase, PlanOptions, SolveOptions, plan, simple_inputs

EXACT = PlanOptions(solve=SolveOptions(mip_rel_gap=1e-9, time_limit=30))


def two_vendors(demand=100.0, months=1, **kw):
    """a: $1 per chip-hour, b: $1.5; one token/h per chip on both."""
    offs = [dict(id="a", vendor="va", provider="pa", family="gpu", on_demand=1.0, mw_per_chip=0.001),
            dict(id="b", vendor="vb", provider="pb", family="tpu", on_demand=1.5, mw_per_chip=0.001)]
    wls = [dict(id="w", demand=demand, rates={"a": 1.0, "b": 1.0}, classes={"gold": 1.0})]
    return simple_inputs(offerings=offs, workloads=wls, months=months, hours=1.0, classes={"gold": 0.0}, **kw)


def keeping(keep_a: float, keep_b: float, name: str) -> Contingency:
    return Contingency(name, name, "region", np.array([keep_a, keep_b]), np.zeros(2, bool))


@pytest.mark.parametrize("required,held,cost", [
    (0.7, [70, 70], 70 + 70 * 1.5),     # each vendor alone must carry 70: a = b = 70 (more than demand)
    (0.3, [70, 30], 70 + 30 * 1.5),     # b must carry 30 when a is lost; a fills the rest of the 100
])
def test_survival_requirement_away_from_one_half(required, held, cost):
    """Demand 100; losing either vendor must leave `required` x 100: a >= 100 r, b >= 100 r, a + b >= 100.
    r = 0.7: a = b = 70, cost 70 + 105 = 175. r = 0.3: b = 30 (b is dearer), a = 70, cost 70 + 45 = 115.
    A formula that used 1 - r would swap the two answers."""
    lose_a, lose_b = keeping(0.0, 1.0, "lose-a"), keeping(1.0, 0.0, "lose-b")
    r = plan(replace(two_vendors(), required=np.array([required]), contingencies=(lose_a, lose_b)), EXACT)
    assert r.solution.optimal
    assert r.units[:, 0, 0].tolist() == held
    assert r.total_cost == pytest.approx(cost)
    rows = {row["failure"]: row for row in r.survivability.rows()}
    assert rows["lose-a"]["gold"] == pytest.approx(held[1] / 100)       # b alone serves b of 100
    assert rows["lose-b"]["gold"] == pytest.approx(min(held[0], 100) / 100)


def test_a_partial_loss_keeps_its_share_of_the_offering():
    """A region outage keeps 40% of a's chips and all of b's; 80% must survive it.
    Constraints: a + b >= 100, 0.4 a + b >= 80; minimise a + 1.5 b over whole chips. The LP vertex is
    a = 100/3, b = 200/3; among whole chips a = 33, b = 67 (13.2 + 67 = 80.2) costs 33 + 100.5 = 133.5,
    below a = 34, b = 66 (infeasible: 79.6) and a = 35, b = 66 (134). Reading keep as the share lost
    (0.6 a + b >= 80) would give a = 50, b = 50 at 125."""
    outage = keeping(0.4, 1.0, "a-region")
    r = plan(replace(two_vendors(), required=np.array([0.8]), contingencies=(outage,)), EXACT)
    assert r.solution.optimal
    assert r.units[:, 0, 0].tolist() == [33, 67]
    assert r.total_cost == pytest.approx(133.5)
    rows = {row["failure"]: row for row in r.survivability.rows()}
    assert rows["none"]["gold"] == pytest.approx(1.0)
    assert rows["a-region"]["gold"] == pytest.approx((0.4 * 33 + 67) / 100)      # 0.802


def test_spot_at_seventy_percent_availability():
    """Spot at $0.42 with availability 0.7 counts as 0.7 of a chip: $0.6 per firm chip against on-demand $1.
    Up to 40 spot units (28 firm chips); on-demand covers the other 72: 40 x 0.42 + 72 = 88.8.
    Swapping availability for 1 - availability (0.3) would make spot $1.40 per firm chip: never bought."""
    offs = [dict(id="a", on_demand=1.0, spot=0.42, spot_avail=0.7, max_units=40)]
    inp = simple_inputs(offerings=offs, workloads=[dict(id="w", demand=100.0, rates={"a": 1.0})], hours=1.0)
    inp = replace(inp, unit_ub=np.where(np.isnan(inp.price)[:, :, None], 0.0,
                                        np.array([np.inf, 40, 0, 0])[None, :, None]))
    r = plan(inp, EXACT)
    assert r.units[0, :2, 0].tolist() == [72, 40]
    assert r.total_cost == pytest.approx(88.8)


@pytest.mark.parametrize("loss_per_token,held,objective", [
    (2.0, [0, 100], 150.0),          # each chip moved to b costs 0.5 and saves 0.4 x 2 = 0.8: move all
    (1.0, [100, 0], 100.0 + 40.0),   # saves 0.4 < 0.5: stay on a and carry CVaR 0.4 x 100
])
def test_cvar_of_a_rare_loss_in_the_tail(loss_per_token, held, objective):
    """'a is lost' with probability 0.2; CVaR at alpha 0.5 (the worst half of outcomes) with weight 1.
    The tail of mass 0.5 holds the loss with probability 0.2 and nothing with 0.3, so CVaR = 0.2 L / 0.5
    = 0.4 L, L = (chips on a) x loss per token. Objective = cost + CVaR. With p and 1 - p swapped (0.8),
    or 1 - alpha in place of alpha's tail, the threshold per token would move away from 1.25."""
    case = CvarCase("a-down", 0.2, keeping(0.0, 1.0, "a-down"))
    inp = replace(two_vendors(), cvar_cases=(case,), cvar_alpha=0.5, cvar_weight=1.0,
                  loss_usd_per_mtok=np.array([loss_per_token * 1e6]))
    r = plan(inp, EXACT)
    assert r.units[:, 0, 0].tolist() == held
    assert r.solution.objective == pytest.approx(objective, rel=1e-6)


def test_an_unmeetable_survival_requirement_is_named_with_its_failures_label():
    """b may hold at most 30 chips, but surviving 'a goes dark' with half of demand 100 needs b >= 50:
    no plan exists, and the diagnosis names the failure by its label and the shortfall, 20 of the
    required 50 (40%)."""
    from polyfleet.plan import SupplyLimit
    dark = Contingency("a-dark", "vendor a goes dark", "vendor", np.array([0.0, 1.0]), np.zeros(2, bool))
    cap_b = SupplyLimit("b-supply", np.array([False, True]), np.ones(4, bool), np.array([30.0]))
    r = plan(replace(two_vendors(), required=np.array([0.5]), contingencies=(dark,), supply=(cap_b,)), EXACT)
    assert not r.feasible
    lines = " ".join(r.diagnosis.lines())
    assert "under 'vendor a goes dark'" in lines
    (c,) = [c for c in r.diagnosis.conflicts if c.kind == "survive"]
    assert c.worst_share == pytest.approx(0.4, rel=1e-3)


def test_progress_names_each_step():
    """A caller's progress callback hears the steps in order, the model built before it is solved."""
    heard: list[str] = []
    plan(two_vendors(), EXACT, progress=heard.append)
    assert heard and heard[0] == "building the model"
    assert any("solv" in m for m in heard[1:])


def test_a_stopped_supply_keeps_the_lesser_of_now_and_before():
    """a ($1) stops taking new supply for a month, c ($0.5) is lost, b ($3) is untouched; all of demand
    [100, 50] must survive. Under the failure a keeps min(what it holds now, what it held a month
    before); before the horizon it held nothing, so month 1 needs b = 100 ($300). In month 2 the cheapest
    way to keep 50 is a = 50 in both months ($50 + $50) rather than b = 50 ($150); holding a only in month
    1 and serving month 2 from c ($25) would count chips a no longer holds. Total $400."""
    offs = [dict(id="a", vendor="va", on_demand=1.0), dict(id="b", vendor="vb", on_demand=3.0),
            dict(id="c", vendor="vc", on_demand=0.5)]
    inp = simple_inputs(offerings=offs, workloads=[dict(id="w", demand=[100.0, 50.0],
                                                        rates={"a": 1.0, "b": 1.0, "c": 1.0}, classes={"gold": 1.0})],
                        months=2, hours=1.0, classes={"gold": 0.0})
    stop = Contingency("a-stops", "a stops, c lost", "supply", np.array([1.0, 1.0, 0.0]),
                       np.array([True, False, False]), delay=1)
    r = plan(replace(inp, required=np.array([1.0]), contingencies=(stop,)), EXACT)
    assert r.total_cost == pytest.approx(400.0)
    assert r.units[:, 0, :].tolist() == [[50, 50], [100, 0], [0, 0]]


def test_a_ramp_limits_growth_not_the_level():
    """Demand 30, 60, 90 a month; a ($1) may add at most 30 chips a month, b costs $2. a grows 30, 60, 90
    and carries everything: 180 chip-months at $1. A ramp read as a cap on the level (30) would put
    30 + 60 chips on b and cost 270."""
    from polyfleet.plan import SupplyLimit
    base = two_vendors(demand=[30.0, 60.0, 90.0], months=3)
    base = replace(base, price=np.array([[1.0, np.nan, np.nan, np.nan], [2.0, np.nan, np.nan, np.nan]]))
    for terms in (np.ones(4, bool), np.array([True, False, False, False])):      # every term; on-demand only
        ramp = SupplyLimit("a-ramp", np.array([True, False]), terms, None, np.full(3, 30.0))
        r = plan(replace(base, supply=(ramp,)), EXACT)
        assert r.units[0, 0].tolist() == [30, 60, 90] and r.units[1, 0].tolist() == [0, 0, 0]
        assert r.total_cost == pytest.approx(180.0)


def test_a_binding_limit_is_named_with_its_months():
    """Demand 100, 100, 200 under a power limit of 0.15 MW in month 3 only (150 chips): the limits at their
    bound are the power limit, in month 3 alone."""
    from polyfleet.plan import PowerLimit
    base = two_vendors(demand=[100.0, 100.0, 200.0], months=3)
    pw = PowerLimit("site", np.array([True, True]), np.array([1.0, 1.0, 0.15]))
    r = plan(replace(base, power=(pw,)), EXACT)
    assert r.diagnosis.limits == ["power limit 'site' (m3)"]

