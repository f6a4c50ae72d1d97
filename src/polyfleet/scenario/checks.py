"""Checks of a scenario beyond its fields' types: names against the catalog and the model library,
ids against each other, months against the horizon, every series over the horizon, fault targets
against the offerings the scenario may use. Every error names file:line, the field path and, where
a name is wrong, the closest valid ones.

`check_scenario` runs them all when a scenario is loaded, so that `polyfleet scenario` rejects
what a later command would.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel

from ..catalog import FAMILIES, Catalog
from ..datafile import field_path
from ..errors import UnknownNameError, UserError
from .clusters import check_clusters
from .context import select_offerings
from .contracts import check_contracts
from .resolve import check_name, check_selector, check_unique_ids
from .series import Series, month_offset

if TYPE_CHECKING:
    from .model import Scenario

DAYS_PER_MONTH = 30.4375          # the simulator's month (365.25 / 12 days)


def check_scenario(scn: Scenario) -> None:
    """Names against the catalog, ids against each other, months against the horizon."""
    ctx = scn.context()
    _check_workloads(scn, ctx)
    _check_tenants(scn)
    _check_priorities(scn)
    _check_fleet_and_offerings(scn, ctx.catalog)
    _check_power_and_money(scn, ctx.catalog)
    _check_risk(scn, ctx.catalog)
    _check_series(scn)
    _check_simulation(scn, ctx.catalog)
    _check_uncertainty(scn, ctx.catalog)
    check_contracts(scn, ctx.catalog)
    check_clusters(scn)


def _loc_error(scn: Scenario, loc: tuple, message: str, allowed: str | None = None) -> UserError:
    return UserError(message, where=scn.where(loc), field=field_path(loc), allowed=allowed)


def _unknown(scn: Scenario, kind: str, name: str, valid, loc: tuple, note: str = "") -> UnknownNameError:
    return UnknownNameError(kind, name, valid, where=scn.where(loc), field=field_path(loc), note=note)


def _items(scn: Scenario) -> Iterator[tuple[str, int, object]]:
    for kind, items in (("services", scn.workloads.services), ("training", scn.workloads.training)):
        for i, item in enumerate(items):
            yield kind, i, item


def _check_workloads(scn: Scenario, ctx) -> None:
    cat = ctx.catalog
    for kind, i, item in _items(scn):
        loc = ("workloads", kind, i)
        try:
            ctx.models.get(item.model)
        except UnknownNameError as exc:
            aliases = {n: ctx.models.get(n).id for n in ctx.models.names}
            raise _unknown(scn, "model", item.model, aliases, loc + ("model",)) from exc
        for j, rt in enumerate(item.runtimes):
            if not cat.has_runtime(rt):
                raise _unknown(scn, "runtime", rt, cat.runtimes, loc + ("runtimes", j))
        if item.runtime is not None:
            _check_stack(scn, cat, kind, item.runtime, loc + ("runtime",))
        if kind == "training" and item.run is not None:
            for key in ("start", "deadline"):
                _check_month(scn, getattr(item.run, key), loc + ("run", key))
            if month_offset(item.run.start, item.run.deadline) < 0:
                raise _loc_error(scn, loc + ("run",), "deadline is before start")


def _check_stack(scn: Scenario, cat, kind: str, name: str, loc: tuple) -> None:
    """A workload's `runtime` must be a serving stack (services) or a training stack (training)."""
    use = "inference" if kind == "services" else "training"
    if cat.has_runtime(name) and cat.runtime(name).kind == "stack" and use in cat.runtime(name).uses:
        return
    raise _unknown(scn, f"{use} stack", name, [rt.id for rt in cat.stacks() if use in rt.uses], loc)


def _check_tenants(scn: Scenario) -> None:
    services = [s.id for s in scn.workloads.services]
    check_unique_ids(scn.tenants, "tenant", scn.where, ("tenants",))
    for i, t in enumerate(scn.tenants):
        if t.id in scn.risk.classes:
            raise _loc_error(scn, ("tenants", i, "id"), f"tenant '{t.id}' is also a risk class; give its share on "
                             "the tenant only")
        if isinstance(t.share, dict):
            for key in t.share:
                if key != "default" and key not in services:
                    raise _unknown(scn, "service", key, services + ["default"], ("tenants", i, "share", key))
    for s in services:
        shares = np.array([scn.tenant_share(i, s) for i in range(len(scn.tenants))]) if scn.tenants else np.zeros((0, 1))
        for i, row in enumerate(shares):
            if (row > 1 + 1e-9).any():
                raise _loc_error(scn, ("tenants", i, "share"), f"tenant {scn.tenants[i].id}'s share of service '{s}' "
                                 f"reaches {row.max():g}", allowed="0 .. 1")
        total = shares.sum(axis=0)
        if (total > 1 + 1e-9).any():
            t = int(np.argmax(total))
            raise _loc_error(scn, ("tenants",), f"tenant shares of service '{s}' add up to {total[t]:g} > 1"
                             + (f" in {scn.months[t]}" if np.ptp(total) > 0 else ""))
    for i, t in enumerate(scn.tenants):
        if t.customers is not None and not isinstance(t.customers, int):
            c = scn.tenant_customers(i)
            if c.max() > 1_000_000:
                raise _loc_error(scn, ("tenants", i, "customers"), f"customers reach {c.max():,.0f}",
                                 allowed="0 .. 1,000,000 (the simulator draws every account one by one)")


def _check_priorities(scn: Scenario) -> None:
    classes = scn.priority_classes()
    tenant_ids = {t.id for t in scn.tenants}
    own = [c for c in scn.risk.required() if c not in tenant_ids]      # a tenant's id is no workload's class
    for kind, i, item in _items(scn):
        loc = ("workloads", kind, i, "priority")
        if item.priority in tenant_ids:
            raise _loc_error(scn, loc, f"priority '{item.priority}' is a tenant's id (a tenant's tier holds only its "
                             "share of the demand): give the workload a risk class or rename the tenant"
                             + (" (a workload's priority is 'standard' unless set)" if item.priority == "standard"
                                else ""), allowed=", ".join(own))
        if item.priority not in classes:
            raise _unknown(scn, "priority class", item.priority, own, loc)
    for cls in scn.risk.loss_usd_per_million_tokens:
        if cls != "default" and cls not in classes:
            raise _unknown(scn, "priority class", cls, list(classes) + ["default"],
                           ("risk", "loss_usd_per_million_tokens", cls))


def _check_fleet_and_offerings(scn: Scenario, cat: Catalog) -> None:
    w = scn.where
    wl_ids = [x.id for x in scn.workloads.all()]
    for i, f in enumerate(scn.fleet):
        check_name("offering", f.offering, cat, w(("fleet", i, "offering")), field_path(("fleet", i, "offering")))
    for i, r in enumerate(scn.rates):
        if r.workload not in wl_ids:
            raise _unknown(scn, "workload", r.workload, wl_ids, ("rates", i, "workload"))
        for key in ("offering", "accelerator"):
            if getattr(r, key):
                check_name(key, getattr(r, key), cat, w(("rates", i, key)), field_path(("rates", i, key)))
    for key in ("include", "exclude"):
        for i, sel in enumerate(getattr(scn.offerings, key)):
            check_selector(sel, cat, w, ("offerings", key, i))
    check_unique_ids(scn.supply.rules, "supply rule", w, ("supply", "rules"))
    for i, rule in enumerate(scn.supply.rules):
        check_selector(rule, cat, w, ("supply", "rules", i))
        if rule.available_from:
            _check_month(scn, rule.available_from, ("supply", "rules", i, "available_from"), allow_before=True)


def _check_power_and_money(scn: Scenario, cat: Catalog) -> None:
    w = scn.where
    for i, lim in enumerate(scn.power.limits):
        check_selector(lim, cat, w, ("power", "limits", i))
    check_unique_ids(scn.power.sites, "site", w, ("power", "sites"))
    for i, site in enumerate(scn.power.sites):
        check_selector(site, cat, w, ("power", "sites", i))
        scn.expand(site.mw, ("power", "sites", i, "mw"))
    if isinstance(scn.power.pue, dict):
        for key in scn.power.pue:
            if key != "default":
                loc = ("power", "pue", key)
                check_name("region", key, cat, w(loc), field_path(loc))
    for key in scn.power.watts_per_chip:
        loc = ("power", "watts_per_chip", key)
        check_name("accelerator", key, cat, w(loc), field_path(loc))
    if isinstance(scn.money.porting_usd, dict):
        for key in scn.money.porting_usd:
            if key != "default" and key not in FAMILIES:
                raise _unknown(scn, "family", key, [*FAMILIES, "default"], ("money", "porting_usd", key))


def _check_risk(scn: Scenario, cat: Catalog) -> None:
    w = scn.where
    for dim, cap in scn.risk.max_share.items():
        if isinstance(cap, dict):
            for key in cap:
                if key != "default":
                    loc = ("risk", "max_share", dim, key)
                    check_name(dim, key, cat, w(loc), field_path(loc))
    if scn.risk.caps_from:
        _check_month(scn, scn.risk.caps_from, ("risk", "caps_from"), allow_before=True)
    check_unique_ids(scn.risk.failures, "failure set", w, ("risk", "failures"))
    for i, f in enumerate(scn.risk.failures):
        check_selector(f, cat, w, ("risk", "failures", i))
    failure_ids = [f.id for f in scn.risk.failures if f.id]
    check_unique_ids(scn.risk.scenarios, "scenario", w, ("risk", "scenarios"))
    for i, s in enumerate(scn.risk.scenarios):
        for j, f in enumerate(s.failures):
            loc = ("risk", "scenarios", i, "failures", j)
            if isinstance(f, str):
                if f not in failure_ids:
                    raise _unknown(scn, "failure set", f, failure_ids or ["(define ids under risk.failures)"], loc)
            else:
                check_selector(f, cat, w, loc)


def series_fields(obj: object, loc: tuple = ()) -> Iterator[tuple[tuple, Series]]:
    """Every `Series` inside a scenario (or one of its sections), with its location."""
    if isinstance(obj, Series):
        yield loc, obj
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from series_fields(getattr(obj, name), loc + (name,))
    elif isinstance(obj, (tuple, list)):
        for i, x in enumerate(obj):
            yield from series_fields(x, loc + (i,))
    elif isinstance(obj, dict):
        for k, x in obj.items():
            yield from series_fields(x, loc + (k,))


def _check_series(scn: Scenario) -> None:
    """Every series fits the horizon (a list has one value per month) and stays finite."""
    for loc, series in series_fields(scn):
        scn.expand(series, loc)


def simulated_months(scn: Scenario, months: int | None = None) -> int:
    """Months a simulation of `scn` covers: `months` (an option) or the scenario's, within the horizon."""
    want = months if months is not None else scn.simulation.months
    return min(want or scn.horizon.months, scn.horizon.months)


def fault_targets(scn: Scenario) -> dict[str, tuple[str, ...]]:
    """What a fault event may name in this scenario: the offerings it may use, their providers,
    regions (`provider/region`), vendors and accelerators, and the families."""
    cat = scn.context().catalog
    offs = [cat.offerings[i] for i in select_offerings(scn)[0]]
    return {"provider": tuple(sorted({o.provider for o in offs})),
            "region": tuple(sorted({f"{o.provider}/{o.region}" for o in offs})),
            "vendor": tuple(sorted({cat.accelerators[o.accelerator].vendor for o in offs})),
            "offering": tuple(sorted(o.id for o in offs)), "family": FAMILIES,
            "accelerator": tuple(sorted({o.accelerator for o in offs}))}


def check_event(scn: Scenario, kind: str, name: str, day: float, months: int, where: str, path: str,
                targets: dict[str, tuple[str, ...]] | None = None) -> None:
    """A fixed event names something the scenario's offerings hold and starts inside the simulated months."""
    targets = targets if targets is not None else fault_targets(scn)
    if name not in targets[kind]:
        raise UnknownNameError(kind, name, targets[kind] or ["(no offering to plan with)"], where=where, field=path)
    days = months * DAYS_PER_MONTH
    if day >= days:
        raise UserError(f"day {day:g} is after the simulated {months} months ({days:g} days)", where=where,
                        field=path, allowed=f"0 <= day < {days:g}, or simulate more months (--months, "
                        "simulation.months)")


def _check_simulation(scn: Scenario, cat: Catalog) -> None:
    sim = scn.simulation
    if "months" in sim.model_fields_set and sim.months is not None and sim.months > scn.horizon.months:
        raise _loc_error(scn, ("simulation", "months"), f"{sim.months} months is longer than the horizon",
                         allowed=f"1 .. {scn.horizon.months}")
    ids = {a.id: a for a in cat.accelerators.values()}
    for i, g in enumerate(scn.faults.new_generations):
        loc = ("faults", "new_generations", i, "accelerator")
        if g.accelerator not in ids:
            aliases = {n: a.id for a in ids.values() for n in (a.id, *a.aliases)}
            canon = aliases.get(g.accelerator)
            if canon is not None:
                raise _loc_error(scn, loc, f"'{g.accelerator}' is an alias; write the catalog id '{canon}'")
            raise _unknown(scn, "accelerator", g.accelerator, aliases, loc)
    if scn.faults.events:
        check_events(scn, scn.horizon.months)


def check_events(scn: Scenario, months: int) -> None:
    """The scenario's `faults.events` against its offerings and a simulation of `months` months."""
    targets = fault_targets(scn)
    for i, ev in enumerate(scn.faults.events):
        loc = ("faults", "events", i)
        name_loc = loc + ("target",) if ev.target_name not in targets[ev.target_kind] else loc + ("day",)
        check_event(scn, ev.target_kind, ev.target_name, ev.day, months, scn.where(name_loc), field_path(name_loc),
                    targets)


def _check_month(scn: Scenario, month: str, loc: tuple, allow_before: bool = False) -> None:
    off = month_offset(scn.horizon.start, month)
    if off >= scn.horizon.months or (off < 0 and not allow_before):
        raise _loc_error(scn, loc, f"month {month} is outside the horizon", allowed=f"{scn.months[0]} .. {scn.months[-1]}")


def _check_uncertainty(scn: Scenario, cat: Catalog) -> None:
    """Demand path multipliers name workloads (or `all`), price multipliers vendors."""
    valid = [w.id for w in scn.workloads.all()] + ["all"]
    for i, p in enumerate(scn.uncertainty.paths):
        for key in p.demand:
            if key not in valid:
                raise _unknown(scn, "workload", key, valid, ("uncertainty", "paths", i, "demand", key))
        for key in p.prices:
            loc = ("uncertainty", "paths", i, "prices", key)
            check_name("vendor", key, cat, scn.where(loc), field_path(loc))
