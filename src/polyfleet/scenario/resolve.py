"""Names in a scenario resolved against the catalog: selectors -> offering masks, with close-match errors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..catalog import FAMILIES, Catalog
from ..datafile import field_path
from ..errors import UnknownNameError, UserError
from .sections import Selector


@dataclass(frozen=True)
class OfferingFacts:
    """The attributes selectors match on, one entry per offering (an axis the planner shares)."""

    ids: tuple[str, ...]
    accelerator: tuple[str, ...]
    vendor: tuple[str, ...]
    family: tuple[str, ...]
    provider: tuple[str, ...]
    region: tuple[str, ...]          # "provider/region"

    @classmethod
    def of(cls, catalog: Catalog, ids: Sequence[str]) -> "OfferingFacts":
        offs = [catalog.offerings[i] for i in ids]
        accs = [catalog.accelerators[o.accelerator] for o in offs]
        return cls(ids=tuple(ids), accelerator=tuple(o.accelerator for o in offs),
                   vendor=tuple(a.vendor for a in accs), family=tuple(a.family for a in accs),
                   provider=tuple(o.provider for o in offs), region=tuple(f"{o.provider}/{o.region}" for o in offs))

    def __len__(self) -> int:
        return len(self.ids)

    def values(self, field: str) -> tuple[str, ...]:
        return self.ids if field == "offering" else getattr(self, field)


def region_matches(name: str, region_key: str) -> bool:
    return name == region_key or ("/" not in name and region_key.split("/", 1)[1] == name)


def selector_mask(sel: Selector, facts: OfferingFacts, catalog: Catalog) -> np.ndarray:
    """Offerings matching every field of `sel` (names already checked)."""
    mask = np.ones(len(facts), dtype=bool)
    for field, names in sel.selector_items():
        vals = facts.values(field)
        if field == "accelerator":
            want = {catalog.accelerator_id(n) for n in names}
            hit = [v in want for v in vals]
        elif field == "region":
            hit = [any(region_matches(n, v) for n in names) for v in vals]
        elif field == "provider":
            want = {n.lower() for n in names}
            hit = [v in want for v in vals]
        else:
            hit = [v in set(names) for v in vals]
        mask &= np.asarray(hit, dtype=bool)
    return mask


def valid_names(field: str, catalog: Catalog) -> list[str]:
    if field == "offering":
        return list(catalog.offerings)
    if field == "accelerator":
        return [n for a in catalog.accelerators.values() for n in (a.id, *a.aliases)]
    if field == "vendor":
        return sorted({a.vendor for a in catalog.accelerators.values()})
    if field == "family":
        return list(FAMILIES)
    if field == "provider":
        return list(catalog.providers)
    if field == "region":
        return list(catalog.regions) + sorted({r.id for r in catalog.regions.values()})
    raise KeyError(field)


def check_name(field: str, name: str, catalog: Catalog, where: str, path: str | None = None) -> None:
    """Raise UnknownNameError (with close matches, naming file:line and the field `path`) when
    `name` is not a valid `field`."""
    valid = valid_names(field, catalog)
    ok = name.lower() in {v.lower() for v in valid} if field in ("accelerator", "provider") else name in valid
    if not ok:
        if field == "accelerator":
            aliases = {n: a.id for a in catalog.accelerators.values() for n in (a.id, *a.aliases)}
            raise UnknownNameError(field, name, aliases, where=where, field=path)
        raise UnknownNameError(field, name, valid, where=where, field=path)


def check_selector(sel: Selector, catalog: Catalog, where: Callable[[tuple], str], loc: tuple) -> None:
    for field, names in sel.selector_items():
        for i, name in enumerate(names):
            check_name(field, name, catalog, where(loc + (field,)), field_path(loc + (field,)))


def check_unique_ids(items: Sequence, what: str, where: Callable[[tuple], str], loc: tuple) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        ident = getattr(item, "id", None)
        if ident is None:
            continue
        if ident in seen:
            raise UserError(f"{what} id '{ident}' is used twice", where=where(loc + (i, "id")),
                            field=field_path(loc + (i, "id")))
        seen.add(ident)
