"""Report sections for what a plan signs and delivers: the procurement schedule, demand against capacity
per service (and training tokens planned against required), and lock-in over time."""

from __future__ import annotations

import numpy as np

from ..plan.lockin import LockIn
from ..plan.schedule import demand_capacity_rows, group_rows, owed_after_by_vendor, procurement_rows, training_rows
from . import units
from .html import Section, bullets, esc, pct, table

PROC_COLS = [("month", "month"), ("vendor", "vendor"), ("provider", "provider"), ("term", "term"),
             ("units", "units"), ("chips", "chips"), ("monthly_usd", "per month"), ("term_usd", "over the term"),
             ("after_horizon_usd", "owed after horizon")]
USD = {k: units.money for k in ("monthly_usd", "term_usd", "after_horizon_usd", "owed_after_usd", "cost_usd",
                                "value_usd")}


def picked_months(months: tuple[str, ...], most: int = 8) -> list[int]:
    """At most `most` evenly spaced month indices, the last month always included."""
    step = max(1, -(-len(months) // most))
    idx = list(range(0, len(months), step))
    return idx if idx[-1] == len(months) - 1 else idx[:most - 1] + [len(months) - 1]


def procurement_section(result) -> Section:
    rows = group_rows(procurement_rows(result), ("month", "vendor", "provider", "term"))
    owed = owed_after_by_vendor(result)
    body = ("<p>New commitments the plan starts, by month, vendor, provider and term (per offering in "
            "<code>procurement.csv</code>). 'Over the term' is every monthly payment of the commitment, "
            "inside the horizon or after it.</p>")
    body += table(rows, PROC_COLS, {**USD, "chips": units.count}, left=("month", "vendor", "provider", "term"),
                  scroll=True) if rows else "<p class='note'>No new commitment.</p>"
    body += ("<p>Owed after the horizon, per vendor: " + esc(", ".join(f"{v} {units.money(x)}" for v, x in
                                                                         owed.items()) or "nothing")
             + f" (total {units.money(result.obligation_after_usd)}).</p>")
    contracts = getattr(result, "contracts", None)
    if contracts:
        body += "<h3>Contracts</h3>" + _contracts(contracts, result.inputs.months)
    return Section("Procurement schedule", body, "procurement")


def _contracts(contracts: list[dict], months: tuple[str, ...]) -> str:
    rows = []
    for c in contracts:
        delivered = c.get("delivered") or []
        opts = c.get("options") or []
        text = "; ".join(f"{o.get('id')}: {'exercised' if o.get('exercised') else 'not exercised'}, "
                         f"worth {units.money(o.get('value_usd'))}" for o in opts)
        rows.append({**c, "delivered_total": float(np.nansum(delivered)) if len(delivered) else None,
                     "options_text": text or "-"})
    cols = [("id", "contract"), ("counterparty", "with"), ("accelerator", "chip"), ("signed", "signed"),
            ("source", "source"), ("delivered_total", "chip-months delivered"), ("cost_usd", "cost in horizon"),
            ("owed_after_usd", "owed after"), ("options_text", "options")]
    return table(rows, cols, {**USD, "delivered_total": units.count},
                 left=("id", "counterparty", "accelerator", "signed", "source", "options_text"))


def demand_section(result) -> Section:
    rows = demand_capacity_rows(result)
    months = result.inputs.months
    pick = picked_months(months)
    table_rows = []
    for w in dict.fromkeys(r["workload"] for r in rows):
        mine = [r for r in rows if r["workload"] == w]
        worst = min((r for r in mine if r["headroom_share"] is not None), key=lambda r: r["headroom_share"],
                    default=None)
        for key, label, f in (("demand_tokens_per_s", "demand (tokens/s)", units.count),
                              ("capacity_tokens_per_s", "allocated (tokens/s)", units.count),
                              ("spare_tokens_per_s", "idle, could serve it", units.count),
                              ("headroom_share", "headroom", pct)):
            table_rows.append({"workload": w if key.startswith("demand") else "", "measure": label,
                               **{months[t]: f(mine[t][key]) for t in pick},
                               "least": f"{pct(worst['headroom_share'])} in {worst['month']}"
                               if worst and key == "headroom_share" else ""})
    cols = [("workload", "workload"), ("measure", "")] + [(months[t], months[t]) for t in pick] + [
        ("least", "least headroom")]
    body = ("<p>Each workload's demand (a service's peak rate; a training workload's monthly tokens as a rate) "
            "against the tokens/s its allocated chips deliver at the plan's rates, and what held firm chips left "
            "idle could add (shared between the workloads they suit); headroom = (allocated + idle) / demand - 1. "
            "Selected months.</p>")
    body += table(table_rows, cols, left=("workload", "measure"))
    train = training_rows(result)
    if train:
        body += "<p>Training runs with a window: tokens planned inside it against tokens required.</p>" + table(
            train, [("workload", "run"), ("window", "window"), ("tokens_required", "required tokens"),
                    ("tokens_planned", "planned tokens"), ("planned_share", "planned / required")],
            {"tokens_required": _tokens, "tokens_planned": _tokens, "planned_share": pct}, left=("workload", "window"))
    return Section("Demand against capacity", body, "demand")


def _tokens(v) -> str:
    return f"{v:.3g}" if units.known(v) else units.NA


def lock_in_section(li: LockIn) -> Section:
    months = li.months
    pick = picked_months(months)
    rows = [{"what": "demand only one vendor can serve (tokens)", **{months[t]: li.by_month[t] for t in pick}}]
    if li.capacity is not None:
        rows.append({"what": "allocated chips that could not move to another vendor",
                     **{months[t]: li.capacity.chips_share[t] for t in pick}})
        if li.capacity.mw_share_horizon is not None:
            rows.append({"what": "allocated MW that could not move to another vendor",
                         **{months[t]: li.capacity.mw_share[t] for t in pick}})
    body = f"<p>{esc(li.line())}</p>" + table(rows, [("what", "")] + [(months[t], months[t]) for t in pick],
                                              {months[t]: pct for t in pick}, left=("what",))
    locked = [f"{w}: only {v[0] if v else 'no vendor'}" for w, v in zip(li.workloads, li.vendors) if len(v) <= 1]
    body += "<p>Single-vendor workloads:</p>" + bullets(locked)
    if li.porting:
        body += "<p>What porting would change:</p>" + bullets([p.text(li.share) + (
            f" (porting cost {units.money(p.porting_usd)})" if p.porting_usd else "") for p in li.porting])
    return Section("Lock-in", body, "lockin")
