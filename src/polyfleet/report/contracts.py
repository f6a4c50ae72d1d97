"""Contracts in the reports: one row per deal (delivered, taken, held, used, paid, owed, options) and the
deals as signed next to the optimiser's free choice. Shared by the CLI tables and the HTML report."""

from __future__ import annotations

from . import units


def contract_rows(result) -> list[dict]:
    """One short row per contract of a plan (fields a hand-built contract dict lacks read as unknown)."""
    rows = []
    for c in result.contracts:
        opts = ", ".join(f"{o['id']} {'exercised' if o.get('exercised') else 'not exercised'}"
                         + (f" (worth {units.money(o['value_usd'])})" if o.get("exercised") and o.get("value_usd")
                            is not None else "") for o in c.get("options", []))
        state = "signed" if c.get("signed") else ("signed by the plan" if c.get("signed_in_plan") else "candidate, not signed")
        src = c.get("source") if isinstance(c.get("source"), dict) else {"ref": c.get("source") or ""}
        total = lambda k: sum(c[k]) if c.get(k) else None  # noqa: E731
        peak = lambda k: max(c[k]) if c.get(k) else None  # noqa: E731
        rows.append({"contract": c.get("id"), "counterparty": c.get("counterparty"),
                     "accelerator": c.get("accelerator"),
                     "state": state + (f"; cancelled from {c.get('cancel_from')}" if c.get("cancelled") else ""),
                     "delivered": total("delivered"), "taken": total("taken"), "peak_held": peak("held"),
                     "peak_used": peak("used"), "cost_usd": c.get("cost_usd"), "owed_usd": c.get("owed_after_usd"),
                     "options": opts or "-", "source": f"{src.get('status', '')}: {src.get('ref', '')}"
                     + (f" ({src['date']})" if src.get("date") else "")})
    return rows


USED_NOTE = ("used = chips allocated to demand on the contract's offerings, shared pro rata with the other chips held "
             "there: an upper bound")


def contracts_section(result):
    """The HTML section on contracts (None when the plan has none)."""
    from .html import Section, table
    if not result.contracts:
        return None
    cols = [("contract", "contract"), ("counterparty", "with"), ("accelerator", "chips"), ("state", "state"),
            ("delivered", "delivered"), ("taken", "taken"), ("peak_held", "peak held"), ("peak_used", "peak used"),
            ("cost_usd", "paid in horizon"), ("owed_usd", "owed after"), ("options", "options"), ("source", "source")]
    money = {k: units.money for k in ("cost_usd", "owed_usd")}
    body = (f"<p class='note'>Chips; {USED_NOTE}. An option's worth is the objective of the plan solved again "
            f"without it, minus this plan's. Payments after the horizon count as {result.accounting} in the "
            "objective and in full in 'owed after'.</p>")
    return Section("Contracts", body + table(contract_rows(result), cols, money,
                                             left=("contract", "counterparty", "accelerator", "state", "options",
                                                   "source")), "contracts")


def deals_section(dl):
    """The HTML section: the deals as signed next to the optimiser's free choice."""
    from .html import Section, esc, table
    d = dl.to_dict()
    if "signed_deals_cost_more_usd" not in d:
        return Section("Deals as signed vs free choice", "<p>One of the two plans has no solution.</p>", "deals")
    cols = [("contract", "contract"), ("signed_chips_taken", "as signed: chips taken"),
            ("signed_cost_usd", "as signed: paid"), ("free_signs", "free choice: signs"),
            ("free_chips_taken", "free: chips taken"), ("free_cost_usd", "free: paid")]
    a, f = d["as_signed"], d["free_choice"]
    text = (f"<p>Objective ({esc(d['accounting'])}): as signed {units.money(a['objective_usd'])}, free choice "
            f"{units.money(f['objective_usd'])}: the signed deals cost "
            f"<b>{units.money(d['signed_deals_cost_more_usd'])}</b> more. {esc(d['note'])}.</p>")
    money = {k: units.money for k in ("signed_cost_usd", "free_cost_usd")}
    return Section("Deals as signed vs free choice", text + table(dl.rows(), cols, money, left=("contract",)), "deals")
