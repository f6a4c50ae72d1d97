"""Monte Carlo risk: many fault timelines, every strategy run through the same ones.

Run i draws its fault timeline and its traffic from the i-th child of `SeedSequence(seed)`;
every strategy sees that same timeline and traffic (common random numbers), so differences
between strategies are the strategies', not the dice's. Runs go to a local process pool by
default, or to Ray (`ray_address`), with identical results. Every figure is an `Estimate` with
its 95% interval and, where the runs are too few for it, a warning (sim/stats.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import stats
from .faults import FaultEvent, sample_timeline
from .fleet import prewarm, simulate
from .parallel import run_many
from .result import RunResult
from .setup import SimSetup
from .tail import tail_drivers

CVAR_ALPHA = 0.95


@dataclass(frozen=True)
class RiskPayload:
    setups: tuple[SimSetup, ...]
    fixed: tuple[FaultEvent, ...] = ()
    sample_faults: bool = True


def one_run(payload: RiskPayload, index: int, ss: np.random.SeedSequence) -> list[RunResult]:
    """Run `index`: one fault timeline and one traffic draw, through every strategy."""
    faults_ss, traffic_ss = ss.spawn(2)
    first = payload.setups[0]
    events = list(payload.fixed) + sample_timeline(first.faults, first.universe, first.horizon_s,
                                                   np.random.default_rng(faults_ss), payload.sample_faults,
                                                   first.month_s)
    events.sort(key=lambda e: (e.start_s, e.kind, e.target))
    return [simulate(s, events, np.random.default_rng(traffic_ss)) for s in payload.setups]


@dataclass
class StrategyRisk:
    """Distributions over runs for one strategy. Axes: R runs, C classes (priority order),
    T_w training workloads."""
    name: str
    classes: tuple[str, ...]
    unserved_share: np.ndarray       # [R, C] inference demand unserved (NaN: no inference demand in the class)
    worst_day_loss: np.ndarray       # [R, C]
    loss_usd: np.ndarray             # [R] value of unserved inference demand
    cost_usd: np.ndarray             # [R] actual cost of the simulated months (price shocks included)
    planned_cost_usd: float
    stranded_usd: np.ndarray         # [R]
    training_delay_days: np.ndarray  # [R, T_w]
    training_served_share: np.ndarray  # [R, T_w] share of the plan's training tokens trained
    training_delay_by_cause: dict    # cause -> [R, T_w] days
    training: tuple[str, ...]
    customer_hours: np.ndarray       # [R] customers x hours hit by faults
    max_customers: np.ndarray        # [R] most customers hit at once by a fault
    energy_mwh: np.ndarray           # [R]
    scope: str = ""                  # '24 months' or 'first 12 of 24 months'
    has_customers: bool = True       # False: no tier has a customer model, customer figures are unknown
    aliases: tuple[str, ...] = ()    # other strategies with the same fleet (run once)
    tail_incidents: list[dict] = field(default_factory=list)

    @property
    def runs(self) -> int:
        return len(self.cost_usd)

    @property
    def total_usd(self) -> np.ndarray:
        """[R] what a run costs all in: money spent, commitments stranded, demand lost."""
        return self.cost_usd + self.stranded_usd + self.loss_usd

    def prob_daily_loss_above(self, threshold: float) -> np.ndarray:
        """[C] share of runs in which some day loses more than `threshold` of the class's demand."""
        return (self.worst_day_loss > threshold).mean(axis=0)

    def estimates(self, threshold: float) -> dict[str, stats.Estimate]:
        """Every figure of the risk table, by key, with its interval (computed once per threshold)."""
        memo = self.__dict__.setdefault("_memo", {})
        if threshold not in memo:
            memo[threshold] = self._estimates(threshold)
        return memo[threshold]

    def _estimates(self, threshold: float) -> dict[str, stats.Estimate]:
        out = {"expected_cost_usd": stats.mean(self.cost_usd, 0.0),
               "cvar95_total_usd": stats.cvar(self.total_usd, CVAR_ALPHA),
               "expected_loss_usd": stats.mean(self.loss_usd, 0.0),
               "expected_stranded_usd": stats.mean(self.stranded_usd, 0.0)}
        if self.has_customers:
            out["customer_hours_mean"] = stats.mean(self.customer_hours, 0.0)
            out["customer_hours_p95"] = stats.quantile(self.customer_hours, 0.95)
        else:                      # unknown, not 0: no tier has a customer model
            unknown = stats.Estimate(math.nan, math.nan, math.nan, "none", self.runs, None)
            out["customer_hours_mean"] = out["customer_hours_p95"] = unknown
        for c, name in enumerate(self.classes):
            u = self.unserved_share[:, c]
            if np.isnan(u).all():
                continue
            out[f"{name}_unserved_mean"] = stats.mean(u, 0.0, 1.0)
            out[f"{name}_unserved_p95"] = stats.quantile(u, 0.95)
            out[f"{name}_unserved_p99"] = stats.quantile(u, 0.99)
            out[f"{name}_p_day_loss_gt_{threshold:g}"] = stats.probability(self.worst_day_loss[:, c] > threshold)
        for j, w in enumerate(self.training):
            share = self.training_served_share[:, j]
            if np.isnan(share).all():     # the plan does not run it in the simulated months
                continue
            out[f"{w}_delay_days_mean"] = stats.mean(self.training_delay_days[:, j], 0.0)
            out[f"{w}_delay_days_p95"] = stats.quantile(self.training_delay_days[:, j], 0.95)
            out[f"{w}_trained_share_mean"] = stats.mean(share, 0.0, 1.0)
        return out

    def summary(self, threshold: float) -> dict:
        """One flat row: each figure, and `<key>_lo` / `<key>_hi` for its 95% interval."""
        row: dict = {"strategy": self.name, "same_fleet_as": None, "runs": self.runs, "scope": self.scope,
                     "planned_cost_usd": self.planned_cost_usd}
        for key, est in self.estimates(threshold).items():
            row[key], row[f"{key}_lo"], row[f"{key}_hi"] = est.value, est.lo, est.hi
        for j, w in enumerate(self.training):
            if f"{w}_delay_days_mean" not in row:
                continue
            for cause, days in self.training_delay_by_cause.items():
                row[f"{w}_delay_days_mean_{cause.replace(' ', '_')}"] = float(days[:, j].mean())
        return row

    def warnings(self, threshold: float) -> list[str]:
        return sorted({e.warning for e in self.estimates(threshold).values() if e.warning})


@dataclass
class RiskResult:
    strategies: list[StrategyRisk]
    runs: int
    seed: int
    months: int
    threshold: float
    wall_seconds: float = 0.0
    horizon_months: int = 0
    skipped: list[dict] = field(default_factory=list)   # strategies not run: {"strategy", "note"}

    @property
    def scope(self) -> str:
        if not self.horizon_months or self.months >= self.horizon_months:
            return f"{self.months} months"
        return f"first {self.months} of {self.horizon_months} months"

    def rows(self) -> list[dict]:
        """One row per strategy name: a fleet run once under several names gets a row for each."""
        out = []
        for s in self.strategies:
            row = s.summary(self.threshold)
            out.append(row)
            for alias in s.aliases:
                out.append({**row, "strategy": alias, "same_fleet_as": s.name})
        return out

    def warnings(self) -> list[str]:
        """Each statistic the run count is too small for, once (they are the same for every strategy)."""
        seen: dict[str, None] = {}
        for s in self.strategies:
            for w in s.warnings(self.threshold):
                seen.setdefault(w, None)
        return list(seen)


def aggregate(setup: SimSetup, results: Sequence[RunResult], tail: float = CVAR_ALPHA) -> StrategyRisk:
    """Distributions of one strategy's runs, and the incidents behind its worst runs."""
    inf = setup.inference
    train = np.flatnonzero(~inf)
    loss = np.array([float((r.unserved_tokens[inf].sum(axis=0) * setup.loss_usd_per_mtok).sum() / 1e6)
                     for r in results])
    sr = StrategyRisk(
        name=setup.name, classes=setup.classes, unserved_share=np.stack([r.unserved_share() for r in results]),
        worst_day_loss=np.stack([r.worst_day_loss for r in results]), loss_usd=loss,
        cost_usd=np.array([r.cost_actual_usd for r in results]), planned_cost_usd=results[0].cost_planned_usd,
        stranded_usd=np.array([r.stranded_usd for r in results]),
        training_delay_days=np.stack([r.training_delay_days[train] for r in results]),
        training_served_share=np.stack([r.training_served_share()[train] for r in results]),
        training_delay_by_cause={c: np.stack([r.training_delay_by_cause[c][train] for r in results])
                                 for c in results[0].training_delay_by_cause},
        training=tuple(setup.workloads[i] for i in train),
        customer_hours=np.array([sum(i.customer_hours for i in r.incidents) for r in results]),
        max_customers=np.array([max((i.customers_affected for i in r.incidents), default=0) for r in results]),
        energy_mwh=np.array([r.energy_mwh for r in results]), scope=setup.scope,
        has_customers=setup.customers is not None)
    sr.tail_incidents = tail_drivers(results, sr.total_usd, setup.loss_usd_per_mtok, tail)
    return sr


def run_risk(setups: Sequence[SimSetup], runs: int, seed: int = 0, *, fixed: Sequence[FaultEvent] = (),
             sample_faults: bool = True, workers: int | None = None, ray_address: str | None = None,
             progress: Callable[[int], None] | None = None,
             aliases: Sequence[Sequence[str]] | None = None) -> RiskResult:
    """`runs` independent fault timelines through every strategy in `setups`; `aliases[i]` are other
    names of setup i's fleet (listed, not run again)."""
    t0 = time.perf_counter()
    for s in setups:
        prewarm(s)       # the normal month-by-month placements, once, before the workers start
    payload = RiskPayload(tuple(setups), tuple(fixed), sample_faults)
    per_run = run_many(one_run, payload, runs, seed, workers=workers, ray_address=ray_address, progress=progress)
    out = [aggregate(s, [pr[i] for pr in per_run]) for i, s in enumerate(setups)]
    for i, names in enumerate(aliases or ()):
        out[i].aliases = tuple(names)
    first = setups[0]
    return RiskResult(out, runs, seed, first.months, first.options.daily_loss_threshold, time.perf_counter() - t0,
                      first.horizon_months)
