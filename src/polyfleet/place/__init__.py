"""Place: where each workload runs on the fleet we have.

Training jobs: Gavel-style allocation LPs (time fractions per accelerator type) and a round
mechanism. Inference services: Mélange-style replica placement over pools with tiers,
failover with few moves, and routing weights.
"""

from polyfleet.place.allocation import Allocation, AllocationProblem, WarmStart, solve_lp
from polyfleet.place.failover import evictions, failover, failover_from, replace, replicas_lost
from polyfleet.place.fleet import FleetPlacement, failover_fleet, place_fleet
from polyfleet.place.inference import Placement, Shortfall, place
from polyfleet.place.inference_buckets import split_buckets, split_demand, split_services
from polyfleet.place.inference_checks import check_capacity, tier_violations
from polyfleet.place.inference_model import Demand, Fleet, PlaceOptions, Pool
from polyfleet.place.rounds import RoundConfig, RoundMechanism
from polyfleet.place.routing import Move, routing_table
from polyfleet.place.training import (POLICIES, PolicyOptions, allocate, equal_share, get_policy,
                                      register_policy)

__all__ = [
    "Allocation", "AllocationProblem", "Demand", "Fleet", "FleetPlacement", "Move", "POLICIES", "PlaceOptions",
    "Placement", "PolicyOptions", "Pool", "RoundConfig", "RoundMechanism", "Shortfall", "WarmStart", "allocate",
    "check_capacity", "equal_share", "evictions", "failover", "failover_fleet", "failover_from", "get_policy", "place",
    "place_fleet", "register_policy", "replace", "replicas_lost", "routing_table", "solve_lp", "split_buckets",
    "split_demand", "split_services", "tier_violations",
]
