"""Fleet events (operator): record one (its id is yours; the same id twice changes nothing); list; read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from sqlalchemy import select

from .. import events as svc
from ..auth import Principal
from ..db.engine import Database
from ..db.tables import Event
from ..deps import PageArgs, get_cache, get_db, page_args, paginate, request_id, require
from ..live import ModelCache
from ..problems import not_found, responses
from ..schemas.common import Page
from ..schemas.events import KINDS, EventOut, EventResult, EventUnion

router = APIRouter(prefix="/api/v1/events", tags=["events"], responses=responses(401, 403, 422))


def event_doc(e: Event) -> dict:
    return {"id": e.id, "seq": e.seq, "kind": e.kind, "body": e.body, "received_at": e.received_at,
            "received_by": e.received_by, "pools": list(e.pools), "placement_version": e.placement_version,
            "outcome": e.outcome}


@router.post("", response_model=EventResult, status_code=201,
             responses={200: {"model": EventResult, "description": "this id was recorded before: nothing changed"},
                        **responses(409)})
def record(request: Request, response: Response, body: Annotated[EventUnion, Body(discriminator="kind")], db: Database = Depends(get_db),
           cache: ModelCache = Depends(get_cache), who: Principal = Depends(require("operator")),
           rid: str | None = Depends(request_id)) -> dict:
    """Record an outage, delivery slip, supply cut, price or demand change; the fleet is re-placed at once
    and the answer names the placement version that includes it."""
    row, replayed, outcome = svc.record(db, cache, who, body, rid)
    metrics = request.app.state.metrics
    metrics.events.labels(body.kind, "replayed" if replayed else "recorded").inc()
    if outcome is not None and outcome.changed:
        metrics.reconcile.observe(outcome.seconds)
    if replayed:
        response.status_code = 200
    if row.placement_version is not None:
        response.headers["Polyfleet-Placement-Version"] = str(row.placement_version)
    return {"event": event_doc(row), "replayed": replayed}


@router.get("", response_model=Page[EventOut])
def list_events(page: PageArgs = Depends(page_args), kind: str | None = Query(None, pattern="^(" + "|".join(KINDS) + ")$"),
                db: Database = Depends(get_db), who: Principal = Depends(require("viewer"))) -> dict:
    """Events, newest first."""
    q = select(Event)
    if kind:
        q = q.where(Event.kind == kind)
    with db.read() as s:
        rows, nxt = paginate(s, q, Event.seq, page)
        return {"items": [event_doc(e) for e in rows], "next_cursor": nxt}


@router.get("/{event_id}", response_model=EventOut, responses=responses(404))
def get_event(event_id: str = Path(min_length=1, max_length=128), db: Database = Depends(get_db),
              who: Principal = Depends(require("viewer"))) -> dict:
    with db.read() as s:
        e = s.get(Event, event_id)
        if e is None:
            raise not_found("event", event_id)
        return event_doc(e)
