"""Place: where each workload runs. Training jobs: Gavel-style allocation LPs and rounds."""

from polyfleet.place.allocation import Allocation, AllocationProblem, WarmStart, solve_lp
from polyfleet.place.rounds import RoundConfig, RoundMechanism
from polyfleet.place.training import (POLICIES, SolveOptions, allocate, equal_share, get_policy,
                                      register_policy)

__all__ = [
    "Allocation", "AllocationProblem", "POLICIES", "RoundConfig", "RoundMechanism", "SolveOptions",
    "WarmStart", "allocate", "equal_share", "get_policy", "register_policy", "solve_lp",
]
