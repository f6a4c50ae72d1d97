"""The jobs table as a queue: claims, leases and heartbeats, one finish per run, nothing lost.

The property test drives several simulated workers through random interleavings of claim,
heartbeat, stall (its lease runs out), reap and finish, and checks after every step that no run
finished twice, none was lost, and none stays running without a live lease.
"""

from __future__ import annotations

import threading

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select, update

from polyfleet.server import jobs
from polyfleet.server.db.tables import AuditEntry, Run, ScenarioVersion
from polyfleet.server.fleet import utcnow


def _version(db) -> int:
    with db.write() as s:
        v = ScenarioVersion(name="t", version=1, yaml="x", sha256="0" * 64, summary={}, created_at=utcnow(),
                            created_by="test")
        s.add(v)
        s.flush()
        return v.id


def _enqueue(db, vid: int, max_attempts: int = 3) -> int:
    with db.write() as s:
        r = Run(kind="plan", scenario_version_id=vid, params={}, inputs={}, inputs_sha256="0" * 64, status="queued",
                max_attempts=max_attempts, attempts=0, cancel_requested=False, created_by="t", created_at=utcnow())
        s.add(r)
        s.flush()
        return r.id


def _run(db, rid: int) -> Run:
    with db.read() as s:
        return s.get(Run, rid)


def _expire(db, c: jobs.Claim) -> None:
    """The worker holding `c` stalled: its lease ran out."""
    with db.write() as s:
        s.execute(update(Run).where(Run.id == c.run_id).values(lease_expires=0.0))


def test_claim_heartbeat_finish(db):
    rid = _enqueue(db, _version(db))
    c = jobs.claim(db, "w1", lease_s=30)
    assert (c.run_id, c.attempt) == (rid, 1) and jobs.claim(db, "w2", 30) is None
    assert _run(db, rid).status == "running"
    assert jobs.heartbeat(db, c, 30) == "ok"
    assert jobs.progress(db, c, 0.5, "half way")
    assert jobs.finish(db, c, "succeeded", result={"answer": 42})
    assert not jobs.finish(db, c, "succeeded", result={"answer": 43})     # a second finish writes nothing
    run = _run(db, rid)
    assert (run.status, run.result, run.progress, run.claim) == ("succeeded", {"answer": 42}, 1.0, None)


def test_a_lost_worker_cannot_finish_what_another_took_over(db):
    rid = _enqueue(db, _version(db))
    first = jobs.claim(db, "w1", 30)
    _expire(db, first)
    assert jobs.reap(db) == [(rid, "queued")]
    second = jobs.claim(db, "w2", 30)
    assert second.attempt == 2
    assert jobs.heartbeat(db, first, 30) == "lost" and not jobs.progress(db, first, 0.9, "late")
    assert not jobs.finish(db, first, "succeeded", result={"from": "w1"})
    assert jobs.finish(db, second, "succeeded", result={"from": "w2"})
    assert _run(db, rid).result == {"from": "w2"}


def test_a_run_fails_after_max_attempts_instead_of_running_forever(db):
    rid = _enqueue(db, _version(db), max_attempts=2)
    for _ in range(2):
        _expire(db, jobs.claim(db, "w", 30))
        jobs.reap(db)
    run = _run(db, rid)
    assert run.status == "failed" and "lost 2 times" in run.error and run.finished_at is not None


def test_cancel_reaches_the_worker_at_its_heartbeat(db, api):
    vid = _version(db)
    queued, running = _enqueue(db, vid), _enqueue(db, vid)
    c = jobs.claim(db, "w", 30)                       # takes the oldest: `queued`'s id is lower
    assert c.run_id == queued
    r = api.post(f"/api/v1/runs/{running}/cancel", role="operator")
    assert r.status_code == 202 and r.json()["status"] == "cancelled"            # never claimed: at once
    r = api.post(f"/api/v1/runs/{queued}/cancel", role="operator")
    assert r.json()["status"] == "running" and r.json()["cancel_requested"]
    assert jobs.heartbeat(db, c, 30) == "cancel"
    assert jobs.finish(db, c, "cancelled")
    assert api.post(f"/api/v1/runs/{queued}/cancel", role="operator").status_code == 409
    assert api.post(f"/api/v1/runs/{queued}/cancel", role="viewer").status_code == 403


def test_concurrent_workers_claim_each_run_once(db):
    vid = _version(db)
    ids = {_enqueue(db, vid) for _ in range(12)}
    got: list[int] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while (c := jobs.claim(db, name, 30)) is not None:
            with lock:
                got.append(c.run_id)
    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted(ids)            # every run claimed, none twice


class QueueMachine(RuleBasedStateMachine):
    """Two workers against one database; the model says what each worker believes it holds."""

    db = None

    vid = None
    finishes_seen = 0        # over every example: the invariants were checked on runs that finished

    def __init__(self) -> None:
        super().__init__()
        self.runs: set[int] = set()
        self.held: dict[int, jobs.Claim] = {}
        self.finished: dict[int, int] = {}

    @initialize()
    def two_runs(self) -> None:
        self.enqueue()
        self.enqueue()

    @rule()
    def enqueue(self) -> None:
        self.runs.add(_enqueue(self.db, self.vid, max_attempts=3))

    def _claim(self, w: int) -> None:
        c = jobs.claim(self.db, f"w{w}", 30)
        if c is not None:
            self.held[w] = c

    def _finish(self, w: int, ok: bool) -> None:
        c = self.held.pop(w)
        if jobs.finish(self.db, c, "succeeded" if ok else "failed", result={"w": w}, error="x"):
            self.finished[c.run_id] = self.finished.get(c.run_id, 0) + 1
            QueueMachine.finishes_seen += 1
            assert _run(self.db, c.run_id).attempts == c.attempt     # only the attempt holding the run finishes it

    @rule(w=st.integers(0, 1), other_stalled=st.booleans())
    def claim(self, w: int, other_stalled: bool) -> None:
        """Worker w asks for work; maybe the other worker stalled first: its lease ran out and a reaper
        saw that before this claim."""
        if other_stalled and (1 - w) in self.held:
            _expire(self.db, self.held[1 - w])
        jobs.reap(self.db)
        if w not in self.held:
            self._claim(w)

    @rule(w=st.integers(0, 1), ok=st.booleans())
    def finish(self, w: int, ok: bool) -> None:
        if w in self.held:
            self._finish(w, ok)

    def teardown(self) -> None:
        """Close this example's runs so that the next example's workers never see them."""
        with self.db.write() as s:
            s.execute(update(Run).where(Run.id.in_(self.runs), Run.status.in_(("queued", "running")))
                      .values(status="cancelled", claim=None))

    @invariant()
    def nothing_finished_twice_or_lost(self) -> None:
        assert all(n == 1 for n in self.finished.values())
        with self.db.read() as s:
            rows = {r.id: r for r in s.scalars(select(Run).where(Run.id.in_(self.runs)))}
            finishes = dict(s.execute(select(AuditEntry.resource_id, func.count()).where(
                AuditEntry.action == "finish", AuditEntry.resource_id.in_([str(i) for i in self.runs]))
                .group_by(AuditEntry.resource_id)).all())
        assert set(rows) == self.runs
        assert all(n == 1 for n in finishes.values())
        for rid, r in rows.items():
            if r.status == "running":
                assert r.claim is not None and r.lease_expires is not None
            if r.status in ("succeeded", "failed") and rid in self.finished:
                assert r.claim is None


def test_queue_properties(db):
    """The machine's invariants and rules assert (nothing finished twice or lost, only the attempt
    holding a run finishes it); the runs they were checked on must include finished ones."""
    QueueMachine.db, QueueMachine.vid, QueueMachine.finishes_seen = db, _version(db), 0
    run_state_machine_as_test(QueueMachine, settings=settings(
        max_examples=40, stateful_step_count=8, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))
    assert QueueMachine.finishes_seen > 0


def test_queue_depth_counts_by_status(db):
    vid = _version(db)
    for _ in range(3):
        _enqueue(db, vid)
    c = jobs.claim(db, "w", 30)
    jobs.finish(db, c, "succeeded", result={})
    assert jobs.queue_depth(db) == {"queued": 2, "succeeded": 1}
