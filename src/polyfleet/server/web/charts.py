"""Figures for the dashboard, as inline SVG: the report's own plots for runs (report/plots.py) and an
incident timeline drawn here (a few rectangles need no plotting library).

Run results never change, so their figures are kept by run id.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, timedelta
from html import escape

import numpy as np

from ...catalog import FAMILIES
from ...report import plots

_CACHE: OrderedDict[tuple, str] = OrderedDict()
_LOCK = threading.Lock()


def _kept(key: tuple, make) -> str:
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    svg = make()
    with _LOCK:
        _CACHE[key] = svg
        while len(_CACHE) > 64:
            _CACHE.popitem(last=False)
    return svg


def plan_chips(run_id: int, result: dict) -> str:
    """Chips held by family, month by month (the plan report's figure)."""
    rows = result.get("months_summary") or []
    if not rows:
        return ""

    def make() -> str:
        months = [r["month"] for r in rows]
        series = {f: np.array([r.get(f"{f}_chips", 0.0) for r in rows]) for f in FAMILIES}
        return plots.stacked_area(months, series, "chips", "Chips held by family", plots.FAMILY_COLORS)
    return _kept(("plan", run_id), make)


def plan_cost(run_id: int, result: dict) -> str:
    rows = result.get("months_summary") or []
    if not rows:
        return ""

    def make() -> str:
        months = [r["month"] for r in rows]
        cost = np.array([r["cost_usd"] for r in rows])
        scale, unit = (1e6, "USD millions") if cost.max(initial=0) >= 1e6 else (1e3, "USD thousands")
        return plots.stacked_bars(months, {"cost": cost / scale}, unit, "Cost per month")
    return _kept(("cost", run_id), make)


def incident_timeline(incidents: list[dict], now: datetime, width: int = 900) -> str:
    """One row per tier, a bar per incident from its opening to its closing (or now, if open)."""
    if not incidents:
        return ""
    tiers = sorted({i["tier"] for i in incidents})
    start = min(i["opened_at"] for i in incidents)
    end = max([now] + [i["closed_at"] for i in incidents if i["closed_at"]])
    span = max((end - start).total_seconds(), 60.0)
    left, row_h, top = 140, 26, 24
    height = top + row_h * len(tiers) + 24

    def x(t: datetime) -> float:
        return left + (width - left - 10) * (t - start).total_seconds() / span
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
              f'aria-label="incidents over time" class="timeline">')]
    for k, tier in enumerate(tiers):
        y = top + k * row_h
        parts.append(f'<text x="4" y="{y + 17}" class="tl-label">{escape(tier)}</text>')
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y + row_h - 2}" y2="{y + row_h - 2}" class="tl-grid"/>')
    for i in incidents:
        y = top + tiers.index(i["tier"]) * row_h
        x0, x1 = x(i["opened_at"]), x(i["closed_at"] or now)
        cls = "tl-open" if i["closed_at"] is None else "tl-closed"
        title = (f'#{i["id"]} {i["tier"]}: worst {i["worst_unserved_share"]:.1%} unserved; '
                 f'opened {i["opened_at"]:%Y-%m-%d %H:%M} by {i["opened_by"]}')
        parts.append(f'<rect x="{x0:.1f}" y="{y + 4}" width="{max(x1 - x0, 3):.1f}" height="{row_h - 10}" '
                     f'class="{cls}"><title>{escape(title)}</title></rect>')
    for frac in (0.0, 0.5, 1.0):
        t = start + timedelta(seconds=span * frac)
        xx = left + (width - left - 10) * frac
        anchor = "start" if frac == 0 else "end" if frac == 1 else "middle"
        parts.append(f'<text x="{xx:.1f}" y="{height - 6}" text-anchor="{anchor}" class="tl-axis">'
                     f'{t:%Y-%m-%d %H:%M} UTC</text>')
    parts.append("</svg>")
    return "".join(parts)
