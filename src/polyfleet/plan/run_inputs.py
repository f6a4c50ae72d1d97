"""The scenario's training clusters, run pins, goodput and off-peak settings as `PlanInputs` fields.

Every default used is written down as an assumption, so the plan prints it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..catalog import Catalog
from ..scenario import OfferingFacts, Scenario
from ..scenario.clusters import DEFAULT_GOODPUT
from .inputs import Cluster, PlanInputs

DEFAULT_OFF_PEAK_GOODPUT = 0.8


def run_fields(scn: Scenario, facts: OfferingFacts, cat: Catalog, assumptions: list[str]) -> dict:
    """clusters, run_clusters, goodput, peak_factor, off_peak, off_peak_goodput for `PlanInputs`."""
    wls = scn.workloads.all()
    runs = [w for w in scn.workloads.training if w.run is not None]
    clusters = None
    if scn.clusters:
        clusters = tuple(Cluster(c.id, c.mask(facts, cat.accelerator_id(c.accelerator)),
                                 float(c.max_chips) if c.max_chips else np.inf, c.goodput, c.note)
                         for c in scn.clusters)
    elif runs:
        assumptions.append("no clusters given: each accelerator, provider and region is one single-site training "
                           "cluster, limited only by supply and power")
    goodput = np.array([getattr(w, "goodput", None) or np.nan for w in wls], dtype=float)
    unset = [w.id for w in runs if w.goodput is None and not any(c.goodput for c in scn.clusters)]
    if unset:
        assumptions.append(f"training goodput {DEFAULT_GOODPUT:.0%} for {', '.join(unset)}: failures, restarts "
                           "and checkpoints take the rest, so the plan holds that much headroom (assumption)")
    off_peak = np.array([bool(getattr(w, "off_peak", False)) for w in wls])
    opg = np.array([(getattr(w, "off_peak_goodput", None) or DEFAULT_OFF_PEAK_GOODPUT) for w in wls], dtype=float)
    if any(getattr(w, "off_peak", False) and w.off_peak_goodput is None for w in scn.workloads.training):
        assumptions.append(f"off-peak training goodput {DEFAULT_OFF_PEAK_GOODPUT:.0%}: preempted when the "
                           "services' daily peak returns (assumption)")
    return {"clusters": clusters, "run_clusters": tuple(getattr(w, "cluster", None) for w in wls),
            "goodput": goodput, "peak_factor": np.array([getattr(w, "peak_factor", 1.0) for w in wls], dtype=float),
            "off_peak": off_peak, "off_peak_goodput": opg}


def cluster_notes(inp: PlanInputs) -> PlanInputs:
    """The inputs with a note for each cluster whose sites run at different rates (split by pool)."""
    if not inp.windowed.any():
        return inp
    from .blocks import make_pools
    from .clusters import split_by_pool
    notes = split_by_pool(inp, make_pools(inp))[2]
    return replace(inp, notes=inp.notes + tuple(notes)) if notes else inp


__all__ = ["DEFAULT_OFF_PEAK_GOODPUT", "cluster_notes", "run_fields"]
