"""Fault timelines and run statistics against numbers derived from their definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from polyfleet.scenario.faults import Faults, FixedEvent, SupplyCuts
from polyfleet.sim.calendar import DAY, HOUR
from polyfleet.sim.faults import Universe, sample_timeline
from polyfleet.sim.stats import mean
from simkit import only_faults

YEAR_S = 8760 * 3600.0
UNIVERSE = Universe(regions=(("x", "r0"), ("x", "r1")), vendors=("va", "vb"), offerings=("x/p0/r0", "x/p1/r1"))


def only_supply_cuts(rate: float) -> Faults:
    return only_faults(supply_cuts=SupplyCuts(rate_per_vendor_year=rate))


def test_supply_cuts_arrive_at_their_rate():
    """Poisson arrivals at 2.5 cuts per vendor-year, 2 vendors, 1.5 years: 7.5 cuts a timeline on average.
    Over 300 seeded timelines the mean's standard error is sqrt(7.5 / 300) = 0.16; 0.8 is five of them."""
    counts = [sum(e.kind == "supply_cut" for e in
                  sample_timeline(only_supply_cuts(2.5), UNIVERSE, 1.5 * YEAR_S, np.random.default_rng(seed)))
              for seed in range(300)]
    assert np.mean(counts) == pytest.approx(7.5, abs=0.8)


def test_scheduled_events_alone_are_the_scenarios_own():
    """sampled=False gives the scenario's fixed events only, at their day and for their hours."""
    faults = Faults(events=(FixedEvent(kind="outage", target="region:x/r1", day=3.0, hours=10.0, magnitude=0.3),))
    (ev,) = sample_timeline(faults, UNIVERSE, YEAR_S, np.random.default_rng(0), sampled=False)
    assert (ev.kind, ev.target_kind, ev.target) == ("outage", "region", "x/r1")
    assert ev.start_s == pytest.approx(3 * DAY) and ev.duration_s == pytest.approx(10 * HOUR)
    assert ev.magnitude == pytest.approx(0.3) and not ev.sampled


def test_mean_and_its_t_interval_by_hand():
    """Runs [2, 4, 9]: mean 5, sample sd sqrt(13), half-width t(0.975, 2) x sqrt(13 / 3) = 4.303 x 2.082;
    clipped at 0 below. One run has a value, no interval, and says so, counting its one run."""
    e = mean(np.array([2.0, 4.0, 9.0]), lower=0.0)
    half = sps.t.ppf(0.975, 2) * math.sqrt(13.0 / 3.0)
    assert e.value == pytest.approx(5.0) and e.runs == 3
    assert e.lo == pytest.approx(max(5.0 - half, 0.0)) and e.hi == pytest.approx(5.0 + half)
    one = mean(np.array([7.0]))
    assert one.value == 7.0 and one.runs == 1 and math.isnan(one.lo) and math.isnan(one.hi)
    assert "1 run" in one.warning


def test_a_group_is_affected_only_above_the_threshold():
    """Groups of 3 and 5 customers; unserved shares 0.01 (exactly the threshold) and 0.02: only the second
    group is affected, 5 customers."""
    from polyfleet.sim.customers import Customers, affected
    c = Customers(tier=np.zeros(8, int), service=np.array([0] * 3 + [1] * 5), share_of_group=np.ones(8),
                  groups=np.array([[3], [5]]))
    assert affected(c, np.array([[[0.01], [0.02]]]), threshold=0.01).tolist() == [5]


def test_customer_impact_by_hand():
    """Two services, one tier: service 0's 2 customers (sizes 3:1) lose 10 tokens/s in one 60 s step of
    three, service 1's lone customer 5 tokens/s in another. Hit counts follow the shares lost (10/20 and
    5/50, both above a 1% threshold); each customer's loss is its share of its group's tokens lost:
    450, 150 and 300."""
    from types import SimpleNamespace as NS

    from polyfleet.sim.customers import Customers
    from polyfleet.sim.metrics import customer_impact
    cust = Customers(tier=np.zeros(3, int), service=np.array([0, 0, 1]), share_of_group=np.array([0.75, 0.25, 1.0]),
                     groups=np.array([[2], [1]]))
    setup = NS(customers=cust, step_s=60.0, options=NS(customers=NS(affected_threshold=0.01)))
    served = NS(groups=np.array([[0, 0], [1, 0]]), rows=np.array([0, 2]),
                unserved=np.array([[10.0, 0.0], [0.0, 5.0]]), fault=np.array([[10.0, 0.0], [0.0, 0.0]]),
                demand=np.array([[20.0, 50.0], [20.0, 50.0]]))
    hit, hit_fault, top = customer_impact(setup, served, 3)
    assert hit.tolist() == [2.0, 0.0, 1.0] and hit_fault.tolist() == [2.0, 0.0, 0.0]
    assert top == pytest.approx([450.0, 300.0, 150.0])


def test_cvar_names_its_method():
    """CVaR95 of 40 runs carries a bootstrap interval and says so."""
    from polyfleet.sim.stats import cvar
    e = cvar(np.arange(40.0), 0.95)
    assert e.method == "bootstrap" and e.value == pytest.approx(38.5) and e.lo <= e.value <= e.hi


def test_a_trace_out_of_arrival_order_is_refused():
    from polyfleet.sim.jobs import JobTrace
    with pytest.raises(ValueError, match="arrival order"):
        JobTrace(arrival_s=np.array([5.0, 1.0]), throughput=np.ones((2, 1)), scale_factor=np.ones(2),
                 total_work=np.ones(2), types=("v100",))


def test_a_bad_throughputs_key_names_its_file(tmp_path):
    import json

    from polyfleet.errors import UserError
    from polyfleet.sim.jobs import load_gavel_throughputs
    path = tmp_path / "thr.json"
    path.write_text(json.dumps({"v100": {"not a key": {"null": 1.0}}}), encoding="utf-8")
    with pytest.raises(UserError) as exc:
        load_gavel_throughputs(path, ("v100",))
    assert exc.value.where == str(path)


def strategy(has_customers: bool):
    from polyfleet.sim.risk import StrategyRisk
    R = 20
    return StrategyRisk(name="s", classes=("gold",), unserved_share=np.zeros((R, 1)), worst_day_loss=np.zeros((R, 1)),
                        loss_usd=np.zeros(R), cost_usd=np.ones(R), planned_cost_usd=1.0, stranded_usd=np.zeros(R),
                        training_delay_days=np.zeros((R, 0)), training_served_share=np.ones((R, 0)),
                        training_delay_by_cause={}, training=(), customer_hours=np.arange(R) * 10.0,
                        max_customers=np.zeros(R), energy_mwh=np.zeros(R), has_customers=has_customers)


def test_customer_hours_are_estimated_where_customers_are_modelled_and_unknown_elsewhere():
    """20 runs of 0, 10, ..., 190 customer-hours: mean 95 with its t interval and a P95 estimate; with no
    customer model both are unknown (NaN), not 0."""
    from polyfleet.sim import stats
    est = strategy(True).estimates(0.01)
    assert est["customer_hours_mean"].value == pytest.approx(95.0)
    assert est["customer_hours_p95"].value == pytest.approx(stats.quantile(np.arange(20) * 10.0, 0.95).value)
    assert 95.0 < est["customer_hours_p95"].value <= 190.0
    blind = strategy(False).estimates(0.01)
    assert math.isnan(blind["customer_hours_mean"].value) and math.isnan(blind["customer_hours_p95"].value)


def test_an_unknown_accelerator_type_in_a_throughputs_file_is_named(tmp_path):
    import json

    from polyfleet.errors import UnknownNameError
    from polyfleet.sim.jobs import load_gavel_throughputs
    path = tmp_path / "thr.json"
    path.write_text(json.dumps({"v100": {}, "k80": {}, "k80_unconsolidated": {}}), encoding="utf-8")
    with pytest.raises(UnknownNameError) as exc:
        load_gavel_throughputs(path, ("v100", "tpu-v9"))
    msg = str(exc.value)      # no close match: the types the file holds are listed, not their variants
    assert "'tpu-v9'" in msg and "k80" in msg and "v100" in msg and "k80_unconsolidated" not in msg, msg
    assert exc.value.where == str(path)


def test_an_interval_with_no_demand_does_not_count_against_the_slo():
    """Steps of demand 1, 0, 1 with nothing lost: the SLO is met in all three (a step with no demand
    loses no share of it), so 1.0, not 2/3; a class with no demand at all has no SLO figure (NaN)."""
    from polyfleet.sim.metrics import slo
    demand = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    unserved = np.zeros_like(demand)
    out = slo(demand, unserved, tolerance=0.01)
    assert out[0] == 1.0 and np.isnan(out[1])
    unserved[2, 0] = 0.5                   # half of step 3 lost: 2 of 3 steps within 1%
    assert slo(demand, unserved, tolerance=0.01)[0] == pytest.approx(2 / 3)


def test_a_probability_from_few_runs_says_so():
    """Under MIN_RUNS_FOR_MEAN runs the estimate carries the warning, naming the count; at that many
    it does not."""
    from polyfleet.sim.stats import MIN_RUNS_FOR_MEAN, probability
    few = probability(np.arange(MIN_RUNS_FOR_MEAN - 1) % 2 == 0)
    assert few.runs == MIN_RUNS_FOR_MEAN - 1
    assert few.warning == f"probabilities from {MIN_RUNS_FOR_MEAN - 1} runs: few runs, wide intervals"
    enough = probability(np.arange(MIN_RUNS_FOR_MEAN) % 2 == 0)
    assert enough.runs == MIN_RUNS_FOR_MEAN and enough.warning is None


def test_quantiles_and_cvar_of_no_run_and_of_one_run():
    """No run: NaN, said so. One run: its value, no interval (NaN), a bootstrap estimate of 1 run with
    the few-runs warning."""
    from polyfleet.sim.stats import cvar, quantile
    for est in (quantile(np.array([]), 0.5), cvar(np.array([]), 0.95)):
        assert np.isnan(est.value) and est.runs == 0 and est.warning == "no runs" and est.method == "bootstrap"
    for est in (quantile(np.array([7.0]), 0.9), cvar(np.array([7.0]), 0.95)):
        assert est.value == 7.0 and np.isnan(est.lo) and np.isnan(est.hi)
        assert est.method == "bootstrap" and est.runs == 1 and est.warning


def test_runs_below_one_are_refused_naming_the_option():
    from polyfleet.errors import UserError
    from polyfleet.sim.parallel import run_many
    with pytest.raises(UserError) as err:
        run_many(abs, None, 0, seed=1)
    assert err.value.field == "--runs"
