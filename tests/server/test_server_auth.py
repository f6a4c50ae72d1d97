"""Who may do what: nothing but health answers without a token; every write endpoint tried with every
role; tokens stored hashed, shown once, revocable; the dashboard's forms need the role and the form token."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from polyfleet.server.db.tables import AuditEntry, Token

# Every write endpoint and the least role allowed to use it (the spec of issue 11, written out by hand:
# operators record events, edit the fleet and start or cancel runs; admins manage tokens and scenarios
# and delete). A new write endpoint fails test_the_table_lists_every_write_endpoint until it is added.
WRITES = {
    ("POST", "/api/v1/tokens"): "admin",
    ("DELETE", "/api/v1/tokens/{token_id}"): "admin",
    ("POST", "/api/v1/scenarios"): "admin",
    ("DELETE", "/api/v1/scenarios/{name}/versions/{version}"): "admin",
    ("PUT", "/api/v1/scenarios/{name}/workloads"): "admin",
    ("PUT", "/api/v1/scenarios/{name}/tenants"): "admin",
    ("POST", "/api/v1/fleet/activate"): "admin",
    ("PATCH", "/api/v1/fleet"): "operator",
    ("POST", "/api/v1/fleet/pools"): "operator",
    ("PATCH", "/api/v1/fleet/pools/{pool_id}"): "operator",
    ("DELETE", "/api/v1/fleet/pools/{pool_id}"): "admin",
    ("POST", "/api/v1/events"): "operator",
    ("POST", "/api/v1/runs"): "operator",
    ("POST", "/api/v1/runs/{run_id}/cancel"): "operator",
    ("DELETE", "/api/v1/runs/{run_id}"): "admin",
}
RANK = {"viewer": 0, "operator": 1, "admin": 2}
FILL = {"{token_id}": "1", "{name}": "tiny-fleet", "{version}": "1", "{pool_id}": "1", "{run_id}": "1"}


def _routes(app):
    """(method, path) of every operation the API documents, and the spec itself."""
    for path, ops in app.openapi()["paths"].items():
        for method in ops:
            yield method.upper(), path
    yield "GET", "/api/v1/openapi.json"


def _concrete(path: str) -> str:
    for k, v in FILL.items():
        path = path.replace(k, v)
    return path


def test_the_table_lists_every_write_endpoint(app):
    writes = {(m, p) for m, p in _routes(app) if m in ("POST", "PUT", "PATCH", "DELETE")}
    assert writes == set(WRITES)


def test_nothing_but_health_answers_without_a_token(api):
    seen = 0
    for method, path in _routes(api.client.app):
        if method == "HEAD":
            continue
        r = api.call(method, _concrete(path), role=None, json={})
        if path == "/api/v1/health":
            assert r.status_code == 200
        else:
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.headers["www-authenticate"] == "Bearer"
            seen += 1
    assert seen >= 25
    bad = api.call("GET", "/api/v1/fleet", role=None, headers={"Authorization": "Bearer pf_not-a-token"})
    assert bad.status_code == 401 and bad.json()["detail"] == "unknown or revoked token"


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_every_write_endpoint_with_every_role(live, role):
    """Below the least role: 403 before anything is read or changed; at or above it: past the door (the
    answer is then about the request itself: 2xx, 404, 409, 412, 422 or 428, never 401 or 403)."""
    before = _audit_count(live)
    for (method, path), least in WRITES.items():
        r = live.call(method, _concrete(path), role=role, json={})
        if RANK[role] < RANK[least]:
            assert r.status_code == 403, (method, path, role, r.text)
            assert least in r.json()["detail"]
        else:
            assert r.status_code not in (401, 403), (method, path, role, r.text)
    if role == "viewer":
        assert _audit_count(live) == before      # nothing was written


def _audit_count(api) -> int:
    with api.client.app.state.db.read() as s:
        return len(s.scalars(select(AuditEntry.id)).all())


def test_tokens_are_stored_hashed_and_shown_once(api):
    r = api.post("/api/v1/tokens", {"name": "ci bot", "role": "operator"})
    assert r.status_code == 201
    raw = r.json()["token"]
    with api.client.app.state.db.read() as s:
        row = s.scalars(select(Token).where(Token.name == "ci bot")).one()
        audit = s.scalars(select(AuditEntry).where(AuditEntry.resource == "token")).all()
    assert row.sha256 == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str([a.after for a in audit]) and raw not in row.prefix + row.name
    listed = api.get("/api/v1/tokens", role="admin").json()["items"]
    assert all("token" not in t for t in listed) and raw[:10] in [t["prefix"] for t in listed]
    assert api.call("GET", "/api/v1/tokens/me", role=None,
                    headers={"Authorization": f"Bearer {raw}"}).json()["role"] == "operator"


def test_a_revoked_token_stops_at_once(api):
    r = api.post("/api/v1/tokens", {"name": "temp", "role": "viewer"})
    raw, tid = r.json()["token"], r.json()["id"]
    me = {"Authorization": f"Bearer {raw}"}
    assert api.call("GET", "/api/v1/fleet", role=None, headers=me).status_code == 200
    assert api.call("DELETE", f"/api/v1/tokens/{tid}", role="admin").status_code == 204
    assert api.call("GET", "/api/v1/fleet", role=None, headers=me).status_code == 401
    assert api.call("DELETE", f"/api/v1/tokens/{tid}", role="admin").status_code == 404


def test_every_write_is_audited_with_who_and_before_after(live):
    pid = live.get("/api/v1/fleet/pools").json()["items"][0]["id"]
    etag = live.get(f"/api/v1/fleet/pools/{pid}").headers["etag"]
    live.patch(f"/api/v1/fleet/pools/{pid}", {"units": 3}, headers={"If-Match": etag})
    row = live.get("/api/v1/audit?resource=pool").json()["items"][0]
    assert (row["actor"], row["role"], row["action"]) == ("operator-1", "operator", "update")
    assert (row["before"]["units"], row["after"]["units"]) == (2, 3)
    assert row["request_id"]


def _csrf(client, path) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)


def test_dashboard_forms_need_the_role_and_the_form_token(live):
    c = live.client
    c.post("/login", data={"token": live.tokens["viewer"]})
    r = c.post("/events", data={"csrf": "x", "kind": "outage_end", "pool_id": "1"})
    assert r.status_code == 403 and "operator role" in r.text
    c.post("/login", data={"token": live.tokens["operator"]})
    csrf = _csrf(c, "/events")
    assert c.post("/events", data={"csrf": "forged", "kind": "outage_end", "pool_id": "1"}).status_code == 403
    assert c.post("/scenarios", data={"csrf": csrf, "text": "x"}).status_code == 403      # admin only
    r = c.post("/events", data={"csrf": csrf, "kind": "outage_start", "pool_id": "1", "lost_percent": "50"})
    assert r.status_code == 200 and "Placement v2" in r.text


def test_dashboard_pages_send_a_stranger_to_sign_in(api):
    r = api.client.get("/incidents", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/incidents"
    r = api.client.post("/login", data={"token": "pf_wrong", "next": "//evil.example"}, follow_redirects=False)
    assert r.status_code == 401
    r = api.client.post("/login", data={"token": api.tokens["viewer"], "next": "//evil.example"},
                        follow_redirects=False)
    assert r.headers["location"] == "/"          # no redirect off the site
    assert "httponly" in r.headers["set-cookie"].lower() and "samesite=strict" in r.headers["set-cookie"].lower()
