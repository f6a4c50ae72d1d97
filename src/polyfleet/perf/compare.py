"""Rank every chip by price/performance for one model: $/million output tokens or $/training run.

Inference is compared at a stated latency target (an interactive SLO unless told otherwise), so
configurations that serve tokens at 45 ms and at 196 ms are not ranked side by side. Training
sizes each chip type either to a target duration (`days`) or to a given chip count (`chips`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..catalog.model import Term
from ..errors import UserError
from .estimate import Context, InferenceEstimate, TrainingEstimate, estimate_inference, estimate_training

# The interactive SLO `compare --inference` assumes when none is given: 50 ms per output token
# (20 tokens/s, faster than people read) and 2 s to the first token of a 1,000-token prompt.
INTERACTIVE_TTFT_S = 2.0
INTERACTIVE_TPOT_S = 0.050
SIZING_ROUNDS = 4
MAX_RUN_CHIPS = 1_000_000


@dataclass(frozen=True)
class Sizing:
    """How `compare_training` sized each run: to a duration or to a chip count."""
    days: float | None = None
    chips: int | None = None

    def describe(self) -> str:
        return f"each chip type sized to finish in {self.days:g} days" if self.days else \
            f"every chip type at {self.chips:,} chips"


def _rank_key(cost: float | None, feasible: bool, throughput: float) -> tuple:
    """Feasible and priced first (cheapest first), then feasible without a price (fastest first), then the rest."""
    if feasible and cost is not None and math.isfinite(cost):
        return (0, cost)
    if feasible:
        return (1, -throughput)
    return (2, 0.0)


def compare_inference(model: str, *, dtype: str = "bf16", input_tokens: int = 1000, output_tokens: int = 1000,
                      ttft_s: float | None = None, tpot_s: float | None = None, term: Term = "on_demand",
                      runtimes: tuple[str, ...] = (), runtime: str | None = None,
                      accelerators: list[str] | None = None, attention_dp: bool = False,
                      ctx: Context | None = None) -> list[InferenceEstimate]:
    """Every chip at the same SLO (pass the interactive defaults above, or your own); `attention_dp`
    runs attention data-parallel over each replica (estimate_inference)."""
    ctx = ctx or Context()
    accs = accelerators or list(ctx.catalog.accelerators)
    out = [estimate_inference(model, a, dtype=dtype, input_tokens=input_tokens, output_tokens=output_tokens,
                              ttft_s=ttft_s, tpot_s=tpot_s, term=term, runtimes=runtimes, runtime=runtime,
                              attention_dp=attention_dp, ctx=ctx)
           for a in accs]
    return sorted(out, key=lambda e: _rank_key(e.usd_per_million_output_tokens, e.feasible,
                                               e.output_tokens_per_s_per_chip))


def size_for_days(model: str, accelerator: str, days: float, *, tokens: float, seq_len: int, dtype: str,
                  runtimes: tuple[str, ...], runtime: str | None, ctx: Context) -> int:
    """Chips that train `tokens` in `days`: at least what fits, rounded up to whole scale-up domains
    (up to 8 chips) and re-evaluated because throughput per chip changes with the size."""
    probe = estimate_training(model, accelerator, 1, seq_len=seq_len, tokens=tokens, dtype=dtype,
                              runtimes=runtimes, runtime=runtime, ctx=ctx)
    acc = ctx.accelerator(accelerator)
    step = int(min(8, acc.scaleup_chips.value or 1))
    n = max(probe.min_chips or 1, step)
    for _ in range(SIZING_ROUNDS):
        e = estimate_training(model, accelerator, n, seq_len=seq_len, tokens=tokens, dtype=dtype,
                              runtimes=runtimes, runtime=runtime, ctx=ctx)
        if not e.feasible or e.tokens_per_s_per_chip <= 0:
            return n
        want = tokens / (e.tokens_per_s_per_chip * days * 86400.0)
        new = max(probe.min_chips or 1, int(math.ceil(want / step)) * step)
        new = min(new, MAX_RUN_CHIPS)
        if new == n:
            break
        n = new
    return n


def compare_training(model: str, *, tokens: float = 1e12, seq_len: int = 8192, chips: int | None = None,
                     days: float | None = None, dtype: str = "bf16", term: Term = "on_demand",
                     runtimes: tuple[str, ...] = (), runtime: str | None = None,
                     accelerators: list[str] | None = None,
                     ctx: Context | None = None) -> tuple[list[TrainingEstimate], Sizing]:
    """Each chip type sized to `days` (default 90) or run at `chips`; ranked by cost of the run."""
    if chips is not None and days is not None:
        raise UserError("give a target duration or a chip count, not both", field="--days/--chips")
    if days is not None and not (math.isfinite(days) and days > 0):
        raise UserError("must be a positive number of days", field="--days")
    sizing = Sizing(chips=chips) if chips is not None else Sizing(days=days or 90.0)
    ctx = ctx or Context()
    accs = accelerators or list(ctx.catalog.accelerators)
    out = []
    for a in accs:
        n = chips if chips is not None else size_for_days(model, a, sizing.days, tokens=tokens, seq_len=seq_len,
                                                          dtype=dtype, runtimes=runtimes, runtime=runtime, ctx=ctx)
        out.append(estimate_training(model, a, n, seq_len=seq_len, tokens=tokens, dtype=dtype, term=term,
                                     runtimes=runtimes, runtime=runtime, ctx=ctx))
    return sorted(out, key=lambda e: _rank_key(e.usd, e.feasible, e.tokens_per_s_per_chip)), sizing
