"""Which software stack a workload runs on a chip, and the share of calibrated efficiency it reaches.

A workload may pin one stack (`runtime`), list the stacks or frameworks its code runs on
(`runtimes`, for portability), or say nothing. On each platform the choice is the pinned stack,
else the platform's default stack (its most common serving or training stack) when the workload
allows it, else the allowed stack with the highest efficiency. The factor is the one fitted to
published results (perf/data/efficiency.yaml) where one exists, else the catalog's prior.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..catalog.model import Accelerator
from ..catalog.store import Catalog
from .efficiency import Efficiency


@dataclass(frozen=True)
class StackChoice:
    stack: str | None          # the stack assumed (None when nothing runs)
    efficiency: float          # factor on the platform's calibrated efficiency; 0 = cannot run
    default: bool              # True when the platform's default stack was assumed
    fitted: bool               # True when published results pin the factor (fitted, or the reference stack)
    reason: str                # why nothing runs (empty otherwise)

    def label(self) -> str:
        if self.stack is None:
            return "-"
        return f"{self.stack} (default)" if self.default else self.stack


# what the roofline reads of a serving stack, as InferenceCases fields (stack_traits gives them in this order)
STACK_TRAITS = ("kv_reserve", "unfused_attention", "compiled_experts")


def stack_traits(catalog: Catalog, stack: str | None) -> tuple[bool, bool, bool]:
    """A serving stack's traits in STACK_TRAITS order: whether it admits a sequence only with KV room
    for its whole prompt and output, computes decode attention as separate matmul and softmax
    operations, and leaves routed-expert matmuls to the graph compiler. All False for no stack."""
    if not stack:
        return (False, False, False)
    rt = catalog.runtime(stack)
    return (rt.kv_admission == "reserve", rt.decode_attention == "unfused", rt.expert_matmuls == "compiled")


WEIGHT_ONLY_DTYPES = ("int8", "int4")


def matmul_dtype(catalog: Catalog, stack: str | None, dtype: str) -> str:
    """The dtype a serving stack's matmuls ask the chip for, given the checkpoint's `dtype`: bf16 where
    the stack quantizes int8/int4 weights only (runtimes.yaml `quantized_matmuls: weight-only`)."""
    if stack and dtype in WEIGHT_ONLY_DTYPES and catalog.runtime(stack).quantized_matmuls == "weight-only":
        return "bf16"
    return dtype


def stack_factor(catalog: Catalog, eff: Efficiency | None, stack: str, platform: str, use: str) -> tuple[float, bool]:
    """(factor, fitted) of a stack on a platform; (0, False) where it does not run there."""
    rt = catalog.runtime(stack)
    fig = rt.platforms.get(platform)
    if rt.kind != "stack" or use not in rt.uses or fig is None or not fig.known:
        return 0.0, False
    fitted = eff.stack_factor(platform, rt.id, use) if eff is not None else None
    if fitted is not None:
        return float(fitted), True
    # the platform's reference stack is what its calibrated factors were fitted on
    return float(fig.value), fig.status == "derived"


def choose_stack(catalog: Catalog, acc: Accelerator, use: str, runtimes: Sequence[str] = (),
                 runtime: str | None = None, eff: Efficiency | None = None) -> StackChoice:
    """The stack a workload runs on this chip (see the module docstring)."""
    if use not in acc.uses:
        return StackChoice(None, 0.0, False, False, f"{acc.id} is not used for {use}")
    if runtime:
        rt = catalog.runtime(runtime)
        factor, fitted = stack_factor(catalog, eff, rt.id, acc.platform, use)
        if factor <= 0:
            return StackChoice(None, 0.0, False, False, f"{rt.id} does not run {use} on {acc.platform} ({acc.id})")
        return StackChoice(rt.id, factor, False, fitted, "")
    names = {catalog.runtime(n).id for n in runtimes} | {n.lower() for n in runtimes}
    candidates = []
    for rt in catalog.stacks():
        if names and not rt.provides(names):
            continue
        factor, fitted = stack_factor(catalog, eff, rt.id, acc.platform, use)
        if factor > 0:
            candidates.append((rt.id, factor, fitted))
    if not candidates:
        listed = ", ".join(runtimes) if runtimes else "any"
        return StackChoice(None, 0.0, False, False, f"no runtime among [{listed}] runs {use} on {acc.platform} ({acc.id})")
    default = catalog.default_stack(acc.platform, use)
    for sid, factor, fitted in candidates:
        if sid == default:
            return StackChoice(sid, factor, True, fitted, "")
    sid, factor, fitted = max(candidates, key=lambda c: c[1])
    return StackChoice(sid, factor, False, fitted, "")


def runtime_efficiency(catalog: Catalog, runtimes: Sequence[str], acc: Accelerator, use: str,
                       runtime: str | None = None, eff: Efficiency | None = None) -> tuple[float, str | None, str]:
    """(efficiency, stack, reason when 0): `choose_stack` as a tuple."""
    c = choose_stack(catalog, acc, use, runtimes, runtime, eff)
    return c.efficiency, c.stack, c.reason


def lock_in_share(feasible_vendors: Sequence[set[str]], demand: Sequence[float]) -> float:
    """Share of demand that only one vendor can serve (the lock-in metric)."""
    total = float(sum(demand))
    if total <= 0:
        return 0.0
    locked = sum(d for vendors, d in zip(feasible_vendors, demand) if len(vendors) <= 1)
    return locked / total
