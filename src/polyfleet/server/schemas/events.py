"""Fleet events. Each carries an id its sender chooses, so that sending it twice changes nothing."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from .common import Body, Id, Name, Stamp

EventId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
                               description="chosen by the sender; the same id twice is one event")]


class Target(Body):
    """Which pools: every field given must match; `pool_ids` lists pools by id."""

    pool_ids: list[Id] | None = Field(default=None, min_length=1, max_length=1000)
    offering: str | None = Field(default=None, max_length=200)
    provider: str | None = Field(default=None, max_length=64)
    region: str | None = Field(default=None, max_length=130, description="provider/region or a bare region")
    accelerator: str | None = Field(default=None, max_length=64)
    family: str | None = Field(default=None, max_length=16)
    vendor: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _some(self) -> Target:
        if not any(v is not None for v in self.model_dump().values()):
            raise ValueError("name at least one of pool_ids, offering, provider, region, accelerator, family, vendor")
        return self


class _Event(Body):
    id: EventId
    note: str = Field(default="", max_length=1000)
    occurred_at: Stamp | None = Field(default=None, description="when it happened (default: when received)")


class OutageStart(_Event):
    kind: Literal["outage_start"]
    target: Target
    lost_share: float = Field(default=1.0, gt=0, le=1, description="share of the pools' chips lost (1: down)")


class OutageEnd(_Event):
    kind: Literal["outage_end"]
    target: Target


class DeliverySlip(_Event):
    kind: Literal["delivery_slip"]
    pool_id: Id
    units: int = Field(ge=1, le=10_000_000, description="units counted in the pool that have not arrived")
    months: int = Field(default=1, ge=1, le=120, description="how late they are")


class SupplyCut(_Event):
    kind: Literal["supply_cut"]
    target: Target
    ended: bool = Field(default=False, description="true: the cut is over")


class PriceChange(_Event):
    kind: Literal["price_change"]
    target: Target
    usd_per_chip_hour: float = Field(ge=0, le=10_000)


class DemandChange(_Event):
    kind: Literal["demand_change"]
    service: Name
    factor: float | None = Field(default=None, gt=0, le=1000, description="multiple of the scenario's forecast")
    tokens_per_s: float | None = Field(default=None, gt=0, le=1e13, description="the new monthly-mean forecast")

    @model_validator(mode="after")
    def _one(self) -> DemandChange:
        if (self.factor is None) == (self.tokens_per_s is None):
            raise ValueError("give exactly one of factor or tokens_per_s")
        return self


EventUnion = OutageStart | OutageEnd | DeliverySlip | SupplyCut | PriceChange | DemandChange
EventIn = Annotated[EventUnion, Field(discriminator="kind")]
KINDS = ("outage_start", "outage_end", "delivery_slip", "supply_cut", "price_change", "demand_change")


class EventOut(BaseModel):
    id: str
    seq: int
    kind: str
    body: dict
    received_at: Stamp
    received_by: str
    pools: list[int]
    placement_version: int | None
    outcome: str


class EventResult(BaseModel):
    event: EventOut
    replayed: bool = Field(description="true: this id was already recorded; nothing changed")
