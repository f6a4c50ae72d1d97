"""Turn a scenario and a solved plan into what the simulator runs (`SimSetup`)."""

from __future__ import annotations

import zlib

import numpy as np

from ..catalog import FAMILIES
from ..scenario import Scenario
from ..scenario.faults import Faults
from ..scenario.simulation import SimOptions
from .calendar import Calendar
from .customers import Customers, draw_customers
from .faults import Universe
from .schedule import FleetSchedule, held_index
from .setup import SimSetup

LAST_CLASSES = ("standard", "batch")   # default classes rank after tenants of the same requirement


def universe_of(scenario: Scenario) -> Universe:
    """Everything a fault can name in this scenario: the offerings it may use, their regions and vendors."""
    cat = scenario.context().catalog
    ids = scenario.offering_ids()
    offs = [cat.offerings[i] for i in ids]
    regions = tuple(sorted({(o.provider, o.region) for o in offs}))
    vendors = tuple(sorted({cat.accelerators[o.accelerator].vendor for o in offs}))
    accs = tuple(sorted({o.accelerator for o in offs}))
    return Universe(regions=regions, vendors=vendors, offerings=tuple(sorted(ids)), families=FAMILIES,
                    accelerators=accs)


def class_order(classes: tuple[str, ...], required: np.ndarray, tenants: tuple[str, ...]) -> list[int]:
    """Indices of classes, highest priority first: by required survivability, tenants before the
    default classes at the same level, batch last."""
    def key(i: int) -> tuple:
        c = classes[i]
        rank = tenants.index(c) if c in tenants else len(tenants) + (LAST_CLASSES.index(c) if c in LAST_CLASSES else 0)
        return (c == "batch", -float(required[i]), rank, i)
    return sorted(range(len(classes)), key=key)


def mean_demand(scenario: Scenario, result) -> np.ndarray:
    """[W, T] tokens/s: services' monthly means (the plan sizes for the peak; the simulator makes
    its own peaks), and training at the pace the plan scheduled it (a run with a deadline is
    spread over its window as the plan chose). Tokens the plan trains off-peak on idle inference chips
    are left out: the simulator runs training on the chips the plan allocates to it only."""
    inp = result.inputs
    out = np.zeros((inp.W, inp.T))
    out[:len(scenario.workloads.services)] = scenario.service_tokens_per_s()
    train = np.array([k == "training" for k in inp.kinds])
    off = getattr(result, "off_peak_served", None)
    out[train] = (result.served[train] - (off[train] if off is not None else 0.0)) / 3600.0
    return out


def customers_of(scenario: Scenario, inputs, classes: tuple[str, ...], order: list[int]) -> Customers | None:
    """Each tenant's customers, drawn from a seed fixed by the scenario, so every strategy and run
    serves the same customer base."""
    counts = np.array([next((scenario.customers_now(i) or 0 for i, t in enumerate(scenario.tenants) if t.id == c), 0)
                       for c in classes])
    if counts.sum() == 0:
        return None
    inf = np.array([k == "inference" for k in inputs.kinds])
    traffic = inputs.class_share[inf][:, order] * inputs.demand[inf].mean(axis=1)[:, None]
    seed = zlib.crc32((scenario.name or scenario.source_name).encode())
    return draw_customers(counts, traffic, scenario.simulation.customers, np.random.default_rng(seed))


def run_chips_of(result) -> np.ndarray:
    """[W, P, T] chips the plan gives each training workload on each held pool each month (0 for
    inference); a solver's -1e-9 is 0. Today the plan spreads a run over pools like a fluid; a plan
    that puts each run on one cluster fills one pool per run, and the simulator follows either."""
    inp = result.inputs
    idx = held_index(result)
    out = np.zeros((inp.W, len(idx), inp.T))
    train = np.array([k == "training" for k in inp.kinds])
    if result.allocation is not None and train.any():
        out[train] = result.allocation[train][:, idx]
    return np.where(out > 1e-6, out, 0.0)


def setup_from_plan(scenario: Scenario, result, name: str = "plan", table=None,
                    faults: Faults | None = None, options: SimOptions | None = None) -> SimSetup:
    """The simulator's view of one plan: its fleet, where it trains, the scenario's demand, classes
    and customers, on the plan's calendar (the scenario's hours per month)."""
    inp = result.inputs
    sched = FleetSchedule.from_plan(result)
    full = table if table is not None else scenario.rate_table()
    sub = full.subset(workloads=list(inp.workloads), offerings=list(sched.pools))
    tenants = tuple(t.id for t in scenario.tenants)
    order = [i for i in class_order(inp.classes, inp.required, tenants) if inp.class_share[:, i].sum() > 0]
    classes = tuple(inp.classes[i] for i in order)
    customers = customers_of(scenario, inp, classes, order)
    train = np.array([k == "training" for k in inp.kinds])
    gang = np.where(train, sub.chips_per_unit.max(axis=1) if sub.chips_per_unit.size else 0, 0)
    for j, tr in enumerate(scenario.workloads.training):
        if tr.chips:
            gang[len(scenario.workloads.services) + j] = tr.chips
    return SimSetup(name=name, schedule=sched, table=sub, kinds=tuple(inp.kinds), demand=mean_demand(scenario, result),
                    peak_factor=np.array([getattr(w, "peak_factor", 1.0) for w in scenario.workloads.all()]),
                    classes=classes, share=inp.class_share[:, order], customers=customers,
                    loss_usd_per_mtok=inp.loss_usd_per_mtok[order], training_chips=gang.astype(float),
                    faults=faults or getattr(scenario, "faults", None) or Faults(), universe=universe_of(scenario),
                    options=options or getattr(scenario, "simulation", None) or SimOptions(),
                    run_chips=run_chips_of(result),
                    calendar=Calendar.from_month(scenario.horizon.start, inp.hours))
