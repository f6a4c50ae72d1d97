"""A self-contained HTML report: inline CSS and SVG figures, no scripts, opens offline.

The page is a list of `Section`s, so every engine adds its own (the plan's are built in
`plan_sections()`; placement and risk simulation add theirs later) and `render()` joins them.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import units

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#1d1d1f;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem;
margin-top:2rem}.sub{color:#666;margin-top:0}table{border-collapse:collapse;font-size:.82rem;margin:.6rem 0}
th,td{padding:.2rem .55rem;border-bottom:1px solid #eee;text-align:right}th{background:#f6f6f8;position:sticky;top:0}
td.l,th.l{text-align:left}.ok{color:#1a7f37}.bad{color:#c62828;font-weight:600}.note{color:#555;font-size:.85rem}
.status{padding:.5rem .8rem;border-radius:6px;background:#f1f7ff;border:1px solid #cfe2ff}
.status.warn{background:#fff4e5;border-color:#ffd8a8}.fig{margin:.8rem 0}.scroll{max-height:420px;overflow:auto}
ul{margin:.3rem 0 .3rem 1.2rem;padding:0}h3{font-size:1rem;margin:.9rem 0 .2rem}
@media print{body{margin:0;max-width:none;font-size:10pt;line-height:1.3}h1{font-size:14pt}h2{margin-top:.8rem}
table{font-size:8.5pt}.toc{display:none}.board{break-after:page}.scroll{max-height:none;overflow:visible}}
"""


@dataclass(frozen=True)
class Section:
    """One part of a report: a title and its HTML body (already escaped where needed)."""

    title: str
    body: str
    anchor: str = ""


def esc(text: Any) -> str:
    return html.escape(str(text))


def fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return units.NA
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.3g}"
    return str(v)


def pct(v: Any) -> str:
    return units.pct(v)


def table(rows: Sequence[dict], columns: Sequence[tuple[str, str]], formats: dict[str, Callable] | None = None,
          left: Sequence[str] = (), classes: Callable[[str, Any], str] | None = None, scroll: bool = False) -> str:
    """An HTML table of `rows` with (key, header) columns."""
    formats = formats or {}
    head = "".join(f"<th class='{'l' if k in left else ''}'>{esc(h)}</th>" for k, h in columns)
    body = []
    for r in rows:
        cells = []
        for k, _ in columns:
            v = r.get(k)
            cls = ("l " if k in left else "") + (classes(k, v) if classes else "")
            cells.append(f"<td class='{cls.strip()}'>{esc(formats.get(k, fmt)(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    out = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    return f"<div class='scroll'>{out}</div>" if scroll else out


def bullets(items: Sequence[str]) -> str:
    return "<ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>" if items else "<p class='note'>none</p>"


def figure(svg: str) -> str:
    return f"<div class='fig'>{svg}</div>"


def render(title: str, sections: Sequence[Section], subtitle: str = "") -> str:
    """The whole page."""
    when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    toc = " · ".join(f"<a href='#{s.anchor or i}'>{esc(s.title)}</a>" for i, s in enumerate(sections))
    parts = [f"<section id='{s.anchor or i}'><h2>{esc(s.title)}</h2>{s.body}</section>"
             for i, s in enumerate(sections)]
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{esc(title)}</h1><p class='sub'>{esc(subtitle)} "
            f"(generated {when} by polyfleet)</p><p class='note toc'>{toc}</p>{''.join(parts)}</body></html>")


# ---- the plan's sections ------------------------------------------------------------------------------

def plan_sections(result) -> list[Section]:
    """Sections for a `plan.PlanResult`: the one-page summary, procurement, demand against capacity, then
    status, capacity, contracts, cost, power, shares, limits, survivability, lock-in, training runs, the
    plan, assumptions."""
    from ..plan.lockin import lock_in
    from .board import board, board_section
    from .contracts import contracts_section
    from .procurement import demand_section, lock_in_section, procurement_section

    inp = result.inputs
    warn = "" if result.feasible and result.solution.optimal else " warn"
    status = f"<p class='status{warn}'>{esc(result.status_line)}</p>"
    out = [board_section(board(result)), procurement_section(result), demand_section(result)] \
        if result.feasible else []
    out.append(Section("Solver", status + _size(result), "solver"))
    if not result.feasible:
        lines = result.diagnosis.lines() if result.diagnosis is not None else ["HiGHS returned no plan."]
        out.append(Section("Why there is no plan", "<p>These constraints cannot all hold:</p>" + bullets(lines),
                           "infeasible"))
        out.append(Section("Assumptions", bullets(list(inp.assumptions) + list(inp.notes)), "assumptions"))
        return out
    out.append(_capacity_section(result))
    out += [s for s in (contracts_section(result),) if s is not None]
    out += [_cost_section(result), _power_section(result), _shares_section(result), _binding_section(result)]
    if result.survivability is not None:
        out.append(Section("Survivability", _survivability(result.survivability), "survivability"))
    out.append(lock_in_section(lock_in(inp, result.allocation)))
    if result.clusters or (result.off_peak_chips is not None and result.off_peak_chips.sum() > 0):
        out.append(Section("Training runs", _runs(result), "training-runs"))
    rows = result.offering_rows()
    cols = [("month", "month"), ("offering", "offering"), ("on_demand_units", "on-demand"), ("spot_units", "spot"),
            ("commit_1y_units", "1y"), ("commit_3y_units", "3y"), ("chips", "chips"), ("mw", "MW"),
            ("cost_usd", "USD")]
    out.append(Section("The plan (month x offering)", table(rows, cols, left=("month", "offering"), scroll=True),
                       "plan"))
    out.append(Section("Assumptions and notes", bullets(list(inp.assumptions)) + bullets(list(inp.notes)),
                       "assumptions"))
    return out


def _capacity_section(result) -> Section:
    """The total, the last month's mix and capacity by family over time (MW and chips)."""
    import numpy as np

    from . import plots
    months = result.inputs.months
    fams, chips = result.group_totals("family")
    _, mw = result.group_totals("family", "mw")
    summary = [{"family": f, "chips": v["chips"], "mw": v["mw"], "share": v["mw_share"]}
               for f, v in result.mix_by_family().items()]
    totals = (f"<p>Total cost over the horizon: <b>{units.money(result.total_cost)}</b> "
              f"(commitment and contract payments after the horizon, in full: "
              f"{units.money(result.obligation_after_usd)}; the objective counts them as {esc(result.accounting)}; "
              f"porting: {units.money(result.porting_usd)}). Peak: {result.chips.sum(axis=0).max():,.0f} chips, "
              f"{units.megawatts(np.nansum(result.mw, axis=0).max())}.</p>")
    return Section("Capacity", totals + f"<p>Mix in {months[-1]}:</p>" + table(
        summary, [("family", "family"), ("chips", "chips"), ("mw", "MW"), ("share", "share of MW")],
        {"share": pct}, left=("family",)) + figure(plots.stacked_area(
            months, {f: mw[i] for i, f in enumerate(fams)}, "facility MW", "Capacity by family (MW)",
            plots.FAMILY_COLORS)) + figure(plots.stacked_area(
                months, {f: chips[i] for i, f in enumerate(fams)}, "chips", "Chips by family",
                plots.FAMILY_COLORS)), "capacity")


def _cost_section(result) -> Section:
    from ..plan.inputs import TERMS
    from . import plots
    cost_terms = {t: result.cost[:, k, :].sum(axis=0) / 1e6 for k, t in enumerate(TERMS)}
    if result.contract_cost is not None:
        cost_terms["contracts"] = result.contract_cost / 1e6
    if result.site_cost is not None:
        cost_terms["power sites"] = result.site_cost / 1e6
    return Section("Cost", figure(plots.stacked_bars(result.inputs.months, cost_terms, "USD millions per month",
                                                     "Cost over time, by term", plots.TERM_COLORS)), "cost")


def _power_section(result) -> Section:
    """Facility MW against each power limit and each site (a site holds nothing before it is energised)."""
    import numpy as np

    from . import plots
    inp = result.inputs
    used = {"total": np.nansum(result.mw, axis=0)}
    limits = {}
    for p in inp.power:
        used[p.name] = np.nansum(result.mw[p.mask], axis=0)
        limits[p.name] = p.mw
    for s in result.sites:
        name = f"site {s['site']}"
        used[name] = np.asarray(s["mw_drawn"])
        on = np.array([inp.months.index(s["energised"]) <= t if s["energised"] in inp.months
                       else s["energised"] == "before the horizon" for t in range(inp.T)])
        limits[name] = np.where(on, np.asarray(s["mw"]), 0.0)
    return Section("Power", figure(plots.lines_against_limits(inp.months, used, limits, "facility MW",
                                                              "Power against the limits and sites")), "power")


def _shares_section(result) -> Section:
    inp = result.inputs
    months = inp.months
    shares = []
    for dim in ("vendor", "provider", "family", "region"):
        groups, sh = result.shares(dim)
        for g, row in zip(groups, sh):
            shares.append({"dimension": dim, "group": g, **{m: row[t] for t, m in enumerate(months)}})
    step = max(1, len(months) // 8)
    picked = list(months[::step]) + ([months[-1]] if (len(months) - 1) % step else [])
    return Section("Shares of capacity", f"<p class='note'>Share of {inp.share_measure} per group.</p>" + table(
        shares, [("dimension", "dimension"), ("group", "group")] + [(m, m) for m in picked],
        {m: pct for m in picked}, left=("dimension", "group")), "shares")


def _binding_section(result) -> Section:
    bind = [b.to_dict(result.inputs.months) for b in result.binding]
    return Section("What limits the plan", bullets([b["text"] for b in bind]) + (
        "<p class='note'>Binding = at its limit in the plan and with a non-zero dual in the LP with the plan's "
        "yes/no choices (clusters, contracts, sites) fixed: relaxing it would lower the cost by about its price "
            "per unit.</p>"), "binding")


def _runs(result) -> str:
    """Each windowed run on its one cluster; the off-peak chips training borrows, if any."""
    rows = [{"run": r["run"], "cluster": r["cluster"], "sites": ", ".join(r["sites"]), "chips": r["chips"],
             "window": f"{r['start']} .. {r['months'][-1]}", "goodput": r["goodput"],
             "tokens": f"{r['tokens_planned']:.3g}"} for r in result.clusters]
    html = "" if not rows else (
        "<p>Each run with a deadline holds one constant chip count on one cluster (one chip type, sites of one "
        "provider) from its start to its deadline, with headroom for its goodput.</p>" + table(
                rows, [("run", "run"), ("cluster", "cluster"), ("sites", "sites"), ("chips", "chips"),
                       ("window", "runs"), ("goodput", "goodput"), ("tokens", "tokens planned")],
                {"goodput": pct}, left=("run", "cluster", "sites", "window")))
    op = result.off_peak_chips
    if op is not None and op.sum() > 0:
        html += bullets([f"{result.inputs.workloads[w]} uses {op[w].mean():,.0f} idle inference chips off-peak on "
                         "average" for w in range(len(op)) if op[w].sum() > 0])
    return html


def _size(result) -> str:
    s = result.size
    return (f"<p class='note'>{s['columns']:,} columns ({s['integer_columns']:,} integer), {s['rows']:,} rows, "
            f"{s['nonzeros']:,} non-zeros; {s['offerings']} offerings in {s['pools']} pools, {s['months']} months, "
            f"{s['workloads']} workloads, {s['failure_sets']} failure sets.</p>")


def _survivability(surv) -> str:
    rows = surv.rows()
    cols = [("label", "failure set"), ("all_demand", "all demand")] + [(c, f"{c} (needs {r:.0%})")
                                                                       for c, r in zip(surv.classes, surv.required)]
    cols.append(("meets_policy", "meets policy"))
    classes = lambda k, v: ("bad" if v is False else "ok" if v is True else "")  # noqa: E731
    return ("<p>Share of each priority class still served in the worst month after each failure set, with the "
            "surviving capacity re-allocated (protected classes first). N-1 survivability is a constraint of the "
            "plan: each failure set has its own re-allocation in the model, which is what makes spreading "
            "capacity over vendors, clouds and regions optimal rather than imposed.</p>" + table(
                rows, cols, {c: pct for c in ("all_demand", *surv.classes)}, left=("label",), classes=classes))


def compare_section(cmp) -> Section:
    from . import plots
    rows = cmp.rows()
    cols = [("strategy", "strategy"), ("status", "status"), ("cost_usd", "cost USD"),
            ("premium_vs_least_cost", "premium"), ("worst_protected_share", "worst protected served"),
            ("failures_passed", "failure sets passed"), ("lock_in_share", "lock-in (demand)"),
            ("capacity_lock_in_share", "lock-in (chips)"), ("mix", "mix (MW)"), ("reason", "why not")]
    fig = plots.compare_scatter([r["strategy"] for r in rows], [r["premium_vs_least_cost"] for r in rows],
                                [r["worst_protected_share"] for r in rows])
    return Section("Diversification: what it costs and what it buys", (
        "<p>The same scenario solved as the policy asks, at least cost with no risk policy, and restricted to "
        "one vendor or one cloud; every plan then faces the same failure sets. Lock-in: the share of demand "
        "only one of the strategy's vendors can serve, and of its allocated chip-months serving such "
        "workloads.</p>") + table(
            rows, cols, {"premium_vs_least_cost": pct, "worst_protected_share": pct, "lock_in_share": pct,
                         "capacity_lock_in_share": pct},
            left=("strategy", "status", "mix", "reason")) + figure(fig), "compare")


def frontier_section(fr) -> Section:
    from . import plots
    rows = fr.rows()
    cols = [("required_share", "required"), ("status", "status"), ("cost_usd", "cost USD"),
            ("premium_vs_first", "premium"), ("worst_protected_share", "worst served"), ("mix", "mix (MW)")]
    fig = plots.frontier_curve([p.level for p in fr.points], [p.cost_usd for p in fr.points],
                               [p.worst_protected_share for p in fr.points])
    return Section("Cost vs resilience", (f"<p>Survivability requirement of {', '.join(fr.classes)} swept; "
                                           "each point is a separate optimal plan.</p>") + table(
        rows, cols, {"required_share": pct, "premium_vs_first": pct, "worst_protected_share": pct},
        left=("status", "mix")) + figure(fig), "frontier")


def paths_section(p: dict) -> Section:
    """The two-stage plan over demand paths: each path's cost, unmet demand and idle commitments."""
    rows = p["paths"]
    cols = [("id", "path"), ("probability", "probability"), ("demand_multiplier_mean", "mean demand x"),
            ("cost_usd", "cost USD"), ("paid_usd", "paid USD"), ("unmet_share", "unmet demand"),
            ("unmet_usd", "unmet priced USD"), ("idle_committed_chip_share", "idle committed")]
    low, det = p["low"], p.get("deterministic") or {}
    lines = [f"Expected cost {units.money(p['expected_usd'])}; CVaR at {p['alpha']:.0%} {units.money(p['cvar_usd'])} "
             f"(weight in the objective {p['weight']:g}).",
             f"If demand comes in low (path {low['id']}): {units.money(low['cost_usd'])}, with "
             f"{pct(low['idle_committed_chip_share'])} of committed chip-months idle.",
             f"Solver: {p['solver']['status']}; recourse: {p['recourse']}."]
    if det.get("expected_usd") is not None:
        lines.append(f"The single-forecast plan's commitments on the same paths: expected "
                     f"{units.money(det['expected_usd'])}, CVaR {units.money(det['cvar_usd'])}; planning over the "
                     f"paths saves {units.money(p['value_of_stochastic_usd'])} of the objective.")
    note = ("<p class='note'>1y/3y commitments are signed once for every path; on-demand and spot are bought per "
            "path. Idle committed: committed chip-months serving nothing on that path when nothing fails (on the "
            "reference path this includes the reserve its failure sets require). Unmet demand is priced and "
            "reported, never hidden.</p>")
    return Section("Demand paths: what the commitments cost if demand moves", note + bullets(lines) + table(
        rows, cols, {"probability": pct, "unmet_share": pct, "idle_committed_chip_share": pct,
                     "demand_multiplier_mean": lambda v: f"{v:.2f}", "cost_usd": units.money, "paid_usd": units.money,
                     "unmet_usd": units.money}, left=("id",)), "paths")


def sensitivity_section(s: dict) -> Section:
    """The tornado: cost at the low and high end of each input, sorted by swing."""
    from . import plots
    rows = s["rows"]
    cols = [("input", "input"), ("low", "low"), ("cost_low_usd", "cost at low"), ("high", "high"),
            ("cost_high_usd", "cost at high"), ("swing_usd", "swing"), ("swing_share", "swing / base")]
    fig = plots.tornado([r["input"] for r in rows], s["base_usd"] or 0.0, [r["cost_low_usd"] for r in rows],
                        [r["cost_high_usd"] for r in rows], [r["low"] for r in rows], [r["high"] for r in rows],
                        "What moves the cost") if rows and s["base_usd"] else ""
    return Section("Sensitivity (tornado)", f"<p class='note'>Each input moved alone and the plan solved again "
                   f"({esc(s['method'])}); an end with no plan is shown as n/a.</p>" + table(
                       rows, cols, {"swing_share": pct, **{k: units.money for k in ("cost_low_usd", "cost_high_usd",
                                                                                     "swing_usd")}},
                       left=("input", "low", "high")) + figure(fig), "sensitivity")
