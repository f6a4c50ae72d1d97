"""Request dependencies: the database, the caller and their role, paging."""

from __future__ import annotations

from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Select
from sqlalchemy.orm import Session

from .auth import Principal, lookup
from .db.engine import Database
from .live import ModelCache
from .problems import ApiError

MAX_ID = 2**31 - 1      # ids are 32-bit integers in the database
bearer = HTTPBearer(auto_error=False, description="an API token: polyfleet serve token create --role ROLE")


# The small dependencies are `async`: FastAPI runs them on the event loop instead of sending each to the
# thread pool (a hop costs more than they do); only the endpoint itself, which reads the database, goes there.

async def get_db(request: Request) -> Database:
    return request.app.state.db


async def get_cache(request: Request) -> ModelCache:
    return request.app.state.cache


async def request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def _lookup(db: Database, raw: str) -> Principal | None:
    with db.read() as s:
        return lookup(s, raw)


async def principal(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
    """The token's owner; 401 without a valid token. Valid tokens are kept a second (see `auth.TokenCache`)."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise ApiError(401, "a token is needed: send Authorization: Bearer <token>", field="Authorization",
                       headers={"WWW-Authenticate": "Bearer"})
    cache = request.app.state.tokens
    who = cache.get(creds.credentials)
    if who is None:
        who = await run_in_threadpool(_lookup, request.app.state.db, creds.credentials)
        if who is not None:
            cache.put(creds.credentials, who)
    if who is None:
        raise ApiError(401, "unknown or revoked token", field="Authorization", headers={"WWW-Authenticate": "Bearer"})
    request.state.principal = who
    return who


def require(role: str):
    """A dependency that admits `role` and the roles above it; 403 otherwise."""
    async def dep(who: Principal = Depends(principal)) -> Principal:
        if not who.can(role):
            raise ApiError(403, f"this needs the {role} role; token '{who.name}' is a {who.role}")
        return who
    dep.__name__ = f"require_{role}"
    return dep


viewer = Depends(require("viewer"))
operator = Depends(require("operator"))
admin = Depends(require("admin"))


class PageArgs:
    def __init__(self, limit: int, cursor: str | None) -> None:
        self.limit = limit
        self.cursor = min(int(cursor), MAX_ID) if cursor else None


async def page_args(limit: int = Query(50, ge=1, le=200, description="items per page"),
                    cursor: str | None = Query(None, pattern=r"^[0-9]{1,12}$",
                                               description="next_cursor of the previous page")) -> PageArgs:
    return PageArgs(limit, cursor)


def paginate(s: Session, q: Select, key, args: PageArgs, newest_first: bool = True) -> tuple[list, str | None]:
    """One page of `q` ordered by `key` (an integer column); the cursor is the last key returned."""
    if args.cursor is not None:
        q = q.where(key < args.cursor) if newest_first else q.where(key > args.cursor)
    q = q.order_by(key.desc() if newest_first else key.asc()).limit(args.limit + 1)
    rows = list(s.scalars(q))
    more = len(rows) > args.limit
    rows = rows[: args.limit]
    return rows, (str(getattr(rows[-1], key.key)) if more and rows else None)
