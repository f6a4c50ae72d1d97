"""The live fleet: its settings and its pools."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from .common import Body, Id, Month, Name, Stamp

Term = Literal["on_demand", "spot", "commit_1y", "commit_3y"]
Status = Literal["up", "degraded", "down"]
Factor = float


class GroupTotal(BaseModel):
    key: str
    pools: int
    chips: int
    chips_available: int
    pools_down: int


class FleetOut(BaseModel):
    scenario: str | None
    scenario_version: int | None
    month: Month | None = Field(description="the month whose demand is placed (null: the scenario's first)")
    months: list[str]
    demand_factors: dict[str, float] = Field(description="service -> multiple of its forecast, from events")
    version: int = Field(description="the fleet settings' version (its ETag)")
    updated_at: Stamp
    pools: int
    chips: int
    chips_available: int
    by_family: list[GroupTotal]
    by_provider: list[GroupTotal]
    by_region: list[GroupTotal]
    placement_version: int | None


class FleetPatch(Body):
    month: Month | None = None
    demand_factors: dict[Name, float] | None = Field(default=None, description="service -> factor (> 0)")

    @model_validator(mode="after")
    def _factors(self) -> FleetPatch:
        for k, v in (self.demand_factors or {}).items():
            if not (0 < v <= 1000):
                raise ValueError(f"demand factor of {k} must be in (0, 1000]")
        return self


class Activate(Body):
    scenario: Name
    version: Id | None = Field(default=None, description="default: the latest")
    reset_pools: bool = Field(default=False, description="replace the pools with the scenario's `fleet:`")


class PoolOut(BaseModel):
    id: int
    offering: str
    term: Term
    provider: str
    region: str
    accelerator: str
    family: str
    vendor: str
    unit_chips: int
    units: int
    chips: int
    chips_available: int = Field(description="whole chips left after the share an outage took")
    months_left: int | None
    usd_per_chip_hour: float | None = Field(description="null: the catalog's on-demand price")
    status: Status
    lost_share: float
    supply_cut: bool
    source: str
    version: int


class PoolCreate(Body):
    offering: str = Field(min_length=1, max_length=200)
    units: int = Field(ge=0, le=10_000_000)
    term: Term = "on_demand"
    months_left: int | None = Field(default=None, ge=0, le=600)
    usd_per_chip_hour: float | None = Field(default=None, ge=0, le=10_000)


class PoolPatch(Body):
    units: int | None = Field(default=None, ge=0, le=10_000_000)
    status: Status | None = None
    lost_share: float | None = Field(default=None, ge=0, le=1)
    months_left: int | None = Field(default=None, ge=0, le=600)
    usd_per_chip_hour: float | None = Field(default=None, ge=0, le=10_000)
