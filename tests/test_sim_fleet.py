"""The fleet simulator: analytic cases, conservation, priority under faults, determinism."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polyfleet.place.inference_synthetic import table_from_arrays
from polyfleet.scenario.faults import ChipFailures, Faults
from polyfleet.scenario.resolve import OfferingFacts
from polyfleet.scenario.simulation import SimOptions, TrafficShape
from polyfleet.sim.faults import DAY, HOUR, MONTH, FaultEvent, Universe
from polyfleet.sim.fleet import simulate
from polyfleet.sim.schedule import FleetSchedule
from polyfleet.sim.setup import SimSetup

FLAT = TrafficShape(daily_peak_to_mean=1.0, weekend_factor=1.0, noise_sigma=0.0)
NO_FAILURES = Faults(chip_failures=ChipFailures(annual_failure_rate=0.0))


def make_setup(chips, demand, *, rates=None, vendors=None, classes=("enterprise", "self-serve"),
               share=None, months=2, step_minutes=15.0) -> SimSetup:
    """Pools of 1-chip replicas; `rates[s][p]` tokens/s per chip (default 1); `chips[p][t]` per month;
    `demand[s][t]` tokens/s (flat within a month). 15-minute steps divide a month (43,830 minutes)."""
    chips = np.asarray(chips, dtype=float)
    P, T = chips.shape
    demand = np.asarray(demand, dtype=float)
    S = demand.shape[0]
    rates = np.ones((S, P)) if rates is None else np.asarray(rates, dtype=float)
    vendors = vendors or [f"v{p}" for p in range(P)]
    pools = tuple(f"x/pool{p}/r{p}" for p in range(P))
    table = table_from_arrays([f"s{i}" for i in range(S)], pools, rates * 3600.0, 1, [1.0] * P)
    facts = OfferingFacts(ids=pools, accelerator=tuple(f"acc{p}" for p in range(P)), vendor=tuple(vendors),
                          family=("gpu",) * P, provider=tuple("x" for _ in range(P)),
                          region=tuple(f"x/r{p}" for p in range(P)))
    zero = np.zeros((P, T))
    sched = FleetSchedule(facts=facts, firm=chips, spot=zero, committed=zero, price=np.ones((P, 4)),
                          cost=np.ones((P, 4, T)), facility_watts=np.full(P, 1000.0), training=zero,
                          months=tuple(f"2026-{m + 1:02d}" for m in range(T)), hours_per_month=730.0)
    share = np.asarray(share if share is not None else [[1.0] + [0.0] * (len(classes) - 1)] * S)
    universe = Universe(regions=tuple(("x", f"r{p}") for p in range(P)), vendors=tuple(sorted(set(vendors))),
                        offerings=pools)
    return SimSetup(name="t", schedule=sched, table=table, kinds=("inference",) * S, demand=demand,
                    peak_factor=np.ones(S), classes=classes, share=share, customers=None,
                    loss_usd_per_mtok=np.ones(len(classes)), training_chips=np.zeros(S), faults=NO_FAILURES,
                    universe=universe, options=SimOptions(months=months, step_minutes=step_minutes, traffic=FLAT))


def test_no_faults_served_is_min_of_demand_and_capacity():
    """One pool of 100 chips at 1 token/s each; demand 150 tokens/s in month 1 and 80 in month 2:
    served = 100 then 80 tokens/s; lost = 50 tokens/s for a month."""
    s = make_setup([[100, 100]], [[150, 80]])
    r = simulate(s, [], np.random.default_rng(0))
    assert r.served_tokens.sum() == pytest.approx((100 + 80) * MONTH, rel=1e-9)
    assert r.unserved_tokens.sum() == pytest.approx(50 * MONTH, rel=1e-9)
    assert r.worst_day_loss[0] == pytest.approx(50 / 150)


def test_outage_of_known_length_loses_what_it_covers():
    """Demand exactly fills one pool (100 tokens/s); a 36-hour outage on day 10 loses
    100 x 36 x 3600 = 12.96M tokens and nothing else."""
    s = make_setup([[100, 100]], [[100, 100]])
    ev = FaultEvent("outage", "region", "x/r0", 10 * DAY, 36 * HOUR)
    r = simulate(s, [ev], np.random.default_rng(0))
    assert r.unserved_tokens.sum() == pytest.approx(100 * 36 * 3600, rel=1e-9)
    (inc,) = r.incidents
    assert inc.unserved_tokens.sum() == pytest.approx(100 * 36 * 3600, rel=1e-9)
    assert inc.impact_hours == pytest.approx(36.0)


def test_failover_to_spare_capacity_loses_nothing():
    """Two pools of 100 chips, demand 100: losing one moves the service to the other."""
    s = make_setup([[100, 100], [100, 100]], [[100, 100]])
    ev = FaultEvent("outage", "region", "x/r0", 3 * DAY, 48 * HOUR)
    r = simulate(s, [ev], np.random.default_rng(0))
    assert r.unserved_tokens.sum() == pytest.approx(0.0, abs=1e-6)
    assert r.placements >= 2


def test_supply_cut_covered_by_margin_protects_the_top_tier():
    """Vendor a grows from 100 to 200 chips in month 2, vendor b holds 100; demand is 150 then
    200 tokens/s, half enterprise, half self-serve. A supply cut of vendor a from month 2 freezes it
    at 100 chips: a 100 + b 100 = 200 still covers 200, so nothing is lost (the margin covers it).
    With b also down for a day, 100 chips remain: enterprise's 100 tokens/s is served in full and
    self-serve loses 100 tokens/s for 24 hours."""
    s = make_setup([[100, 200], [100, 100]], [[150, 200]], vendors=["a", "b"],
                   share=[[0.5, 0.5]])
    cut = FaultEvent("supply_cut", "vendor", "a", 1 * MONTH, 3 * MONTH)
    r = simulate(s, [cut], np.random.default_rng(0))
    assert r.unserved_tokens.sum() == pytest.approx(0.0, abs=1e-6)      # the margin covers the cut
    both = [cut, FaultEvent("outage", "region", "x/r1", 1 * MONTH + DAY, 24 * HOUR)]
    r2 = simulate(s, both, np.random.default_rng(0))
    assert r2.unserved_tokens[0, 0] == pytest.approx(0.0, abs=1e-6)      # enterprise untouched
    assert r2.unserved_tokens[0, 1] == pytest.approx(100 * 24 * 3600, rel=1e-6)


def test_same_seed_same_result_and_noise_changes_it():
    s = replace(make_setup([[100, 120]], [[90, 100]]), options=SimOptions(months=2, step_minutes=30))
    a = simulate(s, [], np.random.default_rng(5))
    b = simulate(s, [], np.random.default_rng(5))
    c = simulate(s, [], np.random.default_rng(6))
    assert np.array_equal(a.served_tokens, b.served_tokens)
    assert not np.array_equal(a.served_tokens, c.served_tokens)


@settings(max_examples=15, deadline=None)
@given(c0=st.integers(0, 300), c1=st.integers(0, 300), d=st.floats(1, 400), day=st.floats(0, 50),
       hours=st.floats(1, 200), share=st.floats(0.01, 0.99))
def test_conservation_and_priority(c0, c1, d, day, hours, share):
    """served + unserved = demand per class; in no hour is the lower class served while the higher one
    (same service) goes short."""
    s = make_setup([[c0, c0], [c1, c1]], [[d, d]], share=[[share, 1 - share]], step_minutes=60.0)
    ev = FaultEvent("outage", "region", "x/r1", day * DAY, hours * HOUR)
    r = simulate(s, [ev], np.random.default_rng(0), keep_series=True)
    assert np.allclose(r.served_tokens + r.unserved_tokens, r.demand_tokens)
    assert (r.served_tokens <= r.demand_tokens * (1 + 1e-9)).all()
    hourly = r.series["hourly_served_share"]
    short = hourly[:, 0] < 1 - 1e-9
    assert (hourly[short, 1] <= 1e-9).all()


def test_training_loses_progress_to_chip_failures():
    """A 65,536-chip run at 0.17 failures per chip-year loses 1.27 failures/h x (5 + 10) min = 31.8% of
    its time with 10-minute checkpoints and 10-minute restarts."""
    from polyfleet.sim.fleet import _training_goodput
    s = make_setup([[100, 100]], [[1, 1]])
    s = replace(s, kinds=("training",), training_chips=np.array([65536.0]),
                faults=Faults(chip_failures=ChipFailures(annual_failure_rate=0.17, checkpoint_interval_minutes=10,
                                                         restart_minutes=10)))
    assert _training_goodput(s)[0] == pytest.approx(1 - 65536 * 0.17 / 8760 * 15 / 60, rel=1e-9)
