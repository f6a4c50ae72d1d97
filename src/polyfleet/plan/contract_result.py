"""What each contract does in a solved plan: delivered, taken, held, placed, used, paid, owed, options.

`read_contracts` reads the contract columns back into plain dicts (the plan JSON's `contracts`);
`option_values` prices each exercised option by solving again without it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .blocks import PlanMilp
from .contracts import Tranches, tranches
from .inputs import PlanInputs
from .heuristic import solve_plan
from .solve import SolveOptions


def contract_month_cost(inp: PlanInputs, model: PlanMilp, x: np.ndarray) -> np.ndarray:
    """[T] USD paid for contracts each month inside the horizon (held chips x price, fees in their month)."""
    out = np.zeros(inp.T)
    if not inp.contracts:
        return out
    tr = tranches(inp)
    out += (np.round(model.value("cG", x), 6) * tr.price_m[:, None]).sum(axis=0)
    y = np.round(model.value("cy", x))
    for c, con in enumerate(inp.contracts):
        if y[c] > 0.5:
            out[con.cancel_from] += con.cancel_fee_usd
    return out


def read_contracts(inp: PlanInputs, model: PlanMilp, x: np.ndarray, allocation: np.ndarray,
                   held_chips: np.ndarray) -> list[dict]:
    """One dict per contract. `used` is an upper bound: the chips allocated to demand on the contract's
    offerings, shared among everything held there in proportion to the chips held."""
    if not inp.contracts:
        return []
    tr = tranches(inp)
    on = np.where(tr.fixed, 1.0, np.round(model.value("cu", x, fill=1.0)))
    y = np.round(model.value("cy", x))
    s, G = model.value("cs", x), model.value("cG", x)
    P = model.value("cP", x)                                                # [C, O, T]
    alloc = allocation.sum(axis=0)                                         # [O, T]
    share = np.divide(P, held_chips[None], out=np.zeros_like(P), where=held_chips[None] > 0)
    used = (share * alloc[None]).sum(axis=1)                               # [C, T]
    out = []
    for c, con in enumerate(inp.contracts):
        rs = np.flatnonzero(tr.owner == c)
        cancelled = bool(y[c] > 0.5)
        owed = 0.0 if cancelled else float((s[rs] * tr.tail[rs] * tr.price_m[rs, None]).sum())
        cost = float((G[rs] * tr.price_m[rs, None]).sum()) + (con.cancel_fee_usd if cancelled else 0.0)
        placed = {inp.offerings[o]: P[c, o].round(3).tolist() for o in np.flatnonzero(con.mask) if P[c, o].any()}
        out.append({
            "id": con.id, "counterparty": con.counterparty, "accelerator": con.accelerator, "signed": con.signed,
            "signed_in_plan": bool(on[tr.base[rs[0]]] > 0.5), "source": con.source, "min_take": con.min_take,
            "delivered": (tr.d[rs] * on[rs, None]).sum(axis=0).tolist(), "taken": s[rs].sum(axis=0).tolist(),
            "held": G[rs].sum(axis=0).tolist(), "placed": placed,
            "used": np.minimum(used[c], G[rs].sum(axis=0)).tolist(),
            "cost_in_horizon_usd": cost,
            "owed_after_horizon_usd": owed, "cancelled": cancelled,
            "cost_usd": cost, "owed_after_usd": owed,           # the names the board summary reads
            "cancel_from": inp.months[con.cancel_from] if con.cancel_from is not None else None,
            "cancel_fee_usd": con.cancel_fee_usd if con.cancel_from is not None else None,
            "tranches": [_tranche(inp, tr, r, con, on, s, G, cancelled) for r in rs],
            "options": [{"id": con.tranches[k].id, "exercised": bool(on[r] > 0.5), "value_usd": None}
                        for k, r in enumerate(rs) if k > 0]})
    return out


def _tranche(inp: PlanInputs, tr: Tranches, r: int, con, on, s, G, cancelled: bool) -> dict:
    """The arrays `check_invariants` needs to verify one tranche from the JSON alone."""
    k = r - tr.base[r]
    return {"id": con.tranches[k].id, "on": bool(on[r] > 0.5), "term_months": int(tr.L[r]),
            "usd_per_chip_hour": float(tr.price_m[r] / inp.hours), "min_take": float(tr.mt[r]),
            "delivered": tr.d[r].tolist(), "taken": s[r].tolist(), "held": G[r].tolist(),
            "released_from": con.cancel_from if cancelled else None}


def option_values(inp: PlanInputs, model: PlanMilp, objective: float, contracts: list[dict],
                  options: SolveOptions) -> None:
    """Fill `value_usd` of each option: the objective of the plan solved again with the option forbidden,
    minus this plan's (0 for an option not exercised: forbidding it changes nothing). In place."""
    if not contracts:
        return
    tr = tranches(inp)
    u = model.cols["cu"]
    for c, doc in enumerate(contracts):
        rs = np.flatnonzero(tr.owner == c)[1:]
        for r, opt in zip(rs, doc["options"]):
            if not opt["exercised"]:
                opt["value_usd"], opt["value_note"] = 0.0, "not exercised"
                continue
            hi = model.col_hi.copy()
            hi[u[r]] = 0.0
            sol, _ = solve_plan(inp, replace(model, col_hi=hi), options)
            if sol.has_solution:
                opt["value_usd"] = float(sol.objective - objective)
                opt["value_note"] = (f"re-solved without the option (HiGHS {sol.status}, gap "
                                     f"{sol.mip_gap if sol.mip_gap is not None else 0:.2%}): objective difference")
            else:
                opt["value_note"] = f"no plan without the option ({sol.status}): the option is needed"


__all__ = ["contract_month_cost", "option_values", "read_contracts"]
