"""Scenario sections about the *limits*: supply, power, money and risk policy.

Defaults are chosen so that a scenario that says nothing about a limit is not limited
by it, except where the default is itself a documented, labelled assumption (spot
availability, PUE, commitment discounts), which the plan report lists.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from ..catalog.model import TERMS
from .sections import NonNegative, Section, Selector, Share, Term
from .series import Month, Series

COMMIT_MONTHS = {"commit_1y": 12, "commit_3y": 36}

# Documented defaults that are assumptions; the plan report lists them when used.
DEFAULT_SPOT_AVAILABILITY = 0.6
DEFAULT_SPOT_MAX_CHIPS = 2048
DEFAULT_PUE = 1.2
DEFAULT_COMMIT_DISCOUNT = {"commit_1y": 0.30, "commit_3y": 0.50}
DEFAULT_TERMINAL_VALUE_SHARE = 0.5
DEFAULT_CLASSES = {"critical": 1.0, "high": 0.5, "standard": 0.0, "batch": 0.0}

Pue = Annotated[float, Field(ge=1.0, le=3.0)]          # facility / IT power: 1.0 is no overhead at all
Discount = Annotated[float, Field(ge=0, lt=1)]
ShareCapValue = Annotated[float, Field(gt=0, le=1)]
PositiveWatts = Annotated[float, Field(gt=0)]


class SupplyRule(Selector):
    """Limits on what the matched offerings can deliver, counted in chips held (all terms unless `terms`)."""

    id: str | None = None
    terms: tuple[Term, ...] | None = Field(default=None, description="terms the rule counts (default: all)")
    max_chips: Series | None = Field(default=None, description="chips obtainable (held at once), per month")
    max_new_chips_per_month: Series | None = Field(default=None, description="ramp: most chips added in a month")
    lead_time_months: int = Field(default=0, ge=0, le=120, description="no capacity beyond the current fleet in the "
                                  "first N months of the horizon")
    available_from: Month | None = Field(default=None, description="first month the offerings can be had")
    spot_availability: float | None = Field(default=None, gt=0, le=1)


class Supply(Section):
    """What vendors and clouds can deliver."""

    spot_availability: float = Field(default=DEFAULT_SPOT_AVAILABILITY, gt=0, le=1,
                                     description="share of a spot chip counted as firm capacity (assumption)")
    spot_max_chips: int | None = Field(default=DEFAULT_SPOT_MAX_CHIPS, ge=0,
                                       description="spot chips obtainable per offering (assumption; null = "
                                       "unlimited)")
    on_demand_max_chips: int | None = Field(default=None, ge=0, description="on-demand chips obtainable per "
                                            "offering (null = unlimited)")
    rules: tuple[SupplyRule, ...] = ()


class PowerLimitSpec(Selector):
    """A facility or power-contract limit in MW (facility power: IT watts x PUE) over matched offerings."""

    id: str | None = None
    mw: Series


class PowerSite(Selector):
    """A site: facility MW from the month it is energised, for the offerings it matches (its provider and
    region, and the chip generation it is built for: `accelerator`). A site already under way gives
    `energised`; one the plan may still order gives `lead_time_months` (energised that long after the
    month it is ordered, chosen by the planner) and what it costs. The chips of an offering any site
    matches draw their power from those sites only."""

    id: str
    mw: Series = Field(description="facility MW once energised (a number or a series)")
    energised: Month | None = Field(default=None, description="first month it can hold chips (a committed site)")
    lead_time_months: int | None = Field(default=None, ge=0, le=120, description="months from ordering to "
                                         "energisation (a site the plan may order)")
    usd_per_mw_month: NonNegative = Field(default=0.0, description="what the site costs per MW-month once "
                                          "energised (0: its cost is in the chips' price)")
    source: str = Field(default="scenario assumption", description="where its figures come from")

    @model_validator(mode="after")
    def _when(self) -> "PowerSite":
        if (self.energised is None) == (self.lead_time_months is None):
            raise ValueError(f"site {self.id}: give either energised (a site under way) or lead_time_months "
                             "(a site the plan may order), not both or neither")
        return self


class Watts(Section):
    value: float = Field(gt=0)
    note: str = "scenario assumption"


class Power(Section):
    """Power limits, PUE and the watts per chip the catalog lacks."""

    pue: Pue | dict[str, Pue] = Field(default=DEFAULT_PUE, description="facility / IT power; one number or "
                                      "per region (`provider/region`, `default`)", json_schema_extra={
                                          "why": "1.0 is no cooling or conversion loss; 3.0 is beyond any data hall"})
    watts_per_chip: dict[str, PositiveWatts | Watts] = Field(default_factory=dict, description="IT watts per chip by "
                                                     "accelerator (replaces the catalog's; labelled assumption)")
    total_mw: Series | None = None
    limits: tuple[PowerLimitSpec, ...] = ()
    sites: tuple[PowerSite, ...] = Field(default=(), description="sites with energisation dates or lead times "
                                         "and the chip generation each is built for; a gigawatt is a list of these")

    def pue_for(self, region_key: str) -> float:
        if isinstance(self.pue, (int, float)):
            return float(self.pue)
        return float(self.pue.get(region_key, self.pue.get("default", DEFAULT_PUE)))

    def watts_for(self, accelerator: str) -> Watts | None:
        w = self.watts_per_chip.get(accelerator)
        if w is None:
            return None
        return w if isinstance(w, Watts) else Watts(value=float(w))


class Money(Section):
    """Budget, terms and what commitments and moves cost."""

    budget_usd_per_month: Series | None = None
    terms: tuple[Term, ...] = Field(default=TERMS, description="terms the planner may buy")
    commit_discount: dict[Literal["commit_1y", "commit_3y"], Discount] = Field(
        default_factory=lambda: dict(DEFAULT_COMMIT_DISCOUNT),
        description="discount off on-demand where the catalog has no commitment price (assumption: Trillium's "
                    "published 1y/3y prices are 30% / 55% off)")
    commitment_tail: Literal["prorated", "full", "terminal_value"] = Field(
        default="prorated", description="a commitment or contract running past the horizon: count only its months "
        "inside (prorated), its whole term (full), or its months after the horizon at (1 - terminal_value_share) of "
        "their price (terminal_value); the report shows the obligation after the horizon in full either way")
    terminal_value_share: Share = Field(
        default=DEFAULT_TERMINAL_VALUE_SHARE, description="with commitment_tail: terminal_value, what a chip-month "
        "held after the horizon is worth to the lab as a share of its price (assumption: 0.5, capacity a growing "
        "business still uses but that a newer generation makes cheaper)")
    porting_usd: NonNegative | dict[str, NonNegative] = Field(default=0.0, description="one-time cost to move a workload to "
                                                   "a family outside its runs_on (per family, `default`)")

    def porting_for(self, family: str) -> float:
        if isinstance(self.porting_usd, (int, float)):
            return float(self.porting_usd)
        return float(self.porting_usd.get(family, self.porting_usd.get("default", 0.0)))


class FailureSpec(Selector):
    """A failure set: the matched offerings are lost (keep = 0), partly lost (0 < keep < 1), or, with
    `new_supply_months: k`, keep only the capacity they held k months earlier (new supply stops)."""

    id: str | None = None
    keep: float = Field(default=0.0, ge=0, lt=1)
    new_supply_months: int | None = Field(default=None, ge=1, le=120)

    @model_validator(mode="after")
    def _something(self) -> "FailureSpec":
        if not self.selector_items():
            raise ValueError("a failure set names what fails (provider, vendor, region, family, accelerator or "
                             "offering)")
        return self


class CvarScenario(Section):
    """An explicit what-if for the CVaR objective: these failure sets happen together, with a probability."""

    id: str
    probability: float = Field(gt=0, le=1)
    failures: tuple[str | FailureSpec, ...] = Field(default=(), description="failure set ids or inline sets; "
                                                    "empty = nothing fails")


class Cvar(Section):
    alpha: float = Field(default=0.9, ge=0, lt=1, description="CVaR level: the mean loss of the worst 1-alpha")
    weight: float = Field(default=1.0, ge=0, description="lambda: objective = cost + lambda x CVaR(loss)")


ShareCap = ShareCapValue | dict[str, ShareCapValue]


class Risk(Section):
    """Concentration caps, N-1 survivability and the optional CVaR objective."""

    share_measure: Literal["power", "chips"] = Field(default="power", description="what a capacity share "
                                                     "counts: facility MW or chips")
    max_share: dict[Literal["vendor", "provider", "family", "region", "accelerator"], ShareCap] = Field(
        default_factory=dict, description="most share of capacity per group, e.g. {vendor: 0.6, provider: "
        "{default: 0.5, gcp: 0.7}}")
    caps_from: Month | None = Field(default=None, description="first month the caps apply (default: all)")
    classes: dict[str, Share] = Field(default_factory=dict, description="priority class -> share of its demand "
                                      f"that must survive each failure set; merged over {DEFAULT_CLASSES}")
    failures: tuple[FailureSpec, ...] = ()
    auto_failures: tuple[Literal["provider", "vendor", "vendor_supply", "region"], ...] = Field(
        default=("provider", "vendor_supply", "region"), description="failure sets generated for every provider"
        ", vendor (its new supply) and region the plan may use")
    vendor_supply_months: int = Field(default=6, ge=1, le=120, description="an auto vendor_supply failure freezes the "
                                      "vendor's capacity at its level this many months earlier")
    scenarios: tuple[CvarScenario, ...] = ()
    cvar: Cvar | None = None
    loss_usd_per_million_tokens: dict[str, NonNegative] = Field(
        default_factory=lambda: {"default": 10.0}, description="value of unserved demand per class (CVaR)")

    @model_validator(mode="after")
    def _probabilities(self) -> "Risk":
        total = sum(s.probability for s in self.scenarios)
        if total > 1 + 1e-9:
            raise ValueError(f"scenario probabilities add up to {total:g} > 1")
        return self

    def required(self) -> dict[str, float]:
        """Priority class -> required survivability share, defaults merged."""
        return {**DEFAULT_CLASSES, **self.classes}

    def cap_for(self, dimension: str, group: str) -> float | None:
        cap = self.max_share.get(dimension)  # type: ignore[call-overload]
        if cap is None:
            return None
        if isinstance(cap, (int, float)):
            return float(cap)
        val = cap.get(group, cap.get("default"))
        return None if val is None else float(val)
