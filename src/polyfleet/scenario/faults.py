"""The scenario's `faults:` section: fault models with their parameters, and fixed what-if events.

Every default is an assumption; the samplers live in `sim/faults.py`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["outage", "supply_cut", "delivery_slip", "preemption", "price_shock", "obsolescence"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegionOutages(_Model):
    """Outages of one region; a share of them take down every region of the provider at once."""
    rate_per_region_year: float = Field(0.5, ge=0, description="assumption: a few public multi-hour region incidents per provider-year")
    median_hours: float = Field(4.0, gt=0)
    sigma: float = Field(1.0, ge=0, description="lognormal spread of durations")
    provider_wide_share: float = Field(0.1, ge=0, le=1, description="share of outages correlated across all the provider's regions")


class SupplyCuts(_Model):
    """A vendor's new deliveries stop (export controls, a fab or packaging shortage)."""
    rate_per_vendor_year: float = Field(0.1, ge=0)
    median_months: float = Field(4.0, gt=0)
    sigma: float = Field(0.5, ge=0)


class DeliverySlips(_Model):
    """Each month's new capacity arrives late with this probability."""
    probability: float = Field(0.15, ge=0, le=1)
    mean_months: float = Field(1.0, gt=0)


class ChipFailures(_Model):
    """Chip and host failures: capacity in repair, and training progress lost to the last checkpoint.

    Default rate: Llama 3 (Dubey et al., 2024) reports 419 unexpected job interruptions in 54 days
    on 16,384 H100s, about 0.17 per GPU-year from all causes, and >90% effective training time;
    10-minute checkpoints and a 10-minute restart reproduce that (assumption)."""
    annual_failure_rate: float = Field(0.17, ge=0, le=5, description="interruptions per chip-year (hosts, "
                                       "network and software included)")
    repair_hours: float = Field(48.0, gt=0)
    checkpoint_interval_minutes: float = Field(10.0, gt=0)
    restart_minutes: float = Field(10.0, ge=0)


class SpotPreemptions(_Model):
    """Spot capacity reclaimed by the provider."""
    events_per_month: float = Field(2.0, ge=0)
    share_lost: float = Field(0.3, ge=0, le=1)
    median_hours: float = Field(3.0, gt=0)


class PriceShocks(_Model):
    """On-demand and spot prices jump for a while."""
    rate_per_offering_year: float = Field(0.1, ge=0)
    median_factor: float = Field(1.3, gt=1)
    months: float = Field(3.0, gt=0)


class NewGeneration(_Model):
    """A new chip generation arrives and lowers the value of committed older chips."""
    accelerator: str
    arrival_month: float = Field(ge=0)
    value_drop: float = Field(0.4, gt=0, le=1)


class FixedEvent(_Model):
    """A what-if: one event at a given time."""
    kind: Kind
    target: str = Field(description="provider:NAME, region:PROVIDER/REGION, vendor:NAME, offering:ID, family:NAME")
    day: float = Field(0.0, ge=0)
    hours: float = Field(24.0, gt=0)
    magnitude: float = Field(1.0, gt=0)


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
