"""The lock-in metric: the share of demand that only one vendor can serve, and what porting would change.

A workload is servable by a vendor when some offering of that vendor has a rate > 0 in the plan's rate
table, which follows from the runtimes the workload declares (and from whether its model fits). Demand
is counted in tokens per month: services at the peak rate the plan serves, a training run with a window
spread evenly over its window. The capacity view is the share of the chips (and MW) the plan allocates
to workloads that no other vendor can serve: what could not move if that vendor failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..catalog import FAMILIES, Catalog
from ..perf.portability import lock_in_share
from .inputs import PlanInputs

FAMILY_PLATFORM = {"tpu": "tpu", "trainium": "neuron", "gpu": "cuda"}     # when the catalog does not say
RUNTIME_REASON = re.compile(r"runtime|does not run")                      # rate 0 because of software


@dataclass(frozen=True)
class PortOption:
    """What porting one single-vendor workload to another chip family would change."""

    workload: str
    vendor: str                     # the one vendor that serves it today
    family: str                     # the family it would be ported to
    vendors_added: tuple[str, ...]
    runtime: str | None             # the stack it would need there (the platform's default for its use)
    frameworks: tuple[str, ...]     # the frameworks that stack runs (what the code must be written in)
    share_after: float              # lock-in share over the horizon once ported
    porting_usd: float              # the scenario's one-time porting cost (0 = none given)

    def text(self, share_now: float) -> str:
        rt = f"needs runtime {self.runtime}" if self.runtime else "needs a runtime"
        fw = f" (code in {' or '.join(self.frameworks)})" if self.frameworks else ""
        return (f"port {self.workload} to {self.family} ({rt}{fw}): lock-in {share_now:.1%} -> "
                f"{self.share_after:.1%}")


@dataclass(frozen=True)
class CapacityLockIn:
    """Chips and MW allocated to single-vendor workloads, as a share of all allocated [T] and over the horizon."""

    chips_share: np.ndarray
    mw_share: np.ndarray
    chips_share_horizon: float
    mw_share_horizon: float | None  # None when a chip's power is unknown


@dataclass(frozen=True)
class LockIn:
    months: tuple[str, ...]
    workloads: tuple[str, ...]
    vendors: tuple[tuple[str, ...], ...]    # [W] vendors that can serve each workload
    tokens: np.ndarray                      # [W, T] tokens per month
    share: float                            # over the horizon
    by_month: np.ndarray                    # [T]
    by_vendor: dict[str, float]             # vendor -> share of horizon demand only it can serve
    porting: tuple[PortOption, ...] = ()
    capacity: CapacityLockIn | None = None

    @property
    def locked(self) -> np.ndarray:
        """[W] bool: at most one vendor can serve the workload."""
        return np.array([len(v) <= 1 for v in self.vendors], dtype=bool)

    def best_port(self) -> PortOption | None:
        return min(self.porting, key=lambda p: (p.share_after, p.porting_usd), default=None)

    def line(self) -> str:
        """One sentence in plain words."""
        if self.share <= 0:
            return "Lock-in: 0% - every workload can be served by more than one vendor."
        held = ", ".join(f"{v} {s:.1%}" for v, s in sorted(self.by_vendor.items(), key=lambda kv: -kv[1]))
        text = f"Lock-in: {self.share:.1%} of demand (tokens) only one vendor can serve ({held})"
        if self.capacity is not None:
            text += f"; {self.capacity.chips_share_horizon:.1%} of allocated chip-months could not move"
        best = self.best_port()
        return text + (f"; {best.text(self.share)}." if best is not None else ".")

    def to_dict(self) -> dict:
        doc = {"share": self.share, "by_month": dict(zip(self.months, self.by_month.tolist())),
               "by_vendor": self.by_vendor, "basis": "tokens; services at peak, windowed runs spread over "
               "their window; servable = some offering of the vendor has rate > 0",
               "workloads": [{"workload": w, "vendors": list(v), "locked": len(v) <= 1,
                              "tokens": float(self.tokens[i].sum())}
                             for i, (w, v) in enumerate(zip(self.workloads, self.vendors))],
               "porting": [{"workload": p.workload, "vendor": p.vendor, "family": p.family,
                            "vendors_added": list(p.vendors_added), "runtime": p.runtime,
                            "frameworks": list(p.frameworks), "share_after": p.share_after,
                            "porting_usd": p.porting_usd} for p in self.porting]}
        if self.capacity is not None:
            c = self.capacity
            doc["capacity"] = {"chips_share": c.chips_share_horizon, "mw_share": c.mw_share_horizon,
                               "chips_share_by_month": dict(zip(self.months, c.chips_share.tolist()))}
        return doc


def servable_vendors(inp: PlanInputs, rate: np.ndarray | None = None) -> list[tuple[str, ...]]:
    """[W] the vendors with some offering of rate > 0 for each workload (sorted)."""
    rate = inp.rate if rate is None else rate
    names = sorted(set(inp.facts.vendor))
    onehot = np.array([[v == n for n in names] for v in inp.facts.vendor], dtype=float).reshape(inp.O, len(names))
    has = ((rate > 0).astype(float) @ onehot) > 0                                   # [W, vendors]
    return [tuple(n for n, h in zip(names, row) if h) for row in has]


def demand_tokens(inp: PlanInputs) -> np.ndarray:
    """[W, T] tokens per month: fixed demand x hours; a windowed run's tokens spread over its window."""
    out = inp.demand * inp.hours
    win = inp.windowed
    if win.any():
        months = np.maximum(inp.window[win].sum(axis=1), 1)
        out[win] = inp.window[win] * (inp.window_tokens[win] * inp.hours / months)[:, None]
    return out


def lock_in(inp: PlanInputs, allocation: np.ndarray | None = None, catalog: Catalog | None = None) -> LockIn:
    """The lock-in metric of a plan's inputs; with `allocation` [W, O, T] also its capacity view."""
    vendors = servable_vendors(inp)
    tokens = demand_tokens(inp)
    sets = [set(v) for v in vendors]
    share = lock_in_share(sets, tokens.sum(axis=1))
    by_month = np.array([lock_in_share(sets, tokens[:, t]) for t in range(inp.T)])
    total = float(tokens.sum())
    by_vendor: dict[str, float] = {}
    for w, v in enumerate(vendors):
        if len(v) == 1 and total > 0:
            by_vendor[v[0]] = by_vendor.get(v[0], 0.0) + float(tokens[w].sum()) / total
    locked = np.array([len(v) <= 1 for v in vendors], dtype=bool)
    cap = capacity_lock_in(locked, allocation, inp.mw_per_chip) if allocation is not None else None
    return LockIn(inp.months, inp.workloads, tuple(vendors), tokens, share, by_month, by_vendor,
                  port_options(inp, vendors, tokens, catalog), cap)


def capacity_lock_in(locked: np.ndarray, allocation: np.ndarray, mw_per_chip: np.ndarray) -> CapacityLockIn:
    """Share of allocated chips (and MW) serving workloads that only one vendor can serve."""
    chips = allocation.sum(axis=1)                                                   # [W, T]
    mw = (allocation * mw_per_chip[None, :, None]).sum(axis=1)                      # NaN if any power unknown

    def ratio(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
        return np.divide(part, whole, out=np.zeros_like(whole, dtype=float), where=whole > 0)

    c_t, m_t = chips[locked].sum(axis=0), mw[locked].sum(axis=0)
    c_all, m_all = chips.sum(axis=0), mw.sum(axis=0)
    mw_known = bool(np.isfinite(m_all).all())
    return CapacityLockIn(ratio(c_t, c_all), ratio(m_t, m_all) if mw_known else np.full(len(c_all), np.nan),
                          float(ratio(c_t.sum(), c_all.sum())), float(ratio(m_t.sum(), m_all.sum()))
                          if mw_known else None)


def port_options(inp: PlanInputs, vendors: list[tuple[str, ...]], tokens: np.ndarray,
                 catalog: Catalog | None = None) -> tuple[PortOption, ...]:
    """For each single-vendor workload and each family it cannot run on for lack of a runtime: the
    vendors it would gain and the lock-in share once ported (assuming its model fits there)."""
    cat = catalog if catalog is not None else _builtin_catalog()
    sets = [set(v) for v in vendors]
    demand = tokens.sum(axis=1)
    out = []
    for w, v in enumerate(vendors):
        if len(v) != 1:
            continue
        blocked = (inp.rate[w] <= 0) & np.array([bool(RUNTIME_REASON.search(str(r))) for r in inp.reasons[w]])
        for fam in sorted({inp.facts.family[o] for o in np.flatnonzero(blocked)}):
            offs = [o for o in np.flatnonzero(blocked) if inp.facts.family[o] == fam]
            added = tuple(sorted({inp.facts.vendor[o] for o in offs} - set(v)))
            if not added:
                continue
            after = sets[:w] + [sets[w] | set(added)] + sets[w + 1:]
            runtime, frameworks = _runtime_needed(cat, inp.facts.accelerator[offs[0]], fam, inp.kinds[w])
            f_idx = _family_index(fam)
            out.append(PortOption(inp.workloads[w], v[0], fam, added, runtime, frameworks,
                                  lock_in_share(after, demand),
                                  float(inp.port_cost[w, f_idx]) if f_idx is not None else 0.0))
    return tuple(out)


def _runtime_needed(cat: Catalog | None, accelerator: str, family: str, use: str) -> tuple[str | None, tuple[str, ...]]:
    """The platform's default stack for this use, and the frameworks it runs."""
    if cat is None:
        return None, ()
    acc = cat.accelerators.get(accelerator)
    platform = acc.platform if acc is not None else FAMILY_PLATFORM.get(family, family)
    stack = cat.default_stack(platform, use)
    if stack is None or not cat.has_runtime(stack):
        return stack, ()
    return stack, tuple(cat.runtime(stack).frameworks)


def _family_index(family: str) -> int | None:
    return FAMILIES.index(family) if family in FAMILIES else None


def _builtin_catalog() -> Catalog | None:
    """The built-in catalog's runtime table (None if it cannot be read: the runtime is then not named)."""
    try:
        from ..catalog.load import load_catalog
        return load_catalog()
    except Exception:  # noqa: BLE001 - naming a runtime is a hint; the metric does not depend on it
        return None
