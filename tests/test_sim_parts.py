"""The simulator's small parts by hand: calendar, traffic cycle, windows and SLO, customers, capacity
under events, serving by cause, training by cause."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from simkit import MONTH_S, make_setup

from polyfleet.scenario.simulation import CustomerModel, TrafficShape
from polyfleet.sim.calendar import Calendar, span, when
from polyfleet.sim.capacity import chips_under, held_month, repair_share
from polyfleet.sim.customers import affected, draw_customers, loss_per_customer
from polyfleet.sim.demand import cycle, daily_peak_for, weekday_level
from polyfleet.sim.faults import FaultEvent
from polyfleet.sim.metrics import slo, worst_window
from polyfleet.sim.serve import serve, unserved_in_order
from polyfleet.sim.training import train


def test_calendar_dates_and_spans():
    cal = Calendar.from_month("2026-03", 730.0)
    assert cal.month_s == 730 * 3600 and cal.start == dt.datetime(2026, 3, 1)
    assert cal.stamp(36 * 3600 + 15 * 60) == "2026-03-02 12:15"
    assert cal.month_index(730 * 3600 - 1) == 0 and cal.month_index(730 * 3600) == 1
    assert cal.first_weekday == 6                                         # 2026-03-01 is a Sunday
    assert (span(45 * 60), span(6 * 3600), span(6.5 * 3600), span(3.5 * 86400)) == ("45 min", "6 h", "6.5 h", "3.5 d")
    assert when(cal, 0.0, 7200.0) == "2026-03-01 00:00, 2 h"


def test_weekends_fall_on_the_calendars_weekends():
    """2026-01-01 is a Thursday (weekday 3): days 2 and 3 are the weekend, at 0.5 of a weekday."""
    shape = TrafficShape(daily_peak_to_mean=1.0, weekend_factor=0.5)
    c = cycle(3600.0, 24 * 14, shape, None, 3)
    day = c.reshape(14, 24).mean(axis=1)
    assert day[2] == pytest.approx(0.5 * day[0]) and day[3] == pytest.approx(0.5 * day[0])
    assert day[4] == pytest.approx(day[0]) and day[9] == pytest.approx(0.5 * day[0])
    assert c.mean() == pytest.approx(1.0)
    assert weekday_level(shape) == pytest.approx(7 / 6)
    assert daily_peak_for(shape, 1.4) == 1.0                              # the shape's own peak wins
    assert daily_peak_for(TrafficShape(weekend_factor=0.5), 1.4) == pytest.approx(1.4 / (7 / 6))


def test_worst_window_and_slo_by_hand():
    """Two classes over 8 steps; windows of 4 steps. Class 0 loses 2 of 40 in the first window (5%),
    nothing in the second; class 1 has no demand (NaN). SLO at 1%: 7 of 8 steps of class 0."""
    demand = np.zeros((8, 2))
    demand[:, 0] = 10.0
    unserved = np.zeros((8, 2))
    unserved[1, 0] = 2.0
    worst, shares = worst_window(demand, unserved, 4)
    assert worst[0] == pytest.approx(0.05) and np.isnan(worst[1])
    assert shares[:, 0].tolist() == pytest.approx([0.05, 0.0])
    got = slo(demand, unserved, 0.01)
    assert got[0] == pytest.approx(7 / 8) and np.isnan(got[1])


def test_customers_share_a_shortfall_in_proportion_to_their_size():
    cust = draw_customers(np.array([3, 2]), np.array([[1.0, 1.0], [0.0, 1.0]]), CustomerModel(),
                          np.random.default_rng(4))
    assert cust.count == 5 and cust.groups.sum() == 5 and (cust.service[cust.tier == 0] == 0).all()
    loss = loss_per_customer(cust, np.array([[100.0, 10.0], [0.0, 40.0]]))
    assert loss[cust.tier == 0].sum() == pytest.approx(100.0)              # tier 0 all on service 0
    assert loss[cust.tier == 1].sum() == pytest.approx(10.0 * (cust.groups[0, 1] > 0) + 40.0 * (cust.groups[1, 1] > 0))
    share = np.zeros((1, 2, 2))
    share[0, 0, 0] = 0.02                                                  # above the 1% threshold
    share[0, 1, 1] = 0.005                                                 # below it
    assert affected(cust, share, 0.01).tolist() == [cust.groups[0, 0]]


def test_capacity_under_each_kind_of_event():
    """Pool 0: 100 firm + 40 spot in month 2 (80 + 20 in month 1). A 25% outage keeps 105; a 50%
    preemption keeps 120; a supply cut started mid-month 2 keeps month 2's 140, one started at its
    start holds month 1's 100. Each kind reports what it takes alone."""
    s = make_setup([[80, 100]], [[1, 1]], spot=[[20, 40]])
    mask = np.array([True])
    ch, lost = chips_under(s, 1, [(FaultEvent("outage", "region", "x/r0", 0.0, 1.0, 0.25), mask)])
    assert ch.tolist() == [105.0] and lost["outage"].tolist() == [35.0]
    ch, lost = chips_under(s, 1, [(FaultEvent("preemption", "region", "x/r0", 0.0, 1.0, 0.5), mask)])
    assert ch.tolist() == [120.0] and lost["preemption"].tolist() == [20.0]
    ch, _ = chips_under(s, 1, [(FaultEvent("supply_cut", "vendor", "v0", 1.5 * MONTH_S, 1.0), mask)])
    assert ch.tolist() == [140.0]
    ch, lost = chips_under(s, 1, [(FaultEvent("supply_cut", "vendor", "v0", 1.0 * MONTH_S, 1.0), mask)])
    assert ch.tolist() == [100.0] and lost["supply_cut"].tolist() == [40.0]
    assert held_month(0.0, MONTH_S) == 0 and held_month(2.2 * MONTH_S, MONTH_S) == 2
    assert repair_share(s) == 0.0


def test_serving_in_order_and_by_cause():
    """One service, classes 60/40 of demand 100, in 3 steps: intact capacity 100, 90, 100; actual 100,
    90, 50; 2% in repair. Step 1: repair alone costs 2 (98 served). Step 2: the intact fleet loses 10
    (peaks: the lower class), repair 1.8 more. Step 3: repair costs 2, the fault takes the serving
    down to 0.98 x 50 = 49: the lower class gets nothing and the upper one 49 of its 60."""
    traffic = np.array([[100.0], [100.0], [100.0]])
    share = np.array([[0.6, 0.4]])
    intact = np.array([[100.0], [90.0], [100.0]])
    actual = np.array([[100.0], [90.0], [50.0]])
    out = serve(traffic, share, intact, actual, 0.02, 1.0)
    assert out.rows.tolist() == [0, 1, 2]                    # 100 > 98: repair touches every step
    assert out.by_cause["peaks"].tolist() == pytest.approx([0.0, 10.0])
    assert out.by_cause["repair"].tolist() == pytest.approx([0.0, 2.0 + 1.8 + 2.0])
    assert out.by_cause["faults"].tolist() == pytest.approx([11.0, 38.0])
    assert out.unserved[-1].tolist() == pytest.approx([11.0, 40.0])
    assert out.demand_tokens.tolist() == pytest.approx([180.0, 120.0])
    assert unserved_in_order(np.array([[5.0, 5.0, 5.0]]), np.array([0, 0, 1]), np.array([[7.0, 1.0]])).tolist() \
        == [[0.0, 3.0, 4.0]]


def test_training_shortfall_split_by_cause():
    """One run, two stretches of 10 s. Pace 10 tokens/s. Stretch 1: intact 8 (placement short 2),
    actual 8. Stretch 2: intact 10, actual 6 by an outage (weight 3) and a slip (weight 1); no repair,
    goodput 0.9. Trained: 8 x 0.9 x 10 + 6 x 0.9 x 10 = 126 of 200; missing 74 tokens: placement 20,
    chip failures (8 + 6) x 0.1 x 10 = 14, outage 40 x 3/4 = 30, slip 10. Over 100 active seconds the
    pace averages 2 tokens/s, so a missing token is 1 / (2 x 86400) days behind."""
    from polyfleet.sim.capacity import CAPACITY_KINDS
    weights = np.zeros((2, 1, len(CAPACITY_KINDS)))
    weights[1, 0, CAPACITY_KINDS.index("outage")] = 3.0
    weights[1, 0, CAPACITY_KINDS.index("delivery_slip")] = 1.0
    t = train(np.array([[10.0], [10.0]]), np.array([[8.0], [10.0]]), np.array([[8.0], [6.0]]),
              np.array([10.0, 10.0]), weights, np.array([0.9]), 0.0, np.array([100.0]))
    day = 1 / (2.0 * 86400)
    assert t.demand_tokens.tolist() == [200.0] and t.served_tokens[0] == pytest.approx(126.0)
    assert t.delay_by_cause["placement"][0] == pytest.approx(20 * day)
    assert t.delay_by_cause["chip failures"][0] == pytest.approx(14 * day)
    assert t.delay_by_cause["outage"][0] == pytest.approx(30 * day)
    assert t.delay_by_cause["delivery_slip"][0] == pytest.approx(10 * day)
    assert t.delay_days[0] == pytest.approx(74 * day)


def test_a_run_with_no_pace_in_the_months_simulated_is_quietly_on_time():
    """A second run whose window lies outside the simulated months (no pace, 0 active seconds) is 0 days
    behind, with no division warning; the first run's figures are unchanged by it."""
    import warnings

    from polyfleet.sim.capacity import CAPACITY_KINDS
    weights = np.zeros((1, 2, len(CAPACITY_KINDS)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = train(np.array([[10.0, 0.0]]), np.array([[8.0, 0.0]]), np.array([[8.0, 0.0]]), np.array([10.0]),
                  weights, np.array([1.0, 1.0]), 0.0, np.array([10.0, 0.0]))
    assert t.demand_tokens.tolist() == [100.0, 0.0] and t.delay_days[1] == 0.0
    assert t.delay_days[0] == pytest.approx(20.0 / (10.0 * 86400))   # 20 tokens short at 10 tokens/s


def test_the_setup_takes_each_runs_chips_from_the_plan():
    """A plan with a service and a training run on two offerings (a: $1, b: $3; the run trains twice as
    fast on b): the setup's run chips are the plan's allocation of the run on the pools held, nothing
    for the service; on them it trains at the plan's pace (4 tokens/s)."""
    from dataclasses import replace as dc_replace

    from polyfleet.plan import plan, simple_inputs
    from polyfleet.sim.build import run_chips_of
    from polyfleet.sim.schedule import FleetSchedule, held_index
    inp = simple_inputs(offerings=[dict(id="a", on_demand=1.0), dict(id="b", on_demand=3.0)],
                        workloads=[dict(id="svc", demand=[3600.0 * 5, 3600.0 * 7], rates={"a": 3600.0}),
                                   dict(id="run", demand=[3600.0 * 4, 3600.0 * 4], rates={"a": 3600.0, "b": 7200.0})],
                        months=2)
    res = plan(dc_replace(inp, kinds=("inference", "training")))
    idx = held_index(res)
    runs = run_chips_of(res)
    assert runs.shape == (2, len(idx), 2) and not runs[0].any()
    assert np.allclose(runs[1], np.clip(res.allocation[1][idx], 0, None))
    assert list(FleetSchedule.from_plan(res).pools) == [res.inputs.facts.ids[i] for i in idx]
    assert ((runs[1] * res.inputs.rate[1, idx][:, None]).sum(axis=0) / 3600.0).tolist() == pytest.approx([4.0, 4.0])
