"""The fleet simulator: hand-derived cases, an independent oracle for conservation and priority,
training against the plan with its causes, the plan's calendar, costs and determinism."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from simkit import HOURS_PER_MONTH, MONTH_S, make_setup

from polyfleet.scenario.faults import ChipFailures, Faults
from polyfleet.scenario.simulation import SimOptions
from polyfleet.sim.calendar import DAY, HOUR
from polyfleet.sim.capacity import held_month, repair_share, training_goodput
from polyfleet.sim.costs import month_overlap, run_costs
from polyfleet.sim.faults import FaultEvent
from polyfleet.sim.fleet import simulate


def run(setup, events=(), seed=0, series=False):
    return simulate(setup, list(events), np.random.default_rng(seed), keep_series=series)


# ---- inference: hand-derived ----------------------------------------------------------------------------

def test_the_simulated_month_is_the_plans_730_hours():
    """Demand 120 tokens/s over 2 months of 730 h (the plan's billing month, not 730.5 h): exactly
    120 x 2 x 730 x 3600 tokens, in 2 x 730 x 4 steps of 15 minutes."""
    s = make_setup([[200, 200]], [[120, 120]])
    assert s.month_s == 730 * 3600 and s.n_steps == 2 * 730 * 4
    r = run(s)
    assert r.demand_tokens.sum() == pytest.approx(120 * 2 * 730 * 3600, rel=1e-12)
    assert r.scope == "2 months"


def test_no_faults_served_is_min_of_demand_and_capacity_and_the_rest_is_peaks():
    """100 chips at 1 token/s each; demand 150 tokens/s in month 1 and 80 in month 2: served 100 then
    80; the 50 tokens/s lost for a month are traffic above the intact fleet ('peaks')."""
    s = make_setup([[100, 100]], [[150, 80]])
    r = run(s)
    assert r.served_tokens.sum() == pytest.approx((100 + 80) * MONTH_S, rel=1e-9)
    assert r.unserved_tokens.sum() == pytest.approx(50 * MONTH_S, rel=1e-9)
    assert r.unserved_by_cause["peaks"][0] == pytest.approx(50 * MONTH_S, rel=1e-9)
    assert r.unserved_by_cause["faults"].sum() == 0 and r.unserved_by_cause["repair"].sum() == 0
    assert r.worst_day_loss[0] == pytest.approx(50 / 150)


def test_partial_outage_takes_its_share_from_the_lowest_class_first():
    """100 chips, demand 90 tokens/s split 60/40 (enterprise 54, self-serve 36). A 30% outage for 10 h
    leaves 70: enterprise keeps its 54, self-serve gets 16 and loses 20 tokens/s for 10 h = 720,000
    tokens, worth 0.72 M tokens x $1 = $0.72; all of it caused by the fault."""
    s = make_setup([[100, 100]], [[90, 90]], share=[[0.6, 0.4]])
    ev = FaultEvent("outage", "region", "x/r0", 3 * DAY, 10 * HOUR, magnitude=0.3)
    r = run(s, [ev])
    assert r.unserved_tokens[0, 0] == pytest.approx(0.0, abs=1e-6)
    assert r.unserved_tokens[0, 1] == pytest.approx(20 * 10 * 3600, rel=1e-9)
    assert r.unserved_by_cause["faults"][1] == pytest.approx(20 * 10 * 3600, rel=1e-9)
    (inc,) = r.incidents
    assert inc.unserved_tokens[1] == pytest.approx(720_000, rel=1e-9)
    assert float((inc.unserved_tokens * s.loss_usd_per_mtok).sum() / 1e6) == pytest.approx(0.72, rel=1e-9)
    assert inc.impact_hours == pytest.approx(10.0)
    assert inc.label == "outage of region x/r0, 2026-01-04 00:00, 10 h"


def test_chips_in_repair_are_their_own_cause():
    """0.73 failures per chip-year x 120 h in repair = 1% of chips out at any time: 100 chips serve 99
    tokens/s, so demand of 99.5 loses 0.5 tokens/s, all of it to repair."""
    faults = Faults(chip_failures=ChipFailures(annual_failure_rate=0.73, repair_hours=120.0))
    s = make_setup([[100, 100]], [[99.5, 99.5]], faults=faults)
    assert repair_share(s) == pytest.approx(0.01)
    r = run(s)
    assert r.unserved_tokens.sum() == pytest.approx(0.5 * 2 * MONTH_S, rel=1e-6)
    assert r.unserved_by_cause["repair"][0] == pytest.approx(0.5 * 2 * MONTH_S, rel=1e-6)
    assert r.unserved_by_cause["peaks"].sum() == 0


def test_failover_to_spare_capacity_loses_nothing():
    """Two pools of 100 chips, demand 100: losing one moves the service to the other."""
    s = make_setup([[100, 100], [100, 100]], [[100, 100]])
    ev = FaultEvent("outage", "region", "x/r0", 3 * DAY, 48 * HOUR)
    r = run(s, [ev])
    assert r.unserved_tokens.sum() == pytest.approx(0.0, abs=1e-6)
    assert r.placements >= 2


@pytest.mark.parametrize("start_months,lost_chips", [(1.0, 100), (1.5, 0)])
def test_a_supply_cut_stops_deliveries_but_keeps_what_arrived(start_months, lost_chips):
    """Vendor a grows from 100 to 200 chips at the start of month 2 and demand is 200 there. A supply
    cut from the very start of month 2 for a quarter month keeps it at 100 (100 tokens/s lost for a
    quarter month); one from mid-month 2 comes after the delivery and costs nothing."""
    s = make_setup([[100, 200]], [[100, 200]], vendors=["a"])
    cut = FaultEvent("supply_cut", "vendor", "a", start_months * MONTH_S, 0.25 * MONTH_S)
    r = run(s, [cut])
    assert r.unserved_tokens.sum() == pytest.approx(lost_chips * 0.25 * MONTH_S, rel=1e-6, abs=1e-6)
    assert held_month(1.0 * MONTH_S, MONTH_S) == 0 and held_month(1.5 * MONTH_S, MONTH_S) == 1


def test_delivery_slip_holds_back_the_months_new_chips():
    """A 10-day delivery slip of vendor a at the start of month 2 holds it at month 1's 100 chips:
    demand of 160 loses 60 tokens/s for 10 days."""
    s = make_setup([[100, 200]], [[100, 160]], vendors=["a"])
    slip = FaultEvent("delivery_slip", "vendor", "a", MONTH_S, 10 * DAY, magnitude=10 / 30)
    r = run(s, [slip])
    assert r.unserved_tokens.sum() == pytest.approx(60 * 10 * DAY, rel=1e-6)
    assert r.unserved_by_cause["faults"].sum() == pytest.approx(60 * 10 * DAY, rel=1e-6)


@settings(max_examples=25, deadline=None)
@given(c0=st.integers(0, 300), c1=st.integers(0, 300), d=st.floats(1, 400), day=st.integers(0, 50),
       hours=st.integers(1, 200), share=st.floats(0.01, 0.99))
def test_served_matches_an_independent_oracle_and_priority_holds(c0, c1, d, day, hours, share):
    """Flat demand d split (share, 1 - share) over two classes; pools of c0 and c1 one-chip replicas;
    pool 1 out for `hours` from `day` (hourly steps, so the outage covers whole steps).

    The oracle, by hand: the intact fleet holds ceil(d) replicas at most, so it serves
    cap = min(c0 + c1, ceil(d)); during the outage only pool 0's min(c0, ceil(d)), never more than
    cap. Each class takes min(its demand, what the higher class left). Tokens = rate x hours x 3600.
    """
    s = make_setup([[c0, c0], [c1, c1]], [[d, d]], share=[[share, 1 - share]], step_minutes=60.0)
    ev = FaultEvent("outage", "region", "x/r1", day * DAY, hours * HOUR)
    r = run(s, [ev], series=True)
    total_h = 2 * HOURS_PER_MONTH
    out_h = min(hours, total_h - day * 24)
    cap = min(c0 + c1, math.ceil(d))
    cap_out = min(cap, min(c0, math.ceil(d)))

    def fill(capacity):
        hi = min(d * share, capacity)
        return hi, min(d * (1 - share), capacity - hi)

    normal, outage = fill(cap), fill(cap_out)
    for k in range(2):
        expected = (normal[k] * (total_h - out_h) + outage[k] * out_h) * 3600
        assert r.served_tokens[0, k] == pytest.approx(expected, rel=1e-9, abs=1e-6)
    lost_to_fault = sum((normal[k] - outage[k]) * out_h * 3600 for k in range(2))
    assert r.unserved_by_cause["faults"].sum() == pytest.approx(lost_to_fault, rel=1e-9, abs=1e-6)
    assert r.unserved_by_cause["peaks"].sum() == pytest.approx((d - sum(normal)) * total_h * 3600, rel=1e-9,
                                                               abs=1e-6)
    hourly = r.series["hourly_served_share"]
    short = hourly[:, 0] < 1 - 1e-9
    assert (hourly[short, 1] <= 1e-9).all()            # the lower class is never served while the higher is short


def test_same_seed_same_result_and_noise_changes_it():
    s = replace(make_setup([[100, 120]], [[90, 100]]), options=SimOptions(months=2, step_minutes=30))
    a, b, c = run(s, seed=5), run(s, seed=5), run(s, seed=6)
    assert np.array_equal(a.served_tokens, b.served_tokens)
    assert not np.array_equal(a.served_tokens, c.served_tokens)


def test_noise_keeps_the_forecast_volume():
    """Mean-one noise (sigma 0.2): a month of 100 tokens/s demand averages 100 within 1%, where median-one
    noise would add exp(0.02) - 1 = 2%."""
    s = make_setup([[1000, 1000]], [[100, 100]], traffic=SimOptions().traffic.model_copy(
        update={"noise_sigma": 0.2, "daily_peak_to_mean": 1.0, "weekend_factor": 1.0}))
    r = run(s, seed=3)
    assert r.demand_tokens.sum() / (100 * 2 * MONTH_S) == pytest.approx(1.0, abs=0.01)


def test_classes_without_inference_demand_are_unknown_not_served():
    s = make_setup([[100, 100]], [[50, 50]], classes=("enterprise", "self-serve", "batch"),
                   share=[[0.7, 0.3, 0.0]])
    r = run(s)
    assert math.isnan(r.served_share()[2]) and math.isnan(r.worst_hour_loss[2])
    assert list(r.inference_classes) == [True, True, False]


# ---- training: where the plan put it ------------------------------------------------------------------

def training_setup(**kw):
    """Pool 0: 100 chips. Inference w0 needs 50 tokens/s (1 chip each); training w1 runs on the 40
    chips the plan gave it there at 2 tokens/s per chip: a pace of 80 tokens/s."""
    run_chips = np.zeros((2, 1, 2))
    run_chips[1, 0, :] = 40
    return make_setup([[100, 100]], [[50, 50], [80, 80]], rates=[[1.0], [2.0]], kinds=("inference", "training"),
                      classes=("enterprise", "batch"), share=[[1.0, 0.0], [0.0, 1.0]], run_chips=run_chips,
                      gang=[0, 40], **kw)


def test_training_keeps_the_plans_pace_when_nothing_fails():
    r = run(training_setup())
    assert r.training_served_share()[1] == pytest.approx(1.0)
    assert r.training_delay_days[1] == pytest.approx(0.0, abs=1e-12)
    assert all(v[1] == 0 for v in r.training_delay_by_cause.values())
    assert math.isnan(r.training_served_share()[0])


def test_an_outage_under_training_delays_it_and_is_named():
    """A 25% outage of pool 0 for 48 h leaves 75 chips: inference keeps its 50, training gets the 25
    left of its 40 (50 tokens/s of 80): 30 tokens/s short for 2 days = 30/80 x 2 = 0.75 days behind."""
    ev = FaultEvent("outage", "region", "x/r0", 5 * DAY, 48 * HOUR, magnitude=0.25)
    r = run(training_setup(), [ev])
    assert r.training_delay_days[1] == pytest.approx(0.75, rel=1e-9)
    assert r.training_delay_by_cause["outage"][1] == pytest.approx(0.75, rel=1e-9)
    assert r.training_delay_by_cause["placement"][1] == 0
    assert r.unserved_tokens[0].sum() == pytest.approx(0.0, abs=1e-6)      # inference first
    assert r.served_tokens[1].sum() == pytest.approx(80 * 2 * MONTH_S - 30 * 48 * 3600, rel=1e-9)


def test_chip_failures_cost_repair_and_goodput():
    """A 10,000-chip gang at 0.5 failures per chip-year: 0.571 failures an hour, each losing half a
    30-minute checkpoint interval plus a 15-minute restart = 0.5 h, so goodput 1 - 0.2854 = 0.7146;
    48 h repairs keep 0.5 x 48 / 8760 = 0.274% of chips out. The run (100 chips, pace 100) trains at
    100 x (1 - 0.00274) x 0.7146 and falls (1 - that/100) x 60.83 days behind, all of it chip failures."""
    faults = Faults(chip_failures=ChipFailures(annual_failure_rate=0.5, repair_hours=48.0,
                                               checkpoint_interval_minutes=30.0, restart_minutes=15.0))
    run_chips = np.full((1, 1, 2), 100.0)
    s = make_setup([[100, 100]], [[100, 100]], kinds=("training",), classes=("batch",), share=[[1.0]],
                   run_chips=run_chips, gang=[10_000], faults=faults)
    g = 1 - 10_000 * 0.5 / 8760 * 0.5
    assert training_goodput(s)[0] == pytest.approx(g, rel=1e-12)
    r = run(s)
    kept = (1 - 0.5 * 48 / 8760) * g
    days = 2 * HOURS_PER_MONTH / 24
    assert r.training_delay_days[0] == pytest.approx((1 - kept) * days, rel=1e-9)
    assert r.training_delay_by_cause["chip failures"][0] == pytest.approx((1 - kept) * days, rel=1e-9)


def test_whole_replicas_eating_into_training_chips_is_placement():
    """10 chips; inference needs 7 tokens/s in replicas of 4 chips (4 tokens/s each): 2 replicas = 8
    chips where a fluid plan gave it 7 and training the other 3. Training keeps 2 of its 3 chips:
    a third short, i.e. a third of its 60.83 active days behind, all of it 'placement'."""
    run_chips = np.zeros((2, 1, 2))
    run_chips[1, 0, :] = 3
    s = make_setup([[10, 10]], [[7, 7], [3, 3]], kinds=("inference", "training"), classes=("enterprise", "batch"),
                   share=[[1.0, 0.0], [0.0, 1.0]], run_chips=run_chips, gang=[0, 3], replica_chips=4)
    r = run(s)
    days = 2 * HOURS_PER_MONTH / 24
    assert r.unserved_tokens[0].sum() == pytest.approx(0.0, abs=1e-6)
    assert r.training_delay_days[1] == pytest.approx(days / 3, rel=1e-9)
    assert r.training_delay_by_cause["placement"][1] == pytest.approx(days / 3, rel=1e-9)


def test_overlapping_faults_share_a_training_shortfall_by_the_chips_they_took():
    """Pool 0 (100 firm + 20 spot chips) holds only the training run (120 chips, pace 120). A 50% spot
    preemption and a 20% outage overlap for 24 h: the pool keeps floor((100 + 20 x 0.5) x 0.8) = 88
    chips, 32 tokens/s short for a day = 32/120 days behind. Alone they would take 20 x 0.5 = 10 and
    120 x 0.2 = 24 chips, so preemption carries 10/34 of the shortfall and the outage 24/34."""
    run_chips = np.full((1, 1, 2), 120.0)
    s = make_setup([[100, 100]], [[120, 120]], kinds=("training",), classes=("batch",), share=[[1.0]],
                   run_chips=run_chips, gang=[120], spot=[[20, 20]])
    evs = [FaultEvent("preemption", "region", "x/r0", 2 * DAY, 24 * HOUR, 0.5),
           FaultEvent("outage", "region", "x/r0", 2 * DAY, 24 * HOUR, 0.2)]
    r = run(s, evs)
    short_days = 32 / 120 * 1.0
    assert r.training_delay_days[0] == pytest.approx(short_days, rel=1e-9)
    assert r.training_delay_by_cause["preemption"][0] == pytest.approx(short_days * 10 / 34, rel=1e-9)
    assert r.training_delay_by_cause["outage"][0] == pytest.approx(short_days * 24 / 34, rel=1e-9)


# ---- money ---------------------------------------------------------------------------------------------

def test_price_shocks_and_new_generations_are_prorated_by_month():
    """On-demand costs $1,000 a month and 3-year commitments $500. A x1.5 price shock for the first
    half of month 1 adds 0.5 x 0.5 x 1,000 = $250; a new generation from mid-month 2 strands 40% of the
    commitment payments it covers: 0.4 x 500 x 0.5 = $100."""
    cost = np.zeros((1, 4, 2))
    cost[0, 0, :] = 1000.0
    cost[0, 3, :] = 500.0
    s = make_setup([[10, 10]], [[5, 5]], cost=cost)
    shock = FaultEvent("price_shock", "offering", "x/pool0/r0", 0.0, 0.5 * MONTH_S, 1.5)
    gen = FaultEvent("obsolescence", "offering", "x/pool0/r0", 1.5 * MONTH_S, 0.5 * MONTH_S, 0.4)
    planned, actual, stranded = run_costs(s, [shock, gen])
    assert planned == pytest.approx(3000.0)
    assert actual - planned == pytest.approx(250.0)
    assert stranded == pytest.approx(100.0)
    assert list(month_overlap(0.25 * MONTH_S, 1.75 * MONTH_S, 2, MONTH_S)) == pytest.approx([0.75, 0.75])


def test_first_months_of_a_longer_plan_say_so():
    s = make_setup([[100, 100, 100]], [[50, 50, 50]], months=2)
    r = run(s)
    assert r.scope == "first 2 of 3 months" and s.scope == "first 2 of 3 months"
    assert r.cost_planned_usd == pytest.approx(2 * 4.0)          # the cost array is $1 per term per month
