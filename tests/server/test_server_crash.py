"""kill -9 of the server in the middle of writes loses nothing it acknowledged: every event answered 2xx
is there after a restart with the placement it named, and sending again what got no answer records
it once (never a conflict, never twice). `benchmarks/server_crash.py` does this 50 times, with workers."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time

import httpx
from server_support import free_port, wait_for
from sqlalchemy import select

from polyfleet.server.db.tables import Event, Placement

AWS, GCP = "aws/p5.48xlarge/us-east-1", "gcp/tpu-v6e-8/us-east5"


def _serve(db_url: str, port: int, cwd) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", "from polyfleet.cli import main; main()", "serve", "--db", db_url,
                             "--port", str(port), "--workers", "0", "--log-level", "error"], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: _up(port) or proc.poll() is not None, 60, 0.1, "the server")
    assert proc.poll() is None
    return proc


def _up(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _event(i: int, rng: random.Random) -> dict:
    kind = rng.choice(["outage_start", "outage_end", "demand_change"])
    if kind == "demand_change":
        return {"id": f"crash-{i}", "kind": kind, "service": "chat", "factor": round(rng.uniform(0.5, 1.5), 3)}
    body = {"id": f"crash-{i}", "kind": kind, "target": {"offering": rng.choice([AWS, GCP])}}
    if kind == "outage_start":
        body["lost_share"] = round(rng.uniform(0.1, 1.0), 2)
    return body


def _writer(port, token, start, rng, acked, unanswered, stop) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"},
                      timeout=10) as c:
        i = start
        while not stop.is_set():
            body = _event(i, rng)
            try:
                r = c.post("/api/v1/events", json=body)
            except httpx.HTTPError:
                unanswered.append(body)
                return
            assert r.status_code == 201, r.text
            acked[body["id"]] = r.json()["event"]["placement_version"]
            i += 2


def test_kill_9_of_the_server_during_writes_loses_nothing_acknowledged(live, db, tmp_path):
    token = live.tokens["operator"]
    rng = random.Random(11)
    acked: dict[str, int] = {}
    resend: list[dict] = []
    for rnd in range(1):
        port = free_port()
        proc = _serve(db.url, port, tmp_path)
        stop = threading.Event()
        unanswered: list[dict] = []
        writers = [threading.Thread(target=_writer, args=(port, token, 1000 * rnd + k, random.Random(rnd * 7 + k),
                                                          acked, unanswered, stop)) for k in range(2)]
        for w in writers:
            w.start()
        wait_for(lambda: len(acked) >= 3, 120, 0.05, "the first writes")     # however loaded the machine is
        time.sleep(rng.uniform(0.2, 1.0))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        for w in writers:
            w.join(timeout=30)
        resend += unanswered
    assert len(acked) >= 4, "the server answered too few writes before the kill to test anything"
    with db.read() as s:
        stored = {e.id: e.placement_version for e in s.scalars(select(Event))}
        versions = {p.version for p in s.scalars(select(Placement))}
    assert {k: stored.get(k) for k in acked} == acked                     # nothing acknowledged was lost
    assert {v for v in acked.values() if v is not None} <= versions       # nor the placement it named
    port = free_port()
    proc = _serve(db.url, port, tmp_path)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}) as c:
            codes = [c.post("/api/v1/events", json=b).status_code for b in resend]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert all(code in (200, 201) for code in codes)        # 201: it had not committed; 200: it had
    with db.read() as s:
        assert len(s.scalars(select(Event)).all()) == len(acked) + len([b for b in resend if b["id"] not in acked])
