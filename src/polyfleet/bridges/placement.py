"""The placement an export writes down: a scenario's services and training placed on its fleet in one month.

The same steps as `polyfleet place`: the fleet is the scenario's `fleet:` section (or the plan's fleet
that month, when it has none or `from_plan` is set), inference is placed for the month's peak demand with
its priority classes as tiers, training gangs share the chips left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from ..perf.ratetable import RateTable
from ..place import Demand, FleetPlacement, PlaceOptions, place_fleet
from ..scenario import Scenario


@dataclass(frozen=True)
class ScenarioPlacement:
    """A placement with what exports need around it. `classes`: every class with work, highest first."""

    scenario: Scenario
    month: int
    table: RateTable
    fleet: FleetPlacement
    classes: tuple[str, ...]
    survive: dict[str, float]
    training_class: dict[str, str]        # training workload -> its priority class
    gang_chips: dict[str, int]            # training workload -> chips per gang

    @property
    def pools(self) -> tuple[str, ...]:
        return self.fleet.pools


def class_order(scn: Scenario) -> list[str]:
    """Priority classes highest first: by required survivability, ties in the scenario's order."""
    req = scn.priority_classes()
    return sorted(req, key=lambda c: -req[c])


def scenario_placement(scn: Scenario, month: int = 0, *, from_plan: bool = False,
                       options: PlaceOptions | None = None,
                       say: Callable[[str], None] = lambda _msg: None) -> ScenarioPlacement:
    """Place the scenario's workloads on its fleet in month index `month`."""
    if not 0 <= month < scn.horizon.months:
        raise UserError(f"month index {month} is outside the horizon", field="month",
                        allowed=f"0 .. {scn.horizon.months - 1}")
    say("building the rate table")
    table = scn.rate_table()
    chips, reserved, train_demand = _fleet(scn, month, from_plan or not scn.fleet, say)
    pools = [p for p in chips if chips[p] > 0]
    if not pools:
        raise UserError("the fleet holds no chips", where=scn.source_name, field="fleet")
    services = scn.workloads.services
    classes, share = scn.class_shares()
    order = [c for c in class_order(scn) if c in classes]
    keep = [classes.index(c) for c in order if share[: len(services), classes.index(c)].sum() > 0]
    peak = scn.service_tokens_per_s(peak=True)[:, month]
    demand = Demand(services=tuple(s.id for s in services), tiers=tuple(classes[k] for k in keep),
                    tokens_per_s=peak[:, None] * share[: len(services)][:, keep]) if services else None
    training = [w.id for w in scn.workloads.training]
    gang = {w.id: int(min(w.chips or table.chips_per_unit[table.w(w.id)].max(), scn.simulation.training_shard_chips))
            for w in scn.workloads.training}
    say("placing")
    fp = place_fleet(table, pools, np.array([chips[p] for p in pools], dtype=float), inference=demand,
                     training=training, training_demand=np.array([train_demand.get(w, 0.0) for w in training]),
                     gang_chips=np.array([gang[w] for w in training], dtype=float),
                     reserved=np.array([reserved.get(p, 0.0) for p in pools]), options=options)
    used = set(demand.tiers if demand else ()) | {w.priority for w in scn.workloads.training}
    req = scn.priority_classes()
    return ScenarioPlacement(scn, month, table, fp, tuple(c for c in order if c in used),
                             {c: req[c] for c in used}, {w.id: w.priority for w in scn.workloads.training}, gang)


def _fleet(scn: Scenario, t: int, use_plan: bool, say) -> tuple[dict, dict, dict]:
    """Chips per offering, chips kept for training, and training demand (tokens/s) in month t."""
    hours = scn.horizon.hours_per_month
    if use_plan:
        from ..plan import plan
        from ..plan.from_scenario import inputs_from_scenario
        say("planning")
        inp = inputs_from_scenario(scn)
        res = plan(inp, progress=say)
        if not res.feasible:
            raise UserError("the scenario has no plan: " + "; ".join(
                (res.diagnosis.lines() if res.diagnosis else [res.status_line])[:2]), where=scn.source_name)
        ids = inp.facts.ids
        train = [i for i, k in enumerate(inp.kinds) if k == "training"]
        return ({o: float(res.chips[i, t]) for i, o in enumerate(ids)},
                {o: float(res.allocation[train, i, t].sum()) for i, o in enumerate(ids)} if train else {},
                {inp.workloads[w]: float(res.served[w, t]) / 3600.0 for w in train})
    cat = scn.context().catalog
    chips: dict[str, float] = {}
    for e in scn.fleet:
        chips[e.offering] = chips.get(e.offering, 0.0) + e.units * cat.offering(e.offering).unit_chips
    demand = {}
    for j, w in enumerate(scn.workloads.training):
        if w.tokens_per_month is not None:
            per_month = scn.expand(w.tokens_per_month, ("workloads", "training", j, "tokens_per_month"))[t]
            demand[w.id] = per_month / (hours * 3600.0)
        elif w.run.start <= scn.months[t] <= w.run.deadline:
            n = sum(w.run.start <= m <= w.run.deadline for m in scn.months)
            demand[w.id] = w.run.tokens / (n * hours * 3600.0)
    return chips, {}, demand
