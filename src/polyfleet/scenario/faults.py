"""The scenario's `faults:` section: fault models with their parameters, and fixed what-if events.

Every default is an assumption; the samplers live in `sim/faults.py`. Rates and lengths have
documented maxima: the sampler draws one event per occurrence and the simulator re-places the
fleet at each, so a rate of 1e6 a year would not finish, and a length past the longest horizon
(`MAX_HOURS`) means nothing more than "until the end".
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import UserError, one_line

Kind = Literal["outage", "supply_cut", "delivery_slip", "preemption", "price_shock", "obsolescence"]

MAX_MONTHS = 120                 # the longest horizon (scenario horizon.months <= 120)
MAX_HOURS = MAX_MONTHS * 730.5   # 10 years
MAX_DAYS = MAX_HOURS / 24
MAX_SIGMA = 3.0                  # lognormal spread: exp(3) = 20x either way at one sigma
MAX_PRICE_FACTOR = 10.0          # a price moving more than 10x is a new price list, not a shock
TARGET_KINDS = ("provider", "region", "vendor", "offering", "family", "accelerator")
RATE_WHY = "at most monthly: the simulator re-places the fleet at every event, so a larger rate would not finish"
LENGTH_WHY = "at most the longest horizon, 10 years"
SIGMA_WHY = "a lognormal spread of 3 already spans 20x either way at one sigma"
PRICE_WHY = "a price moving more than 10x is a new price list, not a shock"
WEEK_WHY = "at most a week"


def _why(reason: str) -> dict:
    """The reason for a field's bound; error messages show it."""
    return {"why": reason}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class RegionOutages(_Model):
    """Outages of one region; a share of them take down every region of the provider at once."""
    rate_per_region_year: float = Field(0.5, ge=0, le=52, description="assumption: a few public multi-hour "
                                        "region incidents per provider-year", json_schema_extra=_why(
                                            RATE_WHY.replace("monthly", "weekly")))
    median_hours: float = Field(4.0, gt=0, le=MAX_HOURS, json_schema_extra=_why(LENGTH_WHY))
    sigma: float = Field(1.0, ge=0, le=MAX_SIGMA, description="lognormal spread of durations",
                         json_schema_extra=_why(SIGMA_WHY))
    provider_wide_share: float = Field(0.1, ge=0, le=1, description="share of outages correlated across all the provider's regions")


class SupplyCuts(_Model):
    """A vendor's new deliveries stop (export controls, a fab or packaging shortage)."""
    rate_per_vendor_year: float = Field(0.1, ge=0, le=4, json_schema_extra=_why(
        "a cut lasts months; more than 4 a year overlap into one"))
    median_months: float = Field(4.0, gt=0, le=MAX_MONTHS, json_schema_extra=_why(LENGTH_WHY))
    sigma: float = Field(0.5, ge=0, le=MAX_SIGMA, json_schema_extra=_why(SIGMA_WHY))


class DeliverySlips(_Model):
    """Each month's new capacity arrives late with this probability."""
    probability: float = Field(0.15, ge=0, le=1)
    mean_months: float = Field(1.0, gt=0, le=MAX_MONTHS, json_schema_extra=_why(LENGTH_WHY))


class ChipFailures(_Model):
    """Chip and host failures: capacity in repair, and training progress lost to the last checkpoint.

    Default rate: Llama 3 (Dubey et al., 2024) reports 419 unexpected job interruptions in 54 days
    on 16,384 H100s, about 0.17 per GPU-year from all causes, and >90% effective training time;
    10-minute checkpoints and a 10-minute restart reproduce that (assumption)."""
    annual_failure_rate: float = Field(0.17, ge=0, le=5, description="interruptions per chip-year (hosts, "
                                       "network and software included)", json_schema_extra=_why(
                                           "30x the 0.17 Llama 3 measured; a fleet failing more is not running"))
    repair_hours: float = Field(48.0, gt=0, le=8760, json_schema_extra=_why("a chip in repair for over a year "
                                                                           "is lost, not repaired"))
    checkpoint_interval_minutes: float = Field(10.0, gt=0, le=10080, json_schema_extra=_why(WEEK_WHY))
    restart_minutes: float = Field(10.0, ge=0, le=10080, json_schema_extra=_why(WEEK_WHY))


class SpotPreemptions(_Model):
    """Spot capacity reclaimed by the provider."""
    events_per_month: float = Field(2.0, ge=0, le=31, json_schema_extra=_why(RATE_WHY.replace("monthly", "daily")))
    share_lost: float = Field(0.3, ge=0, le=1)
    median_hours: float = Field(3.0, gt=0, le=MAX_HOURS, json_schema_extra=_why(LENGTH_WHY))


class PriceShocks(_Model):
    """On-demand and spot prices jump for a while."""
    rate_per_offering_year: float = Field(0.1, ge=0, le=12, json_schema_extra=_why(RATE_WHY))
    median_factor: float = Field(1.3, gt=1, le=MAX_PRICE_FACTOR, json_schema_extra=_why(PRICE_WHY))
    months: float = Field(3.0, gt=0, le=MAX_MONTHS, json_schema_extra=_why(LENGTH_WHY))


class NewGeneration(_Model):
    """A new chip generation arrives and lowers the value of committed older chips."""
    accelerator: str
    arrival_month: float = Field(ge=0, le=MAX_MONTHS, json_schema_extra=_why(LENGTH_WHY))
    value_drop: float = Field(0.4, gt=0, le=1)


# What `magnitude` means for each kind, and the values it may take ("" = the kind has none).
MAGNITUDE = {"outage": ("share of capacity lost", 0.0, 1.0), "preemption": ("share of spot capacity lost", 0.0, 1.0),
             "obsolescence": ("share of value lost", 0.0, 1.0),
             "price_shock": ("price factor", 0.0, MAX_PRICE_FACTOR), "supply_cut": ("", 1.0, 1.0),
             "delivery_slip": ("", 1.0, 1.0)}


class FixedEvent(_Model):
    """A what-if: one event at a given time."""
    kind: Kind
    target: str = Field(description="provider:NAME, region:PROVIDER/REGION, vendor:NAME, offering:ID, family:NAME, "
                        "accelerator:ID")
    day: float = Field(0.0, ge=0, le=MAX_DAYS, json_schema_extra=_why(LENGTH_WHY))
    hours: float = Field(24.0, gt=0, le=MAX_HOURS, json_schema_extra=_why(LENGTH_WHY))
    magnitude: float = Field(1.0, gt=0)

    @model_validator(mode="after")
    def _check(self) -> "FixedEvent":
        kind, sep, name = self.target.partition(":")
        if not sep or kind not in TARGET_KINDS or not name:
            raise ValueError(f"target '{self.target}' is not KIND:NAME (KIND: {', '.join(TARGET_KINDS)})")
        what, lo, hi = MAGNITUDE[self.kind]
        name = self.kind.replace("_", " ")
        if not what and self.magnitude != 1.0:
            raise ValueError(f"a {name} has no magnitude (its length is the event); leave magnitude out")
        if what and not lo < self.magnitude <= hi:
            raise ValueError(f"the magnitude of a {name} is the {what}, in ({lo:g}, {hi:g}]; got {self.magnitude:g}")
        return self

    @property
    def target_kind(self) -> str:
        return self.target.partition(":")[0]

    @property
    def target_name(self) -> str:
        return self.target.partition(":")[2]


class Faults(_Model):
    """The scenario's `faults:` section. Every default is an assumption and says so in `--help` of risk."""
    region_outages: RegionOutages = RegionOutages()
    supply_cuts: SupplyCuts = SupplyCuts()
    delivery_slips: DeliverySlips = DeliverySlips()
    chip_failures: ChipFailures = ChipFailures()
    spot_preemptions: SpotPreemptions = SpotPreemptions()
    price_shocks: PriceShocks = PriceShocks()
    new_generations: tuple[NewGeneration, ...] = ()
    events: tuple[FixedEvent, ...] = ()


# ---- what-ifs written on the command line ------------------------------------------------------

WHAT_IF_KINDS = ("outage", "supply_cut", "delivery_slip", "preemption", "price_shock")
WHAT_IF_FORM = "KIND:TARGET=NAME,day=D,hours=H|days=D[,magnitude=M] (KIND: " + ", ".join(WHAT_IF_KINDS) + ")"
_WHAT_IF = re.compile(r"^(?P<kind>[a-z_-]+):(?P<args>.+)$")


def what_if_event(text: str, option: str = "--what-if") -> FixedEvent:
    """`outage:provider=gcp,day=30,hours=48` -> a checked `FixedEvent` (target names are checked
    against a scenario by the caller). Keys: one target (provider, region, vendor, offering, family,
    accelerator), `day` (start), `hours` and/or `days` (length, default 24 hours), `magnitude`."""
    m = _WHAT_IF.match(text.strip())
    if not m:
        raise UserError(f"cannot read what-if '{text}'", field=option, allowed=WHAT_IF_FORM)
    kind = m["kind"].replace("-", "_")
    if kind not in WHAT_IF_KINDS:
        raise UserError(f"unknown event kind '{m['kind']}'", field=option, allowed=", ".join(WHAT_IF_KINDS))
    fields: dict[str, str] = {}
    for part in m["args"].split(","):
        key, eq, val = part.partition("=")
        if not eq or not key.strip():
            raise UserError(f"'{part}' is not KEY=VALUE", field=option, allowed=WHAT_IF_FORM)
        if key.strip() in fields:
            raise UserError(f"'{key.strip()}' is given twice in '{text}'", field=option)
        fields[key.strip()] = val.strip()
    targets = [k for k in fields if k in TARGET_KINDS]
    if len(targets) != 1:
        raise UserError("a what-if names exactly one target", field=option, allowed=", ".join(f"{t}=" for t in TARGET_KINDS))
    unknown = sorted(set(fields) - {targets[0], "day", "hours", "days", "magnitude"})
    if unknown:
        raise UserError(f"unknown key(s) {', '.join(unknown)}", field=option, allowed="day, hours, days, magnitude")
    nums = {k: _number(fields[k], k, option) for k in ("day", "hours", "days", "magnitude") if k in fields}
    hours = nums.get("hours", 0.0) + 24.0 * nums.get("days", 0.0) if {"hours", "days"} & set(nums) else 24.0
    data = {"kind": kind, "target": f"{targets[0]}:{fields[targets[0]]}", "day": nums.get("day", 0.0),
            "hours": hours, **({"magnitude": nums["magnitude"]} if "magnitude" in nums else {})}
    try:
        return FixedEvent.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = next((str(p) for p in err["loc"] if isinstance(p, str)), "")
        msg = err["msg"].removeprefix("Value error, ")
        raise UserError(one_line(f"{key + ': ' if key else ''}{msg} in '{text}'"), field=option) from None


def _number(text: str, key: str, option: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"{key} must be a number, not '{text}'", field=option) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise UserError(f"{key} must be a finite number, not '{text}'", field=option)
    if value < 0 or (key != "day" and value == 0):
        raise UserError(f"{key} must be {'>= 0' if key == 'day' else 'positive'}, not '{text}'", field=option)
    return value
