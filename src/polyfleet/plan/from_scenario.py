"""A scenario (plus its rate table) -> `PlanInputs`, with every assumption used written down."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..catalog import FAMILIES, Catalog
from ..errors import UserError
from ..scenario import COMMIT_MONTHS, Scenario, month_offset, select_offerings, selector_mask
from ..scenario.policy import DEFAULT_PUE, DEFAULT_SPOT_AVAILABILITY, DEFAULT_SPOT_MAX_CHIPS
from ..scenario.resolve import OfferingFacts
from .contract_terms import contract_notes, contracts_from_scenario
from .failures import contingencies, cvar_cases
from .run_inputs import cluster_notes, run_fields
from .inputs import C1, C3, OD, SPOT, TERMS, Cap, PlanInputs, PowerLimit, Site, SupplyLimit


def inputs_from_scenario(scn: Scenario, table=None) -> PlanInputs:
    """Arrays for the planner. `table` (a RateTable over `scn.offering_ids()`) is built when not given."""
    ctx = scn.context()
    cat = ctx.catalog
    table = table if table is not None else scn.rate_table(ctx)
    ids, notes = select_offerings(scn)
    if list(table.offerings) != ids:
        table = table.subset(offerings=ids)
    if not ids:
        raise UserError("no offering with a known price is left to plan with", where=scn.where(("offerings",)))
    facts = OfferingFacts.of(cat, ids)
    hours = scn.horizon.hours_per_month
    assumptions: list[str] = []
    notes = list(notes)
    price = _prices(scn, cat, table, ids, assumptions)
    mw_per_chip = _mw_per_chip(scn, cat, table, facts, assumptions)
    unit = np.asarray(table.unit_chips, dtype=int)
    fleet = _fleet(scn, ids, price, unit, notes)
    ub, spot_avail, supply = _supply(scn, cat, facts, price, unit, fleet.initial, assumptions)
    power, caps = _power_limits(scn, cat, facts), _caps(scn, facts)
    sites = _sites(scn, cat, facts, assumptions)
    budget = (scn.expand(scn.money.budget_usd_per_month, ("money", "budget_usd_per_month"))
              if scn.money.budget_usd_per_month else None)
    demand, window_tokens, window = _demand(scn)
    classes, share, required, loss_c = _classes(scn)
    conts, cnotes = contingencies(scn, facts)
    notes += cnotes
    cv = cvar_cases(scn, facts, conts)
    runs = run_fields(scn, facts, cat, assumptions)
    deals = contracts_from_scenario(scn, cat, facts)
    notes += contract_notes(deals, scn.months)
    inp = PlanInputs(
        name=scn.name or scn.source_name, months=scn.months, hours=hours, facts=facts, unit_chips=unit, price=price,
        mw_per_chip=mw_per_chip, spot_avail=spot_avail, unit_ub=ub, workloads=tuple(table.workloads),
        kinds=tuple(table.kinds), rate=np.asarray(table.rate, dtype=float), reasons=np.asarray(table.reason),
        demand=demand, window_tokens=window_tokens, window=window, classes=tuple(classes),
        class_share=share.mean(axis=2) if np.ptp(share, axis=2).any() else share[:, :, 0],
        class_share_t=share if np.ptp(share, axis=2).any() else None,
        required=required, loss_usd_per_mtok=loss_c, port_cost=_porting(scn),
        fleet_commit=fleet.commit, fleet_initial=fleet.initial, fleet_cost=fleet.cost, supply=tuple(supply),
        power=tuple(power), budget=budget, caps=tuple(caps), sites=tuple(sites),
        share_coef=mw_per_chip if scn.risk.share_measure == "power" else np.ones(len(ids)),
        share_measure=scn.risk.share_measure, commitment_tail=scn.money.commitment_tail,
        contingencies=tuple(conts), cvar_cases=tuple(cv), cvar_alpha=scn.risk.cvar.alpha if scn.risk.cvar else 0.9,
        cvar_weight=(scn.risk.cvar.weight if scn.risk.cvar else 1.0) if scn.risk.scenarios else 0.0,
        assumptions=tuple(dict.fromkeys(assumptions)), notes=tuple(notes),
        extra={"customers": {t.id: scn.tenant_customers(i) for i, t in enumerate(scn.tenants)
                             if t.customers is not None}},
        contracts=deals, terminal_value_share=scn.money.terminal_value_share, **runs)
    return cluster_notes(inp)


def _prices(scn: Scenario, cat: Catalog, table, ids: list[str], assumptions: list[str]) -> np.ndarray:
    """[O, K] USD per chip-hour: the table's, commitments filled from the discount, NaN for terms not allowed."""
    price = np.array(table.usd_per_chip_hour, dtype=float)
    for term in ("commit_1y", "commit_3y"):
        k = TERMS.index(term)
        missing = np.isnan(price[:, k]) & np.isfinite(price[:, OD])
        disc = scn.money.commit_discount.get(term)
        if missing.any() and disc is not None and term in scn.money.terms:
            price[missing, k] = price[missing, OD] * (1 - disc)
            assumptions.append(f"{term} price = on-demand x {1 - disc:.2f} for {int(missing.sum())} offerings "
                               f"without a published {term} price (money.commit_discount)")
    for oid in ids:
        off = cat.offerings[oid]
        for t in TERMS:
            fig = off.price(t)
            if fig.known and fig.status in ("estimate", "user"):
                assumptions.append(f"{oid} {t} ${fig.value:g}/chip-h is {fig.status}: {fig.note or fig.source}")
    for k, t in enumerate(TERMS):
        if t not in scn.money.terms:
            price[:, k] = np.nan
    return price


def _mw_per_chip(scn: Scenario, cat: Catalog, table, facts: OfferingFacts, assumptions: list[str]) -> np.ndarray:
    """[O] facility MW per chip (IT watts x PUE); NaN where unknown, an error if a power limit needs it."""
    watts = np.array(table.watts_per_chip, dtype=float)
    for acc, w in scn.power.watts_per_chip.items():
        acc_id = cat.accelerator_id(acc)
        sel = np.array([a == acc_id for a in facts.accelerator])
        wt = scn.power.watts_for(acc)
        watts[sel] = wt.value
        if sel.any():
            assumptions.append(f"{acc_id}: {wt.value:g} W IT per chip (scenario assumption: {wt.note})")
    for acc in sorted({a for a, flag in zip(facts.accelerator, table.watts_assumed) if flag}):
        if acc not in {cat.accelerator_id(a) for a in scn.power.watts_per_chip}:
            i = facts.accelerator.index(acc)
            assumptions.append(f"{acc}: {watts[i]:g} W IT per chip (catalog assumption)")
    pue = np.array([scn.power.pue_for(r) for r in facts.region])
    if isinstance(scn.power.pue, (int, float)) and "pue" not in scn.power.model_fields_set:
        assumptions.append(f"PUE {DEFAULT_PUE} everywhere (default assumption; set power.pue)")
    mw_per_chip = watts * pue / 1e6
    needs_power = bool(scn.power.limits or scn.power.total_mw or scn.power.sites or
                       (scn.risk.share_measure == "power" and scn.risk.max_share))
    if needs_power and np.isnan(mw_per_chip).any():
        acc = facts.accelerator[int(np.flatnonzero(np.isnan(mw_per_chip))[0])]
        raise UserError(f"no power figure for {acc}; power limits and power shares need one",
                        where=scn.where(("power",)), field=f"power.watts_per_chip.{acc}")
    return mw_per_chip


@dataclass(frozen=True)
class _Fleet:
    commit: np.ndarray          # [O, K, T] committed units held
    initial: np.ndarray         # [O, K] units held just before the horizon
    cost: np.ndarray            # [O, T] USD of the fleet's commitments


def _fleet(scn: Scenario, ids: list[str], price: np.ndarray, unit: np.ndarray, notes: list[str]) -> _Fleet:
    """The fleet already held: commitments running into the horizon, and on-demand/spot units held now."""
    O, K, T, hours = len(ids), len(TERMS), scn.horizon.months, scn.horizon.hours_per_month
    out = _Fleet(np.zeros((O, K, T)), np.zeros((O, K)), np.zeros((O, T)))
    for i, f in enumerate(scn.fleet):
        o = ids.index(f.offering) if f.offering in ids else None
        if o is None:
            notes.append(f"fleet entry {f.offering} is outside the offerings planned; ignored")
            continue
        k = TERMS.index(f.term)
        p = f.usd_per_chip_hour if f.usd_per_chip_hour is not None else price[o, k]
        if not np.isfinite(p):
            raise UserError(f"no {f.term} price known for {f.offering}", where=scn.where(("fleet", i)),
                            field=f"fleet[{i}].usd_per_chip_hour")
        if k in (C1, C3):
            left = f.months_left if f.months_left is not None else COMMIT_MONTHS[f.term]
            out.commit[o, k, :min(left, T)] += f.units
            out.cost[o, :min(left, T)] += f.units * unit[o] * hours * p
            out.initial[o, k] += f.units if left > 0 else 0
        else:
            out.initial[o, k] += f.units
    return out


def _supply(scn: Scenario, cat: Catalog, facts: OfferingFacts, price: np.ndarray, unit: np.ndarray,
            fleet_initial: np.ndarray, assumptions: list[str]) -> tuple[np.ndarray, np.ndarray, list[SupplyLimit]]:
    """What can be bought when: unit bounds [O, K, T], spot availability [O] and the supply rules' limits."""
    O, K, T = len(unit), len(TERMS), scn.horizon.months
    spot_avail = np.full(O, scn.supply.spot_availability)
    ub = np.full((O, K, T), np.inf)
    ub[np.isnan(price)] = 0.0
    if scn.supply.spot_max_chips is not None:
        ub[:, SPOT] = np.minimum(ub[:, SPOT], np.floor(scn.supply.spot_max_chips / unit)[:, None])
    if scn.supply.on_demand_max_chips is not None:
        ub[:, OD] = np.minimum(ub[:, OD], np.floor(scn.supply.on_demand_max_chips / unit)[:, None])
    supply: list[SupplyLimit] = []
    for r, rule in enumerate(scn.supply.rules):
        mask = selector_mask(rule, facts, cat)
        terms = np.array([t in (rule.terms or TERMS) for t in TERMS])
        first = max(rule.lead_time_months,
                    month_offset(scn.horizon.start, rule.available_from) if rule.available_from else 0)
        if first > 0:
            for k in np.flatnonzero(terms):
                held_before = fleet_initial[mask, k] if k in (OD, SPOT) else 0.0
                ub[mask, k, :first] = np.minimum(ub[mask, k, :first], np.asarray(held_before)[..., None])
        if rule.spot_availability is not None:
            spot_avail[mask] = rule.spot_availability
        mx = scn.expand(rule.max_chips, ("supply", "rules", r, "max_chips")) if rule.max_chips else None
        rp = (scn.expand(rule.max_new_chips_per_month, ("supply", "rules", r, "max_new_chips_per_month"))
              if rule.max_new_chips_per_month else None)
        if mx is not None or rp is not None:
            supply.append(SupplyLimit(rule.id or f"supply of {rule.describe()}", mask, terms, mx, rp))
    ub = np.maximum(ub, np.where(np.arange(K)[None, :, None] < 2, fleet_initial[:, :, None], 0.0) * (ub > 0))
    if np.isfinite(price[:, SPOT]).any() and "spot" in scn.money.terms:
        if "spot_availability" not in scn.supply.model_fields_set:
            assumptions.append(f"a spot chip counts as {DEFAULT_SPOT_AVAILABILITY:.0%} of a firm chip "
                               "(default assumption; set supply.spot_availability)")
        if "spot_max_chips" not in scn.supply.model_fields_set:
            assumptions.append(f"at most {DEFAULT_SPOT_MAX_CHIPS} spot chips per offering (default assumption; "
                               "set supply.spot_max_chips)")
    return ub, spot_avail, supply


def _power_limits(scn: Scenario, cat: Catalog, facts: OfferingFacts) -> list[PowerLimit]:
    """The total and each site's facility MW limit, month by month."""
    O = len(facts.ids)
    power = []
    if scn.power.total_mw is not None:
        power.append(PowerLimit("total", np.ones(O, bool), scn.expand(scn.power.total_mw, ("power", "total_mw"))))
    for i, lim in enumerate(scn.power.limits):
        power.append(PowerLimit(lim.id or lim.describe(), selector_mask(lim, facts, cat),
                                scn.expand(lim.mw, ("power", "limits", i, "mw"))))
    return power


def _sites(scn: Scenario, cat: Catalog, facts: OfferingFacts, assumptions: list[str]) -> list[Site]:
    """Power sites: MW by month, energised from a date or ordered by the plan with a lead time."""
    out = []
    for i, site in enumerate(scn.power.sites):
        mask = selector_mask(site, facts, cat)
        mw = scn.expand(site.mw, ("power", "sites", i, "mw"))
        first = month_offset(scn.horizon.start, site.energised) if site.energised else None
        out.append(Site(site.id, mask, mw, first, site.lead_time_months, site.usd_per_mw_month, site.source))
        if not mask.any():
            assumptions.append(f"site {site.id} matches no planned offering ({site.describe()}): it holds nothing")
    if out:
        bound = np.any([s.mask for s in out], axis=0)
        free = sorted({facts.region[o] for o in np.flatnonzero(~bound)})
        if free:
            assumptions.append("offerings in " + ", ".join(free) + " are on no power site: their power is the "
                               "provider's (only power limits and total_mw bound them)")
    return out


def _caps(scn: Scenario, facts: OfferingFacts) -> list[Cap]:
    """Concentration caps below 100% for every vendor, provider, family, region and accelerator."""
    caps = []
    first = month_offset(scn.horizon.start, scn.risk.caps_from) if scn.risk.caps_from else 0
    for dim in ("vendor", "provider", "family", "region", "accelerator"):
        vals = facts.values(dim)
        for group in sorted(set(vals)):
            cap = scn.risk.cap_for(dim, group)
            if cap is not None and cap < 1:
                caps.append(Cap(dim, group, np.array([v == group for v in vals]), cap, max(first, 0)))
    return caps


def _demand(scn: Scenario) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Demand [W, T] in tokens/h (services at peak, training per month), and for runs with a window the
    tokens to serve inside it [W] (NaN for the rest) and the window itself [W, T]."""
    wls = scn.workloads.all()
    W, T, hours = len(wls), scn.horizon.months, scn.horizon.hours_per_month
    demand = np.zeros((W, T))
    window_tokens = np.full(W, np.nan)
    window = np.ones((W, T), dtype=bool)
    S = len(scn.workloads.services)
    demand[:S] = scn.service_tokens_per_s(peak=True) * 3600
    for w, wl in enumerate(wls):
        if w < S:
            continue
        if wl.tokens_per_month is not None:
            demand[w] = scn.expand(wl.tokens_per_month, ("workloads", "training", w - S, "tokens_per_month")) / hours
        else:
            a = month_offset(scn.horizon.start, wl.run.start)
            b = month_offset(scn.horizon.start, wl.run.deadline)
            window[w] = (np.arange(T) >= a) & (np.arange(T) <= b)
            window_tokens[w] = wl.run.tokens / hours
    return demand, window_tokens, window


def _classes(scn: Scenario) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Priority classes, each workload's share in each by month [W, C, T], the required survivability share [C] and
    the value of a lost million tokens [C] (a tenant's own, else the risk section's, else $10)."""
    classes, share = scn.class_shares_t()
    req_map = scn.priority_classes()
    loss = scn.risk.loss_usd_per_million_tokens
    loss_c = np.array([next((t.loss_usd_per_million_tokens for t in scn.tenants
                             if t.id == c and t.loss_usd_per_million_tokens is not None),
                            loss.get(c, loss.get("default", 10.0))) for c in classes], dtype=float)
    return classes, share, np.array([req_map[c] for c in classes], dtype=float), loss_c


def _porting(scn: Scenario) -> np.ndarray:
    """[W, families] USD to port each workload to a family outside its `runs_on` (0 = runs there already)."""
    wls = scn.workloads.all()
    port = np.zeros((len(wls), len(FAMILIES)))
    for w, wl in enumerate(wls):
        if wl.runs_on is not None:
            for f, fam in enumerate(FAMILIES):
                if fam not in wl.runs_on:
                    port[w, f] = scn.money.porting_for(fam)
    return port
