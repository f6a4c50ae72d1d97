"""The one-page summary a board reads: what to sign, with whom, when, for how much; what it protects
against; what it costs if demand disappoints; lock-in; the limits that matter; the accounting.

`board(result)` picks the figures (bounded: at most MAX_ROWS rows per table, so the page fits on A4
portrait); `board_section()` renders it as HTML and `board_lines()` as the short text that opens
`polyfleet plan --format table`. Contracts and demand paths appear only when the plan carries them
(`result.contracts`, `result.paths`); training clusters have their own section, not a line here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..plan.lockin import lock_in
from ..plan.schedule import group_rows, procurement_rows
from . import units
from .html import Section, bullets, esc, table

MAX_ROWS = 6                # new commitments shown (the rest summed in one line)
MAX_CONTRACTS = 5           # with both tables full the summary still prints on one A4 page
ACCOUNTING = {"prorated": "commitments enter the cost for their months inside the horizon only (prorated)",
              "full": "commitments enter the optimised cost for their whole term (full)",
              "terminal": "commitments past the horizon are counted net of a terminal value (terminal)"}


@dataclass(frozen=True)
class Board:
    cost: list[str]                                     # total cost and the accounting next to it
    sign: list[dict]                                    # largest new commitments first
    sign_more: str                                      # what the table leaves out
    contracts: list[dict] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)      # power sites the plan orders
    protects: list[str] = field(default_factory=list)
    downside: list[str] = field(default_factory=list)
    lock_in: str = ""
    limits: list[str] = field(default_factory=list)


def board(result) -> Board:
    """The summary's figures for a feasible plan."""
    sign, more = _commitments(result)
    return Board(cost=_cost(result), sign=sign, sign_more=more, contracts=_contracts(result),
                 sites=_sites(result), protects=_protects(result), downside=_downside(result),
                 lock_in=lock_in(result.inputs, result.allocation).line(), limits=_limits(result))


def _cost(result) -> list[str]:
    tail = result.inputs.commitment_tail
    site_cost = getattr(result, "site_cost", None)
    sites = f", power sites {units.money(float(site_cost.sum()))}" if site_cost is not None else ""
    return [f"Total paid inside the horizon ({len(result.inputs.months)} months): {units.money(result.total_cost)} "
            f"(porting {units.money(result.porting_usd)}{sites}); new commitments and contracts owe "
            f"{units.money(result.obligation_after_usd)} after it.",
            f"Accounting: {getattr(result, 'accounting', None) or ACCOUNTING.get(tail, tail)}."]


def _commitments(result) -> tuple[list[dict], str]:
    """New commitments per counterparty, chip and term (tranches summed), largest total first."""
    rows = procurement_rows(result)
    keys = ("provider", "vendor", "accelerator", "term")
    for r in rows:
        r["term"] = r["term"].replace(" commitment", "")                 # "3y": the column says what it is
    groups = group_rows(rows, keys)
    for g in groups:
        months = [r["month"] for r in rows if all(r[k] == g[k] for k in keys)]
        g["when"] = months[0] if len(set(months)) == 1 else f"{months[0]}..{months[-1]}, {len(set(months))} tranches"
    groups.sort(key=lambda r: -r["term_usd"])
    rest = groups[MAX_ROWS:]
    more = (f"and {units.plural(len(rest), 'more commitment')} worth {units.money(sum(r['term_usd'] for r in rest))} "
            "over their terms (every tranche in procurement.csv)") if rest else ""
    return groups[:MAX_ROWS], more


def _sites(result) -> list[str]:
    """Power sites the plan orders (a site under way or not ordered is nothing to sign)."""
    rows = [s for s in (getattr(result, "sites", None) or []) if str(s.get("how", "")).startswith("ordered")]
    return [f"Order power site {s['site']} in {s['how'].removeprefix('ordered ')} (energised {s['energised']}, "
            f"{units.megawatts(max(s.get('mw') or [0.0]))} at {units.money(s.get('usd_per_mw_month'))} per MW-month)"
            for s in rows[:MAX_ROWS]]


def contract_line(c: dict) -> str:
    """`contract google-tpu with gcp (signed): $20.8B in the horizon, $21.2B after, option tpu-2027 not
    exercised`; a candidate the plan leaves is said to be left."""
    if not c.get("signed", True) and not c.get("signed_in_plan", True):
        return f"candidate {c.get('id')} with {c.get('counterparty')}: not worth signing in this plan"
    how = "signed" if c.get("signed", True) else "a candidate the plan signs"
    line = (f"contract {c.get('id')} with {c.get('counterparty')} ({how}): {units.money(c.get('cost_usd'))} in the "
            f"horizon, {units.money(c.get('owed_after_usd'))} after")
    if c.get("cancelled"):
        line += ", cancelled"
    for o in c.get("options") or []:
        line += f", option {o['id']} {'exercised' if o.get('exercised') else 'not exercised'}"
    return line


def _contracts(result) -> list[dict]:
    rows = list(getattr(result, "contracts", None) or [])
    rows.sort(key=lambda c: -(c.get("cost_usd") or 0.0))
    return rows[:MAX_CONTRACTS]


def _protects(result) -> list[str]:
    surv = result.survivability
    if surv is None:
        return ["Survivability not evaluated for this plan."]
    rows = surv.rows()[1:]
    if not rows:
        return ["No failure set is defined: the plan is not tested against any failure."]
    ok = sum(1 for r in rows if r.get("meets_policy"))
    worst = min(rows, key=lambda r: r["all_demand"] if r["all_demand"] is not None else 2.0)
    kept = ", ".join(f"{c} {units.pct(worst.get(c))} (needs {units.pct(q)})"
                     for c, q in zip(surv.classes, surv.required) if q > 0)
    return [f"Meets the survivability policy under {ok} of {len(rows)} failure sets.",
            f"Worst failure: {worst['label']} - {units.pct(worst['all_demand'])} of all demand still served"
            + (f"; protected: {kept}." if kept else ".")]


def _downside(result) -> list[str]:
    paths = getattr(result, "paths", None)
    if not paths:
        return ["Cost if demand disappoints: not computed - run --paths."]
    out = [f"Expected cost over {units.plural(len(paths.get('paths', [])), 'demand path')}: "
           f"{units.money(paths.get('expected_usd'))}; CVaR at {units.pct(paths.get('alpha'))}: "
           f"{units.money(paths.get('cvar_usd'))}."]
    low = paths.get("low") or {}
    if low:
        out.append(f"If demand comes in low: {units.money(low.get('cost_usd'))}, with "
                   f"{units.pct(low.get('idle_committed_chip_share'))} of committed chips idle.")
    return out


def _limits(result) -> list[str]:
    priced = [b for b in result.binding if b.shadow_price]
    lines = [b.text for b in priced[:3]]
    if not lines:
        return ["Nothing but demand limits the plan (no power, supply, budget, cap or survivability limit binds)."]
    return lines + ["'worth' is what one more unit of the limit would save (its shadow price in the LP with the plan's yes/no choices fixed)."]


# ---- rendering ------------------------------------------------------------------------------------------

SIGN_COLS = [("provider", "with"), ("vendor", "vendor"), ("accelerator", "chip"), ("term", "commitment"),
             ("when", "when"), ("chips", "chips"), ("term_usd", "total over the terms"),
             ("after_horizon_usd", "of which after the horizon")]
CONTRACT_COLS = [("id", "contract"), ("counterparty", "with"), ("accelerator", "chip"), ("signed", "signed"),
                 ("cost_usd", "cost in horizon"), ("owed_after_usd", "owed after")]
MONEY = {"monthly_usd": units.money, "term_usd": units.money, "cost_usd": units.money,
         "owed_after_usd": units.money, "after_horizon_usd": units.money, "chips": units.count}


def board_section(b: Board) -> Section:
    """The summary as the report's first section (a page break after it when printed)."""
    parts = [f"<p>{esc(line)}</p>" for line in b.cost]
    parts.append("<h3>What to sign</h3>")
    parts.append(table(b.sign, SIGN_COLS, MONEY, left=("provider", "vendor", "accelerator", "term", "when"))
                 if b.sign else "<p class='note'>No new commitment: the plan holds on-demand, spot and "
                 "existing capacity only.</p>")
    if b.sign_more:
        parts.append(f"<p class='note'>{esc(b.sign_more)}</p>")
    if b.sites:
        parts.append(bullets(b.sites))
    if b.contracts:
        parts.append("<h3>Contracts</h3>" + table(b.contracts, CONTRACT_COLS, MONEY,
                                                  left=("id", "counterparty", "accelerator", "signed")))
    for title, lines in (("What it protects against", b.protects), ("If demand disappoints", b.downside),
                         ("Lock-in", [b.lock_in]), ("The limits that matter", b.limits)):
        parts.append(f"<h3>{esc(title)}</h3>" + bullets(lines))
    return Section("Summary", "<div class='board'>" + "".join(parts) + "</div>", "summary")


def board_lines(b: Board) -> list[str]:
    """A short text version (the opening of `plan --format table`)."""
    out = ["Summary", *[f"  {line}" for line in b.cost], "  What to sign (largest first):"]
    for r in b.sign:
        out.append(f"    {r['provider']} ({r['vendor']} {r['accelerator']}), {r['term']} commitment, {r['when']}: "
                   f"{units.count(r['chips'])} chips, {units.money(r['term_usd'])} over the terms")
    if not b.sign:
        out.append("    no new commitment")
    if b.sign_more:
        out.append(f"    {b.sign_more}")
    out += [f"    {line}" for line in b.sites]
    for c in b.contracts:
        out.append(f"    {contract_line(c)}")
    out += [f"  {line}" for line in (*b.protects, *b.downside, b.lock_in)]
    out += ["  The limits that matter:", *[f"    {line}" for line in b.limits[:3]]]
    return out
