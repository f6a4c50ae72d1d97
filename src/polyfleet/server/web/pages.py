"""Dashboard pages about the fleet: sign-in, overview, placement and routing, incidents, events (with the
form to record one), audit. They read what the API reads and write through the same functions."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select

from ...errors import UserError
from .. import events as event_svc
from ..auth import Principal, lookup
from ..db.tables import AuditEntry, Event, Incident, Placement, Pool, Run
from ..deps import MAX_ID
from ..fleet import pool_doc, utcnow
from ..problems import ApiError
from ..reconcile import latest_placement
from ..routers.audit import audit_doc
from ..routers.events import event_doc
from ..routers.fleet import fleet_doc
from ..routers.placements import full_doc, incident_doc, summary_doc
from ..runs import run_doc, version_names
from ..schemas.events import EventIn
from . import charts, run_pages
from .session import COOKIE, check_form, render, viewer_page

router = APIRouter(include_in_schema=False)
router.include_router(run_pages.router)
EVENT = TypeAdapter(EventIn)


@router.get("/login")
def login_form(request: Request, next: str = "/"):
    return render(request, "login.html", next=next if _safe(next) else "/")


@router.post("/login")
def login(request: Request, token: str = Form(...), next: str = Form("/")):
    with request.app.state.db.read() as s:
        who = lookup(s, token.strip())
    if who is None:
        return render(request, "login.html", 401, next=next, error="unknown or revoked token")
    resp = RedirectResponse(next if _safe(next) else "/", status_code=303)
    resp.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict",
                    secure=request.app.state.settings.secure_cookies, max_age=12 * 3600)
    return resp


@router.post("/logout")
def logout():
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE)
    return resp


def _safe(path: str) -> bool:
    return path.startswith("/") and not path.startswith("//")


@router.get("/")
def overview(request: Request, who: Principal = Depends(viewer_page)):
    with request.app.state.db.read() as s:
        fleet = fleet_doc(s)
        p = latest_placement(s)
        placement = full_doc(s, p) if p else None
        open_inc = [incident_doc(i) for i in s.scalars(select(Incident).where(Incident.closed_at.is_(None))
                                                       .order_by(Incident.id.desc()))]
        events = [event_doc(e) for e in s.scalars(select(Event).order_by(Event.seq.desc()).limit(8))]
        runs = list(s.scalars(select(Run).order_by(Run.id.desc()).limit(8)))
        runs = [run_doc(r, names=version_names(s, [r.scenario_version_id])) for r in runs]
    return render(request, "overview.html", fleet=fleet, placement=placement, tiers=_tier_totals(placement),
                  incidents=open_inc, events=events, runs=runs)


def _tier_totals(placement: dict | None) -> list[dict]:
    """Demand, served and unserved per tier (summed over services), highest tier first."""
    if not placement:
        return []
    out: dict[str, dict] = {}
    for t in placement["tiers"]:
        r = out.setdefault(t["tier"], {"tier": t["tier"], "demand": 0.0, "served": 0.0})
        r["demand"] += t["demand_tokens_per_s"]
        r["served"] += t["served_tokens_per_s"]
    for r in out.values():
        r["unserved"] = max(r["demand"] - r["served"], 0.0)
        r["share"] = r["served"] / r["demand"] if r["demand"] > 0 else None
    return list(out.values())


@router.get("/placement")
def placement(request: Request, version: int | None = Query(None, ge=1, le=MAX_ID),
              who: Principal = Depends(viewer_page)):
    with request.app.state.db.read() as s:
        p = s.get(Placement, version) if version else latest_placement(s)
        doc = full_doc(s, p) if p else None
        versions = [summary_doc(v) for v in s.scalars(select(Placement).order_by(Placement.version.desc()).limit(30))]
        pools = {x.offering: x.status for x in s.scalars(select(Pool))}
    if version and doc is None:
        raise ApiError(404, f"no placement version {version}")
    return render(request, "placement.html", placement=doc, tiers=_tier_totals(doc), versions=versions,
                  pool_status=pools)


@router.get("/incidents")
def incidents(request: Request, who: Principal = Depends(viewer_page)):
    with request.app.state.db.read() as s:
        rows = [incident_doc(i) for i in s.scalars(select(Incident).order_by(Incident.id.desc()).limit(200))]
    now = utcnow()
    return render(request, "incidents.html", incidents=rows, timeline=charts.incident_timeline(rows, now))


def _events_page(request: Request, status: int = 200, error: str | None = None, form: dict | None = None):
    with request.app.state.db.read() as s:
        events = [event_doc(e) for e in s.scalars(select(Event).order_by(Event.seq.desc()).limit(100))]
        pools = [pool_doc(p) for p in s.scalars(select(Pool).order_by(Pool.id))]
        fleet = fleet_doc(s)
    services = []
    if fleet["scenario_version"] is not None:
        model = request.app.state.cache.for_version(request.app.state.db, _active_version_id(request))
        services = list(model.services)
    return render(request, "events.html", status, events=events, pools=pools, services=services, error=error,
                  form=form or {}, event_id=f"ui-{uuid.uuid4().hex[:12]}")


def _active_version_id(request: Request) -> int:
    from ..db.tables import FleetState
    with request.app.state.db.read() as s:
        return s.get(FleetState, 1).scenario_version_id


@router.get("/events")
def events_page(request: Request, who: Principal = Depends(viewer_page)):
    return _events_page(request)


@router.post("/events")
async def record_event(request: Request, who: Principal = Depends(viewer_page)):
    form = dict(await request.form())
    check_form(request, who, "operator", str(form.pop("csrf", "")))
    body = _event_body(form)
    try:
        ev = EVENT.validate_python(body)
        row, replayed, outcome = event_svc.record(request.app.state.db, request.app.state.cache, who, ev,
                                                  getattr(request.state, "request_id", None))
        request.app.state.metrics.events.labels(ev.kind, "replayed" if replayed else "recorded").inc()
        if outcome is not None and outcome.changed:
            request.app.state.metrics.reconcile.observe(outcome.seconds)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"] if p != body.get("kind"))
        return _events_page(request, 422, f"{where}: {err['msg']}", form)
    except (UserError, ApiError) as exc:
        return _events_page(request, 422, str(exc), form)
    return RedirectResponse(f"/placement?version={row.placement_version}" if row.placement_version else "/events",
                            status_code=303)


def _event_body(form: dict) -> dict:
    """The form's fields as an event body (empty fields left out; the target is one pool)."""
    kind = form.get("kind", "")
    body: dict = {"id": form.get("id") or f"ui-{uuid.uuid4().hex[:12]}", "kind": kind, "note": form.get("note", "")}
    pool = form.get("pool_id", "")
    if kind in ("outage_start", "outage_end", "supply_cut", "price_change"):
        body["target"] = {"pool_ids": [int(pool)]} if pool.isdigit() else {}
    if kind == "delivery_slip":
        body["pool_id"] = int(pool) if pool.isdigit() else pool
    for key in ("units", "usd_per_chip_hour", "factor", "months"):
        if form.get(key, "") != "":
            body[key] = form[key]
    if form.get("lost_percent", "") != "":
        try:
            body["lost_share"] = float(form["lost_percent"]) / 100.0
        except ValueError:
            body["lost_share"] = form["lost_percent"]
    if kind == "demand_change" and form.get("service"):
        body["service"] = form["service"]
    return {k: v for k, v in body.items() if k in _FIELDS.get(kind, ("id", "kind", "note"))}


_FIELDS = {"outage_start": ("id", "kind", "note", "target", "lost_share"),
           "outage_end": ("id", "kind", "note", "target"),
           "delivery_slip": ("id", "kind", "note", "pool_id", "units", "months"),
           "supply_cut": ("id", "kind", "note", "target"),
           "price_change": ("id", "kind", "note", "target", "usd_per_chip_hour"),
           "demand_change": ("id", "kind", "note", "service", "factor")}


@router.get("/fleet")
def fleet_page(request: Request, who: Principal = Depends(viewer_page)):
    with request.app.state.db.read() as s:
        fleet = fleet_doc(s)
        pools = [pool_doc(p) for p in s.scalars(select(Pool).order_by(Pool.id))]
    return render(request, "fleet.html", fleet=fleet, pools=pools)


@router.get("/audit")
def audit_page(request: Request, who: Principal = Depends(viewer_page)):
    with request.app.state.db.read() as s:
        rows = [audit_doc(a) for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(200))]
    return render(request, "audit.html", rows=rows)
