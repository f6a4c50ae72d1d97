"""Edits of the live fleet by hand: pools created, changed or deleted, and the fleet's settings.

Every edit of an existing record names the version it was based on (`If-Match`, the ETag the
GET gave): two operators cannot silently overwrite each other; the second gets 412 and reads
again. Each edit is audited and reconciled in the same transaction.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import UnknownNameError, UserError
from . import audit
from .auth import Principal
from .db.engine import Database
from .db.tables import FleetState, Pool
from .fleet import new_pool, pool_doc, utcnow
from .live import LiveModel, ModelCache
from .problems import ApiError, not_found
from .reconcile import Outcome, reconcile
from .schemas.fleet import FleetPatch, PoolCreate, PoolPatch


def etag(version: int) -> str:
    return f'"{version}"'


def check_if_match(header: str | None, version: int, what: str) -> None:
    """428 without If-Match, 412 when it names another version of the record."""
    if header is None:
        raise ApiError(428, f"editing {what} needs If-Match with the ETag a GET gave (now {etag(version)})",
                       field="If-Match")
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    if "*" not in tags and etag(version) not in tags:
        raise ApiError(412, f"{what} changed since you read it (now {etag(version)}, you sent {header}); "
                            "read it again and repeat the edit", field="If-Match", headers={"ETag": etag(version)})


def _live(db: Database, cache: ModelCache) -> LiveModel:
    with db.read() as s:
        state = s.get(FleetState, 1)
        vid = state.scenario_version_id
    if vid is None:
        raise ApiError(409, "no scenario is active: activate one (POST /api/v1/fleet/activate) first")
    return cache.for_version(db, vid)


def _locked_model(db: Database, cache: ModelCache, s: Session, model: LiveModel) -> LiveModel:
    """The model of the version active now (it may have changed between reading and locking)."""
    db.fleet_lock(s)
    return cache.for_version(db, s.get(FleetState, 1).scenario_version_id)


def create_pool(db: Database, cache: ModelCache, who: Principal, body: PoolCreate, rid: str | None
                ) -> tuple[Pool, Outcome]:
    model = _live(db, cache)
    with db.write() as s:
        model = _locked_model(db, cache, s, model)
        if body.offering not in model.offerings:
            err = UnknownNameError("offering of the active scenario", body.offering, model.offerings)
            err.field = "offering"
            raise err
        if s.scalars(select(Pool).where(Pool.offering == body.offering, Pool.term == body.term)).first():
            raise ApiError(409, f"a pool of {body.offering} under {body.term} exists; edit it instead",
                           field="offering")
        p = new_pool(model, body.offering, body.units, body.term, months_left=body.months_left,
                     usd_per_chip_hour=body.usd_per_chip_hour, source=f"added by {who.name}")
        s.add(p)
        s.flush()
        audit.record(s, who, "create", "pool", p.id, after=pool_doc(p), request_id=rid)
        outcome = reconcile(s, model, f"pool {p.id} added")
    return p, outcome


def _status(p: Pool, body: PoolPatch) -> tuple[str, float]:
    """The status and lost share after a patch; they must agree (up: 0, down: 1, degraded: between)."""
    status, lost = body.status, body.lost_share
    if status is None and lost is None:
        return p.status, p.lost_share
    if status is None:
        status = "up" if lost == 0 else "down" if lost == 1 else "degraded"
    if lost is None:
        lost = {"up": 0.0, "down": 1.0}.get(status, p.lost_share)
    want = {"up": lost == 0, "down": lost == 1, "degraded": 0 < lost < 1}[status]
    if not want:
        raise UserError(f"status {status} does not go with lost_share {lost:g}", field="lost_share",
                        allowed="up: 0, down: 1, degraded: between 0 and 1")
    return status, float(lost)


def _pool_to_edit(s, pool_id: int, if_match: str | None) -> Pool:
    """The pool an edit names, 404 if there is none, 412 if the client read an older version."""
    p = s.get(Pool, pool_id)
    if p is None:
        raise not_found("pool", pool_id)
    check_if_match(if_match, p.version, f"pool {pool_id}")
    return p


def patch_pool(db: Database, cache: ModelCache, who: Principal, pool_id: int, body: PoolPatch,
               if_match: str | None, rid: str | None) -> tuple[Pool, Outcome]:
    model = _live(db, cache)
    with db.write() as s:
        model = _locked_model(db, cache, s, model)
        p = _pool_to_edit(s, pool_id, if_match)
        before = pool_doc(p)
        p.status, p.lost_share = _status(p, body)
        sent = body.model_dump(exclude_unset=True)
        for key in ("units", "months_left", "usd_per_chip_hour"):
            if key in sent:
                setattr(p, key, sent[key])
        p.version += 1
        p.updated_at = utcnow()
        s.flush()
        audit.record(s, who, "update", "pool", p.id, before=before, after=pool_doc(p), request_id=rid)
        outcome = reconcile(s, model, f"pool {p.id} edited by {who.name}")
    return p, outcome


def delete_pool(db: Database, cache: ModelCache, who: Principal, pool_id: int, if_match: str | None,
                rid: str | None) -> Outcome:
    model = _live(db, cache)
    with db.write() as s:
        model = _locked_model(db, cache, s, model)
        p = _pool_to_edit(s, pool_id, if_match)
        audit.record(s, who, "delete", "pool", p.id, before=pool_doc(p), request_id=rid)
        s.delete(p)
        s.flush()
        return reconcile(s, model, f"pool {pool_id} deleted by {who.name}")


def patch_fleet(db: Database, cache: ModelCache, who: Principal, body: FleetPatch, if_match: str | None,
                rid: str | None) -> Outcome:
    """Change the month placed or the demand factors (replacing the whole map when given)."""
    model = _live(db, cache)
    with db.write() as s:
        model = _locked_model(db, cache, s, model)
        state = s.get(FleetState, 1)
        check_if_match(if_match, state.version, "the fleet")
        before = {"month": state.month, "demand_factors": dict(state.demand_factors or {}), "version": state.version}
        sent = body.model_dump(exclude_unset=True)
        if "month" in sent:
            if body.month is not None and body.month not in model.months:
                raise UserError(f"{body.month} is outside the scenario's horizon", field="month",
                                allowed=f"{model.months[0]} .. {model.months[-1]}")
            state.month = body.month
        if "demand_factors" in sent:
            unknown = [k for k in (body.demand_factors or {}) if k not in model.services]
            if unknown:
                err = UnknownNameError("service", unknown[0], model.services)
                err.field = f"demand_factors.{unknown[0]}"
                raise err
            state.demand_factors = dict(body.demand_factors or {})
        state.version += 1
        state.updated_at = utcnow()
        s.flush()
        audit.record(s, who, "update", "fleet", 1, before=before, request_id=rid,
                     after={"month": state.month, "demand_factors": dict(state.demand_factors), "version": state.version})
        return reconcile(s, model, f"fleet settings edited by {who.name}")
