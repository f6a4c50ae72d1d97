"""The live fleet: its settings (month placed, demand changes), activation of a scenario, and its pools.

Edits of an existing record need `If-Match` with the ETag its GET gave: 412 when it changed
meanwhile, 428 without one. Every edit re-places the fleet; the placement version now current is
in the `Polyfleet-Placement-Version` header.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from sqlalchemy import func, select

from .. import pools as svc
from .. import scenarios as scn_svc
from ..auth import Principal
from ..db.engine import Database
from ..db.tables import FleetState, Placement, Pool, ScenarioVersion
from ..deps import MAX_ID, PageArgs, get_cache, get_db, page_args, paginate, request_id, require
from ..fleet import pool_doc, totals
from ..live import ModelCache
from ..problems import not_found, responses
from ..readcache import NOT_MODIFIED, cached
from ..reconcile import Outcome
from ..schemas.common import Page
from ..schemas.fleet import Activate, FleetOut, FleetPatch, PoolCreate, PoolOut, PoolPatch

router = APIRouter(prefix="/api/v1/fleet", tags=["fleet"], responses=responses(401, 403, 422))
PoolId = Path(ge=1, le=MAX_ID)
IfMatch = Header(None, alias="If-Match", description="the ETag of the record as you read it")
PLACEMENT_HEADER = "Polyfleet-Placement-Version"


def _placed(request: Request, response: Response, outcome: Outcome) -> None:
    """The placement version now current in a header; the reconcile's time in the metrics."""
    if outcome.version is not None:
        response.headers[PLACEMENT_HEADER] = str(outcome.version)
    if outcome.changed:
        request.app.state.metrics.reconcile.observe(outcome.seconds)


def fleet_doc(s) -> dict:
    state = s.get(FleetState, 1)
    v = s.execute(select(ScenarioVersion.name, ScenarioVersion.version, ScenarioVersion.summary)
                  .where(ScenarioVersion.id == state.scenario_version_id)).first() if state.scenario_version_id else None
    pools = list(s.scalars(select(Pool)))
    latest = s.scalar(select(func.max(Placement.version)))
    months = list((v.summary or {}).get("months", [])) if v is not None else []
    doc = {"scenario": v.name if v else None, "scenario_version": v.version if v else None, "month": state.month,
           "months": months, "demand_factors": dict(state.demand_factors or {}), "version": state.version,
           "updated_at": state.updated_at, "pools": len(pools), "chips": sum(p.units * p.unit_chips for p in pools),
           "placement_version": latest}
    doc["chips_available"] = sum(t["chips_available"] for t in totals(pools, "family"))
    for dim in ("family", "provider", "region"):
        doc[f"by_{dim}"] = [{"key": r[dim], **{k: r[k] for k in ("pools", "chips", "chips_available", "pools_down")}}
                            for r in totals(pools, dim)]
    return doc


# Reads are answered from memory until this process next writes (see readcache): `build` reads the database.

@router.get("", response_model=FleetOut, responses=NOT_MODIFIED)
async def get_fleet(request: Request, db: Database = Depends(get_db),
                    who: Principal = Depends(require("viewer"))) -> Response:
    """The fleet now: the scenario it serves, the month placed, chips by family, provider and region."""
    def build():
        with db.read() as s:
            doc = fleet_doc(s)
        return doc, svc.etag(doc["version"])
    return await cached(request, db, FleetOut, build)


@router.patch("", response_model=FleetOut, responses=responses(409, 412, 428))
def patch_fleet(body: FleetPatch, request: Request, response: Response, if_match: str | None = IfMatch, db: Database = Depends(get_db),
                cache: ModelCache = Depends(get_cache), who: Principal = Depends(require("operator")),
                rid: str | None = Depends(request_id)) -> dict:
    """Change the month placed or the demand factors (the whole map), then re-place."""
    _placed(request, response, svc.patch_fleet(db, cache, who, body, if_match, rid))
    with db.read() as s:
        doc = fleet_doc(s)
    response.headers["ETag"] = svc.etag(doc["version"])
    return doc


@router.post("/activate", response_model=FleetOut, responses=responses(404, 409))
def activate(body: Activate, request: Request, response: Response, db: Database = Depends(get_db), cache: ModelCache = Depends(get_cache),
             who: Principal = Depends(require("admin")), rid: str | None = Depends(request_id)) -> dict:
    """Serve a scenario version's workloads and tenants; pools come from its `fleet:` when there are none
    (or with reset_pools), then the fleet is placed."""
    _, outcome = scn_svc.activate(db, cache, who, body.scenario, body.version, body.reset_pools, rid)
    _placed(request, response, outcome)
    with db.read() as s:
        doc = fleet_doc(s)
    response.headers["ETag"] = svc.etag(doc["version"])
    return doc


@router.get("/pools", response_model=Page[PoolOut], responses=NOT_MODIFIED)
async def list_pools(request: Request, page: PageArgs = Depends(page_args),
                     status: str | None = Query(None, pattern="^(up|degraded|down)$"),
                     provider: str | None = Query(None, max_length=64), db: Database = Depends(get_db),
                     who: Principal = Depends(require("viewer"))) -> Response:
    """Pools in id order, optionally one status or provider."""
    q = select(Pool)
    if status:
        q = q.where(Pool.status == status)
    if provider:
        q = q.where(Pool.provider == provider)

    def build():
        with db.read() as s:
            rows, nxt = paginate(s, q, Pool.id, page, newest_first=False)
            return {"items": [pool_doc(p) for p in rows], "next_cursor": nxt}, None
    return await cached(request, db, Page[PoolOut], build)


@router.post("/pools", response_model=PoolOut, status_code=201, responses=responses(409))
def create_pool(body: PoolCreate, request: Request, response: Response, db: Database = Depends(get_db),
                cache: ModelCache = Depends(get_cache), who: Principal = Depends(require("operator")),
                rid: str | None = Depends(request_id)) -> dict:
    """Add a pool of an offering the active scenario may use."""
    p, outcome = svc.create_pool(db, cache, who, body, rid)
    _placed(request, response, outcome)
    response.headers["ETag"] = svc.etag(p.version)
    return pool_doc(p)


@router.get("/pools/{pool_id}", response_model=PoolOut, responses={**responses(404), **NOT_MODIFIED})
async def get_pool(request: Request, pool_id: int = PoolId, db: Database = Depends(get_db),
                   who: Principal = Depends(require("viewer"))) -> Response:
    def build():
        with db.read() as s:
            p = s.get(Pool, pool_id)
            if p is None:
                raise not_found("pool", pool_id)
        return pool_doc(p), svc.etag(p.version)
    return await cached(request, db, PoolOut, build)


@router.patch("/pools/{pool_id}", response_model=PoolOut, responses=responses(404, 409, 412, 428))
def patch_pool(body: PoolPatch, request: Request, response: Response, pool_id: int = PoolId, if_match: str | None = IfMatch,
               db: Database = Depends(get_db), cache: ModelCache = Depends(get_cache),
               who: Principal = Depends(require("operator")), rid: str | None = Depends(request_id)) -> dict:
    """Change a pool's units, status and share lost, months left or price; then re-place."""
    p, outcome = svc.patch_pool(db, cache, who, pool_id, body, if_match, rid)
    _placed(request, response, outcome)
    response.headers["ETag"] = svc.etag(p.version)
    return pool_doc(p)


@router.delete("/pools/{pool_id}", status_code=204, response_class=Response,
               responses=responses(404, 409, 412, 428))
def delete_pool(request: Request, pool_id: int = PoolId, if_match: str | None = IfMatch, db: Database = Depends(get_db),
                cache: ModelCache = Depends(get_cache), who: Principal = Depends(require("admin")),
                rid: str | None = Depends(request_id)) -> Response:
    """Delete a pool (its replicas move as after an outage)."""
    outcome = svc.delete_pool(db, cache, who, pool_id, if_match, rid)
    response = Response(status_code=204)
    _placed(request, response, outcome)
    return response
