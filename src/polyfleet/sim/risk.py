"""Monte Carlo risk: many fault timelines, every strategy run through the same ones.

Run i draws its fault timeline and its traffic from the i-th child of `SeedSequence(seed)`;
every strategy sees that same timeline and traffic (common random numbers), so differences
between strategies are the strategies', not the dice's. Runs go to a local process pool by
default, or to Ray (`ray_address`), with identical results.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .faults import MONTH, FaultEvent, sample_timeline
from .fleet import prewarm, simulate
from .parallel import run_many
from .result import RunResult
from .setup import SimSetup


@dataclass(frozen=True)
class RiskPayload:
    setups: tuple[SimSetup, ...]
    fixed: tuple[FaultEvent, ...] = ()
    sample_faults: bool = True


def one_run(payload: RiskPayload, index: int, ss: np.random.SeedSequence) -> list[RunResult]:
    """Run `index`: one fault timeline and one traffic draw, through every strategy."""
    faults_ss, traffic_ss = ss.spawn(2)
    first = payload.setups[0]
    events = list(payload.fixed) + sample_timeline(first.faults, first.universe, first.months * MONTH,
                                                   np.random.default_rng(faults_ss), payload.sample_faults)
    events.sort(key=lambda e: (e.start_s, e.kind, e.target))
    return [simulate(s, events, np.random.default_rng(traffic_ss)) for s in payload.setups]


@dataclass
class StrategyRisk:
    """Distributions over runs for one strategy. Axes: R runs, C classes (priority order)."""
    name: str
    classes: tuple[str, ...]
    unserved_share: np.ndarray       # [R, C] inference demand unserved
    worst_day_loss: np.ndarray       # [R, C]
    loss_usd: np.ndarray             # [R] value of unserved demand
    cost_usd: np.ndarray             # [R] actual cost of the simulated months (price shocks included)
    planned_cost_usd: float
    stranded_usd: np.ndarray         # [R]
    training_delay_days: np.ndarray  # [R, W_training]
    training: tuple[str, ...]
    customer_hours: np.ndarray       # [R] customers x hours hit
    max_customers: np.ndarray        # [R] most customers hit at once
    energy_mwh: np.ndarray           # [R]
    tail_incidents: list[dict] = field(default_factory=list)

    @property
    def total_usd(self) -> np.ndarray:
        """[R] what a run costs all in: money spent, commitments stranded, demand lost."""
        return self.cost_usd + self.stranded_usd + self.loss_usd

    def cvar(self, values: np.ndarray, alpha: float = 0.95) -> float:
        """Mean of the worst (1 - alpha) of `values`."""
        v = np.sort(values)
        k = max(int(np.ceil(len(v) * (1 - alpha))), 1)
        return float(v[-k:].mean())

    def prob_daily_loss_above(self, threshold: float) -> np.ndarray:
        """[C] probability that a class loses more than `threshold` of its demand in some day."""
        return (self.worst_day_loss > threshold).mean(axis=0)

    def summary(self, threshold: float) -> dict:
        q = lambda a, p: float(np.quantile(a, p)) if len(a) else float("nan")  # noqa: E731
        out = {"strategy": self.name, "runs": len(self.cost_usd), "planned_cost_usd": self.planned_cost_usd,
               "expected_cost_usd": float(self.cost_usd.mean()), "cvar95_total_usd": self.cvar(self.total_usd),
               "expected_loss_usd": float(self.loss_usd.mean()), "expected_stranded_usd": float(self.stranded_usd.mean()),
               "customer_hours_mean": float(self.customer_hours.mean()),
               "customer_hours_p95": q(self.customer_hours, 0.95)}
        for c, name in enumerate(self.classes):
            u = self.unserved_share[:, c]
            out[f"{name}_unserved_mean"] = float(u.mean())
            out[f"{name}_unserved_p95"] = q(u, 0.95)
            out[f"{name}_unserved_p99"] = q(u, 0.99)
            out[f"{name}_p_day_loss_gt_{threshold:g}"] = float(self.prob_daily_loss_above(threshold)[c])
        for j, w in enumerate(self.training):
            out[f"{w}_delay_days_mean"] = float(self.training_delay_days[:, j].mean())
            out[f"{w}_delay_days_p95"] = q(self.training_delay_days[:, j], 0.95)
        return out


@dataclass
class RiskResult:
    strategies: list[StrategyRisk]
    runs: int
    seed: int
    months: int
    threshold: float
    wall_seconds: float = 0.0

    def rows(self) -> list[dict]:
        return [s.summary(self.threshold) for s in self.strategies]


def aggregate(setup: SimSetup, results: Sequence[RunResult], tail: float = 0.95) -> StrategyRisk:
    """Distributions of one strategy's runs, and the incidents behind its worst runs."""
    inf = setup.inference
    train = np.flatnonzero(~inf)
    uns = np.stack([r.unserved_share(inf) for r in results])
    loss = np.array([float((r.unserved_tokens[inf].sum(axis=0) * setup.loss_usd_per_mtok).sum() / 1e6)
                     for r in results])
    sr = StrategyRisk(
        name=setup.name, classes=setup.classes, unserved_share=uns,
        worst_day_loss=np.stack([r.worst_day_loss for r in results]), loss_usd=loss,
        cost_usd=np.array([r.cost_actual_usd for r in results]), planned_cost_usd=results[0].cost_planned_usd,
        stranded_usd=np.array([r.stranded_usd for r in results]),
        training_delay_days=np.stack([r.training_delay_days[train] for r in results]),
        training=tuple(setup.workloads[i] for i in train),
        customer_hours=np.array([sum(i.customer_hours for i in r.incidents) for r in results]),
        max_customers=np.array([max((i.customers_affected for i in r.incidents), default=0) for r in results]),
        energy_mwh=np.array([r.energy_mwh for r in results]))
    cut = np.quantile(sr.total_usd, tail) if len(results) > 1 else -np.inf
    drivers: dict[str, dict] = defaultdict(lambda: {"occurrences": 0, "loss_usd": 0.0, "customer_hours": 0.0})
    worst = [r for r, t in zip(results, sr.total_usd) if t >= cut]
    for r in worst:
        for inc in r.incidents:
            value = float((inc.unserved_tokens * setup.loss_usd_per_mtok).sum() / 1e6)
            if value <= 0 and inc.customer_hours <= 0:
                continue
            d = drivers[inc.label]
            d["occurrences"] += 1
            d["loss_usd"] += value / len(worst)
            d["customer_hours"] += inc.customer_hours / len(worst)
    sr.tail_incidents = sorted(({"incident": k, **v} for k, v in drivers.items()),
                               key=lambda d: -d["loss_usd"])[:8]
    return sr


def run_risk(setups: Sequence[SimSetup], runs: int, seed: int = 0, *, fixed: Sequence[FaultEvent] = (),
             sample_faults: bool = True, workers: int | None = None, ray_address: str | None = None,
             progress: Callable[[int], None] | None = None) -> RiskResult:
    """`runs` independent fault timelines through every strategy in `setups`."""
    t0 = time.perf_counter()
    for s in setups:
        prewarm(s)       # the normal month-by-month placements, once, before the workers start
    payload = RiskPayload(tuple(setups), tuple(fixed), sample_faults)
    per_run = run_many(one_run, payload, runs, seed, workers=workers, ray_address=ray_address, progress=progress)
    out = [aggregate(s, [pr[i] for pr in per_run]) for i, s in enumerate(setups)]
    first = setups[0]
    return RiskResult(out, runs, seed, first.months, first.options.daily_loss_threshold, time.perf_counter() - t0)
