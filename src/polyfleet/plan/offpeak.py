"""Off-peak training: steady training flows on the inference chips idle below the services' peak.

Services are sized for their peak (demand rows use tokens/s x peak_factor), so on average a share
1 - 1/peak_factor of a service's chips is idle. A training flow marked `off_peak` may use that share
of the chips allocated to services on the same pool, at `off_peak_goodput` (it is preempted when the
peak returns):

  o[w,p,t] >= 0,   sum_w o[w,p,t] <= sum_s x[s,p,t] (1 - 1/peak_s)      per pool and month
  o counts in w's demand row at rate x off_peak_goodput; it enters no capacity row (the chips are held
  for the services already).
"""

from __future__ import annotations

import numpy as np

from ..solvers import Assembler
from .blocks import CoreBlocks
from .inputs import PlanInputs


def idle_share(inp: PlanInputs) -> np.ndarray:
    """[W] share of each workload's chips idle off-peak (0 for training and for services without a peak)."""
    peak = inp.peak_factor if inp.peak_factor is not None else np.ones(inp.W)
    infer = np.array([k == "inference" for k in inp.kinds])
    return np.where(infer & (peak > 1), 1.0 - 1.0 / np.maximum(peak, 1.0), 0.0)


def off_peak_block(a: Assembler, inp: PlanInputs, name: str, x: np.ndarray, x_hi: np.ndarray, served: np.ndarray,
                   rate_s: np.ndarray, live: np.ndarray) -> np.ndarray | None:
    """Off-peak columns `name`[w,p,t] beside allocation columns x (index array, -1 where absent) and
    their idle-capacity rows; o counts in the `served` rows at rate_s x off_peak_goodput. `live`
    [W, P, T]: where a workload may run at all. The plan and the survivability evaluator both call it."""
    if inp.off_peak is None or not inp.off_peak.any():
        return None
    idle = idle_share(inp)
    if not (idle > 0).any():
        return None
    flow = inp.off_peak & ~inp.windowed
    has_idle = ((x >= 0) & (idle[:, None, None] > 0)).any(axis=0)                      # [P, T]
    present = flow[:, None, None] & live & has_idle[None]
    gp = inp.off_peak_goodput if inp.off_peak_goodput is not None else np.ones(inp.W)
    o = a.add_cols(name, present, hi=x_hi / gp[:, None, None])
    rows = a.add_rows("off_peak", has_idle & present.any(axis=0), hi=0.0, unit="chips")
    a.coef(rows[None], o, 1.0)
    a.coef(rows[None], x, -idle[:, None, None])
    a.coef(served[:, None, :], o, (rate_s * gp[:, None])[:, :, None])
    return o


def add_off_peak(a: Assembler, inp: PlanInputs, core: CoreBlocks) -> np.ndarray | None:
    """Off-peak columns o[w,p,t] and their idle-capacity rows (None when no workload is off-peak)."""
    live = (core.pools.rate > 0)[:, :, None] & (core.need > 0)[:, None, :]
    return off_peak_block(a, inp, "o_peak", core.x, core.x_hi, core.rD, core.rate_s, live)


__all__ = ["add_off_peak", "idle_share", "off_peak_block"]
