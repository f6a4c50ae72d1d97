"""Runs as the API sees them: start one (stored with the exact scenario text it will use), cancel,
delete, and follow its progress (server-sent events replaying the stored messages).

A run on the live fleet stores the scenario text with its `fleet:` section replaced by the pools
held now, so `polyfleet plan` on that text reproduces the run.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..datafile import Loader
from . import audit
from .auth import Principal
from .db.engine import Database
from .db.tables import FINISHED, FleetState, Pool, Run, RunMessage, ScenarioVersion
from .fleet import utcnow
from .problems import ApiError, not_found
from .scenarios import get_version


def _live_fleet(s: Session) -> list[dict]:
    out = []
    for p in s.scalars(select(Pool).order_by(Pool.id)):
        if p.units > 0:
            e = {"offering": p.offering, "units": p.units, "term": p.term}
            if p.months_left is not None:
                e["months_left"] = p.months_left
            if p.usd_per_chip_hour is not None:
                e["usd_per_chip_hour"] = p.usd_per_chip_hour
            out.append(e)
    return out


def _pick_version(s: Session, scenario: str | None, version: int | None) -> ScenarioVersion:
    state = s.get(FleetState, 1)
    active = s.get(ScenarioVersion, state.scenario_version_id) if state.scenario_version_id else None
    if scenario is None:
        if active is None:
            raise ApiError(409, "no scenario is active; name one", field="scenario")
        return active if version is None else get_version(s, active.name, version)
    if version is None and active is not None and active.name == scenario:
        return active
    return get_version(s, scenario, version)


def create(db: Database, who: Principal, body, rid: str | None) -> Run:
    params = body.model_dump(exclude={"kind", "scenario", "version", "fleet"})
    with db.write() as s:
        v = _pick_version(s, body.scenario, body.version)
        text, fleet = v.yaml, None
        if body.fleet == "live":
            state = s.get(FleetState, 1)
            if state.scenario_version_id is None:
                raise ApiError(409, "there is no live fleet yet (no scenario is active); use fleet: scenario",
                               field="fleet")
            doc = yaml.load(v.yaml, Loader=Loader)
            doc["fleet"] = fleet = _live_fleet(s)
            text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
        inputs = {"scenario_name": f"{v.name} v{v.version}" + (" (live fleet)" if fleet is not None else ""),
                  "yaml": text, "fleet": body.fleet}
        sha = hashlib.sha256((text + json.dumps({"kind": body.kind, **params}, sort_keys=True)).encode()).hexdigest()
        run = Run(kind=body.kind, scenario_version_id=v.id, params=params, inputs=inputs, inputs_sha256=sha,
                  status="queued", progress=0.0, message="queued", attempts=0, max_attempts=3,
                  cancel_requested=False, created_by=who.name, created_at=utcnow())
        s.add(run)
        s.flush()
        s.add(RunMessage(run_id=run.id, attempt=0, at=utcnow(), progress=0.0, message="queued"))
        audit.record(s, who, "create", "run", run.id, after={"kind": body.kind, "scenario": f"{v.name} v{v.version}",
                                                              "params": params, "fleet": body.fleet}, request_id=rid)
    return run


def cancel(db: Database, who: Principal, run_id: int, rid: str | None) -> Run:
    """A queued run is cancelled at once; a running one when its worker next heartbeats."""
    with db.write() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise not_found("run", run_id)
        if run.status in FINISHED:
            raise ApiError(409, f"run {run_id} has already {run.status}")
        before = {"status": run.status, "cancel_requested": run.cancel_requested}
        run.cancel_requested = True
        if run.status == "queued":
            run.status, run.finished_at, run.message = "cancelled", utcnow(), f"cancelled by {who.name}"
        else:
            run.message = f"cancel requested by {who.name}"
        s.add(RunMessage(run_id=run.id, attempt=run.attempts, at=utcnow(), progress=run.progress, message=run.message))
        audit.record(s, who, "cancel", "run", run_id, before=before,
                     after={"status": run.status, "cancel_requested": True}, request_id=rid)
    return run


def delete(db: Database, who: Principal, run_id: int, rid: str | None) -> None:
    with db.write() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise not_found("run", run_id)
        if run.status not in FINISHED:
            raise ApiError(409, f"run {run_id} is {run.status}; cancel it first")
        audit.record(s, who, "delete", "run", run_id, before=run_doc(run), request_id=rid)
        s.delete(run)


def run_doc(run: Run, with_result: bool = False, names: dict[int, tuple[str, int]] | None = None) -> dict:
    name, version = (names or {}).get(run.scenario_version_id, ("?", 0))
    doc = {"id": run.id, "kind": run.kind, "scenario": name, "scenario_version": version, "params": run.params,
           "inputs_sha256": run.inputs_sha256, "status": run.status, "progress": run.progress, "message": run.message,
           "attempts": run.attempts, "cancel_requested": run.cancel_requested, "error": run.error,
           "created_by": run.created_by, "created_at": run.created_at, "started_at": run.started_at,
           "finished_at": run.finished_at}
    if with_result:
        doc["result"] = run.result
    return doc


def version_names(s: Session, ids) -> dict[int, tuple[str, int]]:
    rows = s.execute(select(ScenarioVersion.id, ScenarioVersion.name, ScenarioVersion.version)
                     .where(ScenarioVersion.id.in_(set(ids)))).all()
    return {r.id: (r.name, r.version) for r in rows}


def stream(db: Database, run_id: int, last_id: int = 0, max_s: float = 25.0, poll_s: float = 0.5) -> Iterator[str]:
    """Server-sent events: each stored message once (`id:` for Last-Event-ID), then `end` when the run
    is over. Closes after `max_s` so a client reconnects (EventSource does, from the last id)."""
    t0 = beat = time.monotonic()
    yield "retry: 1000\n\n"
    while True:
        with db.read() as s:
            msgs = s.scalars(select(RunMessage).where(RunMessage.run_id == run_id, RunMessage.id > last_id)
                             .order_by(RunMessage.id)).all()
            run = s.get(Run, run_id)
            status = run.status if run is not None else "deleted"
        for m in msgs:
            last_id = m.id
            data = {"attempt": m.attempt, "at": m.at.isoformat() + "Z", "progress": m.progress, "message": m.message}
            yield f"id: {m.id}\nevent: progress\ndata: {json.dumps(data)}\n\n"
        if status in FINISHED or status == "deleted":
            yield f"event: end\ndata: {json.dumps({'status': status})}\n\n"
            return
        if time.monotonic() - t0 >= max_s:
            return
        if time.monotonic() - beat >= 10.0:      # a comment now and then keeps proxies from closing the stream
            beat = time.monotonic()
            yield ": waiting\n\n"
        time.sleep(poll_s)
