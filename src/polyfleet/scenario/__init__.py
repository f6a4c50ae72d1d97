"""Scenarios: one YAML file ties a run together (workloads and demand, tenants, fleet, supply, power,
money, risk policy). `load_scenario(path_or_builtin_name) -> Scenario`."""

from .context import select_offerings
from .faults import Faults, FixedEvent
from .load import builtin_scenarios, load_scenario, scenario_from_doc
from .model import Scenario
from .policy import (COMMIT_MONTHS, Cvar, CvarScenario, FailureSpec, Money, Power, PowerLimitSpec, Risk, Supply,
                     SupplyRule)
from .resolve import OfferingFacts, selector_mask
from .sections import (FleetEntry, Horizon, OfferingFilter, RateOverride, RunWindow, Selector, ServiceSpec, Tenant,
                       TrainingSpec, Workloads)
from .series import Series, month_labels, month_offset, parse_month
from .simulation import CustomerModel, SimOptions, TrafficShape

__all__ = ["COMMIT_MONTHS", "CustomerModel", "Cvar", "CvarScenario", "FailureSpec", "Faults", "FixedEvent", "FleetEntry", "Horizon", "Money",
           "OfferingFacts", "OfferingFilter", "Power", "PowerLimitSpec", "RateOverride", "Risk", "RunWindow", "Scenario",
           "Selector", "Series", "ServiceSpec", "SimOptions", "Supply", "SupplyRule", "Tenant", "TrafficShape", "TrainingSpec",
           "Workloads", "builtin_scenarios", "load_scenario", "month_labels", "month_offset", "parse_month",
           "scenario_from_doc", "select_offerings", "selector_mask"]
