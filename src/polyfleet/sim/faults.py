"""Fault timelines: sampling the scenario's fault models, and reading fixed what-if events.

The models and their parameters are the scenario's `faults:` section (`scenario/faults.py`,
defaults labelled as assumptions); this module turns them into a timeline of `FaultEvent`s. A timeline is sampled
over the whole universe of providers, regions and vendors, not one strategy's fleet, so
that every strategy meets the same faults (common random numbers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import UnknownNameError, UserError
from ..scenario.faults import Faults, FixedEvent, Kind, what_if_event

HOUR = 3600.0
DAY = 86400.0
MONTH = 30.4375 * DAY
YEAR = 365.25 * DAY

TargetKind = Literal["provider", "region", "vendor", "offering", "family", "accelerator"]


@dataclass(frozen=True)
class FaultEvent:
    """Something that happens to part of the fleet from `start_s` for `duration_s`.

    `magnitude`: share of capacity lost (outage, preemption), price multiplier (price shock),
    share of value lost (obsolescence), months of delay (delivery slip); 1 for a supply cut.
    """

    kind: Kind
    target_kind: TargetKind
    target: str
    start_s: float
    duration_s: float
    magnitude: float = 1.0
    sampled: bool = True

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    def label(self) -> str:
        what = {"outage": "outage", "supply_cut": "supply cut", "delivery_slip": "delivery slip",
                "preemption": "spot preemption", "price_shock": "price shock", "obsolescence": "new generation"}
        day = self.start_s / DAY
        span = f"{self.duration_s / HOUR:.0f} h" if self.duration_s < 3 * DAY else f"{self.duration_s / DAY:.0f} d"
        return f"{what[self.kind]} {self.target_kind} {self.target} day {day:.0f} for {span}"


@dataclass(frozen=True)
class Universe:
    """Everything a fault can name: providers and their regions, vendors, offerings, families."""
    regions: tuple[tuple[str, str], ...]          # (provider, region)
    vendors: tuple[str, ...]
    offerings: tuple[str, ...]
    families: tuple[str, ...] = ("tpu", "trainium", "gpu")
    accelerators: tuple[str, ...] = ()

    @property
    def providers(self) -> tuple[str, ...]:
        return tuple(sorted({p for p, _ in self.regions}))

    def check(self, target_kind: str, target: str, where: str = "event") -> None:
        valid = {"provider": self.providers, "region": tuple(f"{p}/{r}" for p, r in self.regions),
                 "vendor": self.vendors, "offering": self.offerings, "family": self.families,
                 "accelerator": self.accelerators}.get(target_kind)
        if valid is None:
            raise UserError(f"unknown target kind '{target_kind}'", where=where,
                            allowed="provider, region, vendor, offering, family, accelerator")
        if target not in valid:
            raise UnknownNameError(target_kind, target, valid, where=where)


def _lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> np.ndarray:
    return median * np.exp(sigma * rng.standard_normal(n))


def sample_timeline(faults: Faults, universe: Universe, horizon_s: float,
                    rng: np.random.Generator, sampled: bool = True) -> list[FaultEvent]:
    """A random timeline of faults over [0, horizon_s), in start order, plus the scenario's
    scheduled events (new generations, fixed `events`); `sampled=False` gives those alone.

    Draws are made in a fixed order over the sorted universe, so the same seed gives the
    same timeline whatever fleet is later run through it.
    """
    out: list[FaultEvent] = [] if sampled else _scheduled(faults, universe, horizon_s)
    if not sampled:
        return out
    years = horizon_s / YEAR
    ro = faults.region_outages
    n_reg = rng.poisson(ro.rate_per_region_year * years, size=len(universe.regions))
    for (prov, reg), k in zip(universe.regions, n_reg):
        starts = rng.uniform(0, horizon_s, k)
        durs = _lognormal(rng, ro.median_hours * HOUR, ro.sigma, k)
        wide = rng.random(k) < ro.provider_wide_share
        for s, d, w in zip(starts, durs, wide):
            out.append(FaultEvent("outage", "provider" if w else "region", prov if w else f"{prov}/{reg}", s, d))
    sc = faults.supply_cuts
    n_cut = rng.poisson(sc.rate_per_vendor_year * years, size=len(universe.vendors))
    for vendor, k in zip(universe.vendors, n_cut):
        for s, d in zip(rng.uniform(0, horizon_s, k), _lognormal(rng, sc.median_months * MONTH, sc.sigma, k)):
            out.append(FaultEvent("supply_cut", "vendor", vendor, s, d))
    sp = faults.spot_preemptions
    months = horizon_s / MONTH
    n_spot = rng.poisson(sp.events_per_month * months, size=len(universe.regions))
    for (prov, reg), k in zip(universe.regions, n_spot):
        for s, d in zip(rng.uniform(0, horizon_s, k), _lognormal(rng, sp.median_hours * HOUR, 0.7, k)):
            out.append(FaultEvent("preemption", "region", f"{prov}/{reg}", s, d, sp.share_lost))
    ps = faults.price_shocks
    n_ps = rng.poisson(ps.rate_per_offering_year * years, size=len(universe.offerings))
    for off, k in zip(universe.offerings, n_ps):
        for s, f in zip(rng.uniform(0, horizon_s, k), _lognormal(rng, ps.median_factor - 1.0, 0.5, k)):
            out.append(FaultEvent("price_shock", "offering", off, s, ps.months * MONTH, 1.0 + f))
    ds = faults.delivery_slips
    n_months = int(np.ceil(months))
    slips = rng.random((n_months, len(universe.vendors))) < ds.probability
    lengths = rng.exponential(ds.mean_months, size=slips.shape)
    for m, v in zip(*np.nonzero(slips)):
        out.append(FaultEvent("delivery_slip", "vendor", universe.vendors[v], m * MONTH, lengths[m, v] * MONTH,
                              float(lengths[m, v])))
    out.extend(_scheduled(faults, universe, horizon_s))
    out.sort(key=lambda e: (e.start_s, e.kind, e.target))
    return out


def _scheduled(faults: Faults, universe: Universe, horizon_s: float) -> list[FaultEvent]:
    """Events the scenario fixes in time: new chip generations and its `events:` list."""
    out = [FaultEvent("obsolescence", "accelerator", g.accelerator, g.arrival_month * MONTH,
                      max(horizon_s - g.arrival_month * MONTH, 0.0), g.value_drop, sampled=False)
           for g in faults.new_generations]
    return out + fixed_events(faults.events, universe)


def fixed_events(events: Sequence[FixedEvent], universe: Universe, where: str = "faults.events") -> list[FaultEvent]:
    out = []
    for i, ev in enumerate(events):
        kind, _, name = ev.target.partition(":")
        universe.check(kind, name, where=f"{where}[{i}].target")
        out.append(FaultEvent(ev.kind, kind, name, ev.day * DAY, ev.hours * HOUR, ev.magnitude, sampled=False))  # type: ignore[arg-type]
    return out


def parse_what_if(text: str, universe: Universe) -> FaultEvent:
    """`outage:provider=gcp,day=30,hours=48` -> a fixed event (read by `scenario.faults.what_if_event`,
    names checked against the universe)."""
    return fixed_events([what_if_event(text)], universe, where="--what-if")[0]
