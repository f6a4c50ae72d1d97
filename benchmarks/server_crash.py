"""kill -9 of the server and of a worker during writes and jobs, many times (issue 11: 50 times; committed
writes lost 0, jobs lost or finished twice 0).

    python benchmarks/server_crash.py [--db sqlite postgresql] [--rounds 50]

Each round: `polyfleet serve` (HTTP only) and a separate worker process run while two writers send
events as fast as the server answers and a feeder keeps plan and risk runs queued. Once the round's first write is answered, at a
random moment (0-2 s later) the server is killed with SIGKILL, and in every other round the worker too, mid-job. Next
round starts them again. At the end one more server and worker run until every run has finished;
then the database is read back:

    writes lost        events answered 2xx that are not stored (or whose placement version is not)
    writes doubled     events sent again after a kill (no answer seen) that were recorded twice
    jobs lost          runs answered 202 that are not stored, or never finished (runs stored can exceed
                       runs answered: a kill can cut off the answer to a run already committed)
    jobs finished twice  runs with more than one successful finish in the audit log
    jobs left running  runs still running after the final drain

Printed with the counts of writes and runs, of runs taken over after a kill (attempts > 1), the time
taken and the machine's load.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from server_harness import TINY, free_port, fresh_db, load_note, make_live, serve, token
from sqlalchemy import func, select

AWS, GCP = "aws/p5.48xlarge/us-east-1", "gcp/tpu-v6e-8/us-east5"


class Writers:
    """Two event writers and a run feeder against one server; what was acknowledged and what got no answer."""

    def __init__(self, base: str, operator: str, state: dict, seed: int) -> None:
        self.base, self.h, self.state = base, {"Authorization": f"Bearer {operator}"}, state
        self.stop = threading.Event()
        self.rng = random.Random(seed)
        self.threads = [threading.Thread(target=self._events, args=(k,)) for k in range(2)] + \
            [threading.Thread(target=self._runs)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)

    def _event(self) -> dict:
        st = self.state
        with st["lock"]:
            st["seq"] += 1
            i = st["seq"]
        kind = self.rng.choice(["outage_start", "outage_end", "demand_change"])
        if kind == "demand_change":
            return {"id": f"e{i}", "kind": kind, "service": "chat", "factor": round(self.rng.uniform(0.5, 1.5), 3)}
        body = {"id": f"e{i}", "kind": kind, "target": {"offering": self.rng.choice([AWS, GCP])}}
        if kind == "outage_start":
            body["lost_share"] = round(self.rng.uniform(0.1, 1.0), 2)
        return body

    def _events(self, k: int) -> None:
        with httpx.Client(base_url=self.base, headers=self.h, timeout=30) as c:
            while not self.stop.is_set():
                body = self._event()
                try:
                    r = c.post("/api/v1/events", json=body)
                except httpx.HTTPError:
                    self.state["unanswered"].append(body)
                    return
                if r.status_code != 201:
                    self.state["errors"].append(f"event {body['id']}: {r.status_code} {r.text[:200]}")
                    return
                self.state["acked"][body["id"]] = r.json()["event"]["placement_version"]

    def _runs(self) -> None:
        with httpx.Client(base_url=self.base, headers=self.h, timeout=30) as c:
            while not self.stop.is_set():
                body = self.rng.choice([{"kind": "plan"}, {"kind": "risk", "runs": 40, "months": 1,
                                                          "compare": False}])
                try:
                    r = c.post("/api/v1/runs", json=body)
                except httpx.HTTPError:
                    return
                if r.status_code == 202:
                    self.state["runs"].append(r.json()["id"])
                self.stop.wait(0.7)


def worker(url: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "polyfleet.server.worker", "--db", url, "--lease-s", "3",
                             "--poll-s", "0.2", "--log-level", "warning"], stdout=open(log, "a"),
                            stderr=subprocess.STDOUT)


def _running(url: str) -> int:
    from polyfleet.server.db import Database
    from polyfleet.server.db.tables import Run
    db = Database.connect(url)
    with db.read() as s:
        n = s.scalar(select(func.count()).select_from(Run).where(Run.status == "running"))
    db.dispose()
    return int(n)


def crash_rounds(url: str, operator: str, rounds: int, log: Path, seed: int) -> dict:
    state = {"acked": {}, "unanswered": [], "runs": [], "errors": [], "seq": 0, "lock": threading.Lock(),
             "server_kills": 0, "worker_kills": 0, "worker_kills_mid_job": 0}
    rng = random.Random(seed)
    w, proc = worker(url, log), None
    try:
        for rnd in range(rounds):
            port = free_port()
            proc = serve(url, port, log=log)
            writers = Writers(f"http://127.0.0.1:{port}", operator, state, seed * 1000 + rnd)
            before = len(state["acked"])
            writers.start()
            end = time.monotonic() + 60
            while len(state["acked"]) == before and time.monotonic() < end:      # writes under way, however loaded
                time.sleep(0.05)
            time.sleep(rng.uniform(0.0, 2.0))
            if rnd % 2 == 1 and w.poll() is None:
                state["worker_kills_mid_job"] += _running(url) > 0
                os.kill(w.pid, signal.SIGKILL)                  # mid-job, most of the time: the feeder keeps runs queued
                w.wait()
                state["worker_kills"] += 1
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            state["server_kills"] += 1
            writers.join()
            if w.poll() is not None:
                w = worker(url, log)
            print(f"  round {rnd + 1}/{rounds}: {len(state['acked'])} events acknowledged, {len(state['runs'])} runs "
                  f"queued so far", flush=True)
    except BaseException:
        for p in (proc, w):
            if p is not None and p.poll() is None:
                p.kill()
        raise
    state["worker"] = w
    return state


def drain(url: str, operator: str, state: dict, log: Path, timeout: float = 900) -> list[int]:
    """One more server: resend what got no answer, let the worker finish every run; the resend answers."""
    port = free_port()
    proc = serve(url, port, log=log)
    codes = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {operator}"},
                          timeout=60) as c:
            codes = [c.post("/api/v1/events", json=b).status_code for b in state["unanswered"]]
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                left = c.get("/api/v1/runs?status=queued&limit=1").json()["items"] + \
                    c.get("/api/v1/runs?status=running&limit=1").json()["items"]
                if not left:
                    break
                time.sleep(1.0)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        state["worker"].terminate()
        state["worker"].wait(timeout=30)
    return codes


def audit(url: str, state: dict, resend_codes: list[int]) -> dict:
    from polyfleet.server.db import Database
    from polyfleet.server.db.tables import AuditEntry, Event, Placement, Run
    db = Database.connect(url)
    with db.read() as s:
        events = {e.id: e.placement_version for e in s.scalars(select(Event))}
        versions = set(s.scalars(select(Placement.version)))
        runs = {r.id: r for r in s.scalars(select(Run))}
        finishes = dict(s.execute(select(AuditEntry.resource_id, func.count()).where(
            AuditEntry.action == "finish", AuditEntry.after["status"].as_string() == "succeeded")
            .group_by(AuditEntry.resource_id)).all())
    db.dispose()
    acked = state["acked"]
    lost = [k for k, v in acked.items() if k not in events or events[k] != v or (v is not None and v not in versions)]
    expected_events = len(acked) + len({b["id"] for b in state["unanswered"]} - set(acked))
    return {"events_acknowledged": len(acked), "writes_lost": len(lost),
            "writes_doubled": len(events) - expected_events if len(events) > expected_events else 0,
            "resends": len(resend_codes), "resend_conflicts": sum(c not in (200, 201) for c in resend_codes),
            "runs_acknowledged": len(state["runs"]), "runs_stored": len(runs), "jobs_lost": sum(1 for r in state["runs"] if r not in runs or
                                                                 runs[r].status in ("queued", "running")),
            "jobs_finished_twice": sum(1 for n in finishes.values() if n > 1),
            "jobs_left_running": sum(1 for r in runs.values() if r.status == "running"),
            "runs_succeeded": sum(1 for r in runs.values() if r.status == "succeeded"),
            "runs_failed": sum(1 for r in runs.values() if r.status == "failed"),
            "runs_taken_over": sum(1 for r in runs.values() if r.attempts > 1),
            "client_errors": state["errors"][:3]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    for kind in args.db:
        t0 = time.monotonic()
        with fresh_db(kind) as url:
            admin, operator = token(url, "admin"), token(url, "operator", "crash-writer")
            log = Path(tempfile.gettempdir()) / f"polyfleet-crash-{kind}.log"
            port = free_port()
            proc = serve(url, port, log=log)
            make_live(f"http://127.0.0.1:{port}", admin, TINY.read_text())
            proc.terminate()
            proc.wait(timeout=30)
            print(f"{kind}: {args.rounds} rounds of kill -9 (log: {log})", flush=True)
            state = crash_rounds(url, operator, args.rounds, log, args.seed)
            codes = drain(url, operator, state, log)
            res = audit(url, state, codes)
        print(f"{kind}: server killed {state['server_kills']} times, worker {state['worker_kills']} times "
              f"({state['worker_kills_mid_job']} of them while it held a run), "
              f"{time.monotonic() - t0:.0f} s ({load_note()})")
        for k, v in res.items():
            print(f"  {k}: {v}")


if __name__ == "__main__":
    main()
