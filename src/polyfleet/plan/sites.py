"""Power sites in the planning MILP: a gigawatt is a list of sites, each energised from a date (or
ordered by the plan, energised a lead time later) and built for the chips it matches.

Columns:
  site_mw[s,o,t]   facility MW that offering o's chips draw from site s in month t (s matches o)
  site_order[s,m]  1 if the plan orders site s in month m (sites with a lead time only; binary)
Rows:
  site_draw[o,t]   the chips of an offering any site matches draw all their power from sites:
                   sum_s site_mw = MW per unit x units held
  site[s,t]        what a site supplies: sum_o site_mw <= its MW in months it is energised
  site_once[s]     a site is ordered at most once
A site under way costs what it costs whatever the plan does (a constant, `fixed_cost`); a site the
plan orders in month m costs `usd_per_mw_month` x MW for each month from m + lead to the horizon's end.
"""

from __future__ import annotations

import numpy as np

from ..solvers import Assembler
from .blocks import BUDGET_SCALE, CoreBlocks
from .inputs import PlanInputs


def add_sites(a: Assembler, inp: PlanInputs, core: CoreBlocks, budget: np.ndarray | None = None) -> None:
    """The site columns and rows (nothing when the scenario has no sites); with `budget` (the monthly
    budget rows, in USD millions), what the sites cost counts against it."""
    if not inp.sites:
        return
    S, O, T = len(inp.sites), inp.O, inp.T
    mask = np.stack([s.mask for s in inp.sites])                               # [S, O]
    mw = np.stack([s.mw for s in inp.sites])                                   # [S, T]
    mw_unit = np.nan_to_num(inp.mw_per_chip, nan=0.0) * core.chips             # [O]
    u = a.add_cols("site_mw", np.broadcast_to(mask[:, :, None], (S, O, T)))
    bound = mask.any(axis=0)
    r_draw = a.add_rows("site_draw", np.broadcast_to(bound[:, None], (O, T)), lo=0.0, hi=0.0, unit="MW")
    a.coef(r_draw[None, :, :], u, 1.0)
    a.coef(r_draw, core.H, -mw_unit[:, None])
    under_way = np.stack([s.energised(T) for s in inp.sites])                  # [S, T]
    names = np.array([s.name for s in inp.sites], dtype=object)
    r_cap = a.add_rows("site", np.ones((S, T), bool), hi=np.where(under_way, mw, 0.0), entity=names[:, None],
                       month=np.arange(T)[None, :], unit="MW", elastic=True)
    a.coef(r_cap[:, None, :], u, 1.0)
    _orders(a, inp, mw, r_cap, budget)


def _orders(a: Assembler, inp: PlanInputs, mw: np.ndarray, r_cap: np.ndarray, budget: np.ndarray | None) -> None:
    """site_order[s,m] for sites with a lead time: energised from m + lead, paid from then on."""
    T = inp.T
    lead = np.array([s.lead if s.lead is not None else T for s in inp.sites])          # [S]
    m = np.arange(T)
    optional = np.array([s.lead is not None for s in inp.sites])
    can = optional[:, None] & (m[None, :] + lead[:, None] < T)                           # energised inside the horizon
    if not can.any():
        return
    price = np.array([s.usd_per_mw_month for s in inp.sites])
    tail = np.cumsum(mw[:, ::-1], axis=1)[:, ::-1]                                      # [S, T] MW-months from t on
    start = np.minimum(m[None, :] + lead[:, None], T - 1)
    cost = price[:, None] * np.take_along_axis(tail, start, axis=1)
    y = a.add_cols("site_order", can, cost=cost, hi=1.0, integer=True)
    once = a.add_rows("site_once", can.any(axis=1), hi=1.0)
    a.coef(once[:, None], y, 1.0)
    # site[s,t]: sum_o site_mw - mw[s,t] x (ordered in some month m with m + lead <= t) <= 0
    t_idx, m_idx = np.meshgrid(m, m, indexing="ij")                                     # [T, T]
    live = (m_idx[None, :, :] + lead[:, None, None]) <= t_idx[None, :, :]               # [S, T(t), T(m)]
    a.coef(r_cap[:, :, None], np.where(live, y[:, None, :], -1), -mw[:, :, None])
    if budget is not None:                          # budget[t] += price x mw[s,t] for each order live in t
        a.coef(budget[None, :, None], np.where(live, y[:, None, :], -1), (price[:, None] * mw / BUDGET_SCALE)[:, :, None])


def fixed_by_month(inp: PlanInputs) -> np.ndarray:
    """[T] USD the sites under way cost each month whatever the plan holds on them."""
    return sum((s.usd_per_mw_month * s.mw * s.energised(inp.T) for s in inp.sites), np.zeros(inp.T))


def fixed_cost(inp: PlanInputs) -> float:
    """USD the sites under way cost over the horizon."""
    return float(fixed_by_month(inp).sum())


def _orders_made(inp: PlanInputs, model, x: np.ndarray) -> list[int | None]:
    """Per site: the month the plan orders it (None: under way, or not ordered)."""
    y = model.value("site_order", x) if "site_order" in model.cols else np.zeros((len(inp.sites), inp.T))
    out: list[int | None] = []
    for i, s in enumerate(inp.sites):
        ordered = np.flatnonzero(y[i] > 0.5) if s.lead is not None else []
        out.append(int(ordered[0]) if len(ordered) else None)
    return out


def _first_month(s, ordered: int | None) -> int | None:
    """The month a site first holds chips: its energisation (under way) or order + lead (None: never)."""
    if s.lead is None:
        return s.first
    return None if ordered is None else ordered + s.lead


def month_cost(inp: PlanInputs, model, x: np.ndarray) -> np.ndarray:
    """[T] USD the sites cost each month: those under way, and those the plan ordered once energised."""
    out = np.zeros(inp.T)
    for s, ordered in zip(inp.sites, _orders_made(inp, model, x)):
        first = _first_month(s, ordered)
        live = np.arange(inp.T) >= first if first is not None else np.zeros(inp.T, bool)
        out += s.usd_per_mw_month * s.mw * live
    return out


def site_rows(inp: PlanInputs, model, x: np.ndarray) -> list[dict]:
    """Per site: when it is energised (under way, ordered, or not ordered), its MW and the MW drawn."""
    if not inp.sites:
        return []
    u = model.value("site_mw", x)                                                       # [S, O, T]
    rows = []
    for i, (s, ordered) in enumerate(zip(inp.sites, _orders_made(inp, model, x))):
        first = _first_month(s, ordered)
        how = ("under way" if s.lead is None else f"ordered {inp.months[ordered]}" if ordered is not None
               else "not ordered")
        energised = (inp.months[first] if first is not None and 0 <= first < inp.T
                     else "before the horizon" if first is not None and first < 0 else "-")
        draw = u[i].sum(axis=0)
        rows.append({"site": s.name, "how": how, "energised": energised, "mw": [float(v) for v in s.mw],
                     "mw_drawn": [float(v) for v in draw], "peak_use": float(np.max(draw / np.where(s.mw > 0, s.mw, np.inf))),
                     "lead_time_months": s.lead, "usd_per_mw_month": s.usd_per_mw_month, "source": s.source,
                     "offerings": [o for o, k in zip(inp.offerings, s.mask) if k]})
    return rows


__all__ = ["add_sites", "fixed_by_month", "fixed_cost", "month_cost", "site_rows"]
