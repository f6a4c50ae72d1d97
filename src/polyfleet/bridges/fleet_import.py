"""What an import of the running fleet produces: pools mapped onto catalog offerings, what could not be
mapped and why, and capacity that exists but is degraded (cordoned, NotReady, unhealthy devices).

Kubernetes nodes and SkyPilot clusters both end here: each source finds, per machine, the provider,
region, accelerator, chips and term; `collect` maps them onto catalog offerings and sums them into
pools. The result writes the scenario's `fleet:` section (whole units of each offering; chips that do
not fill a unit, and degraded chips, are reported rather than rounded into the fleet).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..catalog import Catalog


@dataclass(frozen=True)
class Machine:
    """One node or cluster as the source sees it. `healthy_chips` can be scheduled now;
    `degraded_chips` exist but cannot (cordoned, NotReady, devices the plugin marks unhealthy)."""

    name: str
    provider: str
    region: str
    accelerator: str
    healthy_chips: int
    degraded_chips: int = 0
    term: str = "on_demand"
    instance: str | None = None
    degraded_reason: str | None = None


@dataclass(frozen=True)
class Unmapped:
    """Something seen that is not in the fleet section, and why."""

    name: str
    reason: str
    chips: int | None = None


@dataclass(frozen=True)
class PoolImport:
    """Chips of one offering bought on one term, summed over the machines that hold it."""

    offering: str
    term: str
    unit_chips: int
    machines: int
    healthy_chips: int
    degraded_chips: int
    degraded: tuple[str, ...] = ()     # "name: reason" per degraded machine

    @property
    def units(self) -> int:
        """Whole units of the offering the healthy chips fill."""
        return self.healthy_chips // self.unit_chips

    @property
    def leftover_chips(self) -> int:
        return self.healthy_chips - self.units * self.unit_chips

    def row(self) -> dict:
        return {"offering": self.offering, "term": self.term, "machines": self.machines, "units": self.units,
                "unit_chips": self.unit_chips, "healthy_chips": self.healthy_chips,
                "degraded_chips": self.degraded_chips, "leftover_chips": self.leftover_chips}


@dataclass(frozen=True)
class FleetImport:
    """The fleet as read from one source."""

    source: str
    kind: str                                # "kubernetes" | "skypilot"
    pools: tuple[PoolImport, ...]
    unmapped: tuple[Unmapped, ...]
    without_accelerators: int = 0
    notes: tuple[str, ...] = field(default=())

    def fleet_section(self) -> list[dict]:
        """The scenario `fleet:` entries (FleetEntry fields), pools with at least one whole unit."""
        return [{"offering": p.offering, "units": p.units, "term": p.term} for p in self.pools if p.units > 0]

    def problems(self) -> list[Unmapped]:
        """Everything left out of the fleet section: unmapped machines, partial units, empty pools."""
        out = list(self.unmapped)
        for p in self.pools:
            if p.leftover_chips:
                out.append(Unmapped(p.offering, f"{p.leftover_chips} healthy chips do not fill a whole unit of "
                                                f"{p.unit_chips} (left out)", p.leftover_chips))
        return out

    def document(self) -> dict:
        """Everything, as plain data for --format json."""
        return {"source": self.source, "kind": self.kind, "fleet": self.fleet_section(),
                "pools": [p.row() | {"degraded": list(p.degraded)} for p in self.pools],
                "not_mapped": [u.__dict__ for u in self.problems()],
                "without_accelerators": self.without_accelerators, "notes": list(self.notes)}

    def to_yaml(self, today: dt.date | None = None) -> str:
        """A scenario fragment: the `fleet:` section, headed by comments saying what was left out."""
        lines = [f"# polyfleet import {self.kind} {self.source} ({(today or dt.date.today()).isoformat()})",
                 f"# {len(self.pools)} pools; {self.without_accelerators} machines without accelerators skipped"]
        lines += [f"# note: {n}" for n in self.notes]
        degraded = [p for p in self.pools if p.degraded_chips]
        if degraded:
            lines.append("# degraded capacity (not counted in units):")
            lines += [f"#   {p.offering}: {p.degraded_chips} chips ({'; '.join(p.degraded)})" for p in degraded]
        problems = self.problems()
        if problems:
            lines.append("# not mapped:")
            lines += [f"#   {u.name}: {u.reason}" for u in problems]
        body = yaml.safe_dump({"fleet": self.fleet_section()}, sort_keys=False, default_flow_style=None)
        return "\n".join(lines) + "\n" + body


def match_offering(catalog: Catalog, provider: str, region: str, accelerator: str,
                   instance: str | None = None) -> tuple[str | None, str]:
    """The catalog offering for these facts, or None and the reason. An exact instance match wins;
    otherwise the accelerator must be offered by exactly one offering of that provider and region."""
    if instance:
        exact = f"{provider}/{instance}/{region}"
        if exact in catalog.offerings and catalog.offerings[exact].accelerator == accelerator:
            return exact, ""
    cands = sorted(o.id for o in catalog.offerings.values()
                   if o.provider == provider and o.region == region and o.accelerator == accelerator)
    if len(cands) == 1:
        return cands[0], ""
    if not cands:
        where = sorted({o.region for o in catalog.offerings.values()
                        if o.provider == provider and o.accelerator == accelerator})
        hint = f" (the catalog has it in {', '.join(where)})" if where else ""
        return None, (f"no catalog offering of {accelerator} from {provider} in {region}{hint}; "
                      "add one with --catalog")
    return None, f"{len(cands)} catalog offerings match ({', '.join(cands)}) and the instance type does not decide"


def collect(machines: Iterable[Machine], catalog: Catalog, *, source: str, kind: str,
            unmapped: Iterable[Unmapped] = (), without_accelerators: int = 0,
            notes: Iterable[str] = ()) -> FleetImport:
    """Map machines onto offerings and sum them into pools (one per offering and term)."""
    lost = list(unmapped)
    sums: dict[tuple[str, str], dict] = {}
    for m in machines:
        off, why = match_offering(catalog, m.provider, m.region, m.accelerator, m.instance)
        if off is None:
            lost.append(Unmapped(m.name, why, m.healthy_chips + m.degraded_chips))
            continue
        s = sums.setdefault((off, m.term), {"machines": 0, "healthy": 0, "degraded": 0, "why": []})
        s["machines"] += 1
        s["healthy"] += m.healthy_chips
        s["degraded"] += m.degraded_chips
        if m.degraded_chips:
            s["why"].append(f"{m.name}: {m.degraded_reason or 'degraded'}")
    pools = tuple(PoolImport(off, term, catalog.offerings[off].unit_chips, s["machines"], s["healthy"],
                             s["degraded"], tuple(s["why"])) for (off, term), s in sorted(sums.items()))
    return FleetImport(source, kind, pools, tuple(lost), without_accelerators, tuple(notes))


def merge_fleet(scenario: Path, fleet: FleetImport) -> str:
    """The scenario file's text with its top-level `fleet:` section replaced by the import (or appended),
    every other line kept as written; checked as a scenario before it is returned."""
    from ..datafile import DataFile
    from ..scenario import scenario_from_doc
    DataFile.read(scenario)                     # a missing or unreadable file is the user's error, named
    text = scenario.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if re.match(r"fleet\s*:", ln)), None)
    block = fleet.to_yaml()
    if start is None:
        new = text + ("" if text.endswith("\n") else "\n") + "\n" + block
    else:
        end = next((i for i in range(start + 1, len(lines))
                    if lines[i].strip() and not lines[i][0].isspace() and not lines[i].startswith(("#", "-"))),
                   len(lines))
        new = "".join(lines[:start]) + block + "".join(lines[end:])
    scenario_from_doc(DataFile(new, f"{scenario} with the imported fleet"), scenario.resolve().parent)
    return new
