"""Risk statistics with their intervals and warnings, the tail counted in runs, and strategies
with the same fleet run once."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from simkit import make_setup

from polyfleet.scenario.faults import ChipFailures, Faults, RegionOutages
from polyfleet.sim import stats
from polyfleet.sim.faults import FaultEvent
from polyfleet.sim.fleet import simulate
from polyfleet.sim.parallel import run_seeds
from polyfleet.sim.risk import RiskPayload, aggregate, one_run, run_risk
from polyfleet.sim.tail import tail_drivers, tail_runs_of

# ---- estimates, by hand ----------------------------------------------------------------------------------

def test_mean_has_the_student_t_interval():
    """x = 1..5: mean 3, s = 1.5811, t(0.975, 4) = 2.7764: half-width 2.7764 x 1.5811 / sqrt(5) = 1.9632."""
    e = stats.mean(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert e.value == 3.0
    assert e.lo == pytest.approx(3 - 1.96324, abs=1e-4) and e.hi == pytest.approx(3 + 1.96324, abs=1e-4)
    assert e.warning is not None and "5 runs" in e.warning           # fewer than 10 runs


def test_a_share_or_loss_interval_stops_at_its_bound():
    e = stats.mean(np.array([0.0, 0.0, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]), 0.0, 1.0)
    assert e.lo == 0.0 and e.hi > e.value > 0


def test_probability_has_the_wilson_interval():
    """3 of 10: the Wilson 95% interval is (0.1078, 0.6032) (z = 1.96)."""
    e = stats.probability(np.array([True] * 3 + [False] * 7))
    assert e.value == pytest.approx(0.3)
    assert e.lo == pytest.approx(0.1078, abs=5e-4) and e.hi == pytest.approx(0.6032, abs=5e-4)


def test_cvar_is_the_mean_of_the_worst_runs():
    x = np.arange(1.0, 21.0)                       # 20 runs
    assert stats.cvar_of(x, 0.95) == 20.0           # the worst 1
    assert stats.cvar_of(x, 0.90) == 19.5           # the worst 2
    assert stats.cvar_of(np.arange(1.0, 101.0), 0.95) == pytest.approx(98.0)   # mean of 96..100


@pytest.mark.parametrize("n,q,words", [
    (10, 0.95, "set by the largest run alone (needs 20+ runs)"),       # CVaR95 / P95 of 10 runs
    (50, 0.99, "set by the largest run alone (needs 100+ runs)"),      # P99 of 50 runs is the maximum
    (100, 0.95, "rests on the 5 worst runs (use 200+ runs)"),
])
def test_too_few_runs_for_a_tail_statistic_say_so(n, q, words):
    x = np.random.default_rng(0).lognormal(size=n)
    assert words in (stats.quantile(x, q).warning or "")
    if q == 0.95:
        assert words in (stats.cvar(x, q).warning or "")


def test_enough_runs_carry_no_warning():
    x = np.random.default_rng(1).lognormal(size=400)
    assert stats.quantile(x, 0.95).warning is None and stats.cvar(x, 0.95).warning is None
    assert stats.mean(x).warning is None


def test_bootstrap_is_seeded_and_brackets_a_normal_quantile():
    """The bootstrap uses a fixed seed: the same runs give the same interval; on 400 normal draws the
    median's 95% interval holds the sample median and lies within +-0.2 of it (its standard error is
    about 1.2533 / sqrt(400) = 0.063)."""
    x = np.random.default_rng(2).standard_normal(400)
    a, b = stats.quantile(x, 0.5), stats.quantile(x, 0.5)
    assert (a.lo, a.hi) == (b.lo, b.hi)
    assert a.lo <= a.value <= a.hi and a.hi - a.lo < 0.4 and a.hi - a.lo > 0.1


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 1e12), min_size=2, max_size=60))
def test_intervals_are_ordered_and_hold_the_point_estimate(values):
    x = np.array(values)
    m = stats.mean(x)
    assert m.lo <= m.value + 1e-6 * max(1.0, abs(m.value)) and m.value <= m.hi + 1e-6 * max(1.0, abs(m.value))
    for e in (stats.quantile(x, 0.95), stats.cvar(x, 0.95)):
        assert e.lo <= e.hi
        assert e.lo <= e.value * (1 + 1e-12) + 1e-9
        assert e.value <= x.max() * (1 + 1e-12) + 1e-9


# ---- the tail, in runs ----------------------------------------------------------------------------------

def fragile():
    """Demand 120 on pools of 100 and 60 chips, half enterprise; outages of each region 20 times a year."""
    s = make_setup([[100, 100], [60, 60]], [[120, 120]], share=[[0.5, 0.5]])
    return replace(s, faults=Faults(region_outages=RegionOutages(rate_per_region_year=20.0)))


def test_the_tail_counts_runs_not_incidents():
    """A fault that strikes several times in one tail run counts once for that run, so no count
    exceeds the number of tail runs; the counts agree with a count made here from the runs."""
    setup = fragile()
    payload = RiskPayload((setup,))
    results = [one_run(payload, i, ss)[0] for i, ss in enumerate(run_seeds(5, 40))]
    sr = aggregate(setup, results)
    worst = tail_runs_of(sr.total_usd, 0.95)
    assert len(worst) == 2                                              # ceil(40 x 0.05)
    assert sr.tail_incidents and all(d["runs_with_it"] <= d["tail_runs"] == 2 for d in sr.tail_incidents)
    for d in sr.tail_incidents:
        by_hand = sum(any(inc.what == d["incident"] and inc.unserved_tokens.sum() > 0 for inc in results[i].incidents)
                      for i in worst)
        assert d["runs_with_it"] == by_hand


def test_tail_drivers_on_a_run_with_the_same_fault_twice():
    """One run, one fault striking twice: 1 of 1 tail run, its value summed over both strikes:
    2 x 1 h x 100 tokens/s of enterprise demand at $2 per million tokens = $1.44."""
    s = make_setup([[100, 100]], [[100, 100]])
    evs = [FaultEvent("outage", "region", "x/r0", d * 86400.0, 3600.0) for d in (2, 9)]
    r = simulate(s, evs, np.random.default_rng(0))
    (row,) = tail_drivers([r], np.array([1.0]), s.loss_usd_per_mtok, 0.95)
    assert row["runs_with_it"] == 1 and row["tail_runs"] == 1
    assert row["loss_usd"] == pytest.approx(1.44, rel=1e-9)
    assert row["incident"] == "outage of region x/r0"


# ---- strategies, aliases, training in the rows ------------------------------------------------------------

def test_a_fleet_under_two_names_runs_once_and_is_listed_twice():
    setup = fragile()
    risk = run_risk([setup], 6, seed=1, workers=1, aliases=[["same fleet, other name"]])
    rows = risk.rows()
    assert [r["strategy"] for r in rows] == ["t", "same fleet, other name"]
    assert rows[1]["same_fleet_as"] == "t"
    assert {k: v for k, v in rows[0].items() if k not in ("strategy", "same_fleet_as")} == \
        {k: v for k, v in rows[1].items() if k not in ("strategy", "same_fleet_as")}
    assert any("runs" in w for w in risk.warnings())                    # 6 runs: every tail figure warns


def test_training_delay_and_share_trained_are_in_the_rows():
    """A training run alone on its pool with outages of it 20 times a year and no chip failures: its
    delay (mean, P95) and share trained come with intervals; the delay is all outages."""
    run_chips = np.full((1, 1, 2), 50.0)
    s = make_setup([[50, 50]], [[50, 50]], kinds=("training",), classes=("batch",), share=[[1.0]],
                   run_chips=run_chips, gang=[50])
    s = replace(s, faults=Faults(region_outages=RegionOutages(rate_per_region_year=20.0),
                                 chip_failures=ChipFailures(annual_failure_rate=0.0)))
    risk = run_risk([s], 12, seed=4, workers=1)
    (row,) = risk.rows()
    assert row["w0_delay_days_mean"] > 0
    assert row["w0_delay_days_mean_lo"] <= row["w0_delay_days_mean"] <= row["w0_delay_days_mean_hi"]
    assert 0 < row["w0_trained_share_mean"] < 1
    causes = sum(v for k, v in row.items() if k.startswith("w0_delay_days_mean_") and not k.endswith(("_lo", "_hi")))
    assert causes == pytest.approx(row["w0_delay_days_mean"], rel=1e-9)
    assert row["w0_delay_days_mean_outage"] == pytest.approx(row["w0_delay_days_mean"], rel=1e-9)
    assert math.isfinite(row["cvar95_total_usd"])
