"""What a plan asks to sign and what it delivers: the procurement schedule and demand against capacity.

`procurement_rows()` lists every new commitment the plan starts (month, vendor, provider, offering, term)
with its units, chips, monthly and whole-term USD, split into what falls inside the horizon and what is
owed after it; `owed_after_by_vendor()` sums the latter (it adds up to `PlanResult.obligation_after_usd`).
`demand_capacity_rows()` sets each service's demand (peak tokens/s) against the tokens/s its allocated
chips deliver at the plan's rates (the MILP allocates exactly what demand needs, so the headroom comes
from held chips left idle); `training_rows()` the tokens planned against those required.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .inputs import C1, C3, TERM_LABEL, TERM_MONTHS, TERMS

PROCUREMENT_FIELDS = ("month", "vendor", "provider", "offering", "accelerator", "region", "term", "term_months",
                      "units", "chips", "monthly_usd", "term_usd", "in_horizon_usd", "after_horizon_usd")


def procurement_rows(result) -> list[dict]:
    """One row per (offering, term, month) where the plan starts a commitment, in month order."""
    if not result.feasible:
        return []
    inp, f = result.inputs, result.inputs.facts
    cpu = np.nan_to_num(inp.cost_per_unit_month(), nan=0.0)                        # [O, K]
    rows = []
    for k in (C1, C3):
        L = int(TERM_MONTHS[k])
        for o, t in zip(*np.nonzero(result.starts[:, k, :] > 0)):
            units = float(result.starts[o, k, t])
            monthly = units * cpu[o, k]
            inside = min(L, inp.T - int(t))
            rows.append({"month": inp.months[t], "vendor": f.vendor[o], "provider": f.provider[o],
                         "offering": f.ids[o], "accelerator": f.accelerator[o], "region": f.region[o],
                         "term": TERM_LABEL[TERMS[k]], "term_months": L, "units": int(round(units)),
                         "chips": int(round(units * inp.unit_chips[o])), "monthly_usd": monthly,
                         "term_usd": monthly * L, "in_horizon_usd": monthly * inside,
                         "after_horizon_usd": monthly * (L - inside), "_t": int(t)})
    rows.sort(key=lambda r: (r["_t"], r["vendor"], r["provider"], r["offering"], r["term_months"]))
    for r in rows:
        del r["_t"]
    return rows


def group_rows(rows: Sequence[dict], keys: Sequence[str]) -> list[dict]:
    """Procurement rows summed over everything but `keys` (chips, units and USD), in first-seen order."""
    out: dict[tuple, dict] = {}
    for r in rows:
        key = tuple(r[k] for k in keys)
        g = out.setdefault(key, {**{k: r[k] for k in keys}, "units": 0, "chips": 0, "monthly_usd": 0.0,
                                 "term_usd": 0.0, "in_horizon_usd": 0.0, "after_horizon_usd": 0.0})
        for m in ("units", "chips", "monthly_usd", "term_usd", "in_horizon_usd", "after_horizon_usd"):
            g[m] += r[m]
    return list(out.values())


def owed_after_by_vendor(result) -> dict[str, float]:
    """USD of new commitments falling after the horizon, per vendor (largest first)."""
    totals: dict[str, float] = {}
    for r in procurement_rows(result):
        totals[r["vendor"]] = totals.get(r["vendor"], 0.0) + r["after_horizon_usd"]
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))


def capacity_tokens(result) -> np.ndarray:
    """[W, T] tokens/h the chips allocated to each workload deliver at the plan's rates."""
    return (result.allocation * result.inputs.rate[:, :, None]).sum(axis=1)


def spare_tokens(result) -> np.ndarray:
    """[W, T] tokens/h the firm chips no workload is allocated could deliver to each workload (the same
    idle chip counts for every workload it suits: shared, not additive)."""
    idle = np.maximum(result.firm_chips - result.allocation.sum(axis=0), 0.0)         # [O, T]
    return result.inputs.rate @ idle


def demand_capacity_rows(result) -> list[dict]:
    """Per workload with fixed demand and month: demand, allocated capacity and idle capacity that could
    serve it, in tokens/s; headroom = (allocated + idle) / demand - 1."""
    if not result.feasible:
        return []
    inp = result.inputs
    cap, spare = capacity_tokens(result) / 3600.0, spare_tokens(result) / 3600.0
    dem = inp.demand / 3600.0
    rows = []
    for w in np.flatnonzero(~inp.windowed):
        for t, m in enumerate(inp.months):
            d, c, s = float(dem[w, t]), float(cap[w, t]), float(spare[w, t])
            rows.append({"workload": inp.workloads[w], "kind": inp.kinds[w], "month": m,
                         "demand_tokens_per_s": d, "capacity_tokens_per_s": c, "spare_tokens_per_s": s,
                         "headroom_share": (c + s) / d - 1.0 if d > 0 else None})
    return rows


def training_rows(result) -> list[dict]:
    """Per training run with a window: tokens planned inside the window against the tokens required."""
    if not result.feasible:
        return []
    inp = result.inputs
    cap = capacity_tokens(result) * inp.hours                                        # tokens per month
    rows = []
    for w in np.flatnonzero(inp.windowed):
        months = np.flatnonzero(inp.window[w])
        planned = float((cap[w] * inp.window[w]).sum())
        required = float(inp.window_tokens[w] * inp.hours)
        rows.append({"workload": inp.workloads[w], "window": f"{inp.months[months[0]]}..{inp.months[months[-1]]}"
                     if months.size else "", "tokens_required": required, "tokens_planned": planned,
                     "planned_share": planned / required if required > 0 else None})
    return rows
