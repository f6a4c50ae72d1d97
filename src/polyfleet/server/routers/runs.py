"""Runs (operator starts and cancels, admin deletes): plan, simulate and risk, done by workers.

Progress streams as server-sent events from /runs/{id}/events (EventSource reconnects with
Last-Event-ID and gets only what it has not seen).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from .. import runs as svc
from ..auth import Principal
from ..db.engine import Database
from ..db.tables import Run, RunMessage
from ..deps import MAX_ID, PageArgs, get_db, page_args, paginate, request_id, require
from ..problems import not_found, responses
from ..schemas.common import Page
from ..schemas.runs import RUN_EVENT_SCHEMA, RunFull, RunMessageOut, RunOut, RunUnion

router = APIRouter(prefix="/api/v1/runs", tags=["runs"], responses=responses(401, 403, 422))
RunId = Path(ge=1, le=MAX_ID)


@router.post("", response_model=RunOut, status_code=202, responses=responses(404, 409))
def start(body: Annotated[RunUnion, Body(discriminator="kind")], db: Database = Depends(get_db), who: Principal = Depends(require("operator")),
          rid: str | None = Depends(request_id)) -> dict:
    """Queue a plan, simulate or risk run; a worker picks it up. Follow it at /runs/{id}/events."""
    run = svc.create(db, who, body, rid)
    with db.read() as s:
        return svc.run_doc(run, names=svc.version_names(s, [run.scenario_version_id]))


@router.get("", response_model=Page[RunOut])
def list_runs(page: PageArgs = Depends(page_args), kind: str | None = Query(None, pattern="^(plan|simulate|risk)$"),
              status: str | None = Query(None, pattern="^(queued|running|succeeded|failed|cancelled)$"),
              db: Database = Depends(get_db), who: Principal = Depends(require("viewer"))) -> dict:
    """Runs, newest first."""
    q = select(Run)
    if kind:
        q = q.where(Run.kind == kind)
    if status:
        q = q.where(Run.status == status)
    with db.read() as s:
        rows, nxt = paginate(s, q, Run.id, page)
        names = svc.version_names(s, [r.scenario_version_id for r in rows])
        return {"items": [svc.run_doc(r, names=names) for r in rows], "next_cursor": nxt}


@router.get("/{run_id}", response_model=RunFull, responses=responses(404))
def get_run(run_id: int = RunId, db: Database = Depends(get_db), who: Principal = Depends(require("viewer"))) -> dict:
    """A run with its result (the library's document) once it has succeeded."""
    with db.read() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise not_found("run", run_id)
        return svc.run_doc(run, True, svc.version_names(s, [run.scenario_version_id]))


@router.post("/{run_id}/cancel", response_model=RunOut, status_code=202, responses=responses(404, 409))
def cancel(run_id: int = RunId, db: Database = Depends(get_db), who: Principal = Depends(require("operator")),
           rid: str | None = Depends(request_id)) -> dict:
    """Cancel: at once when queued; a running one stops at its worker's next heartbeat."""
    run = svc.cancel(db, who, run_id, rid)
    with db.read() as s:
        return svc.run_doc(run, names=svc.version_names(s, [run.scenario_version_id]))


@router.delete("/{run_id}", status_code=204, response_class=Response, responses=responses(404, 409))
def delete(run_id: int = RunId, db: Database = Depends(get_db), who: Principal = Depends(require("admin")),
           rid: str | None = Depends(request_id)) -> Response:
    """Delete a finished run and its messages."""
    svc.delete(db, who, run_id, rid)
    return Response(status_code=204)


@router.get("/{run_id}/messages", response_model=Page[RunMessageOut], responses=responses(404))
def messages(run_id: int = RunId, page: PageArgs = Depends(page_args), db: Database = Depends(get_db),
             who: Principal = Depends(require("viewer"))) -> dict:
    """The run's progress messages, oldest first."""
    with db.read() as s:
        if s.get(Run, run_id) is None:
            raise not_found("run", run_id)
        rows, nxt = paginate(s, select(RunMessage).where(RunMessage.run_id == run_id), RunMessage.id, page,
                             newest_first=False)
        return {"items": [{"id": m.id, "attempt": m.attempt, "at": m.at, "progress": m.progress,
                           "message": m.message} for m in rows], "next_cursor": nxt}


@router.get("/{run_id}/events", response_class=StreamingResponse, responses={
    200: {"content": {"text/event-stream": {"itemSchema": RUN_EVENT_SCHEMA}},
          "description": "progress events, then `end` when the run is over"}, **responses(404)})
def events(request: Request, run_id: int = RunId,
           last_event_id: str | None = Header(None, alias="Last-Event-ID", pattern=r"^[0-9]{1,12}$"),
           db: Database = Depends(get_db), who: Principal = Depends(require("viewer"))) -> StreamingResponse:
    """Server-sent events: every progress message once, then `end`."""
    with db.read() as s:
        if s.get(Run, run_id) is None:
            raise not_found("run", run_id)
    settings = request.app.state.settings
    gen = svc.stream(db, run_id, min(int(last_event_id or 0), MAX_ID), settings.sse_max_s, settings.sse_poll_s)
    return StreamingResponse(gen, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
