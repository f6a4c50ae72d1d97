"""Reads answered from memory: the JSON bytes of a read, kept until this process next writes.

Every write of the live fleet, its placements, incidents and events goes through this process
(workers write only runs), and `Database.write` bumps `Database.generation` after each commit. A
read made at generation g is kept with g and served again, as the same bytes, while the generation
is still g: no session, no ORM, no pydantic, no JSON encoding. The generation is taken before the
database is read, so a write that commits during the read makes the kept answer stale at once.
A write by another process (a second server on the same PostgreSQL) is seen within `max_age_s`.

Each answer carries an ETag (the record's version where the API already gives one for If-Match, else
a hash of the body); a client that sends it back in If-None-Match gets 304 with no body.

`KeptReads`, an ASGI middleware, answers such a read before routing when the answer is kept and the
caller's token is one `auth.TokenCache` holds (checked within the last second): no routing, no
dependencies. Anything else (a new path, a stale answer, an unknown token) takes the ordinary way,
which checks the token against the database, answers errors, and keeps the new answer.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import TypeAdapter

from .db.engine import Database

NOT_MODIFIED = {304: {"description": "not modified: the ETag sent in If-None-Match is current"}}


@dataclass(frozen=True)
class Answer:
    generation: int
    at: float
    body: bytes
    etag: str
    route: str = "unmatched"        # the route's path template (the metrics' label)


class ReadCache:
    """Answers by request path and query, least recently used dropped beyond `size`."""

    def __init__(self, max_age_s: float = 1.0, size: int = 512) -> None:
        self.max_age_s, self.size = max_age_s, size
        self._items: OrderedDict[str, Answer] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: str, generation: int) -> Answer | None:
        with self._lock:
            a = self._items.get(key)
            if a is None or a.generation != generation or time.monotonic() - a.at > self.max_age_s:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return a

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def put(self, key: str, answer: Answer) -> None:
        with self._lock:
            old = self._items.get(key)
            if old is not None and old.generation > answer.generation:
                return                      # a newer answer is already kept
            self._items[key] = answer
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


_ADAPTERS: dict[Any, TypeAdapter] = {}


def _adapter(model: Any) -> TypeAdapter:
    a = _ADAPTERS.get(model)
    if a is None:
        a = _ADAPTERS[model] = TypeAdapter(model)
    return a


def _encode(model: Any, doc: Any) -> bytes:
    """The body FastAPI would send for `doc` under `model`: validated, then serialised by the model."""
    a = _adapter(model)
    return a.dump_json(a.validate_python(doc), by_alias=True)


async def cached(request: Request, db: Database, model: Any,
                 build: Callable[[], tuple[Any, str | None]]) -> Response:
    """The read's answer from memory when nothing was written since it was made, else `build()`
    (run in the thread pool: it reads the database) -> (document, ETag or None for a body hash)."""
    cache: ReadCache = request.app.state.reads
    key = f"{request.url.path}?{request.url.query}"
    answer = cache.get(key, db.generation)
    if answer is None:
        generation = db.generation                  # before reading: a write during the read makes it stale
        doc, etag = await run_in_threadpool(build)
        body = _encode(model, doc)
        etag = etag or '"' + hashlib.blake2b(body, digest_size=10).hexdigest() + '"'
        route = getattr(request.scope.get("route"), "path", "unmatched")
        answer = Answer(generation, time.monotonic(), body, etag, route)
        cache.put(key, answer)
    headers = {"ETag": answer.etag, "Cache-Control": CACHE_CONTROL}
    if _not_modified(request.headers.get("if-none-match"), answer.etag):
        return Response(status_code=304, headers=headers)
    return Response(answer.body, media_type="application/json", headers=headers)


CACHE_CONTROL = "private, no-cache"


def _not_modified(sent: str | None, etag: str) -> bool:
    return sent is not None and (sent.strip() == "*" or etag in [t.strip().removeprefix("W/")
                                                                  for t in sent.split(",")])


class KeptReads:
    """Pure ASGI middleware: a GET whose answer is kept and current, from a caller whose token was
    checked within the token cache's second, is answered here (see the module docstring)."""

    def __init__(self, app, state) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "GET":
            query = scope["query_string"].decode("latin-1")
            key = f"{scope['path']}?{query}"
            reads: ReadCache = self.state.reads
            if key in reads:
                headers = dict(scope["headers"])
                who = self._caller(headers.get(b"authorization", b""))
                answer = reads.get(key, self.state.db.generation) if who is not None else None
                if answer is not None:
                    scope.setdefault("state", {})["principal"] = who
                    scope["route"] = _Route(answer.route)
                    await self._answer(send, answer, headers.get(b"if-none-match"))
                    return
        await self.app(scope, receive, send)

    def _caller(self, auth: bytes):
        scheme, _, raw = auth.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not raw:
            return None
        who = self.state.tokens.get(raw.strip())
        return who if who is not None and who.can("viewer") else None

    @staticmethod
    async def _answer(send, answer: Answer, sent: bytes | None) -> None:
        fresh = not _not_modified(sent.decode("latin-1") if sent is not None else None, answer.etag)
        body = answer.body if fresh else b""
        headers = [(b"etag", answer.etag.encode()), (b"cache-control", CACHE_CONTROL.encode())]
        if fresh:
            headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200 if fresh else 304, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@dataclass(frozen=True)
class _Route:
    path: str
