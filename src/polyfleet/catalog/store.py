"""The catalog: every accelerator, runtime, provider, region and offering, with lookups."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import UnknownNameError
from .model import Accelerator, Offering, Provider, Region, Runtime


def _norm(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(" ", "-")


@dataclass(frozen=True)
class Catalog:
    """All facts about chips and where to rent them. Built by `load_catalog()`."""

    accelerators: dict[str, Accelerator]
    runtimes: dict[str, Runtime]
    providers: dict[str, Provider]
    regions: dict[str, Region]          # keyed "provider/region"
    offerings: dict[str, Offering]
    sources: dict[str, str] = field(default_factory=dict)   # file each override came from
    default_stacks: dict[str, dict[str, str]] = field(default_factory=dict)  # use -> platform -> stack

    def __post_init__(self) -> None:
        names: dict[str, str] = {}
        for acc in self.accelerators.values():
            for n in (acc.id, *acc.aliases):
                names[_norm(n)] = acc.id
        object.__setattr__(self, "_names", names)
        rt_names = {_norm(n): rt.id for rt in self.runtimes.values() for n in (rt.id, *rt.aliases)}
        object.__setattr__(self, "_rt_names", rt_names)

    def accelerator(self, name: str) -> Accelerator:
        """Look up by id or alias (case-insensitive); unknown names suggest the closest."""
        key = self._names.get(_norm(name))  # type: ignore[attr-defined]
        if key is None:
            raise UnknownNameError("accelerator", name, self._names)  # type: ignore[attr-defined]
        return self.accelerators[key]

    def accelerator_id(self, name: str) -> str:
        return self.accelerator(name).id

    def offering(self, offering_id: str) -> Offering:
        off = self.offerings.get(offering_id)
        if off is None:
            raise UnknownNameError("offering", offering_id, self.offerings)
        return off

    def provider(self, name: str) -> Provider:
        prov = self.providers.get(_norm(name))
        if prov is None:
            raise UnknownNameError("provider", name, self.providers)
        return prov

    def runtime(self, name: str) -> Runtime:
        """A stack or framework by id or alias (case-insensitive)."""
        key = self._rt_names.get(_norm(name))  # type: ignore[attr-defined]
        if key is None:
            raise UnknownNameError("runtime", name, self._rt_names.keys())  # type: ignore[attr-defined]
        return self.runtimes[key]

    def has_runtime(self, name: str) -> bool:
        return _norm(name) in self._rt_names  # type: ignore[attr-defined]

    def stacks(self) -> list[Runtime]:
        return [rt for rt in self.runtimes.values() if rt.kind == "stack"]

    def default_stack(self, platform: str, use: str) -> str | None:
        """The platform's most common serving (inference) or training stack."""
        return self.default_stacks.get(use, {}).get(platform)

    def offerings_of(self, accelerator: str) -> list[Offering]:
        acc_id = self.accelerator_id(accelerator)
        return [o for o in self.offerings.values() if o.accelerator == acc_id]

    def runtimes_for(self, accelerator: str) -> list[str]:
        """Runtimes that run on this accelerator's platform and suit its uses."""
        acc = self.accelerator(accelerator)
        return [rt.id for rt in self.stacks()
                if acc.platform in rt.platforms and set(rt.uses) & set(acc.uses)]

    def filter(self, *, families: Iterable[str] | None = None,
               providers: Iterable[str] | None = None) -> "Catalog":
        """A catalog holding only the given families' chips and the given providers' offerings."""
        fams = {f.lower() for f in families} if families else None
        provs = {self.provider(p).id for p in providers} if providers else None
        accs = {k: a for k, a in self.accelerators.items() if fams is None or a.family in fams}
        offs = {k: o for k, o in self.offerings.items()
                if o.accelerator in accs and (provs is None or o.provider in provs)}
        return Catalog(accs, self.runtimes, self.providers, self.regions, offs, self.sources, self.default_stacks)
