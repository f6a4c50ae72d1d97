"""The live fleet: pools seeded from a scenario's `fleet:` section, chips each can serve now, and
the fleet summed by family, provider and region.

A pool is units of one offering under one term. Chips available = units x chips per unit x
(1 - share lost), rounded down to whole chips: an outage takes a share (all of it when down).
Placement works per offering (a rate-table column), so pools of one offering under several
terms add up, as `polyfleet place` adds up a scenario's fleet entries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from ..bridges.placement import priced_chips
from .db.tables import Pool
from .live import LiveModel


def utcnow() -> datetime:
    """Naive UTC now (the database keeps no zone)."""
    return datetime.now(UTC).replace(tzinfo=None)


def pool_chips(units: int, unit_chips: int, lost_share: float) -> int:
    """Whole chips a pool can serve: what it holds less the share an outage took."""
    return math.floor(units * unit_chips * (1.0 - lost_share) + 1e-9)


def new_pool(model: LiveModel, offering: str, units: int, term: str, *, months_left: int | None = None,
             usd_per_chip_hour: float | None = None, source: str) -> Pool:
    info = model.offerings[offering]
    return Pool(offering=offering, term=term, provider=info.provider, region=info.region, accelerator=info.accelerator,
                family=info.family, vendor=info.vendor, unit_chips=info.unit_chips, units=units,
                months_left=months_left, usd_per_chip_hour=usd_per_chip_hour, status="up", lost_share=0.0,
                supply_cut=False, source=source, version=1, updated_at=utcnow())


def pools_from_scenario(model: LiveModel, label: str) -> list[Pool]:
    """One pool per (offering, term) of the scenario's `fleet:` entries; repeated entries add up."""
    out: dict[tuple[str, str], Pool] = {}
    for i, e in enumerate(model.scenario.fleet):
        key = (e.offering, e.term)
        if key in out:
            out[key].units += e.units
            out[key].source += f", fleet[{i}]"
            continue
        out[key] = new_pool(model, e.offering, e.units, e.term, months_left=e.months_left,
                            usd_per_chip_hour=e.usd_per_chip_hour, source=f"{label} fleet[{i}]")
    return list(out.values())


def pool_doc(p: Pool) -> dict:
    """A pool as plain data: the API's body and the audit log's before/after."""
    return {"id": p.id, "offering": p.offering, "term": p.term, "provider": p.provider, "region": p.region,
            "accelerator": p.accelerator, "family": p.family, "vendor": p.vendor, "unit_chips": p.unit_chips,
            "units": p.units, "chips": p.units * p.unit_chips,
            "chips_available": pool_chips(p.units, p.unit_chips, p.lost_share), "months_left": p.months_left,
            "usd_per_chip_hour": p.usd_per_chip_hour, "status": p.status, "lost_share": p.lost_share,
            "supply_cut": p.supply_cut, "source": p.source, "version": p.version}


def by_offering(pools: Sequence[Pool], model: LiveModel) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Offerings held (in pool order: a scenario's pools in its `fleet:` order, as `polyfleet place` reads
    it), chips available on each, and the USD per chip-hour placement charges: each pool at its own
    price, else the catalog's for its term, chip-weighted over an offering's pools (bridges.placement)."""
    return priced_chips(model.table, ((p.offering, p.term, float(pool_chips(p.units, p.unit_chips, p.lost_share)),
                                       p.usd_per_chip_hour) for p in pools))


def totals(pools: Sequence[Pool], dim: str) -> list[dict]:
    """Chips held and available per value of `dim` (family, provider, region, vendor), largest first."""
    rows: dict[str, dict] = {}
    for p in pools:
        key = f"{p.provider}/{p.region}" if dim == "region" else getattr(p, dim)
        r = rows.setdefault(key, {dim: key, "pools": 0, "chips": 0, "chips_available": 0, "pools_down": 0})
        r["pools"] += 1
        r["chips"] += p.units * p.unit_chips
        r["chips_available"] += pool_chips(p.units, p.unit_chips, p.lost_share)
        r["pools_down"] += p.status != "up"
    return sorted(rows.values(), key=lambda r: (-r["chips"], r[dim]))
