"""The pure roofline the hand-derived perf tests reason on: every efficiency 1, no overheads,
interference, chip or stack factors, so each difference between two estimates is one term."""

from __future__ import annotations

import numpy as np

from polyfleet.perf import Context, default_efficiency
from polyfleet.perf import inference as inf
from polyfleet.perf.arrays import ChipArrays, ModelArrays
from polyfleet.perf.efficiency import Efficiency


def ideal_data(**inference) -> dict:
    """Efficiency data of the pure roofline; `inference` sets (or changes) serving fields on every platform."""
    data = default_efficiency().model_dump()
    data["stacks"], data["chips"] = {}, {}     # every stack and chip at its platform's efficiency
    for plat in data["platforms"].values():
        inf = plat["inference"]
        inf["compute"] = {k: 1.0 for k in inf["compute"]}
        inf.update({"bandwidth": 1.0, "kv_bandwidth": 1.0, "overhead_ms": 0.0, "per_sequence_us": 0.0,
                    "collective_us": 0.0, "attention_efficiency": 1.0, "interference": 0.0, **inference})
    return data


def context(data: dict) -> Context:
    return Context(efficiency=Efficiency.model_validate(data))


def ideal(**inference) -> Context:
    return context(ideal_data(**inference))


def one_case(ctx: Context, model: str, chip: str, *, dtype: str = "bf16", chips: int = 1, batch: int = 1,
             input_tokens: int = 1, output_tokens: int = 1000, **flags) -> tuple[ModelArrays, ChipArrays,
                                                                                 inf.InferenceCases]:
    """The roofline's arrays and cases for one (model, chip) case, no SLO, at the stack factor 1;
    `flags` sets InferenceCases' optional 0/1 fields (attention_dp, ...). KV in FP8 for FP8/FP4 weights."""
    M = ModelArrays.build([(ctx.model(model), dtype, "fp8" if dtype in ("fp8", "fp4") else dtype)])
    H = ChipArrays.build([(ctx.accelerator(chip), dtype)], ctx.efficiency)
    one = lambda v: np.array([float(v)])  # noqa: E731
    c = inf.InferenceCases(model=np.array([0]), chip=np.array([0]), chips=one(chips), input_tokens=one(input_tokens),
                           output_tokens=one(output_tokens), ttft_slo_s=one(np.inf), tpot_slo_s=one(np.inf),
                           batch=one(batch), runtime_eff=one(1.0), **{k: np.array([v]) for k, v in flags.items()})
    return M, H, c


def step_parts(ctx: Context, model: str, chip: str, **case) -> dict[str, float]:
    """One case's step, TTFT, prompt pass (TTFT less a step), compute, memory and collective times at its
    batch, from the roofline's own `_timing` (`case` as `one_case`)."""
    M, H, c = one_case(ctx, model, chip, **case)
    step, ttft, _, compute, memory, coll = (float(x[0, 0]) for x in inf._timing(M, H, c, c.batch[:, None]))
    return {"step": step, "ttft": ttft, "prompt": ttft - step, "compute": compute, "memory": memory,
            "collectives": coll}

