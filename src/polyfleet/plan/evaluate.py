"""How much of each priority class a fixed fleet still serves under each failure set.

For a fleet (firm chips per offering and month) and each failure set, one LP re-allocates the
surviving chips to maximise served demand, higher-priority classes first (weights grow with the
class's required share). Off-peak training flows may use the share of the services' chips idle
below their peak, through the plan's own block (`offpeak.py`). All failure sets are solved
together as one block LP. The result is the survivability table: the worst month's served share
of each class under each failure set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..solvers import Assembler
from .blocks import initial_firm_chips, make_pools
from .inputs import Contingency, PlanInputs
from .offpeak import off_peak_block
from .solve import SolveOptions, solve


@dataclass(frozen=True)
class Survivability:
    failures: tuple[str, ...]          # ids ("none" first: nothing fails)
    labels: tuple[str, ...]
    classes: tuple[str, ...]
    required: np.ndarray               # [C]
    served: np.ndarray                 # [F, C] worst-month served share (NaN where the class has no demand)
    served_all: np.ndarray             # [F] worst-month share of all demand
    worst_month: np.ndarray            # [F, C] month index of the worst share
    status: str

    def meets(self, tol: float = 1e-4) -> np.ndarray:
        """[F, C] the requirement holds (the no-failure row must serve everything)."""
        req = np.where(np.arange(len(self.failures))[:, None] == 0, 1.0, self.required[None, :])
        return np.isnan(self.served) | (self.served >= req - tol)

    def rows(self) -> list[dict]:
        out = []
        ok = self.meets()
        for f, fid in enumerate(self.failures):
            row = {"failure": fid, "label": self.labels[f], "all_demand": _f(self.served_all[f])}
            for c, cls in enumerate(self.classes):
                row[cls] = _f(self.served[f, c])
            row["meets_policy"] = bool(ok[f].all())
            out.append(row)
        return out


def _f(v: float) -> float | None:
    return None if not np.isfinite(v) else float(v)


def surviving_pool_chips(inp: PlanInputs, firm: np.ndarray, c: Contingency | None, member: np.ndarray) -> np.ndarray:
    """[P, T] chips each pool keeps under contingency c (None = nothing fails)."""
    if c is None:
        return member @ firm
    keep = np.where(c.delayed, 0.0, c.keep)
    out = member @ (firm * keep[:, None])
    if c.delayed.any() and c.delay > 0:
        d = member @ (firm * c.delayed[:, None])
        init = member @ (initial_firm_chips(inp) * c.delayed)
        earlier = np.concatenate([np.repeat(init[:, None], c.delay, axis=1), d], axis=1)[:, : inp.T]
        out = out + np.minimum(d, earlier)
    return out


def evaluate(inp: PlanInputs, firm: np.ndarray, served_plan: np.ndarray | None = None,
             contingencies: tuple[Contingency, ...] | None = None) -> Survivability:
    """Survivability of a fleet. `firm` [O, T] firm chips; `served_plan` [W, T] tokens/h the plan serves
    (used as the demand of windowed runs)."""
    conts = inp.contingencies if contingencies is None else contingencies
    pools = make_pools(inp)
    member = pools.sum_matrix(inp.O)
    feas = pools.rate > 0
    rate_s = pools.rate / pools.scale[:, None]
    demand = inp.demand.copy()
    if served_plan is not None:
        demand = np.where(inp.windowed[:, None], served_plan, demand)
    need = demand / pools.scale[:, None]                                        # [W, T]
    cls_need = inp.shares_t() * need[:, None, :]                                # [W, C, T]
    # served demand in two layers per class: up to its required share (weight 1e3: every class's
    # requirement first), then the rest (weight 1 + its requirement: higher classes before lower)
    req_need = inp.required[None, :, None] * cls_need
    extra_need = cls_need - req_need
    weight_req, weight_extra = 1e3, 1.0 + inp.required
    a = Assembler()
    cases: list[Contingency | None] = [None, *conts]
    handles = []
    with np.errstate(divide="ignore", invalid="ignore"):
        y_hi = np.where(feas[:, :, None], need[:, None, :] * pools.scale[:, None, None]
                        / np.where(feas, pools.rate, 1.0)[:, :, None], 0.0)
    for i, c in enumerate(cases):
        cap = surviving_pool_chips(inp, firm, c, member)                         # [P, T]
        y = a.add_cols(f"y{i}", feas[:, :, None] & (y_hi > 0) & (cap[None, :, :] > 1e-9), hi=y_hi)
        v = a.add_cols(f"v{i}", req_need > 0, hi=req_need, cost=-weight_req)
        e = a.add_cols(f"e{i}", extra_need > 0, hi=extra_need,
                       cost=-np.broadcast_to(weight_extra[None, :, None], cls_need.shape))
        rc = a.add_rows("capacity", np.ones(cap.shape, bool), hi=cap)
        a.coef(rc[None, :, :], y, 1.0)
        rs = a.add_rows("served", need > 0, lo=0.0)
        a.coef(rs[:, None, :], y, rate_s[:, :, None])
        a.coef(rs[:, None, :], v, -1.0)
        a.coef(rs[:, None, :], e, -1.0)
        off_peak_block(a, inp, f"o{i}", y, y_hi, rs, rate_s, y_hi > 0)
        handles.append(i)
    model = a.finish()
    sol = solve(model, SolveOptions(time_limit=60.0), relax=True)
    Fn, C = len(cases), len(inp.classes)
    served = np.full((Fn, C), np.nan)
    served_all = np.full(Fn, np.nan)
    worst = np.zeros((Fn, C), dtype=int)
    if sol.x is not None:
        tot_c = cls_need.sum(axis=0)                                             # [C, T]
        for i in handles:
            got = model.value(f"v{i}", sol.x) + model.value(f"e{i}", sol.x)      # [W, C, T]
            got_c = got.sum(axis=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(tot_c > 0, np.minimum(got_c / tot_c, 1.0), np.nan)   # [C, T]
                all_share = np.where(tot_c.sum(0) > 0, got_c.sum(0) / tot_c.sum(0), np.nan)
            for c in range(C):
                if np.isfinite(share[c]).any():
                    worst[i, c] = int(np.nanargmin(share[c]))
                    served[i, c] = float(np.nanmin(share[c]))
            if np.isfinite(all_share).any():
                served_all[i] = float(np.nanmin(np.minimum(all_share, 1.0)))
    keep = cls_need.sum(axis=(0, 2)) > 0                                        # classes with demand
    return Survivability(failures=("none", *[c.id for c in conts]),
                         labels=("nothing fails", *[c.label for c in conts]),
                         classes=tuple(c for c, k in zip(inp.classes, keep) if k), required=inp.required[keep],
                         served=served[:, keep], served_all=served_all, worst_month=worst[:, keep],
                         status=sol.status)
