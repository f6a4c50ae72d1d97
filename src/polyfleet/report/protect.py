"""Report sections for the fleet simulation (one run) and the Monte Carlo risk analysis.

The answer comes first (the risk comparison, or the simulated run), a short summary of the plan
behind it last, with a pointer to `plan --out` for the plan's own report.
"""

from __future__ import annotations

import math

import numpy as np

from ..sim.serve import CAUSES
from ..sim.training import TRAINING_CAUSES
from . import protect_plots as pp
from . import units
from .html import Section, bullets, esc, figure, pct, table
from .risk_doc import share, tail_rows
from .sim_doc import CAUSE_WORDS, key

TOP_INCIDENTS_SHADED = 6


def _money(v) -> str:
    return units.money(v)


def _num1(v) -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{v:,.1f}"


def _count(v) -> str:
    return units.count(v)


def _note(v) -> str:
    return "" if not v else (v if len(v) <= 160 else v[:157] + "...")


def _ci(fmt):
    """A cell formatter for 'value (lo-hi)' rows prepared by `_with_ci`."""
    return lambda v: v if isinstance(v, str) else fmt(v)


def _with_ci(rows: list[dict], formats: dict) -> list[dict]:
    out = []
    for r in rows:
        d = dict(r)
        for k, f in formats.items():
            if r.get(k) is None:
                d[k] = "n/a" if k in r else ""
                continue
            lo, hi = r.get(f"{k}_lo"), r.get(f"{k}_hi")
            ok = lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi)
            same = ok and f(lo) == f(hi) == f(r[k])
            d[k] = f"{f(r[k])} ({f(lo)}–{f(hi)})" if ok and not same else f(r[k])
        out.append(d)
    return out


def hourly_rows(run) -> list[dict]:
    """hourly.csv: each hour's date, served share per inference class, customers hit."""
    s = run.series or {}
    hourly = s.get("hourly_served_share")
    if hourly is None:
        return []
    cols = [k for k in range(len(run.classes)) if np.isfinite(hourly[:, k]).any()]
    return [{"hour_utc": run.calendar.stamp(h * 3600.0), **{run.classes[k]: float(hourly[h, k]) for k in cols},
             "customers_affected": int(s["hourly_customers_affected"][h]) if run.customers else None}
            for h in range(len(hourly))]


# ---- one simulated run ------------------------------------------------------------------------------

def simulation_sections(setup, run, doc: dict, events_note: str = "") -> list[Section]:
    """A simulated run: service by class with its causes, training against the plan, incidents, money."""
    out = [Section("Inference: demand served by class", _class_body(run, doc, events_note), "sim-service")]
    if doc["training"]:
        out.append(Section("Training against the plan", _training_body(doc), "sim-training"))
    out.append(Section("Incidents that touched the fleet", _incident_body(doc), "sim-incidents"))
    money = [f"planned cost of the {doc['scope']}: {_money(run.cost_planned_usd)}; actual with price shocks "
             f"{_money(run.cost_actual_usd)}",
             f"commitment value stranded by new generations: {_money(run.stranded_usd)}",
             f"energy: {run.energy_mwh / 1e3:,.0f} GWh at the facility",
             f"{run.placements} distinct fleet states were placed; customers modelled: {_count(doc['customers'])}"]
    out.append(Section("Money and energy", bullets(money + [f"note: {n}" for n in doc["notes"]]), "sim-money"))
    return out


def _class_body(run, doc, events_note) -> str:
    cols = [("class", "class (priority order)"), ("served_share", "served"), ("worst_hour_loss", "worst hour lost"),
            ("worst_day_loss", "worst day lost"), ("slo_attainment", "steps within SLO")]
    cols += [(f"lost_share_{c}", f"lost: {CAUSE_WORDS[c]}") for c in CAUSES]
    body = table(doc["classes"], cols, {k: pct for k, _ in cols[1:]}, left=("class",))
    body += f"<p class='note'>{esc(events_note)}. Lost shares are of the class's demand, by cause: " \
            f"{esc('; '.join(doc['cause_notes'][:3]))}.</p>"
    hourly = (run.series or {}).get("hourly_served_share")
    if hourly is not None:
        times = [run.calendar.at(h * 3600.0 + 1800.0) for h in range(len(hourly))]
        lost = {c: 1.0 - hourly[:, k] for k, c in enumerate(run.classes)
                if np.isfinite(hourly[:, k]).all() and (hourly[:, k] < 1.0).any()}
        worst = sorted((i for i in run.incidents if i.unserved_tokens.sum() > 0),
                       key=lambda i: -float(i.unserved_tokens.sum()))[:TOP_INCIDENTS_SHADED]
        spans = [(run.calendar.at(i.start_s), run.calendar.at(i.start_s + i.duration_s), i.label) for i in worst]
        whole = [c for k, c in enumerate(run.classes) if np.isfinite(hourly[:, k]).all() and c not in lost]
        if lost:
            body += figure(pp.lost_over_time(times, lost, spans, "Inference demand lost, hourly (shaded and "
                                                                  "numbered: the costliest incidents)"))
        if whole:
            body += f"<p class='note'>No hour lost any demand of: {esc(', '.join(whole))}.</p>"
            if spans:
                body += bullets([f"{k + 1}: {label}" for k, (_, _, label) in enumerate(spans)])
    return body


def _training_body(doc) -> str:
    cols = [("workload", "training run"), ("trained_share", "share of the plan's tokens trained"),
            ("delay_days", "days behind plan")] + [(f"delay_days_{key(c)}", CAUSE_WORDS[c]) for c in TRAINING_CAUSES]
    body = table(doc["training"], cols, {"trained_share": pct, **{k: _num1 for k, _ in cols[2:]}}, left=("workload",))
    body += figure(pp.delay_by_cause([r["workload"] for r in doc["training"]],
                                     {c: np.array([r[f"delay_days_{key(c)}"] for r in doc["training"]])
                                      for c in TRAINING_CAUSES}, "Days behind the plan's pace, by cause"))
    return body + f"<p class='note'>{esc(doc['cause_notes'][3])}.</p>"


def _incident_body(doc) -> str:
    rows = doc["incidents"][:25]
    cols = [("incident", "incident"), ("when", "when (UTC), length"), ("impact_hours", "hours with loss"),
            ("value_lost_usd", "value lost"), ("customers_affected", "customers hit"),
            ("customer_hours", "customer-hours")]
    return table(rows, cols, {"impact_hours": _num1, "value_lost_usd": _money, "customers_affected": _count,
                              "customer_hours": _count}, left=("incident", "when"), scroll=True) + (
        f"<p class='note'>{len(doc['incidents'])} capacity incidents touched this fleet; the table lists the 25 "
        "costliest. Value lost is what the incident cost beyond the intact fleet's own losses. Customers share a "
        "shortfall in proportion to their size; n/a where the incident cost a tier with no customer model.</p>")


# ---- Monte Carlo risk ------------------------------------------------------------------------------

def risk_sections(risk, doc: dict) -> list[Section]:
    """The answer first: headline, money, inference per class, training, tail; intervals shown."""
    thr = risk.threshold
    head = f"<p class='status'><b>{esc(doc['headline'])}</b></p>"
    head += (f"<p class='note'>{risk.runs} runs over the {esc(risk.scope)}, seed {risk.seed}; every strategy met the "
             "same fault timelines and traffic (common random numbers). Figures: value (95% interval) — t interval "
             "for means, Wilson for probabilities, bootstrap with a fixed seed for quantiles and CVaR.</p>")
    if doc["warnings"]:
        head += "<p class='status warn'>Too few runs for some figures:</p>" + bullets(doc["warnings"])
    money = _with_ci(doc["money"], {"planned_cost_usd": _money, "expected_cost_usd": _money,
                                    "expected_loss_usd": _money, "cvar95_total_usd": _money})
    body = head + table(money, [("strategy", "strategy"), ("planned_cost_usd", f"planned cost ({risk.scope})"),
                                ("expected_cost_usd", "expected cost"), ("expected_loss_usd", "expected value lost"),
                                ("cvar95_total_usd", "CVaR95 all-in"), ("note", "note")], {"note": _note},
                        left=("strategy", "note"))
    body += ("<p class='note'>All-in = money spent + commitments stranded + value of inference demand lost; CVaR95 = "
             "mean of the worst 5% of runs. A strategy with the same fleet as another ran once and is listed under "
             "both names.</p>")
    names = [s.name for s in risk.strategies]
    body += figure(pp.exceedance(names, [s.total_usd / 1e9 for s in risk.strategies],
                                 f"all-in cost over the {risk.scope} (USD billions, log scale)",
                                 "How often a strategy costs more than x, all in"))
    out = [Section("Risk: is diversification worth it?", body, "risk-answer")]
    out.append(Section("Inference demand lost, by class", _class_risk(risk, doc, thr), "risk-classes"))
    if doc["training"]:
        out.append(Section("Training against the plan", _training_risk(doc), "risk-training"))
    out.append(Section("What drives the tail", _tail(risk), "risk-tail"))
    return out


def _class_risk(risk, doc, thr) -> str:
    rows = _with_ci(doc["inference"], {"lost_mean": share, "lost_p95": share, "lost_p99": share, "p_day_loss": pct})
    body = table(rows, [("strategy", "strategy"), ("class", "class"), ("lost_mean", "mean lost"),
                        ("lost_p95", "P95 lost"), ("lost_p99", "P99 lost"),
                        ("p_day_loss", f"P(some day loses >{thr:.0%})")], left=("strategy", "class"))
    body += (f"<p class='note'>Share of the class's demand lost over a run. P(some day loses &gt;{thr:.0%}) = share "
             f"of runs in which at least one day of the class loses more than {thr:.0%} of that day's demand.</p>")
    first = risk.strategies[0]
    names = [s.name for s in risk.strategies]
    shown = [k for k in range(len(first.classes)) if np.isfinite(first.unserved_share[:, k]).any()]
    for k in shown[:2]:
        c = first.classes[k]
        body += figure(pp.exceedance(names, [s.unserved_share[:, k] * 100 for s in risk.strategies],
                                     f"{c}: demand lost over a run (%, log scale)",
                                     f"{c}: how often more than x is lost"))
    return body


def _training_risk(doc) -> str:
    rows = _with_ci(doc["training"], {"delay_mean": _num1, "delay_p95": _num1, "trained_share": pct})
    body = table(rows, [("strategy", "strategy"), ("workload", "training run"), ("delay_mean", "mean days behind"),
                        ("delay_p95", "P95 days behind"), ("trained_share", "share trained"),
                        ("main_cause", "main cause")], left=("strategy", "workload", "main_cause"))
    labels = [f"{r['strategy']} · {r['workload']}" for r in doc["training"]]
    body += figure(pp.delay_by_cause(labels, {c: np.array([r[f"delay_mean_{key(c)}"] for r in doc["training"]])
                                              for c in TRAINING_CAUSES},
                                     "Mean days behind the plan's pace, by cause (whisker: 95% interval of the mean)",
                                     np.array([r["delay_mean_lo"] for r in doc["training"]], dtype=float),
                                     np.array([r["delay_mean_hi"] for r in doc["training"]], dtype=float)))
    return body


def _tail(risk) -> str:
    rows = tail_rows(risk)
    if not rows:
        return "<p class='note'>No fault cost any service in the worst runs.</p>"
    k = rows[0]["tail_runs"]
    return table(rows, [("strategy", "strategy"), ("incident", "fault"),
                        ("runs_with_it", f"in how many of the worst {k} runs"),
                        ("loss_usd", "value lost per tail run"), ("customer_hours", "customer-hours per tail run")],
                 {"loss_usd": _money, "customer_hours": _count}, left=("strategy", "incident")) + (
        "<p class='note'>The worst 5% of runs by all-in cost (at least one). A fault is counted once per run however "
        "often it struck in it; n/a where no tier has a customer model.</p>")


# ---- the plan behind it, last ---------------------------------------------------------------------------

def plan_summary_section(result) -> Section:
    """A few lines about the plan the simulation ran, and where its full report comes from."""
    inp = result.inputs
    fams, chips = result.group_totals("family")
    last = {f: chips[i, -1] for i, f in enumerate(fams)}
    lines = [result.status_line,
             f"{len(inp.months)} months ({inp.months[0]} .. {inp.months[-1]}); total cost over the horizon "
             f"{_money(result.total_cost)}; commitment payments after it {_money(result.obligation_after_usd)}",
             f"chips in {inp.months[-1]}: " + ", ".join(f"{f} {v:,.0f}" for f, v in last.items() if v > 0)]
    return Section("The plan behind it", bullets(lines) + (
        "<p class='note'>The plan's own report (capacity, cost, power, shares, limits, survivability, the month x "
        "offering table and assumptions): <code>polyfleet plan SCENARIO --out DIR</code>.</p>"), "plan-summary")
