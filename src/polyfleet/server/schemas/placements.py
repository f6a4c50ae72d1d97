"""Placement versions: replicas and routing, unserved demand per tier, moves; incidents."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from .common import Stamp


class PlacementSummary(BaseModel):
    version: int
    created_at: Stamp
    trigger: str
    scenario_version_id: int
    month: str
    status: str = Field(description="the placement's own status (rounded LP, optimal, heuristic ...)")
    method: str
    gap: float | None = Field(description="relative optimality gap where the solver proved one")
    usd_per_hour: float
    start_usd: float = Field(description="cold-start cost of the replicas this version started")
    replicas_moved: int
    solve_s: float
    reconcile_s: float
    served_share_by_tier: dict[str, float]


class ReplicaOut(BaseModel):
    service: str
    pool: str
    replicas: int
    chips: int
    tokens_per_s: float
    routing_weight: float = Field(description="share of the service's traffic sent to this pool")


class TierOut(BaseModel):
    service: str
    tier: str
    demand_tokens_per_s: float
    served_tokens_per_s: float
    unserved_tokens_per_s: float
    served_share: float


class MoveOut(BaseModel):
    service: str
    from_pool: str | None = Field(description="null: a replica started without one stopping")
    to_pool: str | None = Field(description="null: a replica stopped")
    replicas: int = Field(description="replicas started on to_pool (for a stop: stopped on from_pool)")
    from_replicas: int = Field(description="replicas stopped on from_pool")
    from_chips: int = Field(description="chips they held")
    to_replicas: int = Field(description="replicas started on to_pool (0 for a stop)")
    to_chips: int = Field(description="chips they hold")
    start_usd: float = Field(description="cold-start cost of the replicas started")


class PlacementOut(PlacementSummary):
    chips: dict[str, float]
    replicas: list[ReplicaOut]
    tiers: list[TierOut]
    moves: list[MoveOut]
    training: list[dict[str, Any]]


class IncidentOut(BaseModel):
    id: int
    tier: str
    tenants: list[dict[str, Any]] = Field(description="the tenant this tier is, with its customers (null: unknown)")
    open: bool
    opened_at: Stamp
    opened_by_placement: int
    opened_by: str
    closed_at: Stamp | None
    closed_by_placement: int | None
    unserved_share: float
    worst_unserved_share: float
    unserved_tokens_per_s: float
    services: list[dict[str, Any]]
