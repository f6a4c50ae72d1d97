"""Why a scenario is infeasible, in plain words: never a bare "infeasible".

The model is re-solved with a penalised slack on every demand, deadline, survivability, supply,
ramp, power, cap and budget row, each slack measured as a share of its row's size, and without
the cost objective: the solver finds the smallest relative violations that make the plan
possible. Each non-zero slack is one named conflict (which constraint, which months, by how much),
and the limits at their bound in those months are listed as what stands in the way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..solvers import Milp
from .binding import LIMIT_WORDS, month_ranges, tight_rows
from .clusters import unplaceable_runs
from .inputs import PlanInputs
from .solve import Solution, SolveOptions, solve

GE_KINDS = ("demand", "window", "survive")
ONE_CLUSTER_WORDS = ("with training runs split over clusters and start months a plan exists: holding each run "
                     "whole on one cluster at one chip count is what cannot hold (whole units aside); runs: ")
LE_KINDS = ("supply", "ramp", "power", "cap", "budget", "site")


@dataclass(frozen=True)
class Conflict:
    kind: str
    entity: str
    group: str
    months: tuple[int, ...]
    worst_share: float                  # largest violation as a share of the row's size
    worst_amount: float                 # in natural units
    unit: str
    text: str

    def to_dict(self, labels: tuple[str, ...]) -> dict:
        return {"kind": self.kind, "constraint": self.entity, "failure_set": self.group or None,
                "months": [labels[m] for m in self.months if m >= 0], "worst_share": self.worst_share,
                "worst_amount": self.worst_amount, "unit": self.unit, "text": self.text}


@dataclass
class Diagnosis:
    conflicts: list[Conflict] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)        # limits at their bound where conflicts are
    unservable: list[str] = field(default_factory=list)    # workloads no offering can run
    status: str = ""
    remedies: list[Conflict] = field(default_factory=list)  # the least rise of limits that serves all demand

    def lines(self) -> list[str]:
        out = list(self.unservable) + [c.text for c in self.conflicts]
        if self.limits:
            out.append("limits at their bound there: " + "; ".join(self.limits))
        if self.remedies and any(c.kind not in LE_KINDS for c in self.conflicts):
            out.append("to serve every demand in full instead: " + "; ".join(c.text for c in self.remedies))
        return out or [f"the relaxed model found no violation (solver status: {self.status})"]


def unservable_workloads(inp: PlanInputs) -> list[str]:
    """Workloads with demand that no offering in the plan can run, with the reasons per chip."""
    out = []
    has_demand = (inp.demand > 0).any(axis=1) | inp.windowed
    for w in np.flatnonzero(has_demand & ~(inp.rate > 0).any(axis=1)):
        why: dict[str, set[str]] = {}
        for o in range(inp.O):
            why.setdefault(str(inp.reasons[w, o]) or "rate 0", set()).add(inp.facts.accelerator[o])
        detail = "; ".join(f"{', '.join(sorted(a))}: {r}" for r, a in why.items())
        out.append(f"no offering in the plan can run {inp.workloads[w]} ({detail})")
    return out


def _elastic(model: Milp, kinds: tuple[str, ...] | None = None) -> tuple[Milp, np.ndarray, np.ndarray]:
    """The model with one slack column per elastic row (of `kinds`, default all); costs = 1 / row size;
    no other cost."""
    rows, signs, weights = [], [], []
    for b in model.row_blocks:
        if not b.elastic or (kinds is not None and b.kind not in kinds):
            continue
        r = b.rows
        bound = model.row_lo[r] if b.kind in GE_KINDS else model.row_hi[r]
        size = np.where(np.abs(bound) > 1e-9, np.abs(bound), 1.0)
        rows.append(r)
        signs.append(np.full(len(r), 1.0 if b.kind in GE_KINDS else -1.0))
        weights.append(1.0 / size)
    r = np.concatenate(rows) if rows else np.zeros(0, int)
    sg = np.concatenate(signs) if signs else np.zeros(0)
    wt = np.concatenate(weights) if weights else np.zeros(0)
    S = sp.csc_matrix((sg, (r, np.arange(len(r)))), shape=(model.num_rows, len(r)))
    el = Milp(A=sp.hstack([model.A, S], format="csc"), cost=np.concatenate([np.zeros(model.num_cols), wt]),
              col_lo=np.concatenate([model.col_lo, np.zeros(len(r))]),
              col_hi=np.concatenate([model.col_hi, np.full(len(r), np.inf)]), row_lo=model.row_lo,
              row_hi=model.row_hi, integer=np.concatenate([model.integer, np.zeros(len(r), bool)]), offset=0.0,
              cols=model.cols, row_blocks=model.row_blocks)
    return el, r, wt


def diagnose(inp: PlanInputs, model: Milp, options: SolveOptions = SolveOptions(),
             failure_labels: dict[str, str] | None = None) -> Diagnosis:
    """Name the constraints that cannot hold together."""
    blocks = getattr(model, "blocks", None)
    diag = Diagnosis(unservable=unservable_workloads(inp) + (unplaceable_runs(inp, blocks.pools) if blocks else []))
    if blocks is not None and blocks.clusters is not None and solve(model, options, relax=True).has_solution:
        diag.unservable.append(ONE_CLUSTER_WORDS + ", ".join(np.array(inp.workloads)[inp.windowed]))
    labels = failure_labels or {}
    sol, rows, wt = _least_violation(model, options, None)
    diag.status = sol.status
    if sol.x is None:
        return diag
    slack = sol.x[model.num_cols:]
    hot = slack * wt > 1e-6
    diag.conflicts = _conflicts(inp, model, slack, rows, wt, labels)
    conflicts_months = {m for c in diag.conflicts for m in c.months}
    if any(c.kind not in LE_KINDS for c in diag.conflicts):
        limits_only, r2, w2 = _least_violation(model, options, LE_KINDS)
        if limits_only.x is not None:
            diag.remedies = _conflicts(inp, model, limits_only.x[model.num_cols:], r2, w2, labels)
    # the limits sitting at their bound in the conflicting months
    fake = Solution("", False, True, 0.0, None, None, 0.0, sol.x[: model.num_cols], sol.row_activity)
    tight = tight_rows(model, fake)
    for b in model.row_blocks:
        if b.kind not in LE_KINDS:
            continue
        pos = np.searchsorted(rows, b.rows)
        at = tight[b.rows] & ~hot[pos] & np.isin(b.month, list(conflicts_months))
        for ent in dict.fromkeys(b.entity[at].tolist()):
            ms = b.month[at][b.entity[at] == ent]
            diag.limits.append(f"{LIMIT_WORDS[b.kind]} '{ent}' ({month_ranges(ms, inp.months)})")
    return diag


def _least_violation(model: Milp, options: SolveOptions, kinds: tuple[str, ...] | None):
    """The smallest relative violations of the elastic rows (of `kinds`) that make a plan possible."""
    el, rows, wt = _elastic(model, kinds)
    sol = solve(el, options, relax=True)
    if sol.x is not None and sol.objective is not None and sol.objective < 1e-7 and model.integer.any():
        sol = solve(el, SolveOptions(mip_rel_gap=1e-3, time_limit=options.time_limit))   # integrality is the cause
    return sol, rows, wt


def _conflicts(inp: PlanInputs, model: Milp, slack: np.ndarray, rows: np.ndarray, wt: np.ndarray,
               labels: dict[str, str]) -> list[Conflict]:
    """One named conflict per constraint (and failure set) whose slack is used."""
    rel = slack * wt
    hot = rel > 1e-6
    out = []
    for b in model.row_blocks:
        if not b.elastic or not np.isin(b.rows, rows).all():
            continue
        pos = np.searchsorted(rows, b.rows)
        h = hot[pos]
        if not h.any():
            continue
        key = b.entity[h] if b.kind != "survive" else np.array([f"{b.group}|{e}" for e in b.entity[h]], dtype=object)
        for ent in dict.fromkeys(key.tolist()):
            sel = key == ent
            idx = pos[h][sel]
            months = tuple(sorted(set(b.month[h][sel].tolist())))
            share = float(rel[idx].max())
            amount = float((slack[idx] * b.scale[h][sel]).max())
            out.append(_conflict(b.kind, str(ent), b.group, months, share, amount, b.unit, inp, labels))
    return out


def _conflict(kind: str, ent: str, group: str, months: tuple[int, ...], share: float, amount: float, unit: str,
              inp: PlanInputs, labels: dict[str, str]) -> Conflict:
    when = month_ranges(months, inp.months)
    if kind == "demand":
        text = (f"demand of {ent} cannot be met in {when}: short by up to {share:.1%} "
                f"({_num(amount / 3600)} tokens/s)")
    elif kind == "window":
        text = f"training run {ent} cannot finish by its deadline: short by {share:.1%} of its tokens"
    elif kind == "survive":
        fid, wl = ent.split("|", 1)
        text = (f"survivability of {wl} under '{labels.get(fid, fid)}' cannot be met in {when}: "
                f"short by up to {share:.1%} of the required share")
    elif kind in ("power", "site"):
        text = f"{LIMIT_WORDS[kind]} '{ent}' would have to rise by up to {_num(amount)} MW ({share:.1%}) in {when}"
    elif kind == "supply":
        text = f"supply limit '{ent}' would have to rise by up to {_num(amount)} chips ({share:.1%}) in {when}"
    elif kind == "ramp":
        text = f"ramp limit '{ent}' would have to allow {_num(amount)} more chips a month in {when}"
    elif kind == "cap":
        text = f"concentration cap '{ent}' cannot hold in {when}: exceeded by up to {share:.1%} of capacity"
    elif kind == "budget":
        text = f"the budget would have to rise by up to ${_num(amount)} ({share:.1%}) in {when}"
    else:
        text = f"{kind} '{ent}' violated in {when}"
    return Conflict(kind, ent.split("|", 1)[-1], group, months, share, amount, unit, text)


def _num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
