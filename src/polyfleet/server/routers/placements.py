"""Placement versions (where everything runs, routing, unserved demand per tier, moves) and incidents."""

from __future__ import annotations

import threading
from collections import OrderedDict

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy import select

from ..auth import Principal
from ..db.engine import Database
from ..db.tables import Incident, Placement, PlacementMove, PlacementReplica, PlacementTier
from ..deps import MAX_ID, PageArgs, get_db, page_args, paginate, require
from ..problems import ApiError, not_found, responses
from ..readcache import NOT_MODIFIED, cached
from ..reconcile import latest_placement
from ..schemas.common import Page
from ..schemas.placements import IncidentOut, PlacementOut, PlacementSummary

router = APIRouter(prefix="/api/v1", tags=["placements"], responses=responses(401, 403, 422))


def summary_doc(p: Placement) -> dict:
    return {"version": p.version, "created_at": p.created_at, "trigger": p.trigger,
            "scenario_version_id": p.scenario_version_id, "month": p.month, "status": p.status, "method": p.method,
            "gap": p.gap, "usd_per_hour": p.usd_per_hour, "start_usd": p.start_usd, "replicas_moved": p.replicas_moved,
            "solve_s": p.solve_s, "reconcile_s": p.reconcile_s, "served_share_by_tier": p.served_share_by_tier}


_DOCS: OrderedDict[tuple, dict] = OrderedDict()
_LOCK = threading.Lock()


def full_doc(s, p: Placement) -> dict:
    """A placement version with its rows. A version never changes once stored, so its document is kept
    (per database and version) and reads of the current placement cost one query, not four."""
    key = (str(s.get_bind().url), p.version, p.created_at, p.inputs_sha256)   # a wiped database reuses versions
    with _LOCK:
        if key in _DOCS:
            _DOCS.move_to_end(key)
            return _DOCS[key]
    doc = _build_doc(s, p)
    with _LOCK:
        _DOCS[key] = doc
        while len(_DOCS) > 32:
            _DOCS.popitem(last=False)
    return doc


def _build_doc(s, p: Placement) -> dict:
    v = p.version
    reps = s.scalars(select(PlacementReplica).where(PlacementReplica.placement_version == v)
                     .order_by(PlacementReplica.service, PlacementReplica.pool)).all()
    tiers = s.scalars(select(PlacementTier).where(PlacementTier.placement_version == v)
                      .order_by(PlacementTier.id)).all()
    moves = s.scalars(select(PlacementMove).where(PlacementMove.placement_version == v)
                      .order_by(PlacementMove.id)).all()
    return {**summary_doc(p), "chips": p.chips, "training": p.training,
            "replicas": [{"service": r.service, "pool": r.pool, "replicas": r.replicas, "chips": r.chips,
                          "tokens_per_s": r.tokens_per_s, "routing_weight": r.routing_weight} for r in reps],
            "tiers": [{"service": t.service, "tier": t.tier, "demand_tokens_per_s": t.demand_tokens_per_s,
                       "served_tokens_per_s": t.served_tokens_per_s,
                       "unserved_tokens_per_s": max(t.demand_tokens_per_s - t.served_tokens_per_s, 0.0),
                       "served_share": t.served_tokens_per_s / t.demand_tokens_per_s} for t in tiers],
            "moves": [move_doc(m) for m in moves]}


def move_doc(m: PlacementMove) -> dict:
    """A move with both sides, as `polyfleet place --lose` lists it (to_replicas 0 for a stop)."""
    return {"service": m.service, "from_pool": m.from_pool, "to_pool": m.to_pool, "replicas": m.replicas,
            "from_replicas": m.from_replicas, "from_chips": m.from_chips,
            "to_replicas": m.replicas if m.to_pool is not None else 0, "to_chips": m.to_chips,
            "start_usd": m.start_usd}


def incident_doc(i: Incident) -> dict:
    return {"id": i.id, "tier": i.tier, "tenants": i.tenants, "open": i.closed_at is None, "opened_at": i.opened_at,
            "opened_by_placement": i.opened_by_placement, "opened_by": i.opened_by, "closed_at": i.closed_at,
            "closed_by_placement": i.closed_by_placement, "unserved_share": i.unserved_share,
            "worst_unserved_share": i.worst_unserved_share, "unserved_tokens_per_s": i.unserved_tokens_per_s,
            "services": i.services}


# Reads are answered from memory until this process next writes (see readcache): `build` reads the database.

@router.get("/placements", response_model=Page[PlacementSummary], responses=NOT_MODIFIED)
async def list_placements(request: Request, page: PageArgs = Depends(page_args), db: Database = Depends(get_db),
                          who: Principal = Depends(require("viewer"))) -> Response:
    """Placement versions, newest first."""
    def build():
        with db.read() as s:
            rows, nxt = paginate(s, select(Placement), Placement.version, page)
            return {"items": [summary_doc(p) for p in rows], "next_cursor": nxt}, None
    return await cached(request, db, Page[PlacementSummary], build)


@router.get("/placements/current", response_model=PlacementOut, responses={**responses(404), **NOT_MODIFIED})
async def current(request: Request, db: Database = Depends(get_db),
                  who: Principal = Depends(require("viewer"))) -> Response:
    """The placement now in force."""
    def build():
        with db.read() as s:
            p = latest_placement(s)
            if p is None:
                raise ApiError(404, "no placement yet: activate a scenario first")
            return full_doc(s, p), None
    return await cached(request, db, PlacementOut, build)


@router.get("/placements/{version}", response_model=PlacementOut, responses={**responses(404), **NOT_MODIFIED})
async def get_placement(request: Request, version: int = Path(ge=1, le=MAX_ID), db: Database = Depends(get_db),
                        who: Principal = Depends(require("viewer"))) -> Response:
    def build():
        with db.read() as s:
            p = s.get(Placement, version)
            if p is None:
                raise not_found("placement version", version)
            return full_doc(s, p), None
    return await cached(request, db, PlacementOut, build)


@router.get("/incidents", response_model=Page[IncidentOut], responses=NOT_MODIFIED)
async def list_incidents(request: Request, page: PageArgs = Depends(page_args),
                         state: str | None = Query(None, pattern="^(open|closed)$"),
                         db: Database = Depends(get_db), who: Principal = Depends(require("viewer"))) -> Response:
    """Incidents (a tier short of demand), newest first; `state` open or closed."""
    q = select(Incident)
    if state == "open":
        q = q.where(Incident.closed_at.is_(None))
    elif state == "closed":
        q = q.where(Incident.closed_at.is_not(None))

    def build():
        with db.read() as s:
            rows, nxt = paginate(s, q, Incident.id, page)
            return {"items": [incident_doc(i) for i in rows], "next_cursor": nxt}, None
    return await cached(request, db, Page[IncidentOut], build)


@router.get("/incidents/{incident_id}", response_model=IncidentOut, responses={**responses(404), **NOT_MODIFIED})
async def get_incident(request: Request, incident_id: int = Path(ge=1, le=MAX_ID), db: Database = Depends(get_db),
                       who: Principal = Depends(require("viewer"))) -> Response:
    def build():
        with db.read() as s:
            i = s.get(Incident, incident_id)
            if i is None:
                raise not_found("incident", incident_id)
            return incident_doc(i), None
    return await cached(request, db, IncidentOut, build)
