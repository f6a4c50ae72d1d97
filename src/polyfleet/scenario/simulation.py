"""The scenario's `simulation:` section: how a run is simulated (length, step, traffic, customers).

Bounds carry their reason: the daily cycle is a cosine around the mean, so a peak above twice the
mean would make the trough negative; the noise is lognormal with median 1, so it raises mean
traffic by exp(sigma^2 / 2) (13% at 0.5: beyond that the simulated demand stops matching the
forecast it is meant to follow).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TrafficShape(BaseModel):
    """How traffic moves around its monthly mean. Defaults are assumptions (business traffic)."""
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    daily_peak_to_mean: float | None = Field(None, ge=1, le=2, json_schema_extra={
        "why": "the daily cycle is a cosine around the mean: above 2x the trough goes negative"},
                                             description="peak hour / daily mean; default: each "
                                             "service's weekday peak equals the peak_factor its capacity is "
                                             "sized for (1.35 where that is 1)")
    peak_hour_utc: float = Field(17.0, ge=0, lt=24, description="US business afternoon")
    weekend_factor: float = Field(0.7, gt=0, le=1.5, description="Saturday/Sunday traffic / weekday traffic")
    noise_sigma: float = Field(0.05, ge=0, le=0.5, description="lognormal step-to-step noise (mean one: the "
                               "monthly volume stays the forecast's)", json_schema_extra={
        "why": "one sigma moves a step's traffic by x0.61 to x1.65 at 0.5; beyond that noise swamps the daily "
                "cycle it rides on"})
    noise_hours: float = Field(2.0, gt=0, le=8760, description="correlation time of the noise (AR(1))")


class CustomerModel(BaseModel):
    """How customers are drawn. Defaults are assumptions."""
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    pareto_alpha: float = Field(1.16, gt=1.0, description="1.16: the '80/20' tail")
    affected_threshold: float = Field(0.01, ge=0, lt=1, description="a customer counts as affected in a step "
                                      "when this share of its demand goes unserved")


class SimOptions(BaseModel):
    """The scenario's `simulation:` section."""
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    months: int | None = Field(default=None, ge=1, description="months simulated from the horizon's start "
                               "(default: the whole horizon; at most the horizon)")
    step_minutes: float = Field(5.0, ge=1, le=1440, description="inference traffic step", json_schema_extra={
        "why": "1 minute to a day: finer steps add memory and time, not detail (the noise moves over hours)"})
    traffic: TrafficShape = TrafficShape()
    customers: CustomerModel = CustomerModel()
    placement: Literal["lp", "greedy", "milp"] = Field("lp", description="placement method on each "
                                                         "capacity change (place/)")
    training_shard_chips: int = Field(4096, ge=1, le=10_000_000, description="`place` without a plan: a training "
                                      "run is placed in data-parallel shards of at most this many chips (the "
                                      "simulator runs each run on the chips the plan gave it)")
    slo_tolerance: float = Field(0.001, ge=0, lt=1, description="a step meets a tier's SLO when at most "
                                 "this share of its demand goes unserved")
    daily_loss_threshold: float = Field(0.01, ge=0, lt=1, description="'loses more than X% in a day' for "
                                        "the risk summary")
