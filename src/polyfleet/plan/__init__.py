"""Plan: the capacity portfolio planner (what to hold, from whom, where, month by month).

`plan(scenario) -> PlanResult` builds a MILP from the scenario and its rate table, solves it with
HiGHS and explains the answer: binding limits, survivability under each failure set, or, when no
plan exists, the constraints that cannot hold together. `compare()` and `frontier()` solve
variants of the same scenario to show what diversification costs and buys.
"""

from .api import PlanOptions, as_inputs, check_invariants, plan
from .binding import Binding
from .contract_terms import ContractTerms, Tranche
from .deals import DealsComparison, deals_vs_free
from .diagnose import Conflict, Diagnosis
from .evaluate import Survivability, evaluate
from .from_scenario import inputs_from_scenario
from .inputs import TERMS, Cap, Contingency, CvarCase, PlanInputs, PowerLimit, SupplyLimit, simple_inputs
from .model import build
from .result import PlanResult
from .solve import Solution, SolveOptions, solve
from .sensitivity import Sensitivity, sensitivity
from .stochastic import StochasticOptions, plan_paths, plan_scenario_paths
from .strategies import CompareResult, FrontierResult, Strategy, compare, frontier

__all__ = ["Binding", "Cap", "CompareResult", "Conflict", "Contingency", "ContractTerms", "DealsComparison", "Tranche",
           "deals_vs_free", "CvarCase", "Diagnosis", "FrontierResult",
           "PlanInputs", "PlanOptions", "PlanResult", "PowerLimit", "Solution", "SolveOptions", "Strategy",
           "SupplyLimit", "Survivability", "TERMS", "as_inputs", "build", "check_invariants", "compare", "evaluate",
           "frontier", "inputs_from_scenario", "plan", "simple_inputs", "solve", "Sensitivity", "StochasticOptions",
           "plan_paths", "plan_scenario_paths", "sensitivity"]
