"""Held-out calibration error grouped by chip family and by stack, and the bands it yields."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .fit import HeldOut, Summary, summarise
from .uncertainty import BandRow

GOAL = "median |error| < 12% and >= 85% of points within 25%"


def by(heldout: Sequence[HeldOut], key) -> list[Summary]:
    groups: dict[str, list[float]] = {}
    for h in heldout:
        groups.setdefault(key(h), []).append(h.log_error)
    return [summarise(g, e) for g, e in sorted(groups.items())]


def by_family(heldout: Sequence[HeldOut]) -> list[Summary]:
    return by(heldout, lambda h: h.family) + [summarise("all", [h.log_error for h in heldout])]


def by_stack(heldout: Sequence[HeldOut]) -> list[Summary]:
    return by(heldout, lambda h: f"{h.family}/{h.point.stack}")


def band_rows(heldout: Sequence[HeldOut]) -> list[BandRow]:
    """P10/P90 of held-out log error per (family, stack, kind), per (family, kind), family, kind, all."""
    keys = [lambda h: (h.family, h.point.stack, h.kind), lambda h: (h.family, "all", h.kind),
            lambda h: (h.family, "all", "all"), lambda h: ("all", "all", h.kind), lambda h: ("all", "all", "all")]
    rows: dict[tuple, list[float]] = {}
    for key in keys:
        for h in heldout:
            rows.setdefault(key(h), []).append(h.log_error)
    out = []
    for (fam, stack, kind), errs in sorted(rows.items()):
        s = summarise("", errs)
        out.append(BandRow(family=fam, stack=stack, kind=kind, n=len(errs), p10=round(s.p10, 4), p90=round(s.p90, 4)))
    return out


@dataclass(frozen=True)
class SeedSpread:
    """A group's held-out error pooled over several fold assignments (seeds), with how far it moves
    from one assignment to the next: a share of 85% from one seed may be 82% or 87% from another."""

    pooled: Summary
    median_range: tuple[float, float]     # lowest and highest median |error| over the seeds
    within_range: tuple[float, float]     # lowest and highest share within 25% over the seeds
    seeds_met: int                        # seeds whose figures meet the goal
    seeds: int

    def verdict(self) -> str:
        """met or missed when every seed agrees; on the line when some meet the goal and some do not."""
        if self.seeds_met == self.seeds:
            return "met"
        if self.seeds_met == 0:
            return "missed"
        return f"on the line ({self.seeds_met} of {self.seeds} seeds meet it)"


def spread(runs: Sequence[Sequence[HeldOut]],
           grouping: Callable[[Sequence[HeldOut]], list[Summary]] = by_family) -> list[SeedSpread]:
    """Each group's figures pooled over `runs` (one cross-validation per fold seed) and their range."""
    per_seed = [{s.group: s for s in grouping(run)} for run in runs]
    out = []
    for pooled in grouping([h for run in runs for h in run]):
        seen = [d[pooled.group] for d in per_seed if pooled.group in d]
        medians, shares = [s.median_abs_error for s in seen], [s.within_25 for s in seen]
        out.append(SeedSpread(pooled=pooled, median_range=(min(medians), max(medians)),
                              within_range=(min(shares), max(shares)),
                              seeds_met=sum(s.meets_goal() for s in seen), seeds=len(seen)))
    return out
