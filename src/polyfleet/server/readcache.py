"""Reads answered from memory: the JSON bytes of a read, kept until this process next writes.

Every write of the live fleet, its placements, incidents and events goes through this process
(workers write only runs), and `Database.write` bumps `Database.generation` after each commit. A
read made at generation g is kept with g and served again, as the same bytes, while the generation
is still g: no session, no ORM, no pydantic, no JSON encoding. The generation is taken before the
database is read, so a write that commits during the read makes the kept answer stale at once.
A write by another process (a second server on the same PostgreSQL) is seen within `max_age_s`.

Each answer carries an ETag (the record's version where the API already gives one for If-Match, else
a hash of the body); a client that sends it back in If-None-Match gets 304 with no body.
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
        answer = Answer(generation, time.monotonic(), body, etag)
        cache.put(key, answer)
    headers = {"ETag": answer.etag, "Cache-Control": "private, no-cache"}
    sent = request.headers.get("if-none-match")
    if sent is not None and (sent.strip() == "*" or answer.etag in [t.strip().removeprefix("W/")
                                                                    for t in sent.split(",")]):
        return Response(status_code=304, headers=headers)
    return Response(answer.body, media_type="application/json", headers=headers)
