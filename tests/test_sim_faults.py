"""Fault sampling, what-ifs and traffic shapes: rates, determinism and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from polyfleet.errors import UnknownNameError, UserError
from polyfleet.scenario.faults import DeliverySlips, Faults, FixedEvent, RegionOutages, SpotPreemptions
from polyfleet.scenario.simulation import TrafficShape
from polyfleet.sim.demand import cycle, noise, traffic
from polyfleet.sim.faults import DAY, HOUR, YEAR, Universe, parse_what_if, sample_timeline
from simkit import only_faults

U = Universe(regions=(("aws", "us-east-1"), ("aws", "us-east-2"), ("gcp", "us-central1")),
             vendors=("google", "nvidia"), offerings=("aws/p5.48xlarge/us-east-1",))


def test_same_seed_same_timeline():
    a = sample_timeline(Faults(), U, YEAR, np.random.default_rng(7))
    b = sample_timeline(Faults(), U, YEAR, np.random.default_rng(7))
    assert a == b and a
    assert [e.start_s for e in a] == sorted(e.start_s for e in a)


def test_outage_rate_matches_parameter():
    """Poisson outages at 2 per region-year over 3 regions and 200 sampled years: mean 6 per year."""
    faults = Faults(region_outages=RegionOutages(rate_per_region_year=2.0, provider_wide_share=0.0))
    rng = np.random.default_rng(1)
    counts = [sum(e.kind == "outage" for e in sample_timeline(faults, U, YEAR, rng)) for _ in range(200)]
    assert np.mean(counts) == pytest.approx(6.0, rel=0.1)


def test_what_if_parsing():
    ev = parse_what_if("outage:provider=gcp,day=30,hours=48", U)
    assert (ev.kind, ev.target_kind, ev.target) == ("outage", "provider", "gcp")
    assert ev.start_s == 30 * DAY and ev.duration_s == 48 * HOUR and not ev.sampled
    cut = parse_what_if("supply-cut:vendor=nvidia,day=60,days=90", U)
    assert cut.kind == "supply_cut" and cut.duration_s == 90 * DAY


@pytest.mark.parametrize("text,needle", [
    ("outage:provider=azure,day=3", "azure"),
    ("meltdown:provider=gcp", "outage"),
    ("outage:day=3", "exactly one target"),
    ("outage:provider=gcp,hours=-5", "positive"),
    ("outage:provider=gcp,hours=lots", "number"),
])
def test_bad_what_if(text, needle):
    with pytest.raises(UserError, match=needle):
        parse_what_if(text, U)


def test_fixed_event_with_unknown_region():
    faults = Faults(events=(FixedEvent(kind="outage", target="region:aws/eu-west-9"),))
    with pytest.raises(UnknownNameError, match="aws/us-east-1"):
        sample_timeline(faults, U, YEAR, np.random.default_rng(0))


def test_negative_rate_rejected():
    with pytest.raises(ValueError):
        RegionOutages(rate_per_region_year=-1)


def test_cycle_mean_one_over_weeks_and_peaks_at_peak_hour():
    shape = TrafficShape(daily_peak_to_mean=1.5, peak_hour_utc=12, weekend_factor=0.5)
    c = cycle(3600, 24 * 7 * 4, shape)
    assert c.mean() == pytest.approx(1.0)
    monday = c[:24]
    assert np.argmax(monday) in (11, 12)
    assert c[5 * 24 + 12] == pytest.approx(0.5 * c[12])     # Saturday noon = half of Monday noon


def test_noise_is_stationary_with_the_set_spread():
    shape = TrafficShape(noise_sigma=0.1, noise_hours=1.0)
    x = np.log(noise(300, 50_000, 1, shape, np.random.default_rng(3))[:, 0])
    assert x.std() == pytest.approx(0.1, rel=0.05)
    assert np.corrcoef(x[:-1], x[1:])[0, 1] == pytest.approx(np.exp(-300 / 3600), abs=0.02)


def test_weekday_peak_matches_the_sized_peak_factor():
    """With no daily peak given, a service sized for 1.4x its mean peaks at 1.4x on weekdays."""
    shape = TrafficShape(noise_sigma=0.0)
    smooth, _ = traffic(np.array([[100.0]] * 2), 300, 2016, shape, np.random.default_rng(0), np.array([1.4]))
    assert smooth.max() == pytest.approx(140.0, rel=1e-3)


def test_traffic_follows_the_monthly_forecast():
    monthly = np.array([[100.0], [200.0], [300.0]])
    shape = TrafficShape(noise_sigma=0.0)
    steps = int(3 * 30.4375 * 24)
    _, x = traffic(monthly, 3600, steps, shape, np.random.default_rng(0))
    assert x.mean() == pytest.approx(200.0, rel=0.03)


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_a_provider_wide_outage_takes_the_provider_and_a_regional_one_its_region(share):
    """provider_wide_share 1: every outage targets a whole provider ('aws', 'gcp'); 0: every one a
    region ('aws/us-east-1', ...), the names the fleet's pools are matched against."""
    faults = Faults(region_outages=RegionOutages(rate_per_region_year=5.0, provider_wide_share=share))
    outages = [e for e in sample_timeline(faults, U, YEAR, np.random.default_rng(3)) if e.kind == "outage"]
    assert outages
    if share == 1.0:
        assert {(e.target_kind, e.target) for e in outages} <= {("provider", "aws"), ("provider", "gcp")}
    else:
        assert {(e.target_kind, e.target) for e in outages} <= {("region", f"{p}/{r}") for p, r in U.regions}


def test_a_what_if_naming_an_unknown_provider_says_it_came_from_what_if():
    with pytest.raises(UnknownNameError) as err:
        parse_what_if("outage:provider=azure,day=3", U)
    assert str(err.value).startswith("--what-if") and "aws, gcp" in str(err.value)


def test_spot_preemptions_take_a_share_of_a_regions_spot_chips():
    """Preemptions only (4 a month over 3 regions for a year, 30% lost): each event is a 'preemption'
    of one region, carrying the share lost; about 4 x 12 x 3 = 144 of them."""
    events = sample_timeline(only_faults(spot_preemptions=SpotPreemptions(events_per_month=4.0, share_lost=0.3)),
                             U, YEAR, np.random.default_rng(5))
    assert 100 < len(events) < 190
    assert {e.kind for e in events} == {"preemption"}
    assert {e.target for e in events} <= {f"{p}/{r}" for p, r in U.regions}
    assert all(e.target_kind == "region" and e.magnitude == 0.3 for e in events)


def test_a_what_if_after_the_simulated_time_is_refused_naming_the_option():
    """A 30-day run refuses an outage on day 40: the error names --what-if and the days allowed."""
    with pytest.raises(UserError) as err:
        parse_what_if("outage:provider=gcp,day=40,hours=2", U, horizon_s=30 * DAY)
    assert err.value.field == "--what-if" and err.value.allowed == "day in [0, 30)"
    assert parse_what_if("outage:provider=gcp,day=29,hours=2", U, horizon_s=30 * DAY).start_s == 29 * DAY


def test_a_delivery_slip_starts_at_its_month_and_lasts_its_drawn_length():
    """Slips certain (probability 1), nothing else drawn: every vendor slips every month of a 3-month
    horizon, each event starting at its month's first second and lasting its magnitude in months."""
    faults = only_faults(delivery_slips=DeliverySlips(probability=1.0, mean_months=2.0))
    month = 730 * HOUR
    slips = [e for e in sample_timeline(faults, U, 3 * month, np.random.default_rng(4), month_s=month)
             if e.kind == "delivery_slip"]
    expected = [(m * month, v) for m in range(3) for v in ("google", "nvidia")]
    assert sorted((e.start_s, e.target) for e in slips) == expected
    assert all(e.duration_s == pytest.approx(e.magnitude * month) and e.magnitude > 0 for e in slips)
