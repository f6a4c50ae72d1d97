"""What the reconciler places, read from one scenario version as `polyfleet place` reads it
(`bridges.placement.scenario_work`): its rate table, services and tiers, peak demand per month,
training and the offerings pools may hold. Built once per version and kept
(a version never changes), so an event costs a placement, not a rate table.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ..bridges.placement import scenario_work
from ..datafile import DataFile
from ..perf.ratetable import RateTable
from ..scenario import Scenario, scenario_from_doc

CACHE_SIZE = 8


@dataclass(frozen=True)
class OfferingInfo:
    """Where an offering's chips are and what they are (the pool columns the dashboard groups by)."""

    provider: str
    region: str
    accelerator: str
    family: str
    vendor: str
    unit_chips: int


@dataclass(frozen=True)
class LiveModel:
    """One scenario version, ready to place. Axes: S services, K tiers (highest first), T months,
    W training workloads."""

    scenario: Scenario
    table: RateTable
    months: tuple[str, ...]
    services: tuple[str, ...]
    tiers: tuple[str, ...]
    share: np.ndarray               # [S, K] share of each service's demand in each tier
    peak_tokens_per_s: np.ndarray   # [S, T] what capacity is sized for (monthly mean x peak_factor)
    training: tuple[str, ...]
    gang_chips: np.ndarray          # [W]
    training_tokens_per_s: np.ndarray  # [W, T]
    customers: dict[str, int | None]   # tier -> customers (None: not given), for tiers that are tenants
    offerings: dict[str, OfferingInfo]

    def month_index(self, month: str | None) -> int:
        return 0 if month is None else self.months.index(month)

    def demand(self, t: int, factors: dict[str, float]) -> np.ndarray:
        """[S, K] tokens/s to place in month t, each service's forecast times its recorded change."""
        f = np.array([float(factors.get(s, 1.0)) for s in self.services])
        return (self.peak_tokens_per_s[:, t] * f)[:, None] * self.share


def scenario_of(name: str, text: str) -> Scenario:
    """A stored scenario version's text as a validated Scenario (file names in errors: the version)."""
    return scenario_from_doc(DataFile(text, name))


def build_model(scn: Scenario) -> LiveModel:
    """Everything placement reads from a scenario, as `polyfleet place` reads it (bridges.placement)."""
    work = scenario_work(scn)
    table = work.table
    cat = scn.context().catalog
    offerings = {}
    for oid in table.offerings:
        off = cat.offerings[oid]
        acc = cat.accelerators[off.accelerator]
        offerings[oid] = OfferingInfo(off.provider, off.region, off.accelerator, acc.family, acc.vendor,
                                      int(off.unit_chips))
    customers = {t.id: scn.customers_now(i) for i, t in enumerate(scn.tenants)}
    return LiveModel(scenario=scn, table=table, months=scn.months, services=work.services, tiers=work.tiers,
                     share=work.share, peak_tokens_per_s=work.peak_tokens_per_s, training=work.training,
                     gang_chips=work.gang_chips, training_tokens_per_s=work.training_tokens_per_s,
                     customers={k: customers[k] for k in work.tiers if k in customers}, offerings=offerings)


class ModelCache:
    """Live models by the SHA-256 of their scenario text (a version's text never changes, so neither
    does its model; the same text uploaded under two names is built once)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._items: OrderedDict[str, LiveModel] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def for_version(self, db, version_id: int) -> LiveModel:
        """The model of a stored scenario version."""
        from .db.tables import ScenarioVersion
        with db.read() as s:
            row = s.get(ScenarioVersion, version_id)
            name, text, sha = f"{row.name} v{row.version}", row.yaml, row.sha256
        return self.get(sha, name, text)

    def get(self, sha256: str, name: str, text: str) -> LiveModel:
        with self._lock:
            if sha256 in self._items:
                self._items.move_to_end(sha256)
                return self._items[sha256]
        model = build_model(scenario_of(name, text))
        with self._lock:
            self._items[sha256] = model
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return model
