"""Hand-made simulator setups for the sim tests: pools of 1-chip replicas, flat traffic, no noise."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from polyfleet.place.inference_synthetic import table_from_arrays
from polyfleet.scenario.faults import (ChipFailures, DeliverySlips, Faults, PriceShocks, RegionOutages, SpotPreemptions,
                                       SupplyCuts)
from polyfleet.scenario.resolve import OfferingFacts
from polyfleet.scenario.simulation import SimOptions, TrafficShape
from polyfleet.sim.calendar import Calendar
from polyfleet.sim.faults import Universe
from polyfleet.sim.schedule import FleetSchedule
from polyfleet.sim.setup import SimSetup

FLAT = TrafficShape(daily_peak_to_mean=1.0, weekend_factor=1.0, noise_sigma=0.0)
NO_FAILURES = Faults(chip_failures=ChipFailures(annual_failure_rate=0.0))
HOURS_PER_MONTH = 730.0


def only_faults(**kinds) -> Faults:
    """Faults with every sampled kind off (rates and probabilities 0) except the sections given."""
    off = dict(region_outages=RegionOutages(rate_per_region_year=0.0), supply_cuts=SupplyCuts(rate_per_vendor_year=0.0),
               delivery_slips=DeliverySlips(probability=0.0), chip_failures=ChipFailures(annual_failure_rate=0.0),
               spot_preemptions=SpotPreemptions(events_per_month=0.0),
               price_shocks=PriceShocks(rate_per_offering_year=0.0))
    return Faults(**(off | kinds))
MONTH_S = HOURS_PER_MONTH * 3600.0


def make_setup(chips, demand, *, rates=None, vendors=None, classes=("enterprise", "self-serve"),
               share=None, months=2, step_minutes=15.0, kinds=None, run_chips=None, gang=None,
               spot=None, cost=None, faults=NO_FAILURES, traffic=FLAT, customers=None,
               replica_chips=1) -> SimSetup:
    """Pools of 1-chip replicas; `rates[w][p]` tokens/s per chip (default 1); `chips[p][t]` firm chips
    per month; `demand[w][t]` tokens/s (flat within a month: for training, the plan's pace).
    `kinds[w]` "inference" (default) or "training"; `run_chips[w][p][t]` where the plan trains;
    `replica_chips` chips per inference replica.
    15-minute steps divide a 730-hour month."""
    chips = np.asarray(chips, dtype=float)
    P, T = chips.shape
    demand = np.asarray(demand, dtype=float)
    W = demand.shape[0]
    kinds = tuple(kinds or ("inference",) * W)
    rates = np.ones((W, P)) if rates is None else np.asarray(rates, dtype=float)
    vendors = vendors or [f"v{p}" for p in range(P)]
    pools = tuple(f"x/pool{p}/r{p}" for p in range(P))
    table = replace(table_from_arrays([f"w{i}" for i in range(W)], pools, rates * 3600.0, replica_chips, [1.0] * P),
                    kinds=kinds)
    facts = OfferingFacts(ids=pools, accelerator=tuple(f"acc{p}" for p in range(P)), vendor=tuple(vendors),
                          family=("gpu",) * P, provider=tuple("x" for _ in range(P)),
                          region=tuple(f"x/r{p}" for p in range(P)))
    zero = np.zeros((P, T))
    spot = zero if spot is None else np.asarray(spot, dtype=float)
    sched = FleetSchedule(facts=facts, firm=chips, spot=spot, committed=zero, price=np.ones((P, 4)),
                          cost=np.ones((P, 4, T)) if cost is None else np.asarray(cost, dtype=float),
                          facility_watts=np.full(P, 1000.0), months=tuple(f"2026-{m + 1:02d}" for m in range(T)),
                          hours_per_month=HOURS_PER_MONTH)
    share = np.asarray(share if share is not None else [[1.0] + [0.0] * (len(classes) - 1)] * W, dtype=float)
    universe = Universe(regions=tuple(("x", f"r{p}") for p in range(P)), vendors=tuple(sorted(set(vendors))),
                        offerings=pools)
    gang = np.zeros(W) if gang is None else np.asarray(gang, dtype=float)
    return SimSetup(name="t", schedule=sched, table=table, kinds=kinds, demand=demand,
                    peak_factor=np.ones(W), classes=classes, share=share, customers=customers,
                    loss_usd_per_mtok=np.arange(len(classes), 0, -1, dtype=float), training_chips=gang,
                    faults=faults, universe=universe,
                    options=SimOptions(months=months, step_minutes=step_minutes, traffic=traffic),
                    run_chips=None if run_chips is None else np.asarray(run_chips, dtype=float),
                    calendar=Calendar.from_month("2026-01", HOURS_PER_MONTH))
