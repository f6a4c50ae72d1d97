"""Scenario versions: upload (admin), list, read, diff, edit the workloads or tenants (admin), delete (admin)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy import func, select

from ...scenario import Workloads
from .. import scenarios as svc
from ..auth import Principal
from ..db.engine import Database
from ..db.tables import FleetState, ScenarioVersion
from ..deps import MAX_ID, PageArgs, get_db, page_args, paginate, request_id, require
from ..live import scenario_of
from ..problems import ApiError, responses
from ..schemas.common import Page
from ..schemas.scenarios import (
    DiffOut,
    ScenarioOut,
    ScenarioUpload,
    ScenarioVersionFull,
    ScenarioVersionOut,
    TenantsEdit,
)

router = APIRouter(prefix="/api/v1/scenarios", tags=["scenarios"], responses=responses(401, 403, 422))
NamePath = Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._@:+-]*$")
VersionPath = Path(ge=1, le=MAX_ID)


def _active_id(s) -> int | None:
    return s.get(FleetState, 1).scenario_version_id


@router.get("", response_model=list[ScenarioOut])
def list_scenarios(db: Database = Depends(get_db), who: Principal = Depends(require("viewer"))) -> list[dict]:
    """Every scenario name with its number of versions."""
    with db.read() as s:
        active = _active_id(s)
        act = s.get(ScenarioVersion, active) if active else None
        rows = s.execute(select(ScenarioVersion.name, func.count(), func.max(ScenarioVersion.version))
                         .group_by(ScenarioVersion.name).order_by(ScenarioVersion.name)).all()
    return [{"name": n, "versions": c, "latest": m, "active_version": act.version if act and act.name == n else None}
            for n, c, m in rows]


@router.post("", response_model=ScenarioVersionOut, status_code=201,
             responses={200: {"model": ScenarioVersionOut, "description": "the same text as the latest version: "
                                                                         "nothing new stored"}})
def upload(body: ScenarioUpload, response: Response, db: Database = Depends(get_db),
           who: Principal = Depends(require("admin")), rid: str | None = Depends(request_id)) -> dict:
    """Store a scenario file as the next version of its name (checked as `polyfleet scenario` checks it)."""
    row, created = svc.upload(db, who, body.yaml, body.name, rid)
    if not created:
        response.status_code = 200
    with db.read() as s:
        return svc.version_doc(row, _active_id(s))


@router.get("/{name}/versions", response_model=Page[ScenarioVersionOut], responses=responses(404))
def versions(name: str = NamePath, page: PageArgs = Depends(page_args), db: Database = Depends(get_db),
             who: Principal = Depends(require("viewer"))) -> dict:
    with db.read() as s:
        rows, nxt = paginate(s, select(ScenarioVersion).where(ScenarioVersion.name == name), ScenarioVersion.version,
                             page)
        if not rows and page.cursor is None:
            raise ApiError(404, f"no scenario {name}")
        active = _active_id(s)
        return {"items": [svc.version_doc(v, active) for v in rows], "next_cursor": nxt}


@router.get("/{name}/versions/{version}", response_model=ScenarioVersionFull, responses=responses(404))
def version(name: str = NamePath, version: int = VersionPath, db: Database = Depends(get_db),
            who: Principal = Depends(require("viewer"))) -> dict:
    with db.read() as s:
        v = svc.get_version(s, name, version)
        return {**svc.version_doc(v, _active_id(s)), "yaml": v.yaml}


@router.delete("/{name}/versions/{version}", status_code=204, response_class=Response, responses=responses(404, 409))
def delete_version(name: str = NamePath, version: int = VersionPath, db: Database = Depends(get_db),
                   who: Principal = Depends(require("admin")), rid: str | None = Depends(request_id)) -> Response:
    """Delete a version nothing refers to (the live one and those runs or placements used stay)."""
    svc.delete_version(db, who, name, version, rid)
    return Response(status_code=204)


@router.get("/{name}/diff", response_model=DiffOut, responses=responses(404))
def diff(name: str = NamePath, from_version: int | None = Query(None, ge=1, le=MAX_ID),
         to_version: int | None = Query(None, ge=1, le=MAX_ID), db: Database = Depends(get_db),
         who: Principal = Depends(require("viewer"))) -> dict:
    """What changed between two versions (default: the latest and the one before it)."""
    with db.read() as s:
        b = svc.get_version(s, name, to_version)
        a = svc.get_version(s, name, from_version or max(b.version - 1, 1))
    return svc.diff(a, b)


@router.get("/{name}/workloads", response_model=Workloads, responses=responses(404))
def workloads(name: str = NamePath, db: Database = Depends(get_db),
              who: Principal = Depends(require("viewer"))) -> Workloads:
    """The latest version's `workloads:` section."""
    with db.read() as s:
        v = svc.get_version(s, name)
    return scenario_of(f"{v.name} v{v.version}", v.yaml).workloads


SAME = {200: {"model": ScenarioVersionOut, "description": "the same text as the latest version: nothing new stored"}}


@router.put("/{name}/workloads", response_model=ScenarioVersionOut, status_code=201,
            responses={**SAME, **responses(404)})
def put_workloads(body: Workloads, response: Response, name: str = NamePath, db: Database = Depends(get_db),
                  who: Principal = Depends(require("admin")), rid: str | None = Depends(request_id)) -> dict:
    """A new version with this `workloads:` section (the rest as in the latest version)."""
    def section(old):
        old = old if isinstance(old, dict) else {}
        out = {k: svc.lean(getattr(body, k), old.get(k)) for k in ("services", "training") if getattr(body, k)}
        return out
    return _edited(db, who, name, "workloads", section, response, rid)


@router.get("/{name}/tenants", response_model=TenantsEdit, responses=responses(404))
def tenants(name: str = NamePath, db: Database = Depends(get_db),
            who: Principal = Depends(require("viewer"))) -> dict:
    """The latest version's `tenants:` section."""
    with db.read() as s:
        v = svc.get_version(s, name)
    return {"tenants": list(scenario_of(f"{v.name} v{v.version}", v.yaml).tenants)}


@router.put("/{name}/tenants", response_model=ScenarioVersionOut, status_code=201,
            responses={**SAME, **responses(404)})
def put_tenants(body: TenantsEdit, response: Response, name: str = NamePath, db: Database = Depends(get_db),
                who: Principal = Depends(require("admin")), rid: str | None = Depends(request_id)) -> dict:
    """A new version with this `tenants:` section."""
    return _edited(db, who, name, "tenants", lambda old: svc.lean(body.tenants, old), response, rid)


def _edited(db, who, name, section, value, response, rid) -> dict:
    row, created = svc.edit_section(db, who, name, section, value, rid)
    if not created:
        response.status_code = 200
    with db.read() as s:
        return svc.version_doc(row, _active_id(s))
