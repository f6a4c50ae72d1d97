"""Reads answered from memory (server/readcache.py): the same bytes until this process writes, a
304 for a client that sends the ETag back, never an answer older than the last write made here,
and a write by another process seen within the cache's age limit."""

from __future__ import annotations

import asyncio
import json
import time
from types import SimpleNamespace

from server_support import pool_id

from polyfleet.server.db import Database
from polyfleet.server.db.tables import Pool
from polyfleet.server.readcache import Answer, ReadCache, cached

AWS = "aws/p5.48xlarge/us-east-1"
READS = ["/api/v1/placements/current", "/api/v1/fleet/pools", "/api/v1/incidents?state=open", "/api/v1/fleet",
         "/api/v1/placements", "/api/v1/placements/1", "/api/v1/incidents"]


def test_a_kept_answer_is_the_answer_fastapi_gave_and_is_served_again(live):
    reads = live.client.app.state.reads
    for path in READS:
        first = live.get(path)
        hits = reads.hits
        again = live.get(path)
        assert first.status_code == again.status_code == 200, (path, first.text)
        assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
        assert reads.hits == hits + 1, path                      # the second came from memory
        assert again.headers["content-type"] == "application/json"


def test_if_none_match_gets_304_until_a_write_changes_the_answer(live):
    r = live.get("/api/v1/placements/current")
    tag = r.headers["etag"]
    same = live.get("/api/v1/placements/current", headers={"If-None-Match": tag})
    assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == tag
    assert live.get("/api/v1/placements/current", headers={"If-None-Match": '"other"'}).status_code == 200
    live.post("/api/v1/events", {"id": "down-1", "kind": "outage_start", "target": {"offering": AWS}},
              role="operator")
    after = live.get("/api/v1/placements/current", headers={"If-None-Match": tag})
    assert after.status_code == 200 and after.json()["version"] == 2 and after.headers["etag"] != tag


def test_every_write_here_is_seen_by_the_next_read(live):
    """Pools, fleet, incidents and placements read before and after each kind of write."""
    pid = pool_id(live, AWS)
    before = {path: live.get(path).content for path in READS}
    r = live.patch(f"/api/v1/fleet/pools/{pid}", {"units": 1}, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    pools = live.get("/api/v1/fleet/pools").json()["items"]
    assert next(p["units"] for p in pools if p["id"] == pid) == 1
    assert live.get(f"/api/v1/fleet/pools/{pid}").headers["etag"] == '"2"'      # the pool's own version
    assert live.get("/api/v1/fleet").json()["chips"] == 32                     # 40 less one 8-chip unit
    assert live.get("/api/v1/placements/current").json()["version"] == 2
    for path in ("/api/v1/fleet/pools", "/api/v1/fleet", "/api/v1/placements/current", "/api/v1/placements"):
        assert live.get(path).content != before[path], path


def test_a_write_during_a_read_leaves_no_stale_answer(db):
    """The generation is taken before the database is read: an answer built while a write commits is
    kept under the old generation, so the next read builds again and sees the write."""
    state = {"units": 1, "builds": 0}

    def build():
        seen = dict(state)
        with db.write():                          # a write commits while this read is under way
            state["units"] += 1
        state["builds"] += 1
        return {"units": seen["units"]}, None

    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(reads=ReadCache(max_age_s=60))),
                              url=SimpleNamespace(path="/x", query=""), headers={}, scope={})
    first = asyncio.run(cached(request, db, dict, build))
    second = asyncio.run(cached(request, db, dict, build))
    assert (json.loads(first.body), json.loads(second.body)) == ({"units": 1}, {"units": 2})
    assert state["builds"] == 2                   # the first answer was not served again


def test_another_process_write_is_seen_within_the_age_limit(live, db):
    app = live.client.app
    app.state.reads = ReadCache(max_age_s=0.3)
    live.get("/api/v1/fleet/pools")
    other = Database.connect(db.url)                 # another process's connection: this one's generation stays
    try:
        with other.write() as s:
            s.get(Pool, pool_id(live, AWS)).units = 7
    finally:
        other.dispose()
    time.sleep(0.35)
    pools = live.get("/api/v1/fleet/pools").json()["items"]
    assert next(p["units"] for p in pools if p["offering"] == AWS) == 7


def test_the_cache_keeps_at_most_its_size_and_never_replaces_a_newer_answer():
    c = ReadCache(max_age_s=60, size=2)
    for i, k in enumerate("abc"):
        c.put(k, Answer(1, time.monotonic(), k.encode(), f'"{i}"'))
    assert c.get("a", 1) is None and c.get("c", 1).body == b"c"
    c.put("c", Answer(0, time.monotonic(), b"older", '"o"'))
    assert c.get("c", 1).body == b"c" and c.get("c", 2) is None


def test_a_kept_answer_is_given_only_to_a_token_that_may_read(live):
    """The middleware answers before routing only for a token checked within the token cache's second:
    no token, a wrong one or a revoked one goes the ordinary way and gets 401."""
    path = "/api/v1/placements/current"
    assert live.get(path).status_code == live.get(path).status_code == 200          # kept now
    assert live.get(path, role=None).status_code == 401
    assert live.get(path, role=None, headers={"Authorization": "Bearer pf_nope"}).status_code == 401
    assert live.get(path, role=None, headers={"Authorization": "Basic eDp5"}).status_code == 401
    me = live.get("/api/v1/tokens/me").json()
    assert live.call("DELETE", f"/api/v1/tokens/{me['token_id']}", role="admin").status_code == 204
    r = live.get(path)
    assert r.status_code == 401 and r.json()["detail"] == "unknown or revoked token"


def test_kept_answers_are_counted_under_their_route(live):
    for _ in range(3):
        live.get("/api/v1/incidents?state=open")
    metrics = live.get("/metrics").text
    line = next(x for x in metrics.splitlines() if x.startswith("polyfleet_http_request_duration_seconds_count")
                and 'route="/api/v1/incidents"' in x and 'status="200"' in x)
    assert float(line.rsplit(" ", 1)[1]) >= 3
