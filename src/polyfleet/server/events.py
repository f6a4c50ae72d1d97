"""Fleet events: what each kind does to the pools or the fleet's settings, and recording one once.

    outage_start   the target pools lose `lost_share` of their chips (1: down)
    outage_end     the target pools are whole again
    delivery_slip  `units` of a pool have not arrived: the pool holds that many fewer
    supply_cut     the target pools' vendor delivers no more (flagged; chips in hand stay)
    price_change   the target pools are billed `usd_per_chip_hour`
    demand_change  a service's forecast becomes `factor` x the scenario's (or `tokens_per_s`)

An event's id is the sender's. The same id with the same body again answers with the event as
recorded and changes nothing; the same id with another body is a conflict.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import UnknownNameError, UserError
from . import audit
from .auth import Principal
from .db.engine import Database
from .db.tables import Event, FleetState, Pool
from .fleet import pool_doc, utcnow
from .live import LiveModel, ModelCache
from .problems import ApiError
from .reconcile import Outcome, reconcile
from .schemas.events import DeliverySlip, DemandChange, Target


def match(pools: list[Pool], target: Target) -> list[Pool]:
    """Pools the target names (every given field must match); none is an error naming the target."""
    def ok(p: Pool) -> bool:
        if target.pool_ids is not None and p.id not in target.pool_ids:
            return False
        if target.region is not None and target.region not in (p.region, f"{p.provider}/{p.region}"):
            return False
        return all(getattr(target, k) is None or getattr(target, k) == getattr(p, k)
                   for k in ("offering", "provider", "accelerator", "family", "vendor"))
    hit = [p for p in pools if ok(p)]
    if not hit:
        raise UserError("matches no pool of the live fleet", field="target",
                        allowed=", ".join(f"{p.id}: {p.offering} ({p.term})" for p in pools[:20]) or "no pools yet")
    return hit


def _touch(p: Pool) -> None:
    p.version += 1
    p.updated_at = utcnow()


def apply_event(s: Session, model: LiveModel, state: FleetState, ev) -> tuple[list[Pool], str]:
    """Change the pools or the fleet settings as the event says; returns the pools touched and a note."""
    pools = list(s.scalars(select(Pool).order_by(Pool.id)))
    kind = ev.kind
    if kind == "demand_change":
        return [], _demand(model, state, ev)
    if kind == "delivery_slip":
        return _slip(s, ev)
    hit = match(pools, ev.target)
    for p in hit:
        if kind == "outage_start":
            p.lost_share = float(ev.lost_share)
            p.status = "down" if ev.lost_share >= 1.0 else "degraded"
            what = f"lost {ev.lost_share:.0%} of their chips"
        elif kind == "outage_end":
            p.lost_share, p.status = 0.0, "up"
            what = "back up"
        elif kind == "supply_cut":
            p.supply_cut = not ev.ended
            what = "supply cut ended" if ev.ended else "supply cut (chips in hand stay)"
        else:  # price_change
            p.usd_per_chip_hour = float(ev.usd_per_chip_hour)
            what = f"billed ${ev.usd_per_chip_hour:,.4g}/chip-h"
        _touch(p)
    return hit, f"{len(hit)} pool{'s' if len(hit) != 1 else ''}: {what}"


def _slip(s: Session, ev: DeliverySlip) -> tuple[list[Pool], str]:
    p = s.get(Pool, ev.pool_id)
    if p is None:
        raise UserError(f"no pool {ev.pool_id}", field="pool_id")
    if ev.units > p.units:
        raise UserError(f"pool {p.id} holds {p.units} units; {ev.units} cannot have slipped", field="units",
                        allowed=f"1 .. {p.units}")
    p.units -= ev.units
    p.source += f"; {ev.units} units slipped {ev.months} month{'s' if ev.months != 1 else ''} (event {ev.id})"
    _touch(p)
    return [p], f"pool {p.id}: {ev.units} units not delivered"


def _demand(model: LiveModel, state: FleetState, ev: DemandChange) -> str:
    if ev.service not in model.services:
        err = UnknownNameError("service", ev.service, model.services)
        err.field = "service"
        raise err
    factor = ev.factor
    if factor is None:
        t = model.month_index(state.month)
        mean = float(model.scenario.service_tokens_per_s()[model.services.index(ev.service), t])
        if mean <= 0:
            raise UserError(f"the scenario forecasts no demand for {ev.service} in {model.months[t]}; give a factor",
                            field="tokens_per_s")
        factor = ev.tokens_per_s / mean
    state.demand_factors = {**(state.demand_factors or {}), ev.service: float(factor)}
    state.version += 1
    state.updated_at = utcnow()
    return f"{ev.service} demand x{factor:.4g} of the forecast"


def record(db: Database, cache: ModelCache, who: Principal, ev, request_id: str | None
           ) -> tuple[Event, bool, Outcome | None]:
    """Record an event once and reconcile; (event row, replayed, what the reconcile did)."""
    body = ev.model_dump(mode="json")
    with db.read() as s:
        old = s.get(Event, ev.id)
        if old is not None:
            return _replay(old, body), True, None
        state = s.get(FleetState, 1)
        vid = state.scenario_version_id if state else None
    if vid is None:
        raise ApiError(409, "no scenario is active: activate one (POST /api/v1/fleet/activate) before events")
    model = cache.for_version(db, vid)
    with db.write() as s:
        db.fleet_lock(s)
        old = s.get(Event, ev.id)
        if old is not None:
            return _replay(old, body), True, None
        state = s.get(FleetState, 1)
        if state.scenario_version_id != vid:   # activated meanwhile: place with the new version
            model = cache.for_version(db, state.scenario_version_id)
        before_state = {"version": state.version, "demand_factors": dict(state.demand_factors or {})}
        befores = {p.id: pool_doc(p) for p in s.scalars(select(Pool))}
        hit, note = apply_event(s, model, state, ev)
        s.flush()
        outcome = reconcile(s, model, f"event {ev.id}")
        seq = (s.scalar(select(func.max(Event.seq))) or 0) + 1
        row = Event(id=ev.id, seq=seq, kind=ev.kind, body=body, received_at=utcnow(), received_by=who.name,
                    pools=[p.id for p in hit], placement_version=outcome.version,
                    outcome=note + (f"; placement v{outcome.version}" if outcome.changed else "; placement unchanged"))
        s.add(row)
        audit.record(s, who, "record", "event", ev.id, after=body, request_id=request_id)
        for p in hit:
            audit.record(s, who, "update", "pool", p.id, before=befores[p.id], after=pool_doc(p),
                         request_id=request_id)
        if ev.kind == "demand_change":
            audit.record(s, who, "update", "fleet", 1, before=before_state,
                         after={"version": state.version, "demand_factors": dict(state.demand_factors)},
                         request_id=request_id)
    return row, False, outcome


def _replay(old: Event, body: dict) -> Event:
    if old.body != body:
        raise ApiError(409, f"event id '{old.id}' was already used for a different event ({old.kind}); "
                            "use a new id", field="id")
    return old
