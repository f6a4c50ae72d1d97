"""The reconciler: the live fleet is placed as `polyfleet place` places it, an outage re-places with the
library's failover (the same moves `place --lose` lists), incidents open and close with the tiers.

tiny.yaml by hand: pools aws p5 (2 units x 8 = 16 H100), gcp v6e (2 x 8 = 16), nebius h200 (1 x 8 = 8).
chat: 60,000 tokens/s x peak 1.2 = 72,000 at the peak; code: 8,000. Tenants: enterprise 30%, self-serve 70%.
"""

from __future__ import annotations

import json
import math

from server_support import TINY, pool_id

AWS = "aws/p5.48xlarge/us-east-1"
NEBIUS = "nebius/gpu-h200-sxm_8gpu/eu-north1"


def _cli_json(run_cli, *args) -> dict:
    code, out, err = run_cli("place", str(TINY), "--format", "json", "--quiet", *args)
    assert code == 0, err
    return json.loads(out)


def _replicas(doc_rows) -> set[tuple[str, str, int]]:
    return {(r["service"], r["pool"], r["replicas"]) for r in doc_rows}


def test_activation_seeds_pools_from_the_scenario_fleet(live):
    pools = {p["offering"]: p for p in live.get("/api/v1/fleet/pools").json()["items"]}
    assert {o: p["chips"] for o, p in pools.items()} == {AWS: 16, "gcp/tpu-v6e-8/us-east5": 16, NEBIUS: 8}
    assert pools[NEBIUS]["term"] == "commit_1y"
    fleet = live.get("/api/v1/fleet").json()
    assert (fleet["chips"], fleet["chips_available"], fleet["placement_version"]) == (40, 40, 1)
    assert {g["key"]: g["chips"] for g in fleet["by_family"]} == {"gpu": 24, "tpu": 16}


def test_initial_placement_is_what_polyfleet_place_gives(live, run_cli):
    cli = _cli_json(run_cli)
    cur = live.get("/api/v1/placements/current").json()
    assert _replicas(cur["replicas"]) == _replicas(cli["replicas"])
    by_cell = {(t["service"], t["tier"]): t for t in cur["tiers"]}
    # chat's peak 72,000 tokens/s: 30% enterprise, 70% self-serve
    assert math.isclose(by_cell[("chat", "enterprise")]["demand_tokens_per_s"], 21_600)
    assert math.isclose(by_cell[("chat", "self-serve")]["demand_tokens_per_s"], 50_400)
    assert cur["moves"] == [] and cur["version"] == 1


def test_outage_replaces_with_the_library_failover_and_opens_an_incident(live, run_cli):
    cli = _cli_json(run_cli, "--lose", AWS)
    r = live.post("/api/v1/events", {"id": "aws-down-1", "kind": "outage_start", "target": {"offering": AWS}},
                  role="operator")
    assert r.status_code == 201, r.text
    assert r.json()["event"]["placement_version"] == 2 and r.headers["Polyfleet-Placement-Version"] == "2"
    cur = live.get("/api/v1/placements/current").json()
    sides = ("service", "from_pool", "from_replicas", "from_chips", "to_pool", "to_replicas", "to_chips")
    want = sorted((*(m[k] for k in sides), round(m["start_usd"], 6)) for m in cli["failover"]["moves"])
    assert sorted((*(m[k] for k in sides), round(m["start_usd"], 6)) for m in cur["moves"]) == want
    assert _replicas(cur["replicas"]) == _replicas(r for r in cli["replicas"] if r["replicas"] > 0)
    assert all(r["pool"] != AWS for r in cur["replicas"])
    # local failover: nothing on a healthy pool moved but to make room for a higher tier
    assert all(m["from_pool"] in (AWS, None) or m["to_pool"] is None for m in cur["moves"])
    short = {u["service"]: u["share"] for u in cli["failover"]["unserved"] if u["tier"] == "self-serve"}
    incidents = live.get("/api/v1/incidents?state=open").json()["items"]
    assert [i["tier"] for i in incidents] == ["self-serve"]          # enterprise is served whole
    inc = incidents[0]
    assert inc["tenants"] == [{"tenant": "self-serve", "customers": 900}]
    assert {s["service"]: s["unserved_share"] for s in inc["services"]} == short
    assert inc["opened_by_placement"] == 2 and inc["opened_by"] == "event aws-down-1"
    # the incident's share is of the whole tier: unserved tokens over the tier's demand (50,400 + 5,600)
    assert math.isclose(inc["unserved_share"], inc["unserved_tokens_per_s"] / 56_000)


def test_outage_end_closes_the_incident_and_serves_everyone(live):
    live.post("/api/v1/events", {"id": "o1", "kind": "outage_start", "target": {"offering": AWS}})
    r = live.post("/api/v1/events", {"id": "o2", "kind": "outage_end", "target": {"provider": "aws"}})
    assert r.status_code == 201
    inc = live.get("/api/v1/incidents").json()["items"]
    assert len(inc) == 1 and not inc[0]["open"] and inc[0]["closed_by_placement"] == 3
    cur = live.get("/api/v1/placements/current").json()
    assert all(t["served_share"] > 1 - 1e-9 for t in cur["tiers"])
    assert cur["served_share_by_tier"] == {"enterprise": 1.0, "self-serve": 1.0}


def test_a_degraded_pool_keeps_whole_chips_of_what_is_left(live):
    aws = pool_id(live, AWS)
    live.post("/api/v1/events", {"id": "d1", "kind": "outage_start", "target": {"pool_ids": [aws]},
                                 "lost_share": 0.3})
    p = live.get(f"/api/v1/fleet/pools/{aws}").json()
    assert (p["status"], p["chips_available"]) == ("degraded", 11)      # floor(16 x 0.7) = floor(11.2)
    cur = live.get("/api/v1/placements/current").json()
    assert cur["chips"][AWS] == 11
    assert sum(r["chips"] for r in cur["replicas"] if r["pool"] == AWS) <= 11


def test_sending_an_event_twice_changes_nothing(live):
    ev = {"id": "dup-7", "kind": "outage_start", "target": {"offering": AWS}, "lost_share": 0.5}
    first = live.post("/api/v1/events", ev, role="operator")
    again = live.post("/api/v1/events", ev, role="operator")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["replayed"] is True and again.json()["event"] == first.json()["event"]
    assert len(live.get("/api/v1/placements").json()["items"]) == 2
    assert len(live.get("/api/v1/events").json()["items"]) == 1
    clash = live.post("/api/v1/events", {**ev, "lost_share": 0.6}, role="operator")
    assert clash.status_code == 409 and clash.json()["field"] == "id"
    assert clash.headers["content-type"].startswith("application/problem+json")


def test_an_event_that_changes_no_placement_input_stores_no_version(live):
    r = live.post("/api/v1/events", {"id": "cut-1", "kind": "supply_cut", "target": {"vendor": "nvidia"}})
    assert r.status_code == 201
    body = r.json()["event"]
    assert body["placement_version"] == 1 and "placement unchanged" in body["outcome"]
    pools = live.get("/api/v1/fleet/pools").json()["items"]
    assert sorted(p["supply_cut"] for p in pools) == [False, True, True]   # two NVIDIA pools, chips kept
    assert sum(p["chips_available"] for p in pools) == 40


def test_demand_change_scales_the_service_forecast(live):
    live.post("/api/v1/events", {"id": "dem-1", "kind": "demand_change", "service": "chat", "factor": 1.5})
    tiers = {(t["service"], t["tier"]): t["demand_tokens_per_s"]
             for t in live.get("/api/v1/placements/current").json()["tiers"]}
    assert math.isclose(tiers[("chat", "enterprise")], 32_400)      # 72,000 x 1.5 x 0.3
    assert math.isclose(tiers[("code", "self-serve")], 5_600)       # untouched
    live.post("/api/v1/events", {"id": "dem-2", "kind": "demand_change", "service": "chat", "tokens_per_s": 45_000})
    fleet = live.get("/api/v1/fleet").json()
    assert math.isclose(fleet["demand_factors"]["chat"], 0.75)      # 45,000 / 60,000


def test_delivery_slip_takes_units_and_refuses_more_than_held(live):
    aws = pool_id(live, AWS)
    bad = live.post("/api/v1/events", {"id": "s1", "kind": "delivery_slip", "pool_id": aws, "units": 3})
    assert bad.status_code == 422 and bad.json()["field"] == "units" and bad.json()["allowed"] == "1 .. 2"
    assert live.get("/api/v1/events/s1").status_code == 404           # a refused event is not recorded
    ok = live.post("/api/v1/events", {"id": "s2", "kind": "delivery_slip", "pool_id": aws, "units": 1, "months": 2})
    assert ok.status_code == 201
    p = live.get(f"/api/v1/fleet/pools/{aws}").json()
    assert (p["units"], p["chips"]) == (1, 8) and "slipped 2 months" in p["source"]


def test_price_change_is_what_placement_charges(live):
    neb = pool_id(live, NEBIUS)
    live.post("/api/v1/events", {"id": "p1", "kind": "price_change", "target": {"pool_ids": [neb]},
                                 "usd_per_chip_hour": 9.0})
    cur = live.get("/api/v1/placements/current").json()
    # catalog on-demand prices: p5 6.88, v6e 2.70 per chip-hour; the nebius pool now 9.00
    price = {AWS: 6.88, "gcp/tpu-v6e-8/us-east5": 2.70, NEBIUS: 9.0}
    assert math.isclose(cur["usd_per_hour"], sum(r["chips"] * price[r["pool"]] for r in cur["replicas"]))


def test_events_name_the_field_at_fault(live):
    r = live.post("/api/v1/events", {"id": "t1", "kind": "outage_start", "target": {"provider": "azure"}})
    assert r.status_code == 422 and r.json()["field"] == "target"
    r = live.post("/api/v1/events", {"id": "t2", "kind": "demand_change", "service": "chta", "factor": 2})
    assert r.status_code == 422 and r.json()["field"] == "service" and "did you mean chat" in r.json()["detail"]
    r = live.post("/api/v1/events", {"id": "t3", "kind": "outage_start", "target": {}})
    assert r.status_code == 422 and r.json()["field"] == "target"
    r = live.post("/api/v1/events", {"id": "bad id!", "kind": "outage_end", "target": {"provider": "aws"}})
    assert r.status_code == 422 and r.json()["field"] == "id"


def test_no_events_before_a_scenario_is_active(api):
    r = api.post("/api/v1/events", {"id": "e", "kind": "outage_end", "target": {"provider": "aws"}})
    assert r.status_code == 409 and "activate" in r.json()["detail"]
