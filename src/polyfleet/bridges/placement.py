"""Placing a scenario's workloads on a fleet in one month: what `polyfleet place`, the exports and the
service (`server/live.py`) share, so that all three place the same way.

- one tier order: the planner's and simulator's (`sim.build.class_order`: by required survivability,
  tenants before the default classes at the same level, batch last);
- one reading of the fleet: chips per offering held (the scenario's `fleet:` entries added up, or the
  plan's fleet that month when it has none or `from_plan` is set), each offering priced at what its
  entries pay: the contract price where an entry gives one, else the catalog's price for its term
  (on-demand where the term has none), chip-weighted over its entries;
- one demand: each service's peak of the month split over its tiers; training's tokens/s per month
  (its monthly flow, or its run spread evenly over the months of its window) in gangs of at most the
  simulator's shard size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import InfeasibleError, UserError
from ..perf.ratetable import TERMS, RateTable
from ..place import Demand, FleetPlacement, PlaceOptions, place_fleet
from ..scenario import Scenario


@dataclass(frozen=True)
class ScenarioWork:
    """What placement reads from a scenario. Axes: S services, K tiers with demand (highest first),
    W training workloads, T months."""

    table: RateTable
    services: tuple[str, ...]
    tiers: tuple[str, ...]
    share: np.ndarray                  # [S, K] share of each service's demand in each tier
    peak_tokens_per_s: np.ndarray      # [S, T] what capacity is sized for (monthly mean x peak factor)
    training: tuple[str, ...]
    gang_chips: np.ndarray             # [W] chips per data-parallel gang
    training_tokens_per_s: np.ndarray  # [W, T]

    def demand(self, t: int, factors: Mapping[str, float] | None = None) -> Demand | None:
        """Services x tiers tokens/s in month t, each service's peak times its factor (default 1)."""
        if not self.services or not self.tiers:
            return None
        f = np.array([float((factors or {}).get(s, 1.0)) for s in self.services])
        return Demand(self.services, self.tiers, (self.peak_tokens_per_s[:, t] * f)[:, None] * self.share)


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
    """Priority classes highest first, as the planner and simulator rank them."""
    from ..sim.build import class_order as order
    req = scn.priority_classes()
    classes = tuple(req)
    return [classes[k] for k in order(classes, np.array([req[c] for c in classes]), tuple(t.id for t in scn.tenants))]


def scenario_work(scn: Scenario, table: RateTable | None = None) -> ScenarioWork:
    """The services, tiers, demand and training the scenario asks placement to serve."""
    table = table if table is not None else scn.rate_table()
    svcs = scn.workloads.services
    classes, share = scn.class_shares()
    keep = [classes.index(c) for c in class_order(scn) if share[: len(svcs), classes.index(c)].sum() > 0]
    train = scn.workloads.training
    gang = np.array([w.chips or table.chips_per_unit[table.w(w.id)].max() for w in train], dtype=float)
    return ScenarioWork(table=table, services=tuple(s.id for s in svcs), tiers=tuple(classes[k] for k in keep),
                        share=share[: len(svcs)][:, keep], peak_tokens_per_s=scn.service_tokens_per_s(peak=True),
                        training=tuple(w.id for w in train),
                        gang_chips=np.minimum(gang, scn.simulation.training_shard_chips),
                        training_tokens_per_s=_training_demand(scn))


def _training_demand(scn: Scenario) -> np.ndarray:
    """[W, T] tokens/s each training workload needs: its monthly flow, or its run spread evenly over
    the months of its window."""
    train = scn.workloads.training
    seconds = scn.horizon.hours_per_month * 3600.0
    out = np.zeros((len(train), scn.horizon.months))
    for j, w in enumerate(train):
        if w.tokens_per_month is not None:
            out[j] = scn.expand(w.tokens_per_month, ("workloads", "training", j, "tokens_per_month")) / seconds
        else:
            inside = np.array([w.run.start <= m <= w.run.deadline for m in scn.months])
            if inside.any():
                out[j, inside] = w.run.tokens / (inside.sum() * seconds)
    return out


def term_price(table: RateTable, offering: str, term: str, usd_per_chip_hour: float | None = None) -> float:
    """What a chip-hour of `offering` held under `term` costs: the contract price when given, else the
    catalog's for the term, else its on-demand price (0 where even that is unknown)."""
    if usd_per_chip_hour is not None:
        return float(usd_per_chip_hour)
    o = table.o(offering)
    for t in (term, "on_demand"):
        v = float(table.usd_per_chip_hour[o, TERMS.index(t)]) if t in TERMS else np.nan
        if np.isfinite(v):
            return v
    return 0.0


def priced_chips(table: RateTable, held: Iterable[tuple[str, str, float, float | None]]
                 ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Offerings (first-seen order), chips held and USD per chip-hour (chip-weighted over the holdings)
    from (offering, term, chips, contract price or None) holdings."""
    chips: dict[str, float] = {}
    paid: dict[str, float] = {}
    for offering, term, n, usd in held:
        chips[offering] = chips.get(offering, 0.0) + n
        paid[offering] = paid.get(offering, 0.0) + n * term_price(table, offering, term, usd)
    ids = list(chips)
    vec = np.array([chips[o] for o in ids], dtype=float)
    price = np.array([paid[o] / chips[o] if chips[o] > 0 else term_price(table, o, "on_demand") for o in ids])
    return ids, vec, price


@dataclass(frozen=True)
class _Fleet:
    pools: list[str]
    chips: np.ndarray
    price: np.ndarray | None
    runs: np.ndarray | None            # [W, P] chips the plan gives each training run (plan path)
    training_demand: np.ndarray        # [W] tokens/s


def scenario_placement(scn: Scenario, month: int = 0, *, from_plan: bool = False,
                       options: PlaceOptions | None = None, plan_options=None,
                       say: Callable[[str], None] = lambda _msg: None) -> ScenarioPlacement:
    """Place the scenario's workloads on its fleet (or the plan's) in month index `month`."""
    if not 0 <= month < scn.horizon.months:
        raise UserError(f"month index {month} is outside the horizon", field="month",
                        allowed=f"0 .. {scn.horizon.months - 1}")
    say("building the rate table")
    work = scenario_work(scn)
    fl = _plan_fleet(scn, work, month, plan_options, say) if from_plan or not scn.fleet else \
        _scenario_fleet(scn, work, month)
    keep = fl.chips > 0
    if not keep.any():
        raise UserError("the fleet holds no chips", where=scn.source_name, field="fleet")
    pools = [p for p, k in zip(fl.pools, keep) if k]
    say("placing")
    fp = place_fleet(work.table, pools, fl.chips[keep], price=None if fl.price is None else fl.price[keep],
                     inference=work.demand(month), training=work.training, training_demand=fl.training_demand,
                     gang_chips=work.gang_chips, training_pools=None if fl.runs is None else fl.runs[:, keep],
                     options=options)
    used = set(work.tiers) | {w.priority for w in scn.workloads.training}
    req = scn.priority_classes()
    return ScenarioPlacement(scn, month, work.table, fp, tuple(c for c in class_order(scn) if c in used),
                             {c: req[c] for c in used}, {w.id: w.priority for w in scn.workloads.training},
                             {w: int(g) for w, g in zip(work.training, work.gang_chips)})


def _scenario_fleet(scn: Scenario, work: ScenarioWork, t: int) -> _Fleet:
    """The `fleet:` section, priced as its entries pay; training asks its demand of month t."""
    cat = scn.context().catalog
    ids, chips, price = priced_chips(work.table, ((e.offering, e.term, e.units * cat.offering(e.offering).unit_chips,
                                                  e.usd_per_chip_hour) for e in scn.fleet))
    return _Fleet(ids, chips, price, None, work.training_tokens_per_s[:, t])


def _plan_fleet(scn: Scenario, work: ScenarioWork, t: int, plan_options, say) -> _Fleet:
    """The plan's fleet in month t: its chips per offering (catalog prices), training where it put it."""
    from ..plan import plan
    from ..plan.from_scenario import inputs_from_scenario
    say("planning")
    inp = inputs_from_scenario(scn)
    res = plan(inp, plan_options, progress=say) if plan_options is not None else plan(inp, progress=say)
    if not res.feasible:
        raise InfeasibleError("the scenario has no plan to place", (res.diagnosis.lines() if res.diagnosis
                                                                    else [res.status_line])[:3],
                              where=scn.source_name)
    ids = list(inp.facts.ids)
    row = {w: i for i, w in enumerate(inp.workloads)}
    demand = np.array([float(res.served[row[w], t]) / 3600.0 for w in work.training])
    runs = np.array([[max(float(res.allocation[row[w], i, t]), 0.0) for i in range(len(ids))]
                     for w in work.training]).reshape(len(work.training), len(ids))
    return _Fleet(ids, np.array([float(res.chips[i, t]) for i in range(len(ids))]), None,
                  runs if len(work.training) else None, demand)
