"""Held-out calibration error grouped by chip family and by stack, and the bands it yields."""

from __future__ import annotations

from collections.abc import Sequence

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
