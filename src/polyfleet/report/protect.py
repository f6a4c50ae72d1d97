"""Report sections for the fleet simulation (one run) and the Monte Carlo risk analysis."""

from __future__ import annotations

import numpy as np

from . import plots, units
from .html import Section, bullets, esc, figure, pct, table


def _money(v) -> str:
    return units.money(v)


def simulation_sections(setup, run, events_note: str = "") -> list[Section]:
    """A single simulated run: served share over time with incidents, class summary, incidents, costs."""
    inf = setup.inference
    served = run.served_share(inf)
    rows = [{"class": c, "served": served[i], "worst_hour_loss": run.worst_hour_loss[i],
             "worst_day_loss": run.worst_day_loss[i], "slo": run.slo_attainment[i]}
            for i, c in enumerate(run.classes)]
    body = table(rows, [("class", "class (priority order)"), ("served", "served"),
                        ("worst_hour_loss", "worst hour lost"), ("worst_day_loss", "worst day lost"),
                        ("slo", "steps within SLO")],
                 {"served": pct, "worst_hour_loss": pct, "worst_day_loss": pct, "slo": pct}, left=("class",))
    if run.series is not None:
        hourly = run.series["hourly_served_share"]
        hours = np.arange(len(hourly)) + 0.5
        spans = [(i.start_day * 24, i.start_day * 24 + i.hours, i.label) for i in run.incidents
                 if i.unserved_tokens.sum() > 0]
        body += figure(plots.served_over_time(hours, {c: hourly[:, k] for k, c in enumerate(run.classes)
                                                      if np.isfinite(hourly[:, k]).all()}, spans,
                                              "Inference demand served, hourly (shaded: incidents that cost service)"))
    body += f"<p class='note'>{esc(events_note)}</p>" if events_note else ""
    out = [Section("Simulated year: service by class", body, "sim-service")]
    inc = sorted(run.incidents, key=lambda i: -float((i.unserved_tokens * setup.loss_usd_per_mtok).sum()))
    irows = [{"incident": i.label, "day": i.start_day, "hours": i.hours, "impact_hours": i.impact_hours,
              "lost_mtok": i.unserved_tokens.sum() / 1e6,
              "loss_usd": float((i.unserved_tokens * setup.loss_usd_per_mtok).sum() / 1e6),
              "customers": i.customers_affected, "customer_hours": i.customer_hours} for i in inc[:25]]
    out.append(Section("Incidents that touched the fleet", table(
        irows, [("incident", "incident"), ("day", "day"), ("hours", "hours"), ("impact_hours", "hours with loss"),
                ("lost_mtok", "tokens lost (M)"), ("loss_usd", "value lost"), ("customers", "customers hit"),
                ("customer_hours", "customer-hours")], {"loss_usd": _money}, left=("incident",), scroll=True)
        + f"<p class='note'>{len(run.incidents)} capacity incidents touched this fleet; the table lists the 25 "
          "costliest. Customers share a shortfall in proportion to their size.</p>", "sim-incidents"))
    train = [(w, run.training_delay_days[i]) for i, w in enumerate(run.workloads)
             if setup.kinds[i] == "training" and run.demand_tokens[i].sum() > 0]
    money = [f"planned cost of the simulated months {_money(run.cost_planned_usd)}; actual with price shocks "
             f"{_money(run.cost_actual_usd)}",
             f"commitment value stranded by new generations: {_money(run.stranded_usd)}",
             f"energy: {run.energy_mwh / 1e3:,.0f} GWh at the facility",
             f"{run.placements} distinct fleet states were placed; {run.customers:,} customers modelled"]
    money += [f"training {w}: {d:.1f} days behind plan (failures, outages, supply)" for w, d in train]
    out.append(Section("Money, energy and training", bullets(money), "sim-money"))
    return out


def risk_sections(risk) -> list[Section]:
    """The Monte Carlo comparison of strategies under the same fault timelines."""
    thr = risk.threshold
    rows = risk.rows()
    classes = risk.strategies[0].classes
    cols = [("strategy", "strategy"), ("planned_cost_usd", "planned cost"), ("expected_cost_usd", "expected cost"),
            ("cvar95_total_usd", "CVaR95 all-in")]
    fmts = {"planned_cost_usd": _money, "expected_cost_usd": _money, "cvar95_total_usd": _money}
    for c in classes[:3]:
        cols += [(f"{c}_unserved_mean", f"{c} lost (mean)"), (f"{c}_unserved_p99", f"{c} lost (P99)"),
                 (f"{c}_p_day_loss_gt_{thr:g}", f"P({c} loses >{thr:.0%} in a day)")]
        fmts.update({f"{c}_unserved_mean": pct, f"{c}_unserved_p99": pct, f"{c}_p_day_loss_gt_{thr:g}": pct})
    body = table(rows, cols, fmts, left=("strategy",), scroll=True)
    body += (f"<p class='note'>{risk.runs} runs of {risk.months} months, seed {risk.seed}; every strategy ran "
             "through the same fault timelines and traffic (common random numbers). All-in = money spent + "
             "commitments stranded + value of demand lost; CVaR95 = mean of the worst 5% of runs.</p>")
    names = [s.name for s in risk.strategies]
    body += figure(plots.distributions(names, [s.total_usd / 1e9 for s in risk.strategies],
                                       "all-in cost of the simulated months (USD billions)",
                                       "Loss distribution per strategy (all-in cost over runs)"))
    top = classes[0]
    body += figure(plots.distributions(names, [s.unserved_share[:, 0] * 100 for s in risk.strategies],
                                       f"{top} demand lost (%)", f"{top}: share of demand lost, over runs"))
    out = [Section("Risk: strategies side by side", body, "risk-compare")]
    tails = []
    for s in risk.strategies:
        for d in s.tail_incidents[:5]:
            tails.append({"strategy": s.name, **d})
    out.append(Section("What drives the tail", table(
        tails, [("strategy", "strategy"), ("incident", "incident"), ("occurrences", "times in the worst 5% of runs"),
                ("loss_usd", "value lost per tail run"), ("customer_hours", "customer-hours per tail run")],
        {"loss_usd": _money}, left=("strategy", "incident"), scroll=True), "risk-tail"))
    return out
