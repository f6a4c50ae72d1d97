"""What `simulate` reports about one run, as plain rows: the JSON document, and the tables and
HTML sections built from it. Inference classes and training are reported apart; every shortfall
carries its causes; incidents carry dates; an unknown figure is None ("n/a"), never 0."""

from __future__ import annotations

import numpy as np

from ..sim.serve import CAUSES
from ..sim.training import TRAINING_CAUSES

CAUSE_WORDS = {"peaks": "traffic peaks", "repair": "chips in repair", "faults": "capacity faults",
               "placement": "placement", "chip failures": "chip failures", "outage": "outages",
               "preemption": "spot preemptions", "supply_cut": "supply cuts", "delivery_slip": "delivery slips"}
CAUSE_NOTES = (
    "traffic peaks: demand above what the intact fleet serves as placed for the month's peak (the daily cycle's top "
    "and traffic noise; the plan sizes each service for peak_factor x its mean, with no headroom)",
    "chips in repair: capacity out after chip failures (faults.chip_failures)",
    "capacity faults: outages, spot preemptions, supply cuts, delivery slips",
    "training: placement = whole inference replicas leave a run fewer chips than the plan gave it; chip failures = "
    "chips in repair and progress lost to the last checkpoint and the restart; overlapping faults share a "
    "shortfall in proportion to the chips each took",
)


def key(cause: str) -> str:
    return cause.replace(" ", "_")


def class_rows(setup, run) -> list[dict]:
    """One row per class with inference demand, priority order."""
    served = run.served_share()
    rows = []
    for k, c in enumerate(run.classes):
        demand = float(run.demand_tokens[run.inference, k].sum())
        if demand <= 0:
            continue
        row = {"class": c, "demand_tokens": demand, "served_tokens": float(run.served_tokens[run.inference, k].sum()),
               "served_share": float(served[k]), "worst_hour_loss": float(run.worst_hour_loss[k]),
               "worst_day_loss": float(run.worst_day_loss[k]), "slo_attainment": float(run.slo_attainment[k])}
        for cause in CAUSES:
            row[f"lost_share_{cause}"] = float(run.unserved_by_cause[cause][k]) / demand
        rows.append(row)
    return rows


def training_rows(setup, run) -> list[dict]:
    """One row per training workload the plan runs in the simulated months."""
    share = run.training_served_share()
    rows = []
    for i in np.flatnonzero(run.training):
        planned = float(run.demand_tokens[i].sum())
        if planned <= 0:
            continue
        row = {"workload": run.workloads[i], "planned_tokens": planned,
               "trained_tokens": float(run.served_tokens[i].sum()),
               "trained_share": float(share[i]), "delay_days": float(run.training_delay_days[i])}
        for cause in TRAINING_CAUSES:
            row[f"delay_days_{key(cause)}"] = float(run.training_delay_by_cause[cause][i])
        row["main_cause"] = main_cause({c: row[f"delay_days_{key(c)}"] for c in TRAINING_CAUSES})
        rows.append(row)
    return rows


def main_cause(days: dict[str, float]) -> str | None:
    """The cause with the most days, or None when the run is not behind."""
    cause, value = max(days.items(), key=lambda kv: kv[1])
    return CAUSE_WORDS[cause] if value > 0.05 else None


def incident_rows(setup, run) -> list[dict]:
    """Every capacity incident that touched the fleet, costliest first. Customers are counted only in
    tiers with a customer model: where the incident cost a tier without one, the count is unknown
    (None, "n/a") and the tiers are named."""
    modelled = run.modelled_classes if run.modelled_classes is not None else np.zeros(len(run.classes), bool)
    rows = []
    for i in run.incidents:
        blind = [c for k, c in enumerate(run.classes) if i.unserved_tokens[k] > 0 and not modelled[k]]
        known = bool(modelled.any()) and not blind
        rows.append({"incident": i.what, "when": i.when, "start": run.calendar.stamp(i.start_s), "hours": i.hours,
                     "kind": i.kind, "target": f"{i.target_kind}:{i.target}", "impact_hours": i.impact_hours,
                     "unserved_tokens": float(i.unserved_tokens.sum()),
                     "value_lost_usd": float((i.unserved_tokens * setup.loss_usd_per_mtok).sum() / 1e6),
                     "customers_affected": i.customers_affected if known else None,
                     "customer_hours": i.customer_hours if known else None,
                     "customers_affected_in_modelled_tiers": i.customers_affected if modelled.any() else None,
                     "tiers_without_customer_model": blind, "sampled": i.sampled})
    return sorted(rows, key=lambda d: -d["value_lost_usd"])


def run_notes(setup, run, sampled: bool, chip_failures: bool) -> list[str]:
    """What a reader must know to read the numbers."""
    notes = []
    if run.months < run.horizon_months:
        notes.append(f"simulated the first {run.months} of the plan's {run.horizon_months} months; costs cover those "
                     "months only")
    if not chip_failures:
        notes.append("no chip failures (--no-faults): nothing in repair, no training progress lost")
    gang = setup.training_chips
    runs = setup.runs[:, :, :setup.months]
    for i in np.flatnonzero(~setup.inference):
        held = runs[i].sum(axis=0)
        short = (held > 0) & (held < gang[i] - 0.5)
        if short.any():
            notes.append(f"the plan gives {setup.workloads[i]} fewer chips than its {gang[i]:,.0f}-chip gang in "
                         f"{int(short.sum())} month(s) (as few as {held[short].min():,.1f}): simulated as the plan "
                         "has it, a gang running part of the time")
    return notes


def run_doc(setup, run, *, seed: int, sampled: bool, chip_failures: bool, what_if: list[str]) -> dict:
    """The JSON document of one simulated run."""
    cal = run.calendar
    return {"strategy": run.strategy, "seed": seed, "sampled_faults": sampled, "chip_failures": chip_failures,
            "what_if": list(what_if), "months": run.months, "horizon_months": run.horizon_months,
            "scope": run.scope, "start": cal.stamp(0.0), "end": cal.stamp(setup.horizon_s),
            "hours_per_month": cal.hours_per_month, "step_minutes": setup.options.step_minutes,
            "classes": class_rows(setup, run), "training": training_rows(setup, run),
            "incidents": incident_rows(setup, run),
            "cost_planned_usd": run.cost_planned_usd, "cost_actual_usd": run.cost_actual_usd,
            "stranded_commitment_usd": run.stranded_usd, "energy_mwh": run.energy_mwh,
            "customers": run.customers if run.customers else None, "placements": run.placements,
            "top_customer_loss_tokens": list(run.top_customer_loss_tokens) if run.customers else None,
            "notes": run_notes(setup, run, sampled, chip_failures), "cause_notes": list(CAUSE_NOTES)}
