"""Rank every chip by price/performance for one model: $/million output tokens or $/training run."""

from __future__ import annotations

import math

from ..catalog.model import Term
from .estimate import Context, InferenceEstimate, TrainingEstimate, estimate_inference, estimate_training


def _rank_key(cost: float | None, feasible: bool, throughput: float) -> tuple:
    """Feasible and priced first (cheapest first), then feasible without a price (fastest first), then the rest."""
    if feasible and cost is not None and math.isfinite(cost):
        return (0, cost)
    if feasible:
        return (1, -throughput)
    return (2, 0.0)


def compare_inference(model: str, *, dtype: str = "bf16", input_tokens: int = 1000, output_tokens: int = 1000,
                      ttft_s: float | None = None, tpot_s: float | None = None, term: Term = "on_demand",
                      runtimes: tuple[str, ...] = (), accelerators: list[str] | None = None,
                      ctx: Context | None = None) -> list[InferenceEstimate]:
    ctx = ctx or Context()
    accs = accelerators or list(ctx.catalog.accelerators)
    out = [estimate_inference(model, a, dtype=dtype, input_tokens=input_tokens, output_tokens=output_tokens,
                              ttft_s=ttft_s, tpot_s=tpot_s, term=term, runtimes=runtimes, ctx=ctx) for a in accs]
    return sorted(out, key=lambda e: _rank_key(e.usd_per_million_output_tokens, e.feasible,
                                               e.output_tokens_per_s_per_chip))


def compare_training(model: str, *, tokens: float = 1e12, seq_len: int = 8192, chips: int | None = None,
                     dtype: str = "bf16", term: Term = "on_demand", runtimes: tuple[str, ...] = (),
                     accelerators: list[str] | None = None, ctx: Context | None = None) -> list[TrainingEstimate]:
    """Each chip at `chips` (default: its minimum that fits, at least 256) for the whole run."""
    ctx = ctx or Context()
    accs = accelerators or list(ctx.catalog.accelerators)
    out = []
    for a in accs:
        n = chips
        if n is None:
            probe = estimate_training(model, a, 1, seq_len=seq_len, tokens=tokens, dtype=dtype, ctx=ctx)
            n = max(256, probe.min_chips or 1)
        out.append(estimate_training(model, a, n, seq_len=seq_len, tokens=tokens, dtype=dtype, term=term,
                                     runtimes=runtimes, ctx=ctx))
    return sorted(out, key=lambda e: _rank_key(e.usd, e.feasible, e.tokens_per_s_per_chip))
