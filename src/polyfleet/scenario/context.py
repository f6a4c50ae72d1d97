"""A scenario's perf context (catalog and models with its overrides) and the offerings it may plan with.

Reads a `Scenario` without importing its module (only for types), so `model.py` can use it at import
time without an import cycle.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..datafile import DataFile, field_path
from ..errors import UserError
from .resolve import OfferingFacts, selector_mask

if TYPE_CHECKING:
    from ..perf.estimate import Context
    from .model import Scenario


def _subdoc(scn: Scenario, key: str, data: dict) -> DataFile:
    """A DataFile view of one section of the scenario file, so catalog/model errors keep file:line."""
    parent = scn._doc
    node = None
    if parent is not None and parent.root_node is not None:
        node = next((v for k, v in parent.root_node.value if k.value == key), None) if key else parent.root_node
    return DataFile.of(data, scn.source_name, node, prefix=(key,) if key else ())


def build_context(scn: Scenario) -> Context:
    """Catalog (built-in, then `catalog.files`, then inline overrides) and models for this scenario.

    Inline overrides go through the same loaders as override files, as parsed documents whose
    errors point into the scenario file.
    """
    from ..catalog import load_catalog
    from ..perf.estimate import Context
    from ..workloads import load_models

    sources: list = [str(_resolve_path(scn, f, ("catalog", "files", i))) for i, f in
                     enumerate(scn.catalog.get("files") or [])]
    inline = {k: v for k, v in scn.catalog.items() if k != "files"}
    if inline:
        sources.append(_subdoc(scn, "catalog", inline))
    models: list = [str(_resolve_path(scn, f, ("model_files", i))) for i, f in enumerate(scn.model_files)]
    if scn.models:
        models.append(_subdoc(scn, "", {"models": list(scn.models)}))
    return Context(catalog=load_catalog(*sources), models=load_models(*models))


def _resolve_path(scn: Scenario, name: str, loc: tuple) -> Path:
    p = Path(name)
    p = p if p.is_absolute() else scn.base_dir / p
    if not p.is_file():
        raise UserError(f"{'is a directory' if p.is_dir() else 'file not found'}: {p}", where=scn.where(loc),
                        field=field_path(loc))
    return p


def select_offerings(scn: Scenario) -> tuple[list[str], list[str]]:
    """(offering ids the planner may use, notes on those left out for want of a price)."""
    cat = scn.context().catalog
    ids = list(cat.offerings)
    facts = OfferingFacts.of(cat, ids)
    mask = np.ones(len(ids), dtype=bool)
    if scn.offerings.include:
        mask[:] = False
        for sel in scn.offerings.include:
            mask |= selector_mask(sel, facts, cat)
    for sel in scn.offerings.exclude:
        mask &= ~selector_mask(sel, facts, cat)
    held = {f.offering for f in scn.fleet}
    keep, notes = [], []
    for i, oid in enumerate(ids):
        if not mask[i]:
            continue
        off = cat.offerings[oid]
        priced = off.on_demand.known or any(off.price(t).known for t in ("commit_1y", "commit_3y", "spot")
                                            if t in scn.money.terms)
        if priced or oid in held:
            keep.append(oid)
        else:
            notes.append(f"{oid} left out: no known price (give one in the scenario's catalog: section)")
    return keep, notes
