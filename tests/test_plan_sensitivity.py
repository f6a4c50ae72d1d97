"""The sensitivity table: hand-derived swings, infeasible ends shown, rows sorted by swing."""

from __future__ import annotations

import numpy as np
import pytest

from polyfleet.plan import simple_inputs
from polyfleet.plan.inputs import SupplyLimit
from polyfleet.plan.sensitivity import rate_levers, sensitivity
from polyfleet.plan.solve import SolveOptions

EXACT = SolveOptions(mip_rel_gap=1e-9)


def two_vendors(**kw):
    """Vendor a: $2/chip-h on-demand, at most 6 units; vendor b: $2.2, unlimited; demand 10 chips, 730 h."""
    return simple_inputs(offerings=[{"id": "a1", "vendor": "a", "on_demand": 2.0, "max_units": 6},
                                    {"id": "b1", "vendor": "b", "on_demand": 2.2}],
                         workloads=[{"id": "chat", "demand": 10.0, "rates": {"a1": 1.0, "b1": 1.0}}], **kw)


@pytest.mark.parametrize("relax", [False, True])
def test_vendor_price_swing_is_the_hand_computation(relax):
    # base: 6 x 2 x 730 + 4 x 2.2 x 730 = 15,184. a at -20% ($1.6): 6 x 1.6 x 730 + 4 x 2.2 x 730 = 13,432.
    # a at +20% ($2.4 > b's $2.2): all 10 on b = 16,060. Swing 2,628.
    # b at -20% ($1.76 < a): all on b = 12,848; b at +20% ($2.64): 8,760 + 4 x 2.64 x 730 = 16,468.8. Swing 3,620.8.
    s = sensitivity(two_vendors(), EXACT, relax=relax)
    rows = {r["input"]: r for r in s.rows}
    assert s.base_usd == pytest.approx(15_184)
    assert rows["price a"]["cost_low_usd"] == pytest.approx(13_432)
    assert rows["price a"]["cost_high_usd"] == pytest.approx(16_060)
    assert rows["price a"]["swing_usd"] == pytest.approx(2_628)
    assert rows["price b"]["swing_usd"] == pytest.approx(3_620.8)
    # demand x0.75 / x1.25 (b's unit-month $1,606): LP 7.5 chips -> 8,760 + 1.5 x 1,606 = 11,169, 12.5 -> 19,199;
    # MILP (whole units) 8 -> 11,972, 13 -> 20,002: the same swing, 8,030, since both ends round up half a unit
    assert rows["demand chat"]["swing_usd"] == pytest.approx(19_199 - 11_169)
    swings = [r["swing_usd"] for r in s.rows]
    assert swings == sorted(swings, reverse=True)


def test_an_end_without_a_plan_is_shown_and_sorted_first():
    # a supply limit of 10 chips on both offerings: at -20% (8 chips) demand 10 cannot be met, nor can
    # demand x1.25 (12.5 chips) or rates x0.85 (10 / 0.85 = 11.8 chips) under the limit
    both = np.ones(2, bool)
    inp = two_vendors(supply=(SupplyLimit("all", both, np.ones(4, bool), max_chips=np.array([10.0])),))
    s = sensitivity(inp, EXACT)
    rows = {r["input"]: r for r in s.rows}
    assert rows["supply all"]["cost_low_usd"] is None and rows["supply all"]["swing_usd"] is None
    assert rows["supply all"]["cost_high_usd"] == pytest.approx(15_184)
    assert rows["demand chat"]["cost_high_usd"] is None and rows["demand chat"]["cost_low_usd"] is not None
    assert {r["input"] for r in s.rows if r["infeasible_end"]} == {"supply all", "demand chat", "rates gpu"}
    assert [r["infeasible_end"] for r in s.rows] == [True] * 3 + [False] * (len(s.rows) - 3)


def test_rate_band_is_used_when_given_else_fifteen_percent():
    inp = two_vendors()
    lo, hi = inp.rate * 0.5, inp.rate * 2.0
    banded = rate_levers(inp, lo, hi)
    assert [lv.low_label for lv in banded] == ["P10"] and np.allclose(banded[0].low.rate, lo)
    plain = rate_levers(inp)
    assert plain[0].low_label == "-15%" and np.allclose(plain[0].high.rate, inp.rate * 1.15)


def test_a_power_limit_is_a_lever_of_its_own():
    """Two power limits: the lever on the first scales its MW by 0.8 and 1.2 and leaves the second alone.
    With 10 chips of 1 kW against a 10 kW limit, the -20% end has no plan and the +20% end costs the base."""
    from polyfleet.plan.inputs import PowerLimit
    from polyfleet.plan.sensitivity import limit_levers
    both = np.ones(2, bool)
    inp = simple_inputs(offerings=[{"id": "a1", "vendor": "a", "on_demand": 2.0, "max_units": 6, "mw_per_chip": 0.001},
                                   {"id": "b1", "vendor": "b", "on_demand": 2.2, "mw_per_chip": 0.001}],
                        workloads=[{"id": "chat", "demand": 10.0, "rates": {"a1": 1.0, "b1": 1.0}}],
                        power=(PowerLimit("dc", both, np.array([0.010])), PowerLimit("grid", both, np.array([1.0]))))
    lv = next(x for x in limit_levers(inp) if x.name == "power dc")
    assert lv.low.power[0].mw.tolist() == pytest.approx([0.008])
    assert lv.high.power[0].mw.tolist() == pytest.approx([0.012])
    assert lv.low.power[1].mw.tolist() == [1.0] and len(lv.low.power) == 2
    rows = {r["input"]: r for r in sensitivity(inp, EXACT).rows}
    assert rows["power dc"]["cost_low_usd"] is None and rows["power dc"]["cost_high_usd"] == pytest.approx(15_184)
