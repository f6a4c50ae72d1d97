"""Simulator cases by hand away from single-chip replicas and unit rates (simkit's defaults): with 8-chip
replicas at 2 tokens/s per chip, a formula that counts chips where it should count whole replicas, or
forgets the rate or the replica's size, gives a different number."""

from __future__ import annotations

import numpy as np
import pytest
from simkit import MONTH_S, make_setup

from polyfleet.sim.calendar import DAY, HOUR
from polyfleet.sim.faults import FaultEvent
from polyfleet.sim.fleet import simulate


def run(setup, events=()):
    return simulate(setup, list(events), np.random.default_rng(0))


@pytest.mark.parametrize("demand,served", [(180.0, 180.0), (200.0, 192.0)])
def test_whole_replicas_of_eight_chips(demand, served):
    """100 chips hold floor(100 / 8) = 12 replicas of 8 chips at 2 tokens/s per chip: 12 x 16 = 192
    tokens/s (not 100 x 2 = 200). Demand 180 is served in full; demand 200 loses 8 tokens/s for both
    months, all of it above what the intact fleet can hold ('peaks')."""
    s = make_setup([[100, 100]], [[demand, demand]], rates=[[2.0]], replica_chips=8)
    r = run(s)
    assert r.served_tokens.sum() == pytest.approx(served * 2 * MONTH_S, rel=1e-9)
    assert r.unserved_tokens.sum() == pytest.approx((demand - served) * 2 * MONTH_S, rel=1e-9, abs=1e-6)
    assert r.unserved_by_cause["peaks"].sum() == pytest.approx((demand - served) * 2 * MONTH_S, rel=1e-9, abs=1e-6)


def test_partial_outage_with_multi_chip_replicas():
    """Demand 150 tokens/s split 60/40 (enterprise 90, self-serve 60) on 12 replicas of 8 chips (192
    tokens/s). A 30% outage of the region for 10 h leaves 70 chips: 8 whole replicas, 128 tokens/s.
    Enterprise keeps 90; self-serve gets 38 and loses 22 tokens/s for 10 h = 792,000 tokens, all to the
    fault; the rest of the two months is served in full."""
    s = make_setup([[100, 100]], [[150, 150]], rates=[[2.0]], replica_chips=8, share=[[0.6, 0.4]])
    ev = FaultEvent("outage", "region", "x/r0", 3 * DAY, 10 * HOUR, magnitude=0.3)
    r = run(s, [ev])
    assert r.unserved_tokens[0, 0] == pytest.approx(0.0, abs=1e-6)
    assert r.unserved_tokens[0, 1] == pytest.approx(22 * 10 * 3600, rel=1e-9)
    assert r.unserved_by_cause["faults"][1] == pytest.approx(22 * 10 * 3600, rel=1e-9)
    assert r.served_tokens[0, 0] == pytest.approx(90 * 2 * MONTH_S, rel=1e-9)
    assert r.served_tokens[0, 1] == pytest.approx(60 * 2 * MONTH_S - 22 * 10 * 3600, rel=1e-9)


def test_hourly_series_at_a_step_that_does_not_divide_the_horizon():
    """7-minute steps (the schema allows 1 to 1440): 2 x 730 h hold 12,514 steps, rounded to 9 steps an
    'hour', which leaves 4 steps over; the series keeps the 1,390 whole groups and drops the rest rather
    than failing. 90 tokens/s on 100 chips: every group is served in full."""
    s = make_setup([[100, 100]], [[90, 90]], step_minutes=7.0)
    assert s.n_steps == 12_514
    r = simulate(s, [], np.random.default_rng(0), keep_series=True)
    hourly = r.series["hourly_served_share"]
    assert hourly.shape == (12_514 // 9, 2)
    assert np.all(hourly[:, 0] == pytest.approx(1.0))
    assert np.all(np.isnan(hourly[:, 1]))                 # the second class has no demand


def test_the_daily_cycle_peaks_at_the_services_peak_factor():
    """No weekend dip, no noise, no cycle given: the day follows 1 + (p - 1) cos(theta) with p the
    service's peak factor, 1.5. Mean 80 tokens/s on 100 chips: traffic above 100 is lost where
    40 cos(theta) > 20, i.e. |theta| < pi/3; averaged over the day, (2 x 40 sin(pi/3) - 20 x 2 pi/3) / 2 pi
    = 4.36 tokens/s, all of it above what the intact fleet holds ('peaks')."""
    from dataclasses import replace

    from polyfleet.scenario.simulation import TrafficShape
    shape = TrafficShape(daily_peak_to_mean=None, weekend_factor=1.0, noise_sigma=0.0)
    s = replace(make_setup([[100, 100]], [[80, 80]], traffic=shape), peak_factor=np.array([1.5]))
    r = run(s)
    lost = (2 * 40 * np.sin(np.pi / 3) - 20 * 2 * np.pi / 3) / (2 * np.pi)
    assert r.unserved_tokens.sum() / (2 * MONTH_S) == pytest.approx(lost, rel=0.01)
    assert r.unserved_by_cause["peaks"].sum() == pytest.approx(r.unserved_tokens.sum(), rel=1e-9)
