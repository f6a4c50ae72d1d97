"""Time: the event engine, the job-level simulator, and the fleet simulator with faults and risk."""

from polyfleet.sim.build import setup_from_plan
from polyfleet.sim.calendar import Calendar
from polyfleet.sim.engine import Engine
from polyfleet.sim.faults import FaultEvent, Universe, parse_what_if, sample_timeline
from polyfleet.sim.fleet import simulate
from polyfleet.sim.jobs import JobTrace, SimConfig, SimResult, load_gavel_trace, simulate_jobs
from polyfleet.sim.result import Incident, RunResult
from polyfleet.sim.risk import RiskResult, StrategyRisk, run_risk
from polyfleet.sim.setup import SimSetup
from polyfleet.sim.stats import Estimate

__all__ = ["Calendar", "Engine", "Estimate", "FaultEvent", "Incident", "JobTrace", "RiskResult", "RunResult", "SimConfig", "SimResult",
           "SimSetup", "StrategyRisk", "Universe", "load_gavel_trace", "parse_what_if", "run_risk",
           "sample_timeline", "setup_from_plan", "simulate", "simulate_jobs"]
