"""The `uncertainty:` section: demand paths a two-stage plan is hedged against.

Either explicit paths, each a probability and multipliers on the forecast (a `Series` per workload id,
or `all`), or `sample:` - paths drawn reproducibly from a log-normal end-of-horizon multiplier:

    uncertainty:
      paths:
        - {id: low,  probability: 0.3, demand: {all: {points: {2026-01: 1.0, 2027-12: 0.5}}}}
        - {id: base, probability: 0.5}                     # no demand: the forecast itself
        - {id: high, probability: 0.2, demand: {chat: 1.5}, prices: {nvidia: 1.3}}
      cvar: {alpha: 0.9, weight: 0.5}

    uncertainty:
      sample: {paths: 20, seed: 7, growth_sd: 0.5, correlation: 0.7}

A path may also move a vendor's on-demand and spot prices (`prices:`); commitment prices are fixed
when signed, so they stay. A sampled path's multiplier for service w in month t is exp(sd z_w f_t - sd^2 f_t / 2), with
f_t = (t + 1) / T: it starts near the forecast and widens to the end-of-horizon log-sd `growth_sd`,
with mean 1 in every month (the forecast stays the expectation). z_w = sqrt(rho) z + sqrt(1 - rho) e_w:
services share a common shock with correlation `correlation`. Training runs are the company's own
decision, so sampling leaves them at the forecast (explicit paths may scale them). The first
sampled path is the forecast itself: it is the reference path that carries the failure sets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field, model_validator

from .sections import Section
from .series import Series

if TYPE_CHECKING:
    from .model import Scenario

ALL = "all"
FORECAST_ID = "forecast"


class DemandPathSpec(Section):
    """One demand path: a probability and multipliers on the forecast (default 1 for what is not named)."""

    id: str
    probability: float = Field(gt=0, le=1)
    demand: dict[str, Series] = Field(default_factory=dict, description="workload id or `all` -> multiplier "
                                      "on its forecast, month by month (a workload's own entry wins over `all`)")
    prices: dict[str, Series] = Field(default_factory=dict, description="vendor -> multiplier on its on-demand "
                                      "and spot prices, month by month (commitment prices are fixed when signed)")


class Sampling(Section):
    """Paths drawn with numpy's default Generator from `seed`, each with probability 1/paths."""

    paths: int = Field(default=20, ge=2, le=200, json_schema_extra={"why": "each path is a copy of the "
                       "planning model; 200 copies are past what solves in minutes"})
    seed: int = Field(default=0, ge=0)
    growth_sd: float = Field(default=0.5, ge=0, le=2, description="log-normal sd of the end-of-horizon demand "
                             "multiplier. 0.5 puts P10..P90 at 0.53x..1.9x of the forecast: the large accounts "
                             "grew ~7x in a year and may not again, so a forecast that assumes more growth can "
                             "miss by about half either way (an assumption, printed with the plan)")
    correlation: float = Field(default=0.7, ge=0, le=1, description="correlation of the log multipliers between "
                               "services (one market moves them together; an assumption)")


class PathCvar(Section):
    """The CVaR term on path cost: objective = E[cost] + weight x CVaR_alpha(cost)."""

    alpha: float = Field(default=0.9, ge=0, lt=1, description="CVaR level: the mean cost of the worst 1 - alpha "
                         "of the probability")
    weight: float = Field(default=0.0, ge=0, le=100, description="weight of CVaR in the objective (0 = plan for "
                          "the expected cost; CVaR is reported either way)")


class Uncertainty(Section):
    """Demand paths for `polyfleet plan --paths`: explicit `paths` or `sample`, not both."""

    paths: tuple[DemandPathSpec, ...] = ()
    sample: Sampling | None = None
    reference: str | None = Field(default=None, description="the path that carries the failure sets and the "
                                  "printed plan (default: the path closest to the forecast)")
    cvar: PathCvar = PathCvar()
    failure_sets: Literal["reference", "all"] = Field(default="reference", description="where the failure sets "
                                                      "and survivability apply: the reference path only (fast), or "
                                                      "every path, each on the demand it serves (about 4x the "
                                                      "model; a path that holds no N-1 reserve costs less)")

    @model_validator(mode="after")
    def _consistent(self) -> "Uncertainty":
        if self.paths and self.sample is not None:
            raise ValueError("give paths or sample, not both")
        ids = [p.id for p in self.paths]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"path id '{dup[0]}' is used twice")
        if self.paths:
            total = sum(p.probability for p in self.paths)
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"path probabilities add up to {total:g}; they must add up to 1")
        if self.reference is not None and self.paths and self.reference not in ids:
            raise ValueError(f"reference '{self.reference}' is not a path id (allowed: {', '.join(ids)})")
        return self

    def describe(self) -> str:
        """One line for `polyfleet scenario`."""
        if self.paths:
            return f"{len(self.paths)} given ({', '.join(p.id for p in self.paths)})"
        if self.sample is not None:
            return f"{self.sample.paths} sampled (seed {self.sample.seed}, growth_sd {self.sample.growth_sd:g})"
        return "none (plan --paths N samples N)"


@dataclass(frozen=True)
class DrawnPath:
    """A path over the scenario's workloads: multiplier[w, t] on the forecast demand."""

    id: str
    probability: float
    multiplier: np.ndarray          # [W, T]
    prices: dict[str, np.ndarray] | None = None     # vendor -> [T] multiplier on on-demand and spot prices


def explicit_paths(scn: Scenario) -> list[DrawnPath]:
    """The scenario's own paths as [W, T] multipliers (workloads in `scn.workloads.all()` order)."""
    ids = [w.id for w in scn.workloads.all()]
    T = scn.horizon.months
    out = []
    for i, p in enumerate(scn.uncertainty.paths):
        mult = np.ones((len(ids), T))
        if ALL in p.demand:
            mult[:] = scn.expand(p.demand[ALL], ("uncertainty", "paths", i, "demand", ALL))[None, :]
        for key, series in p.demand.items():
            if key != ALL:
                mult[ids.index(key)] = scn.expand(series, ("uncertainty", "paths", i, "demand", key))
        prices = {v: scn.expand(series, ("uncertainty", "paths", i, "prices", v)) for v, series in p.prices.items()}
        out.append(DrawnPath(p.id, p.probability, mult, prices or None))
    return out


def sampled_paths(scn: Scenario, spec: Sampling) -> list[DrawnPath]:
    """`spec.paths` paths: the forecast, then draws (see the module note); probability 1/paths each."""
    W, S, T = len(scn.workloads.all()), len(scn.workloads.services), scn.horizon.months
    return draw_multipliers(W, S, T, spec)


def draw_multipliers(W: int, S: int, T: int, spec: Sampling) -> list[DrawnPath]:  # noqa: N803
    """The draws of `sampled_paths` for W workloads of which the first S are services, over T months."""
    rng = np.random.default_rng(spec.seed)
    n = spec.paths - 1
    common = rng.standard_normal((n, 1))
    own = rng.standard_normal((n, S))
    rho, sd = spec.correlation, spec.growth_sd
    z = np.sqrt(rho) * common + np.sqrt(1.0 - rho) * own                     # [n, S]
    f = (np.arange(T) + 1.0) / T                                            # [T] share of the end's variance
    log_m = sd * z[:, :, None] * np.sqrt(f)[None, None, :] - 0.5 * sd ** 2 * f[None, None, :]
    mult = np.ones((n, W, T))
    mult[:, :S, :] = np.exp(log_m)
    prob = 1.0 / spec.paths
    out = [DrawnPath(FORECAST_ID, prob, np.ones((W, T)))]
    out += [DrawnPath(f"path-{i + 1:02d}", prob, mult[i]) for i in range(n)]
    return out


def demand_paths(scn: Scenario, count: int | None = None) -> list[DrawnPath]:
    """The paths to plan against: the scenario's explicit ones, else `count` sampled ones (the scenario's
    `sample:` settings, or the defaults, with `count` paths when given)."""
    u = scn.uncertainty
    if u.paths:
        return explicit_paths(scn)
    spec = u.sample or Sampling()
    if count is not None:
        spec = spec.model_copy(update={"paths": count})
    return sampled_paths(scn, spec)


def reference_index(scn: Scenario, paths: list[DrawnPath]) -> int:
    """The reference path: the one named, else the one closest to the forecast (least mean |log m|)."""
    ref = scn.uncertainty.reference
    if ref is not None and any(p.id == ref for p in paths):
        return [p.id for p in paths].index(ref)
    dist = [float(np.mean(np.abs(np.log(np.maximum(p.multiplier, 1e-12))))) for p in paths]
    return int(np.argmin(dist))


def path_assumptions(scn: Scenario, paths: list[DrawnPath]) -> list[str]:
    """What the paths assume, for the plan's assumption list."""
    u = scn.uncertainty
    if u.paths:
        return [f"{len(paths)} demand paths from the scenario (uncertainty.paths)"]
    spec = u.sample or Sampling()
    return [f"{len(paths)} demand paths: the forecast and {len(paths) - 1} draws (seed {spec.seed}) of a "
            f"log-normal end-of-horizon multiplier, sd {spec.growth_sd:g}, correlation {spec.correlation:g} "
            "between services; training runs at their forecast (assumption: uncertainty.sample)"]
