"""What `place` reports, as plain rows: the fleet now, and after losing pools the state after with
the state before beside it, the moves (replicas and chips on both sides) and who was evicted."""

from __future__ import annotations

import numpy as np


def _replica_rows(pl, before=None) -> list[dict]:
    rows = {}
    for s, p in zip(*np.nonzero(pl.replicas)):
        rows[(pl.services[s], pl.pools[p])] = {
            "service": pl.services[s], "pool": pl.pools[p], "replicas": int(pl.replicas[s, p]),
            "chips": int(pl.replicas[s, p] * pl.instance.chips[s, p]),
            "tokens_per_s": float(pl.capacity_tokens_per_s[s, p]), "routing_weight": float(pl.routing[s, p])}
    if before is not None:
        for row in rows.values():
            row.update(replicas_before=0, routing_weight_before=None)
        for s, p in zip(*np.nonzero(before.replicas)):
            key = (before.services[s], before.pools[p])
            row = rows.setdefault(key, {"service": key[0], "pool": key[1], "replicas": 0, "chips": 0,
                                        "tokens_per_s": 0.0, "routing_weight": None})
            row["replicas_before"] = int(before.replicas[s, p])
            row["routing_weight_before"] = float(before.routing[s, p])
    return sorted(rows.values(), key=lambda r: (pl.services.index(r["service"]), r["pool"]))


def _tier_rows(pl, before=None) -> list[dict]:
    rows = []
    d = pl.demand.tokens_per_s
    for s, svc in enumerate(pl.services):
        for k, tier in enumerate(pl.tiers):
            if d[s, k] <= 0:
                continue
            row = {"service": svc, "tier": tier, "demand_tokens_per_s": float(d[s, k]),
                   "served_tokens_per_s": float(pl.served_tokens_per_s[s, k]),
                   "served_share": float(pl.served_tokens_per_s[s, k] / d[s, k])}
            if before is not None:
                row["served_share_before"] = float(before.served_tokens_per_s[s, k] / d[s, k])
            rows.append(row)
    return rows


def _training_rows(fp, before=None) -> list[dict]:
    demand = fp.training_demand if fp.training_demand is not None else fp.training_tokens_per_s
    rows = []
    for i, w in enumerate(fp.training_workloads):
        row = {"workload": w, "demand_tokens_per_s": float(demand[i]),
               "tokens_per_s": float(fp.training_tokens_per_s[i]),
               "chips": float(fp.training_chips[i].sum()),
               "pools": {p: float(c) for p, c in zip(fp.pools, fp.training_chips[i]) if c > 0.5}}
        if before is not None:
            row["tokens_per_s_before"] = float(before.training_tokens_per_s[i])
            row["chips_before"] = float(before.training_chips[i].sum())
        rows.append(row)
    return rows


def _move_rows(moves, evicted) -> list[dict]:
    ev = {(m.service, m.from_pool, m.to_pool) for m in evicted}
    return [{"service": m.service, "from_pool": m.from_pool, "from_replicas": m.from_replicas,
             "from_chips": m.from_chips, "to_pool": m.to_pool, "to_replicas": m.replicas if m.to_pool else 0,
             "to_chips": m.to_chips, "start_usd": m.start_usd,
             "why": "evicted for a higher tier" if (m.service, m.from_pool, m.to_pool) in ev else
             ("its pool was lost" if m.from_pool is not None else "replaces lost capacity")} for m in moves]


def place_doc(scn, t: int, fp, after, lost, rebalance: bool = False) -> dict:
    """The JSON document of `place`: the state after a failover when there is one, before beside it."""
    from ..place import evictions
    now = after if after is not None else fp
    pl, before_pl = now.inference, (fp.inference if after is not None else None)
    out: dict = {"scenario": scn.name or scn.source_name, "month": scn.months[t],
                 "fleet_chips": {p: float(c) for p, c in zip(now.pools, now.chips)},
                 "idle_chips": float(now.idle_chips.sum())}
    if after is not None:
        out["fleet_chips_before"] = {p: float(c) for p, c in zip(fp.pools, fp.chips)}
        out["idle_chips_before"] = float(fp.idle_chips.sum())
    out["replicas"] = _replica_rows(pl, before_pl) if pl is not None else []
    out["tiers"] = _tier_rows(pl, before_pl) if pl is not None else []
    if pl is not None:
        out["placement"] = pl.summary()
        if before_pl is not None:
            out["placement_before"] = before_pl.summary()
    out["training"] = _training_rows(now, fp if after is not None else None)
    if after is not None:
        evicted = evictions(before_pl, pl, lost) if pl is not None else []
        moves = pl.moves if pl is not None else ()
        notes = []
        if evicted:
            notes.append(("with --rebalance, replicas on healthy pools moved: " if rebalance else
                          "lower tiers on healthy pools were evicted to make room for a higher tier that lost its "
                          "pool: ") + ", ".join(f"{m.service} on {m.from_pool} ({m.from_replicas} replicas)"
                                                for m in evicted))
        out["failover"] = {"lost": sorted(lost), "rebalance": rebalance, "moves": _move_rows(moves, evicted),
                           "start_usd": pl.start_usd if pl is not None else 0.0,
                           "replicas_moved": sum(m.from_replicas for m in moves if m.from_pool and m.to_pool),
                           "unserved": [s.__dict__ for s in pl.shortfalls()] if pl is not None else [],
                           "notes": notes}
    return out
