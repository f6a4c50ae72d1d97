"""Estimates from Monte Carlo runs, each with its 95% interval and a warning when the runs are
too few for it.

Means: Student t interval. Probabilities: Wilson score interval. Quantiles and CVaR: percentile
bootstrap with a fixed seed, all resamples at once (numpy, no Python loop per resample). A tail
statistic rests on the runs beyond its quantile: P99 of 50 runs is the largest run, CVaR95 of 10
runs is one run; below MIN_TAIL_RUNS such runs the estimate says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as _st

LEVEL = 0.95
BOOTSTRAP = 2000
SEED = 20261130
MIN_TAIL_RUNS = 10
MIN_RUNS_FOR_MEAN = 10


@dataclass(frozen=True)
class Estimate:
    """A statistic over runs: value, 95% interval [lo, hi] (NaN when it cannot be given), how it
    was computed, and a warning when the runs are too few for it."""

    value: float
    lo: float
    hi: float
    method: str
    runs: int
    warning: str | None = None

    def as_dict(self) -> dict:
        return {"value": self.value, "lo": self.lo, "hi": self.hi, "method": self.method, "runs": self.runs,
                "warning": self.warning}


def tail_runs(n: int, q: float) -> float:
    """How many runs lie beyond quantile q (n x (1 - q))."""
    return n * (1.0 - q)


def _tail_warning(n: int, q: float, stat: str) -> str | None:
    """One sentence per kind of statistic (the same for every figure of that kind)."""
    k = tail_runs(n, q)
    if k < 1:
        return f"{stat} of {n} runs is set by the largest run alone (needs {math.ceil(1 / (1 - q))}+ runs)"
    if k < MIN_TAIL_RUNS:
        need = math.ceil(MIN_TAIL_RUNS / (1 - q))
        return f"{stat} of {n} runs rests on the {k:.0f} worst run{'s' if round(k) != 1 else ''} (use {need}+ runs)"
    return None


def mean(x: np.ndarray, lower: float | None = None, upper: float | None = None) -> Estimate:
    """Mean with its t interval; `lower` and `upper` clip the interval at bounds the quantity cannot
    cross (0 for a loss, 1 for a share)."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    m = float(x.mean()) if n else math.nan
    if n < 2:
        return Estimate(m, math.nan, math.nan, "t", n, f"a mean of {n} run has no interval")
    half = float(_st.t.ppf(0.5 + LEVEL / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    lo = m - half if lower is None else max(m - half, lower)
    hi = m + half if upper is None else min(m + half, upper)
    warn = f"means of {n} runs: few runs, wide intervals" if n < MIN_RUNS_FOR_MEAN else None
    return Estimate(m, lo, hi, "t", n, warn)


def probability(hits: np.ndarray) -> Estimate:
    """Share of runs where something happened, with its Wilson interval."""
    hits = np.asarray(hits, dtype=bool)
    n = len(hits)
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, "wilson", 0, "no runs")
    p = float(hits.mean())
    z = float(_st.norm.ppf(0.5 + LEVEL / 2))
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    warn = f"probabilities from {n} runs: few runs, wide intervals" if n < MIN_RUNS_FOR_MEAN else None
    return Estimate(p, max(centre - half, 0.0), min(centre + half, 1.0), "wilson", n, warn)


def _resamples(n: int, seed: int = SEED) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(BOOTSTRAP, n))


def _interval(samples: np.ndarray) -> tuple[float, float]:
    lo, hi = np.quantile(samples, [0.5 - LEVEL / 2, 0.5 + LEVEL / 2])
    return float(lo), float(hi)


def quantile(x: np.ndarray, q: float) -> Estimate:
    """The q-quantile of the runs (linear interpolation), bootstrap interval."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    name = f"P{q * 100:g}"
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, "bootstrap", 0, "no runs")
    value = float(np.quantile(x, q))
    if n < 2:
        return Estimate(value, math.nan, math.nan, "bootstrap", n, _tail_warning(n, q, name))
    lo, hi = _interval(np.quantile(x[_resamples(n)], q, axis=1))
    return Estimate(value, lo, hi, "bootstrap", n, _tail_warning(n, q, name))


def cvar_of(x: np.ndarray, alpha: float) -> np.ndarray:
    """Mean of the worst ceil(n (1 - alpha)) values along the last axis."""
    x = np.asarray(x, dtype=float)
    n = x.shape[-1]
    k = max(math.ceil(n * (1 - alpha) - 1e-9), 1)
    return np.sort(x, axis=-1)[..., n - k:].mean(axis=-1)


def cvar(x: np.ndarray, alpha: float = 0.95) -> Estimate:
    """CVaR: the mean of the worst (1 - alpha) of the runs, bootstrap interval."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    name = f"CVaR{alpha * 100:g}"
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, "bootstrap", 0, "no runs")
    value = float(cvar_of(x, alpha))
    if n < 2:
        return Estimate(value, math.nan, math.nan, "bootstrap", n, _tail_warning(n, alpha, name))
    lo, hi = _interval(cvar_of(x[_resamples(n)], alpha))
    return Estimate(value, lo, hi, "bootstrap", n, _tail_warning(n, alpha, name))
