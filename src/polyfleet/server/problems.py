"""Errors as problem details (RFC 9457, `application/problem+json`), each naming the field at fault.

A user error from the library (`UserError`) keeps its own words: the `detail` is what the
command line prints after `error: `. Validation errors name the body, query or header path.
Anything else is a bug of ours: a 500 with a request id, logged with its traceback, never
dressed up as bad input.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..datafile import field_path
from ..errors import PolyfleetError, UserError

PROBLEM = "application/problem+json"
log = logging.getLogger("polyfleet.server")

TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
          409: "Conflict", 412: "Precondition failed", 413: "Too large", 415: "Unsupported media type",
          422: "Unprocessable content", 428: "Precondition required", 500: "Internal error"}


class ApiError(Exception):
    """An error the API answers with its own status."""

    def __init__(self, status: int, detail: str, *, field: str | None = None, allowed: str | None = None,
                 where: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.field, self.allowed, self.where = status, detail, field, allowed, where
        self.headers = headers or {}


def not_found(what: str, key: object) -> ApiError:
    return ApiError(404, f"no {what} {key}")


def problem(request: Request, status: int, detail: str, *, field: str | None = None, allowed: str | None = None,
            where: str | None = None, headers: dict[str, str] | None = None):
    if not request.url.path.startswith(("/api/", "/metrics")):     # a dashboard page: the error as a page
        from .web.session import render
        return render(request, "error.html", status, title=TITLES.get(status, "Error"),
                      error=detail + (f" (allowed: {allowed})" if allowed else ""))
    body = {"type": f"/problems/{status}", "title": TITLES.get(status, "Error"), "status": status, "detail": detail,
            "instance": request.url.path, "field": field, "where": where, "allowed": allowed,
            "request_id": getattr(request.state, "request_id", None)}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def user_error_problem(request: Request, exc: UserError, status: int = 422) -> JSONResponse:
    """The library's message, whole, as `detail`; its field, file:line and allowed values beside it."""
    return problem(request, status, str(exc), field=exc.field, allowed=exc.allowed, where=exc.where)


def _validation_field(loc: tuple, body: object) -> str:
    """`body.outage_start.target.pool_ids` -> `target.pool_ids`: a body field by its own path (the union's
    tag dropped); query, path and header parameters keep their place (`query.cursor`)."""
    parts = list(loc)
    if parts[:1] == ["body"]:
        parts = parts[1:]
        if parts and isinstance(body, dict) and parts[0] == body.get("kind"):
            parts = parts[1:]
    return field_path([p for p in parts if not (isinstance(p, str) and "[" in p)])


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError):
        return problem(request, exc.status, exc.detail, field=exc.field, allowed=exc.allowed, where=exc.where,
                       headers=exc.headers)

    @app.exception_handler(UserError)
    async def _user(request: Request, exc: UserError):
        return user_error_problem(request, exc)

    @app.exception_handler(PolyfleetError)
    async def _infeasible(request: Request, exc: PolyfleetError):
        return problem(request, 422, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        more = len(errors) - 1
        msg = str(first.get("msg", "invalid"))
        if more:
            msg += f" (and {more} more problem{'s' if more > 1 else ''})"
        ctx = first.get("ctx") or {}
        allowed = str(ctx["expected"]) if "expected" in ctx else None
        return problem(request, 422, msg, field=_validation_field(tuple(first.get("loc", ())), exc.body) or None,
                       allowed=allowed)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        return problem(request, exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception):
        rid = getattr(request.state, "request_id", None)
        log.error("unhandled error", exc_info=exc, extra={"request_id": rid, "path": request.url.path})
        return problem(request, 500, f"internal error (request {rid}); the server log has the details")


def responses(*statuses: int) -> dict:
    """OpenAPI entries for the problems an operation can answer."""
    from .schemas.common import Problem
    return {s: {"model": Problem, "description": TITLES.get(s, "Error"), "content": {PROBLEM: {}}} for s in statuses}
