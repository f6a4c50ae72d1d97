"""Real worker processes: a plan run to the end with the library's own answer, progress streamed as
server-sent events, a worker killed mid-run (-9) and the run finished once by another, a cancel that
stops a running Monte Carlo."""

from __future__ import annotations

import json
import os
import signal

from server_support import start_worker, wait_for
from sqlalchemy import select

from polyfleet.datafile import DataFile
from polyfleet.plan import plan
from polyfleet.scenario import scenario_from_doc
from polyfleet.server.db.tables import AuditEntry


def _status(api, rid):
    return api.get(f"/api/v1/runs/{rid}").json()


def _done(api, rid):
    doc = _status(api, rid)
    return doc if doc["status"] in ("succeeded", "failed", "cancelled") else None


def test_a_plan_run_gives_the_librarys_plan_and_streams_its_progress(live, db):
    w = start_worker(db.url)
    try:
        r = live.post("/api/v1/runs", {"kind": "plan"}, role="operator")
        assert r.status_code == 202 and r.json()["status"] == "queued"
        rid = r.json()["id"]
        run = wait_for(lambda: _done(live, rid), 120, what="the plan run")
    finally:
        w.kill()
        w.wait()
    assert run["status"] == "succeeded", run
    inputs_text = _inputs(db, rid)
    lib = plan(scenario_from_doc(DataFile(inputs_text, "x.yaml")))
    assert run["result"]["solver"]["objective_usd"] == lib.solution.objective
    # status, gap and objective as the library says them (the build and solve times differ)
    assert run["result"]["status_line"].split("; build")[0] == lib.status_line.split("; build")[0]
    assert run["result"]["feasible"] and run["attempts"] == 1
    # the run used the live pools as its fleet: the scenario's three entries, as held now
    assert "units: 2" in inputs_text and "commit_1y" in inputs_text
    msgs = [m["message"] for m in live.get(f"/api/v1/runs/{rid}/messages?limit=200").json()["items"]]
    assert msgs[0] == "queued" and msgs[1].startswith("claimed by") and msgs[-1] == "done"
    assert any(m.startswith("solving") for m in msgs)
    with live.client.stream("GET", f"/api/v1/runs/{rid}/events",
                            headers={"Authorization": f"Bearer {live.tokens['viewer']}"}) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        events = _parse_sse(resp.iter_text())
    assert [e["data"]["message"] for e in events if e["event"] == "progress"] == msgs
    assert events[-1] == {"event": "end", "data": {"status": "succeeded"}, "id": None}
    last = events[-3]["id"]            # a client that reconnects gets only what it has not seen
    with live.client.stream("GET", f"/api/v1/runs/{rid}/events",
                            headers={"Authorization": f"Bearer {live.tokens['viewer']}",
                                     "Last-Event-ID": last}) as resp:
        again = _parse_sse(resp.iter_text())
    assert [e["data"]["message"] for e in again if e["event"] == "progress"] == msgs[-1:]


def _inputs(db, rid) -> str:
    from polyfleet.server.db.tables import Run
    with db.read() as s:
        return s.get(Run, rid).inputs["yaml"]


def _parse_sse(chunks) -> list[dict]:
    text = "".join(chunks)
    out = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in fields:
            out.append({"event": fields["event"], "data": json.loads(fields["data"]), "id": fields.get("id")})
    return out


def test_a_worker_killed_mid_run_loses_nothing_and_finishes_nothing_twice(live, db):
    # 600 Monte Carlo runs of one strategy keep a worker busy for several seconds
    r = live.post("/api/v1/runs", {"kind": "risk", "runs": 600, "months": 1, "compare": False, "fleet": "scenario"},
                  role="operator")
    rid = r.json()["id"]
    first = start_worker(db.url)
    wait_for(lambda: " of 600 runs" in _status(live, rid)["message"], 120, 0.05, "Monte Carlo progress")
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert _status(live, rid)["status"] == "running"           # its lease has not run out yet
    second = start_worker(db.url)
    try:
        run = wait_for(lambda: _done(live, rid), 240, what="the risk run, taken over")
    finally:
        second.kill()
        second.wait()
    assert run["status"] == "succeeded" and run["attempts"] == 2
    assert run["result"]["runs"] == 600 and len(run["result"]["strategies"]) == 1
    assert "tails are indicative" not in (run["result"]["few_runs_note"] or "")
    with db.read() as s:
        finishes = s.scalars(select(AuditEntry).where(AuditEntry.action == "finish",
                                                      AuditEntry.resource_id == str(rid))).all()
        reaps = s.scalars(select(AuditEntry).where(AuditEntry.action == "reap",
                                                   AuditEntry.resource_id == str(rid))).all()
    assert [f.after["status"] for f in finishes] == ["succeeded"] and len(reaps) == 1
    msgs = [m["message"] for m in live.get(f"/api/v1/runs/{rid}/messages?limit=200").json()["items"]]
    assert any("requeued: the worker of attempt 1 was lost" in m for m in msgs)


def test_cancelling_a_running_run_stops_its_work(live, db):
    r = live.post("/api/v1/runs", {"kind": "risk", "runs": 2000, "months": 1, "compare": False,
                                   "fleet": "scenario"}, role="operator")
    rid = r.json()["id"]
    w = start_worker(db.url)
    try:
        wait_for(lambda: " of 2000 runs" in _status(live, rid)["message"], 120, 0.05, "Monte Carlo progress")
        assert live.post(f"/api/v1/runs/{rid}/cancel", role="operator").json()["cancel_requested"]
        run = wait_for(lambda: _done(live, rid), 30, what="the cancel")
        assert run["status"] == "cancelled" and run["result"] is None
        assert w.poll() is None                                   # the worker itself goes on
    finally:
        w.kill()
        w.wait()


def test_a_few_runs_say_their_tails_are_indicative(live, db):
    r = live.post("/api/v1/runs", {"kind": "risk", "runs": 3, "months": 1, "compare": False, "fleet": "scenario"},
                  role="operator")
    w = start_worker(db.url)
    try:
        run = wait_for(lambda: _done(live, r.json()["id"]), 120, what="the risk run")
    finally:
        w.kill()
        w.wait()
    assert run["status"] == "succeeded"
    assert run["result"]["few_runs_note"] == ("3 runs: P99 and CVaR95 rest on the worst 1 run; tails are "
                                              "indicative below 100 runs")


def test_risk_on_ray_gives_the_numbers_of_the_local_pool(tmp_path):
    """`--ray local` sends the Monte Carlo runs to Ray; same seed, same numbers as without it."""
    import pytest
    pytest.importorskip("ray")
    from fastapi.testclient import TestClient

    from polyfleet.server.app import create_app
    from polyfleet.server.auth import create_token
    from polyfleet.server.db import Database, upgrade
    from polyfleet.server.settings import Settings
    from server_support import TINY
    db = Database.connect(f"sqlite:///{tmp_path / 'ray.db'}")
    upgrade(db)
    with db.write() as s:
        admin = create_token(s, "a", "admin", "test")[1]
    h = {"Authorization": f"Bearer {admin}"}
    body = {"kind": "risk", "runs": 4, "seed": 5, "months": 1, "compare": False}
    results = []
    with TestClient(create_app(Settings(db_url=db.url, log_requests=False), db)) as c:
        c.post("/api/v1/scenarios", json={"yaml": TINY.read_text()}, headers=h)
        c.post("/api/v1/fleet/activate", json={"scenario": "tiny-fleet"}, headers=h)
        for extra in (("--ray", "local"), ()):
            rid = c.post("/api/v1/runs", json=body, headers=h).json()["id"]
            w = start_worker(db.url, *extra)
            try:
                run = wait_for(lambda: (d := c.get(f"/api/v1/runs/{rid}", headers=h).json())["status"]
                               in ("succeeded", "failed") and d, 300, 0.5, "the risk run")
            finally:
                w.kill()
                w.wait()
            assert run["status"] == "succeeded", run["error"]
            results.append(run["result"])
    assert results[0]["ray"] == "local" and results[1]["ray"] is None
    assert results[0]["strategies"] == results[1]["strategies"]
