"""polyfleet: plan, place and protect AI compute across TPUs, Trainium and GPUs.

The main entry points, importable from here (each loads its package on first use, so
`import polyfleet` stays fast):

    scn = polyfleet.load_scenario("frontier-2026")     # a YAML path or a built-in name -> Scenario
    table = scn.rate_table()                           # RateTable: work per chip-hour, workload x offering
    result = polyfleet.plan_capacity(scn)              # PlanResult: what to hold, month by month (HiGHS MILP)
    alts = polyfleet.compare(scn, policy=result)       # least-cost, single-vendor, single-cloud plans beside it
    setup = polyfleet.setup_from_plan(scn, result)     # the plan as the simulator runs it (SimSetup)
    risk = polyfleet.run_risk([setup], runs=20)        # RiskResult: Monte Carlo of faults, with intervals

Placement on a fleet you hold: `place_services(rates, Fleet, Demand)` -> Placement, `failover(placement,
lost)`;
the whole fleet (inference and training) with `place_fleet`. Bad input raises `UserError` (file, line,
field, allowed values); no plan within the limits raises `InfeasibleError` where a plan is required.
The packages hold the rest: `polyfleet.catalog`, `perf`, `plan`, `place`, `sim`, `scenario`, `solvers`.
`plan_capacity` is `polyfleet.plan.plan` and `place_services` is `polyfleet.place.place`: named apart
here because `polyfleet.plan` and `polyfleet.place` are the packages.
"""

from __future__ import annotations

TYPE_CHECKING = False            # typing.TYPE_CHECKING without importing typing (it costs more than the rest)
__version__ = "0.1.0"

# name here -> (module, name there); imported on first access (PEP 562)
_RENAMED = {"plan_capacity": "plan", "place_services": "place"}
_ENTRY_POINTS: dict[str, str] = {
    # a scenario and its rate table
    "load_scenario": "polyfleet.scenario", "Scenario": "polyfleet.scenario",
    "build_rate_table": "polyfleet.perf", "RateTable": "polyfleet.perf",
    # plan
    "plan_capacity": "polyfleet.plan", "compare": "polyfleet.plan", "frontier": "polyfleet.plan",
    "PlanOptions": "polyfleet.plan", "SolveOptions": "polyfleet.plan", "PlanResult": "polyfleet.plan",
    # place
    "place_services": "polyfleet.place", "failover": "polyfleet.place", "place_fleet": "polyfleet.place",
    "Fleet": "polyfleet.place", "Pool": "polyfleet.place", "Demand": "polyfleet.place",
    "PlaceOptions": "polyfleet.place", "Placement": "polyfleet.place",
    # simulate and risk
    "setup_from_plan": "polyfleet.sim", "simulate": "polyfleet.sim", "run_risk": "polyfleet.sim",
    "SimSetup": "polyfleet.sim", "RunResult": "polyfleet.sim", "RiskResult": "polyfleet.sim",
    # errors
    "PolyfleetError": "polyfleet.errors", "UserError": "polyfleet.errors",
    "UnknownNameError": "polyfleet.errors", "InfeasibleError": "polyfleet.errors",
}

__all__ = [
    "__version__",
    "load_scenario", "Scenario", "build_rate_table", "RateTable",
    "plan_capacity", "compare", "frontier", "PlanOptions", "SolveOptions", "PlanResult",
    "place_services", "failover", "place_fleet", "Fleet", "Pool", "Demand", "PlaceOptions", "Placement",
    "setup_from_plan", "simulate", "run_risk", "SimSetup", "RunResult", "RiskResult",
    "PolyfleetError", "UserError", "UnknownNameError", "InfeasibleError",
]


def __getattr__(name: str) -> Any:
    module = _ENTRY_POINTS.get(name)
    if module is None:
        raise AttributeError(f"module 'polyfleet' has no attribute '{name}'")
    from importlib import import_module
    value = getattr(import_module(module), _RENAMED.get(name, name))
    globals()[name] = value          # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what type checkers and IDEs see
    from typing import Any

    from polyfleet.errors import InfeasibleError, PolyfleetError, UnknownNameError, UserError
    from polyfleet.perf import RateTable, build_rate_table
    from polyfleet.place import Demand, Fleet, Placement, PlaceOptions, Pool, failover, place_fleet
    from polyfleet.place import place as place_services
    from polyfleet.plan import PlanOptions, PlanResult, SolveOptions, compare, frontier
    from polyfleet.plan import plan as plan_capacity
    from polyfleet.scenario import Scenario, load_scenario
    from polyfleet.sim import RiskResult, RunResult, SimSetup, run_risk, setup_from_plan, simulate
