"""Contracts in the planning MILP: deliveries taken, chips held and placed, payments, options, cancellation.

Per tranche r (a contract's base schedule or one of its options) and month t, with d[r,t] the chips
delivered that month, L[r] its term and p[r] its price per chip-month:

  u[r]     binary: the tranche is on (a candidate contract signed, an option exercised); the base of a
           signed contract is on without a column
  y[c]     binary: contract c cancelled from its cancellation month m0 (fee in the objective)
  s[r,t]   chips taken:  min_take d u <= s <= d u, and from m0 on  s <= d (1 - y),  s >= min_take d (u - y)
  G[r,t]   chips held and paid = taken in the last L months (before m0; from m0 on: that, or 0 if cancelled)
  P[c,o,t] held chips placed on each of the contract's offerings: sum_o P = sum_r G, and P / chips per
           unit enters the held-units row H[o,t] of the core, so power, supply rules counting every term,
           caps, demand and survivability all see the contract's chips (deliveries ARE supply)

Objective: p G every month (in the horizon) + the fee if cancelled + the payments after the horizon
weighted as `commitment_tail` says (0, 1 or 1 - terminal_value_share; a cancellation ends them).
An option needs its contract signed. In this deterministic plan an option's decision month only bounds
when its deliveries may start (every choice is made knowing the one demand forecast).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..solvers import Assembler, band
from .blocks import BUDGET_SCALE, CoreBlocks
from .contract_terms import tail_weight
from .inputs import PlanInputs

SOLVER_NOISE_CHIPS = 1e-6    # a contract's chips below this are the LP's tolerance, not a delivery


@dataclass(frozen=True)
class Tranches:
    """Every contract's tranches flattened to arrays [R] / [R, T]."""

    owner: np.ndarray      # [R] contract index
    d: np.ndarray          # [R, T] chips delivered
    L: np.ndarray          # [R] term months
    price_m: np.ndarray    # [R] USD per chip-month
    mt: np.ndarray         # [R] min take
    fixed: np.ndarray      # [R] bool: on without a binary (base of a signed contract)
    after: np.ndarray      # [R, T] bool: months the contract may be cancelled in (from m0 on)
    tail: np.ndarray       # [R, T] months past the horizon a chip taken in t is still paid
    base: np.ndarray       # [R] index of the owner's base tranche

    @property
    def R(self) -> int:  # noqa: N802
        return len(self.owner)


def tranches(inp: PlanInputs) -> Tranches:
    """The flattened tranche arrays of `inp.contracts`."""
    T = inp.T
    rows = [(ci, c, r) for ci, c in enumerate(inp.contracts) for r in c.tranches]
    owner = np.array([ci for ci, _, _ in rows], dtype=int)
    L = np.array([r.term_months for *_, r in rows], dtype=int)
    m0 = np.array([c.cancel_from if c.cancel_from is not None else T for _, c, _ in rows])
    first = np.array([next(i for i, (cj, _, _) in enumerate(rows) if cj == ci) for ci in owner], dtype=int)
    return Tranches(owner=owner, d=np.stack([r.deliveries for *_, r in rows]).astype(float), L=L,
                    price_m=np.array([r.usd_per_chip_hour for *_, r in rows]) * inp.hours,
                    mt=np.array([c.min_take for _, c, _ in rows]),
                    fixed=np.array([c.signed and not r.is_option for _, c, r in rows]),
                    after=np.arange(T)[None, :] >= m0[:, None],
                    tail=np.maximum(np.arange(T)[None, :] + L[:, None] - T, 0).astype(float), base=first)


def add_contracts(a: Assembler, inp: PlanInputs, core: CoreBlocks, budget: np.ndarray | None = None) -> None:
    """Columns and rows of every contract (nothing when the scenario has none); with `budget` (the monthly
    budget rows, in USD millions), contract payments and fees count against it."""
    if not inp.contracts:
        return
    tr = tranches(inp)
    fees = np.array([c.cancel_fee_usd for c in inp.contracts])
    cancellable = np.array([c.cancel_from is not None for c in inp.contracts])
    u = a.add_cols("cu", ~tr.fixed, hi=1.0, integer=True)
    y = a.add_cols("cy", cancellable, hi=1.0, integer=True, cost=fees)
    tail_usd = tail_weight(inp.commitment_tail, inp.terminal_value_share) * tr.price_m[:, None] * tr.tail
    # the tail of a delivery taken after the cancellation month is paid on s directly (s <= d (1 - y) already
    # ends it); only deliveries taken before need Q >= tail - M y (a tighter relaxation than one Q for all)
    pre = tr.after.any(axis=1)[:, None] & ~tr.after
    can = (pre & (tail_usd > 0)).any(axis=1)
    lo = np.where(tr.fixed[:, None] & ~tr.after, tr.mt[:, None] * tr.d, 0.0)
    s = a.add_cols("cs", tr.d > 0, cost=np.where(pre, 0.0, tail_usd), lo=lo, hi=tr.d)
    G = a.add_cols("cG", np.ones(tr.d.shape, bool), cost=tr.price_m[:, None])
    yr = y[tr.owner]                                                       # [R] (-1: not cancellable)
    _take_rows(a, tr, s, u, yr)
    _held_rows(a, tr, s, G, yr)
    if can.any():               # payments after the horizon end with a cancellation: Q >= tail - M y
        q = a.add_cols("cQ", can, cost=1.0)
        big = (tail_usd * tr.d * pre).sum(axis=1)
        r = a.add_rows("contract_tail", can, lo=0.0, unit="USD")
        a.coef(r, q, 1.0)
        a.coef(r[:, None], s, -tail_usd * pre)
        a.coef(r, yr, big)
    _placement(a, inp, core, tr, G)
    if budget is not None:
        _budget(a, inp, tr, G, y, fees, budget)


def _budget(a: Assembler, inp: PlanInputs, tr: Tranches, G: np.ndarray, y: np.ndarray, fees: np.ndarray,
            rows: np.ndarray) -> None:
    """Held chips x price (and a cancellation fee in its month) count against the monthly budget rows [T]."""
    a.coef(rows[None, :], G, tr.price_m[:, None] / BUDGET_SCALE)
    at = np.array([c.cancel_from if c.cancel_from is not None else 0 for c in inp.contracts])
    a.coef(rows[at], y, fees / BUDGET_SCALE)


def _take_rows(a: Assembler, tr: Tranches, s: np.ndarray, u: np.ndarray, yr: np.ndarray) -> None:
    """min_take d (u - y) <= s <= d u, s <= d (1 - y) from the cancellation month; an option needs its contract."""
    has, free = tr.d > 0, ~tr.fixed[:, None]
    need = tr.mt[:, None] * tr.d
    rmin = a.add_rows("contract_min_take", has & (free | tr.after) & (need > 0), lo=np.where(free, 0.0, need),
                      unit="chips")
    a.coef(rmin, s, 1.0)
    a.coef(rmin, u[:, None], -need)
    a.coef(rmin, yr[:, None], need * tr.after)
    rmax = a.add_rows("contract_delivered", has & free, hi=0.0, unit="chips")
    a.coef(rmax, s, 1.0)
    a.coef(rmax, u[:, None], -tr.d)
    rcan = a.add_rows("contract_cancelled", has & tr.after, hi=tr.d, unit="chips")
    a.coef(rcan, s, 1.0)
    a.coef(rcan, yr[:, None], tr.d)
    opt = (tr.base != np.arange(tr.R)) & (u[tr.base] >= 0)
    ropt = a.add_rows("contract_option", opt, hi=0.0)
    a.coef(ropt, u, 1.0)
    a.coef(ropt, u[tr.base], -1.0)


def _held_rows(a: Assembler, tr: Tranches, s: np.ndarray, G: np.ndarray, yr: np.ndarray) -> None:
    """G = taken in the last L months; from the cancellation month on, that or 0 (big M: the chips that
    month's band could hold at most, the tightest valid bound)."""
    T = tr.d.shape[1]
    big = np.maximum(held_at_most(tr), 1.0)
    rG = a.add_rows("contract_held", np.ones(tr.d.shape, bool), lo=0.0, hi=np.where(tr.after, np.inf, 0.0),
                    unit="chips")
    rc = a.add_rows("contract_held_max", tr.after, hi=0.0, unit="chips")
    for L in np.unique(tr.L):
        rs = np.flatnonzero(tr.L == L)
        tt, ss = band(T, int(L))
        for rows in (rG, rc):
            a.coef(rows[rs][:, tt], s[rs][:, ss], -1.0)
    a.coef(rG, G, 1.0)
    a.coef(rG, yr[:, None], big * tr.after)
    a.coef(rc, G, 1.0)
    roff = a.add_rows("contract_released", tr.after, hi=big, unit="chips")
    a.coef(roff, G, 1.0)
    a.coef(roff, yr[:, None], big)


def held_at_most(tr: Tranches) -> np.ndarray:
    """[R, T] chips held if every delivery is taken whole: deliveries of the last L months."""
    out = np.zeros(tr.d.shape)
    T = tr.d.shape[1]
    for r in range(tr.R):
        tt, ss = band(T, int(tr.L[r]))
        np.add.at(out[r], tt, tr.d[r, ss])
    return out


def _placement(a: Assembler, inp: PlanInputs, core: CoreBlocks, tr: Tranches, G: np.ndarray) -> None:
    """Held chips placed on the contract's offerings, counted in their held units H."""
    C, O, T = len(inp.contracts), inp.O, inp.T
    mask = np.stack([c.mask for c in inp.contracts])                       # [C, O]
    P = a.add_cols("cP", np.broadcast_to(mask[:, :, None], (C, O, T)))
    rP = a.add_rows("contract_placed", np.ones((C, T), bool), lo=0.0, hi=0.0, unit="chips")
    a.coef(rP[:, None, :], P, 1.0)
    a.coef(rP[tr.owner], G, -1.0)
    a.coef(core.rH[None, :, :], P, -1.0 / core.chips[None, :, None])


def contract_units(inp: PlanInputs, model, x: np.ndarray) -> np.ndarray:
    """[O, T] units held through contracts at point x (zeros without contracts). The solver's
    tolerance leaves chips of 1e-12 where it means none: those read as 0."""
    if "cP" not in model.cols:
        return np.zeros((inp.O, inp.T))
    chips = model.value("cP", x).sum(axis=0)
    return np.where(np.abs(chips) < SOLVER_NOISE_CHIPS, 0.0, chips) / inp.unit_chips[:, None]


__all__ = ["Tranches", "add_contracts", "contract_units", "tranches"]
