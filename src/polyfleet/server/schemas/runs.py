"""Runs: plan, simulate and risk jobs, their progress and results."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from .common import Body, Id, Name, Stamp


class _RunCreate(Body):
    scenario: Name | None = Field(default=None, description="default: the scenario the live fleet uses")
    version: Id | None = Field(default=None, description="default: the active version, else the latest")
    fleet: Literal["live", "scenario"] = Field(default="live", description="live: the pools held now replace "
                                               "the scenario's `fleet:`; scenario: its own")


class PlanRun(_RunCreate):
    kind: Literal["plan"]
    gap: float = Field(default=0.005, ge=0, lt=1, description="relative MIP gap at which HiGHS may stop")
    time_limit_s: float = Field(default=120.0, gt=0, le=3600)


class SimulateRun(_RunCreate):
    kind: Literal["simulate"]
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    months: int | None = Field(default=None, ge=1, le=120)
    no_faults: bool = False


class RiskRun(_RunCreate):
    kind: Literal["risk"]
    runs: int = Field(default=100, ge=1, le=10_000)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    months: int | None = Field(default=None, ge=1, le=120)
    compare: bool = Field(default=True, description="also stress the single-vendor, single-cloud and least-cost plans")


RunUnion = PlanRun | SimulateRun | RiskRun
RunIn = Annotated[RunUnion, Field(discriminator="kind")]


class RunOut(BaseModel):
    id: int
    kind: str
    scenario: str
    scenario_version: int
    params: dict[str, Any]
    inputs_sha256: str = Field(description="hash of the scenario text and fleet the run used")
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    progress: float | None
    message: str
    attempts: int
    cancel_requested: bool
    error: str | None
    created_by: str
    created_at: Stamp
    started_at: Stamp | None
    finished_at: Stamp | None


class RunFull(RunOut):
    result: dict[str, Any] | None


class RunMessageOut(BaseModel):
    id: int
    attempt: int
    at: Stamp
    progress: float | None
    message: str
