"""Time: the event engine and the simulators built on it."""

from polyfleet.sim.engine import Engine
from polyfleet.sim.jobs import JobTrace, SimConfig, SimResult, load_gavel_trace, simulate_jobs

__all__ = ["Engine", "JobTrace", "SimConfig", "SimResult", "load_gavel_trace", "simulate_jobs"]
