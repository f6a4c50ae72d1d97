"""Which of a workload's runtimes runs on a chip, and at what share of calibrated efficiency."""

from __future__ import annotations

from collections.abc import Sequence

from ..catalog.model import Accelerator
from ..catalog.store import Catalog


def runtime_efficiency(catalog: Catalog, runtimes: Sequence[str], acc: Accelerator,
                       use: str) -> tuple[float, str | None, str]:
    """(efficiency, best runtime, reason when 0). An empty runtime list means 'any runtime'."""
    if use not in acc.uses:
        return 0.0, None, f"{acc.id} is not used for {use}"
    names = list(runtimes) or list(catalog.runtimes)
    best, best_rt = 0.0, None
    for name in names:
        rt = catalog.runtime(name)
        fig = rt.platforms.get(acc.platform)
        if fig is None or not fig.known or use not in rt.uses:
            continue
        if fig.value > best:
            best, best_rt = float(fig.value), rt.id
    if best_rt is None:
        return 0.0, None, f"no runtime among [{', '.join(names)}] runs {use} on {acc.platform} ({acc.id})"
    return best, best_rt, ""


def lock_in_share(feasible_vendors: Sequence[set[str]], demand: Sequence[float]) -> float:
    """Share of demand that only one vendor can serve (the lock-in metric)."""
    total = float(sum(demand))
    if total <= 0:
        return 0.0
    locked = sum(d for vendors, d in zip(feasible_vendors, demand) if len(vendors) <= 1)
    return locked / total
