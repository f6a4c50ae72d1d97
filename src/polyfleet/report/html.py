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
ul{margin:.3rem 0 .3rem 1.2rem;padding:0}
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
            f"(generated {when} by polyfleet)</p><p class='note'>{toc}</p>{''.join(parts)}</body></html>")


# ---- the plan's sections ------------------------------------------------------------------------------

def plan_sections(result) -> list[Section]:
    """Sections for a `plan.PlanResult`: status, capacity, cost, power, limits, survivability, plan, assumptions."""
    import numpy as np

    from ..plan.inputs import TERMS
    from . import plots

    inp = result.inputs
    warn = "" if result.feasible and result.solution.optimal else " warn"
    status = f"<p class='status{warn}'>{esc(result.status_line)}</p>"
    out = [Section("Solver", status + _size(result), "solver")]
    if not result.feasible:
        lines = result.diagnosis.lines() if result.diagnosis is not None else ["HiGHS returned no plan."]
        out.append(Section("Why there is no plan", "<p>These constraints cannot all hold:</p>" + bullets(lines),
                           "infeasible"))
        out.append(Section("Assumptions", bullets(list(inp.assumptions) + list(inp.notes)), "assumptions"))
        return out
    months = inp.months
    fams, chips = result.group_totals("family")
    _, mw = result.group_totals("family", "mw")
    mix = result.mix_by_family()
    summary = [{"family": f, "chips": v["chips"], "mw": v["mw"], "share": v["mw_share"]} for f, v in mix.items()]
    totals = (f"<p>Total cost over the horizon: <b>{units.money(result.total_cost)}</b> "
              f"(commitment payments after the horizon: {units.money(result.obligation_after_usd)}; "
              f"porting: {units.money(result.porting_usd)}). Peak: {result.chips.sum(axis=0).max():,.0f} chips, "
              f"{units.megawatts(np.nansum(result.mw, axis=0).max())}.</p>")
    out.append(Section("Capacity", totals + f"<p>Mix in {months[-1]}:</p>" + table(
        summary, [("family", "family"), ("chips", "chips"), ("mw", "MW"), ("share", "share of MW")],
        {"share": pct}, left=("family",)) + figure(plots.stacked_area(
            months, {f: mw[i] for i, f in enumerate(fams)}, "facility MW", "Capacity by family (MW)",
            plots.FAMILY_COLORS)) + figure(plots.stacked_area(
                months, {f: chips[i] for i, f in enumerate(fams)}, "chips", "Chips by family",
                plots.FAMILY_COLORS)), "capacity"))
    cost_terms = {t: result.cost[:, k, :].sum(axis=0) / 1e6 for k, t in enumerate(TERMS)}
    out.append(Section("Cost", figure(plots.stacked_bars(months, cost_terms, "USD millions per month",
                                                         "Cost over time, by term", plots.TERM_COLORS)), "cost"))
    used = {"total": np.nansum(result.mw, axis=0)}
    limits = {}
    for p in inp.power:
        used[p.name] = np.nansum(result.mw[p.mask], axis=0)
        limits[p.name] = p.mw
    out.append(Section("Power", figure(plots.lines_against_limits(months, used, limits, "facility MW",
                                                                  "Power against the limits")), "power"))
    shares = []
    for dim in ("vendor", "provider", "family", "region"):
        groups, sh = result.shares(dim)
        for g, row in zip(groups, sh):
            shares.append({"dimension": dim, "group": g, **{m: row[t] for t, m in enumerate(months)}})
    step = max(1, len(months) // 8)
    picked = list(months[::step]) + ([months[-1]] if (len(months) - 1) % step else [])
    out.append(Section("Shares of capacity", f"<p class='note'>Share of {inp.share_measure} per group.</p>" + table(
        shares, [("dimension", "dimension"), ("group", "group")] + [(m, m) for m in picked],
        {m: pct for m in picked}, left=("dimension", "group")), "shares"))
    bind = [b.to_dict(months) for b in result.binding]
    out.append(Section("What limits the plan", bullets([b["text"] for b in bind]) + (
        "<p class='note'>Binding = at its limit in the plan and with a non-zero dual in the LP relaxation "
        "(relaxing it would lower the cost).</p>"), "binding"))
    if result.survivability is not None:
        out.append(Section("Survivability", _survivability(result.survivability), "survivability"))
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
            ("failures_passed", "failure sets passed"), ("mix", "mix (MW)"), ("reason", "why not")]
    fig = plots.compare_scatter([r["strategy"] for r in rows], [r["premium_vs_least_cost"] for r in rows],
                                [r["worst_protected_share"] for r in rows])
    return Section("Diversification: what it costs and what it buys", (
        "<p>The same scenario solved as the policy asks, at least cost with no risk policy, and restricted to "
        "one vendor or one cloud; every plan then faces the same failure sets.</p>") + table(
            rows, cols, {"premium_vs_least_cost": pct, "worst_protected_share": pct},
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
