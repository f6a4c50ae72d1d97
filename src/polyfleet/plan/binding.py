"""What limits the plan: constraints at their limit, in plain words, with their marginal value.

A limit (power, supply, ramp, concentration cap, budget, survivability) is reported as binding
when the plan sits at it (slack within 0.1% of the row's size) and, where the LP relaxation was
solved, its dual is non-zero there: relaxing it would lower the cost. The shadow price is the LP
relaxation's, per unit of the limit per month.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..solvers import Milp
from .solve import Solution

LIMIT_KINDS = ("power", "supply", "ramp", "cap", "budget", "survive", "site")
LIMIT_WORDS = {"power": "power limit", "supply": "supply limit", "ramp": "ramp limit", "cap": "concentration cap",
              "budget": "budget", "survive": "survivability", "window": "training deadline", "site": "power site"}
PRICE_UNIT = {"power": "USD per MW-month", "site": "USD per MW-month", "supply": "USD per chip-month", "ramp": "USD per chip",
              "budget": "USD per USD", "cap": "USD per unit of share"}


def month_ranges(idx, labels: tuple[str, ...]) -> str:
    """[2, 3, 4, 8] -> '2026-03..2026-05, 2026-09'."""
    idx = sorted(int(i) for i in idx if i >= 0)
    if not idx:
        return ""
    parts, start, prev = [], idx[0], idx[0]
    for i in idx[1:] + [None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        parts.append(labels[start] if start == prev else f"{labels[start]}..{labels[prev]}")
        if i is not None:
            start = prev = i
    return ", ".join(parts)


@dataclass(frozen=True)
class Binding:
    kind: str
    entity: str
    group: str
    months: tuple[int, ...]
    shadow_price: float | None         # largest |dual| over those months, natural units
    price_unit: str
    text: str

    def to_dict(self, labels: tuple[str, ...]) -> dict:
        return {"kind": self.kind, "constraint": self.entity, "failure_set": self.group or None,
                "months": [labels[m] for m in self.months if m >= 0], "shadow_price": self.shadow_price,
                "shadow_price_unit": self.price_unit if self.shadow_price is not None else None, "text": self.text}


def tight_rows(model: Milp, sol: Solution, rel_tol: float = 1e-3) -> np.ndarray:
    """[rows] bool: the row's activity is at one of its bounds (within rel_tol of the row's size)."""
    act = sol.row_activity
    size = abs(model.A) @ np.abs(sol.x) if sol.x is not None else np.zeros(model.num_rows)
    size = np.asarray(size).ravel()
    tol = np.maximum(1e-6, rel_tol * np.maximum(size, np.maximum(np.abs(np.nan_to_num(model.row_hi, posinf=0)),
                                                                  np.abs(np.nan_to_num(model.row_lo, neginf=0)))))
    at_hi = np.isfinite(model.row_hi) & (model.row_hi - act <= tol)
    at_lo = np.isfinite(model.row_lo) & (act - model.row_lo <= tol)
    return at_hi | at_lo


def binding_constraints(model: Milp, sol: Solution, months: tuple[str, ...], relaxation: Solution | None = None,
                        failure_labels: dict[str, str] | None = None) -> list[Binding]:
    """Binding limits of a solved plan, grouped by constraint, months compressed into ranges."""
    if sol.x is None:
        return []
    tight = tight_rows(model, sol)
    duals = relaxation.row_dual if relaxation is not None and relaxation.row_dual is not None else None
    labels = failure_labels or {}
    out: list[Binding] = []
    for block in model.row_blocks:
        if block.kind not in LIMIT_KINDS:
            continue
        rows = block.rows
        hit = tight[rows]
        if duals is not None:
            hit &= np.abs(duals[rows]) > 1e-7 * np.maximum(1.0, np.abs(model.cost).max(initial=1.0))
        if not hit.any():
            continue
        ents = block.entity[hit]
        mons = block.month[hit]
        dual_nat = None if duals is None else np.abs(duals[rows][hit]) / block.scale[hit]
        key = ents if block.kind != "survive" else np.full(len(ents), block.group, dtype=object)
        for ent in dict.fromkeys(key.tolist()):
            sel = key == ent
            mset = tuple(sorted(set(mons[sel].tolist())))
            price = float(dual_nat[sel].max()) if dual_nat is not None and block.kind in PRICE_UNIT else None
            when = month_ranges(mset, months)
            if block.kind == "survive":
                who = ", ".join(dict.fromkeys(ents[sel].tolist()))
                text = f"surviving '{labels.get(block.group, block.group)}' limits the plan in {when} ({who})"
                name = labels.get(block.group, block.group)
            elif block.kind == "budget":
                text, name = f"the budget limits months {when}", "budget"
            elif block.kind == "window":
                text, name = f"the deadline of training run {ent} limits the plan", str(ent)
            else:
                text, name = f"{LIMIT_WORDS[block.kind]} '{ent}' limits months {when}", str(ent)
            if price is not None:
                text += f" (worth ${price:,.0f} {PRICE_UNIT[block.kind].replace('USD ', '')})"
            out.append(Binding(block.kind, name, block.group, mset, price, PRICE_UNIT.get(block.kind, ""), text))
    return out
