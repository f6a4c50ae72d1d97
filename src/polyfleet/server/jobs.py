"""The jobs table as a queue: claim with a lease, heartbeat, finish once, reap the lost.

A worker claims the oldest queued run (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so workers
never wait on or take each other's; on SQLite the write lock serialises claims and one worker
runs). A claim is a fresh random token and a lease; every later write of that attempt (progress,
heartbeat, the result) is conditional on the token still being the run's and the run still
running. So a worker that lost its lease (it stalled, or was presumed dead and its run given to
another) can write nothing: a run is finished once, by the attempt that holds it. A run whose
lease expired goes back to the queue (or fails after `max_attempts`), so none stays "running"
forever and none is lost. Lease times are the database's clock on PostgreSQL (workers may run on
other machines), the machine's on SQLite (one file, one machine).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from . import audit
from .db.engine import Database
from .db.tables import FINISHED, Run, RunMessage
from .fleet import utcnow


@dataclass(frozen=True)
class Claim:
    """One attempt at one run: what a worker needs to do it and to write its outcome."""

    run_id: int
    token: str
    attempt: int
    kind: str
    params: dict
    inputs: dict


def db_now(s: Session) -> float:
    """Epoch seconds by the database's clock (PostgreSQL) or this machine's (SQLite)."""
    if s.get_bind().dialect.name == "postgresql":
        return float(s.scalar(select(func.extract("epoch", func.clock_timestamp()))))
    return time.time()


def claim(db: Database, worker: str, lease_s: float) -> Claim | None:
    """Claim the oldest queued run, or None."""
    with db.write() as s:
        q = select(Run).where(Run.status == "queued").order_by(Run.id).limit(1)
        if db.dialect == "postgresql":
            q = q.with_for_update(skip_locked=True)
        run = s.scalars(q).first()
        if run is None:
            return None
        token = uuid.uuid4().hex
        run.status, run.claim, run.attempts = "running", token, run.attempts + 1
        run.lease_expires = db_now(s) + lease_s
        run.started_at = run.started_at or utcnow()
        run.message = f"claimed by {worker} (attempt {run.attempts})"
        s.add(RunMessage(run_id=run.id, attempt=run.attempts, at=utcnow(), progress=run.progress, message=run.message))
        audit.record(s, f"worker {worker}", "claim", "run", run.id, before={"status": "queued"},
                     after={"status": "running", "attempt": run.attempts})
        return Claim(run.id, token, run.attempts, run.kind, dict(run.params), dict(run.inputs))


def _mine(c: Claim):
    return (Run.id == c.run_id, Run.claim == c.token, Run.status == "running")


def heartbeat(db: Database, c: Claim, lease_s: float) -> str:
    """Extend the lease: "ok", "cancel" (someone asked to cancel) or "lost" (the run is no longer ours)."""
    with db.write() as s:
        n = s.execute(update(Run).where(*_mine(c)).values(lease_expires=db_now(s) + lease_s)).rowcount
        if n == 0:
            return "lost"
        return "cancel" if s.scalar(select(Run.cancel_requested).where(Run.id == c.run_id)) else "ok"


def progress(db: Database, c: Claim, fraction: float | None, message: str) -> bool:
    """Store progress as it goes (False: the run is no longer ours)."""
    with db.write() as s:
        values: dict[str, Any] = {"message": message[:2000]}
        if fraction is not None:
            values["progress"] = float(fraction)
        n = s.execute(update(Run).where(*_mine(c)).values(**values)).rowcount
        if n:
            s.add(RunMessage(run_id=c.run_id, attempt=c.attempt, at=utcnow(), progress=fraction,
                             message=message[:2000]))
        return n == 1


def finish(db: Database, c: Claim, status: str, *, result: dict | None = None, error: str | None = None,
           worker: str = "") -> bool:
    """Write the outcome of this attempt, if it still holds the run: the only way a run finishes."""
    assert status in FINISHED
    message = {"succeeded": "done", "failed": f"failed: {error}", "cancelled": "cancelled"}[status]
    with db.write() as s:
        values: dict[str, Any] = {"status": status, "result": result, "error": error, "finished_at": utcnow(),
                                  "claim": None, "lease_expires": None, "message": message[:2000]}
        if status == "succeeded":
            values["progress"] = 1.0
        n = s.execute(update(Run).where(*_mine(c)).values(**values)).rowcount
        if n:
            s.add(RunMessage(run_id=c.run_id, attempt=c.attempt, at=utcnow(), progress=values.get("progress"),
                             message=message[:2000]))
            audit.record(s, f"worker {worker}", "finish", "run", c.run_id, before={"status": "running"},
                         after={"status": status, "attempt": c.attempt, "error": error})
        return n == 1


def release(db: Database, c: Claim, worker: str = "") -> bool:
    """Give a claimed run back to the queue at once (a worker stopping cleanly)."""
    with db.write() as s:
        msg = f"requeued: {worker} stopped during attempt {c.attempt}"
        n = s.execute(update(Run).where(*_mine(c)).values(status="queued", claim=None, lease_expires=None,
                                                           message=msg)).rowcount
        if n:
            s.add(RunMessage(run_id=c.run_id, attempt=c.attempt, at=utcnow(), progress=None, message=msg))
            audit.record(s, f"worker {worker}", "release", "run", c.run_id, before={"status": "running"},
                         after={"status": "queued", "attempt": c.attempt})
        return n == 1


def reap(db: Database) -> list[tuple[int, str]]:
    """Runs whose lease expired: back to the queue, cancelled (if asked) or failed after max_attempts."""
    out = []
    with db.write() as s:
        now = db_now(s)
        q = select(Run).where(Run.status == "running", Run.lease_expires < now).order_by(Run.id)
        if db.dialect == "postgresql":
            q = q.with_for_update(skip_locked=True)
        for run in s.scalars(q):
            if run.cancel_requested:
                run.status, msg = "cancelled", "cancelled (its worker was lost)"
            elif run.attempts >= run.max_attempts:
                run.status = "failed"
                run.error = msg = f"its worker was lost {run.attempts} times (lease expired); giving up"
            else:
                run.status, msg = "queued", f"requeued: the worker of attempt {run.attempts} was lost (lease expired)"
            run.claim, run.lease_expires, run.message = None, None, msg
            if run.status in FINISHED:
                run.finished_at = utcnow()
            s.add(RunMessage(run_id=run.id, attempt=run.attempts, at=utcnow(), progress=run.progress, message=msg))
            audit.record(s, "reaper", "reap", "run", run.id, before={"status": "running"},
                         after={"status": run.status, "attempt": run.attempts})
            out.append((run.id, run.status))
    return out


def queue_depth(db: Database) -> dict[str, int]:
    """Runs per status (the metrics' job queue depth)."""
    with db.read() as s:
        rows = s.execute(select(Run.status, func.count()).group_by(Run.status)).all()
    return {status: int(n) for status, n in rows}
