"""Training clusters: the site sets a windowed training run may be assigned to, whole.

A cluster is one chip type at one provider, on one or a few of its regions (its sites), whose
scale-up and network domain carries a job of up to `max_chips` chips. A training run with a window
(`run:`) is planned on exactly one cluster at one constant chip count; `cluster:` on the run pins
it to one cluster or a list of allowed ones. Without a `clusters:` section, every (accelerator,
provider, region) the plan may use is one single-site cluster limited only by supply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field, field_validator

from ..datafile import field_path
from ..errors import UnknownNameError, UserError
from .resolve import check_name, check_unique_ids, region_matches
from .sections import MAX_CHIPS, Section, _names

if TYPE_CHECKING:
    from .model import Scenario
    from .resolve import OfferingFacts

DEFAULT_GOODPUT = 0.9
GOODPUT_WHY = ("share of a run's chip-hours that makes progress: failures, restarts and checkpoints take the "
               "rest (assumption)")


class ClusterSpec(Section):
    """One training cluster: `accelerator` chips of `provider` on its `region` sites (one or a list)."""

    id: str
    accelerator: str
    provider: str
    region: tuple[str, ...] = Field(description="its sites: region ids (or provider/region), one or a list")
    max_chips: int | None = Field(default=None, gt=0, le=MAX_CHIPS, description="the largest job its "
                                  "network domain carries (default: no limit beyond supply)")
    goodput: float | None = Field(default=None, gt=0, le=1, description="default goodput of runs on it "
                                  f"(default: the run's, else {DEFAULT_GOODPUT})")
    note: str = ""

    @field_validator("region", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> tuple[str, ...]:
        names = _names(v)
        if not names:
            raise ValueError("needs at least one region")
        return names

    def mask(self, facts: OfferingFacts, accelerator_id: str) -> np.ndarray:
        """[O] offerings that are sites of this cluster."""
        prov = self.provider.lower()
        return np.array([a == accelerator_id and p == prov and any(region_matches(r, reg) for r in self.region)
                         for a, p, reg in zip(facts.accelerator, facts.provider, facts.region)], dtype=bool)


def check_clusters(scn: Scenario) -> None:
    """Cluster names against the catalog, ids unique, sites disjoint, runs' pins against the ids."""
    cat = scn.context().catalog
    check_unique_ids(scn.clusters, "cluster", scn.where, ("clusters",))
    for i, c in enumerate(scn.clusters):
        for key in ("accelerator", "provider"):
            loc = ("clusters", i, key)
            check_name(key, getattr(c, key), cat, scn.where(loc), field_path(loc))
        for j, r in enumerate(c.region):
            loc = ("clusters", i, "region", j)
            check_name("region", r if "/" in r else f"{c.provider.lower()}/{r}", cat, scn.where(loc), field_path(loc))
    _check_disjoint(scn, cat)
    ids = [c.id for c in scn.clusters]
    for i, tr in enumerate(scn.workloads.training):
        loc = ("workloads", "training", i)
        if tr.cluster and tr.run is None:
            raise UserError("cluster applies to a run with a window (run:), not a steady flow",
                            where=scn.where(loc + ("cluster",)), field=field_path(loc + ("cluster",)))
        for j, name in enumerate(tr.cluster or ()):
            if name not in ids:
                raise UnknownNameError("cluster", name, ids or ["(define clusters: first)"],
                                       where=scn.where(loc + ("cluster", j)), field=field_path(loc + ("cluster", j)))


def _check_disjoint(scn: Scenario, cat) -> None:
    """Two clusters may not share an offering: each cluster's row counts its sites' chips once."""
    from .context import select_offerings
    from .resolve import OfferingFacts
    ids = select_offerings(scn)[0]
    if not ids or not scn.clusters:
        return
    facts = OfferingFacts.of(cat, ids)
    owner: dict[str, str] = {}
    for i, c in enumerate(scn.clusters):
        for o in np.flatnonzero(c.mask(facts, cat.accelerator_id(c.accelerator))):
            if facts.ids[o] in owner:
                loc = ("clusters", i, "region")
                raise UserError(f"offering {facts.ids[o]} is a site of clusters '{owner[facts.ids[o]]}' and "
                                f"'{c.id}'; give each site to one cluster", where=scn.where(loc),
                                field=field_path(loc))
            owner[facts.ids[o]] = c.id


__all__ = ["DEFAULT_GOODPUT", "ClusterSpec", "check_clusters"]
