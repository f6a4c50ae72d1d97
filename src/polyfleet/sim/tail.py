"""What drives the tail: the faults behind a strategy's worst runs, counted in runs.

A fault is named without its time ('outage of provider gcp'), so the same fault in different
runs adds up. For each, over the worst (1 - alpha) of runs by all-in cost: in how many of them it
cost any service (at most the number of tail runs, however often it struck within a run), and
the value it lost and the customer-hours it caused, per tail run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from .result import RunResult

TOP = 8


def tail_runs_of(total_usd: np.ndarray, alpha: float) -> np.ndarray:
    """Indices of the worst ceil(n (1 - alpha)) runs (at least one), worst first."""
    n = len(total_usd)
    k = max(int(np.ceil(n * (1 - alpha) - 1e-9)), 1)
    return np.argsort(-np.asarray(total_usd), kind="stable")[:k]


def tail_drivers(results: Sequence[RunResult], total_usd: np.ndarray, loss_usd_per_mtok: np.ndarray,
                 alpha: float) -> list[dict]:
    """Rows {incident, tail_runs, runs_with_it, loss_usd, customer_hours}, largest loss first."""
    worst = tail_runs_of(total_usd, alpha)
    runs_with: dict[str, int] = defaultdict(int)
    loss: dict[str, float] = defaultdict(float)
    hours: dict[str, float] = defaultdict(float)
    for i in worst.tolist():
        seen = set()
        for inc in results[i].incidents:
            value = float((inc.unserved_tokens * loss_usd_per_mtok).sum() / 1e6)
            if value <= 0 and inc.customer_hours <= 0:
                continue
            seen.add(inc.what)
            loss[inc.what] += value
            hours[inc.what] += inc.customer_hours
        for what in seen:
            runs_with[what] += 1
    k = len(worst)
    rows = [{"incident": w, "tail_runs": k, "runs_with_it": runs_with[w], "loss_usd": loss[w] / k,
             "customer_hours": hours[w] / k} for w in runs_with]
    return sorted(rows, key=lambda d: (-d["loss_usd"], d["incident"]))[:TOP]
