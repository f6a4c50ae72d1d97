"""The reconciler: after every change to the live fleet, re-place with `place/`'s failover policy
and store the new placement version, its moves and the incidents it opens or closes.

The decision is the library's, as `polyfleet place --lose` makes it: `place_fleet` over the pools'
chips now with the running replicas as `previous` and `rebalance=False`, which is the failover
`place.failover_from` (what still fits stays; only what it no longer serves is placed; a short
higher tier takes the chips of lower tiers). Nothing on a healthy pool moves but for a higher tier.
A new scenario version or month is placed again globally (`rebalance=True`: kept replicas cost
less than started ones), since its services and demand are new. The first placement is fresh.
Inputs that did not change (same scenario version, month, demand, chips and prices) store no new
version. Runs inside the caller's write transaction: the version, its moves and the incidents
commit together with the event or edit that caused them, or not at all.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..place import Demand, PlaceOptions, place_fleet
from ..place.fleet import FleetPlacement
from .db.tables import FleetState, Placement, PlacementMove, PlacementReplica, PlacementTier, Pool
from .fleet import by_offering, utcnow
from .incidents import short_tiers, update_incidents
from .live import LiveModel


@dataclass
class Outcome:
    """What a reconcile did: the placement version now current, whether it is new, incidents touched."""

    version: int | None
    changed: bool
    opened: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    seconds: float = 0.0


def latest_placement(s: Session) -> Placement | None:
    return s.scalars(select(Placement).order_by(Placement.version.desc()).limit(1)).first()


def replica_map(s: Session, version: int) -> dict[tuple[str, str], int]:
    rows = s.execute(select(PlacementReplica.service, PlacementReplica.pool, PlacementReplica.replicas)
                     .where(PlacementReplica.placement_version == version)).all()
    return {(r.service, r.pool): int(r.replicas) for r in rows}


def inputs_digest(state: FleetState, ids: list[str], chips: np.ndarray, price: np.ndarray | None) -> str:
    doc = {"scenario_version": state.scenario_version_id, "month": state.month,
           "factors": sorted((state.demand_factors or {}).items()), "pools": ids, "chips": chips.tolist(),
           "price": None if price is None else np.round(price, 9).tolist()}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def place_live(model: LiveModel, state: FleetState, pools: list[Pool],
               previous: dict[tuple[str, str], int] | None, rebalance: bool = False
               ) -> tuple[FleetPlacement, list[str], np.ndarray]:
    """The library's placement of the live fleet: month's demand (with recorded changes) on the pools'
    chips, from the replicas running (`previous`) by the failover's rule unless `rebalance`."""
    t = model.month_index(state.month)
    ids, chips, price = by_offering(pools, model)
    demand = (Demand(model.services, model.tiers, model.demand(t, state.demand_factors or {}))
              if model.services and model.tiers else None)
    fp = place_fleet(model.table, ids, chips, price=price, inference=demand, training=model.training,
                     training_demand=model.training_tokens_per_s[:, t], gang_chips=model.gang_chips,
                     previous=previous if demand is not None else None, rebalance=rebalance,
                     options=PlaceOptions())
    return fp, ids, chips


def reconcile(s: Session, model: LiveModel, trigger: str) -> Outcome:
    """Re-place the live fleet if its inputs changed; store the version, moves, tiers and incidents."""
    t0 = time.perf_counter()
    state = s.get(FleetState, 1)
    if state is None or state.scenario_version_id is None:
        return Outcome(None, False)
    pools = list(s.scalars(select(Pool).order_by(Pool.id)))
    latest = latest_placement(s)
    ids, chips, price = by_offering(pools, model)
    digest = inputs_digest(state, ids, chips, price)
    if latest is not None and latest.inputs_sha256 == digest:
        return Outcome(latest.version, False, seconds=time.perf_counter() - t0)
    previous = replica_map(s, latest.version) if latest is not None else None
    month = model.months[model.month_index(state.month)]
    rebalance = latest is not None and (latest.scenario_version_id, latest.month) != (state.scenario_version_id,
                                                                                    month)
    fp, ids, chips = place_live(model, state, pools, previous, rebalance)
    version = (latest.version if latest is not None else 0) + 1
    _store(s, model, state, fp, version, trigger, digest, dict(zip(ids, chips.tolist())))
    opened, closed = update_incidents(s, version, trigger, short_tiers(fp.inference), model.customers)
    seconds = time.perf_counter() - t0
    row = s.get(Placement, version)
    row.reconcile_s = seconds
    return Outcome(version, True, opened, closed, seconds)


def _store(s: Session, model: LiveModel, state: FleetState, fp: FleetPlacement, version: int, trigger: str,
           digest: str, chips: dict[str, float]) -> None:
    pl = fp.inference
    summary = pl.summary() if pl is not None else {"status": "no services", "method": "-", "gap": None,
                                                   "solve_s": 0.0, "usd_per_hour": 0.0, "start_usd": 0.0,
                                                   "served_share_by_tier": {}, "moves": 0}
    gap = summary["gap"]
    s.add(Placement(version=version, created_at=utcnow(), trigger=trigger[:200],
                    scenario_version_id=state.scenario_version_id, month=model.months[model.month_index(state.month)],
                    inputs_sha256=digest, status=summary["status"], method=summary["method"],
                    gap=None if gap is None or not np.isfinite(gap) else float(gap),
                    usd_per_hour=float(summary["usd_per_hour"]), start_usd=float(summary["start_usd"]),
                    replicas_moved=int(summary["moves"]), solve_s=float(summary["solve_s"]), reconcile_s=0.0,
                    chips=chips, served_share_by_tier={k: float(v) for k, v in summary["served_share_by_tier"].items()},
                    training=_training(fp, model.training_tokens_per_s[:, model.month_index(state.month)])))
    s.flush()
    if pl is None:
        return
    inst = pl.instance
    rows = []
    for i, p in zip(*np.nonzero(pl.replicas)):
        rows.append(PlacementReplica(placement_version=version, service=pl.services[i], pool=pl.pools[p],
                                     replicas=int(pl.replicas[i, p]), chips=int(pl.replicas[i, p] * inst.chips[i, p]),
                                     tokens_per_s=float(pl.capacity_tokens_per_s[i, p]),
                                     routing_weight=float(pl.routing[i, p])))
    d = pl.demand.tokens_per_s
    for i, k in zip(*np.nonzero(d > 0)):
        rows.append(PlacementTier(placement_version=version, service=pl.services[i], tier=pl.tiers[k],
                                  demand_tokens_per_s=float(d[i, k]),
                                  served_tokens_per_s=float(pl.served_tokens_per_s[i, k])))
    for m in pl.moves:
        rows.append(PlacementMove(placement_version=version, service=m.service, from_pool=m.from_pool,
                                  to_pool=m.to_pool, replicas=int(m.replicas), start_usd=float(m.start_usd),
                                  from_replicas=int(m.from_replicas), from_chips=int(m.from_chips),
                                  to_chips=int(m.to_chips)))
    s.add_all(rows)


def _training(fp: FleetPlacement, demand: np.ndarray) -> list[dict]:
    """Training on the chips inference left: tokens/s reached against needed, chips held per pool."""
    return [{"workload": w, "demand_tokens_per_s": float(demand[i]), "tokens_per_s": float(v),
             "chips": float(fp.training_chips[i].sum()),
             "pools": {p: float(c) for p, c in zip(fp.pools, fp.training_chips[i]) if c > 0.5}}
            for i, (w, v) in enumerate(zip(fp.training_workloads, fp.training_tokens_per_s))]
