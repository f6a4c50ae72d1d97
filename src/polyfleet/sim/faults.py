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
from .calendar import DAY, DEFAULT_HOURS_PER_MONTH, HOUR, Calendar, span, when

YEAR = 365.25 * DAY
DEFAULT_MONTH_S = DEFAULT_HOURS_PER_MONTH * HOUR
MONTH = DEFAULT_MONTH_S   # the default plan month (730 h); a run's own is SimSetup.month_s (hours_per_month)

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

    @property
    def what(self) -> str:
        """'outage of region gcp/us-east5': the kind and its target, no time."""
        return f"{KIND_WORDS[self.kind]} of {self.target_kind} {self.target}"

    def label(self, calendar: Calendar | None = None) -> str:
        """'outage of provider gcp, 2026-04-11 14:00, 6 h' (time from the start without a calendar)."""
        at = when(calendar, self.start_s, self.duration_s) if calendar is not None else \
            f"after {span(self.start_s)} for {span(self.duration_s)}"
        return f"{self.what}, {at}"


KIND_WORDS = {"outage": "outage", "supply_cut": "supply cut", "delivery_slip": "delivery slip",
              "preemption": "spot preemption", "price_shock": "price shock", "obsolescence": "new generation"}


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
                    rng: np.random.Generator, sampled: bool = True,
                    month_s: float = DEFAULT_MONTH_S) -> list[FaultEvent]:
    """A random timeline of faults over [0, horizon_s), in start order, plus the scenario's
    scheduled events (new generations, fixed `events`); `sampled=False` gives those alone.
    `month_s` is the plan's month (what "months" in the fault parameters mean).

    Draws are made in a fixed order over the sorted universe, so the same seed gives the
    same timeline whatever fleet is later run through it.
    """
    out: list[FaultEvent] = [] if sampled else _scheduled(faults, universe, horizon_s, month_s)
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
        for s, d in zip(rng.uniform(0, horizon_s, k), _lognormal(rng, sc.median_months * month_s, sc.sigma, k)):
            out.append(FaultEvent("supply_cut", "vendor", vendor, s, d))
    sp = faults.spot_preemptions
    months = horizon_s / month_s
    n_spot = rng.poisson(sp.events_per_month * months, size=len(universe.regions))
    for (prov, reg), k in zip(universe.regions, n_spot):
        for s, d in zip(rng.uniform(0, horizon_s, k), _lognormal(rng, sp.median_hours * HOUR, 0.7, k)):
            out.append(FaultEvent("preemption", "region", f"{prov}/{reg}", s, d, sp.share_lost))
    ps = faults.price_shocks
    n_ps = rng.poisson(ps.rate_per_offering_year * years, size=len(universe.offerings))
    for off, k in zip(universe.offerings, n_ps):
        for s, f in zip(rng.uniform(0, horizon_s, k), _lognormal(rng, ps.median_factor - 1.0, 0.5, k)):
            out.append(FaultEvent("price_shock", "offering", off, s, ps.months * month_s, 1.0 + f))
    ds = faults.delivery_slips
    n_months = int(np.ceil(months))
    slips = rng.random((n_months, len(universe.vendors))) < ds.probability
    lengths = rng.exponential(ds.mean_months, size=slips.shape)
    for m, v in zip(*np.nonzero(slips)):
        out.append(FaultEvent("delivery_slip", "vendor", universe.vendors[v], m * month_s, lengths[m, v] * month_s,
                              float(lengths[m, v])))
    out.extend(_scheduled(faults, universe, horizon_s, month_s))
    out.sort(key=lambda e: (e.start_s, e.kind, e.target))
    return out


def _scheduled(faults: Faults, universe: Universe, horizon_s: float, month_s: float) -> list[FaultEvent]:
    """Events the scenario fixes in time: new chip generations and its `events:` list."""
    out = [FaultEvent("obsolescence", "accelerator", g.accelerator, g.arrival_month * month_s,
                      max(horizon_s - g.arrival_month * month_s, 0.0), g.value_drop, sampled=False)
           for g in faults.new_generations]
    return out + fixed_events(faults.events, universe)


def fixed_events(events: Sequence[FixedEvent], universe: Universe, where: str = "faults.events") -> list[FaultEvent]:
    out = []
    for i, ev in enumerate(events):
        kind, _, name = ev.target.partition(":")
        universe.check(kind, name, where=f"{where}[{i}].target")
        out.append(FaultEvent(ev.kind, kind, name, ev.day * DAY, ev.hours * HOUR, ev.magnitude, sampled=False))  # type: ignore[arg-type]
    return out


def parse_what_if(text: str, universe: Universe, horizon_s: float | None = None) -> FaultEvent:
    """`outage:provider=gcp,day=30,hours=48` -> a fixed event (read by `scenario.faults.what_if_event`,
    names checked against the universe). With `horizon_s`, an event that starts after the simulated
    time is refused rather than silently dropped."""
    event = fixed_events([what_if_event(text)], universe, where="--what-if")[0]
    if horizon_s is not None and event.start_s >= horizon_s:
        raise UserError(f"day {event.start_s / DAY:g} is after the simulated {horizon_s / DAY:.0f} days",
                        field="--what-if", allowed=f"day in [0, {horizon_s / DAY:.0f})")
    return event
