"""Fleet edits: ETags with If-Match (412 on a stale write, 428 without), pools added and deleted,
the month placed and demand factors; each edit re-places."""

from __future__ import annotations

from server_support import pool_id

AWS = "aws/p5.48xlarge/us-east-1"


def test_two_operators_cannot_overwrite_each_other(live):
    pid = pool_id(live, AWS)
    r = live.get(f"/api/v1/fleet/pools/{pid}")
    etag = r.headers["etag"]
    assert etag == '"1"'
    first = live.patch(f"/api/v1/fleet/pools/{pid}", {"units": 3}, headers={"If-Match": etag})
    assert first.status_code == 200 and first.headers["etag"] == '"2"'
    assert first.headers["Polyfleet-Placement-Version"] == "2"
    second = live.patch(f"/api/v1/fleet/pools/{pid}", {"units": 1}, headers={"If-Match": etag})
    assert second.status_code == 412 and second.json()["field"] == "If-Match" and second.headers["etag"] == '"2"'
    assert live.get(f"/api/v1/fleet/pools/{pid}").json()["units"] == 3
    blind = live.patch(f"/api/v1/fleet/pools/{pid}", {"units": 1})
    assert blind.status_code == 428
    weak = live.patch(f"/api/v1/fleet/pools/{pid}", {"units": 1}, headers={"If-Match": 'W/"2"'})
    assert weak.status_code == 200


def test_status_and_share_lost_must_agree(live):
    pid = pool_id(live, AWS)
    r = live.patch(f"/api/v1/fleet/pools/{pid}", {"status": "degraded"}, headers={"If-Match": '"1"'})
    assert r.status_code == 422 and r.json()["field"] == "lost_share"
    r = live.patch(f"/api/v1/fleet/pools/{pid}", {"lost_share": 0.25}, headers={"If-Match": '"1"'})
    assert r.json()["status"] == "degraded" and r.json()["chips_available"] == 12      # 16 x 0.75
    r = live.patch(f"/api/v1/fleet/pools/{pid}", {"status": "down"}, headers={"If-Match": '"2"'})
    assert (r.json()["lost_share"], r.json()["chips_available"]) == (1.0, 0)


def test_pools_are_added_for_the_scenarios_offerings_only(live):
    r = live.post("/api/v1/fleet/pools", {"offering": "aws/p5.48xlarge/us-east-1", "units": 1, "term": "spot"},
                  role="operator")
    assert r.status_code == 201 and r.json()["chips"] == 8
    assert live.get("/api/v1/fleet").json()["chips"] == 48
    r = live.post("/api/v1/fleet/pools", {"offering": "aws/p5.48xlarge/us-east-1", "units": 1, "term": "spot"},
                  role="operator")
    assert r.status_code == 409
    r = live.post("/api/v1/fleet/pools", {"offering": "aws/p5.48xlarge/us-east-2", "units": 1}, role="operator")
    assert r.status_code == 422 and r.json()["field"] == "offering"


def test_deleting_a_pool_moves_its_replicas(live):
    """Every service with replicas on the deleted pool gets a move away from it (which services run
    there is the placement's choice at the calibrated rates, so it is read, not assumed)."""
    pid = pool_id(live, AWS)
    before = live.get("/api/v1/placements/current").json()["replicas"]
    there = {r["service"] for r in before if r["pool"] == AWS and r["replicas"] > 0}
    assert there
    assert live.call("DELETE", f"/api/v1/fleet/pools/{pid}", headers={"If-Match": '"7"'}).status_code == 412
    r = live.call("DELETE", f"/api/v1/fleet/pools/{pid}", headers={"If-Match": '"1"'})
    assert r.status_code == 204 and r.headers["Polyfleet-Placement-Version"] == "2"
    moves = live.get("/api/v1/placements/current").json()["moves"]
    assert {m["service"] for m in moves if m["from_pool"] == AWS} == there


def test_month_and_demand_factors(live):
    etag = live.get("/api/v1/fleet").headers["etag"]
    r = live.patch("/api/v1/fleet", {"month": "2026-04"}, headers={"If-Match": etag})
    assert r.status_code == 422 and r.json()["allowed"] == "2026-01 .. 2026-03"
    r = live.patch("/api/v1/fleet", {"month": "2026-02", "demand_factors": {"code": 2.0}}, headers={"If-Match": etag})
    assert r.status_code == 200 and r.json()["month"] == "2026-02"
    code = [t for t in live.get("/api/v1/placements/current").json()["tiers"] if t["service"] == "code"]
    assert sum(t["demand_tokens_per_s"] for t in code) == 16_000                     # 8,000 x 2
    r = live.patch("/api/v1/fleet", {"demand_factors": {"nope": 2.0}}, headers={"If-Match": r.headers["etag"]})
    assert r.status_code == 422 and r.json()["field"] == "demand_factors.nope"
    r = live.patch("/api/v1/fleet", {"demand_factors": {"code": 0}}, headers={"If-Match": '"1"'})
    assert r.status_code == 422


def test_pages_of_pools(live):
    page = live.get("/api/v1/fleet/pools?limit=2").json()
    assert [p["id"] for p in page["items"]] == [1, 2] and page["next_cursor"] == "2"
    rest = live.get("/api/v1/fleet/pools?limit=2&cursor=2").json()
    assert [p["id"] for p in rest["items"]] == [3] and rest["next_cursor"] is None
    assert live.get("/api/v1/fleet/pools?cursor=abc").status_code == 422
    assert [p["offering"] for p in live.get("/api/v1/fleet/pools?provider=gcp").json()["items"]] == \
        ["gcp/tpu-v6e-8/us-east5"]
