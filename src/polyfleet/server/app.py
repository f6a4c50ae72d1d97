"""The FastAPI application: routers, error handlers, request log and metrics, dashboard, OpenAPI."""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles

from .. import __version__
from . import problems
from .auth import TokenCache
from .db.engine import Database
from .live import ModelCache
from .metrics import Metrics
from .readcache import KeptReads, ReadCache
from .routers import audit, events, fleet, health, placements, runs, scenarios, tokens
from .settings import Settings

HERE = Path(__file__).resolve().parent
_RID_PREFIX = uuid.uuid4().hex[:8] + "-"      # request ids: random per process, then counted (cheaper than uuid4)
_RID = itertools.count(1)
log = logging.getLogger("polyfleet.server.http")


class RequestLog:
    """Pure ASGI middleware: a request id, the latency histogram by route, one JSON log line per request."""

    def __init__(self, app, metrics: Metrics, log_requests: bool) -> None:
        self.app, self.metrics, self.log_requests = app, metrics, log_requests

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        rid = next((v.decode("latin-1")[:64] for k, v in scope["headers"] if k == b"x-request-id"), None) \
            or f"{_RID_PREFIX}{next(_RID):x}"
        scope.setdefault("state", {})["request_id"] = rid
        status = [500]

        async def send_wrapped(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", rid.encode("latin-1")))
            await send(message)
        try:
            await self.app(scope, receive, send_wrapped)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            dt = time.perf_counter() - t0
            self.metrics.latency.labels(scope["method"], route, str(status[0])).observe(dt)
            if self.log_requests:
                who = scope["state"].get("principal")
                log.info("request", extra={"request_id": rid, "method": scope["method"], "path": scope["path"],
                                           "route": route, "status": status[0], "ms": round(dt * 1000, 2),
                                           "actor": who.name if who else None})


def _openapi(app: FastAPI):
    """The spec, with every error response as application/problem+json and FastAPI's own 422 schema
    replaced by the problem it really sends."""
    def build():
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for path in spec.get("paths", {}).values():
            for op in path.values():
                for code, resp in op.get("responses", {}).items():
                    if code.isdigit() and int(code) >= 400:
                        resp["content"] = {problems.PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        app.openapi_schema = spec
        return spec
    return build


def _spec_route(app: FastAPI) -> None:
    from fastapi import Depends
    from fastapi.responses import JSONResponse

    from .deps import require

    @app.get("/api/v1/openapi.json", include_in_schema=False, dependencies=[Depends(require("viewer"))])
    def spec() -> JSONResponse:
        """The OpenAPI spec (a token is needed, as everywhere but health)."""
        return JSONResponse(app.openapi())


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    """The service for `settings.db_url` (or an open `db`); tables must be migrated (see `db.upgrade`)."""
    settings = settings or Settings()
    db = db or Database.connect(settings.db_url)
    app = FastAPI(title="polyfleet", version=__version__,
                  description="The control plane for an AI compute fleet across TPUs, Trainium and GPUs: the live "
                              "fleet, its events and placements, plan/simulate/risk runs, and who did what.",
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.db, app.state.settings, app.state.cache, app.state.metrics = db, settings, ModelCache(), Metrics()
    app.state.tokens = TokenCache()
    app.state.reads = ReadCache(settings.read_cache_s)
    problems.install(app)
    for r in (health, tokens, scenarios, fleet, events, placements, runs, audit):
        app.include_router(r.router)
    app.openapi = _openapi(app)
    _spec_route(app)
    from .web import pages, session
    session.install(app)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(KeptReads, state=app.state)          # inside the request log: kept reads are logged too
    app.add_middleware(RequestLog, metrics=app.state.metrics, log_requests=settings.log_requests)
    return app
