"""The service's tables (SQLAlchemy 2 declarative models). Alembic migrations in `server/migrations`
create exactly these; a test compares the two.

Times are naive UTC datetimes (SQLite keeps no zone); leases are epoch seconds, compared by the
workers that hold them. JSON columns hold documents the library produced (plan results, risk
rows) or small maps; everything queried on has its own column.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROLES = ("viewer", "operator", "admin")
POOL_STATUSES = ("up", "degraded", "down")
RUN_KINDS = ("plan", "simulate", "risk")
RUN_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
FINISHED = ("succeeded", "failed", "cancelled")


class Base(DeclarativeBase):
    pass


class Token(Base):
    """An API token: only its SHA-256 is kept; the token itself is shown once, at creation."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class ScenarioVersion(Base):
    """One uploaded version of a named scenario. A new upload is a new row, never an update."""

    __tablename__ = "scenario_versions"
    __table_args__ = (UniqueConstraint("name", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    yaml: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    summary: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(100))


class FleetState(Base):
    """The one live fleet's settings: which scenario version gives its workloads and tenants, the
    month whose demand is placed, demand changes recorded by events. `version` is its ETag."""

    __tablename__ = "fleet_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_version_id: Mapped[int | None] = mapped_column(ForeignKey("scenario_versions.id"), nullable=True)
    month: Mapped[str | None] = mapped_column(String(7), nullable=True)
    demand_factors: Mapped[dict] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class Pool(Base):
    """Capacity held: units of one offering (provider/instance/region) under one term."""

    __tablename__ = "pools"
    __table_args__ = (UniqueConstraint("offering", "term"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    offering: Mapped[str] = mapped_column(String(200))
    term: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(64))
    accelerator: Mapped[str] = mapped_column(String(64))
    family: Mapped[str] = mapped_column(String(16))
    vendor: Mapped[str] = mapped_column(String(64))
    unit_chips: Mapped[int] = mapped_column(Integer)
    units: Mapped[int] = mapped_column(Integer)
    months_left: Mapped[int | None] = mapped_column(Integer, nullable=True)
    usd_per_chip_hour: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="up")
    lost_share: Mapped[float] = mapped_column(Float, default=0.0)
    supply_cut: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class Event(Base):
    """A fleet event with the id its sender gave it: sending it twice changes nothing."""

    __tablename__ = "events"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    body: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(DateTime)
    received_by: Mapped[str] = mapped_column(String(100))
    pools: Mapped[list] = mapped_column(JSON)
    placement_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    outcome: Mapped[str] = mapped_column(Text)


class Placement(Base):
    """One version of where everything runs, with what triggered it and what it cost to get there."""

    __tablename__ = "placements"
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    trigger: Mapped[str] = mapped_column(String(200))
    scenario_version_id: Mapped[int] = mapped_column(ForeignKey("scenario_versions.id"))
    month: Mapped[str] = mapped_column(String(7))
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(16))
    gap: Mapped[float | None] = mapped_column(Float, nullable=True)
    usd_per_hour: Mapped[float] = mapped_column(Float)
    start_usd: Mapped[float] = mapped_column(Float)
    replicas_moved: Mapped[int] = mapped_column(Integer)
    solve_s: Mapped[float] = mapped_column(Float)
    reconcile_s: Mapped[float] = mapped_column(Float)
    chips: Mapped[dict] = mapped_column(JSON)           # pool (offering) -> chips available
    served_share_by_tier: Mapped[dict] = mapped_column(JSON)
    training: Mapped[list] = mapped_column(JSON)


class PlacementReplica(Base):
    __tablename__ = "placement_replicas"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    placement_version: Mapped[int] = mapped_column(ForeignKey("placements.version", ondelete="CASCADE"), index=True)
    service: Mapped[str] = mapped_column(String(200))
    pool: Mapped[str] = mapped_column(String(200))
    replicas: Mapped[int] = mapped_column(Integer)
    chips: Mapped[int] = mapped_column(Integer)
    tokens_per_s: Mapped[float] = mapped_column(Float)
    routing_weight: Mapped[float] = mapped_column(Float)


class PlacementMove(Base):
    __tablename__ = "placement_moves"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    placement_version: Mapped[int] = mapped_column(ForeignKey("placements.version", ondelete="CASCADE"), index=True)
    service: Mapped[str] = mapped_column(String(200))
    from_pool: Mapped[str | None] = mapped_column(String(200), nullable=True)
    to_pool: Mapped[str | None] = mapped_column(String(200), nullable=True)
    replicas: Mapped[int] = mapped_column(Integer)           # started on to_pool (stopped, for a stop)
    start_usd: Mapped[float] = mapped_column(Float)
    from_replicas: Mapped[int] = mapped_column(Integer, server_default="0")   # stopped on from_pool
    from_chips: Mapped[int] = mapped_column(Integer, server_default="0")
    to_chips: Mapped[int] = mapped_column(Integer, server_default="0")


class PlacementTier(Base):
    __tablename__ = "placement_tiers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    placement_version: Mapped[int] = mapped_column(ForeignKey("placements.version", ondelete="CASCADE"), index=True)
    service: Mapped[str] = mapped_column(String(200))
    tier: Mapped[str] = mapped_column(String(200))
    demand_tokens_per_s: Mapped[float] = mapped_column(Float)
    served_tokens_per_s: Mapped[float] = mapped_column(Float)


class Incident(Base):
    """A tier short of demand: opened by the placement that left it short, closed by the one that made it whole."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_open", "tier", "closed_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tier: Mapped[str] = mapped_column(String(200))
    tenants: Mapped[list] = mapped_column(JSON)
    opened_at: Mapped[datetime] = mapped_column(DateTime)
    opened_by_placement: Mapped[int] = mapped_column(Integer)
    opened_by: Mapped[str] = mapped_column(String(200))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    closed_by_placement: Mapped[int | None] = mapped_column(Integer, nullable=True)
    unserved_share: Mapped[float] = mapped_column(Float)
    worst_unserved_share: Mapped[float] = mapped_column(Float)
    unserved_tokens_per_s: Mapped[float] = mapped_column(Float)
    services: Mapped[list] = mapped_column(JSON)


class Run(Base):
    """A plan, simulate or risk run: a job that workers claim, lease, heartbeat and finish once."""

    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_status", "status", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    scenario_version_id: Mapped[int] = mapped_column(ForeignKey("scenario_versions.id"))
    params: Mapped[dict] = mapped_column(JSON)
    inputs: Mapped[dict] = mapped_column(JSON)          # the scenario text run and the fleet it used
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    claim: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_expires: Mapped[float | None] = mapped_column(Float, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    result: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class RunMessage(Base):
    """Progress of a run as it goes (what the server-sent events stream replays)."""

    __tablename__ = "run_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime)
    progress: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str] = mapped_column(Text)


class AuditEntry(Base):
    """Who wrote what, when, with the record before and after."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    resource: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str] = mapped_column(String(200))
    before: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
