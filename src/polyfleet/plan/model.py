"""The capacity-portfolio MILP, built in bulk from `PlanInputs`.

Columns (O offerings, K terms, T months, W workloads, P pools):
  n[o,k,t]   integer units: held that month (on-demand, spot) or started that month (1y/3y commitments,
             then held and paid for 12/36 months)
  H[o,t]     units held (all terms, fleet commitments included)         -> power, supply, caps
  F[o,t]     firm chips (spot counted at its availability)               -> what serves demand
  x[w,p,t]   chips of pool p serving workload w in month t

A *pool* is a set of offerings whose rate-table columns are identical (same chip, same family): how
a workload's chips split among the members does not matter, so allocating to pools instead of
offerings is exact and shrinks every allocation block (the survivability blocks most of all).

Windowed training runs have no x columns: each runs on one cluster at one chip count (`clusters.py`).

Rows: held/firm definitions, demand met every month (a run's tokens inside its window: `clusters.py`),
pool capacity, supply (held chips and ramp per rule; lead time and availability as bounds), power
(IT watts x PUE) per limit, budget, concentration caps, and, per failure set, a separate
re-allocation of the surviving capacity that must serve each workload's required share
(`security.py`, which reads the core through the typed handles in `blocks.py`). Objective: total cost over the horizon (+ lambda x CVaR of loss over explicit
scenarios). Commitments are paid every month of their term; with `commitment_tail: prorated` only
the months inside the horizon enter the objective (the rest is reported as an obligation), with
`terminal_value` the months after it count at (1 - terminal_value_share). Contracts (`contracts.py`)
add their chips to H, so every limit above sees them.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from ..solvers import Assembler, band
from .blocks import BUDGET_SCALE, CoreBlocks, PlanMilp, Pools, initial_firm_chips, make_pools, months_paid
from .inputs import SPOT, TERM_MONTHS, TERMS, PlanInputs
from .clusters import add_clusters
from .offpeak import add_off_peak
from .contracts import add_contracts
from .security import add_contingencies, add_cvar, add_porting
from .sites import add_sites, fixed_by_month, fixed_cost



def build(inp: PlanInputs) -> PlanMilp:
    """Assemble the whole MILP (core + security blocks) in bulk."""
    t0 = time.perf_counter()
    inp.check()
    pools = make_pools(inp)
    a = Assembler()
    cpu = np.nan_to_num(inp.cost_per_unit_month(), nan=0.0)                 # [O, K]
    n, H, F, rH = _unit_cols(a, inp, pools, cpu)
    core = replace(_allocation(a, inp, pools, n, H, F), rH=rH)
    core = replace(core, clusters=add_clusters(a, inp, core))
    add_off_peak(a, inp, core)
    _supply_rows(a, inp, core)
    budget_rows = _limit_rows(a, inp, core, cpu)
    add_sites(a, inp, core, budget_rows)
    add_contracts(a, inp, core, budget_rows)
    b = add_porting(a, inp, core)
    if b is not None:
        core = replace(core, b=b)
    add_contingencies(a, inp, core)
    add_cvar(a, inp, core)
    model = PlanMilp.of(a.finish(offset=float(inp.fleet_cost.sum() + inp.sunk.sum() + fixed_cost(inp))), core)
    model.build_seconds = time.perf_counter() - t0
    return model


def _unit_cols(a: Assembler, inp: PlanInputs, pools: Pools, cpu: np.ndarray) -> tuple[np.ndarray, ...]:
    """Units bought n[o,k,t], held H[o,t] and firm chips F[o,t], with the rows that define H and F (and
    the held rows, where contracts add their chips)."""
    O, K, T = inp.O, len(TERMS), inp.T
    chips = inp.unit_chips.astype(float)
    ub = inp.unit_ub.copy()
    ub[pools.of < 0] = 0.0                                                 # nothing to serve: buy nothing
    n = a.add_cols("n", ub > 0, cost=cpu[:, :, None] * months_paid(inp)[None, :, :], hi=ub, integer=True)
    H = a.add_cols("H", np.ones((O, T), bool))
    F = a.add_cols("F", np.ones((O, T), bool))
    fleet_units = inp.fleet_commit.sum(axis=1)                               # [O, T] constants
    rH = a.add_rows("held", np.ones((O, T), bool), lo=fleet_units, hi=fleet_units, unit="units")
    rF = a.add_rows("firm", np.ones((O, T), bool), lo=0.0, hi=0.0, unit="chips")
    a.coef(rH, H, 1.0)
    a.coef(rF, F, 1.0)
    # held by term = starts in the last L months (a band; measured faster for HiGHS than a recurrence)
    for k in range(K):
        tt, ss = band(T, TERM_MONTHS[k])
        a.coef(rH[:, tt], n[:, k, ss], -1.0)
    # firm chips = chips x (held - the share of spot that is not firm)
    a.coef(rF, H, -chips[:, None])
    a.coef(rF, n[:, SPOT, :], (chips * (1.0 - inp.spot_avail))[:, None])
    return n, H, F, rH


def _allocation(a: Assembler, inp: PlanInputs, pools: Pools, n: np.ndarray, H: np.ndarray,
                F: np.ndarray) -> CoreBlocks:
    """Allocation x[w,p,t], demand (or run-window) rows and pool capacity rows; the core's handles."""
    O, K, T, P = inp.O, len(TERMS), inp.T, pools.P
    fixed = ~inp.windowed
    feas = pools.rate > 0                                                   # [W, P]
    rate_s = pools.rate / pools.scale[:, None]
    need = np.where(fixed[:, None], inp.demand, 0.0) / pools.scale[:, None]     # [W, T] chips at best rate
    with np.errstate(divide="ignore", invalid="ignore"):
        x_hi_fixed = np.where(feas[:, :, None], inp.demand[:, None, :] / pools.rate[:, :, None], 0.0)
        win_total = np.where(inp.windowed, inp.window_tokens, 0.0)
        x_hi_win = np.where(feas, win_total[:, None] / np.where(feas, pools.rate, 1.0), 0.0)
    x_hi = np.where(fixed[:, None, None], x_hi_fixed, x_hi_win[:, :, None] * inp.window[:, None, :])
    x = a.add_cols("x", fixed[:, None, None] & feas[:, :, None] & (x_hi > 0), hi=x_hi)   # runs: clusters.py
    w_ids = np.array(inp.workloads, dtype=object)
    rD = a.add_rows("demand", fixed[:, None] & (inp.demand > 0), lo=need, entity=w_ids[:, None],
                    month=np.arange(T)[None, :], scale=pools.scale[:, None], unit="tokens/h", elastic=True)
    a.coef(rD[:, None, :], x, rate_s[:, :, None])
    member = pools.sum_matrix(O)
    rC = a.add_rows("capacity", np.ones((P, T), bool), hi=0.0, unit="chips")
    a.coef(rC[None, :, :], x, 1.0)
    po, oo = np.nonzero(member)
    a.coef(rC[po][:, :], F[oo], -1.0)
    avail = np.ones((O, K))
    avail[:, SPOT] = inp.spot_avail
    return CoreBlocks(pools=pools, n=n, H=H, F=F, x=x, rD=rD, chips=inp.unit_chips.astype(float), avail=avail,
                      rate_s=rate_s, need=need, x_hi=x_hi, member=member, rC=rC)


def _supply_rows(a: Assembler, inp: PlanInputs, core: CoreBlocks) -> None:
    """Per supply rule: chips held (counting its terms) at most max_chips[t], rising by at most ramp[t]."""
    T, chips, n, H = inp.T, core.chips, core.n, core.H
    for s in inp.supply:
        all_terms = bool(s.terms.all())
        fleet_const = chips[s.mask] @ (inp.fleet_commit[s.mask][:, s.terms, :].sum(axis=1)) \
            if s.mask.any() else np.zeros(T)
        init = float(chips[s.mask] @ inp.fleet_initial[s.mask][:, s.terms].sum(axis=1)) if s.mask.any() else 0.0
        for kind, limit in (("supply", s.max_chips), ("ramp", s.ramp)):
            if limit is None:
                continue
            if kind == "supply":
                r = a.add_rows("supply", np.ones(T, bool), hi=limit - (0 if all_terms else fleet_const),
                               entity=s.name, month=np.arange(T), unit="chips", elastic=True)
            else:
                hi = limit.copy()
                hi[0] += init
                hi = hi - (0 if all_terms else np.diff(np.concatenate([[0.0], fleet_const])))
                r = a.add_rows("ramp", np.ones(T, bool), hi=hi, entity=s.name, month=np.arange(T), unit="chips",
                               elastic=True)
            sel = np.flatnonzero(s.mask)
            lag = (kind == "ramp")
            if all_terms:
                a.coef(r[None, :], H[sel], chips[sel, None])
                if lag:
                    a.coef(r[None, 1:], H[sel, :-1], -chips[sel, None])
            else:
                for k in np.flatnonzero(s.terms):
                    tt, ss = band(T, TERM_MONTHS[k])
                    a.coef(r[None, tt], n[sel][:, k, ss], chips[sel, None])
                    if lag:
                        keep = tt + 1 < T
                        a.coef(r[None, tt[keep] + 1], n[sel][:, k, ss[keep]], -chips[sel, None])


def _limit_rows(a: Assembler, inp: PlanInputs, core: CoreBlocks, cpu: np.ndarray) -> np.ndarray | None:
    """Power (IT watts x PUE) per limit, concentration caps and the monthly budget (its rows returned, in
    USD millions, for blocks that add spending: sites)."""
    O, K, T, chips, H = inp.O, len(TERMS), inp.T, core.chips, core.H
    mw_unit = np.nan_to_num(inp.mw_per_chip, nan=0.0) * chips                 # [O] facility MW per unit
    for p in inp.power:
        r = a.add_rows("power", np.ones(T, bool), hi=p.mw, entity=p.name, month=np.arange(T), unit="MW",
                       elastic=True)
        sel = np.flatnonzero(p.mask)
        a.coef(r[None, :], H[sel], mw_unit[sel, None])
    if inp.caps:
        # rows in units of (an estimate of) total capacity, so a slack reads as a share of it
        fixed = ~inp.windowed
        per_chip = np.nan_to_num(inp.share_coef if inp.share_coef is not None else np.ones(O), nan=0.0)
        typical = float(np.median(per_chip[per_chip > 0])) if (per_chip > 0).any() else 1.0
        total = np.maximum((np.where(fixed[:, None], core.need, 0.0)).sum(axis=0) * typical, 1.0)   # [T]
        for c in inp.caps:
            months = np.arange(T) >= c.first
            r = a.add_rows("cap", months, hi=0.0, entity=f"{c.dimension} {c.group} <= {c.share:.0%}",
                           month=np.arange(T), scale=total, unit=inp.share_measure, elastic=True)
            a.coef(r[None, :], H, ((c.mask.astype(float) - c.share) * per_chip * chips)[:, None] / total[None, :])
    if inp.budget is None:
        return None
    paid = inp.fleet_cost.sum(axis=0) + inp.sunk + fixed_by_month(inp)                   # whatever the plan does
    r = a.add_rows("budget", np.ones(T, bool), hi=(inp.budget - paid) / BUDGET_SCALE,
                   entity="budget", month=np.arange(T), scale=BUDGET_SCALE, unit="USD", elastic=True)
    for k in range(K):
        tt, ss = band(T, TERM_MONTHS[k])
        a.coef(r[None, tt], core.n[:, k, ss], cpu[:, k, None] / BUDGET_SCALE)
    return r


__all__ = ["Pools", "build", "initial_firm_chips", "make_pools", "months_paid"]
