"""Fit the efficiency factors in perf/data/efficiency.yaml to the calibration points.

Least squares on log(predicted / published), each point weighted by 1 / its tolerance,
with every factor bounded to a physically plausible range. Prints the fitted factors
and the resulting calibration table; copy the factors into efficiency.yaml by hand
(they are data, reviewed like code).

    python benchmarks/fit_efficiency.py
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from polyfleet.perf.calibration import check_all  # noqa: E402
from polyfleet.perf.efficiency import Efficiency, default_efficiency  # noqa: E402
from polyfleet.perf.estimate import Context  # noqa: E402

# (path into the efficiency data, lower, upper). The engine-step overhead is held to
# 0.5-5 ms (what serving engines report per step); without a latency point it would
# otherwise absorb throughput errors.
PARAMS = [
    ("platforms.cuda.inference.compute.fp8", 0.2, 0.9),
    ("platforms.cuda.inference.compute.fp4", 0.1, 0.9),
    ("platforms.cuda.inference.kv_bandwidth", 0.2, 0.95),
    ("platforms.cuda.inference.overhead_ms", 0.5, 5.0),
    ("platforms.cuda.inference.per_sequence_us", 0.0, 50.0),
    ("platforms.rocm.inference.compute.fp8", 0.1, 0.9),
    ("platforms.rocm.inference.kv_bandwidth", 0.2, 0.95),
    ("platforms.neuron.inference.compute.bf16", 0.1, 0.9),
    ("platforms.neuron.inference.collective_us", 5.0, 200.0),
    ("platforms.tpu.inference.kv_bandwidth", 0.2, 0.95),
    ("platforms.cuda.training.mfu.fp8", 0.2, 0.8),
    ("platforms.tpu.training.mfu.bf16", 0.2, 0.9),
    ("platforms.neuron.training.mfu.bf16", 0.1, 0.8),
    ("platforms.cuda.training.moe_factor", 0.3, 1.0),
    ("platforms.cuda.training.moe_granularity_exponent", 0.0, 0.6),
]
SHARED = {  # factors shared by every platform: the fitted cuda/tpu value is copied
    "moe_factor": "platforms.cuda.training.moe_factor",
    "moe_granularity_exponent": "platforms.cuda.training.moe_granularity_exponent",
}


def _set(d: dict, path: str, value: float) -> None:
    *head, last = path.split(".")
    for k in head:
        d = d[k]
    d[last] = float(value)


def _get(d: dict, path: str) -> float:
    for k in path.split("."):
        d = d[k]
    return float(d)


def efficiency_from(x: np.ndarray, base: dict) -> Efficiency:
    data = copy.deepcopy(base)
    for (path, _, _), v in zip(PARAMS, x):
        _set(data, path, v)
    for key, src in SHARED.items():
        for plat in data["platforms"].values():
            plat["training"][key] = _get(data, src)
    return Efficiency.model_validate(data)


def main() -> None:
    base = default_efficiency().model_dump()
    x0 = np.array([_get(base, p) for p, _, _ in PARAMS])
    lo = np.array([p[1] for p in PARAMS])
    hi = np.array([p[2] for p in PARAMS])
    ctx = Context()

    def residuals(x):
        ctx.efficiency = efficiency_from(x, base)
        checks = check_all(ctx)
        return np.array([np.log(max(c.predicted, 1e-9) / c.point.published) / c.point.tolerance for c in checks])

    fit = least_squares(residuals, np.clip(x0, lo, hi), bounds=(lo, hi), diff_step=1e-3)
    print("fitted factors:")
    for (path, _, _), v in zip(PARAMS, fit.x):
        print(f"  {path:55s} {v:.3f}")
    ctx.efficiency = efficiency_from(fit.x, base)
    print("\npoint                                   predicted  published  error   tolerance")
    for c in check_all(ctx):
        flag = "ok" if c.within else "OUTSIDE"
        print(f"  {c.point.id:36s} {c.predicted:10.4g} {c.point.published:10.4g} {c.error * 100:6.1f}%  "
              f"{c.point.tolerance * 100:4.0f}%  {flag}")


if __name__ == "__main__":
    main()
