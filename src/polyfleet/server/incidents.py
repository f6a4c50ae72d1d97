"""Incidents: a tier is short of demand. One opens when a placement leaves a tier short, stays open
(its share updated, its worst kept) while versions leave it short, and closes with the first
version that serves the tier whole. "Short" is the placement's own test (`Placement.shortfalls`).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..place import Placement
from .db.tables import Incident
from .fleet import utcnow


def short_tiers(pl: Placement | None) -> dict[str, dict]:
    """tier -> {share, tokens_per_s, services} for every tier the placement leaves short."""
    if pl is None:
        return {}
    out: dict[str, dict] = defaultdict(lambda: {"tokens_per_s": 0.0, "services": []})
    for f in pl.shortfalls():
        t = out[f.tier]
        t["tokens_per_s"] += f.tokens_per_s
        t["services"].append({"service": f.service, "unserved_tokens_per_s": f.tokens_per_s,
                              "unserved_share": f.share})
    demand = pl.demand.tokens_per_s.sum(axis=0)
    for tier, t in out.items():
        t["share"] = t["tokens_per_s"] / float(demand[pl.tiers.index(tier)])
    return dict(out)


def update_incidents(s: Session, version: int, trigger: str, short: dict[str, dict],
                     customers: dict[str, int | None]) -> tuple[list[int], list[int]]:
    """Open, update and close incidents for placement `version`; returns (opened ids, closed ids)."""
    now = utcnow()
    open_rows = {i.tier: i for i in s.scalars(select(Incident).where(Incident.closed_at.is_(None)))}
    opened, closed = [], []
    for tier, t in short.items():
        inc = open_rows.get(tier)
        if inc is None:
            inc = Incident(tier=tier, tenants=[{"tenant": tier, "customers": customers[tier]}]
                           if tier in customers else [], opened_at=now, opened_by_placement=version,
                           opened_by=trigger[:200], unserved_share=t["share"], worst_unserved_share=t["share"],
                           unserved_tokens_per_s=t["tokens_per_s"], services=t["services"])
            s.add(inc)
            s.flush()
            opened.append(inc.id)
        else:
            inc.unserved_share = t["share"]
            inc.worst_unserved_share = max(inc.worst_unserved_share, t["share"])
            inc.unserved_tokens_per_s = t["tokens_per_s"]
            inc.services = t["services"]
    for tier, inc in open_rows.items():
        if tier not in short:
            inc.closed_at, inc.closed_by_placement = now, version
            inc.unserved_share, inc.unserved_tokens_per_s = 0.0, 0.0
            closed.append(inc.id)
    return opened, closed
