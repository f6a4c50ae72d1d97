"""Failure sets (contingencies) and CVaR cases from a scenario's risk policy."""

from __future__ import annotations

import numpy as np

from ..scenario import FailureSpec, Scenario, selector_mask
from ..scenario.resolve import OfferingFacts
from .inputs import Contingency, CvarCase


def _from_spec(spec: FailureSpec, facts: OfferingFacts, catalog, ident: str) -> Contingency:
    mask = selector_mask(spec, facts, catalog)
    if spec.new_supply_months:
        return Contingency(id=ident, label=f"no new supply for {spec.new_supply_months} months: {spec.describe()}",
                           kind="supply", keep=np.ones(len(facts)), delayed=mask, delay=spec.new_supply_months)
    keep = np.where(mask, spec.keep, 1.0)
    what = f"loss of {spec.describe()}" if spec.keep == 0 else f"{1 - spec.keep:.0%} loss of {spec.describe()}"
    return Contingency(id=ident, label=what, kind="explicit", keep=keep, delayed=np.zeros(len(facts), bool))


def _signature(c: Contingency) -> tuple:
    return (c.keep.round(9).tobytes(), c.delayed.tobytes(), c.delay)


def contingencies(scn: Scenario, facts: OfferingFacts) -> tuple[list[Contingency], list[str]]:
    """Explicit failure sets, then the auto ones (per provider, vendor, vendor supply, region), de-duplicated."""
    cat = scn.context().catalog
    risk = scn.risk
    out: list[Contingency] = []
    notes: list[str] = []
    seen: dict[tuple, str] = {}

    def add(c: Contingency) -> None:
        if not c.affected.any():
            notes.append(f"failure set {c.id} affects no offering the plan may use; skipped")
            return
        if c.affected.all() and c.delay == 0 and (c.keep == 0).all():
            notes.append(f"failure set {c.id} takes out every offering: nothing can survive it; skipped")
            return
        sig = _signature(c)
        if sig in seen:
            return
        seen[sig] = c.id
        out.append(c)

    for i, spec in enumerate(risk.failures):
        add(_from_spec(spec, facts, cat, spec.id or f"failure-{i + 1}"))
    n = len(facts)
    for kind in risk.auto_failures:
        if kind == "provider":
            for p in sorted(set(facts.provider)):
                mask = np.array([x == p for x in facts.provider])
                add(Contingency(f"provider:{p}", f"loss of provider {p}", "provider", np.where(mask, 0.0, 1.0),
                                np.zeros(n, bool)))
        elif kind == "vendor":
            for v in sorted(set(facts.vendor)):
                mask = np.array([x == v for x in facts.vendor])
                add(Contingency(f"vendor:{v}", f"loss of every {v} chip", "vendor", np.where(mask, 0.0, 1.0),
                                np.zeros(n, bool)))
        elif kind == "vendor_supply":
            k = risk.vendor_supply_months
            for v in sorted(set(facts.vendor)):
                mask = np.array([x == v for x in facts.vendor])
                add(Contingency(f"supply:{v}", f"{v} delivers nothing new for {k} months", "supply", np.ones(n),
                                mask, k))
        elif kind == "region":
            for r in sorted(set(facts.region)):
                mask = np.array([x == r for x in facts.region])
                add(Contingency(f"region:{r}", f"loss of region {r}", "region", np.where(mask, 0.0, 1.0),
                                np.zeros(n, bool)))
    return out, notes


def cvar_cases(scn: Scenario, facts: OfferingFacts, named: list[Contingency]) -> list[CvarCase]:
    """Each explicit scenario as one combined contingency (keeps multiply, delays take the longest)."""
    cat = scn.context().catalog
    by_id = {spec.id: _from_spec(spec, facts, cat, spec.id) for spec in scn.risk.failures if spec.id}
    out = []
    n = len(facts)
    for s in scn.risk.scenarios:
        keep, delayed, delay = np.ones(n), np.zeros(n, bool), 0
        labels = []
        for j, f in enumerate(s.failures):
            c = by_id[f] if isinstance(f, str) else _from_spec(f, facts, cat, f"{s.id}-{j + 1}")
            keep = keep * c.keep
            delayed = delayed | c.delayed
            delay = max(delay, c.delay)
            labels.append(c.label)
        out.append(CvarCase(s.id, s.probability, Contingency(s.id, "; ".join(labels) or "nothing fails", "cvar",
                                                             keep, delayed, delay)))
    return out
