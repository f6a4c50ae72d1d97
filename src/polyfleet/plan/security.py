"""Security blocks of the planning MILP: N-1 survivability, porting costs and the CVaR term.

For each failure set f the model holds a *separate* allocation y_f of the capacity that survives f
(the plan's firm chips times what each offering keeps, or, when a vendor's new supply stops, no
more than it held `delay` months earlier) and requires y_f to serve each workload's required share
of demand. Because the plan must pass every such test at once, spreading capacity over vendors,
providers and regions becomes the cheapest way to pass them: diversification is an outcome of
the optimisation, not a rule imposed on it.
"""

from __future__ import annotations

import numpy as np

from ..catalog import FAMILIES
from ..solvers import Assembler
from .blocks import CoreBlocks, initial_firm_chips
from .inputs import Contingency, PlanInputs

LOSS_SCALE = 1e6            # CVaR rows in USD millions


def surviving_capacity(a: Assembler, inp: PlanInputs, core: CoreBlocks, c: Contingency,
                       tag: str) -> tuple[np.ndarray, ...]:
    """Capacity rows [P, T] for contingency c: sum_w y[w,p,t] <= what pool p keeps.

    Returns (capacity row index [P, T], pool survives [P])."""
    pools, F = core.pools, core.F
    P, T = pools.P, inp.T
    member = core.member                                            # [P, O]
    keep = np.where(c.delayed, 0.0, c.keep)
    survives = (member @ ((keep > 0) | c.delayed).astype(float)) > 0
    rows = a.add_rows("survive_capacity", survives[:, None] & np.ones((P, T), bool), hi=0.0, unit="chips",
                      group=c.id)
    po, oo = np.nonzero(member * keep[None, :])
    a.coef(rows[po], F[oo], -keep[oo][:, None])
    if c.delayed.any() and c.delay > 0:
        dmember = member * c.delayed[None, :]
        has = dmember.sum(axis=1) > 0
        init = dmember @ initial_firm_chips(inp)
        early = np.arange(T)[None, :] < c.delay
        z = a.add_cols(f"z:{tag}", has[:, None] & np.ones((P, T), bool),
                       hi=np.where(early, init[:, None], np.inf))
        a.coef(rows, z, -1.0)
        r_now = a.add_rows("supply_delay", has[:, None] & np.ones((P, T), bool), hi=0.0, unit="chips", group=c.id)
        r_old = a.add_rows("supply_delay", has[:, None] & ~early, hi=0.0, unit="chips", group=c.id)
        a.coef(r_now, z, 1.0)
        a.coef(r_old, z, 1.0)
        dp, do = np.nonzero(dmember)
        a.coef(r_now[dp], F[do], -1.0)
        a.coef(r_old[dp][:, c.delay:], F[do][:, :-c.delay], -1.0)
    return rows, survives


def _port_rows(a: Assembler, core: CoreBlocks, b: np.ndarray | None, y: np.ndarray, y_hi: np.ndarray,
               tag: str) -> None:
    """Allocation y[w,p,t] to a family the workload is not ported to needs the porting binary."""
    if b is None:
        return
    fam_p = core.pools.family
    for f in range(len(FAMILIES)):
        on = fam_p == f
        big = (y_hi[:, on, :] * (y[:, on, :] >= 0)).sum(axis=(1, 2))
        rows = a.add_rows("port", (b[:, f] >= 0) & (big > 0), hi=0.0, unit="chips", group=tag)
        a.coef(rows[:, None, None], y[:, on, :], 1.0)
        a.coef(rows, b[:, f], -big)


def add_porting(a: Assembler, inp: PlanInputs, core: CoreBlocks) -> np.ndarray | None:
    """Binary b[w, family]: pay porting_usd once to run w on a family outside its runs_on.
    Returns b's index array (None when no workload has a porting cost)."""
    pools = core.pools
    fam_p = pools.family
    if not (inp.port_cost > 0).any():
        return None
    feas_f = np.stack([(pools.rate[:, fam_p == f] > 0).any(axis=1) for f in range(len(FAMILIES))], axis=1)
    b = a.add_cols("b", (inp.port_cost > 0) & feas_f, cost=inp.port_cost, hi=1.0, integer=True)
    _port_rows(a, core, b, core.x, core.x_hi, "plan")
    if core.clusters is not None:
        core.clusters.port_rows(a, b, inp.port_cost)
    return b


def add_contingencies(a: Assembler, inp: PlanInputs, core: CoreBlocks) -> None:
    """One re-allocation per failure set, serving the required share of protected demand."""
    req = inp.required_wt()                                                      # [W, T]
    protected = (req > 0).any(axis=1)
    if not protected.any() or not inp.contingencies:
        return
    pools = core.pools
    feas = pools.rate > 0
    x_hi, rate_s, need = core.x_hi, core.rate_s, core.need
    fixed = ~inp.windowed
    w_ids = np.array(inp.workloads, dtype=object)
    T = inp.T
    for i, c in enumerate(inp.contingencies):
        tag = f"f{i}"
        cap_rows, survives = surviving_capacity(a, inp, core, c, tag)
        present = protected[:, None, None] & feas[:, :, None] & survives[None, :, None] & (x_hi > 0)
        y = a.add_cols(f"y:{tag}", present, hi=x_hi)
        a.coef(cap_rows[None, :, :], y, 1.0)
        rows = a.add_rows("survive", (protected & fixed)[:, None] & (need > 0), lo=req * need,
                          entity=w_ids[:, None], month=np.arange(T)[None, :], scale=pools.scale[:, None],
                          unit="tokens/h", elastic=True, group=c.id)
        a.coef(rows[:, None, :], y, rate_s[:, :, None])
        if (protected & inp.windowed).any() and core.clusters is not None:
            # a run's required share of its pace on its cluster (chips at the rate, both sides before goodput)
            wmask = (protected & inp.windowed)[:, None] & inp.window
            rw = a.add_rows("survive", wmask, lo=0.0, entity=w_ids[:, None], month=np.arange(T)[None, :],
                            scale=pools.scale[:, None], unit="tokens/h", elastic=True, group=c.id)
            a.coef(rw[:, None, :], y, rate_s[:, :, None])
            core.clusters.pace(a, rw, req)
        _port_rows(a, core, core.b, y, x_hi, c.id)


def add_cvar(a: Assembler, inp: PlanInputs, core: CoreBlocks) -> None:
    """lambda x CVaR_alpha of the loss (value of unserved demand) over the explicit scenarios."""
    if not inp.cvar_cases or inp.cvar_weight <= 0:
        return
    pools = core.pools
    feas = pools.rate > 0
    x_hi, rate_s, need = core.x_hi, core.rate_s, core.need
    fixed = ~inp.windowed
    lam, alpha = inp.cvar_weight, inp.cvar_alpha
    eta = a.add_cols("eta", np.ones(1, bool), cost=lam * LOSS_SCALE)
    # $M per unit of u (chips at best rate for a month): tokens/h x hours x $/Mtok / 1e6 / LOSS_SCALE
    value = (pools.scale[:, None] * inp.hours * inp.loss_usd_per_mtok[None, :]) / 1e6 / LOSS_SCALE   # [W, C]
    for s, case in enumerate(inp.cvar_cases):
        tag = f"s{s}"
        cap_rows, survives = surviving_capacity(a, inp, core, case.contingency, tag)
        present = fixed[:, None, None] & feas[:, :, None] & survives[None, :, None] & (x_hi > 0)
        y = a.add_cols(f"ys:{tag}", present, hi=x_hi)
        a.coef(cap_rows[None, :, :], y, 1.0)
        u_hi = inp.shares_t() * need[:, None, :]                                  # [W, C, T]
        u = a.add_cols(f"u:{tag}", u_hi > 0, hi=u_hi)
        rows = a.add_rows("cvar_demand", fixed[:, None] & (need > 0), lo=need, unit="chips", group=case.id)
        a.coef(rows[:, None, :], y, rate_s[:, :, None])
        a.coef(rows[:, None, :], u, 1.0)
        e = a.add_cols(f"e:{tag}", np.ones(1, bool), cost=lam * LOSS_SCALE * case.probability / (1 - alpha))
        r = a.add_rows("cvar_loss", np.ones(1, bool), lo=0.0, unit="USD", scale=LOSS_SCALE, group=case.id)
        a.coef(r, e, 1.0)
        a.coef(r, eta, 1.0)
        a.coef(np.broadcast_to(r[0], u.shape), u, -np.broadcast_to(value[:, :, None], u.shape))
        _port_rows(a, core, core.b, y, x_hi, case.id)
