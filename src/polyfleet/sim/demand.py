"""Inference traffic over time: monthly forecast x daily and weekly cycle x noise, per step."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.signal import lfilter

from ..scenario.simulation import TrafficShape
from .calendar import DAY
from .faults import DEFAULT_MONTH_S

DEFAULT_DAILY_PEAK = 1.35


def weekday_level(shape: TrafficShape) -> float:
    """A weekday's mean relative to the weekly mean."""
    return 1.0 / ((5 + 2 * shape.weekend_factor) / 7.0)


def daily_peak_for(shape: TrafficShape, peak_factor: float) -> float:
    """The daily peak-to-mean to use: the shape's, or the one that puts the weekday peak at `peak_factor`."""
    if shape.daily_peak_to_mean is not None:
        return shape.daily_peak_to_mean
    if peak_factor <= 1.0:
        return DEFAULT_DAILY_PEAK
    return max(peak_factor / weekday_level(shape), 1.0)


@lru_cache(maxsize=32)
def cycle(step_s: float, steps: int, shape: TrafficShape, daily_peak: float | None = None,
          first_weekday: int = 0) -> np.ndarray:
    """Deterministic daily x weekly multiplier with mean 1 over whole weeks (cached: read only).
    `first_weekday`: weekday of the first simulated day (Monday = 0), so weekends fall on weekends."""
    peak = daily_peak if daily_peak is not None else (shape.daily_peak_to_mean or DEFAULT_DAILY_PEAK)
    t = (np.arange(steps) + 0.5) * step_s
    hour = (t % DAY) / 3600.0
    daily = 1.0 + (peak - 1.0) * np.cos(2 * np.pi * (hour - shape.peak_hour_utc) / 24.0)
    weekday = ((t // DAY).astype(np.int64) + first_weekday) % 7          # 0 is a Monday
    weekly = np.where(weekday >= 5, shape.weekend_factor, 1.0) * weekday_level(shape)
    out = daily * weekly
    out.flags.writeable = False
    return out


def noise(step_s: float, steps: int, n: int, shape: TrafficShape, rng: np.random.Generator) -> np.ndarray:
    """(steps, n) lognormal AR(1) multipliers with mean 1 (the forecast's monthly volume is kept),
    one series per column: x_t = phi x_(t-1) + eps_t, stationary with spread noise_sigma."""
    if shape.noise_sigma == 0:
        return np.ones((steps, n))
    phi = float(np.exp(-step_s / (shape.noise_hours * 3600.0)))
    eps = rng.standard_normal((steps, n)) * shape.noise_sigma * np.sqrt(1 - phi * phi)
    first = rng.standard_normal(n) * shape.noise_sigma
    eps[0] = first
    x = lfilter([1.0], [1.0, -phi], eps, axis=0)        # the recursion, in C
    return np.exp(x - 0.5 * shape.noise_sigma ** 2)


def monthly_to_steps(monthly: np.ndarray, step_s: float, steps: int, month_s: float = DEFAULT_MONTH_S) -> np.ndarray:
    """(months, n) monthly means -> (steps, n): each month at its forecast mean (the plan's
    contract is monthly; growth shows month to month)."""
    month = np.minimum(((np.arange(steps) + 0.5) * step_s // month_s).astype(np.int64), monthly.shape[0] - 1)
    return np.asarray(monthly, dtype=float)[month]


def traffic(monthly: np.ndarray, step_s: float, steps: int, shape: TrafficShape, rng: np.random.Generator,
            peak_factors: np.ndarray | None = None, month_s: float = DEFAULT_MONTH_S,
            first_weekday: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(smooth, noisy), each (steps, n) tokens/s: the forecast's monthly means shaped by the
    daily and weekly cycle, and that times the noise. `peak_factors[j]` sizes column j's cycle
    (see `daily_peak_for`)."""
    base = monthly_to_steps(np.asarray(monthly, dtype=float), step_s, steps, month_s)
    n = base.shape[1]
    pf = np.ones(n) if peak_factors is None else np.asarray(peak_factors, dtype=float)
    smooth = np.empty_like(base)
    for j in range(n):
        smooth[:, j] = base[:, j] * cycle(step_s, steps, shape, daily_peak_for(shape, float(pf[j])), first_weekday)
    return smooth, smooth * noise(step_s, steps, n, shape, rng)
