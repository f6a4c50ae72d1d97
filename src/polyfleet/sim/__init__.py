"""Time: the event engine, the job-level simulator, and the fleet simulator with faults and risk."""

from polyfleet.sim.engine import Engine
from polyfleet.sim.jobs import JobTrace, SimConfig, SimResult, load_gavel_trace, simulate_jobs

__all__ = ["Engine", "JobTrace", "SimConfig", "SimResult", "load_gavel_trace", "simulate_jobs"]
