"""Inference traffic over time: monthly forecast x daily and weekly cycle x noise, per step."""

from __future__ import annotations

import numpy as np
from ..scenario.simulation import TrafficShape
from .faults import DAY, MONTH


def cycle(step_s: float, steps: int, shape: TrafficShape) -> np.ndarray:
    """Deterministic daily x weekly multiplier with mean 1 over whole weeks."""
    t = (np.arange(steps) + 0.5) * step_s
    hour = (t % DAY) / 3600.0
    daily = 1.0 + (shape.daily_peak_to_mean - 1.0) * np.cos(2 * np.pi * (hour - shape.peak_hour_utc) / 24.0)
    weekday = (t // DAY).astype(np.int64) % 7          # day 0 is a Monday
    weekly = np.where(weekday >= 5, shape.weekend_factor, 1.0)
    weekly = weekly / ((5 + 2 * shape.weekend_factor) / 7.0)
    return daily * weekly


def noise(step_s: float, steps: int, n: int, shape: TrafficShape, rng: np.random.Generator) -> np.ndarray:
    """(steps, n) lognormal AR(1) multipliers with median 1, one series per column."""
    if shape.noise_sigma == 0:
        return np.ones((steps, n))
    phi = float(np.exp(-step_s / (shape.noise_hours * 3600.0)))
    eps = rng.standard_normal((steps, n)) * shape.noise_sigma * np.sqrt(1 - phi * phi)
    x = np.empty((steps, n))
    x[0] = rng.standard_normal(n) * shape.noise_sigma
    # AR(1) as a linear filter: x_t = phi x_{t-1} + eps_t, solved in blocks with cumulative powers
    # blocks short enough that phi^block stays far from underflow (exact up to rounding)
    block = 512 if phi <= 0 else int(max(1, min(512, np.log(1e-6) / np.log(phi)))) if phi < 1 else 512
    for b0 in range(1, steps, block):
        b1 = min(steps, b0 + block)
        k = np.arange(1, b1 - b0 + 1)
        powers = phi ** k
        # x[b0 + j] = phi^(j+1) x[b0-1] + sum_{i<=j} phi^(j-i) eps[b0+i]
        scaled = eps[b0:b1] / powers[:, None]
        x[b0:b1] = powers[:, None] * (x[b0 - 1] + np.cumsum(scaled, axis=0))
    return np.exp(x)


def monthly_to_steps(monthly: np.ndarray, step_s: float, steps: int) -> np.ndarray:
    """(months, n) monthly means -> (steps, n), linear between month midpoints (growth is smooth)."""
    months = monthly.shape[0]
    mid = (np.arange(months) + 0.5) * MONTH
    t = (np.arange(steps) + 0.5) * step_s
    out = np.empty((steps, monthly.shape[1]))
    for j in range(monthly.shape[1]):
        out[:, j] = np.interp(t, mid, monthly[:, j])
    return out


def traffic(monthly: np.ndarray, step_s: float, steps: int, shape: TrafficShape,
            rng: np.random.Generator) -> np.ndarray:
    """(steps, n) tokens/s: the forecast's monthly means shaped by the cycle and noise."""
    base = monthly_to_steps(np.asarray(monthly, dtype=float), step_s, steps)
    return base * cycle(step_s, steps, shape)[:, None] * noise(step_s, steps, base.shape[1], shape, rng)
