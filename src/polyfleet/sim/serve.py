"""Serving inference demand step by step: each service's capacity goes to its classes in priority
order, and the shortfall is split by cause.

Causes, counterfactually and in this order (each is what the next capacity loses on top of the
previous one, so they add up to the total and none is negative):

- peaks: traffic above what the intact fleet, as placed for the month's peak, serves (the daily
  cycle's top plus noise, and replicas being whole);
- repair: chips in repair after chip failures (the scenario's rate x repair time);
- faults: outages, spot preemptions, supply cuts and delivery slips.

Only the steps where some service's traffic exceeds what it can serve can lose anything; the
per-class arithmetic runs on those rows alone (the others are served in full).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CAUSES = ("peaks", "repair", "faults")


def unserved_in_order(demand: np.ndarray, workload_of: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """[steps, G] demand of each (workload, class) group not served, when each workload's
    `capacity[:, w]` serves its groups in column order (classes highest first within a workload)."""
    left = capacity.copy()
    out = np.empty_like(demand)
    for g, w in enumerate(workload_of.tolist()):
        got = np.minimum(demand[:, g], left[:, w])
        out[:, g] = demand[:, g] - got
        left[:, w] -= got
    return out


@dataclass(frozen=True)
class Served:
    """Inference over a run. G groups (workload, class) with demand; only `rows` (the steps where
    something is lost) are stored, every other step is served in full."""

    groups: np.ndarray          # [G, 2] (inference column, class), classes in priority order per workload
    rows: np.ndarray            # [r] steps with a shortfall
    demand: np.ndarray          # [r, G] tokens/s on those rows
    unserved: np.ndarray        # [r, G] tokens/s, all causes
    fault: np.ndarray           # [r, G] tokens/s lost to faults (on top of peaks and repair)
    demand_tokens: np.ndarray   # [G] over the whole run
    by_cause: dict              # cause -> [G] tokens over the run

    def class_rows(self, values: np.ndarray, n_classes: int) -> np.ndarray:
        """[r, C] per class from row values [r, G]."""
        out = np.zeros((len(self.rows), n_classes))
        np.add.at(out.T, self.groups[:, 1], values.T)
        return out

    def per_step(self, values: np.ndarray, n: int, n_classes: int) -> np.ndarray:
        """[n, C] per class and step from row values [r, G] (0 on the steps not stored)."""
        out = np.zeros((n, n_classes))
        out[self.rows] = self.class_rows(values, n_classes)
        return out


def serve(traffic: np.ndarray, share: np.ndarray, intact: np.ndarray, actual: np.ndarray, repair: float,
          step_s: float) -> Served:
    """Serve `traffic` [n, S] tokens/s, split over classes by `share` [S, C], with the intact fleet's
    capacity and the actual one ([n, S] tokens/s, before repair; `actual` <= `intact`)."""
    groups = np.argwhere(share > 0)
    gw = groups[:, 0]
    g_share = share[groups[:, 0], groups[:, 1]]
    keep = 1.0 - repair
    rows = np.flatnonzero((traffic > actual * keep).any(axis=1)) if traffic.size else np.zeros(0, np.int64)
    d = traffic[rows][:, gw] * g_share[None, :]
    cap = intact[rows]
    u_peaks = unserved_in_order(d, gw, cap)
    u_repair = unserved_in_order(d, gw, cap * keep) if repair > 0 else u_peaks
    u_all = unserved_in_order(d, gw, actual[rows] * keep)
    fault = u_all - u_repair
    by_cause = {"peaks": u_peaks.sum(axis=0) * step_s,
                "repair": (u_repair - u_peaks).sum(axis=0) * step_s,
                "faults": fault.sum(axis=0) * step_s}
    demand_tokens = traffic.sum(axis=0)[gw] * g_share * step_s
    return Served(groups, rows, d, u_all, fault, demand_tokens, by_cause)
