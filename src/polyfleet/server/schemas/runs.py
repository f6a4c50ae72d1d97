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


class RunProgressEvent(BaseModel):
    """The JSON in a `progress` event's data: one stored progress message."""

    attempt: int
    at: str = Field(description="ISO 8601 time in UTC, ending in Z")
    progress: float | None
    message: str


class RunEndEvent(BaseModel):
    """The JSON in the `end` event's data: how the run finished."""

    status: Literal["succeeded", "failed", "cancelled", "deleted"]


def _sse_event(name: str, data: type[BaseModel], *, with_id: bool) -> dict:
    """One kind of server-sent event as a parsed event object (fields `event`, `data`, `id`, `retry`)."""
    props: dict[str, Any] = {
        "event": {"const": name},
        "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": data.model_json_schema()},
        "id": {"type": "string", "pattern": r"^[0-9]+$", "description": "send back as Last-Event-ID to resume"},
        "retry": {"type": "integer", "minimum": 0},
    }
    return {"type": "object", "title": f"{name} event", "required": ["event", "data", *(["id"] if with_id else [])],
            "properties": props}


RUN_EVENT_SCHEMA: dict[str, Any] = {
    "description": "one server-sent event; `data` holds JSON (its contentSchema)",
    "oneOf": [_sse_event("progress", RunProgressEvent, with_id=True), _sse_event("end", RunEndEvent, with_id=False)],
}
"""The schema of each event of a run's stream, as OpenAPI 3.2 documents event streams (`itemSchema` of
text/event-stream, each event an object of the fields the SSE format parses; what FastAPI writes for its
own event-source routes)."""
