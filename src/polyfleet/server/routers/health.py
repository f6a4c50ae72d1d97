"""Health (the one endpoint that needs no token) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import text

from ... import __version__
from ..db.engine import Database
from ..db.migrate import current_revision
from ..deps import get_db, viewer
from ..jobs import queue_depth
from ..problems import ApiError, responses
from ..schemas.common import Health

router = APIRouter(tags=["health"])


@router.get("/api/v1/health", response_model=Health, responses=responses(503))
def health(db: Database = Depends(get_db)) -> Health:
    """Is the service up and its database reachable? (No token needed.)"""
    try:
        with db.read() as s:
            s.execute(text("SELECT 1"))
        rev = current_revision(db)
    except Exception as exc:  # noqa: BLE001
        raise ApiError(503, f"database unreachable: {type(exc).__name__}") from None
    return Health(status="ok", database=db.dialect, migration=rev, version=__version__)


@router.get("/metrics", dependencies=[viewer], responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                                                                 "description": "Prometheus text format"},
                                                           **responses(401, 403)},
            response_class=Response)
def metrics(request: Request, db: Database = Depends(get_db)) -> Response:
    """Request latency, the job queue by status, reconcile time, events (Prometheus text format)."""
    body = request.app.state.metrics.render(queue_depth(db))
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
