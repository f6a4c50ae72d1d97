"""Scenario versions: an upload is a new version, never an overwrite; diffs; section edits; the CLI's
own messages for a bad file; files on the server's disk refused; versions in use kept."""

from __future__ import annotations

import pytest
from server_support import TINY

from polyfleet.datafile import DataFile
from polyfleet.errors import UserError
from polyfleet.scenario import scenario_from_doc

TEXT = TINY.read_text()
TEXT_V2 = TEXT.replace("tokens_per_s: 60000", "tokens_per_s: 70000")


def test_an_upload_is_a_new_version_and_never_an_overwrite(api):
    v1 = api.post("/api/v1/scenarios", {"yaml": TEXT})
    same = api.post("/api/v1/scenarios", {"yaml": TEXT})
    v2 = api.post("/api/v1/scenarios", {"yaml": TEXT_V2})
    assert (v1.status_code, same.status_code, v2.status_code) == (201, 200, 201)
    assert (v1.json()["version"], same.json()["version"], v2.json()["version"]) == (1, 1, 2)
    assert api.get("/api/v1/scenarios/tiny-fleet/versions/1").json()["yaml"] == TEXT
    assert api.get("/api/v1/scenarios/tiny-fleet/versions/2").json()["yaml"] == TEXT_V2
    listed = api.get("/api/v1/scenarios").json()
    assert listed == [{"name": "tiny-fleet", "versions": 2, "latest": 2, "active_version": None}]
    page = api.get("/api/v1/scenarios/tiny-fleet/versions?limit=1").json()
    assert [v["version"] for v in page["items"]] == [2] and page["next_cursor"] == "2"
    rest = api.get(f"/api/v1/scenarios/tiny-fleet/versions?limit=1&cursor={page['next_cursor']}").json()
    assert [v["version"] for v in rest["items"]] == [1] and rest["next_cursor"] is None


def test_diff_names_the_field_that_changed(api):
    api.post("/api/v1/scenarios", {"yaml": TEXT})
    api.post("/api/v1/scenarios", {"yaml": TEXT_V2})
    d = api.get("/api/v1/scenarios/tiny-fleet/diff").json()
    assert (d["from_version"], d["to_version"]) == (1, 2)
    assert d["changes"] == [{"path": "workloads.services[0].tokens_per_s", "change": "changed",
                             "before": 60000, "after": 70000}]
    assert "-      tokens_per_s: 60000" in d["text"] and "+      tokens_per_s: 70000" in d["text"]


def test_a_bad_scenario_gets_the_clis_message_as_problem_json(api):
    bad = TEXT.replace("model: llama-3.1-8b", "model: llama-3.1-8x")
    r = api.post("/api/v1/scenarios", {"yaml": bad, "name": "bad"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    with pytest.raises(UserError) as lib:
        scenario_from_doc(DataFile(bad, "bad.yaml"))
    assert r.json()["detail"] == str(lib.value)
    assert r.json()["where"] == "bad.yaml:14"          # the line of `model:` in tiny.yaml
    assert "did you mean llama-3.1-8b" in r.json()["detail"]
    assert api.get("/api/v1/scenarios").json() == []   # nothing stored


def test_a_wrong_type_names_file_line_and_field(api):
    r = api.post("/api/v1/scenarios", {"yaml": TEXT.replace("peak_factor: 1.2", "peak_factor: high"), "name": "t"})
    body = r.json()
    assert r.status_code == 422 and body["field"] == "workloads.services[0].peak_factor"
    assert body["where"] == "t.yaml:20"


def test_files_on_the_servers_disk_are_refused(api):
    r = api.post("/api/v1/scenarios", {"yaml": TEXT.replace("offerings:\n", "catalog: {files: [/etc/hostname]}\n"
                                                                             "offerings:\n", 1)})
    assert r.status_code == 422 and r.json()["field"] == "catalog.files"


def test_editing_a_section_makes_a_version_with_only_that_changed(api):
    api.post("/api/v1/scenarios", {"yaml": TEXT})
    w = api.get("/api/v1/scenarios/tiny-fleet/workloads").json()
    assert [s["id"] for s in w["services"]] == ["chat", "code"]
    w["services"][0]["tokens_per_s"] = {"value": 70000}
    r = api.call("PUT", "/api/v1/scenarios/tiny-fleet/workloads", json=w)
    assert r.status_code == 201 and r.json()["version"] == 2
    assert api.get("/api/v1/scenarios/tiny-fleet/diff").json()["changes"] == [
        {"path": "workloads.services[0].tokens_per_s", "change": "changed", "before": 60000, "after": 70000}]
    assert api.call("PUT", "/api/v1/scenarios/tiny-fleet/workloads", json=w).status_code == 200     # the same again
    tenants = api.get("/api/v1/scenarios/tiny-fleet/tenants").json()["tenants"]
    tenants[0]["share"] = 0.4
    tenants[1]["share"] = 0.6
    r = api.call("PUT", "/api/v1/scenarios/tiny-fleet/tenants", json={"tenants": tenants})
    assert r.status_code == 201 and r.json()["version"] == 3
    changed = {c["path"] for c in api.get("/api/v1/scenarios/tiny-fleet/diff").json()["changes"]}   # v2 -> v3
    assert changed == {"tenants[0].share", "tenants[1].share"}
    over = [{**tenants[0], "share": 0.7}, tenants[1]]          # 0.7 + 0.6 > 1 of each service
    r = api.call("PUT", "/api/v1/scenarios/tiny-fleet/tenants", json={"tenants": over})
    assert r.status_code == 422 and "add up to 1.3 > 1" in r.json()["detail"]
    assert api.call("PUT", "/api/v1/scenarios/tiny-fleet/tenants", json={"tenants": tenants},
                    role="operator").status_code == 403


def test_versions_in_use_are_kept(live):
    live.post("/api/v1/scenarios", {"yaml": TEXT_V2})
    r = live.call("DELETE", "/api/v1/scenarios/tiny-fleet/versions/1")
    assert r.status_code == 409 and "in use" in r.json()["detail"]
    assert live.call("DELETE", "/api/v1/scenarios/tiny-fleet/versions/2").status_code == 204
    assert live.get("/api/v1/scenarios/tiny-fleet/versions/2").status_code == 404
    assert live.get("/api/v1/audit?resource=scenario_version").json()["items"][0]["action"] == "delete"


def test_activating_a_new_version_keeps_the_live_pools(live):
    pid = live.get("/api/v1/fleet/pools").json()["items"][0]["id"]
    etag = live.get(f"/api/v1/fleet/pools/{pid}").headers["etag"]
    live.patch(f"/api/v1/fleet/pools/{pid}", {"units": 5}, headers={"If-Match": etag})
    live.post("/api/v1/scenarios", {"yaml": TEXT_V2})
    r = live.post("/api/v1/fleet/activate", {"scenario": "tiny-fleet", "version": 2})
    assert r.status_code == 200 and r.json()["scenario_version"] == 2
    assert live.get(f"/api/v1/fleet/pools/{pid}").json()["units"] == 5      # the live fleet is the record
    chat = [t for t in live.get("/api/v1/placements/current").json()["tiers"] if t["service"] == "chat"]
    assert sum(t["demand_tokens_per_s"] for t in chat) == pytest.approx(84_000)   # 70,000 x 1.2
    r = live.post("/api/v1/fleet/activate", {"scenario": "tiny-fleet", "version": 1, "reset_pools": True})
    assert live.get("/api/v1/fleet").json()["chips"] == 40
